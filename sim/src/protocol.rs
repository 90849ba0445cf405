//! How a protocol plugs into the kernel: it builds its nodes (servers and
//! clients), checks its global invariants as the run goes, and says what its
//! clients ask and how their history is judged.

use crate::check::Judge;
use crate::node::{Cluster, Disk, Node, NodeId};
use crate::scenario::Scenario;
use crate::time::Nanos;
use crate::workload::{Operation, Workload};

/// The operations a protocol's clients carry.
pub type OpOf<P> = <<P as Protocol>::Node as Node>::Op;

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

    /// What its clients ask ([`crate::workload`]). The default is the
    /// standard workload of the node's operation type: for a key-value store,
    /// the scenario's `[workload]` keys, mix and key distribution.
    fn workload(&self, scenario: &Scenario) -> Box<dyn Workload<Op = OpOf<Self>>> {
        OpOf::<Self>::standard_workload(scenario).unwrap_or_else(|| {
            panic!(
                "{} has its own operation type: its Protocol::workload must say what its clients ask",
                std::any::type_name::<Self>()
            )
        })
    }

    /// How its client history is judged: the model the linearizability
    /// search replays it against, and the weaker checks that apply. The
    /// default is the standard one of the node's operation type: for a
    /// key-value store, every key a register ([`crate::check::KvJudge`]).
    fn model(&self) -> Box<dyn Judge<OpOf<Self>>> {
        OpOf::<Self>::standard_judge().unwrap_or_else(|| {
            panic!(
                "{} has its own operation type: its Protocol::model must say how its history is judged",
                std::any::type_name::<Self>()
            )
        })
    }

    /// Protocol-specific figures for the report, as (name, value) lines.
    fn summary(&self, _nodes: &NodeTable<Self::Node>) -> Vec<(String, String)> {
        Vec::new()
    }
}
