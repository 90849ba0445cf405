//! What replication checks as the run goes: one primary per epoch, no split
//! brain, acknowledged writes that survive failover, replica logs that are
//! prefixes of the primary's; and the figures the report needs.

use std::collections::{BTreeMap, BTreeSet};

use sim::node::NodeId;
use sim::protocol::{NodeTable, Property, Violation};
use sim::time::Nanos;

use super::{server, Op, ReplNode, Role, Server};

/// A replica was promoted: a failover happened.
pub const FAILOVER: &str = "failover";

/// The properties checked as the run goes.
pub const PROPERTIES: &[Property] = &[
    Property::always(
        "one-primary-per-epoch",
        "no two servers are primary in the same epoch",
    ),
    Property::always(
        "no-split-brain",
        "a deposed primary serves no client once a newer primary has",
    ),
    Property::always(
        "acked-writes-survive-failover",
        "a new primary holds every write acknowledged before it took over",
    ),
    Property::always(
        "replica-log-prefix",
        "a replica's log is a prefix of its epoch's primary's",
    ),
    Property::sometimes(FAILOVER, "a replica is promoted to primary (a failover)"),
];

/// How often (virtual time) the checker samples lag and divergence.
const SAMPLE_EVERY: Nanos = 10_000_000;

/// One failover as the checker saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverSeen {
    pub epoch: u64,
    pub new: NodeId,
    pub old: Option<NodeId>,
    /// The old primary was running all along (paused, slow or cut off):
    /// it did not crash while it was primary.
    pub old_alive: bool,
    /// When writes stopped: the earliest of the old primary's crash while
    /// primary, the last moment it could serve (its lease lapsing, with
    /// fencing), and the monitor's last heartbeat from it.
    pub outage_start: Nanos,
    pub promoted_at: Nanos,
    /// When the new primary acknowledged its first client write.
    pub first_write: Option<Nanos>,
    /// Outage start minus the earliest acknowledged write this failover
    /// lost: how much acknowledged history it threw away.
    pub rpo: Option<Nanos>,
}

/// Watches the servers after every step: who is primary in which epoch,
/// which writes were acknowledged, whether they survive each failover.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    pub(super) primary_of: BTreeMap<u64, NodeId>,
    /// The epoch each server was last seen primary in.
    pub(super) seen_primary: BTreeMap<NodeId, u64>,
    /// Acknowledged client writes still expected in every later primary's
    /// log: (index, epoch) -> when acknowledged.
    pub(super) acked: BTreeMap<(u64, u64), Nanos>,
    /// How far each primary's acknowledgements were recorded: node -> (epoch, commit).
    pub(super) acked_upto: BTreeMap<NodeId, (u64, u64)>,
    /// Acknowledged writes lost at a failover: when each was acknowledged.
    pub(super) lost: Vec<Nanos>,
    pub(super) failovers: Vec<FailoverSeen>,
    pub(super) down_since: BTreeMap<NodeId, Nanos>,
    /// Each server's latest crash.
    pub(super) last_crash: BTreeMap<NodeId, Nanos>,
    /// When each epoch's primary was first seen primary.
    pub(super) primary_since: BTreeMap<u64, Nanos>,
    /// The last moment each server was seen able to serve as primary, and
    /// in which epoch.
    pub(super) last_serving: BTreeMap<NodeId, (u64, Nanos)>,
    /// The newest epoch whose primary served, and the served-at times seen.
    pub(super) newest_served: u64,
    pub(super) served_seen: BTreeMap<NodeId, Nanos>,
    /// Reads served and writes accepted by a deposed primary.
    pub(super) stale_serves: u64,
    /// Each server's counters: from earlier lives (crashes reset them), and
    /// the current one as last seen (so a crashed server still counts).
    pub(super) stats: BTreeMap<NodeId, (server::Stats, server::Stats)>,
    pub(super) next_sample: Nanos,
    pub(super) lag_max: (Nanos, u64),
    pub(super) lag_sum: (u128, u64),
    /// The most lag sampled in each second of the run (for the series).
    pub(super) lag_by_second: Vec<Nanos>,
    pub(super) primaries_max: usize,
    pub(super) divergent_max: usize,
}

impl Checker {
    pub fn failovers(&self) -> &[FailoverSeen] {
        &self.failovers
    }
    pub fn lost(&self) -> usize {
        self.lost.len()
    }
    pub fn stale_serves(&self) -> u64 {
        self.stale_serves
    }

