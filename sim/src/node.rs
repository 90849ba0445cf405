//! The Node API: protocols are sans-IO state machines that react to messages,
//! timers and client requests by recording effects in a [`Ctx`].
//!
//! Nothing here performs I/O. The kernel (or any other driver) gives a node a
//! `Ctx`, calls one handler, and then carries out the effects the node recorded:
//! messages to send, timers to set or cancel, client operations completed,
//! invariant violations noticed. The node's disk is part of the `Ctx` because a
//! node must be rebuilt from it alone after a crash.

use std::fmt;

use rand_chacha::ChaCha8Rng;

pub use crate::disk::{Disk, DiskKey, Stored};
use crate::history::{OpFn, Outcome, Value};
use crate::time::Nanos;
use crate::workload::Operation;

/// A node's index in the run: servers `n1..nN` come first, then clients `c1..cK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// `#3`: the node's index. A `NodeId` alone does not know how many servers
/// the run has, so it cannot tell `n4` from `c1`; `Cluster` names nodes.
impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A timer chosen by the node. Setting a timer that is already set moves it, so a
/// node can name its timers (`ELECTION`, `HEARTBEAT`) and never track handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// Identifies one client operation in the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// A protocol's messages describe themselves for the trace.
pub trait Message: Clone + fmt::Debug {
    /// A short name for the kind of message (`"AppendEntries"`), shown in the
    /// trace and the TUI and hashed into the fingerprint.
    fn kind(&self) -> &'static str;

    /// Every kind [`Message::kind`] returns, when the type lists them (the
    /// `sim::message!` macro does): a fault trigger naming another kind is
    /// then refused. `None`: any kind is accepted, and a trigger that never
    /// fires is reported.
    fn kinds() -> Option<&'static [&'static str]> {
        None
    }
}

/// What the TUI and the trace show about a node: its role and a few named fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub role: &'static str,
    pub fields: Vec<(&'static str, String)>,
}

/// An operation the workload hands to a client node: a key-value operation
/// by default, or the protocol's own ([`Node::Op`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<F = OpFn> {
    pub id: OpId,
    pub key: String,
    pub f: F,
}

/// A protocol node: a server or a client. See the module documentation.
pub trait Node {
    type Msg: Message;
    /// What its clients are asked ([`OpFn`] for a key-value store; what the
    /// protocol's workload draws, see [`crate::workload`]).
    type Op: Operation;

    /// Called once when the node starts, and again after every restart (on a node
    /// freshly rebuilt from its disk).
    fn on_start(&mut self, ctx: &mut Ctx<Self::Msg>);

    /// A message from `from` has arrived.
    fn on_message(&mut self, ctx: &mut Ctx<Self::Msg>, from: NodeId, msg: Self::Msg);

    /// A timer this node set has fired.
    fn on_timer(&mut self, ctx: &mut Ctx<Self::Msg>, timer: TimerId);

    /// The workload hands a client a new operation; the client must eventually call
    /// [`Ctx::complete`] for it. Only client nodes receive requests, and a client
    /// receives the next one only after completing the previous.
    fn on_request(&mut self, ctx: &mut Ctx<Self::Msg>, req: Request<Self::Op>);

    /// The node's role, cheap to call: the kernel compares it after every step to
    /// trace role changes and to resolve role targets such as `leader`.
    fn role(&self) -> &'static str;

    /// The node's full status for the TUI and the trace.
    fn status(&self) -> Status;
}

/// An effect a node recorded; the driver carries it out after the handler returns.
/// Comparable, so a unit test can assert a handler's exact effects
/// (`assert_eq!(fx.0, vec![Effect::Send { .. }])`).
#[derive(Clone, Debug, PartialEq)]
pub enum Effect<M> {
    Send {
        to: NodeId,
        msg: M,
    },
    SetTimer {
        id: TimerId,
        after: Nanos,
    },
    CancelTimer {
        id: TimerId,
    },
    /// `served`: the system answered (an `ok`, or a definite refusal such as a
    /// cas that found another value). Unserved operations (timeouts, "no leader"
    /// after every retry) count against availability.
    ///
    /// `found_other`: a cas answered "the key holds another value" (outcome
    /// `Fail`): an observation the checker holds the system to, see
    /// [`crate::history::Op::found_other`].
    Complete {
        op: OpId,
        outcome: Outcome,
        output: Option<Value>,
        served: bool,
        found_other: bool,
    },
    Violation {
        invariant: &'static str,
        detail: String,
    },
    /// A protocol event worth naming (`prepared`, `decided`): traced, and a
    /// fault may be triggered by it. It changes nothing in the run.
    Note {
        note: &'static str,
    },
}

