//! The kernel: one event queue ordered by (time, sequence), a seeded random
//! stream per concern, and the loop that steps nodes and carries out their
//! effects, the fault schedule, the nemesis and the workload.
//!
//! A run is a pure function of (scenario, seed): nothing here reads the wall
//! clock, iterates a hash map or draws from an unseeded generator.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Zipf};

use crate::history::{History, Op, OpFn, Outcome, Value};
use crate::network::{DropReason, LatencyDist, Link, Net};
use crate::node::{
    Clock, Cluster, Ctx, Disk, Effect, Message, Node, NodeId, OpId, Request, Status, TimerId,
};
use crate::protocol::{Protocol, Violation};
use crate::scenario::{
    Fault, FaultKind, KeyDist, NodeMatch, Scenario, Scope, Target, TriggerEvent,
};
use crate::time::{fmt_duration, Nanos};
use crate::trace::{Fingerprint, TraceEvent, TraceRecord};

/// Whether the kernel keeps the trace records (the fingerprint is always kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    Off,
    Record,
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
    NemesisUndo {
        undo: FaultKind,
        gen: u64,
    },
    NemesisStop,
    Issue {
        client: u32,
    },
}

/// A queue key: the heap holds only these small keys, ordered by (time, seq);
/// the events themselves wait in a slab so that sifting never moves a message.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    time: Nanos,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    // BinaryHeap is a max-heap: the earliest (time, seq) must compare greatest.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

/// Events waiting in the queue, by slot; freed slots are reused.
struct Slab<M> {
    items: Vec<Option<Ev<M>>>,
    free: Vec<u32>,
}

impl<M> Slab<M> {
    fn insert(&mut self, ev: Ev<M>) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = Some(ev);
                i
            }
            None => {
                self.items.push(Some(ev));
                (self.items.len() - 1) as u32
            }
        }
    }

    fn take(&mut self, i: u32) -> Ev<M> {
        self.free.push(i);
        self.items[i as usize]
            .take()
            .expect("a queued slot holds its event")
    }
}

/// Per-node state the kernel keeps beside the node itself.
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
    /// (timer, generation) for every timer set and not yet fired or cancelled.
    timers: Vec<(TimerId, u64)>,
    role: &'static str,
    /// How many times the node was restarted ([`Ctx::incarnation`]).
    incarnation: u64,
}

/// Client-side workload state.
struct ClientState {
    open: Option<usize>,
    /// The last value this client saw or wrote per key, for plausible cas.
    last_seen: std::collections::BTreeMap<u32, i64>,
}

/// Facts about one operation the history does not hold.
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

/// Everything a finished run produced.
pub struct RunOutput {
    pub seed: u64,
    pub end_ns: Nanos,
    pub fingerprint: String,
    pub counters: Counters,
    pub history: History,
    pub op_meta: Vec<OpMeta>,
    pub violations: Vec<(Nanos, Violation)>,
    /// When partitions were in force: [start, end) windows.
    pub partition_windows: Vec<(Nanos, Nanos)>,
    pub trace: Option<Vec<TraceRecord>>,
    /// Each node's status at the end (`None` if crashed).
    pub statuses: Vec<Option<Status>>,
    pub cluster: Cluster,
    /// Set when `[meta] max_events` stopped the run before its duration: the
    /// virtual time it had reached.
    pub stopped_early: Option<Nanos>,
    /// Every fault the nemesis applied, as concrete schedule entries (for
    /// shrinking a failing run into a fixed schedule a person can read).
    pub nemesis_log: Vec<Fault>,
    /// The protocol's own figures.
    pub summary: Vec<(String, String)>,
    pub invariants: &'static [&'static str],
    /// Set when the protocol's history is not a key-value history (see
    /// [`Protocol::history_not_checkable`]).
    pub history_not_checkable: Option<&'static str>,
    /// Each client's mean round trip to its nearest server, from the network
    /// settings at the start (PACELC's "one client round trip").
    pub client_rtt_ns: Vec<Nanos>,
    /// `[[faults]]` entries whose trigger never fired in this run.
    pub unfired_triggers: Vec<UnfiredTrigger>,
}

/// Directed links and the nemesis fault that owns each.
type LinkOwners = Vec<((u32, u32), u64)>;

/// The simulator for one protocol.
pub struct Sim<'s, P: Protocol> {
    scenario: &'s Scenario,
    protocol: P,
    seed: u64,
    now: Nanos,
    seq: u64,
    queue: BinaryHeap<Entry>,
    slab: Slab<<P::Node as Node>::Msg>,
    cluster: Cluster,
    nodes: Vec<Option<P::Node>>,
    slots: Vec<Slot<<P::Node as Node>::Msg>>,
    net: Net,
    base_net: Net,
    clogged: Vec<(u32, u32, u64, <P::Node as Node>::Msg)>,
    net_rng: ChaCha8Rng,
    fault_rng: ChaCha8Rng,
    work_rng: ChaCha8Rng,
    zipf: Option<Zipf<f64>>,
    think: Exp<f64>,
    clients: Vec<ClientState>,
    next_value: i64,
    next_msg: u64,
    next_timer_gen: u64,
    effects: Vec<Effect<<P::Node as Node>::Msg>>,
    history: History,
    op_meta: Vec<OpMeta>,
    violations: Vec<(Nanos, Violation)>,
    scratch_violations: Vec<Violation>,
    partition_since: Option<Nanos>,
    partition_windows: Vec<(Nanos, Nanos)>,
    counters: Counters,
    fp: Fingerprint,
    trace: Option<Vec<TraceRecord>>,
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
    nemesis_log: Vec<Fault>,
    /// Queue entries popped (stale timers included), against `max_events`.
    processed: u64,
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
}

/// An event a trigger may be waiting for (see [`TriggerEvent`]).
enum Seen<'a> {
    Send {
        from: u32,
        to: u32,
        kind: &'a str,
    },
    Deliver {
        from: u32,
        to: u32,
        kind: &'a str,
    },
    Role {
        node: u32,
        role: &'a str,
    },
    Note {
        node: u32,
        note: &'a str,
    },
    Fault {
        action: &'a str,
        node: Option<u32>,
        description: &'a str,
    },
}

type Msg<P> = <<P as Protocol>::Node as Node>::Msg;

