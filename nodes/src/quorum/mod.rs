//! # Quorum replication on a consistent-hash ring (Dynamo style)
//!
//! DeCandia et al., "Dynamo: Amazon's Highly Available Key-value Store" (SOSP
//! 2007); the quorum arithmetic is Gifford, "Weighted Voting for Replicated
//! Data" (SOSP 1979). Keys live on a ring of virtual nodes ([`crate::ring`]);
//! each key is stored on the N servers of its preference list. Any server can
//! coordinate a request: it sends a write to all N and answers once W have
//! acknowledged; it sends a read to all N and answers once R have replied,
//! with the newest version among the replies.
//!
//! What it guarantees. With W + R > N every read quorum meets every write
//! quorum, so a read sees every write that *completed* before it began (no
//! stale reads, as long as clocks agree). What it gives up. That is not
//! linearizability: a write still in progress (or one that failed after
//! reaching a single replica) may be seen by one read and missed by a later
//! one, because the later read's quorum happens not to include the replica
//! that has it. Reads that write back what they return before answering
//! (blocking read repair) close that particular gap. W = R = 1 answers
//! after one replica, fast and available on every side of a partition, and
//! reads are stale whenever they miss the one replica written.
//!
//! Availability under partition is the other dial. A *strict* quorum counts
//! only the preference list: a client cut off from W of the N replicas gets
//! errors (PC). A *sloppy* quorum asks the next nodes on the ring to stand in;
//! a stand-in keeps the write as a *hint* for the missing replica and hands it
//! back after the partition heals (hinted handoff): always writable (PA), at
//! the price of reads that miss what the other side wrote.
//!
//! Conflicting versions are resolved by last-writer-wins on timestamps from
//! the coordinator's local clock (a clock that runs ahead silently beats later
//! writes) or by vector clocks, which keep concurrent writes as siblings for
//! the reader to merge. Read repair and anti-entropy (Merkle trees over each
//! pair's shared keys) bring replicas back together after a partition.
//!
//! Modelling choices, written down because a learner will meet them:
//! - Membership is a function of time given in `[system]` (`joins`, `leaves`):
//!   every node and client sees the same ring at the same instant, as if
//!   gossip converged at once. The kernel's fault verbs stay what they are.
//! - Clients know the ring and send each operation to a node of the key's
//!   ring walk: the first preference (`coordinator = "preferred"`) or a random
//!   one of the N (`"random"`); each retry goes to the next node on the walk.
//! - cas and append read the coordinator's own copy: they are not atomic
//!   across replicas, as in any store of this kind.
//! - With vector clocks a read that finds siblings returns one merged value
//!   for the history (see [`version::resolve`]) and counts the siblings.

mod client;
mod server;
#[cfg(test)]
mod tests;
pub mod version;

pub use client::Client;
pub use server::Server;
pub use version::{Sibling, Versioning};

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sim::client::ClientConfig;
use sim::history::{OpFn, Value};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol, Violation};
use sim::scenario::{parse_system, Scenario, ScenarioError};
use sim::time::{fmt_duration, ms, serde_duration, Nanos};

use crate::ring::{self, Ring};

pub const ROLES: &[&str] = &["replica", "client"];

