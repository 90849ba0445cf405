//! # Maelstrom's workloads, graded under chaoslab's faults
//!
//! Jepsen's Maelstrom (and the Gossip Glomers challenges built on it) has
//! learners write a node that speaks a small JSON protocol: envelopes
//! `{"src", "dest", "body"}`, bodies with a `type`, a `msg_id` and, in a
//! reply, `in_reply_to`; an `init` message naming the node and its peers;
//! numbered error codes. Maelstrom's clients run a *workload* against the
//! nodes (echo, unique ids, broadcast, counters, sets ...) and its checker
//! says whether the history meets the workload's criteria.
//!
//! This module is that, inside chaoslab: the wire format ([`wire`], byte
//! for byte Maelstrom's), the workloads' clients ([`Client`], recording
//! every request into the history), the harness messages (`init`, and
//! broadcast's `topology`: [`Server`]), the checkers ([`check`]) whose
//! figures feed the run report and `[expect]`, and reference nodes
//! ([`reference`]) with bug flags. The network, the faults, the seed, the
//! trace and the TUI are chaoslab's, so a run replays from its seed and a
//! partition is a scenario line.
//!
//! What it guarantees: a workload's verdict depends only on the envelopes
//! the nodes exchange, never on the node's type. A node is any
//! [`MaelNode`]: it receives envelopes and timers and answers through
//! [`Out`]; [`Server`] hosts it on the kernel. Protocol `maelstrom` hosts
//! the reference nodes (`node = "reference"`); a *lab* hosts a node type
//! from another crate: [`Lab<N>`](Lab) is a protocol of its own over any
//! [`LabNode`] (the factory hook is [`Maelstrom::with_nodes`]), and
//! [`grade`] grades it part by part on the parts of [`labs`], the same
//! way the workspace grades chaoslab's own solutions. Maelstrom's services
//! ([`services`]: `lin-kv`, `seq-kv`, `lww-kv`, `lin-tso`) are nodes of
//! the run after the clients, started when `[system] services` lists them
//! (or the reference node calls them); any node may call them.
//!
//! The kafka workload's checker is the log checker ([`sim::check::log`])
//! with Maelstrom's pass criteria (see `check/kafka.rs`); the txn-list-append
//! and txn-rw-register workloads' is the Elle checker
//! ([`sim::check::txn`]), failing a run only on the anomalies the
//! scenario's `consistency` model forbids (see `check/txn.rs`). Their
//! reference nodes (`reference/kafka.rs`, `reference/txn.rs`) keep all
//! state on `n1` and forward to it, so they need no service; the bug
//! flags `local-offsets` and `local-apply` make every node answer alone.
//!
//! How the rest of issue 18 plugs in. The *process driver* (nodes in any
//! language, `chaoslab run SCENARIO --bin PROGRAM`, in the `tui` crate's
//! `process` module, since it spawns processes and reads the wall clock)
//! builds the protocol with [`Maelstrom::with_builder`], whose servers
//! each host a node that writes every envelope it is handed as a line
//! ([`Envelope::to_line`]) to its process's stdin; the clients, harness
//! and checkers do not change. What a process prints comes unprompted (a
//! node's own gossip loop sends without a message or a timer of ours): the
//! driver reads each line ([`Envelope::from_line`]) and hands it to the
//! host with [`Server::emit`], inside a step the kernel runs for it
//! (`Sim::step_node_at`), at the virtual time the line arrived. A process
//! cannot honour [`MaelNode::clone_node`]; only `chaoslab run` drives
//! processes, and `chaoslab explore` (which forks runs) never does. A
//! *learner's Rust crate* implements [`MaelNode`] and [`LabNode`] and
//! registers `Lab<ItsNode>` (what `chaoslab lab new` writes). Names are as
//! Maelstrom's protocol document gives them:
//! servers `n1..`, clients `c1..`; the harness is `c0`, and a node must
//! treat every name as opaque. (Maelstrom's own runner numbers servers
//! from `n0`; chaoslab's clusters count from `n1`.)
//!
//! The verdict is the property [`MAELSTROM_VALID`]: an invalid history
//! fails the run. A client that crashes with a request open leaves it
//! indefinite in the checked history (the node may still carry it out);
//! each life of a client or server numbers its messages from its own
//! block, so no late reply matches a later life's request; the final reads
//! begin after the workload stops *and* the faults are over, and are
//! retried until answered.
//!
//! Source: Maelstrom's doc/protocol.md and doc/workloads.md (Kingsbury,
//! jepsen-io/maelstrom), and fly.io's Gossip Glomers challenge texts.

