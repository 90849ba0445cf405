//! The factory hook: a protocol that runs Maelstrom's workloads, harness
//! and checkers on a node type from another crate.
//!
//! A learner's crate (the one `chaoslab lab new` writes) implements
//! [`MaelNode`] for its node, gives it a protocol name through
//! [`LabNode`], and registers [`Lab<ItsNode>`] like any protocol:
//!
//! ```ignore
//! registry.add::<chaoslab::nodes::maelstrom::Lab<MyNode>>();
//! ```
//!
//! Scenarios then say `protocol = "lab-broadcast"` (the node's
//! [`LabNode::PROTOCOL`]) with the same `[system]` fields as protocol
//! `maelstrom`, less `node` and `bug`. Everything else is the platform's:
//! the kernel, the faults, seed replay, `sweep`, `shrink`, `explore`, the
//! report and the TUI, because to the registry a lab is one more declared
//! protocol. The node is built by [`Default`] for every server life (a
//! restarted server starts from nothing, as a restarted process does).

use std::fmt;
use std::marker::PhantomData;

use sim::check::Judge;
use sim::metric::Metrics;
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{Findings, NodeTable, Property, Protocol, Step};
use sim::registry::{ParamError, Spec};
use sim::scenario::Scenario;
use sim::time::Nanos;
use sim::workload::Workload;

use super::node::MaelNode;
use super::ops::MaelOp;
use super::params::{Config, FaultsEnd, Params};
use super::{Maelstrom, MaelstromNode, MAELSTROM_VALID, METRICS, ROLES};

/// A node type a lab hosts: a [`MaelNode`] that can be built fresh, with
/// the protocol name scenarios give it.
pub trait LabNode: MaelNode + Clone + Default + 'static {
    /// What `[system] protocol` names to run this node (`"lab-broadcast"`).
    /// It must differ from every other registered protocol's name.
    const PROTOCOL: &'static str;
    /// One line for `chaoslab list` and `--help`.
    const ABOUT: &'static str =
        "a Maelstrom node of your own, under Maelstrom's workloads and checkers";
}

/// Maelstrom's workloads on node type `N`: see the module documentation.
pub struct Lab<N> {
    inner: Maelstrom,
    node: PhantomData<fn() -> N>,
}

impl<N> Clone for Lab<N> {
    fn clone(&self) -> Self {
        Lab {
            inner: self.inner.clone(),
            node: PhantomData,
        }
    }
}

impl<N> fmt::Debug for Lab<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

fn fresh<N: LabNode>(_: &Config) -> Box<dyn MaelNode> {
    Box::new(N::default())
}

impl<N: LabNode> Lab<N> {
    /// The lab on `config` (checked with [`Params::check`] and this lab's
    /// protocol name).
    pub fn new(config: Config) -> Lab<N> {
        Lab {
            inner: Maelstrom::with_nodes(config, fresh::<N>),
            node: PhantomData,
        }
    }

    /// The Maelstrom run underneath: its settings and calls.
    pub fn maelstrom(&self) -> &Maelstrom {
        &self.inner
    }
}

/// Checks `[system]` for a Maelstrom run from scenario `s`: for protocol
/// `maelstrom` (`hosted` is `None`) or for the lab named `hosted`.
pub fn configure(
    params: &Params,
    s: &Scenario,
    hosted: Option<&str>,
) -> Result<Config, ParamError> {
    let protocol = hosted.unwrap_or("maelstrom");
    // Maelstrom's clients are the scenario's clients: they sit on the
    // network, so partitions cut them off as they cut servers.
    if s.clients() == 0 {
        return Err(ParamError::key(
            "topology",
            "clients",
            format!(
                "clients = 0: protocol \"{protocol}\" runs its workload from the scenario's clients; set clients = 1 or more"
            ),
        ));
    }
    let nodes = (1..=s.servers()).map(|i| format!("n{i}")).collect();
    params
        .check(
            hosted,
            nodes,
            s.workload.client_config().timeout,
            s.workload.stop,
            s.meta.duration,
            FaultsEnd::of(s),
        )
        .map_err(|(field, message)| ParamError::field(field, message))
}

impl<N: LabNode> Spec for Lab<N> {
    const NAME: &'static str = N::PROTOCOL;
    const ABOUT: &'static str = N::ABOUT;
    type Params = Params;
    const ROLES: &'static [&'static str] = ROLES;
    const SERVICES: (&'static [&'static str], Option<&'static str>) = super::SERVICES;
    const METRICS: &'static [sim::metric::Figure] = METRICS;

    fn new(params: Params, s: &Scenario) -> Result<Self, ParamError> {
        Ok(Lab::new(configure(&params, s, Some(N::PROTOCOL))?))
    }
}

/// Every call goes to the Maelstrom run underneath: a lab is protocol
/// `maelstrom` with another node.
impl<N: LabNode> Protocol for Lab<N> {
    type Node = MaelstromNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> MaelstromNode {
        self.inner.build(id, cluster, disk)
    }

    const PROPERTIES: &'static [Property] = &[MAELSTROM_VALID];

    fn services(&self) -> Vec<String> {
        self.inner.services()
    }

    fn settle_time(&self) -> Nanos {
        self.inner.settle_time()
    }

    fn check(&mut self, step: Step<'_, MaelstromNode>, out: &mut Findings) {
        self.inner.check(step, out)
    }

    fn workload(&self, scenario: &Scenario) -> Box<dyn Workload<Op = MaelOp>> {
        self.inner.workload(scenario)
    }

    fn model(&self) -> Box<dyn Judge<MaelOp>> {
        self.inner.model()
    }

    fn observe(&mut self, step: Step<'_, MaelstromNode>) {
        self.inner.observe(step)
    }

    fn crashed(&mut self, id: NodeId, last: &MaelstromNode) {
        self.inner.crashed(id, last)
    }

    fn at_end(&mut self, now: Nanos, nodes: &NodeTable<MaelstromNode>, out: &mut Findings) {
        self.inner.at_end(now, nodes, out)
    }

    fn metrics(&self, nodes: &NodeTable<MaelstromNode>, out: &mut Metrics) {
        self.inner.metrics(nodes, out)
    }
}