/// The names and kinds of the nodes in a run, as nodes see them. Shared:
/// the kernel and the protocol each hold it, and an explored run is copied
/// at every step, so a copy is a reference count.
#[derive(Clone, Debug, Default)]
pub struct Cluster(std::sync::Arc<Members>);

#[derive(Debug, Default)]
struct Members {
    names: Vec<std::sync::Arc<str>>,
    servers: Vec<NodeId>,
    clients: Vec<NodeId>,
    /// Nodes a protocol runs beside the scenario's (see
    /// [`crate::protocol::Protocol::services`]), after the clients.
    services: Vec<NodeId>,
}

impl Cluster {
    pub fn new(servers: usize, clients: usize) -> Self {
        Cluster::with_services(servers, clients, &[])
    }
    /// Servers `n1..`, clients `c1..`, then one node per name in
    /// `services` (a protocol's own nodes, such as Maelstrom's `lin-kv`):
    /// they come last, so the servers' and clients' ids (and their random
    /// streams) are those of a run without them.
    pub fn with_services(servers: usize, clients: usize, services: &[String]) -> Self {
        let mut names = Vec::with_capacity(servers + clients + services.len());
        names.extend((1..=servers).map(|i| format!("n{i}").into()));
        names.extend((1..=clients).map(|i| format!("c{i}").into()));
        names.extend(services.iter().map(|s| s.as_str().into()));
        let first = (servers + clients) as u32;
        Cluster(std::sync::Arc::new(Members {
            names,
            servers: (0..servers as u32).map(NodeId).collect(),
            clients: (servers as u32..first).map(NodeId).collect(),
            services: (first..first + services.len() as u32).map(NodeId).collect(),
        }))
    }
    pub fn servers(&self) -> &[NodeId] {
        &self.0.servers
    }
    pub fn clients(&self) -> &[NodeId] {
        &self.0.clients
    }
    /// The protocol's own nodes, after the clients (none for most).
    pub fn services(&self) -> &[NodeId] {
        &self.0.services
    }
    pub fn is_service(&self, id: NodeId) -> bool {
        id.index() >= self.0.servers.len() + self.0.clients.len()
    }
    pub fn len(&self) -> usize {
        self.0.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.names.is_empty()
    }
    pub fn name(&self, id: NodeId) -> &str {
        &self.0.names[id.index()]
    }
    /// The name as a shared string, for records that keep it.
    pub fn name_arc(&self, id: NodeId) -> std::sync::Arc<str> {
        self.0.names[id.index()].clone()
    }
    pub fn is_client(&self, id: NodeId) -> bool {
        id.index() >= self.0.servers.len() && !self.is_service(id)
    }
    /// Looks a node up by name (`n3`, `c1`).
    pub fn by_name(&self, name: &str) -> Option<NodeId> {
        self.0
            .names
            .iter()
            .position(|n| &**n == name)
            .map(|i| NodeId(i as u32))
    }
    /// The number of servers that make a majority.
    pub fn majority(&self) -> usize {
        self.0.servers.len() / 2 + 1
    }
    /// Client `c3` is process 3 in the history.
    pub fn process_of(&self, client: NodeId) -> u64 {
        (client.index() - self.0.servers.len() + 1) as u64
    }
}

