//! # Primary-replica replication
//!
//! One server, the *primary*, takes every write, appends it to its log and
//! streams the log to the other servers, the *replicas*, which apply it in
//! order (log shipping, as in PostgreSQL streaming replication or MySQL's
//! binlog). The modes differ in when the primary acknowledges a write:
//! - `sync`: once every replica holds it. No acknowledged write is lost when
//!   the primary dies, and no write completes while a replica is unreachable.
//! - `async`: at once. Fast and always writable, and the writes the replicas
//!   had not received yet are lost when the primary dies (RPO > 0).
//! - `semi-sync`: once `semi_sync_acks` replicas hold it (MySQL's
//!   semi-synchronous replication): survives one replica being away, and
//!   loses nothing as long as a replica that acknowledged is there for the
//!   failover.
//!
//! Reads can go to the primary, to any replica (cheap, and as stale as the
//! replica's lag), or to a replica that has caught up with the position of
//! the client's own last write and read (read-your-writes and monotonic
//! reads; otherwise the replica sends the client on to the primary). See
//! Terry et al., "Session Guarantees for Weakly Consistent Replicated Data"
//! (PDIS 1994).
//!
//! Failover. A *monitor* (the last server, like Orchestrator or Patroni)
//! hears a heartbeat from every server. When the primary has been silent
//! for `heartbeat_timeout` it opens a new *epoch*, asks the other servers how
//! far their logs go, and promotes the most up-to-date one, which writes a
//! no-op in its epoch and streams from there. The monitor cannot tell a dead
//! primary from a slow, paused or cut-off one: a timeout shorter than a GC
//! pause or a latency spike fails over a healthy primary (a false failover).
//!
//! Fencing (Kleppmann, "How to do distributed locking", 2016; Gray and
//! Cheriton's leases, SOSP 1989). With `fencing = true` the epoch is a
//! fencing token: a replica that has heard of epoch e, and its storage,
//! refuse appends from older epochs, and a primary serves reads and accepts
//! writes only while it holds a lease from the monitor that ends before the
//! monitor could promote anyone else. Without fencing, a primary cut off
//! from the monitor carries on: two primaries accept writes at once (split
//! brain), the data diverges, and the old primary's writes are discarded
//! when it finally hears it was replaced.
//!
//! Modelling choices: the monitor is one server and is not itself
//! replicated (a real one is, with consensus); membership is fixed; every
//! log append is synced to disk before it is acknowledged.

mod client;
mod monitor;
mod msg;
mod server;
#[cfg(test)]
mod tests;

pub use client::Client;
pub use monitor::{Failover, Monitor};
pub use msg::{Answer, Entry, Msg, Op, Pos};
pub use server::{Role, Server};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sim::client::ClientConfig;
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol, Violation};
use sim::scenario::{parse_system, Scenario, ScenarioError};
use sim::time::{fmt_duration, ms, serde_duration, Nanos};

pub const ROLES: &[&str] = &["primary", "replica", "monitor", "client"];

/// The protocol events these nodes report with `ctx.note` (none: role
/// changes and messages are what fault triggers here wait for).
pub const NOTES: &[&str] = &[];

/// The message kinds replication's nodes send (see `Msg::kind`), for fault
/// triggers.
pub const MESSAGES: &[&str] = Msg::KINDS;

