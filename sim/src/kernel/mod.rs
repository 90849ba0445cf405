//! The kernel: one event queue ordered by (time, sequence), a seeded random
//! stream per concern, and the loop that steps nodes and carries out their
//! effects, the fault schedule, the nemesis and the workload.
//!
//! A run is a pure function of (scenario, seed): nothing here reads the wall
//! clock, iterates a hash map or draws from an unseeded generator.
//!
//! One concern per file: `queue` (the event queue and its slab), `step`
//! (stepping, for this loop and for other drivers, and each node's handlers
//! and effects), `triggers` (`[[faults]]` entries fired by an event),
//! `delivery` (sending, holding, dropping, delivering), `workload` (issuing
//! and completing operations), `faults` (carrying out a fault; crash,
//! restart, pause, resume), `links` (scopes, cuts and clogs, and who owns
//! them), `nemesis` (random faults and their undos) and `output` (finishing a
//! run, [`RunOutput`], the describe helpers and [`Running`]).

use std::collections::BinaryHeap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Exp;

use crate::history::{Op, OpLog};
use crate::network::{Link, Net};
use crate::node::{Clock, Cluster, Disk, Effect, Node, NodeId, TimerId};
use crate::protocol::{OpOf, Protocol, Violation};
use crate::scenario::{Fault, FaultKind, Scenario};
use crate::time::Nanos;
use crate::trace::{Fingerprint, TraceEvent, TraceRecord, TraceSink};
use crate::workload::Workload;

mod deferred;
mod delivery;
mod dirty;
mod explore;
mod faults;
mod fork;
mod links;
mod nemesis;
mod output;
mod props;
mod queue;
mod slab;
mod state_hash;
mod step;
mod timers;
mod triggers;
mod workload;

use dirty::{PerNode, Tracked};
pub use explore::Replayed;
pub use output::{describe_op, outcome_name, show_value, RunOutput, Running, UnfiredTrigger};
pub use props::Judged;
use queue::{Entry, Stale};
use slab::Slab;
pub use state_hash::{StateHash, StateHasher};
use timers::Timers;

/// What the kernel does with the trace records (the fingerprint is always
/// kept, whatever the mode, from the same fields).
pub enum TraceMode {
    /// No records are made.
    Off,
    /// Every record is kept in memory, for [`Sim::trace`] and
    /// [`RunOutput::trace`] (tests, the TUI).
    Record,
    /// Each record goes to the sink as it is made, and is not kept: memory
    /// stays bounded whatever the length of the run (`run --trace FILE`).
    /// The sink's error, if it met one, is [`RunOutput::trace_error`].
    Stream(Box<dyn TraceSink>),
}

impl TraceMode {
    /// Whether records are made at all.
    pub fn is_on(&self) -> bool {
        !matches!(self, TraceMode::Off)
    }

    fn into_sink(self) -> Option<Box<dyn TraceSink>> {
        match self {
            TraceMode::Off => None,
            TraceMode::Record => Some(Box::new(Vec::<TraceRecord>::new())),
            TraceMode::Stream(sink) => Some(sink),
        }
    }
}

impl std::fmt::Debug for TraceMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TraceMode::Off => "Off",
            TraceMode::Record => "Record",
            TraceMode::Stream(_) => "Stream",
        })
    }
}

/// The independent random streams of a run, derived from the seed. Adding draws
/// to one concern never shifts another's.
pub mod streams {
    pub const NETWORK: u64 = 1;
    pub const FAULTS: u64 = 2;
    pub const WORKLOAD: u64 = 3;
    /// Node `i` uses stream `NODE_BASE + i`.
    pub const NODE_BASE: u64 = 1_000;
}

/// A seeded ChaCha stream for one concern.
pub fn stream(seed: u64, concern: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(concern);
    rng
}

/// An event of the run. The kernel keeps them in its own queue; another driver
/// (madsim) takes them with [`Sim::take_scheduled`], carries each out on its own
/// clock and network, and hands it back with [`Sim::step_at`] when it is due.
#[derive(Clone, Debug)]
pub enum Ev<M> {
    Deliver {
        from: u32,
        to: u32,
        id: u64,
        msg: M,
    },
    Timer {
        node: u32,
        timer: TimerId,
        gen: u64,
    },
    Fault(usize),
    NemesisTick,
    /// The undo of the nemesis fault numbered `gen` (see `Sim::nemesis_gen`).
    /// Boxed: a fault is larger than any other event, and every queued
    /// event takes the room of the largest.
    NemesisUndo {
        undo: Box<FaultKind>,
        gen: u64,
    },
    NemesisStop,
    Issue {
        client: u32,
    },
}