/// The invariants checked as the run goes.
pub const INVARIANTS: &[&str] = &["repair-never-older", "convergence"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadRepair {
    Off,
    /// Answer the client, then write the newest version to stale replicas.
    Async,
    /// Write the newest version to the stale replicas that replied, and answer
    /// only once they acknowledged.
    Blocking,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coordinator {
    Preferred,
    Random,
}

/// A membership change: `node` joins (or leaves) the ring at `at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub node: String,
    #[serde(with = "serde_duration")]
    pub at: Nanos,
}

/// The `[system]` fields of [`Params`] that name a time of the run (not a
/// wait such as `sloppy_after`): each must fall inside the run, and a shrink
/// must not end before it.
pub const RUN_TIMES: &[&str] = &["joins.at", "leaves.at", "converge_by"];

/// `[system]` for `protocol = "quorum"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub protocol: String,
    /// Replicas per key.
    pub n: usize,
    /// Acknowledgements a write waits for.
    pub w: usize,
    /// Replies a read waits for.
    pub r: usize,
    /// Tokens per server on the ring.
    pub vnodes: u32,
    /// Let stand-ins beyond the preference list accept requests (hinted handoff).
    pub sloppy: bool,
    pub versioning: Versioning,
    pub read_repair: ReadRepair,
    /// How often each server compares Merkle trees with the replicas it
    /// shares keys with (off when absent).
    #[serde(with = "serde_duration::option")]
    pub anti_entropy_interval: Option<Nanos>,
    pub coordinator: Coordinator,
    /// With `sloppy`, how long a coordinator waits for the preference list
    /// before it asks stand-ins.
    #[serde(with = "serde_duration")]
    pub sloppy_after: Nanos,
    /// How long a coordinator waits before it answers "unavailable".
    #[serde(with = "serde_duration")]
    pub coordinator_timeout: Nanos,
    /// How often a server offers its hints (and keys it no longer owns) to
    /// their owners.
    #[serde(with = "serde_duration")]
    pub handoff_interval: Nanos,
    /// Servers that start outside the ring and join it at a time.
    pub joins: Vec<Change>,
    /// Servers that leave the ring at a time (they keep running and hand
    /// their keys over).
    pub leaves: Vec<Change>,
    /// Liveness: by this time every replica of every key must hold the same
    /// versions and no hint may be left (the `convergence` invariant).
    #[serde(with = "serde_duration::option")]
    pub converge_by: Option<Nanos>,

    /// Bug: read repair takes the *oldest* reply for the truth and writes it
    /// over the replicas that differ, without a version check.
    pub read_repair_writes_older: bool,
    /// Bug: stand-ins keep their hints and never hand them back.
    pub hint_never_delivered: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            protocol: "quorum".into(),
            n: 3,
            w: 2,
            r: 2,
            vnodes: 64,
            sloppy: false,
            versioning: Versioning::Lww,
            read_repair: ReadRepair::Off,
            anti_entropy_interval: None,
            coordinator: Coordinator::Preferred,
            sloppy_after: ms(30),
            coordinator_timeout: ms(200),
            handoff_interval: ms(200),
            joins: Vec::new(),
            leaves: Vec::new(),
            converge_by: None,
            read_repair_writes_older: false,
            hint_never_delivered: false,
        }
    }
}

/// The ring over time: the ring from each membership change on.
#[derive(Clone, Debug)]
pub struct Timeline {
    epochs: Vec<(Nanos, Ring)>,
    /// What changed at each epoch after the first, for the report.
    changes: Vec<String>,
}

impl Timeline {
    /// Builds the rings for `servers` servers and the membership changes.
    pub fn new(
        servers: usize,
        vnodes: u32,
        joins: &[(NodeId, Nanos)],
        leaves: &[(NodeId, Nanos)],
    ) -> Timeline {
        let mut times: Vec<Nanos> = joins.iter().chain(leaves).map(|(_, t)| *t).collect();
        times.sort_unstable();
        times.dedup();
        let members_at = |t: Nanos| {
            (0..servers as u32).map(NodeId).filter(move |n| {
                let joined = joins.iter().filter(|(j, _)| j == n).all(|(_, at)| *at <= t);
                let left = leaves.iter().any(|(l, at)| l == n && *at <= t);
                joined && !left
            })
        };
        let mut epochs = vec![(0, Ring::new(members_at(0), vnodes))];
        let mut changes = Vec::new();
        for t in times.into_iter().filter(|t| *t > 0) {
            let mut what: Vec<String> = joins
                .iter()
                .filter(|(_, at)| *at == t)
                .map(|(n, _)| format!("n{} joins", n.0 + 1))
                .collect();
            what.extend(
                leaves
                    .iter()
                    .filter(|(_, at)| *at == t)
                    .map(|(n, _)| format!("n{} leaves", n.0 + 1)),
            );
            changes.push(format!("at {}: {}", fmt_duration(t), what.join(", ")));
            epochs.push((t, Ring::new(members_at(t), vnodes)));
        }
        Timeline { epochs, changes }
    }