/// A node's two clocks, as an operating system gives them to a process.
///
/// - The **monotonic clock** ([`Clock::mono`], `Ctx::mono_time`) measures
///   elapsed time, like `CLOCK_MONOTONIC` or Rust's `Instant`. It is subject to
///   a rate error (`drift`: the oscillator runs fast or slow, or NTP slews it)
///   but never steps: it only moves forward, continuously. Measure durations
///   on it: timeouts, leases, "how long since I last heard from the leader".
/// - The **wall clock** ([`Clock::wall`], `Ctx::local_time`) says what time it
///   is, like `CLOCK_REALTIME` or `SystemTime`. It runs at the same drifted
///   rate, and it also steps (`offset`: an NTP step, an operator setting the
///   date), forward or back. Use it for timestamps other nodes compare (last
///   writer wins), never to measure a duration.
///
/// A clock fault changes the clocks from the instant it is set, never
/// retroactively: a new drift changes the rate from now on (both clocks read
/// on continuously from where they were), and a new offset steps the wall
/// clock to true time plus that offset (the monotonic clock does not move).
/// `Clock::default()` is a perfect clock: both read true time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Clock {
    /// The wall clock's offset from true time at `since`, in nanoseconds (may
    /// be negative): the last step, plus the drift accumulated before it.
    pub offset_ns: i64,
    /// Rate error of both clocks since `since`: 0.01 means they run 1% fast.
    pub drift: f64,
    /// The true time at which the clock was last set (the anchor of `drift`).
    pub since: Nanos,
    /// What the monotonic clock read at `since`.
    pub mono_at_since: Nanos,
}

impl Clock {
    /// How far a clock running at this drift advances while `elapsed` true
    /// nanoseconds pass.
    fn advance(&self, elapsed: Nanos) -> i64 {
        if self.drift == 0.0 {
            elapsed as i64
        } else {
            (elapsed as f64 * (1.0 + self.drift)) as i64
        }
    }

    /// What the wall clock reads at true time `now` (`now` >= `since`).
    pub fn wall(&self, now: Nanos) -> Nanos {
        let base = (self.since as i64).saturating_add(self.offset_ns);
        base.saturating_add(self.advance(now.saturating_sub(self.since)))
            .max(0) as Nanos
    }

    /// What the monotonic clock reads at true time `now` (`now` >= `since`).
    pub fn mono(&self, now: Nanos) -> Nanos {
        (self.mono_at_since as i64)
            .saturating_add(self.advance(now.saturating_sub(self.since)))
            .max(0) as Nanos
    }

    /// The wall clock's reading at `now` (the name older code uses).
    pub fn read(&self, now: Nanos) -> Nanos {
        self.wall(now)
    }

    /// The wall clock's current offset from true time (steps plus the drift
    /// accumulated since), for the TUI and the trace.
    pub fn offset_at(&self, now: Nanos) -> i64 {
        self.wall(now) as i64 - now as i64
    }

    /// The clock after a clock fault at true time `now`. `offset`: the wall
    /// clock steps to `now + offset` (`None`: it reads on continuously).
    /// `drift`: the new rate error of both clocks from `now` on (`None`: the
    /// rate is unchanged). The monotonic clock never steps.
    pub fn set(&self, now: Nanos, offset: Option<i64>, drift: Option<f64>) -> Clock {
        Clock {
            offset_ns: offset.unwrap_or_else(|| self.offset_at(now)),
            drift: drift.unwrap_or(self.drift),
            since: now,
            mono_at_since: self.mono(now),
        }
    }

    /// Whether the clock is perfect from here on: the wall clock reads true
    /// time and neither clock drifts (the monotonic clock may still show the
    /// error it accumulated, which no fault can undo: it never steps).
    pub fn is_true(&self, now: Nanos) -> bool {
        self.drift == 0.0 && self.offset_at(now) == 0
    }

    /// How much true time passes while this clock advances by `local`.
    pub fn true_duration(&self, local: Nanos) -> Nanos {
        if self.drift == 0.0 {
            local
        } else {
            (local as f64 / (1.0 + self.drift)).round().max(0.0) as Nanos
        }
    }
}

/// A node's window on the world while one handler runs.
pub struct Ctx<'a, M> {
    pub(crate) me: NodeId,
    pub(crate) now: Nanos,
    pub(crate) clock: Clock,
    pub(crate) rng: &'a mut ChaCha8Rng,
    pub(crate) disk: &'a mut Disk,
    pub(crate) cluster: &'a Cluster,
    pub(crate) effects: &'a mut Vec<Effect<M>>,
    pub(crate) incarnation: u64,
}