/// The invariants checked as the run goes.
pub const INVARIANTS: &[&str] = &[
    "one-primary-per-epoch",
    "no-split-brain",
    "acked-writes-survive-failover",
    "replica-log-prefix",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Sync,
    Async,
    SemiSync,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadRouting {
    Primary,
    Replicas,
    ReadYourWrites,
}

/// `[system]` for `protocol = "replication"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub protocol: String,
    pub mode: Mode,
    /// With `semi-sync`: how many replicas must hold a write before it is
    /// acknowledged.
    pub semi_sync_acks: usize,
    pub reads: ReadRouting,
    /// Epochs as fencing tokens, and the primary's lease.
    pub fencing: bool,
    #[serde(with = "serde_duration")]
    pub heartbeat_interval: Nanos,
    /// How long the primary may be silent before the monitor fails it over.
    #[serde(with = "serde_duration")]
    pub heartbeat_timeout: Nanos,
    /// How long a lease lasts from the heartbeat that earned it (default:
    /// half the heartbeat timeout).
    #[serde(with = "serde_duration::option")]
    pub lease: Option<Nanos>,
    /// The assumed bound on clock drift (0.1 = clocks run at most 10% off).
    /// The primary counts its lease as `lease * (1 - max_clock_drift)` on
    /// its own clock, so a clock running that slow still ends it within
    /// `lease`; the monitor, whose clock may run that fast, waits at least
    /// `heartbeat_timeout / (1 + max_clock_drift)`.
    pub max_clock_drift: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            protocol: "replication".into(),
            mode: Mode::Async,
            semi_sync_acks: 1,
            reads: ReadRouting::Primary,
            fencing: true,
            heartbeat_interval: ms(50),
            heartbeat_timeout: ms(500),
            lease: None,
            max_clock_drift: 0.1,
        }
    }
}

impl Params {
    pub fn lease(&self) -> Nanos {
        self.lease.unwrap_or(self.heartbeat_timeout / 2)
    }
    /// The lease as the primary times it on its own clock: shortened by the
    /// drift bound.
    pub fn lease_local(&self) -> Nanos {
        (self.lease() as f64 * (1.0 - self.max_clock_drift)) as Nanos
    }
    /// How long the monitor waits for answers to its probe.
    pub fn probe_window(&self) -> Nanos {
        2 * self.heartbeat_interval
    }

    /// Checks the parameters against each other and the number of servers;
    /// the message names the field and what would be valid.
    pub fn validate(&self, servers: usize) -> Result<(), (&'static str, &'static str, String)> {
        if servers < 3 {
            return Err((
                "topology",
                "servers",
                format!("replication needs at least 3 servers (a primary, a replica and the monitor, which is the last server); this scenario has {servers}"),
            ));
        }
        let replicas = servers - 2;
        if self.semi_sync_acks == 0 || self.semi_sync_acks > replicas {
            return Err((
                "system",
                "semi_sync_acks",
                format!("semi_sync_acks must be between 1 and the {replicas} replica(s) (servers minus the primary and the monitor)"),
            ));
        }
        // Every server and the monitor tick once per heartbeat_interval, so
        // a nanosecond interval is a round of messages per nanosecond of
        // virtual time; the floor is Raft's. The timeout and the lease are
        // longer than the interval (below), so they are bounded with it.
        crate::check_period(
            "heartbeat_interval",
            self.heartbeat_interval,
            "and below heartbeat_timeout",
            "50ms",
        )
        .map_err(|(f, m)| ("system", f, m))?;
        if self.heartbeat_timeout <= self.heartbeat_interval {
            return Err((
                "system",
                "heartbeat_timeout",
                format!(
                    "heartbeat_timeout = \"{}\": must be longer than heartbeat_interval ({}), or every server looks dead between two heartbeats",
                    fmt_duration(self.heartbeat_timeout),
                    fmt_duration(self.heartbeat_interval)
                ),
            ));
        }
        let lease = self.lease();
        if lease <= self.heartbeat_interval || lease >= self.heartbeat_timeout {
            return Err((
                "system",
                "lease",
                format!(
                    "lease must be longer than heartbeat_interval ({}) and shorter than heartbeat_timeout ({}), so that it is renewed in time and ends before the monitor can promote another primary",
                    fmt_duration(self.heartbeat_interval),
                    fmt_duration(self.heartbeat_timeout)
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.max_clock_drift) {
            return Err((
                "system",
                "max_clock_drift",
                "max_clock_drift must be at least 0.0 and below 1.0 (0.1 = 10%)".into(),
            ));
        }
        let p = self.max_clock_drift;
        if self.fencing && lease as f64 * (1.0 + p) >= self.heartbeat_timeout as f64 {
            return Err((
                "system",
                "max_clock_drift",
                format!(
                    "with fencing, lease ({}) x (1 + max_clock_drift) must be shorter than heartbeat_timeout ({}): a monitor whose clock runs max_clock_drift fast could promote another primary before the lease ends; lower the lease or max_clock_drift, or raise heartbeat_timeout",
                    fmt_duration(lease),
                    fmt_duration(self.heartbeat_timeout)
                ),
            ));
        }
        Ok(())
    }
}

sim::node_enum! {
    /// A data server, the monitor, or a client.
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, Debug)]
    pub enum ReplNode: Msg {
        Server(Server) { role: |s| s.role_name(), start, get as_server },
        Monitor(Monitor) { role: |_| "monitor", start, get as_monitor },
        Client(Client) { role: |_| "client", requests, get as_client },
    }
}

/// The replication protocol: builds the servers, the monitor and the
/// clients, and checks the invariants and gathers the figures as it goes.
pub struct Replication {
    pub params: Arc<Params>,
    pub client: ClientConfig,
    checker: Checker,
}

/// Reads the parameters from a scenario's `[system]` section.
pub fn from_scenario(s: &Scenario) -> Result<Replication, ScenarioError> {
    let params: Params = parse_system(s)?;
    if let Err((section, field, message)) = params.validate(s.servers()) {
        let span = sim::scenario::key_span(&s.source, section, field)
            .or_else(|| sim::scenario::key_span(&s.source, section, "protocol"))
            .unwrap_or(0..0);
        return Err(ScenarioError::at(
            &s.file,
            &s.source,
            span,
            format!("[{section}] {message}"),
        ));
    }
    Ok(Replication::new(params, s.workload.client_config()))
}

impl Replication {
    pub fn new(params: Params, client: ClientConfig) -> Replication {
        Replication {
            params: Arc::new(params),
            client,
            checker: Checker::default(),
        }
    }