/// Per-node state the kernel keeps beside the node itself.
#[derive(Clone)]
struct Slot<M> {
    disk: Disk,
    rng: ChaCha8Rng,
    clock: Clock,
    /// The clock as the scenario's own clock faults alone would have made it
    /// (the nemesis's never touch it): what the nemesis restores when it
    /// undoes a clock fault of its own.
    scenario_clock: Clock,
    /// The nemesis fault (by number) whose skew is still in the clock: its
    /// undo, or the nemesis's stop, sets the clock back to `scenario_clock`.
    /// `None` once a `[[faults]]` entry set both the offset and the drift
    /// (nothing of the nemesis's is left in it).
    clock_by: Option<u64>,
    paused: bool,
    /// The nemesis fault that paused the node, if the pause is the
    /// nemesis's (only then do its undo and its stop resume the node).
    paused_by: Option<u64>,
    /// The nemesis fault that crashed the node, if it is down by the
    /// nemesis's hand (only then do its undo and its stop restart it).
    crashed_by: Option<u64>,
    /// Deliveries and timers that arrived while paused, in order.
    held: Vec<Ev<M>>,
    /// The generation of every timer set and not yet fired or cancelled
    /// (a short sorted list, or a map for a node with many: see
    /// [`Timers`]).
    timers: Timers,
    /// The timers whose queued entry can carry a later setting (live, or
    /// stale since a cancel), each with the setting that waits for it to
    /// pop, if any (see `deferred`); always empty in an explored run.
    deferred: Vec<deferred::Deferral>,
    role: &'static str,
    /// How many times the node was restarted ([`Ctx::incarnation`]).
    incarnation: u64,
    /// The hash of what the node shows (`Debug`), for [`Sim::state_hash`]:
    /// kept until the node next steps, crashes or restarts, the only ways
    /// it changes, so that a state's hash shows again only the nodes the
    /// last step touched.
    shown: std::cell::Cell<Option<u64>>,
}

impl<M: Clone> Slot<M> {
    /// Makes this a copy of `src`, reusing its memory (see
    /// [`Sim::fork_into`]). Every field, by name.
    fn copy_from(&mut self, src: &Self) {
        let Slot {
            disk,
            rng,
            clock,
            scenario_clock,
            clock_by,
            paused,
            paused_by,
            crashed_by,
            held,
            timers,
            deferred,
            role,
            incarnation,
            shown,
        } = src;
        self.disk.clone_from(disk);
        self.rng.clone_from(rng);
        self.clock = *clock;
        self.scenario_clock = *scenario_clock;
        self.clock_by = *clock_by;
        self.paused = *paused;
        self.paused_by = *paused_by;
        self.crashed_by = *crashed_by;
        self.held.clone_from(held);
        if self.timers != *timers {
            self.timers.clone_from(timers);
        }
        self.deferred.clone_from(deferred);
        self.role = role;
        self.incarnation = *incarnation;
        self.shown.set(shown.get());
    }
}

/// Client-side workload state.
#[derive(Clone, Debug)]
struct ClientState {
    open: Option<usize>,
}

/// Facts about one operation beyond its [`Op`]: the run's [`OpLog`] keeps
/// them in the operation's own record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpMeta {
    pub client: NodeId,
    /// A partition was in force when it was invoked.
    pub in_partition: bool,
    /// Its client could not reach a majority of servers when it was invoked.
    pub cut_off: bool,
    /// When the client completed it (for `Info`, when it gave up).
    pub done_ns: Option<Nanos>,
    /// The system answered it (see [`Effect::Complete`]).
    pub served: bool,
}

/// Counts kept during the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub events: u64,
    pub sent: u64,
    pub delivered: u64,
    pub dropped_partition: u64,
    pub dropped_loss: u64,
    pub dropped_crashed: u64,
    pub duplicated: u64,
    pub timers_fired: u64,
    pub faults: u64,
}

impl Counters {
    pub fn dropped(&self) -> u64 {
        self.dropped_partition + self.dropped_loss + self.dropped_crashed
    }
}

/// Directed links and the nemesis fault that owns each.
type LinkOwners = Vec<((u32, u32), u64)>;

/// Messages held by a clogged link: from, to, id, the message.
type Clogged<M> = Vec<(u32, u32, u64, M)>;

