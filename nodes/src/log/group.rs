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
//! stalls it). Any change of membership is a *rebalance*, in two steps.
//! The *revoke*: the coordinator tells the current members a rebalance is
//! pending (Kafka answers a heartbeat with `REBALANCE_IN_PROGRESS`); each
//! finishes the batch in hand, commits it under the still-current
//! generation, and joins again. The *sync*: once every member has joined
//! again, or the rebalance timeout (`session_timeout`) has passed (a member
//! not back by then is counted out, as Kafka does past
//! `rebalance.timeout.ms`), the generation goes up and the coordinator
//! sends each member its partitions with the committed offsets to start
//! from (the coordinator assigns itself, as in KIP-848, rather than a group
//! leader). So no partition moves while its owner still works on it. The
//! assignor is *round-robin*: live members in node order, partition `p` to
//! member `p mod members`. The session timeout is the one the controller
//! uses for brokers; Kafka keeps the two apart.
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
//! step, is fenced like a commit, and applies only if the batch starts at
//! the committed offset (a transactional store checks the offset it keeps).
//!
//! Requests carry the member's life and a request number. A retry of the
//! last request is answered as before; a delayed copy of an older one (the
//! member resent it, took the first copy's answer and moved on) is dropped,
//! or it would apply a batch twice or move the offset back.

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