    pub fn checker(&self) -> &Checker {
        &self.checker
    }
}

/// The data servers (every server but the last) and the monitor (the last).
fn split(cluster: &Cluster) -> (Vec<NodeId>, NodeId) {
    let s = cluster.servers();
    (s[..s.len() - 1].to_vec(), s[s.len() - 1])
}

impl Protocol for Replication {
    type Node = ReplNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> ReplNode {
        let (data, monitor) = split(cluster);
        if cluster.is_client(id) {
            ReplNode::Client(Client::new(&data, self.params.reads, self.client.clone()))
        } else if id == monitor {
            ReplNode::Monitor(Monitor::recover(self.params.clone(), &data, disk))
        } else {
            ReplNode::Server(Server::recover(
                id,
                self.params.clone(),
                monitor,
                &data,
                disk,
            ))
        }
    }

    fn invariants(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn check(
        &mut self,
        now: Nanos,
        stepped: NodeId,
        nodes: &NodeTable<ReplNode>,
        out: &mut Vec<Violation>,
    ) {
        self.checker.check(now, stepped, nodes, out);
    }

    fn summary(&self, nodes: &NodeTable<ReplNode>) -> Vec<(String, String)> {
        summary(&self.params, &self.checker, nodes)
    }
}

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
    primary_of: BTreeMap<u64, NodeId>,
    /// The epoch each server was last seen primary in.
    seen_primary: BTreeMap<NodeId, u64>,
    /// Acknowledged client writes still expected in every later primary's
    /// log: (index, epoch) -> when acknowledged.
    acked: BTreeMap<(u64, u64), Nanos>,
    /// How far each primary's acknowledgements were recorded: node -> (epoch, commit).
    acked_upto: BTreeMap<NodeId, (u64, u64)>,
    /// Acknowledged writes lost at a failover: when each was acknowledged.
    lost: Vec<Nanos>,
    failovers: Vec<FailoverSeen>,
    down_since: BTreeMap<NodeId, Nanos>,
    /// Each server's latest crash.
    last_crash: BTreeMap<NodeId, Nanos>,
    /// When each epoch's primary was first seen primary.
    primary_since: BTreeMap<u64, Nanos>,
    /// The last moment each server was seen able to serve as primary, and
    /// in which epoch.
    last_serving: BTreeMap<NodeId, (u64, Nanos)>,
    /// The newest epoch whose primary served, and the served-at times seen.
    newest_served: u64,
    served_seen: BTreeMap<NodeId, Nanos>,
    /// Reads served and writes accepted by a deposed primary.
    stale_serves: u64,
    /// Each server's counters: from earlier lives (crashes reset them), and
    /// the current one as last seen (so a crashed server still counts).
    stats: BTreeMap<NodeId, (server::Stats, server::Stats)>,
    next_sample: Nanos,
    lag_max: (Nanos, u64),
    lag_sum: (u128, u64),
    primaries_max: usize,
    divergent_max: usize,
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