/// The simulator for one protocol.
pub struct Sim<'s, P: Protocol> {
    scenario: &'s Scenario,
    protocol: Tracked<P>,
    seed: u64,
    now: Nanos,
    seq: u64,
    queue: BinaryHeap<Entry>,
    slab: Slab<<P::Node as Node>::Msg>,
    cluster: Cluster,
    nodes: PerNode<Option<P::Node>>,
    slots: PerNode<Slot<<P::Node as Node>::Msg>>,
    net: Tracked<Net>,
    base_net: Tracked<Net>,
    clogged: Tracked<Clogged<<P::Node as Node>::Msg>>,
    net_rng: Tracked<ChaCha8Rng>,
    fault_rng: Tracked<ChaCha8Rng>,
    work_rng: Tracked<ChaCha8Rng>,
    workload: Tracked<Box<dyn Workload<Op = OpOf<P>>>>,
    think: Exp<f64>,
    clients: Tracked<Vec<ClientState>>,
    next_msg: u64,
    next_timer_gen: u64,
    effects: Vec<Effect<<P::Node as Node>::Msg>>,
    /// The clients' operations, with the facts in [`OpMeta`], compact.
    history: Tracked<OpLog<OpOf<P>>>,
    /// The last completed operation, decoded for [`Workload::completed`]
    /// into the same buffers each time.
    completed_op: Option<Op<OpOf<P>>>,
    violations: Tracked<Vec<(Nanos, Violation)>>,
    /// The protocol's properties: the quiet period, truths seen, verdicts.
    watch: Tracked<props::Watch>,
    partition_since: Option<Nanos>,
    partition_windows: Tracked<Vec<(Nanos, Nanos)>>,
    counters: Tracked<Counters>,
    fp: Fingerprint,
    /// Where trace records go; `None` while tracing is off (then no record
    /// is made, and no detail is formatted).
    trace: Option<Box<dyn TraceSink>>,
    nemesis_stopped: bool,
    /// While the nemesis cuts again the links its heal must leave cut: these
    /// re-cuts restore a partition already in force, so no trigger sees them.
    recutting: bool,
    nemesis_down: Vec<u32>,
    /// How many faults the nemesis has applied: each is numbered, so that its
    /// undo can tell whether what it would undo is still that fault's.
    nemesis_gen: u64,
    /// While a nemesis fault (not an undo) is being applied: its number.
    /// Every fault applied while this is `None` is the scenario's own, or an
    /// undo, and takes over what it touches.
    nemesis_fault: Option<u64>,
    /// Directed links cut by a nemesis fault, with its number. A cut link not
    /// in here is the scenario's: a nemesis undo (or the stop) heals only its
    /// own links and leaves the scenario's cut.
    cut_by: std::collections::BTreeMap<(u32, u32), u64>,
    /// Directed links clogged by a nemesis fault, with its number.
    clogged_by: std::collections::BTreeMap<(u32, u32), u64>,
    /// Directed links whose loss a nemesis fault set: its number, and the
    /// loss the link had before the nemesis first changed it.
    loss_by: std::collections::BTreeMap<(u32, u32), (u64, f64)>,
    started: bool,
    nemesis_log: Tracked<Vec<Fault>>,
    /// Queue entries popped (stale timers included, skipped ones too: see
    /// [`Stale`]), against `max_events`.
    processed: u64,
    /// Stale timer entries, and those kept out of the queue.
    stale: Stale,
    stopped_early: Option<Nanos>,
    /// Per `[[faults]]` entry with a trigger (by index): events matched so
    /// far, and whether it fired.
    triggers: Vec<(usize, u64, bool)>,
    /// Triggers not fired yet: while 0 the kernel matches nothing.
    unfired: usize,
    /// Triggered faults with no delay, applied when the current step ends
    /// (never in the middle of a node's handler).
    due_now: Vec<usize>,
    /// Per fault index: the nodes of the event that fired its trigger
    /// (node, receiver), for the targets `trigger-node` and `trigger-to`.
    fired_by: Vec<(Option<u32>, Option<u32>)>,
    /// The nodes of the trigger of the fault being applied now.
    firing: (Option<u32>, Option<u32>),
    /// With `[explore]`: what the kernel keeps while its choices are made
    /// from outside (see `explore`).
    x: Tracked<Option<Box<explore::Xmode>>>,
}

type Msg<P> = <<P as Protocol>::Node as Node>::Msg;

