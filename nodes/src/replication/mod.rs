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
mod invariants;
mod monitor;
mod msg;
mod node;
mod params;
mod server;
mod summary;
#[cfg(test)]
mod tests;

pub use client::Client;
pub use invariants::{Checker, FailoverSeen, FAILOVER, PROPERTIES};
pub use monitor::{Failover, Monitor};
pub use msg::{Answer, Entry, Msg, Op, Pos};
pub use node::ReplNode;
pub use params::{Mode, Params, ReadRouting};
pub use server::{Role, Server};

use std::sync::Arc;

use sim::client::ClientConfig;
use sim::metric::Metrics;
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{Findings, NodeTable, Property, Protocol, Step};

pub const ROLES: &[&str] = &["primary", "replica", "monitor", "client"];

/// The protocol events these nodes report with `ctx.note` (none: role
/// changes and messages are what fault triggers here wait for).
pub const NOTES: &[&str] = &[];

/// The replication protocol: builds the servers, the monitor and the
/// clients, and checks the invariants and gathers the figures as it goes.
#[derive(Clone, Debug)]
pub struct Replication {
    pub params: Arc<Params>,
    pub client: ClientConfig,
    checker: Checker,
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

    const PROPERTIES: &'static [Property] = PROPERTIES;

    fn check(&mut self, step: Step<'_, ReplNode>, out: &mut Findings) {
        let (now, stepped, nodes) = (step.now, step.stepped, step.nodes);
        self.checker
            .check(now, stepped, nodes, out.violations_mut());
        if !self.checker.failovers().is_empty() {
            out.holds(FAILOVER, true);
        }
    }

    fn metrics(&self, nodes: &NodeTable<ReplNode>, out: &mut Metrics) {
        summary::metrics(&self.params, &self.checker, nodes, out)
    }
}
