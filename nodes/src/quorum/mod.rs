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
mod invariants;
mod msg;
mod node;
mod params;
mod server;
mod summary;
#[cfg(test)]
mod tests;
mod timeline;
pub mod version;

pub use client::Client;
pub use invariants::{divergence, Checker, PROPERTIES};
pub use msg::{Answer, Msg};
pub use node::QuorumNode;
pub use params::{Change, Coordinator, Params, ReadRepair, RUN_TIMES};
pub use server::Server;
pub use timeline::Timeline;
pub use version::{Sibling, Versioning};

use std::sync::Arc;

use sim::client::ClientConfig;
use sim::metric::Metrics;
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{Findings, NodeTable, Property, Protocol, Step};
use sim::time::Nanos;

pub const ROLES: &[&str] = &["replica", "client"];

/// The quorum protocol: builds replicas and clients, checks convergence.
#[derive(Clone, Debug)]
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

    const PROPERTIES: &'static [Property] = PROPERTIES;

    fn check(&mut self, step: Step<'_, QuorumNode>, out: &mut Findings) {
        self.watch(step.now, step.nodes, out.violations_mut());
    }

    fn metrics(&self, nodes: &NodeTable<QuorumNode>, out: &mut Metrics) {
        self.report(nodes, out)
    }
}
