//! # Raft
//!
//! Raft (Ongaro and Ousterhout, "In Search of an Understandable Consensus
//! Algorithm (Extended Version)", USENIX ATC 2014; and Ongaro's dissertation,
//! "Consensus: Bridging Theory and Practice", Stanford 2014) keeps a log
//! replicated on a cluster of servers, and applies its entries in order to a
//! state machine on each, here a key-value map.
//!
//! What it guarantees. Once an entry is committed it stays committed, and every
//! server applies the same command at each index (*state machine safety*), as
//! long as fewer than half of the servers fail by crashing and their disks keep
//! what was synced. It gets there through a strong leader: servers elect one
//! per term by majority vote (randomized election timeouts make split votes
//! rare); the leader alone appends to the log; an entry is committed once a
//! majority stores it, but only entries of the leader's current term are
//! committed by counting (§5.4.2, Figure 8); and a candidate wins only if its
//! log is at least as up to date as a majority's (§5.4.1), so every leader
//! holds every committed entry. Clients get linearizable operations: commands
//! carry (client session, sequence) so a retry is applied once (a restarted
//! client is a new session, see `sim::client`), and reads either go
//! through the log or confirm leadership (ReadIndex) before answering.
//!
//! What it gives up. Raft is CP. A leader cut off in a minority can no longer
//! commit anything, and servers in the minority cannot elect a new one, so
//! clients on that side get no answers until the partition heals. Every write
//! costs a round trip to a majority and a disk sync (PACELC: PC/EC). Lease
//! reads win back read latency by trusting clocks, and clock drift beyond the
//! assumed bound breaks them.
//!
//! Options and bug flags live in [`Params`]: PreVote and CheckQuorum (from
//! the dissertation, §9.6 and §6.2), the read mode, and four bugs a learner can
//! switch on to watch an invariant break. The invariants (Figure 3, plus
//! lease safety) are checked after every step by [`Checker`]; the lesson that
//! walks through them is docs/raft.md.
//!
//! The node is sans-IO: handlers record effects in a `Ctx` and never block,
//! read a clock other than `Ctx::mono_time` (the monotonic clock: elections
//! and leases measure elapsed time, which a wall-clock step must not
//! change), or draw randomness other than
//! `Ctx::rng`, so the same code runs under the kernel and in the hand-driven
//! unit tests of `tests.rs`.

mod client;
mod invariants;
mod kv;
mod log;
mod msg;
mod node;
mod server;
#[cfg(test)]
mod tests;

pub use client::Client;
pub use invariants::{Checker, INVARIANTS};
pub use kv::Kv;
pub use log::{Command, Entry, Log};
pub use msg::{ClientResult, Msg};
pub use node::RaftNode;
pub use server::{Progress, Role, Server};

use serde::{Deserialize, Serialize};
use sim::client::{ClientConfig, RetryPolicy};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol, Violation};
use sim::scenario::{parse_system, Scenario, ScenarioError};
use sim::time::{fmt_duration, ms, serde_duration, Nanos};

/// The roles Raft nodes report, which fault targets such as `target = "leader"`
/// resolve against.
pub const ROLES: &[&str] = &["leader", "follower", "candidate", "pre-candidate", "client"];

/// The protocol events these nodes report with `ctx.note` (none: role
/// changes and messages are what fault triggers here wait for).
pub const NOTES: &[&str] = &[];

/// The message kinds Raft's nodes send (see `Msg::kind`), for fault triggers.
pub const MESSAGES: &[&str] = Msg::KINDS;

/// How the leader answers reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadMode {
    /// A read is a log entry like a write: linearizable, and as slow.
    Log,
    /// ReadIndex (dissertation §6.4): note the commit index, confirm
    /// leadership with a round of heartbeats, answer once applied that far.
    ReadIndex,
    /// Lease reads (dissertation §6.4.1): answer alone while a lease, renewed by
    /// heartbeat rounds, holds by the leader's monotonic clock.
    Lease,
}

/// The shortest `heartbeat_interval` a scenario may set; the election timeout
/// must be at least twice it.
pub const MIN_HEARTBEAT: Nanos = crate::MIN_PERIOD;

/// Raft's `[system]` parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub protocol: String,
    #[serde(with = "serde_duration")]
    pub election_timeout_min: Nanos,
    #[serde(with = "serde_duration")]
    pub election_timeout_max: Nanos,
    #[serde(with = "serde_duration")]
    pub heartbeat_interval: Nanos,
    /// A server asks whether it could win before it starts an election, so a
    /// server returning from a partition does not disrupt the cluster.
    pub pre_vote: bool,
    /// A leader that has not heard from a majority for an election timeout
    /// steps down.
    pub check_quorum: bool,
    pub read_mode: ReadMode,
    /// How long a lease lasts from the start of a confirmed heartbeat round
    /// (default: the minimum election timeout).
    #[serde(with = "serde_duration::option")]
    pub lease_duration: Option<Nanos>,
    /// The most entries one AppendEntries carries. With 1, a new leader's
    /// no-op never travels with the older entries before it, which is what
    /// lets the Figure 8 bug show.
    pub max_entries_per_message: usize,
    /// The assumed bound on clock drift (0.1 = every clock runs at most 10%
    /// fast or slow); leases are shortened by it, to `election_timeout_min x
    /// (1 - max_clock_drift) / (1 + max_clock_drift)`.
    pub max_clock_drift: f64,

    /// Bug: count replicas of entries from older terms to commit them (the
    /// Figure 8 counterexample).
    pub commit_old_terms_by_counting: bool,
    /// Bug: the vote is not persisted, so a restarted server can vote twice in
    /// one term.
    pub forget_vote_on_restart: bool,
    /// Bug: leases are not shortened by the clock drift bound.
    pub lease_reads_without_clock_bound: bool,
    /// Bug: followers append without checking the previous entry.
    pub skip_log_check: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            protocol: "raft".into(),
            election_timeout_min: ms(150),
            election_timeout_max: ms(300),
            heartbeat_interval: ms(50),
            pre_vote: false,
            check_quorum: false,
            read_mode: ReadMode::Log,
            lease_duration: None,
            max_entries_per_message: 64,
            max_clock_drift: 0.1,
            commit_old_terms_by_counting: false,
            forget_vote_on_restart: false,
            lease_reads_without_clock_bound: false,
            skip_log_check: false,
        }
    }
}