pub mod check;
mod client;
pub mod grade;
mod lab;
pub mod labs;
mod node;
mod ops;
mod params;
pub mod reference;
mod server;
pub mod services;
#[cfg(test)]
mod services_tests;
#[cfg(test)]
mod tests;
pub mod wire;

pub use client::{Call, Client, Reply};
pub use lab::{configure, Lab, LabNode};
pub use node::{Init, MaelNode, Out, TimerOp};
pub use ops::{MaelOp, MaelWorkload, MopF, MopValue, TxnMop, WorkloadKind};
pub use params::{Config, FaultsEnd, Params, TOPOLOGIES};
/// The JSON crate bodies are made of, for a lab's node whose messages
/// carry maps and lists (`chaoslab::nodes::maelstrom::serde_json::json!`).
pub use serde_json;
pub use server::{Harness, Server, HARNESS};
pub use services::{Service, ServiceKind};
pub use wire::{Body, Envelope, ErrorCode};

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::check::{Budget, Judge, LinearizabilityReport, UnknownCause, Verdict};
use sim::check::{ModelKind, WeakReport};
use sim::history::{History, Op};
use sim::metric::{Figure, Metrics};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{Findings, NodeTable, Property, Protocol, Step};
use sim::scenario::Scenario;
use sim::time::Nanos;
use sim::workload::Workload;

pub const ROLES: &[&str] = &["server", "client", "service"];

/// The services' names and role, which no fault may name (`Spec::SERVICES`).
pub const SERVICES: (&[&str], Option<&str>) =
    (&["lin-kv", "seq-kv", "lww-kv", "lin-tso"], Some("service"));

/// The property a Maelstrom run is judged by: its workload checker's
/// verdict. A run whose history fails the workload's criteria fails, as
/// `maelstrom test` exits non-zero on `:valid? false`.
pub const MAELSTROM_VALID: Property = Property::always(
    "maelstrom-valid",
    "the history meets the workload's criteria, as Maelstrom's checker judges them (see the figure: verdict)",
);

sim::node_enum! {
    /// A Maelstrom server (a hosted node) or a workload client.
    pub enum MaelstromNode: Envelope, op = MaelOp {
        Server(Server) { role: |_| "server", start, get as_server },
        Client(Client) { role: |_| "client", start, requests, get as_client },
        Service(Service) { role: |_| "service", get as_service },
    }
}

/// The figures of the report, in the order it prints them; each workload
/// prints its own checker's.
pub const METRICS: &[Figure] = &[
    Figure::text("maelstrom"),
    Figure::text("verdict"),
    Figure::count("criteria failed"),
    Figure::count("nodes without init_ok"),
    Figure::count("server messages"),
    Figure::number("messages per op"),
    Figure::count("requests"),
    Figure::count("echo mismatches"),
    Figure::count("ids generated"),
    Figure::count("duplicate ids"),
    Figure::count("acknowledged"),
    Figure::count("lost"),
    Figure::count("unexpected"),
    Figure::count("stale"),
    Figure::count("never read"),
    Figure::duration("stable latency p50"),
    Figure::duration("stable latency max"),
    Figure::duration("jepsen stable latency p50"),
    Figure::duration("jepsen stable latency max"),
    Figure::text("allowed final value"),
    Figure::count("final reads out of bounds"),
    Figure::count("nodes without final read"),
    Figure::count("unanswered"),
    Figure::count("malformed replies"),
    Figure::count("unroutable"),
    // kafka (the log checker's anomalies; `lost` is above).
    Figure::count("polls"),
    Figure::count("unseen"),
    Figure::count("duplicate"),
    Figure::count("inconsistent-offset"),
    Figure::count("poll-skip"),
    Figure::count("nonmonotonic-poll"),
    Figure::count("nonmonotonic-send"),
    Figure::count("internal"),
    Figure::count("aborted-read"),
    Figure::count("reorder"),
    Figure::count("duplicate-delivery"),
    // txn-list-append and txn-rw-register (Elle's anomalies; `internal`
    // is above).
    Figure::text("consistency model"),
    Figure::count("committed"),
    Figure::count("forbidden anomalies"),
    Figure::count("allowed anomalies"),
    Figure::count("G0"),
    Figure::count("G1a"),
    Figure::count("G1b"),
    Figure::count("G1c"),
    Figure::count("G-single"),
    Figure::count("G2"),
    Figure::count("G0-process"),
    Figure::count("G1c-process"),
    Figure::count("G-single-process"),
    Figure::count("G2-process"),
    Figure::count("G0-realtime"),
    Figure::count("G1c-realtime"),
    Figure::count("G-single-realtime"),
    Figure::count("G2-realtime"),
    Figure::count("duplicate-elements"),
    Figure::count("incompatible-order"),
    Figure::count("definite errors"),
    Figure::count("operation types never ok"),
    Figure::text("linearizability"),
    Figure::count("service requests"),
    Figure::number("sends not acknowledged"),
    Figure::number("transactions not committed"),
];