    pub(super) fn check(
        &mut self,
        now: Nanos,
        stepped: NodeId,
        nodes: &NodeTable<ReplNode>,
        out: &mut Vec<Violation>,
    ) {
        for (i, n) in nodes.iter().enumerate() {
            let id = NodeId(i as u32);
            match n {
                None => {
                    if let std::collections::btree_map::Entry::Vacant(e) = self.down_since.entry(id)
                    {
                        e.insert(now);
                        self.last_crash.insert(id, now);
                    }
                }
                Some(n) => {
                    // Nearly always empty: this runs for every node after
                    // every step.
                    if !self.down_since.is_empty() {
                        self.down_since.remove(&id);
                    }
                    if let Some(s) = n.as_server().filter(|s| s.serving(now)) {
                        match self.last_serving.get_mut(&id) {
                            Some(last) => *last = (s.epoch(), now),
                            None => {
                                self.last_serving.insert(id, (s.epoch(), now));
                            }
                        }
                    }
                }
            }
        }
        if let Some(Some(ReplNode::Server(s))) = nodes.get(stepped.index()) {
            self.check_server(now, s, nodes, out);
        }
        if now >= self.next_sample {
            self.next_sample = now + SAMPLE_EVERY;
            self.sample(now, nodes);
        }
    }

    fn check_server(
        &mut self,
        now: Nanos,
        s: &Server,
        nodes: &NodeTable<ReplNode>,
        out: &mut Vec<Violation>,
    ) {
        let id = s.id();
        let (before, current) = self.stats.entry(id).or_default();
        if current.restarted(s.stats()) {
            before.add(current);
        }
        *current = s.stats().clone();
        if s.role() == Role::Primary {
            let epoch = s.epoch();
            match self.primary_of.get(&epoch) {
                Some(p) if *p != id => out.push(Violation {
                    invariant: "one-primary-per-epoch",
                    detail: format!(
                        "n{} and n{} are both primary in epoch {epoch}",
                        p.0 + 1,
                        id.0 + 1
                    ),
                }),
                Some(_) => {}
                None => {
                    self.primary_of.insert(epoch, id);
                    self.primary_since.insert(epoch, now);
                    self.on_promotion(now, s, nodes, out);
                }
            }
            self.seen_primary.insert(id, epoch);
            // Writes this primary acknowledged since the last look.
            let (e0, c0) = self.acked_upto.get(&id).copied().unwrap_or((0, 0));
            // A new epoch is scanned from the start: only its own entries count.
            let from = if e0 == epoch { c0 } else { 0 };
            if s.commit() > from {
                for i in from + 1..=s.commit() {
                    let e = &s.log()[i as usize - 1];
                    if matches!(e.op, Op::Client { .. }) && e.epoch == epoch {
                        self.acked.entry((i, e.epoch)).or_insert(now);
                        // The failover into this epoch ends with its first
                        // acknowledged write.
                        if let Some(f) = self
                            .failovers
                            .iter_mut()
                            .find(|f| f.epoch == epoch && f.new == id && f.first_write.is_none())
                        {
                            f.first_write = Some(now);
                        }
                    }
                }
            }
            self.acked_upto.insert(id, (epoch, s.commit()));
        } else {
            // replica-log-prefix: a replica's last entry is the entry its
            // epoch's primary holds at that index, while that primary lives.
            let last = s.last_pos();
            if last.index > 0 {
                if let Some(p) = self.primary_of.get(&last.epoch) {
                    if let Some(Some(ReplNode::Server(ps))) = nodes.get(p.index()) {
                        if ps.role() == Role::Primary && ps.epoch() == last.epoch {
                            let mine = &s.log()[last.index as usize - 1];
                            let theirs = ps.log().get(last.index as usize - 1);
                            if theirs != Some(mine) {
                                out.push(Violation {
                                    invariant: "replica-log-prefix",
                                    detail: format!(
                                        "n{} holds entry {}@{} that primary n{} of that epoch does not",
                                        id.0 + 1,
                                        last.index,
                                        last.epoch,
                                        p.0 + 1
                                    ),
                                });
                            }
                        }
                    }
                }
            }
        }
        // no-split-brain: once a primary of a newer epoch has served, an
        // older one must never serve again.
        if let Some((epoch, at)) = s.last_served() {
            if self.served_seen.get(&id) != Some(&at) {
                self.served_seen.insert(id, at);
                if epoch > self.newest_served {
                    self.newest_served = epoch;
                } else if epoch < self.newest_served {
                    self.stale_serves += 1;
                    if self.stale_serves == 1 {
                        out.push(Violation {
                            invariant: "no-split-brain",
                            detail: format!(
                                "n{}, primary of epoch {epoch}, served a client after the primary of epoch {} had",
                                id.0 + 1,
                                self.newest_served
                            ),
                        });
                    }
                }
            }
        }
    }