    /// The ring in force at time `t`.
    pub fn at(&self, t: Nanos) -> &Ring {
        let i = self.epochs.partition_point(|(at, _)| *at <= t);
        &self.epochs[i.saturating_sub(1)].1
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Ok(Option<Value>),
    /// A cas found another value at the coordinator: certainly no effect.
    Mismatch,
    /// Too few replicas answered in time. A write may still have reached some.
    Unavailable,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        Request {
            op: u64,
            key: String,
            f: OpFn,
        },
        Reply {
            op: u64,
            answer: Answer,
        },
        /// Store these versions (merged with what the replica has). `hint_for`:
        /// the receiver is a stand-in holding them for that node. `repair`: a read
        /// repair (with the `read_repair_writes_older` bug it overwrites).
        Put {
            req: u64,
            key: String,
            sibs: Vec<Sibling>,
            hint_for: Option<NodeId>,
            repair: bool,
        } if [Msg::Put { repair: true, .. } => "Repair", Msg::Put { hint_for: Some(_), .. } => "HintedPut"],
        PutAck {
            req: u64,
        },
        Get {
            req: u64,
            key: String,
        },
        GetReply {
            req: u64,
            sibs: Vec<Sibling>,
        },
        /// Anti-entropy: the Merkle tree (leaf hashes) of the keys the sender
        /// and receiver share.
        Tree {
            leaves: Vec<u64>,
        } as "MerkleTree",
        /// Anti-entropy: the versions in the leaves that differed; `reply`: the
        /// receiver answers with its own versions of those leaves.
        Leaves {
            leaves: Vec<u32>,
            data: Vec<(String, Vec<Sibling>)>,
            reply: bool,
        } as "MerkleLeaves",
    }
}

/// The quorum protocol: builds replicas and clients, checks convergence.
pub struct Quorum {
    pub params: Arc<Params>,
    pub timeline: Arc<Timeline>,
    pub client: ClientConfig,
    checker: Checker,
}

impl Quorum {
    pub fn new(
        params: Params,
        servers: usize,
        client: ClientConfig,
    ) -> Result<Quorum, (&'static str, String)> {
        let node =
            |c: &Change, field: &'static str| -> Result<(NodeId, Nanos), (&'static str, String)> {
                c.node
                    .strip_prefix('n')
                    .and_then(|i| i.parse::<u32>().ok())
                    .filter(|i| (1..=servers as u32).contains(i))
                    .map(|i| (NodeId(i - 1), c.at))
                    .ok_or_else(|| {
                        (
                            field,
                            format!(
                                "{field}: \"{}\" is not a server; servers are n1..n{servers}",
                                c.node
                            ),
                        )
                    })
            };
        let joins = params
            .joins
            .iter()
            .map(|c| node(c, "joins"))
            .collect::<Result<Vec<_>, _>>()?;
        let leaves = params
            .leaves
            .iter()
            .map(|c| node(c, "leaves"))
            .collect::<Result<Vec<_>, _>>()?;
        let initial = servers - joins.iter().filter(|(_, at)| *at > 0).count();
        if params.n == 0 || params.n > initial {
            return Err((
                "n",
                format!("n must be between 1 and the {initial} servers that start in the ring"),
            ));
        }
        if params.w == 0 || params.w > params.n {
            return Err(("w", format!("w must be between 1 and n = {}", params.n)));
        }
        if params.r == 0 || params.r > params.n {
            return Err(("r", format!("r must be between 1 and n = {}", params.n)));
        }
        if params.vnodes == 0 || params.vnodes > 4096 {
            return Err(("vnodes", "vnodes must be between 1 and 4096".into()));
        }
        if params.coordinator_timeout == 0 {
            return Err((
                "coordinator_timeout",
                "coordinator_timeout must be above 0".into(),
            ));
        }
        // Handoff and anti-entropy are rounds every server runs for the
        // whole run: a nanosecond period is a round per nanosecond.
        crate::check_period("handoff_interval", params.handoff_interval, "", "1s")?;
        if let Some(i) = params.anti_entropy_interval {
            crate::check_period(
                "anti_entropy_interval",
                i,
                "(leave it out to turn anti-entropy off)",
                "1s",
            )?;
        }
        let timeline = Timeline::new(servers, params.vnodes, &joins, &leaves);
        Ok(Quorum {
            params: Arc::new(params),
            timeline: Arc::new(timeline),
            client,
            checker: Checker::default(),
        })
    }
}

