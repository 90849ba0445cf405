//! The group coordinator and the processing sink, both kept by the
//! controller (`n1`).
//!
//! The coordinator knows the members of the one consumer group, the
//! generation of its current assignment, which member owns which partition,
//! and the group's committed offsets (Kafka keeps these in the
//! `__consumer_offsets` topic on the coordinator broker). It lives on the
//! controller rather than on a broker because no scenario crashes the
//! controller: the committed offsets survive every broker's and every
//! consumer's crash, which is what a replicated `__consumer_offsets` topic
//! gives Kafka, without modelling a second replicated log. What a crash of
//! the coordinator itself would do (a new coordinator reading the offsets
//! back) is not modelled.
//!
//! Membership follows Kafka's classic protocol, in small: a member *joins*
//! (once per life), then *heartbeats*; the coordinator counts a member gone
//! after `session_timeout` without a heartbeat (a crash, or a `pause` that
//! stalls it). Any change of membership is a *rebalance*: the generation
//! goes up and the coordinator sends each member its partitions with the
//! committed offsets to start from (the *sync*; the coordinator assigns
//! itself, as in KIP-848, rather than a group leader). The assignor is
//! *round-robin*: live members in node order, partition `p` to member
//! `p mod members`.
//!
//! A commit carries the member's generation. Unless `fence_zombies` is
//! turned off (a bug flag), the coordinator refuses a commit from an older
//! generation or for a partition the member no longer owns: that is how a
//! *zombie* (a member that stalled past its session and was replaced, but
//! does not know it yet) is kept from moving the offset back.
//!
//! The *sink* stands for the store a consumer's processing writes into (the
//! effect of a message: a row, an email, a payment). Each write it applies is
//! recorded in the history as a poll of the writing member, so the log
//! checker judges delivery by effects applied, not by messages fetched. With
//! `dedup` the sink is an idempotent consumer's store: it keeps the key
//! (value) of every message it applied and drops a repeat. With
//! `commit = "atomic"` one request writes the output and the offset in one
//! step, and is fenced like a commit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sim::check::log::{LogFn, Message};
use sim::history::Outcome;
use sim::node::{Ctx, NodeId};
use sim::time::Nanos;

use super::params::partition_name;
use super::{Config, Msg};

/// A member as the coordinator knows it.
#[derive(Clone, Debug)]
struct Known {
    life: u64,
    last_seen: Nanos,
}

/// One operation the coordinator or the sink completed on behalf of
/// `member`: a commit, or a write of processed messages (a poll).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRecord {
    pub member: NodeId,
    pub f: LogFn,
    pub outcome: Outcome,
    pub call: Nanos,
    pub ret: Nanos,
}

#[derive(Clone, Debug)]
pub struct Coordinator {
    config: Arc<Config>,
    group: String,
    members: BTreeMap<NodeId, Known>,
    pub generation: u64,
    owner: BTreeMap<u32, NodeId>,
    /// The group's committed offset per partition: the next to process.
    pub committed: BTreeMap<u32, u64>,
    /// The sink's keys of applied messages (kept only with `dedup`).
    applied: BTreeSet<i64>,
    /// Per member: its life, last request and the answer given, so a retry
    /// of a request already carried out is answered, not done again.
    answered: BTreeMap<NodeId, (u64, u64, bool)>,
    pub records: Vec<GroupRecord>,
    pub rebalances: u64,
    pub fenced: u64,
    pub dropped_repeats: u64,
}

impl Coordinator {
    pub fn new(config: Arc<Config>) -> Coordinator {
        let group = config.group.clone().unwrap_or_default();
        Coordinator {
            config,
            group,
            members: BTreeMap::new(),
            generation: 0,
            owner: BTreeMap::new(),
            committed: BTreeMap::new(),
            applied: BTreeSet::new(),
            answered: BTreeMap::new(),
            records: Vec::new(),
            rebalances: 0,
            fenced: 0,
            dropped_repeats: 0,
        }
    }

    /// Counts out the members silent past the session timeout; any change
    /// is a rebalance.
    pub fn tick(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        let timeout = self.config.session_timeout;
        let before = self.members.len();
        self.members
            .retain(|_, m| now.saturating_sub(m.last_seen) <= timeout);
        if self.members.len() != before {
            ctx.note("member expired");
            self.rebalance(ctx);
        }
    }

    /// A new generation: round-robin over the live members in node order,
    /// each told its partitions and where to start.
    fn rebalance(&mut self, ctx: &mut Ctx<Msg>) {
        self.generation += 1;
        self.rebalances += 1;
        self.owner.clear();
        let members: Vec<NodeId> = self.members.keys().copied().collect();
        if members.is_empty() {
            return;
        }
        for p in 0..self.config.partitions {
            self.owner.insert(p, members[p as usize % members.len()]);
        }
        for &m in &members {
            self.send_assignment(ctx, m);
        }
    }