impl<'s, P: Protocol> Sim<'s, P> {
    pub fn new(scenario: &'s Scenario, protocol: P, seed: u64, mode: TraceMode) -> Self {
        let servers = scenario.servers();
        let clients = scenario.clients();
        let cluster = Cluster::with_services(servers, clients, &protocol.services());
        let n = cluster.len();

        // Each node's region, for the region latency matrix.
        let mut region_of: Vec<Option<&str>> = vec![None; n];
        for (region, members) in &scenario.topology.regions {
            for m in members {
                if let Some(id) = cluster.by_name(m.get_ref()) {
                    region_of[id.index()] = Some(region.as_str());
                }
            }
        }
        let netcfg = &scenario.network;
        let base = |from: usize, to: usize| {
            let mut latency = netcfg.latency.clone();
            if let (Some(a), Some(b)) = (region_of[from], region_of[to]) {
                for rl in &netcfg.region_latency {
                    let (x, y) = (rl.from.get_ref().as_str(), rl.to.get_ref().as_str());
                    if (x == a && y == b) || (x == b && y == a) {
                        latency = rl.latency.clone();
                    }
                }
            }
            Link {
                latency,
                loss: *netcfg.loss.get_ref(),
                duplicate: *netcfg.duplicate.get_ref(),
                clogged: false,
                last_delivery: 0,
            }
        };
        // One version for both (see `dirty`): a network still the
        // scenario's is known to be without comparing its links.
        let net = Tracked::new(Net::new(n, base, netcfg.fifo));

        let mut nodes = Vec::with_capacity(n);
        let mut slots = Vec::with_capacity(n);
        for i in 0..n {
            let disk = Disk::default();
            let node = protocol.build(NodeId(i as u32), &cluster, &disk);
            slots.push(Slot {
                disk,
                rng: stream(seed, streams::NODE_BASE + i as u64),
                clock: Clock::default(),
                scenario_clock: Clock::default(),
                clock_by: None,
                paused: false,
                paused_by: None,
                crashed_by: None,
                held: Vec::new(),
                timers: Timers::new(),
                deferred: Vec::new(),
                role: node.role(),
                incarnation: 0,
                shown: std::cell::Cell::new(None),
            });
            nodes.push(Some(node));
        }
        let w = &scenario.workload;
        let workload = protocol.workload(scenario);
        let watch = props::Watch::new(
            P::PROPERTIES.to_vec(),
            scenario
                .expect
                .settle_time
                .unwrap_or_else(|| protocol.settle_time()),
        );
        Sim {
            scenario,
            protocol: Tracked::new(protocol),
            seed,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            slab: Slab::new(),
            clients: Tracked::new((0..clients).map(|_| ClientState { open: None }).collect()),
            cluster,
            nodes: PerNode::new(nodes),
            slots: PerNode::new(slots),
            base_net: net.clone(),
            net,
            clogged: Tracked::default(),
            net_rng: Tracked::new(stream(seed, streams::NETWORK)),
            fault_rng: Tracked::new(stream(seed, streams::FAULTS)),
            work_rng: Tracked::new(stream(seed, streams::WORKLOAD)),
            workload: Tracked::new(workload),
            think: Exp::new(*w.rate.get_ref()).expect("rate checked positive"),
            next_msg: 0,
            next_timer_gen: 0,
            effects: Vec::new(),
            history: Tracked::new(OpLog::new()),
            completed_op: None,
            violations: Tracked::default(),
            watch: Tracked::new(watch),
            partition_since: None,
            partition_windows: Tracked::default(),
            counters: Tracked::default(),
            fp: Fingerprint::default(),
            trace: mode.into_sink(),
            nemesis_stopped: false,
            recutting: false,
            nemesis_down: Vec::new(),
            nemesis_gen: 0,
            nemesis_fault: None,
            cut_by: std::collections::BTreeMap::new(),
            clogged_by: std::collections::BTreeMap::new(),
            loss_by: std::collections::BTreeMap::new(),
            started: false,
            nemesis_log: Tracked::default(),
            processed: 0,
            stale: Stale::default(),
            stopped_early: None,
            triggers: scenario
                .faults
                .iter()
                .enumerate()
                .filter(|(_, f)| f.when.is_some())
                .map(|(i, _)| (i, 0, false))
                .collect(),
            unfired: scenario.faults.iter().filter(|f| f.when.is_some()).count(),
            due_now: Vec::new(),
            fired_by: vec![(None, None); scenario.faults.len()],
            firing: (None, None),
            x: Tracked::new(explore::Xmode::new(scenario, clients)),
        }
    }

    fn record(&mut self, event: impl FnOnce(&Cluster) -> TraceEvent) {
        if let Some(trace) = self.trace.as_mut() {
            trace.record(TraceRecord {
                t: self.now,
                event: event(&self.cluster),
            });
        }
    }

    /// Runs to the scenario's duration and returns what happened.
    pub fn run(mut self) -> RunOutput {
        while self.advance() {}
        self.finish()
    }
}