    fn check(
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
                    self.down_since.remove(&id);
                    if let Some(s) = n.as_server().filter(|s| s.serving(now)) {
                        self.last_serving.insert(id, (s.epoch(), now));
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
        }
    }
}

/// Acknowledged writes that the log of `s` does not hold.
fn lost_in(acked: &BTreeMap<(u64, u64), Nanos>, s: &Server) -> Vec<(u64, u64)> {
    acked
        .keys()
        .filter(|(i, e)| s.pos_at(*i).epoch != *e || *i > s.log().len() as u64)
        .copied()
        .collect()
}

fn summary(p: &Params, c: &Checker, nodes: &NodeTable<ReplNode>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let servers: Vec<&Server> = nodes
        .iter()
        .flatten()
        .filter_map(ReplNode::as_server)
        .collect();
    out.push((
        "replication".into(),
        format!(
            "{}, reads {}, fencing {}, heartbeat {} / timeout {}, lease {}",
            match p.mode {
                Mode::Sync => "sync".to_string(),
                Mode::Async => "async".to_string(),
                Mode::SemiSync => format!("semi-sync ({} ack)", p.semi_sync_acks),
            },
            match p.reads {
                ReadRouting::Primary => "from the primary",
                ReadRouting::Replicas => "from any replica",
                ReadRouting::ReadYourWrites => "from caught-up replicas (read-your-writes)",
            },
            if p.fencing { "on" } else { "off" },
            fmt_duration(p.heartbeat_interval),
            fmt_duration(p.heartbeat_timeout),
            if p.fencing {
                fmt_duration(p.lease())
            } else {
                "none".into()
            },
        ),
    ));
    let false_fo = c.failovers.iter().filter(|f| f.old_alive).count();
    out.push((
        "failovers".into(),
        format!(
            "{}{}",
            c.failovers.len(),
            c.failovers
                .iter()
                .map(|f| format!(
                    ", epoch {}: {} -> n{} at {}",
                    f.epoch,
                    f.old.map_or("-".into(), |o| format!("n{}", o.0 + 1)),
                    f.new.0 + 1,
                    fmt_duration(f.promoted_at)
                ))
                .collect::<String>()
        ),
    ));
    out.push((
        "false failovers".into(),
        format!("{false_fo} (the replaced primary was still running: paused, slow or cut off)"),
    ));
    let rtos: Vec<Option<Nanos>> = c
        .failovers
        .iter()
        .map(|f| f.first_write.map(|w| w.saturating_sub(f.outage_start)))
        .collect();
    out.push((
        "failover time (RTO)".into(),
        match rtos.iter().flatten().max() {
            None if c.failovers.is_empty() => "none (no failover)".into(),
            None => "unknown (no new primary accepted a write)".into(),
            Some(max) => format!(
                "{} at most (from the old primary's crash, lease lapse or last heartbeat, whichever came first, to the new primary's first acknowledged write); each: {}",
                fmt_duration(*max),
                rtos.iter()
                    .map(|r| r.map_or("-".into(), fmt_duration))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    ));
    // Writes lost so far, and those the current primary's log lacks now.
    let mut lost = c.lost.clone();
    if let Some(cur) = servers
        .iter()
        .filter(|s| s.role() == Role::Primary)
        .max_by_key(|s| s.epoch())
    {
        for k in lost_in(&c.acked, cur) {
            lost.push(c.acked[&k]);
        }
    }
    lost.sort_unstable();
    let acked_total = c.acked.len() + c.lost.len();
    // Not the history checker's `lost writes` (acknowledged writes that later
    // reads missed): a dropped write that a later write overwrote is missed
    // by no read, and one a deposed primary still serves is seen by some.
    out.push((
        "acked writes dropped by failover".into(),
        format!(
            "{} of {acked_total} acknowledged writes are missing from the latest primary's log; \
             the history's `lost writes` below counts only acknowledged writes that later reads missed",
            lost.len()
        ),
    ));
    out.push((
        "data loss window (RPO)".into(),
        match (lost.first(), lost.last()) {
            (Some(a), Some(b)) => {
                // Per failover: how far before the outage began its earliest
                // lost write was acknowledged. Writes a deposed primary
                // acknowledged after that (a split brain) are lost too: the
                // span from the first to the last counts for them.
                let per_failover = c.failovers.iter().filter_map(|f| f.rpo).max();
                let late = c.lost.len() < lost.len();
                let rpo = match per_failover {
                    Some(r) if !late => r,
                    Some(r) => r.max(b - a),
                    None => b - a,
                };
                format!(
                    "{} (per failover, from the earliest lost write's acknowledgement to the outage start; the lost writes were acknowledged between {} and {})",
                    fmt_duration(rpo),
                    fmt_duration(*a),
                    fmt_duration(*b)
                )
            }
            _ => "0s (nothing lost)".into(),
        },
    ));
    let mut total = server::Stats::default();
    for (before, current) in c.stats.values() {
        total.add(before);
        total.add(current);
    }
    let sum = |f: fn(&server::Stats) -> u64| f(&total);
    out.push((
        "writes refused".into(),
        format!(
            "{} write attempts (not the primary, or no lease; a client retries a refused attempt while its retry policy allows), and {} appends refused by fencing",
            sum(|s| s.writes_refused),
            sum(|s| s.appends_fenced)
        ),
    ));
    let timed_out: u64 = nodes
        .iter()
        .flatten()
        .filter_map(ReplNode::as_client)
        .map(|c| c.stats().writes_timed_out)
        .sum();
    out.push((
        "refused for want of a lease".into(),
        format!(
            "{} reads and writes a primary refused because its lease had run out (fencing)",
            sum(|s| s.lease_refusals)
        ),
    ));
    out.push((
        "writes blocked".into(),
        format!("{timed_out} write attempts got no answer in time"),
    ));
    out.push((
        "reads".into(),
        format!(
            "{} served by the primary, {} by replicas, {} sent on to the primary by a replica behind, {} attempts refused (retried while the client's retry policy allows)",
            sum(|s| s.reads_primary),
            sum(|s| s.reads_replica),
            sum(|s| s.reads_behind),
            sum(|s| s.reads_refused)
        ),
    ));
    out.push((
        "replication lag max".into(),
        format!(
            "{} ({} entries; mean {}, sampled every 10ms)",
            fmt_duration(c.lag_max.0),
            c.lag_max.1,
            fmt_duration((c.lag_sum.0 / u128::from(c.lag_sum.1.max(1))) as Nanos)
        ),
    ));
    out.push((
        "serving primaries at once".into(),
        format!(
            "{} at most (primaries holding a lease, or any primary without fencing; sampled every 10ms)",
            c.primaries_max
        ),
    ));
    out.push((
        "served by a deposed primary".into(),
        format!(
            "{} reads or writes after a newer primary had served (split brain)",
            c.stale_serves
        ),
    ));
    out.push((
        "divergent keys".into(),
        format!(
            "{} at most between two serving primaries' data (keys k0..k63, sampled every 10ms)",
            c.divergent_max
        ),
    ));
    out
}
