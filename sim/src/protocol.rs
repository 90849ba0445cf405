//! How a protocol plugs into the kernel: it builds its nodes (servers and
//! clients) and checks its global invariants as the run goes.

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

    /// Protocol-specific figures for the report, as (name, value) lines.
    fn summary(&self, _nodes: &NodeTable<Self::Node>) -> Vec<(String, String)> {
        Vec::new()
    }
}