    fn send_assignment(&self, ctx: &mut Ctx<Msg>, m: NodeId) {
        let partitions = self
            .owner
            .iter()
            .filter(|&(_, &o)| o == m)
            .map(|(&p, _)| (p, self.committed.get(&p).copied().unwrap_or(0)))
            .collect();
        ctx.send(
            m,
            Msg::Assignment {
                generation: self.generation,
                partitions,
            },
        );
    }

    /// Whether a request of generation `generation` from `from` about
    /// partition `p` is fenced off.
    fn fences(&self, from: NodeId, generation: u64, p: u32) -> bool {
        self.config.fence_zombies
            && (generation != self.generation || self.owner.get(&p) != Some(&from))
    }

    /// The answer already given to this request, if it is a retry.
    fn repeat(&self, from: NodeId, life: u64, req: u64) -> Option<bool> {
        match self.answered.get(&from) {
            Some(&(l, r, ok)) if l == life && r == req => Some(ok),
            _ => None,
        }
    }

    /// Handles a group message; `false` if it is not one.
    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: &Msg) -> bool {
        let now = ctx.now();
        match msg {
            Msg::JoinGroup { life } => {
                let known = self.members.get(&from).map(|k| k.life);
                self.members.insert(
                    from,
                    Known {
                        life: *life,
                        last_seen: now,
                    },
                );
                if known != Some(*life) {
                    self.rebalance(ctx);
                } else {
                    self.send_assignment(ctx, from);
                }
            }
            Msg::GroupHeartbeat { life, generation } => match self.members.get_mut(&from) {
                Some(k) if k.life == *life => {
                    k.last_seen = now;
                    if *generation != self.generation {
                        self.send_assignment(ctx, from);
                    }
                }
                // Counted out (or a new life not yet joined): it joins again.
                _ => {
                    self.members.insert(
                        from,
                        Known {
                            life: *life,
                            last_seen: now,
                        },
                    );
                    self.rebalance(ctx);
                }
            },
            Msg::CommitOffset {
                life,
                req,
                generation,
                partition,
                offset,
                sent_at,
            } => {
                let ok = match self.repeat(from, *life, *req) {
                    Some(ok) => ok,
                    None => {
                        let ok = !self.fences(from, *generation, *partition);
                        self.commit(from, *partition, *offset, ok, *sent_at, now);
                        self.answered.insert(from, (*life, *req, ok));
                        ok
                    }
                };
                ctx.send(from, Msg::GroupReply { req: *req, ok });
            }
            Msg::Apply {
                life,
                req,
                generation,
                partition,
                messages,
                commit,
                sent_at,
            } => {
                let ok = match self.repeat(from, *life, *req) {
                    Some(ok) => ok,
                    None => {
                        // A write that commits too is fenced like a commit;
                        // a plain write is not: the sink is not the group's.
                        let ok = commit.is_none() || !self.fences(from, *generation, *partition);
                        if ok {
                            self.apply(from, *partition, messages, *sent_at, now);
                        }
                        if let Some(offset) = commit {
                            self.commit(from, *partition, *offset, ok, *sent_at, now);
                        }
                        self.answered.insert(from, (*life, *req, ok));
                        ok
                    }
                };
                ctx.send(from, Msg::GroupReply { req: *req, ok });
            }
            _ => return false,
        }
        true
    }

    fn commit(&mut self, from: NodeId, p: u32, offset: u64, ok: bool, call: Nanos, now: Nanos) {
        if ok {
            self.committed.insert(p, offset);
        } else {
            self.fenced += 1;
        }
        self.records.push(GroupRecord {
            member: from,
            f: LogFn::Commit {
                group: self.group.clone(),
                partition: partition_name(p),
                offset,
            },
            outcome: if ok { Outcome::Ok } else { Outcome::Fail },
            call,
            ret: now,
        });
    }

    /// Applies processed messages to the sink (dropping repeats with
    /// `dedup`) and records the effects as the member's poll.
    fn apply(&mut self, from: NodeId, p: u32, messages: &[(u64, i64)], call: Nanos, now: Nanos) {
        let dedup = self.config.dedup;
        let mut effects = Vec::new();
        for &(offset, value) in messages {
            if dedup && !self.applied.insert(value) {
                self.dropped_repeats += 1;
                continue;
            }
            effects.push(Message {
                partition: partition_name(p),
                offset,
                value,
            });
        }
        if effects.is_empty() {
            return;
        }
        self.records.push(GroupRecord {
            member: from,
            f: LogFn::Poll {
                group: Some(self.group.clone()),
                messages: effects,
            },
            outcome: Outcome::Ok,
            call,
            ret: now,
        });
    }
}
