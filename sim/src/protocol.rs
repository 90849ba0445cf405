//! How a protocol plugs into the kernel: it builds its nodes (servers and
//! clients), names the properties its runs must show, checks them as the
//! run goes, reports its figures ([`Protocol::metrics`]), and says what its
//! clients ask and how their history is judged.
//!
//! A property has a name, a kind and a one-line description. The kinds are
//! stateright's:
//!
//! - [`Kind::Always`]: true at every step. One step where it is false is a
//!   violation (election safety, mutual exclusion).
//! - [`Kind::Eventually`]: true at some step once the faults are over. It is
//!   judged on the run's final quiet period, which starts when the last
//!   fault heals: no node down, no node paused, no partition or clog, no
//!   link whose latency, loss or duplication differs from the scenario's
//!   network, and the nemesis (if any) stopped. True at a step
//!   in that period: held. Never true there, although the period lasted the
//!   settle time ([`Protocol::settle_time`], or `[expect] settle_time`):
//!   violated. No quiet period (a fault lasts to the end), or a shorter one:
//!   undecided, which is never a failure. A property that held before a
//!   fault and not after it has not held.
//! - [`Kind::Sometimes`]: true at some step of the run: seen, else not seen.
//!   Neither is a failure unless `[expect] seen` demands it.
//!
//! [`Protocol::check`] runs after every step and reports into [`Findings`]:
//! violations of `always` properties, and the truth now of `eventually` and
//! `sometimes` ones. Keep it incremental: look at what the step changed.

use crate::check::Judge;
use crate::metric::Metrics;
use crate::node::{Cluster, Disk, Node, NodeId};
use crate::scenario::Scenario;
use crate::time::{secs, Nanos};
use crate::workload::{Operation, Workload};

/// The operations a protocol's clients carry.
pub type OpOf<P> = <<P as Protocol>::Node as Node>::Op;

/// A protocol's nodes as the invariant checks see them: `None` for a crashed node.
pub type NodeTable<N> = [Option<N>];

/// One step of a run, as [`Protocol::check`] and [`Protocol::observe`] see
/// it: when, which node ran a handler, and every node after it did.
#[derive(Debug)]
pub struct Step<'a, N> {
    pub now: Nanos,
    /// The node that ran the handler.
    pub stepped: NodeId,
    pub nodes: &'a NodeTable<N>,
}

impl<N> Clone for Step<'_, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N> Copy for Step<'_, N> {}

impl<'a, N> Step<'a, N> {
    /// The node that stepped, unless the step crashed it.
    pub fn node(&self) -> Option<&'a N> {
        self.nodes.get(self.stepped.index())?.as_ref()
    }

    /// The nodes that are up, with their ids, in id order.
    pub fn up(&self) -> impl Iterator<Item = (NodeId, &'a N)> + 'a {
        let nodes = self.nodes;
        nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((NodeId(i as u32), n.as_ref()?)))
    }
}

/// How a property is judged (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Always,
    Eventually,
    Sometimes,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Always => "always",
            Kind::Eventually => "eventually",
            Kind::Sometimes => "sometimes",
        }
    }
}

/// A named property of a protocol's runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Property {
    /// What the report, the trace and `[expect]` call it (`election-safety`).
    pub name: &'static str,
    pub kind: Kind,
    /// One line saying what it asserts.
    pub about: &'static str,
}

impl Property {
    /// A safety property: true at every step.
    pub const fn always(name: &'static str, about: &'static str) -> Property {
        Property {
            name,
            kind: Kind::Always,
            about,
        }
    }
    /// A liveness property: true at some step after the faults heal.
    pub const fn eventually(name: &'static str, about: &'static str) -> Property {
        Property {
            name,
            kind: Kind::Eventually,
            about,
        }
    }
    /// A possibility: true at some step of the run.
    pub const fn sometimes(name: &'static str, about: &'static str) -> Property {
        Property {
            name,
            kind: Kind::Sometimes,
            about,
        }
    }
}

/// The always-property a node's undeclared role violates (see
/// `sim::registry::Declared`).
pub const DECLARED_ROLES: Property = Property::always(
    "declared-roles",
    "every node reports a role its protocol declares (Spec::ROLES)",
);

/// A broken invariant: its name (`election-safety`) and what exactly happened.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

/// What one check found: violations of `always` properties, and the truth
/// at this step of `eventually` and `sometimes` properties. The kernel
/// empties it before each check.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    violations: Vec<Violation>,
    truths: Vec<(&'static str, bool)>,
}

impl Findings {
    pub fn new() -> Findings {
        Findings::default()
    }

    /// The `always` property `property` is false at this step.
    #[inline]
    pub fn violated(&mut self, property: &'static str, detail: impl Into<String>) {
        self.violations.push(Violation {
            invariant: property,
            detail: detail.into(),
        });
    }

    /// Records a violation built elsewhere.
    pub fn push(&mut self, v: Violation) {
        self.violations.push(v);
    }

    /// The violations, for a checker that collects them itself.
    #[inline]
    pub fn violations_mut(&mut self) -> &mut Vec<Violation> {
        &mut self.violations
    }