    /// A server became primary of a new epoch: every acknowledged write
    /// must be in its log.
    fn on_promotion(
        &mut self,
        now: Nanos,
        s: &Server,
        nodes: &NodeTable<ReplNode>,
        out: &mut Vec<Violation>,
    ) {
        let epoch = s.epoch();
        if epoch > 1 {
            let old_entry = self.primary_of.range(..epoch).next_back();
            let old = old_entry.map(|(_, n)| *n);
            let old_epoch = old_entry.map(|(e, _)| *e);
            // A crash while it was primary (even one followed by a restart
            // before the timeout) makes the failover a true one.
            let crashed = old.and_then(|o| {
                let since = old_epoch
                    .and_then(|e| self.primary_since.get(&e))
                    .copied()?;
                self.last_crash.get(&o).copied().filter(|t| *t >= since)
            });
            let old_alive = old.is_some() && crashed.is_none();
            let monitor = nodes.iter().flatten().find_map(ReplNode::as_monitor);
            let silent_since = monitor
                .and_then(|m| m.failovers().iter().find(|f| f.epoch == epoch))
                .map(|f| f.silent_since);
            let lapsed = old.and_then(|o| {
                self.last_serving
                    .get(&o)
                    .filter(|(e, _)| Some(*e) == old_epoch)
                    .map(|(_, t)| *t)
            });
            // A failover whose new primary never acknowledged a write did
            // not end the outage: it runs on into this one.
            let unfinished = self
                .failovers
                .last()
                .filter(|f| f.first_write.is_none())
                .map(|f| f.outage_start);
            let outage_start = [crashed, lapsed, silent_since, unfinished]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now);
            self.failovers.push(FailoverSeen {
                epoch,
                new: s.id(),
                old,
                old_alive,
                outage_start,
                promoted_at: now,
                first_write: None,
                rpo: None,
            });
        }
        let lost = lost_in(&self.acked, s);
        let earliest = lost.iter().filter_map(|k| self.acked.get(k)).min().copied();
        if let (Some(first), Some(f)) = (earliest, self.failovers.last_mut()) {
            if f.epoch == epoch {
                f.rpo = Some(f.outage_start.saturating_sub(first));
            }
        }
        if !lost.is_empty() {
            let first = lost[0];
            if self.lost.is_empty() {
                out.push(Violation {
                    invariant: "acked-writes-survive-failover",
                    detail: format!(
                        "n{}, the new primary of epoch {epoch}, lacks {} acknowledged write(s), the first at index {} of epoch {}",
                        s.id().0 + 1,
                        lost.len(),
                        first.0,
                        first.1
                    ),
                });
            }
            for k in lost {
                if let Some(at) = self.acked.remove(&k) {
                    self.lost.push(at);
                }
            }
        }
    }

    fn sample(&mut self, now: Nanos, nodes: &NodeTable<ReplNode>) {
        let servers: Vec<&Server> = nodes
            .iter()
            .flatten()
            .filter_map(ReplNode::as_server)
            .collect();
        let primaries: Vec<&&Server> = servers.iter().filter(|s| s.serving(now)).collect();
        self.primaries_max = self.primaries_max.max(primaries.len());
        if primaries.len() >= 2 {
            let a = primaries[0].kv();
            let b = primaries[1].kv();
            let keys: BTreeSet<String> = (0..64).map(|k| format!("k{k}")).collect();
            let differ = keys.iter().filter(|k| a.get(k) != b.get(k)).count();
            self.divergent_max = self.divergent_max.max(differ);
        }
        let Some(p) = primaries.iter().max_by_key(|s| s.epoch()) else {
            return;
        };
        for r in servers.iter().filter(|s| s.role() == Role::Replica) {
            let have = r.applied().min(p.log().len() as u64);
            let behind = p.log().len() as u64 - have;
            let lag = if behind == 0 {
                0
            } else {
                now.saturating_sub(p.log()[have as usize].at)
            };
            if (lag, behind) > self.lag_max {
                self.lag_max = (lag, behind);
            }
            self.lag_sum.0 += lag as u128;
            self.lag_sum.1 += 1;
            let second = (now / 1_000_000_000) as usize;
            if self.lag_by_second.len() <= second {
                self.lag_by_second.resize(second + 1, 0);
            }
            self.lag_by_second[second] = self.lag_by_second[second].max(lag);
        }
    }
}

/// Acknowledged writes that the log of `s` does not hold.
pub(super) fn lost_in(acked: &BTreeMap<(u64, u64), Nanos>, s: &Server) -> Vec<(u64, u64)> {
    acked
        .keys()
        .filter(|(i, e)| s.pos_at(*i).epoch != *e || *i > s.log().len() as u64)
        .copied()
        .collect()
}