impl<'s, P: Protocol> Sim<'s, P> {
    pub fn new(scenario: &'s Scenario, protocol: P, seed: u64, mode: TraceMode) -> Self {
        let servers = scenario.servers();
        let clients = scenario.clients();
        let cluster = Cluster::new(servers, clients);
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
        let net = Net::new(n, base, netcfg.fifo);

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
                timers: Vec::new(),
                role: node.role(),
                incarnation: 0,
            });
            nodes.push(Some(node));
        }
        let w = &scenario.workload;
        let zipf = match w.key_dist {
            KeyDist::Zipf => Some(
                Zipf::new(*w.keys.get_ref() as u64, *w.zipf_exponent.get_ref())
                    .expect("checked when the scenario was parsed"),
            ),
            KeyDist::Uniform => None,
        };
        Sim {
            scenario,
            protocol,
            seed,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            slab: Slab {
                items: Vec::new(),
                free: Vec::new(),
            },
            clients: (0..clients)
                .map(|_| ClientState {
                    open: None,
                    last_seen: Default::default(),
                })
                .collect(),
            cluster,
            nodes,
            slots,
            base_net: net.clone(),
            net,
            clogged: Vec::new(),
            net_rng: stream(seed, streams::NETWORK),
            fault_rng: stream(seed, streams::FAULTS),
            work_rng: stream(seed, streams::WORKLOAD),
            zipf,
            think: Exp::new(*w.rate.get_ref()).expect("rate checked positive"),
            next_value: 1,
            next_msg: 0,
            next_timer_gen: 0,
            effects: Vec::new(),
            history: History::default(),
            op_meta: Vec::new(),
            violations: Vec::new(),
            scratch_violations: Vec::new(),
            partition_since: None,
            partition_windows: Vec::new(),
            counters: Counters::default(),
            fp: Fingerprint::default(),
            trace: (mode == TraceMode::Record).then(Vec::new),
            nemesis_stopped: false,
            recutting: false,
            nemesis_down: Vec::new(),
            nemesis_gen: 0,
            nemesis_fault: None,
            cut_by: std::collections::BTreeMap::new(),
            clogged_by: std::collections::BTreeMap::new(),
            loss_by: std::collections::BTreeMap::new(),
            started: false,
            nemesis_log: Vec::new(),
            processed: 0,
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
        }
    }

    fn push(&mut self, time: Nanos, ev: Ev<Msg<P>>) {
        self.seq += 1;
        let slot = self.slab.insert(ev);
        self.queue.push(Entry {
            time,
            seq: self.seq,
            slot,
        });
    }

    fn record(&mut self, event: impl FnOnce(&Cluster) -> TraceEvent) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(TraceRecord {
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

    /// Schedules the run's first events and starts every node. Called by the
    /// first [`Sim::advance`]; calling it again does nothing.
    fn begin(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let sc = self.scenario;
        for (i, f) in sc.faults.iter().enumerate() {
            if f.when.is_none() {
                self.push(f.at, Ev::Fault(i));
            }
        }
        if let Some(nem) = &sc.nemesis {
            let first = nem.start.saturating_add(self.nemesis_gap(nem.interval));
            self.push(first, Ev::NemesisTick);
            if let Some(stop) = nem.stop {
                self.push(stop, Ev::NemesisStop);
            }
        }
        for i in 0..self.nodes.len() {
            self.start_node(i as u32);
        }
        for c in 0..self.clients.len() {
            let client = (self.cluster.servers().len() + c) as u32;
            let at = sc.workload.start.saturating_add(self.think_time());
            self.push(at, Ev::Issue { client });
        }
    }

    /// Processes the next event. Returns false once the run is over (the queue
    /// is empty or the next event lies past the scenario's duration); virtual
    /// time then stands at the duration.
    pub fn advance(&mut self) -> bool {
        self.begin();
        let end = self.scenario.meta.duration;
        if self.processed >= self.scenario.meta.max_events {
            if self.stopped_early.is_none() {
                self.stopped_early = Some(self.now);
            }
            return false;
        }
        self.processed += 1;
        match self.queue.peek() {
            Some(top) if top.time <= end => {
                let entry = self.queue.pop().expect("peeked");
                self.now = entry.time;
                let ev = self.slab.take(entry.slot);
                self.step(ev);
                true
            }
            _ => {
                self.now = end;
                false
            }
        }
    }

    // ----- for other drivers -----
    //
    // A driver with its own clock and event loop (madsim, real sockets) shares
    // everything else with the kernel: the nodes, the network model (cuts,
    // clogs, loss, per-link latency), the faults, the workload, the trace, the
    // fingerprint and the history. It starts the run, takes what the run
    // scheduled, and steps each event back in when its own clock says so.

    /// Starts the run (schedules the faults, the nemesis and the workload, and
    /// starts every node) without processing any event.
    pub fn start(&mut self) {
        self.begin();
    }

    /// Moves every event scheduled so far out of the kernel's queue, in
    /// (time, sequence) order, each with the virtual time it is due at.
    pub fn take_scheduled(&mut self, out: &mut Vec<(Nanos, Ev<Msg<P>>)>) {
        while let Some(entry) = self.queue.pop() {
            out.push((entry.time, self.slab.take(entry.slot)));
        }
    }

    /// Processes one event at virtual time `now` (never before the last
    /// step's time). False, with nothing done, once `[meta] max_events` events
    /// have been processed: the run is then over.
    pub fn step_at(&mut self, now: Nanos, ev: Ev<Msg<P>>) -> bool {
        self.begin();
        if self.processed >= self.scenario.meta.max_events {
            if self.stopped_early.is_none() {
                self.stopped_early = Some(self.now);
            }
            return false;
        }
        self.processed += 1;
        self.now = self.now.max(now);
        self.step(ev);
        true
    }

    /// The run ends at virtual time `end` (the scenario's duration).
    pub fn end_at(&mut self, end: Nanos) {
        self.now = self.now.max(end);
    }

    /// Whether node `i` is up (not crashed), and whether it is paused.
    pub fn node_up(&self, i: usize) -> (bool, bool) {
        (self.nodes[i].is_some(), self.slots[i].paused)
    }

    /// When the run was stopped by `[meta] max_events`, if it was.
    pub fn stopped_early(&self) -> Option<Nanos> {
        self.stopped_early
    }

    /// Virtual time now.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Each node's status now (`None` for a crashed node).
    pub fn statuses(&self) -> Vec<Option<Status>> {
        self.nodes
            .iter()
            .map(|n| n.as_ref().map(|n| n.status()))
            .collect()
    }

    /// Whether node `i` is paused, and its clock (for the TUI's topology).
    pub fn node_state(&self, i: usize) -> (bool, Clock, bool) {
        let s = &self.slots[i];
        (s.paused, s.clock, s.disk.fsync_lies)
    }

    /// The network as it is now: cuts, clogs, latencies.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// The trace so far (empty unless recording).
    pub fn trace(&self) -> &[TraceRecord] {
        self.trace.as_deref().unwrap_or(&[])
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn step(&mut self, ev: Ev<Msg<P>>) {
        if !matches!(ev, Ev::Timer { .. }) {
            self.counters.events += 1;
        }
        match ev {
            Ev::Deliver { from, to, id, msg } => self.deliver(from, to, id, msg),
            Ev::Timer { node, timer, gen } => self.fire_timer(node, timer, gen),
            Ev::Fault(i) => self.apply_indexed(i),
            Ev::NemesisTick => self.nemesis_tick(),
            Ev::NemesisUndo { undo, gen } => self.nemesis_undo(undo, gen),
            Ev::NemesisStop => self.nemesis_stop(),
            Ev::Issue { client } => self.issue(client),
        }
        // Triggered faults without a delay fire right after the step whose
        // event matched them, in the order they matched; a fault they cause
        // may fire further triggers.
        let mut k = 0;
        while k < self.due_now.len() {
            self.apply_indexed(self.due_now[k]);
            k += 1;
        }
        self.due_now.clear();
    }

    // ----- triggers -----

    /// Applies `[[faults]]` entry `i`, with the nodes of its trigger's event.
    fn apply_indexed(&mut self, i: usize) {
        let fault = &self.scenario.faults[i];
        self.firing = self.fired_by[i];
        self.apply_fault(fault);
        self.firing = (None, None);
    }

    /// The role node `i` has right now (the last one traced if it is down).
    fn role_now(&self, i: u32) -> &'static str {
        self.nodes[i as usize]
            .as_ref()
            .map_or(self.slots[i as usize].role, |n| n.role())
    }

    fn node_matches(&self, m: &NodeMatch, i: u32) -> bool {
        match m {
            NodeMatch::Any => true,
            NodeMatch::Node(name) => self.cluster.name(NodeId(i)) == name,
            NodeMatch::Role(role) => self.role_now(i) == role,
        }
    }

    fn trigger_matches(&self, when: &TriggerEvent, node: &NodeMatch, seen: &Seen) -> bool {
        match (when, seen) {
            (
                TriggerEvent::Send { kind, to },
                Seen::Send {
                    from,
                    to: t,
                    kind: k,
                },
            )
            | (
                TriggerEvent::Deliver { kind, to },
                Seen::Deliver {
                    from,
                    to: t,
                    kind: k,
                },
            ) => {
                kind.as_deref().is_none_or(|want| want == *k)
                    && self.node_matches(node, *from)
                    && self.node_matches(to, *t)
            }
            (TriggerEvent::Role { role }, Seen::Role { node: i, role: r }) => {
                role == r && self.node_matches(node, *i)
            }
            (TriggerEvent::Note { note }, Seen::Note { node: i, note: n }) => {
                note == n && self.node_matches(node, *i)
            }
            (
                TriggerEvent::Fault { action },
                Seen::Fault {
                    action: a, node: i, ..
                },
            ) => {
                action.name() == *a
                    && match (node, i) {
                        (NodeMatch::Any, _) => true,
                        (_, Some(i)) => self.node_matches(node, *i),
                        (_, None) => false,
                    }
            }
            _ => false,
        }
    }

    /// Counts `seen` against every armed trigger; fires those it completes.
    fn observe(&mut self, seen: Seen) {
        if self.unfired == 0 {
            return;
        }
        for k in 0..self.triggers.len() {
            let (i, count, fired) = self.triggers[k];
            let fault = &self.scenario.faults[i];
            let Some(when) = &fault.when else { continue };
            if fired || self.now < fault.at || !self.trigger_matches(&when.event, &when.node, &seen)
            {
                continue;
            }
            let count = count + 1;
            self.triggers[k].1 = count;
            if count < when.count {
                continue;
            }
            self.triggers[k].2 = true;
            self.unfired -= 1;
            self.fp.u64(0x47 ^ (self.now << 8));
            self.fp.u64(fault.line as u64);
            if self.trace.is_some() {
                let event = self.describe_seen(&seen);
                let (line, delay, text) = (fault.line, when.delay, when.when_toml());
                self.record(|_| TraceEvent::Trigger {
                    line,
                    when: text,
                    event,
                    matched: count,
                    delay,
                });
            }
            self.fired_by[i] = match seen {
                Seen::Send { from, to, .. } | Seen::Deliver { from, to, .. } => {
                    (Some(from), Some(to))
                }
                Seen::Role { node, .. } | Seen::Note { node, .. } => (Some(node), None),
                Seen::Fault { node, .. } => (node, None),
            };
            if when.delay == 0 {
                self.due_now.push(i);
            } else {
                self.push(self.now.saturating_add(when.delay), Ev::Fault(i));
            }
        }
    }

    fn describe_seen(&self, seen: &Seen) -> String {
        let name = |i: u32| self.cluster.name(NodeId(i)).to_string();
        match seen {
            Seen::Send { from, to, kind } => {
                format!("send {} -> {} {kind}", name(*from), name(*to))
            }
            Seen::Deliver { from, to, kind } => {
                format!("deliver {} -> {} {kind}", name(*from), name(*to))
            }
            Seen::Role { node, role } => format!("role {} -> {role}", name(*node)),
            Seen::Note { node, note } => format!("note {} {note}", name(*node)),
            Seen::Fault {
                action,
                description,
                ..
            } => format!("fault {action} {description}"),
        }
    }

    // ----- nodes -----

    fn start_node(&mut self, i: u32) {
        self.run_handler(i, |node, ctx| node.on_start(ctx));
    }

    /// Runs one handler of node `i` and carries out its effects.
    fn run_handler(&mut self, i: u32, f: impl FnOnce(&mut P::Node, &mut Ctx<Msg<P>>)) {
        let idx = i as usize;
        let mut effects = std::mem::take(&mut self.effects);
        {
            let Some(node) = self.nodes[idx].as_mut() else {
                self.effects = effects;
                return;
            };
            let slot = &mut self.slots[idx];
            let mut ctx = Ctx::new(
                NodeId(i),
                self.now,
                slot.clock,
                &mut slot.rng,
                &mut slot.disk,
                &self.cluster,
                &mut effects,
            )
            .with_incarnation(slot.incarnation);
            f(node, &mut ctx);
        }
        for effect in effects.drain(..) {
            self.apply_effect(i, effect);
        }
        self.effects = effects;

        let role = self.nodes[idx].as_ref().map_or("crashed", |n| n.role());
        let old = self.slots[idx].role;
        if role != old {
            self.slots[idx].role = role;
            self.fp.u64(0x52);
            self.fp.bytes(role.as_bytes());
            self.record(|c| TraceEvent::Role {
                node: c.name_arc(NodeId(i)),
                from: old,
                to: role,
            });
            self.observe(Seen::Role { node: i, role });
        }
        let mut found = std::mem::take(&mut self.scratch_violations);
        self.protocol
            .check(self.now, NodeId(i), &self.nodes, &mut found);
        for v in found.drain(..) {
            self.violation(v);
        }
        self.scratch_violations = found;
    }

    fn violation(&mut self, v: Violation) {
        self.fp.u64(0x56);
        self.fp.bytes(v.invariant.as_bytes());
        let (inv, detail) = (v.invariant, v.detail.clone());
        self.record(|_| TraceEvent::Violation {
            invariant: inv,
            detail,
        });
        self.violations.push((self.now, v));
    }

    fn apply_effect(&mut self, i: u32, effect: Effect<Msg<P>>) {
        match effect {
            Effect::Send { to, msg } => self.send(i, to.0, msg),
            Effect::SetTimer { id, after } => {
                self.next_timer_gen += 1;
                let gen = self.next_timer_gen;
                let timers = &mut self.slots[i as usize].timers;
                match timers.iter_mut().find(|(t, _)| *t == id) {
                    Some(entry) => entry.1 = gen,
                    None => timers.push((id, gen)),
                }
                self.push(
                    self.now.saturating_add(after),
                    Ev::Timer {
                        node: i,
                        timer: id,
                        gen,
                    },
                );
            }
            Effect::CancelTimer { id } => {
                self.slots[i as usize].timers.retain(|(t, _)| *t != id);
            }
            Effect::Complete {
                op,
                outcome,
                output,
                served,
                found_other,
            } => {
                if found_other && outcome == Outcome::Fail {
                    self.history.ops[op.0 as usize].found_other = true;
                }
                self.complete(i, op, outcome, output, served);
            }
            Effect::Violation { invariant, detail } => {
                self.violation(Violation { invariant, detail })
            }
            Effect::Note { note } => {
                self.record(|c| TraceEvent::Note {
                    node: c.name_arc(NodeId(i)),
                    note,
                });
                self.observe(Seen::Note { node: i, note });
            }
        }
    }

    fn fire_timer(&mut self, i: u32, timer: TimerId, gen: u64) {
        let slot = &mut self.slots[i as usize];
        let Some(pos) = slot
            .timers
            .iter()
            .position(|&(t, g)| t == timer && g == gen)
        else {
            return; // moved, cancelled, or set before a crash
        };
        if slot.paused {
            slot.held.push(Ev::Timer {
                node: i,
                timer,
                gen,
            });
            return;
        }
        slot.timers.swap_remove(pos);
        self.counters.events += 1;
        self.counters.timers_fired += 1;
        self.fp.u64(0x54 ^ (self.now << 8));
        self.fp.u64(((i as u64) << 32) ^ timer.0);
        self.record(|c| TraceEvent::Timer {
            node: c.name_arc(NodeId(i)),
            timer: timer.0,
        });
        self.run_handler(i, |node, ctx| node.on_timer(ctx, timer));
    }

    // ----- network -----

    fn send(&mut self, from: u32, to: u32, msg: Msg<P>) {
        if to as usize >= self.nodes.len() {
            panic!("node {from} sent to node {to}, which does not exist: a protocol bug");
        }
        self.next_msg += 1;
        let id = self.next_msg;
        self.counters.sent += 1;
        let kind = msg.kind();
        self.fp.u64(0x53 ^ (self.now << 8));
        self.fp
            .u64(((from as u64) << 40) ^ ((to as u64) << 20) ^ id);
        self.fp.bytes(kind.as_bytes());
        if self.trace.is_some() {
            let detail = format!("{msg:?}");
            self.record(|c| TraceEvent::Send {
                from: c.name_arc(NodeId(from)),
                to: c.name_arc(NodeId(to)),
                id,
                msg: kind,
                detail,
            });
        }
        self.observe(Seen::Send { from, to, kind });
        let (f, t) = (from as usize, to as usize);
        if self.net.is_cut(f, t) {
            self.drop_msg(from, to, id, kind, DropReason::Partition);
            return;
        }
        let link = self.net.link(f, t);
        if link.loss > 0.0 && self.net_rng.gen::<f64>() < link.loss {
            self.drop_msg(from, to, id, kind, DropReason::Loss);
            return;
        }
        let dup = link.duplicate > 0.0 && self.net_rng.gen::<f64>() < link.duplicate;
        if link.clogged {
            self.hold(from, to, id, kind, "clogged");
            if dup {
                self.counters.duplicated += 1;
                self.clogged.push((from, to, id, msg.clone()));
            }
            self.clogged.push((from, to, id, msg));
            return;
        }
        if dup {
            self.counters.duplicated += 1;
            self.schedule_delivery(from, to, id, msg.clone());
        }
        self.schedule_delivery(from, to, id, msg);
    }

    fn schedule_delivery(&mut self, from: u32, to: u32, id: u64, msg: Msg<P>) {
        let fifo = self.net.fifo;
        let link = self.net.link_mut(from as usize, to as usize);
        let mut at = self
            .now
            .saturating_add(link.latency.sample(&mut self.net_rng));
        if fifo {
            at = at.max(link.last_delivery);
            link.last_delivery = at;
        }
        self.push(at, Ev::Deliver { from, to, id, msg });
    }

    fn hold(&mut self, from: u32, to: u32, id: u64, kind: &'static str, reason: &'static str) {
        self.fp.u64(0x48 ^ id);
        self.record(|c| TraceEvent::Hold {
            from: c.name_arc(NodeId(from)),
            to: c.name_arc(NodeId(to)),
            id,
            msg: kind,
            reason,
        });
    }

    fn drop_msg(&mut self, from: u32, to: u32, id: u64, kind: &'static str, reason: DropReason) {
        match reason {
            DropReason::Partition => self.counters.dropped_partition += 1,
            DropReason::Loss => self.counters.dropped_loss += 1,
            DropReason::DestinationCrashed | DropReason::SenderCrashed => {
                self.counters.dropped_crashed += 1
            }
        }
        self.fp.u64(0x44 ^ (self.now << 8));
        self.fp.u64(id ^ ((reason as u64) << 60));
        self.record(|c| TraceEvent::Drop {
            from: c.name_arc(NodeId(from)),
            to: c.name_arc(NodeId(to)),
            id,
            msg: kind,
            reason: reason.as_str(),
        });
    }

    fn deliver(&mut self, from: u32, to: u32, id: u64, msg: Msg<P>) {
        let kind = msg.kind();
        if self.nodes[to as usize].is_none() {
            return self.drop_msg(from, to, id, kind, DropReason::DestinationCrashed);
        }
        if self.nodes[from as usize].is_none() {
            return self.drop_msg(from, to, id, kind, DropReason::SenderCrashed);
        }
        if self.net.is_cut(from as usize, to as usize) {
            return self.drop_msg(from, to, id, kind, DropReason::Partition);
        }
        if self.slots[to as usize].paused {
            self.hold(from, to, id, kind, "paused");
            self.slots[to as usize]
                .held
                .push(Ev::Deliver { from, to, id, msg });
            return;
        }
        self.counters.delivered += 1;
        self.fp.u64(0x52 ^ (self.now << 8));
        self.fp.u64(id);
        self.record(|c| TraceEvent::Deliver {
            from: c.name_arc(NodeId(from)),
            to: c.name_arc(NodeId(to)),
            id,
            msg: kind,
        });
        self.observe(Seen::Deliver { from, to, kind });
        self.run_handler(to, |node, ctx| node.on_message(ctx, NodeId(from), msg));
    }

    // ----- workload -----

    fn think_time(&mut self) -> Nanos {
        (self.think.sample(&mut self.work_rng) * 1e9) as Nanos
    }

    fn issue(&mut self, client: u32) {
        let c = client as usize - self.cluster.servers().len();
        if self.now >= self.scenario.workload_stop() || self.clients[c].open.is_some() {
            return;
        }
        if self.nodes[client as usize].is_none() {
            let next = self.now.saturating_add(self.think_time());
            self.push(next, Ev::Issue { client });
            return;
        }
        if self.slots[client as usize].paused {
            self.slots[client as usize].held.push(Ev::Issue { client });
            return;
        }
        let w = &self.scenario.workload;
        let key_index = match &self.zipf {
            Some(z) => z.sample(&mut self.work_rng) as u32 - 1,
            None => self.work_rng.gen_range(0..*w.keys.get_ref()),
        };
        let mix = w.mix.get_ref();
        let shares = [mix.get, mix.put, mix.cas, mix.append, mix.delete];
        let total: f64 = shares.iter().sum();
        let mut pick = self.work_rng.gen::<f64>() * total;
        let mut which = 0;
        for (i, s) in shares.iter().enumerate() {
            if pick < *s {
                which = i;
                break;
            }
            pick -= s;
            which = i;
        }
        let f = match which {
            0 => OpFn::Read,
            1 => OpFn::Write(Value::Int(self.fresh_value())),
            2 => {
                let expected = match self.clients[c].last_seen.get(&key_index) {
                    Some(v) => Value::Int(*v),
                    None => Value::Nil,
                };
                OpFn::Cas {
                    expected,
                    new: Value::Int(self.fresh_value()),
                }
            }
            3 => OpFn::Append(Value::Int(self.fresh_value())),
            _ => OpFn::Delete,
        };
        let key = format!("k{key_index}");
        let op_index = self.history.ops.len();
        let process = self.cluster.process_of(NodeId(client));
        let cut_off = self.cut_off(client);
        self.history.ops.push(Op {
            process,
            key: key.clone(),
            f: f.clone(),
            output: None,
            outcome: Outcome::Info,
            call_ns: self.now,
            return_ns: None,
            found_other: false,
        });
        self.op_meta.push(OpMeta {
            client: NodeId(client),
            in_partition: self.partition_since.is_some(),
            cut_off,
            done_ns: None,
            served: false,
        });
        self.clients[c].open = Some(op_index);
        self.fp.u64(0x49 ^ (self.now << 8));
        self.fp.u64(op_index as u64 ^ ((client as u64) << 40));
        if self.trace.is_some() {
            let description = describe_op(&key, &f);
            self.record(|cl| TraceEvent::Invoke {
                node: cl.name_arc(NodeId(client)),
                op: op_index as u64,
                description,
            });
        }
        let req = Request {
            id: OpId(op_index as u64),
            key,
            f,
        };
        self.run_handler(client, |node, ctx| node.on_request(ctx, req));
    }

    fn fresh_value(&mut self) -> i64 {
        self.next_value += 1;
        self.next_value
    }

    /// Can this client reach fewer than a majority of servers?
    fn cut_off(&self, client: u32) -> bool {
        let reachable = self
            .cluster
            .servers()
            .iter()
            .filter(|s| self.net.connected(client as usize, s.index()))
            .count();
        reachable < self.cluster.majority()
    }

    fn complete(
        &mut self,
        client: u32,
        op: OpId,
        outcome: Outcome,
        output: Option<Value>,
        served: bool,
    ) {
        let idx = op.0 as usize;
        let c = client as usize - self.cluster.servers().len();
        if self.clients.get(c).and_then(|s| s.open) != Some(idx) {
            panic!(
                "{} completed op {idx}, which is not its open operation: a protocol bug",
                self.cluster.name(NodeId(client))
            );
        }
        self.clients[c].open = None;
        let entry = &mut self.history.ops[idx];
        entry.outcome = outcome;
        entry.return_ns = (outcome != Outcome::Info).then_some(self.now);
        if outcome == Outcome::Ok {
            if let Some(v) = &output {
                entry.output = Some(v.clone());
            } else if entry.f == OpFn::Read {
                entry.output = Some(Value::Nil);
            }
            let key_index: u32 = entry.key[1..].parse().unwrap_or(0);
            let seen = match (&entry.f, &entry.output) {
                (OpFn::Read, Some(Value::Int(v))) => Some(*v),
                (OpFn::Write(Value::Int(v)), _) => Some(*v),
                (
                    OpFn::Cas {
                        new: Value::Int(v), ..
                    },
                    _,
                ) => Some(*v),
                _ => None,
            };
            if let Some(v) = seen {
                self.clients[c].last_seen.insert(key_index, v);
            }
        }
        self.op_meta[idx].done_ns = Some(self.now);
        self.op_meta[idx].served = served;
        self.fp.u64(0x43 ^ (self.now << 8));
        self.fp.u64(idx as u64 ^ ((outcome as u64) << 56));
        if self.trace.is_some() {
            let out = self.history.ops[idx]
                .output
                .as_ref()
                .map(show_value)
                .unwrap_or_default();
            let found_other = self.history.ops[idx].found_other;
            self.record(|cl| TraceEvent::Complete {
                node: cl.name_arc(NodeId(client)),
                op: idx as u64,
                outcome: outcome_name(outcome),
                output: out,
                found_other,
            });
        }
        let next = self.now.saturating_add(self.think_time());
        self.push(next, Ev::Issue { client });
    }

    // ----- faults -----

    /// The nodes a target means right now.
    fn resolve(&mut self, t: &Target) -> Vec<u32> {
        let servers = self.cluster.servers().len() as u32;
        match t {
            Target::Node(name) => self
                .cluster
                .by_name(name)
                .map(|id| vec![id.0])
                .unwrap_or_default(),
            Target::Role(role) => (0..servers)
                .find(|&i| {
                    self.nodes[i as usize]
                        .as_ref()
                        .is_some_and(|n| n.role() == role)
                })
                .map(|i| vec![i])
                .unwrap_or_default(),
            Target::MinorityOf(role) => {
                let Some(&first) = self.resolve(&Target::Role(role.clone())).first() else {
                    return Vec::new();
                };
                let size = (servers as usize - 1) / 2;
                let mut group = vec![first];
                group.extend(
                    (0..servers)
                        .filter(|&i| i != first)
                        .take(size.saturating_sub(1)),
                );
                group
            }
            Target::Region(r) => self
                .scenario
                .topology
                .regions
                .get(r)
                .map(|m| {
                    m.iter()
                        .filter_map(|n| self.cluster.by_name(n.get_ref()).map(|id| id.0))
                        .collect()
                })
                .unwrap_or_default(),
            Target::Random => {
                let live: Vec<u32> = (0..servers)
                    .filter(|&i| self.nodes[i as usize].is_some())
                    .collect();
                live.choose(&mut self.fault_rng)
                    .map(|&i| vec![i])
                    .unwrap_or_default()
            }
            Target::Downed => (0..self.nodes.len() as u32)
                .filter(|&i| self.nodes[i as usize].is_none() || self.slots[i as usize].paused)
                .collect(),
            Target::All => (0..servers).collect(),
            Target::Rest => Vec::new(), // resolved by the partition itself
            Target::TriggerNode => self.firing.0.into_iter().collect(),
            Target::TriggerTo => self.firing.1.into_iter().collect(),
        }
    }

    fn names(&self, ids: &[u32]) -> String {
        let v: Vec<&str> = ids.iter().map(|&i| self.cluster.name(NodeId(i))).collect();
        format!("{{{}}}", v.join(","))
    }

    fn note_fault(&mut self, action: &'static str, description: String, line: usize) {
        self.counters.faults += 1;
        self.fp.u64(0x46 ^ (self.now << 8));
        self.fp.bytes(description.as_bytes());
        if self.unfired > 0 && !self.recutting {
            // A crash, restart, pause or resume describes itself by its node.
            let node = matches!(action, "crash" | "restart" | "pause" | "resume")
                .then(|| self.cluster.by_name(&description).map(|id| id.0))
                .flatten();
            self.record(|_| TraceEvent::Fault {
                action,
                description: description.clone(),
                line,
            });
            self.observe(Seen::Fault {
                action,
                node,
                description: &description,
            });
            return;
        }
        self.record(|_| TraceEvent::Fault {
            action,
            description,
            line,
        });
    }

    fn apply_fault(&mut self, fault: &Fault) {
        let line = fault.line;
        match &fault.kind {
            FaultKind::Partition { groups } => {
                let n = self.nodes.len();
                let servers = self.cluster.servers().len();
                let mut group_of: Vec<Option<usize>> = vec![None; n];
                let mut rest_group = None;
                for (g, members) in groups.iter().enumerate() {
                    for t in members {
                        if *t == Target::Rest {
                            rest_group = Some(g);
                        }
                        for i in self.resolve(t) {
                            if group_of[i as usize].is_none() {
                                group_of[i as usize] = Some(g);
                            }
                        }
                    }
                }
                if let Some(g) = rest_group {
                    for slot in group_of.iter_mut().take(servers) {
                        if slot.is_none() {
                            *slot = Some(g);
                        }
                    }
                }
                self.cut_groups(&group_of);
                let desc = (0..groups.len())
                    .map(|g| {
                        let ids: Vec<u32> = (0..n as u32)
                            .filter(|&i| group_of[i as usize] == Some(g))
                            .collect();
                        self.names(&ids)
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                self.note_fault("partition", desc, line);
            }
            FaultKind::PartitionOneWay { from, to } => {
                let from: Vec<u32> = from.iter().flat_map(|t| self.resolve(t)).collect();
                let mut to: Vec<u32> = to.iter().flat_map(|t| self.resolve(t)).collect();
                if to.is_empty() {
                    // "rest": every server not in `from`.
                    to = (0..self.cluster.servers().len() as u32)
                        .filter(|i| !from.contains(i))
                        .collect();
                }
                for &a in &from {
                    for &b in &to {
                        if a != b {
                            self.cut_link(a, b);
                        }
                    }
                }
                self.partition_changed();
                let desc = format!("{} -/-> {}", self.names(&from), self.names(&to));
                self.note_fault("partition", desc, line);
            }
            FaultKind::Heal => {
                self.net.heal();
                self.cut_by.clear();
                self.partition_changed();
                self.note_fault("heal", "every partition healed".into(), line);
            }
            FaultKind::Crash(t) => {
                let ids = self.resolve(t);
                if ids.is_empty() {
                    self.note_fault(
                        "crash",
                        format!("crash {t}: no node matched, skipped"),
                        line,
                    );
                }
                for i in ids {
                    self.crash(i, line);
                }
            }
            FaultKind::Restart(t) => {
                let ids = self.resolve(t);
                if ids.is_empty() {
                    self.note_fault(
                        "restart",
                        format!("restart {t}: no node matched, skipped"),
                        line,
                    );
                }
                for i in ids {
                    self.restart(i, line);
                }
            }
            FaultKind::Pause(t) => {
                let ids = self.resolve(t);
                if ids.is_empty() {
                    self.note_fault(
                        "pause",
                        format!("pause {t}: no node matched, skipped"),
                        line,
                    );
                }
                for i in ids {
                    self.pause(i, line);
                }
            }
            FaultKind::Resume(t) => {
                let ids = self.resolve(t);
                if ids.is_empty() {
                    self.note_fault(
                        "resume",
                        format!("resume {t}: no node matched, skipped"),
                        line,
                    );
                }
                for i in ids {
                    self.resume(i, line);
                }
            }
            FaultKind::Clog { a, b, one_way } | FaultKind::Unclog { a, b, one_way } => {
                let clog = matches!(fault.kind, FaultKind::Clog { .. });
                let xs = self.resolve(a);
                let ys = if *b == Target::All {
                    (0..self.nodes.len() as u32).collect()
                } else {
                    self.resolve(b)
                };
                for &x in &xs {
                    for &y in &ys {
                        if x != y {
                            self.set_clog(x, y, clog);
                            if !one_way {
                                self.set_clog(y, x, clog);
                            }
                        }
                    }
                }
                let arrow = if *one_way { "->" } else { "<->" };
                let desc = format!(
                    "{} {arrow} {}",
                    self.names(&xs),
                    if *b == Target::All {
                        "*".into()
                    } else {
                        self.names(&ys)
                    }
                );
                self.note_fault(if clog { "clog" } else { "unclog" }, desc, line);
            }
            FaultKind::Latency {
                scope,
                latency,
                one_way,
            } => {
                let links = self.scope_links(scope, *one_way);
                for &(x, y) in &links {
                    self.net.link_mut(x, y).latency = latency.clone();
                }
                let desc = format!(
                    "{} on {} links: {}",
                    describe_latency(latency),
                    links.len(),
                    self.describe_scope(scope)
                );
                self.note_fault("latency", desc, line);
            }
            FaultKind::Loss {
                scope,
                probability,
                one_way,
            } => {
                let links = self.scope_links(scope, *one_way);
                for &(x, y) in &links {
                    let key = (x as u32, y as u32);
                    match self.nemesis_fault {
                        Some(g) => {
                            let before = self
                                .loss_by
                                .get(&key)
                                .map_or(self.net.link(x, y).loss, |&(_, b)| b);
                            self.loss_by.insert(key, (g, before));
                        }
                        None => {
                            self.loss_by.remove(&key);
                        }
                    }
                    self.net.link_mut(x, y).loss = *probability;
                }
                let desc = format!(
                    "loss {probability} on {} links: {}",
                    links.len(),
                    self.describe_scope(scope)
                );
                self.note_fault("loss", desc, line);
            }
            FaultKind::Clock {
                target,
                offset_ns,
                drift,
            } => {
                let ids = self.resolve(target);
                let by = self.nemesis_fault;
                for &i in &ids {
                    let slot = &mut self.slots[i as usize];
                    // From this instant on: a drift changes the rate without
                    // stepping either clock; an offset steps the wall clock
                    // only. See `sim::node::Clock`.
                    slot.clock = slot.clock.set(self.now, *offset_ns, *drift);
                    match by {
                        // The nemesis's skew: undone by its own undo (or the
                        // stop) back to what the scenario's faults made it.
                        Some(g) => slot.clock_by = Some(g),
                        // A scenario's fault (or an undo) changes the clock
                        // the scenario means the node to have. Once it sets
                        // both fields nothing of the nemesis's is left; a
                        // field it leaves out may still be the nemesis's, and
                        // the nemesis's undo will still put that right.
                        None => {
                            slot.scenario_clock =
                                slot.scenario_clock.set(self.now, *offset_ns, *drift);
                            if offset_ns.is_some() && drift.is_some() {
                                slot.clock_by = None;
                            }
                        }
                    }
                }
                let mut desc = format!("{} clock", self.names(&ids));
                if let Some(o) = offset_ns {
                    desc.push_str(&format!(
                        " offset {}{}",
                        if *o < 0 { "-" } else { "+" },
                        fmt_duration(o.unsigned_abs())
                    ));
                }
                if let Some(d) = drift {
                    desc.push_str(&format!(" drift {d}"));
                }
                self.note_fault("clock", desc, line);
            }
            FaultKind::FsyncLoss(t) | FaultKind::FsyncOk(t) => {
                let lies = matches!(fault.kind, FaultKind::FsyncLoss(_));
                let ids = self.resolve(t);
                for &i in &ids {
                    self.slots[i as usize].disk.fsync_lies = lies;
                }
                let desc = format!(
                    "{} fsync {}",
                    self.names(&ids),
                    if lies {
                        "lies (unsynced and synced writes lost on crash)"
                    } else {
                        "honest again"
                    }
                );
                self.note_fault(if lies { "fsync-loss" } else { "fsync-ok" }, desc, line);
            }
        }
    }

    fn describe_scope(&self, scope: &Scope) -> String {
        match scope {
            Scope::Everywhere => "everywhere".into(),
            Scope::Link(a, b) => format!("link {a}-{b}"),
            Scope::Region(r) => format!("region {r}"),
            Scope::Node(t) => format!("node {t}"),
        }
    }

    fn scope_links(&mut self, scope: &Scope, one_way: bool) -> Vec<(usize, usize)> {
        let n = self.nodes.len();
        let mut out = Vec::new();
        let both = |out: &mut Vec<(usize, usize)>, a: usize, b: usize| {
            if a != b {
                out.push((a, b));
                if !one_way {
                    out.push((b, a));
                }
            }
        };
        match scope {
            Scope::Everywhere => {
                for a in 0..n {
                    for b in 0..n {
                        if a != b {
                            out.push((a, b));
                        }
                    }
                }
            }
            Scope::Node(t) => {
                for x in self.resolve(t) {
                    for y in 0..n {
                        both(&mut out, x as usize, y);
                    }
                }
            }
            Scope::Link(a, b) => {
                let xs = self.resolve(a);
                let ys = if *b == Target::All {
                    (0..n as u32).collect()
                } else {
                    self.resolve(b)
                };
                for &x in &xs {
                    for &y in &ys {
                        both(&mut out, x as usize, y as usize);
                    }
                }
            }
            Scope::Region(r) => {
                for x in self.resolve(&Target::Region(r.clone())) {
                    for y in 0..n {
                        both(&mut out, x as usize, y);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn cut_groups(&mut self, group_of: &[Option<usize>]) {
        let n = group_of.len();
        for a in 0..n {
            for b in 0..n {
                if let (Some(x), Some(y)) = (group_of[a], group_of[b]) {
                    if x != y {
                        self.cut_link(a as u32, b as u32);
                    }
                }
            }
        }
        self.partition_changed();
    }

    /// Cuts one directed link. The nemesis owns a link it cuts unless the
    /// scenario had already cut it (a later nemesis fault takes a link over
    /// from an earlier one); a cut by the scenario takes the link over.
    fn cut_link(&mut self, a: u32, b: u32) {
        let was_cut = self.net.is_cut(a as usize, b as usize);
        self.net.set_cut(a as usize, b as usize, true);
        match self.nemesis_fault {
            Some(g) => {
                if !was_cut || self.cut_by.contains_key(&(a, b)) {
                    self.cut_by.insert((a, b), g);
                }
            }
            None => {
                self.cut_by.remove(&(a, b));
            }
        }
    }

    /// Is a link cut that no nemesis fault owns (a partition of the
    /// scenario's)?
    fn scenario_cut(&self) -> bool {
        let n = self.nodes.len() as u32;
        (0..n).any(|a| {
            (0..n).any(|b| {
                self.net.is_cut(a as usize, b as usize) && !self.cut_by.contains_key(&(a, b))
            })
        })
    }

    /// Heals the links `gone` selects among those the nemesis cut, as
    /// concrete faults: a heal, then a one-way partition per node for every
    /// cut link that stays. The owners of the nemesis's links that stay are
    /// returned, to be given back once the faults are applied.
    fn heal_links(&self, gone: impl Fn(u64) -> bool) -> (Vec<FaultKind>, LinkOwners) {
        let n = self.nodes.len() as u32;
        let mut out = Vec::new();
        let mut keep = Vec::new();
        if !self.cut_by.values().any(|&g| gone(g)) {
            return (out, keep);
        }
        out.push(FaultKind::Heal);
        let name = |i: u32| Target::Node(self.cluster.name(NodeId(i)).to_string());
        for a in 0..n {
            let mut to = Vec::new();
            for b in 0..n {
                if !self.net.is_cut(a as usize, b as usize) {
                    continue;
                }
                match self.cut_by.get(&(a, b)) {
                    Some(&g) if gone(g) => continue,
                    Some(&g) => keep.push(((a, b), g)),
                    None => {}
                }
                to.push(name(b));
            }
            if !to.is_empty() {
                out.push(FaultKind::PartitionOneWay {
                    from: vec![name(a)],
                    to,
                });
            }
        }
        (out, keep)
    }

    fn partition_changed(&mut self) {
        let cut = self.net.any_cut();
        match (cut, self.partition_since) {
            (true, None) => self.partition_since = Some(self.now),
            (false, Some(start)) => {
                self.partition_windows.push((start, self.now));
                self.partition_since = None;
            }
            _ => {}
        }
    }

    fn set_clog(&mut self, x: u32, y: u32, clog: bool) {
        let was_clogged = self.net.link(x as usize, y as usize).clogged;
        self.net.link_mut(x as usize, y as usize).clogged = clog;
        match self.nemesis_fault {
            // A link the scenario clogged stays the scenario's: the
            // nemesis's undo must not unclog it.
            Some(_) if clog && was_clogged && !self.clogged_by.contains_key(&(x, y)) => {}
            Some(g) if clog => {
                self.clogged_by.insert((x, y), g);
            }
            _ => {
                self.clogged_by.remove(&(x, y));
            }
        }
        if !clog {
            // Release what the link held, in the order it was sent.
            let mut released = Vec::new();
            let mut kept = Vec::new();
            for m in std::mem::take(&mut self.clogged) {
                if m.0 == x && m.1 == y {
                    released.push(m);
                } else {
                    kept.push(m);
                }
            }
            self.clogged = kept;
            for (from, to, id, msg) in released {
                self.schedule_delivery(from, to, id, msg);
            }
        }
    }

    fn crash(&mut self, i: u32, line: usize) {
        let idx = i as usize;
        if self.nodes[idx].is_none() {
            // Already down: a `[[faults]]` crash takes the node over, so the
            // nemesis's restart no longer cuts short what the scenario wants.
            if self.nemesis_fault.is_none() {
                self.slots[idx].crashed_by = None;
            }
            return;
        }
        self.nodes[idx] = None;
        let by = self.nemesis_fault;
        let slot = &mut self.slots[idx];
        slot.disk.crash();
        slot.timers.clear();
        slot.held.clear();
        slot.paused = false;
        slot.paused_by = None;
        slot.crashed_by = by;
        let name = self.cluster.name_arc(NodeId(i));
        self.note_fault("crash", name.to_string(), line);
        let old = std::mem::replace(&mut self.slots[idx].role, "crashed");
        self.record(|_| TraceEvent::Role {
            node: name,
            from: old,
            to: "crashed",
        });
        self.observe(Seen::Role {
            node: i,
            role: "crashed",
        });
        // A crashed client's open operation has an unknown outcome.
        if self.cluster.is_client(NodeId(i)) {
            let c = idx - self.cluster.servers().len();
            if let Some(op) = self.clients[c].open.take() {
                self.op_meta[op].done_ns = Some(self.now);
                let next = self.now.saturating_add(self.think_time());
                self.push(next, Ev::Issue { client: i });
            }
        }
    }

    fn restart(&mut self, i: u32, line: usize) {
        let idx = i as usize;
        if self.nodes[idx].is_some() {
            if self.slots[idx].paused {
                self.resume(i, line);
            }
            return;
        }
        self.slots[idx].incarnation += 1;
        self.slots[idx].crashed_by = None;
        let node = self
            .protocol
            .build(NodeId(i), &self.cluster, &self.slots[idx].disk);
        self.nodes[idx] = Some(node);
        let name = self.cluster.name(NodeId(i)).to_string();
        self.note_fault("restart", name, line);
        self.start_node(i);
    }

    fn pause(&mut self, i: u32, line: usize) {
        let idx = i as usize;
        if self.nodes[idx].is_none() {
            return;
        }
        if self.slots[idx].paused {
            // Already paused: a `[[faults]]` pause takes the node over, so
            // the nemesis's resume no longer cuts it short.
            if self.nemesis_fault.is_none() {
                self.slots[idx].paused_by = None;
            }
            return;
        }
        self.slots[idx].paused = true;
        // Only the nemesis's own pause is its to undo.
        self.slots[idx].paused_by = self.nemesis_fault;
        let name = self.cluster.name(NodeId(i)).to_string();
        self.note_fault("pause", name, line);
    }

    fn resume(&mut self, i: u32, line: usize) {
        let idx = i as usize;
        if !self.slots[idx].paused {
            return;
        }
        self.slots[idx].paused = false;
        self.slots[idx].paused_by = None;
        let name = self.cluster.name(NodeId(i)).to_string();
        self.note_fault("resume", name, line);
        // What a real process sees when it runs again: its event loop first
        // looks at the clock, so every timer that came due during the pause
        // fires (in the order it came due), and only then does it read the
        // messages and requests that queued up meanwhile (in arrival order). A
        // request that arrived during the pause is handled by a node that has
        // already noticed the time that passed (its lease ran out, its
        // election timeout fired), never by one that acts on stale beliefs.
        let (timers, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.slots[idx].held)
            .into_iter()
            .partition(|ev| matches!(ev, Ev::Timer { .. }));
        for ev in timers.into_iter().chain(rest) {
            self.push(self.now, ev);
        }
    }

    // ----- nemesis -----

    fn nemesis_gap(&mut self, interval: Nanos) -> Nanos {
        let e = Exp::new(1.0 / interval as f64).expect("interval checked positive");
        e.sample(&mut self.fault_rng) as Nanos
    }

    fn nemesis_tick(&mut self) {
        let Some(nem) = self.scenario.nemesis.as_ref() else {
            return;
        };
        if self.nemesis_stopped {
            return;
        }
        let servers = self.cluster.servers().len() as u32;
        let max_down = nem.max_down.unwrap_or((servers - 1) / 2) as usize;
        let kinds: Vec<&str> = nem.kinds.iter().map(|k| k.get_ref().as_str()).collect();
        let kind = *kinds
            .choose(&mut self.fault_rng)
            .expect("at least one kind");
        let live: Vec<u32> = (0..servers)
            .filter(|&i| self.nodes[i as usize].is_some() && !self.slots[i as usize].paused)
            .collect();
        let down = servers as usize - live.len();
        let lasting = {
            let d = nem.fault_duration as f64;
            self.fault_rng.gen_range(0.5 * d..=1.5 * d) as Nanos
        };
        let node = |s: &Self, i: u32| Target::Node(s.cluster.name(NodeId(i)).to_string());
        // Each fault and the fault that undoes it, as ordinary schedule entries.
        let pair = match kind {
            // Not while a partition of the scenario's is in force, so the
            // lesson's partition is the one in force while it lasts.
            "partition" if servers > 1 && !self.scenario_cut() => {
                let mut order: Vec<u32> = (0..servers).collect();
                order.shuffle(&mut self.fault_rng);
                let minority = self.fault_rng.gen_range(1..=(servers as usize / 2).max(1));
                let mut a: Vec<u32> = order[..minority].to_vec();
                let mut b: Vec<u32> = order[minority..].to_vec();
                a.sort_unstable();
                b.sort_unstable();
                let groups = vec![
                    a.iter().map(|&i| node(self, i)).collect(),
                    b.iter().map(|&i| node(self, i)).collect(),
                ];
                Some((FaultKind::Partition { groups }, FaultKind::Heal))
            }
            "crash" if down < max_down && !live.is_empty() => {
                let &i = live.choose(&mut self.fault_rng).expect("non-empty");
                self.nemesis_down.push(i);
                Some((
                    FaultKind::Crash(node(self, i)),
                    FaultKind::Restart(node(self, i)),
                ))
            }
            // A client process dies and comes back as a new process (a new
            // session, see `client`): its open operation ends `info`, and the
            // servers must tell its new requests from its old ones. Clients
            // do not count against `max_down`, which is about servers.
            "client-crash" => {
                let up: Vec<u32> = self
                    .cluster
                    .clients()
                    .iter()
                    .map(|c| c.0)
                    // A client the scenario paused is left alone: a restart
                    // could not give it its pause back.
                    .filter(|&i| self.nodes[i as usize].is_some() && !self.slots[i as usize].paused)
                    .collect();
                up.choose(&mut self.fault_rng).map(|&i| {
                    self.nemesis_down.push(i);
                    (
                        FaultKind::Crash(node(self, i)),
                        FaultKind::Restart(node(self, i)),
                    )
                })
            }
            "pause" if down < max_down && !live.is_empty() => {
                let &i = live.choose(&mut self.fault_rng).expect("non-empty");
                self.nemesis_down.push(i);
                Some((
                    FaultKind::Pause(node(self, i)),
                    FaultKind::Resume(node(self, i)),
                ))
            }
            "clog" if servers > 1 => {
                let a = self.fault_rng.gen_range(0..servers);
                let mut b = self.fault_rng.gen_range(0..servers - 1);
                if b >= a {
                    b += 1;
                }
                let (a, b) = (node(self, a), node(self, b));
                Some((
                    FaultKind::Clog {
                        a: a.clone(),
                        b: b.clone(),
                        one_way: false,
                    },
                    FaultKind::Unclog {
                        a,
                        b,
                        one_way: false,
                    },
                ))
            }
            "loss" => {
                let p = (self.fault_rng.gen_range(0.1..0.5) * 100.0f64).round() / 100.0;
                let base = *self.scenario.network.loss.get_ref();
                Some((
                    FaultKind::Loss {
                        scope: Scope::Everywhere,
                        probability: p,
                        one_way: false,
                    },
                    FaultKind::Loss {
                        scope: Scope::Everywhere,
                        probability: base,
                        one_way: false,
                    },
                ))
            }
            "clock" => {
                let i = self.fault_rng.gen_range(0..servers);
                let offset_ns = self.fault_rng.gen_range(-500i64..=500) * 1_000_000;
                let drift = (self.fault_rng.gen_range(-0.05f64..=0.05) * 1000.0).round() / 1000.0;
                Some((
                    FaultKind::Clock {
                        target: node(self, i),
                        offset_ns: Some(offset_ns),
                        drift: Some(drift),
                    },
                    FaultKind::Clock {
                        target: node(self, i),
                        offset_ns: Some(0),
                        drift: Some(0.0),
                    },
                ))
            }
            _ => None,
        };
        if let Some((fault, undo)) = pair {
            self.nemesis_gen += 1;
            let gen = self.nemesis_gen;
            self.nemesis_fault = Some(gen);
            self.nemesis_apply(fault);
            self.nemesis_fault = None;
            self.push(
                self.now.saturating_add(lasting),
                Ev::NemesisUndo { undo, gen },
            );
        }
        let next = self
            .now
            .saturating_add(self.nemesis_gap(nem.interval).max(1));
        if nem.stop.is_none_or(|s| next < s) {
            self.push(next, Ev::NemesisTick);
        }
    }

    /// Applies a fault the nemesis chose (or one of its undos), and logs it
    /// as a concrete schedule entry.
    fn nemesis_apply(&mut self, kind: FaultKind) {
        let fault = Fault {
            at: self.now,
            kind,
            line: 0,
            when: None,
        };
        self.apply_fault(&fault);
        self.nemesis_log.push(fault);
    }

    /// The undo of nemesis fault `gen`, as concrete faults: only what is
    /// still that fault's doing. What another nemesis fault or a `[[faults]]`
    /// entry changed since is no longer its to undo; what it undoes goes back
    /// to what was there before the nemesis touched it.
    fn nemesis_undos(&mut self, undo: &FaultKind, gen: u64) -> Vec<FaultKind> {
        let name = |s: &Self, i: u32| Target::Node(s.cluster.name(NodeId(i)).to_string());
        let mut out = Vec::new();
        match undo {
            // The links this fault cut and still owns; see `nemesis_undo`.
            FaultKind::Heal => {}
            FaultKind::Restart(t) => {
                for i in self.resolve(t) {
                    if self.nodes[i as usize].is_none()
                        && self.slots[i as usize].crashed_by == Some(gen)
                    {
                        out.push(FaultKind::Restart(name(self, i)));
                    }
                }
            }
            FaultKind::Resume(t) => {
                for i in self.resolve(t) {
                    let slot = &self.slots[i as usize];
                    if slot.paused && slot.paused_by == Some(gen) {
                        out.push(FaultKind::Resume(name(self, i)));
                    }
                }
            }
            FaultKind::Unclog { a, b, .. } => {
                let (a, b) = (self.resolve(a), self.resolve(b));
                for (&x, &y) in a.iter().zip(&b) {
                    let forth = self.clogged_by.get(&(x, y)) == Some(&gen);
                    let back = self.clogged_by.get(&(y, x)) == Some(&gen);
                    // A direction a `[[faults]]` entry clogged since stays.
                    if forth || back {
                        let (from, to) = if forth { (x, y) } else { (y, x) };
                        out.push(FaultKind::Unclog {
                            a: name(self, from),
                            b: name(self, to),
                            one_way: !(forth && back),
                        });
                    }
                }
            }
            FaultKind::Loss { .. } => {
                let owned: Vec<((u32, u32), f64)> = self
                    .loss_by
                    .iter()
                    .filter(|(_, &(g, _))| g == gen)
                    .map(|(&k, &(_, before))| (k, before))
                    .collect();
                out.extend(self.loss_restores(&owned));
            }
            FaultKind::Clock { target, .. } => {
                for i in self.resolve(target) {
                    if self.slots[i as usize].clock_by == Some(gen) {
                        out.push(self.clock_restore(i));
                    }
                }
            }
            other => out.push(other.clone()),
        }
        out
    }

    /// The clock fault that puts node `i`'s clock back to what the scenario's
    /// own clock faults made it: its wall clock reads what it would read had
    /// the nemesis never touched it, at the scenario's drift.
    fn clock_restore(&self, i: u32) -> FaultKind {
        let c = self.slots[i as usize].scenario_clock;
        FaultKind::Clock {
            target: Target::Node(self.cluster.name(NodeId(i)).to_string()),
            offset_ns: Some(c.offset_at(self.now)),
            drift: Some(c.drift),
        }
    }

    /// Loss faults that give these directed links back the loss they had:
    /// one fault for the whole network when that is what it amounts to.
    fn loss_restores(&self, links: &[((u32, u32), f64)]) -> Vec<FaultKind> {
        let n = self.nodes.len();
        if links.is_empty() {
            return Vec::new();
        }
        let first = links[0].1;
        if links.len() == n * (n - 1) && links.iter().all(|&(_, b)| b == first) {
            return vec![FaultKind::Loss {
                scope: Scope::Everywhere,
                probability: first,
                one_way: false,
            }];
        }
        let name = |i: u32| Target::Node(self.cluster.name(NodeId(i)).to_string());
        links
            .iter()
            .map(|&((x, y), before)| FaultKind::Loss {
                scope: Scope::Link(name(x), name(y)),
                probability: before,
                one_way: true,
            })
            .collect()
    }

    /// Applies what `heal_links` made: the heal, seen by triggers as any heal,
    /// then the re-cuts of what stays cut, which no trigger sees.
    fn apply_heal(&mut self, heal: Vec<FaultKind>) {
        for (i, u) in heal.into_iter().enumerate() {
            self.recutting = i > 0;
            self.nemesis_apply(u);
        }
        self.recutting = false;
    }

    fn nemesis_undo(&mut self, undo: FaultKind, gen: u64) {
        // After the stop, the stop has undone all there was: an undo still
        // in the queue must not touch what the scenario did since.
        if self.nemesis_stopped {
            return;
        }
        let (heal, keep) = if matches!(undo, FaultKind::Heal) {
            self.heal_links(|g| g == gen)
        } else {
            (Vec::new(), Vec::new())
        };
        self.apply_heal(heal);
        for u in self.nemesis_undos(&undo, gen) {
            self.nemesis_apply(u);
        }
        // The re-cut links that stay are still the other nemesis faults'.
        self.cut_by.extend(keep);
        // A node no longer down by the nemesis's hand (this undo brought it
        // back, or something else did) is not the stop's to bring back.
        let slots = &self.slots;
        self.nemesis_down.retain(|&d| {
            slots[d as usize].crashed_by.is_some() || slots[d as usize].paused_by.is_some()
        });
    }

    /// The quiet phase begins: undo everything the nemesis did that is still
    /// its doing, back to what the scenario made it.
    fn nemesis_stop(&mut self) {
        self.nemesis_stopped = true;
        let (heal, _) = self.heal_links(|_| true);
        let mut undo = Vec::new();
        let clogged: Vec<(u32, u32)> = self.clogged_by.keys().copied().collect();
        for &(x, y) in &clogged {
            // Both directions in one fault, listed once.
            let both = clogged.contains(&(y, x));
            if both && y < x {
                continue;
            }
            let (a, b) = (self.cluster.name(NodeId(x)), self.cluster.name(NodeId(y)));
            undo.push(FaultKind::Unclog {
                a: Target::Node(a.to_string()),
                b: Target::Node(b.to_string()),
                one_way: !both,
            });
        }
        let lossy: Vec<((u32, u32), f64)> =
            self.loss_by.iter().map(|(&k, &(_, b))| (k, b)).collect();
        undo.extend(self.loss_restores(&lossy));
        // Clocks: only where the nemesis's skew is still in the clock, back
        // to what the scenario's own clock faults made it.
        for i in 0..self.cluster.servers().len() as u32 {
            if self.slots[i as usize].clock_by.is_some() {
                undo.push(self.clock_restore(i));
            }
        }
        // Nodes down by the nemesis's hand, in the order it took them down;
        // a node the scenario crashed or paused stays as the scenario left it.
        let mut down = std::mem::take(&mut self.nemesis_down);
        down.extend(0..self.nodes.len() as u32);
        let mut seen = std::collections::BTreeSet::new();
        for i in down {
            if !seen.insert(i) {
                continue;
            }
            let target = Target::Node(self.cluster.name(NodeId(i)).to_string());
            let slot = &self.slots[i as usize];
            if self.nodes[i as usize].is_none() && slot.crashed_by.is_some() {
                undo.push(FaultKind::Restart(target));
            } else if slot.paused && slot.paused_by.is_some() {
                undo.push(FaultKind::Resume(target));
            }
        }
        self.note_fault(
            "nemesis-stop",
            "nemesis stopped: every fault it left in force is undone; the quiet phase begins"
                .into(),
            0,
        );
        self.apply_heal(heal);
        for u in undo {
            self.nemesis_apply(u);
        }
    }

    // ----- the end -----

    /// Ends the run where it stands and returns what happened.
    pub fn finish(mut self) -> RunOutput {
        // Triggers that never fired: not an error (the run may simply not
        // have produced the event), but the trace and the report say so.
        let mut unfired_triggers = Vec::new();
        for &(i, matched, fired) in &self.triggers {
            if !fired {
                let f = &self.scenario.faults[i];
                let when = f.when.as_ref().expect("a trigger entry has a trigger");
                unfired_triggers.push(UnfiredTrigger {
                    line: f.line,
                    when: when.when_toml(),
                    matched,
                });
            }
        }
        for u in &unfired_triggers {
            let (line, when, matched) = (u.line, u.when.clone(), u.matched);
            self.record(|_| TraceEvent::Trigger {
                line,
                when,
                event: "never fired".into(),
                matched,
                delay: 0,
            });
        }
        if let Some(start) = self.partition_since.take() {
            self.partition_windows.push((start, self.now));
        }
        let summary = self.protocol.summary(&self.nodes);
        let invariants = self.protocol.invariants();
        let history_not_checkable = self.protocol.history_not_checkable();
        // Each client's round trip to its nearest server, from the network as
        // configured (before any fault): PACELC's "one client round trip".
        let servers = self.cluster.servers().to_vec();
        let client_rtt_ns: Vec<Nanos> = self
            .cluster
            .clients()
            .iter()
            .map(|c| {
                servers
                    .iter()
                    .map(|s| {
                        self.base_net.link(c.index(), s.index()).latency.mean()
                            + self.base_net.link(s.index(), c.index()).latency.mean()
                    })
                    .fold(f64::INFINITY, f64::min) as Nanos
            })
            .collect();
        RunOutput {
            seed: self.seed,
            end_ns: self.now,
            fingerprint: self.fp.hex(),
            counters: self.counters,
            history: self.history,
            op_meta: self.op_meta,
            violations: self.violations,
            partition_windows: self.partition_windows,
            trace: self.trace,
            statuses: self
                .nodes
                .iter()
                .map(|n| n.as_ref().map(|n| n.status()))
                .collect(),
            cluster: self.cluster,
            summary,
            invariants,
            history_not_checkable,
            client_rtt_ns,
            nemesis_log: self.nemesis_log,
            stopped_early: self.stopped_early,
            unfired_triggers,
        }
    }
}

/// A `[[faults]]` entry whose trigger never fired: its line, its trigger as
/// written, and how many events matched it (fewer than its `count`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UnfiredTrigger {
    pub line: usize,
    pub when: String,
    pub matched: u64,
}

pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    }
}

pub fn show_value(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(l) => format!("{l:?}"),
    }
}

pub fn describe_op(key: &str, f: &OpFn) -> String {
    match f {
        OpFn::Read => format!("get {key}"),
        OpFn::Write(v) => format!("put {key} {}", show_value(v)),
        OpFn::Cas { expected, new } => {
            format!("cas {key} {}->{}", show_value(expected), show_value(new))
        }
        OpFn::Append(v) => format!("append {key} {}", show_value(v)),
        OpFn::Delete => format!("delete {key}"),
    }
}

fn describe_latency(l: &LatencyDist) -> String {
    match l {
        LatencyDist::Constant { value } => format!("latency {}", fmt_duration(*value)),
        LatencyDist::Uniform { min, max } => {
            format!("latency {}..{}", fmt_duration(*min), fmt_duration(*max))
        }
        LatencyDist::Normal { mean, stddev, .. } => format!(
            "latency normal {}±{}",
            fmt_duration(*mean),
            fmt_duration(*stddev)
        ),
        LatencyDist::Exponential { mean, .. } => {
            format!("latency exponential mean {}", fmt_duration(*mean))
        }
        LatencyDist::Lognormal { median, sigma } => format!(
            "latency lognormal median {} sigma {sigma}",
            fmt_duration(*median)
        ),
        LatencyDist::Pareto { scale, alpha } => format!(
            "latency pareto scale {} alpha {alpha}",
            fmt_duration(*scale)
        ),
    }
}

/// A run in progress, whatever its protocol: what a driver such as the TUI
/// needs to step a run and look at it.
pub trait Running {
    /// Processes one event; false once the run is over.
    fn advance(&mut self) -> bool;
    fn now(&self) -> Nanos;
    fn statuses(&self) -> Vec<Option<Status>>;
    /// (paused, clock, fsync lies) of node `i`.
    fn node_state(&self, i: usize) -> (bool, Clock, bool);
    fn net(&self) -> &Net;
    fn trace(&self) -> &[TraceRecord];
    fn cluster(&self) -> &Cluster;
    fn counters(&self) -> &Counters;
    fn finish(self: Box<Self>) -> RunOutput;
}

impl<P: Protocol> Running for Sim<'_, P> {
    fn advance(&mut self) -> bool {
        Sim::advance(self)
    }
    fn now(&self) -> Nanos {
        Sim::now(self)
    }
    fn statuses(&self) -> Vec<Option<Status>> {
        Sim::statuses(self)
    }
    fn node_state(&self, i: usize) -> (bool, Clock, bool) {
        Sim::node_state(self, i)
    }
    fn net(&self) -> &Net {
        Sim::net(self)
    }
    fn trace(&self) -> &[TraceRecord] {
        Sim::trace(self)
    }
    fn cluster(&self) -> &Cluster {
        Sim::cluster(self)
    }
    fn counters(&self) -> &Counters {
        Sim::counters(self)
    }
    fn finish(self: Box<Self>) -> RunOutput {
        Sim::finish(*self)
    }
}