/// The protocol: the hosted nodes, the clients, and the calls and
/// messages it collects as the run goes (so a crash cannot take them).
#[derive(Clone, Debug)]
pub struct Maelstrom {
    pub config: Arc<Config>,
    /// Builds each server's node: the reference nodes', a lab's, or a
    /// driver's (a process per node).
    factory: Builder,
    harness: Arc<Harness>,
    calls: Vec<Call>,
    /// Per client: the life its records come from, and how many were read.
    cursor: BTreeMap<NodeId, (u64, usize)>,
    /// Per server: the life counted, its count so far, and the counts of
    /// its earlier lives (server messages, unroutable envelopes).
    sent: BTreeMap<NodeId, (u64, u64, u64, u64, u64)>,
    /// The verdict was given (it is given once, see `check`).
    judged: bool,
    /// Calls banked since the last look at the criteria that cannot
    /// un-fail (echo, unique ids).
    unchecked: usize,
    /// Unique ids: every id handed out so far, to spot a second one as it
    /// comes.
    ids: std::collections::BTreeSet<String>,
    /// The checker's answer when the verdict was given at `verdict_at`
    /// (or at the end of the run): the report gives the same one.
    verdict: Option<check::Checked>,
}

/// Builds the node a server hosts, from the run's checked settings: how
/// [`Maelstrom::with_nodes`] is told which node type serves. A plain `fn`
/// (not a closure) so the protocol stays `Clone + Debug` for the explorer.
pub type Factory = fn(&Config) -> Box<dyn MaelNode>;

/// What builds each server's node: a [`Factory`], or a closure a driver
/// gives ([`Maelstrom::with_builder`]); shared, so the protocol stays
/// `Clone + Debug`.
#[derive(Clone)]
struct Builder(Arc<Build>);

/// A closure that builds a server's node.
type Build = dyn Fn(&Config) -> Box<dyn MaelNode> + Send + Sync;

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Builder")
    }
}

/// The reference nodes' factory.
fn reference_factory(c: &Config) -> Box<dyn MaelNode> {
    reference::build(c.kind, c.variant.as_deref(), c.bug.as_deref(), c.gossip)
}

impl Maelstrom {
    /// The workload of `config` on the reference nodes.
    pub fn new(config: Config) -> Maelstrom {
        Maelstrom::with_nodes(config, reference_factory)
    }

    /// The workload, harness and checkers of `config`, with every server
    /// running the node `factory` builds (a restarted server gets a fresh
    /// one: it remembers nothing, as a restarted Maelstrom process).
    pub fn with_nodes(config: Config, factory: Factory) -> Maelstrom {
        Maelstrom::with_builder(config, factory)
    }

    /// [`Maelstrom::with_nodes`] with a closure: a driver whose nodes need
    /// its own state (the process driver hands each node the pipes of the
    /// process it starts) builds them with one.
    pub fn with_builder(
        config: Config,
        build: impl Fn(&Config) -> Box<dyn MaelNode> + Send + Sync + 'static,
    ) -> Maelstrom {
        let factory = Builder(Arc::new(build));
        let topology = (config.kind == WorkloadKind::Broadcast).then(|| config.neighbours());
        let harness = Harness {
            node_ids: config.nodes.clone(),
            topology,
        };
        Maelstrom {
            config: Arc::new(config),
            factory,
            harness: Arc::new(harness),
            calls: Vec::new(),
            cursor: BTreeMap::new(),
            sent: BTreeMap::new(),
            judged: false,
            unchecked: 0,
            ids: std::collections::BTreeSet::new(),
            verdict: None,
        }
    }

