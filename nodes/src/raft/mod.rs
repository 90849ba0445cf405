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
mod params;
mod server;
#[cfg(test)]
mod tests;

pub use client::Client;
pub use invariants::{Checker, Leadership, LEADER_ELECTED, PROPERTIES};
pub use kv::Kv;
pub use log::{Command, Entries, Entry, Log};
pub use msg::{ClientResult, Msg};
pub use node::RaftNode;
pub use params::{Params, ReadMode, MIN_HEARTBEAT};
pub use server::{Progress, Role, Server};

use sim::client::{ClientConfig, RetryPolicy};
use sim::metric::{Figure, Metrics};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{Findings, NodeTable, Property, Protocol, Step, DEFAULT_SETTLE};
use sim::time::{ms, Nanos};

/// The roles Raft nodes report, which fault targets such as `target = "leader"`
/// resolve against.
pub const ROLES: &[&str] = &["leader", "follower", "candidate", "pre-candidate", "client"];

/// The figures of the report, in the order [`Protocol::metrics`] reports
/// them, by name and unit.
pub const METRICS: &[Figure] = &[
    Figure::count("leaders elected"),
    Figure::count("highest term with a leader"),
    Figure::count("highest commit index"),
    Figure::count("applied, live servers"),
];

/// The protocol events these nodes report with `ctx.note` (none: role
/// changes and messages are what fault triggers here wait for).
pub const NOTES: &[&str] = &[];

/// The Raft protocol: builds servers and clients, and checks Raft's
/// invariants as the run goes.
#[derive(Clone, Debug)]
pub struct Raft {
    pub params: Params,
    pub client: ClientConfig,
    checker: Checker,
    leadership: Leadership,
}

impl Raft {
    pub fn new(params: Params, client: ClientConfig) -> Self {
        Raft {
            params,
            client,
            checker: Checker::default(),
            leadership: Leadership::default(),
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

impl Protocol for Raft {
    type Node = RaftNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> RaftNode {
        if cluster.is_client(id) {
            RaftNode::Client(Client::new(id, cluster.servers(), self.client.clone()))
        } else {
            RaftNode::Server(Server::from_disk(id, cluster, &self.params, disk))
        }
    }

    const PROPERTIES: &'static [Property] = PROPERTIES;

    /// Ten of the longest election timeouts (and never less than the
    /// default): a leader may take that long to appear on a correct
    /// cluster. A clock drifting at -0.5 (the slowest a scenario may set)
    /// stretches a timeout to twice its length, and split votes each cost
    /// another timeout, so a fixed time would call a correct cluster with
    /// long timeouts violated.
    fn settle_time(&self) -> Nanos {
        DEFAULT_SETTLE.max(self.params.election_timeout_max.saturating_mul(10))
    }

    fn crashed(&mut self, id: NodeId, _last: &RaftNode) {
        self.leadership.crashed(id);
    }

    fn check(&mut self, step: Step<'_, RaftNode>, out: &mut Findings) {
        self.checker
            .check(step.stepped, step.nodes, out.violations_mut());
        if let Some(elected) = self.leadership.news(step) {
            out.holds(LEADER_ELECTED, elected);
        }
    }

    fn metrics(&self, nodes: &NodeTable<RaftNode>, out: &mut Metrics) {
        let live = || nodes.iter().flatten().filter_map(RaftNode::as_server);
        let applied = || live().map(Server::applied_index);
        let (min, max) = (applied().min().unwrap_or(0), applied().max().unwrap_or(0));
        let commit = live().map(Server::commit_index).max().unwrap_or(0);
        let c = &self.checker;
        out.count("leaders elected", c.leaders_elected() as u64);
        out.count("highest term with a leader", c.highest_term());
        out.count("highest commit index", commit);
        let range = format!("..{max} ({} live)", live().count());
        out.count("applied, live servers", min).note(range);
    }
}
