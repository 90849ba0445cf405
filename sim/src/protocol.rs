//! How a protocol plugs into the kernel: it builds its nodes (servers and
//! clients), checks its global invariants as the run goes, and reports its
//! figures.

use crate::metric::Metric;
use crate::node::{Cluster, Disk, Node, NodeId};
use crate::time::Nanos;

/// A protocol's nodes as the invariant checks see them: `None` for a crashed node.
pub type NodeTable<N> = [Option<N>];

/// A broken invariant: its name (`election-safety`) and what exactly happened.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

pub trait Protocol {
    type Node: Node;

    /// Builds node `id`, a server or a client (see [`Cluster::is_client`]), from
    /// its disk: empty at the first start, and after a crash holding only what
    /// was synced. The node's `on_start` runs right after.
    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> Self::Node;

    /// The invariants this protocol checks, by name, for the report (every one is
    /// listed as held or violated).
    fn invariants(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks global invariants after node `stepped` ran a handler (the kernel
    /// calls this after every step, so keep it incremental). Push what broke.
    fn check(
        &mut self,
        _now: Nanos,
        _stepped: NodeId,
        _nodes: &NodeTable<Self::Node>,
        _out: &mut Vec<Violation>,
    ) {
    }

    /// Why this protocol's client history cannot be judged as a key-value
    /// store's, if it cannot (a bank whose reads return balances, say). The
    /// report then skips the linearizability and weaker-guarantee checks and
    /// prints this reason instead; the protocol's invariants carry the load.
    fn history_not_checkable(&self) -> Option<&'static str> {
        None
    }

    /// Follows the run for the protocol's figures after node `stepped` ran a
    /// handler (after [`Protocol::check`], every step): load per second, the
    /// counters of a node before it crashes. Apart from the invariants, and
    /// never drawing randomness, so figures cannot change a run.
    fn observe(&mut self, _now: Nanos, _stepped: NodeId, _nodes: &NodeTable<Self::Node>) {}

    /// The protocol's figures at the end of the run, typed (see
    /// [`crate::metric`]), in the order the report prints them. Each is
    /// declared, by name and unit, in the protocol's `Spec::METRICS`.
    fn metrics(&self, _nodes: &NodeTable<Self::Node>, _out: &mut Vec<Metric>) {}
}