/// Reads the parameters from a scenario's `[system]` section.
pub fn from_scenario(s: &Scenario) -> Result<Quorum, ScenarioError> {
    let params: Params = parse_system(s)?;
    Quorum::new(params, s.servers(), s.workload.client_config()).map_err(|(field, message)| {
        let span = sim::scenario::key_span(&s.source, "system", field).unwrap_or(0..0);
        ScenarioError::at(&s.file, &s.source, span, format!("[system] {message}"))
    })
}

sim::node_enum! {
    /// A replica or a client.
    #[allow(clippy::large_enum_variant)]
    pub enum QuorumNode: Msg {
        Server(Server) { role: |_| "replica", start, get as_server },
        Client(Client) { role: |_| "client", requests, no_sender },
    }
}

/// How often (virtual time) the convergence check looks at the replicas.
const CHECK_EVERY: Nanos = 50_000_000;

/// Watches the replicas: when they last disagreed, and whether they agree by
/// `converge_by`.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    next_check: Nanos,
    last_divergent: Option<Nanos>,
    judged: bool,
    /// (keys whose replicas differ, hints left) at the last check.
    last: (usize, usize),
}

/// Keys whose live replicas (on the ring at `now`) hold different versions,
/// and hints still held anywhere.
pub fn divergence(ring: &Ring, n: usize, nodes: &NodeTable<QuorumNode>) -> (Vec<String>, usize) {
    let servers: BTreeMap<NodeId, &Server> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((NodeId(i as u32), s.as_ref()?.as_server()?)))
        .collect();
    let mut keys: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut hints = 0;
    for s in servers.values() {
        keys.extend(s.store().keys().map(|k| k.as_str()));
        keys.extend(s.hints().keys().map(|(_, k)| k.as_str()));
        hints += s.hints().len();
    }
    let empty: Vec<Sibling> = Vec::new();
    let differ = keys
        .into_iter()
        .filter(|k| {
            let mut seen: Option<&Vec<Sibling>> = None;
            for p in ring.preference_list(k, n) {
                let Some(s) = servers.get(&p) else { continue };
                let v = s.store().get(*k).unwrap_or(&empty);
                match seen {
                    None => seen = Some(v),
                    Some(prev) if prev != v => return true,
                    Some(_) => {}
                }
            }
            false
        })
        .map(str::to_string)
        .collect();
    (differ, hints)
}