impl<'a, M> Ctx<'a, M> {
    /// Builds a context by hand: for drivers other than the kernel and for unit
    /// tests that assert the exact effects a handler records.
    pub fn new(
        me: NodeId,
        now: Nanos,
        clock: Clock,
        rng: &'a mut ChaCha8Rng,
        disk: &'a mut Disk,
        cluster: &'a Cluster,
        effects: &'a mut Vec<Effect<M>>,
    ) -> Self {
        Ctx {
            me,
            now,
            clock,
            rng,
            disk,
            cluster,
            effects,
            incarnation: 0,
        }
    }

    /// The same context for a node that has been restarted `incarnation`
    /// times (see [`Ctx::incarnation`]). A driver that restarts nodes must
    /// count and say so; [`Ctx::new`] is incarnation 0.
    pub fn with_incarnation(mut self, incarnation: u64) -> Self {
        self.incarnation = incarnation;
        self
    }

    /// This node.
    pub fn me(&self) -> NodeId {
        self.me
    }
    /// How many times this node has been restarted: 0 from its first start
    /// until its first crash, then one more for each restart. The driver
    /// counts, not the node, so it survives a disk that lost everything.
    ///
    /// It is what makes a client's identity unique across restarts: a
    /// restarted client is a new process that remembers nothing, so it opens
    /// a new *session* (its node id and this incarnation, see
    /// [`crate::client::SessionId`]) and numbers its requests from 1 again,
    /// instead of reusing numbers its old session already spent. Servers keep
    /// one session per client node and treat a higher incarnation as a new
    /// session, a lower one as a dead process's late message.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }
    /// True virtual time, which no node can read in a real system: use it for
    /// report figures and unique numbers, never for a decision. A protocol
    /// measures durations (timeouts, leases, TTLs) on [`Ctx::mono_time`] and
    /// takes timestamps from [`Ctx::local_time`]; clock faults distort both.
    pub fn now(&self) -> Nanos {
        self.now
    }
    /// This node's **wall clock** (see [`Clock`]): drifts, and steps when a
    /// clock fault sets an offset. For timestamps, not for durations: a
    /// duration measured on it stretches or shrinks by every step.
    pub fn local_time(&self) -> Nanos {
        self.clock.wall(self.now)
    }
    /// This node's **monotonic clock** (see [`Clock`]): drifts (a rate error
    /// within the protocol's assumed bound) but never steps. Measure elapsed
    /// time on it: timeouts, leases, time since a peer was last heard.
    pub fn mono_time(&self) -> Nanos {
        self.clock.mono(self.now)
    }
    /// This node's clock itself: for figures in virtual time (how long a
    /// local duration really lasts), not for decisions.
    pub fn clock(&self) -> Clock {
        self.clock
    }
    /// This node's own random stream.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }
    pub fn disk(&mut self) -> &mut Disk {
        self.disk
    }
    pub fn cluster(&self) -> &Cluster {
        self.cluster
    }
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.effects.push(Effect::Send { to, msg });
    }
    /// Sets (or moves) timer `id` to fire after `after` nanoseconds of this
    /// node's monotonic clock: a drifting clock fires early or late in true
    /// time, a step of the wall clock does not move it. The true firing time
    /// is fixed here, at the drift in force now: if a clock fault changes the
    /// drift while the timer is pending, the timer does not follow (it fires
    /// as if the old rate held); timers set after the change run at the new
    /// rate.
    pub fn set_timer(&mut self, id: TimerId, after: Nanos) {
        let after = self.clock.true_duration(after);
        self.effects.push(Effect::SetTimer { id, after });
    }
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.effects.push(Effect::CancelTimer { id });
    }
    /// Clients only: the system answered operation `op`. `Ok` means it took
    /// effect (with the value read, for reads), `Fail` that it certainly did not
    /// (a transfer that aborted), `Info` that the answer leaves it unknown. A
    /// cas that found another value is [`Ctx::complete_found_other`].
    pub fn complete(&mut self, op: OpId, outcome: Outcome, output: Option<Value>) {
        self.effects.push(Effect::Complete {
            op,
            outcome,
            output,
            served: true,
            found_other: false,
        });
    }

    /// Clients only: the system answered cas `op` with "the key holds another
    /// value". It wrote nothing (`Fail`), and it observed that the key did not
    /// hold the expected value while the cas was open.
    pub fn complete_found_other(&mut self, op: OpId) {
        self.effects.push(Effect::Complete {
            op,
            outcome: Outcome::Fail,
            output: None,
            served: true,
            found_other: true,
        });
    }

    /// Clients only: the client gave up on `op` without an answer from the
    /// system (every attempt timed out: `Info`; or was refused: `Fail`).
    pub fn give_up(&mut self, op: OpId, outcome: Outcome) {
        self.effects.push(Effect::Complete {
            op,
            outcome,
            output: None,
            served: false,
            found_other: false,
        });
    }
    /// Reports a protocol event by name (`"prepared"`, `"decided"`): the trace
    /// shows it, and a scenario's fault can be triggered by it
    /// (`when = { event = "note", note = "prepared" }`). A note changes nothing
    /// else: it is not part of the run's fingerprint.
    pub fn note(&mut self, note: &'static str) {
        self.effects.push(Effect::Note { note });
    }
    /// Records that a safety invariant this node can check locally is broken.
    pub fn violation(&mut self, invariant: &'static str, detail: String) {
        self.effects.push(Effect::Violation { invariant, detail });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_fires_timers_early_in_true_time() {
        let c = Clock::default().set(0, None, Some(0.25));
        assert_eq!(c.true_duration(1_250), 1_000);
        assert_eq!(c.read(1_000), 1_250);
        assert_eq!(c.mono(1_000), 1_250);
    }

    #[test]
    fn drift_starts_where_it_is_set_and_does_not_step_the_clock() {
        // Issue 22: drift -0.05 set at 20s used to read 20s x 0.95 = 19s at
        // once, a 1s step back. It must change the rate from 20s on only.
        let s = 1_000_000_000;
        let c = Clock::default().set(20 * s, None, Some(-0.05));
        assert_eq!(c.wall(20 * s), 20 * s, "no step at the moment of setting");
        assert_eq!(c.mono(20 * s), 20 * s);
        assert_eq!(c.wall(30 * s), 20 * s + 9_500_000_000, "10s at 95%");
        assert_eq!(c.mono(30 * s), 20 * s + 9_500_000_000);
        // A second drift continues from the reading, not from true time.
        let c2 = c.set(30 * s, None, Some(0.1));
        assert_eq!(c2.wall(30 * s), c.wall(30 * s));
        assert_eq!(c2.wall(40 * s), c.wall(30 * s) + 11 * s);
        assert_eq!(c2.mono(40 * s), c.mono(30 * s) + 11 * s);
    }

    #[test]
    fn a_step_moves_the_wall_clock_and_never_the_monotonic_clock() {
        let s = 1_000_000_000;
        let c = Clock::default().set(5 * s, Some(-(s as i64)), None);
        assert_eq!(c.wall(5 * s), 4 * s, "the wall clock steps back 1s");
        assert_eq!(c.mono(5 * s), 5 * s, "the monotonic clock does not");
        assert_eq!(c.wall(6 * s), 5 * s);
        assert_eq!(c.mono(6 * s), 6 * s);
        // Resetting (offset 0, drift 0) puts the wall clock right; the
        // monotonic clock keeps its reading and its rate is true again.
        let d = Clock::default()
            .set(0, None, Some(0.5))
            .set(2 * s, Some(0), Some(0.0));
        assert_eq!(d.wall(2 * s), 2 * s);
        assert_eq!(d.mono(2 * s), 3 * s);
        assert_eq!(d.mono(3 * s), 4 * s);
        assert!(d.is_true(3 * s));
        // Monotonic readings never decrease across any sequence of faults.
        let mut c = Clock::default();
        let mut last = 0;
        for (k, (off, dr)) in [
            (Some(-3 * s as i64), Some(-0.5)),
            (Some(7 * s as i64), None),
            (None, Some(1.0)),
            (Some(0), Some(0.0)),
        ]
        .into_iter()
        .enumerate()
        {
            let t = (k as u64 + 1) * s;
            assert!(c.mono(t) >= last);
            c = c.set(t, off, dr);
            assert!(c.mono(t) >= last);
            last = c.mono(t);
        }
    }
}