    /// Whether the `eventually` or `sometimes` property `property` is true
    /// now. Report it at every check that can tell (a step that changed
    /// nothing the property reads may say nothing): the kernel keeps the
    /// last truth reported, so report `false` as soon as it stops holding.
    /// A `sometimes` property is seen at a step that reported it true; an
    /// `eventually` one holds at a step in the final quiet period that
    /// reported it true, or at the instant that period begins if the last
    /// truth reported before then was `true`.
    #[inline]
    pub fn holds(&mut self, property: &'static str, now: bool) {
        self.truths.push((property, now));
    }

    #[inline]
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    #[inline]
    pub fn truths(&self) -> &[(&'static str, bool)] {
        &self.truths
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        // Every field, by name: the kernel checks into an empty scratch
        // without marking it changed (`check_properties`), trusting that
        // one found empty here holds nothing a copy or a hash would see.
        let Findings { violations, truths } = self;
        violations.is_empty() && truths.is_empty()
    }

    #[inline]
    pub fn clear(&mut self) {
        self.violations.clear();
        self.truths.clear();
    }
}

/// How a property came out in a run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum PropertyVerdict {
    /// `always`: never false. `eventually`: true at `at`, in the quiet
    /// period after the last fault healed.
    Held { at: Option<Nanos> },
    /// `always`: false at some step. `eventually`: never true in a quiet
    /// period at least the settle time long.
    Violated { detail: String },
    /// `sometimes`: first true at `at`.
    Seen { at: Nanos },
    /// `sometimes`: never true.
    NotSeen,
    /// `eventually`: the run had no quiet period long enough to judge it.
    Undecided { reason: String },
}

impl PropertyVerdict {
    /// One word: `held`, `violated`, `seen`, `not seen`, `undecided`.
    pub fn word(&self) -> &'static str {
        match self {
            PropertyVerdict::Held { .. } => "held",
            PropertyVerdict::Violated { .. } => "violated",
            PropertyVerdict::Seen { .. } => "seen",
            PropertyVerdict::NotSeen => "not seen",
            PropertyVerdict::Undecided { .. } => "undecided",
        }
    }
}

/// The settle time when neither the protocol nor the scenario names one.
pub const DEFAULT_SETTLE: Nanos = secs(2);

pub trait Protocol {
    type Node: Node;

    /// Builds node `id`, a server or a client (see [`Cluster::is_client`]), from
    /// its disk: empty at the first start, and after a crash holding only what
    /// was synced. The node's `on_start` runs right after.
    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> Self::Node;

    /// Nodes this protocol runs beside the scenario's servers and clients,
    /// by name (Maelstrom's services: `lin-kv`, `lin-tso`). They come after
    /// the clients, take no client requests, and are built by
    /// [`Protocol::build`] like any node ([`Cluster::is_service`] tells
    /// them apart). The scenario cannot name them as a fault target
    /// (`random`, `all` and the nemesis pick servers), so a partition
    /// leaves them reachable from every side. None by default.
    fn services(&self) -> Vec<String> {
        Vec::new()
    }

    /// The properties this protocol checks, for the report (every one is
    /// listed with its verdict) and for `[expect]`, which may name them.
    const PROPERTIES: &'static [Property] = &[];

    /// How long the run must stay quiet after the last fault heals before
    /// an `eventually` property that never held there counts as violated
    /// (a scenario may set its own with `[expect] settle_time`).
    fn settle_time(&self) -> Nanos {
        DEFAULT_SETTLE
    }

    /// Checks the properties after a node ran a handler (the kernel calls
    /// this after every step, so keep it incremental: look at what
    /// `step.stepped` changed): push what broke and the truth now of the
    /// `eventually` and `sometimes` properties.
    fn check(&mut self, _step: Step<'_, Self::Node>, _out: &mut Findings) {}

    /// Checks once more when the run is over (time stands where it ended),
    /// before the figures: the place to give a verdict that is due by then
    /// even when no node stepped after it fell due (every client crashed
    /// or paused). What it pushes counts as found at the end of the run.
    fn at_end(&mut self, _now: Nanos, _nodes: &NodeTable<Self::Node>, _out: &mut Findings) {}

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

    /// Follows the run for the protocol's figures after a node ran a handler
    /// (after [`Protocol::check`], every step): load per second, the
    /// counters of a node before it crashes. Apart from the invariants, and
    /// never drawing randomness, so figures cannot change a run.
    fn observe(&mut self, _step: Step<'_, Self::Node>) {}

    /// A crash is about to drop node `id`; `last` is its state as of its
    /// last step. The place to bank what the report needs of a life that
    /// ends (its counters), rather than copying them in `observe` after
    /// every step. Never drawing randomness, so it cannot change a run.
    fn crashed(&mut self, _id: NodeId, _last: &Self::Node) {}

    /// The protocol's figures at the end of the run, typed (see
    /// [`crate::metric`]), in the order the report prints them. Each is
    /// declared, by name and unit, in the protocol's `Spec::METRICS`.
    fn metrics(&self, _nodes: &NodeTable<Self::Node>, _out: &mut Metrics) {}
}