impl Protocol for Quorum {
    type Node = QuorumNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> QuorumNode {
        if cluster.is_client(id) {
            QuorumNode::Client(Client::new(
                self.params.clone(),
                self.timeline.clone(),
                self.client.clone(),
            ))
        } else {
            QuorumNode::Server(Server::recover(
                id,
                self.params.clone(),
                self.timeline.clone(),
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
        _stepped: NodeId,
        nodes: &NodeTable<QuorumNode>,
        out: &mut Vec<Violation>,
    ) {
        if now < self.checker.next_check {
            return;
        }
        self.checker.next_check = now + CHECK_EVERY;
        let (differ, hints) = divergence(self.timeline.at(now), self.params.n, nodes);
        self.checker.last = (differ.len(), hints);
        if !differ.is_empty() || hints > 0 {
            self.checker.last_divergent = Some(now);
        }
        if let Some(by) = self.params.converge_by {
            if now >= by && !self.checker.judged {
                self.checker.judged = true;
                if !differ.is_empty() || hints > 0 {
                    out.push(Violation {
                        invariant: "convergence",
                        detail: format!(
                            "at {}: replicas of {} key(s) still differ ({}) and {hints} hint(s) are undelivered",
                            fmt_duration(now),
                            differ.len(),
                            differ.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
            }
        }
    }

    fn summary(&self, nodes: &NodeTable<QuorumNode>) -> Vec<(String, String)> {
        let p = &self.params;
        let mut out = Vec::new();
        out.push((
            "quorum".into(),
            format!(
                "N={} W={} R={} ({}), {} quorum, {}, read repair {}, anti-entropy {}",
                p.n,
                p.w,
                p.r,
                if p.w + p.r > p.n { "W+R>N" } else { "W+R<=N" },
                if p.sloppy { "sloppy" } else { "strict" },
                match p.versioning {
                    Versioning::Lww => "last-writer-wins",
                    Versioning::Vector => "vector clocks",
                },
                match p.read_repair {
                    ReadRepair::Off => "off",
                    ReadRepair::Async => "async",
                    ReadRepair::Blocking => "blocking",
                },
                p.anti_entropy_interval
                    .map_or("off".to_string(), |i| format!("every {}", fmt_duration(i))),
            ),
        ));
        let first = &self.timeline.epochs[0].1;
        out.push((
            "ring".into(),
            format!(
                "{} members, {} vnodes each",
                first.members().len(),
                p.vnodes
            ),
        ));
        // Balance as a function of vnodes, over synthetic keys on the first ring.
        const KEYS: usize = 10_000;
        let mut counts: Vec<u32> = vec![1, 8, 64, 256];
        if !counts.contains(&p.vnodes) {
            counts.push(p.vnodes);
            counts.sort_unstable();
        }
        let bal: Vec<(u32, f64)> = counts
            .iter()
            .map(|&v| {
                let (max, mean) =
                    ring::balance(&Ring::new(first.members().iter().copied(), v), KEYS);
                (v, max as f64 / mean)
            })
            .collect();
        let here = bal
            .iter()
            .find(|(v, _)| *v == p.vnodes)
            .map_or(0.0, |(_, r)| *r);
        out.push((
            "key balance max/mean".into(),
            format!(
                "{here:.2} with {} vnodes per node (10,000 keys by owner); {}",
                p.vnodes,
                bal.iter()
                    .map(|(v, r)| format!("{v} vnodes: {r:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
        for (i, change) in self.timeline.changes.iter().enumerate() {
            let before = &self.timeline.epochs[i].1;
            let after = &self.timeline.epochs[i + 1].1;
            let mv = ring::movement(before, after, p.n, KEYS);
            let pct = |x: usize| 100.0 * x as f64 / KEYS as f64;
            let suffix = if i == 0 {
                String::new()
            } else {
                format!(" #{}", i + 1)
            };
            out.push((
                format!("keys moved by the ring{suffix}"),
                format!(
                    "{:.1} percent of 10,000 keys changed owner {change} ({} -> {} members; {:.1} percent of preference lists changed)",
                    pct(mv.ring_moved),
                    before.members().len(),
                    after.members().len(),
                    pct(mv.ring_replicas_changed),
                ),
            ));
            out.push((
                format!("keys moved by hash mod nodes{suffix}"),
                format!(
                    "{:.1} percent of the same keys would change owner under hash(key) % nodes",
                    pct(mv.mod_moved)
                ),
            ));
        }
        // Load in this run, from the servers' own counters.
        let servers: Vec<(usize, &Server)> = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, n.as_ref()?.as_server()?)))
            .collect();
        if !servers.is_empty() {
            let max_mean = |xs: &[u64]| {
                let max = xs.iter().copied().max().unwrap_or(0);
                let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
                (max, mean)
            };
            let reqs: Vec<u64> = servers.iter().map(|(_, s)| s.stats().requests).collect();
            let (max, mean) = max_mean(&reqs);
            let busiest = servers
                .iter()
                .max_by_key(|(i, s)| (s.stats().requests, std::cmp::Reverse(*i)))
                .map(|(i, _)| format!("n{}", i + 1))
                .unwrap_or_default();
            out.push((
                "requests per replica max/mean".into(),
                format!(
                    "{:.2} (max {max}, mean {mean:.0}, busiest {busiest}); per node: {}",
                    if mean > 0.0 { max as f64 / mean } else { 0.0 },
                    reqs.iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ));
            let mut per_key: BTreeMap<&str, u64> = BTreeMap::new();
            for (_, s) in &servers {
                for (k, c) in &s.stats().per_key {
                    *per_key.entry(k.as_str()).or_default() += c;
                }
            }
            let total: u64 = per_key.values().sum();
            if let Some((k, c)) = per_key
                .iter()
                .max_by_key(|(k, c)| (**c, std::cmp::Reverse(**k)))
            {
                let ring = self.timeline.epochs[self.timeline.epochs.len() - 1]
                    .1
                    .clone();
                out.push((
                    "hottest key share".into(),
                    format!(
                        "{:.1} percent of requests: {k} ({c} of {total}), all on replicas {}",
                        100.0 * *c as f64 / total.max(1) as f64,
                        ring.preference_list(k, p.n)
                            .iter()
                            .map(|n| format!("n{}", n.0 + 1))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                ));
            }
            // The same requests placed on rings with other vnode counts: each
            // request is counted once on each of its key's N replicas.
            if total > 0 {
                let req_bal: Vec<(u32, f64)> = counts
                    .iter()
                    .map(|&v| {
                        let ring = Ring::new(first.members().iter().copied(), v);
                        let mut per: BTreeMap<NodeId, u64> =
                            ring.members().iter().map(|&m| (m, 0)).collect();
                        for (k, c) in &per_key {
                            for m in ring.preference_list(k, p.n) {
                                *per.entry(m).or_default() += c;
                            }
                        }
                        let max = per.values().copied().max().unwrap_or(0) as f64;
                        let mean = per.values().sum::<u64>() as f64 / per.len().max(1) as f64;
                        (v, if mean > 0.0 { max / mean } else { 0.0 })
                    })
                    .collect();
                let here = req_bal
                    .iter()
                    .find(|(v, _)| *v == p.vnodes)
                    .map_or(0.0, |(_, r)| *r);
                out.push((
                    "request balance max/mean".into(),
                    format!(
                        "{here:.2} with {} vnodes per node (this run's requests on each key's N replicas); {}",
                        p.vnodes,
                        req_bal
                            .iter()
                            .map(|(v, r)| format!("{v} vnodes: {r:.2}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let keys: Vec<u64> = servers
                .iter()
                .map(|(_, s)| s.store().len() as u64)
                .collect();
            let (max, mean) = max_mean(&keys);
            out.push((
                "keys held per replica".into(),
                format!("{max} at most, {mean:.1} on average"),
            ));
            let sum = |f: fn(&server::Stats) -> u64| {
                servers.iter().map(|(_, s)| f(s.stats())).sum::<u64>()
            };
            out.push((
                "coordinator".into(),
                format!(
                    "{} requests, {} answered unavailable, {} sent to stand-ins",
                    sum(|s| s.coordinated),
                    sum(|s| s.unavailable),
                    sum(|s| s.stand_in_asks),
                ),
            ));
            out.push((
                "repair".into(),
                format!(
                    "{} read repairs sent, {} hints stored, {} hints handed back, {} keys repaired by anti-entropy",
                    sum(|s| s.repairs_sent),
                    sum(|s| s.hints_stored),
                    sum(|s| s.hints_delivered),
                    sum(|s| s.anti_entropy_repairs),
                ),
            ));
            if p.versioning == Versioning::Vector {
                out.push((
                    "reads with siblings".into(),
                    format!(
                        "{} reads found concurrent siblings (the history records their merge)",
                        sum(|s| s.sibling_reads)
                    ),
                ));
            }
        }
        let (differ, hints) = self.checker.last;
        out.push((
            "replicas disagreeing at the end".into(),
            format!("{differ} key(s) differ between live replicas, {hints} hint(s) still held"),
        ));
        out.push((
            "last disagreement seen".into(),
            match self.checker.last_divergent {
                None => "never (checked every 50ms)".into(),
                Some(t) => format!("{} (checked every 50ms)", fmt_duration(t)),
            },
        ));
        out
    }
}