    /// Adds the calls client `id` ended since the last look.
    fn bank(&mut self, id: NodeId, c: &Client) {
        let cursor = self.cursor.entry(id).or_insert((c.life, 0));
        if cursor.0 != c.life {
            *cursor = (c.life, 0);
        }
        self.calls.extend(c.records[cursor.1..].iter().cloned());
        cursor.1 = c.records.len();
    }

    /// What fails the criteria that new calls alone can break, and once
    /// broken stay broken: an echo mismatch, a second copy of an id, a
    /// malformed reply. Looks only at the calls since the last look.
    fn failed_so_far(&mut self) -> Option<String> {
        let new = &self.calls[self.unchecked..];
        self.unchecked = self.calls.len();
        if let Some(bad) = check::malformed(new).into_iter().next() {
            return Some(format!("malformed reply: {bad}"));
        }
        match self.config.kind {
            WorkloadKind::Echo => check::check_echo(new)
                .mismatched
                .first()
                .map(|(sent, got)| format!("echo mismatch: sent {sent}, got {got}")),
            WorkloadKind::UniqueIds => {
                for c in new {
                    if let (Reply::Id(id), sim::history::Outcome::Ok) = (&c.reply, c.outcome) {
                        if !self.ids.insert(id.clone()) {
                            return Some(format!("duplicate ids: {id} handed out twice"));
                        }
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// Whether the verdict of a workload with final reads is due: every
    /// client that is up made its final reads, or the run is about to end
    /// (a client still retrying a node that never answers: the verdict
    /// then counts that node "without final read").
    fn finals_due(&self, step: &Step<'_, MaelstromNode>) -> bool {
        let Some(at) = self.config.final_reads_at else {
            return false;
        };
        if step.now < at {
            return false;
        }
        let done = step
            .up()
            .filter_map(|(_, n)| n.as_client())
            .all(Client::finals_done);
        done || step.now + self.config.timeout >= self.config.end
    }

    /// Gives the lin-kv verdict (it is due: every request has ended, or
    /// its client is paused): checks the calls banked so far plus every
    /// client's open call, indefinite (a paused client's request may have
    /// taken effect), keeps the answer for the report, and says what
    /// failed, if anything.
    fn give_verdict(&mut self, nodes: &NodeTable<MaelstromNode>) -> Option<String> {
        self.judged = true;
        let mut calls = self.calls.clone();
        calls.extend(
            nodes
                .iter()
                .filter_map(|n| n.as_ref()?.as_client()?.open_call()),
        );
        let c = &self.config;
        let checked = check::Checked::run_in(c.kind, &calls, &c.nodes, c.consistency);
        let failed = checked.failures();
        let why = match &checked {
            check::Checked::LinKv(check::LinKvReport {
                verdict: check::LinKvVerdict::NotLinearizable { key, .. },
                ..
            }) => format!(
                "invalid: {} (key {key}; the report's linearizability section shows the counterexample)",
                failed.join(", ")
            ),
            _ => format!("invalid: {}", failed.join(", ")),
        };
        self.verdict = Some(checked);
        (!failed.is_empty()).then_some(why)
    }

    /// Every call the clients made so far, in the order they ended.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    fn server_totals(&self) -> (u64, u64) {
        self.sent
            .values()
            .fold((0, 0), |(m, u), (_, now_m, now_u, old_m, old_u)| {
                (m + now_m + old_m, u + now_u + old_u)
            })
    }
}

impl Protocol for Maelstrom {
    type Node = MaelstromNode;

    fn build(&self, id: NodeId, cluster: &Cluster, _disk: &Disk) -> MaelstromNode {
        let c = &self.config;
        if cluster.is_service(id) {
            let kind = ServiceKind::from_name(cluster.name(id))
                .expect("the services are the protocol's own names");
            MaelstromNode::Service(Service::new(kind))
        } else if cluster.is_client(id) {
            MaelstromNode::Client(
                Client::new(c.kind, c.timeout, c.final_reads_at, c.nodes.clone())
                    .with_verdict_at(c.verdict_at),
            )
        } else {
            let node = (self.factory.0)(c);
            MaelstromNode::Server(Server::new(node, self.harness.clone()))
        }
    }

    fn workload(&self, _scenario: &Scenario) -> Box<dyn Workload<Op = MaelOp>> {
        let c = &self.config;
        Box::new(MaelWorkload::new(c.kind, c.nodes.clone(), c.read_share))
    }

    fn model(&self) -> Box<dyn Judge<MaelOp>> {
        match self.config.kind {
            WorkloadKind::LinKv => Box::new(LinKvJudge),
            kind => Box::new(OwnChecker(kind)),
        }
    }

    /// Maelstrom's services the run starts, as nodes after the clients.
    fn services(&self) -> Vec<String> {
        self.config
            .services
            .iter()
            .map(|s| s.name().to_string())
            .collect()
    }

    const PROPERTIES: &'static [Property] = &[MAELSTROM_VALID];

    /// Banks the calls the stepped client ended, and gives the verdict
    /// once it is due: at the first broken criterion for echo and unique
    /// ids (they cannot un-fail), once the final reads are done for the
    /// others (before then a lagging node is no failure).
    fn check(&mut self, step: Step<'_, MaelstromNode>, out: &mut Findings) {
        if let Some(MaelstromNode::Client(c)) = step.node() {
            self.bank(step.stepped, c);
        }
        if self.judged {
            return;
        }
        let failed = if self.config.verdict_at.is_some_and(|at| step.now >= at) {
            self.give_verdict(step.nodes)
        } else if self.config.final_reads_at.is_none() {
            self.failed_so_far()
        } else if self.finals_due(&step) {
            self.judged = true;
            let c = &self.config;
            let failed =
                check::Checked::run_in(c.kind, &self.calls, &c.nodes, c.consistency).failures();
            (!failed.is_empty()).then(|| format!("invalid: {}", failed.join(", ")))
        } else {
            None
        };
        if let Some(why) = failed {
            self.judged = true;
            out.violated(
                MAELSTROM_VALID.name,
                format!("the {} checker says {why}", self.config.kind.name()),
            );
        }
    }

    /// The lin-kv verdict, when no node stepped after it fell due (every
    /// client crashed or paused by then): given at the end of the run, so
    /// the property and the report's verdict always agree.
    fn at_end(&mut self, now: Nanos, nodes: &NodeTable<MaelstromNode>, out: &mut Findings) {
        if self.judged || self.config.verdict_at.is_none_or(|at| now < at) {
            return;
        }
        if let Some(why) = self.give_verdict(nodes) {
            out.violated(
                MAELSTROM_VALID.name,
                format!("the {} checker says {why}", self.config.kind.name()),
            );
        }
    }

    /// A client that crashes with a request open leaves it indefinite: the
    /// node may have carried it out (an element added, a counter bumped),
    /// so the checkers must count it as they count a timeout.
    fn crashed(&mut self, id: NodeId, last: &MaelstromNode) {
        if let MaelstromNode::Client(c) = last {
            self.bank(id, c);
            self.calls.extend(c.open_call());
        }
    }

    fn observe(&mut self, step: Step<'_, MaelstromNode>) {
        match step.node() {
            Some(MaelstromNode::Client(_) | MaelstromNode::Service(_)) => {}
            Some(MaelstromNode::Server(s)) => {
                let e = self
                    .sent
                    .entry(step.stepped)
                    .or_insert((s.life, 0, 0, 0, 0));
                if e.0 != s.life {
                    // A new life: bank the old one's counts.
                    *e = (s.life, 0, 0, e.3 + e.1, e.4 + e.2);
                }
                e.1 = s.server_msgs;
                e.2 = s.unroutable;
            }
            None => {}
        }
    }

    fn metrics(&self, nodes: &NodeTable<MaelstromNode>, out: &mut Metrics) {
        let c = &self.config;
        out.text("maelstrom", c.describe());
        // The verdict once given stands (the property says it): calls that
        // end later (a paused client's, resumed) cannot undo a failure, and
        // were counted indefinite in it.
        let checked = match &self.verdict {
            Some(checked) => checked.clone(),
            None => check::Checked::run_in(c.kind, &self.calls, &c.nodes, c.consistency),
        };
        let failed = checked.failures();
        let verdict = if !failed.is_empty() {
            format!("invalid: {}", failed.join(", "))
        } else if checked.undecided().is_some() {
            // The search ran out of budget: nothing is claimed, and the
            // run does not fail for it.
            "undecided".to_string()
        } else {
            "valid".to_string()
        };
        out.text("verdict", verdict)
            .note(format!("by Maelstrom's {} criteria", c.kind.name()));
        out.count("criteria failed", failed.len() as u64);
        let waiting = nodes
            .iter()
            .filter_map(|n| n.as_ref()?.as_server())
            .filter(|s| !s.init_ok)
            .count();
        out.count("nodes without init_ok", waiting as u64)
            .note("servers up at the end that never answered init");
        let (msgs, unroutable) = self.server_totals();
        out.count("server messages", msgs)
            .note("envelopes sent from one server to another");
        let ops = self.calls.len() as u64;
        if ops > 0 {
            out.number("messages per op", msgs as f64 / ops as f64)
                .decimals(2)
                .note(format!(
                    "server messages per client operation ({ops} operations)"
                ));
        } else {
            out.none("messages per op", "no client operation ended");
        }
        checked.metrics(out);
        out.count("unroutable", unroutable)
            .note("envelopes addressed to a name no node has");
        if !c.services.is_empty() {
            let served: u64 = nodes
                .iter()
                .filter_map(|n| n.as_ref()?.as_service())
                .map(|s| s.served)
                .sum();
            let names: Vec<&str> = c.services.iter().map(|s| s.name()).collect();
            out.count("service requests", served).note(format!(
                "requests the services answered ({})",
                names.join(", ")
            ));
        }
    }
}

/// The judge of a lin-kv run's history: each operation, on its own key,
/// as the key-value model's read, write or cas, checked for
/// linearizability (with the counterexample when it is not) and for the
/// weaker guarantees (stale reads, lost writes), as a key-value store's.
struct LinKvJudge;

impl LinKvJudge {
    /// The run's history as a key-value one, operation for operation (the
    /// counterexample's numbers are the run's).
    fn kv(history: &History<MaelOp>) -> History {
        let ops = history
            .ops
            .iter()
            .map(|op| {
                // Only lin-kv's operations are in a lin-kv run.
                let (key, f) =
                    op.f.kv_fn()
                        .unwrap_or_else(|| unreachable!("a lin-kv run's history holds {:?}", op.f));
                Op {
                    process: op.process,
                    key: key.to_string(),
                    f,
                    output: op.output.clone(),
                    outcome: op.outcome,
                    call_ns: op.call_ns,
                    return_ns: op.return_ns,
                    found_other: op.found_other,
                }
            })
            .collect();
        History { ops }
    }
}

impl Judge<MaelOp> for LinKvJudge {
    fn linearizability(
        &self,
        history: &History<MaelOp>,
        budget: Budget<'_>,
    ) -> LinearizabilityReport {
        sim::check::check_linearizable(&Self::kv(history), ModelKind::Kv, budget)
    }

    fn weak(&self, history: &History<MaelOp>) -> Option<WeakReport> {
        Some(sim::check::check_weak(&Self::kv(history)))
    }
}

/// The judge of a Maelstrom run's history: these workloads are not meant
/// to be linearizable (a broadcast read may lag), so the linearizability
/// search is not run; the workload's own checker gives the verdict, in
/// the figures.
struct OwnChecker(WorkloadKind);

impl Judge<MaelOp> for OwnChecker {
    fn linearizability(&self, history: &History<MaelOp>, _: Budget<'_>) -> LinearizabilityReport {
        LinearizabilityReport {
            model: "maelstrom",
            verdict: Verdict::Unknown {
                reason: format!(
                    "not checked: the {} workload is judged by its own checker (see the figures: verdict)",
                    self.0.name()
                ),
                cause: UnknownCause::Unsupported,
            },
            keys_total: 0,
            keys_checked: 0,
            ops_total: history.ops.len(),
            ops_searched: 0,
            ops_pruned: 0,
            steps: 0,
            memo_bytes_peak: 0,
        }
    }
}