/// How a request stands against the member's requests seen before.
enum Seen {
    New,
    Repeat(bool),
    Stale,
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

/// A rebalance under way: since when, and which members have given up
/// their partitions (joined again) since.
#[derive(Clone, Debug)]
struct Pending {
    since: Nanos,
    rejoined: BTreeSet<NodeId>,
}

#[derive(Clone, Debug)]
pub struct Coordinator {
    config: Arc<Config>,
    group: String,
    members: BTreeMap<NodeId, Known>,
    pending: Option<Pending>,
    pub generation: u64,
    owner: BTreeMap<u32, NodeId>,
    /// The group's committed offset per partition: the next to process.
    pub committed: BTreeMap<u32, u64>,
    /// Per partition, when its committed offset last moved forward.
    pub progress_at: BTreeMap<u32, Nanos>,
    /// The time of the last tick: the run's end, near enough, for the
    /// report.
    pub last_tick: Nanos,
    /// The sink's keys of applied messages (kept only with `dedup`).
    applied: BTreeSet<i64>,
    /// Per member: its life, highest request and the answer given, so a
    /// retry of a request already carried out is answered, not done again,
    /// and a delayed copy of an older request (the member resent it, got
    /// the first copy's answer and moved on) is dropped.
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
            pending: None,
            generation: 0,
            owner: BTreeMap::new(),
            committed: BTreeMap::new(),
            progress_at: BTreeMap::new(),
            last_tick: 0,
            applied: BTreeSet::new(),
            answered: BTreeMap::new(),
            records: Vec::new(),
            rebalances: 0,
            fenced: 0,
            dropped_repeats: 0,
        }
    }

    /// Counts out the members silent past the session timeout; any change
    /// is a rebalance. Ends a rebalance whose time is up.
    pub fn tick(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        self.last_tick = now;
        let timeout = self.config.session_timeout;
        let before = self.members.len();
        self.members
            .retain(|_, m| now.saturating_sub(m.last_seen) <= timeout);
        if self.members.len() != before {
            ctx.note("member expired");
            self.change(ctx, None);
        }
        self.maybe_assign(ctx);
    }

    /// Membership changed: the revoke step of a rebalance. The current
    /// members are told a rebalance is pending and keep their partitions
    /// (and their generation, so their commits are still accepted) until
    /// they have finished the batch in hand, committed it and joined again.
    /// `joined` is a member that has just joined and holds nothing.
    fn change(&mut self, ctx: &mut Ctx<Msg>, joined: Option<NodeId>) {
        if self.pending.is_none() {
            self.pending = Some(Pending {
                since: ctx.now(),
                rejoined: BTreeSet::new(),
            });
            for &m in self.members.keys().filter(|&&m| Some(m) != joined) {
                ctx.send(
                    m,
                    Msg::RebalancePending {
                        generation: self.generation,
                    },
                );
            }
        }
        if let (Some(p), Some(j)) = (self.pending.as_mut(), joined) {
            p.rejoined.insert(j);
        }
        self.maybe_assign(ctx);
    }

    /// Ends a pending rebalance once every member has joined again, or once
    /// the rebalance timeout (the session timeout) has passed since it
    /// began: a member that has not joined again by then is counted out, as
    /// Kafka counts out a member that misses `rebalance.timeout.ms`.
    fn maybe_assign(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(pending) = &self.pending else { return };
        let all = self.members.keys().all(|m| pending.rejoined.contains(m));
        let late = ctx.now() >= pending.since + self.config.session_timeout;
        if !all && !late {
            return;
        }
        let rejoined = self.pending.take().expect("checked above").rejoined;
        if !all {
            ctx.note("member missed the rebalance");
            self.members.retain(|m, _| rejoined.contains(m));
        }
        self.rebalance(ctx);
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

    /// What to do with request `req` of `from`'s `life`-th life: carry it
    /// out (`New`), answer it as before (a retry), or drop it unanswered (a
    /// copy older than the member's latest request, or from a former life:
    /// the member no longer waits for it, and doing it again would apply a
    /// batch twice or move the committed offset back).
    fn seen(&self, from: NodeId, life: u64, req: u64) -> Seen {
        match self.answered.get(&from) {
            Some(&(l, r, ok)) if l == life && r == req => Seen::Repeat(ok),
            Some(&(l, r, _)) if l > life || (l == life && r > req) => Seen::Stale,
            _ => Seen::New,
        }
    }

    /// Handles a group message; `false` if it is not one.
    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: &Msg) -> bool {
        let now = ctx.now();
        match msg {
            Msg::JoinGroup { life } => {
                let known = self.members.get(&from).map(|k| k.life);
                if known.is_some_and(|l| l > *life) {
                    // A delayed join of a former life.
                    return true;
                }
                self.members.insert(
                    from,
                    Known {
                        life: *life,
                        last_seen: now,
                    },
                );
                // A join holds nothing: a new life starts empty, and a
                // member joins again only once it has finished its work.
                if known != Some(*life) {
                    self.change(ctx, Some(from));
                } else if let Some(p) = self.pending.as_mut() {
                    p.rejoined.insert(from);
                    self.maybe_assign(ctx);
                } else {
                    self.send_assignment(ctx, from);
                }
            }
            Msg::GroupHeartbeat { life, generation } => match self.members.get_mut(&from) {
                Some(k) if k.life == *life => {
                    k.last_seen = now;
                    match &self.pending {
                        Some(p) if !p.rejoined.contains(&from) => ctx.send(
                            from,
                            Msg::RebalancePending {
                                generation: self.generation,
                            },
                        ),
                        Some(_) => {}
                        None if *generation != self.generation => self.send_assignment(ctx, from),
                        None => {}
                    }
                }
                // A delayed heartbeat of a former life: that life is over.
                Some(k) if k.life > *life => {}
                // Counted out (a zombie, which may still hold a batch) or a
                // new life not yet joined: it is a member again, and must
                // give up what it holds and join again like the others.
                _ => {
                    self.members.insert(
                        from,
                        Known {
                            life: *life,
                            last_seen: now,
                        },
                    );
                    if let Some(p) = self.pending.as_mut() {
                        p.rejoined.remove(&from);
                        ctx.send(
                            from,
                            Msg::RebalancePending {
                                generation: self.generation,
                            },
                        );
                    }
                    self.change(ctx, None);
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
                let ok = match self.seen(from, *life, *req) {
                    Seen::Stale => return true,
                    Seen::Repeat(ok) => ok,
                    Seen::New => {
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
                let ok = match self.seen(from, *life, *req) {
                    Seen::Stale => return true,
                    Seen::Repeat(ok) => ok,
                    Seen::New => {
                        // A write that commits too is fenced like a commit,
                        // and is conditional besides: it applies only if it
                        // continues from the committed offset, as a
                        // transactional store's write checks the offset it
                        // keeps beside the output. A plain write is not
                        // fenced: the sink is not the group's.
                        let from_committed = messages.first().is_none_or(|m| {
                            m.0 == self.committed.get(partition).copied().unwrap_or(0)
                        });
                        let ok = commit.is_none()
                            || (!self.fences(from, *generation, *partition) && from_committed);
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
            if self.committed.insert(p, offset).is_none_or(|o| o < offset) {
                self.progress_at.insert(p, now);
            }
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