impl Params {
    /// Checks the parameters against each other; the message names the field
    /// and what would be valid.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        // A heartbeat every nanosecond (or an election every few) makes a
        // run do a round of messages per nanosecond of virtual time: minutes
        // of wall time and gigabytes before `max_events` stops it. Real Raft
        // deployments use tens of milliseconds; a millisecond is the floor.
        if self.heartbeat_interval < MIN_HEARTBEAT {
            return Err((
                "heartbeat_interval",
                format!(
                    "heartbeat_interval = \"{}\": must be at least {} and below election_timeout_min, e.g. \"50ms\"",
                    fmt_duration(self.heartbeat_interval),
                    fmt_duration(MIN_HEARTBEAT)
                ),
            ));
        }
        if self.election_timeout_min < 2 * MIN_HEARTBEAT {
            return Err((
                "election_timeout_min",
                format!(
                    "election_timeout_min = \"{}\": must be at least {} (above heartbeat_interval), e.g. \"150ms\"",
                    fmt_duration(self.election_timeout_min),
                    fmt_duration(2 * MIN_HEARTBEAT)
                ),
            ));
        }
        if self.election_timeout_max < self.election_timeout_min {
            return Err((
                "election_timeout_max",
                "election_timeout_max must be at least election_timeout_min".into(),
            ));
        }
        if self.heartbeat_interval == 0 || self.heartbeat_interval >= self.election_timeout_min {
            return Err((
                "heartbeat_interval",
                "heartbeat_interval must be above 0 and below election_timeout_min, or followers time out between heartbeats".into(),
            ));
        }
        if self.max_entries_per_message == 0 {
            return Err((
                "max_entries_per_message",
                "max_entries_per_message must be at least 1".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.max_clock_drift) {
            return Err((
                "max_clock_drift",
                "max_clock_drift must be at least 0.0 and below 1.0 (0.1 = 10%)".into(),
            ));
        }
        Ok(())
    }
}

/// The Raft protocol: builds servers and clients, and checks Raft's
/// invariants as the run goes.
#[derive(Clone, Debug)]
pub struct Raft {
    pub params: Params,
    pub client: ClientConfig,
    checker: Checker,
}

impl Raft {
    pub fn new(params: Params, client: ClientConfig) -> Self {
        Raft {
            params,
            client,
            checker: Checker::default(),
        }
    }

    pub fn checker(&self) -> &Checker {
        &self.checker
    }
}

impl Default for Raft {
    fn default() -> Self {
        Raft::new(
            Params::default(),
            ClientConfig {
                timeout: ms(500),
                retry: RetryPolicy::None,
            },
        )
    }
}

/// Reads Raft's parameters from a scenario's `[system]` section.
pub fn from_scenario(s: &Scenario) -> Result<Raft, ScenarioError> {
    let params: Params = parse_system(s)?;
    if let Err((field, message)) = params.validate() {
        let span = sim::scenario::key_span(&s.source, "system", field).unwrap_or(0..0);
        return Err(ScenarioError::at(
            &s.file,
            &s.source,
            span,
            format!("[system] {message}"),
        ));
    }
    Ok(Raft::new(params, s.workload.client_config()))
}

impl Protocol for Raft {
    type Node = RaftNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> RaftNode {
        if cluster.is_client(id) {
            RaftNode::Client(Client::new(id, cluster.servers(), self.client.clone()))
        } else {
            RaftNode::Server(Server::from_disk(
                id,
                cluster.servers(),
                self.params.clone(),
                disk,
            ))
        }
    }

    fn invariants(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn check(
        &mut self,
        _now: Nanos,
        stepped: NodeId,
        nodes: &NodeTable<RaftNode>,
        out: &mut Vec<Violation>,
    ) {
        self.checker.check(stepped, nodes, out);
    }

    fn summary(&self, nodes: &NodeTable<RaftNode>) -> Vec<(String, String)> {
        let live: Vec<&Server> = nodes
            .iter()
            .flatten()
            .filter_map(RaftNode::as_server)
            .collect();
        let commit = live.iter().map(|s| s.commit_index()).max().unwrap_or(0);
        let applied_min = live.iter().map(|s| s.applied_index()).min().unwrap_or(0);
        let applied_max = live.iter().map(|s| s.applied_index()).max().unwrap_or(0);
        vec![
            (
                "leaders elected".into(),
                self.checker.leaders_elected().to_string(),
            ),
            (
                "highest term with a leader".into(),
                self.checker.highest_term().to_string(),
            ),
            ("highest commit index".into(), commit.to_string()),
            (
                "applied, live servers".into(),
                format!("{applied_min}..{applied_max} ({} live)", live.len()),
            ),
        ]
    }
}
