//! [`Net`]: several nodes of one protocol driven by hand, with the messages
//! between them held in flight until the test delivers them (see the module
//! documentation of [`crate::testing`]).

use std::collections::{BTreeMap, BTreeSet};

use super::harness::{Completion, Effects, Harness, DEFAULT_SEED};
use crate::node::{Clock, Cluster, Ctx, Disk, Effect, Node, NodeId, Request, TimerId};
use crate::protocol::{Findings, OpOf, Protocol, Step, Violation};
use crate::time::{ms, Nanos};

/// The messages of protocol `P`.
pub type MsgOf<P> = <<P as Protocol>::Node as Node>::Msg;

/// How long a message a [`Net`] carries takes unless the test sets
/// [`Net::latency`]: 1ms.
pub const DEFAULT_LATENCY: Nanos = ms(1);

/// How many events one [`Net::run_until`] (or [`Net::deliver_all`]) may
/// process before it calls the protocol livelocked and fails the test.
pub const EVENT_LIMIT: u64 = 1_000_000;

/// A message in flight: sent, not yet delivered or lost.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<M> {
    /// Its number: every message and timer a net schedules takes the next
    /// one, so it orders events due at the same instant, as the kernel does.
    pub id: u64,
    pub from: NodeId,
    pub to: NodeId,
    pub msg: M,
    /// When it was sent, and when [`Net::step`] delivers it (sent plus the
    /// latency).
    pub sent_at: Nanos,
    pub due: Nanos,
}

/// One effect a node recorded, with when and who: the net's log.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged<M> {
    pub at: Nanos,
    pub node: NodeId,
    pub effect: Effect<M>,
}

/// A property found broken: reported by a handler
/// ([`Ctx::violation`]) or by the protocol's [`Protocol::check`], which the
/// net runs after every handler as the kernel does.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub at: Nanos,
    /// The node whose step broke it.
    pub node: NodeId,
    pub violation: Violation,
}

/// Several nodes of protocol `P`, the messages between them and their
/// timers, driven by hand. See the module documentation.
///
/// Every node is built by the protocol ([`Protocol::build`]) from its disk,
/// as a run builds it, and gets the RNG the kernel gives it in a run with
/// seed [`DEFAULT_SEED`] (or [`Net::seeded`]'s). Each handler's effects are
/// carried out the way the kernel carries them out: a send goes in flight
/// (or is lost on a cut link), a timer is set, moved or cancelled, and every
/// effect goes in the net's log; then the protocol checks its properties.
/// The handler's effects are also returned, to assert exactly.
///
/// Nothing happens unless the test calls for it. By hand: [`Net::deliver`]
/// one message in flight, [`Net::inject`] a message nobody sent,
/// [`Net::fire`] a timer, [`Net::request`] a client operation. In the order
/// messages were sent, without moving time: [`Net::deliver_next`],
/// [`Net::deliver_all`], [`Net::deliver_among`]. In time order, moving
/// time: [`Net::step`], [`Net::run_until`], [`Net::run_for`],
/// [`Net::fire_next`].
pub struct Net<P: Protocol> {
    /// The protocol: it builds the nodes and checks their properties. A test
    /// may read its state (a checker, a membership timeline).
    pub protocol: P,
    /// How long every message takes, from now on (1ms unless set).
    pub latency: Nanos,
    cluster: Cluster,
    nodes: Vec<Option<P::Node>>,
    /// Each node's world besides the node itself: disk, RNG, clock and
    /// incarnation, and the [`Harness::call`] that builds its context.
    hosts: Vec<Harness<()>>,
    now: Nanos,
    seq: u64,
    flight: Vec<Envelope<MsgOf<P>>>,
    /// Pending timers: when each is due, and its number.
    timers: BTreeMap<(NodeId, TimerId), (Nanos, u64)>,
    /// Directed links that carry nothing.
    cuts: BTreeSet<(NodeId, NodeId)>,
    log: Vec<Logged<MsgOf<P>>>,
    lost: Vec<Envelope<MsgOf<P>>>,
    found: Vec<Found>,
    truths: BTreeMap<&'static str, bool>,
}

impl<P: Protocol> Net<P> {
    /// Every node of `cluster`, built by `protocol` from an empty disk, at
    /// time 0, with perfect clocks. None has started: call
    /// [`Net::start_all`] (as a run does at time 0) or [`Net::start`].
    pub fn new(protocol: P, cluster: Cluster) -> Self {
        let ids: Vec<NodeId> = (0..cluster.len() as u32).map(NodeId).collect();
        let hosts: Vec<Harness<()>> = ids
            .iter()
            .map(|&id| Harness::new(cluster.clone(), id, ()).stream(DEFAULT_SEED))
            .collect();
        let nodes = ids
            .iter()
            .map(|&id| Some(protocol.build(id, &cluster, &hosts[id.index()].disk)))
            .collect();
        Net {
            protocol,
            latency: DEFAULT_LATENCY,
            cluster,
            nodes,
            hosts,
            now: 0,
            seq: 0,
            flight: Vec::new(),
            timers: BTreeMap::new(),
            cuts: BTreeSet::new(),
            log: Vec::new(),
            lost: Vec::new(),
            found: Vec::new(),
            truths: BTreeMap::new(),
        }
    }

    /// The same net with each node's RNG the one the kernel gives it in a
    /// run with `seed`.
    pub fn seeded(mut self, seed: u64) -> Self {
        self.hosts = std::mem::take(&mut self.hosts)
            .into_iter()
            .map(|h| h.stream(seed))
            .collect();
        self
    }

    /// The same net starting at time `now`.
    pub fn at(mut self, now: Nanos) -> Self {
        self.now = now;
        self
    }

    /// The same net with node `id` rebuilt from `disk` (a node that already
    /// has a log, a term, a vote).
    pub fn with_disk(mut self, id: NodeId, disk: Disk) -> Self {
        self.hosts[id.index()].disk = disk;
        self.rebuild(id);
        self
    }

    /// Runs every node's `on_start`, in id order.
    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(NodeId(i as u32));
        }
    }

    /// Runs node `id`'s `on_start`.
    pub fn start(&mut self, id: NodeId) -> Effects<MsgOf<P>> {
        self.handle(id, |n, ctx| n.on_start(ctx))
    }

    // ---- time ----

    /// Virtual time now.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Moves time forward by `by` without processing anything: what fell due
    /// meanwhile is late, and [`Net::step`] processes it at the new time.
    pub fn advance(&mut self, by: Nanos) {
        self.now += by;
    }

    /// Processes the next event due, a message or a timer (the earliest; at
    /// the same instant, the one scheduled first), moving time to when it is
    /// due if that is later. False if nothing is pending.
    pub fn step(&mut self) -> bool {
        match self.next_event() {
            Some((due, Next::Message(k))) => {
                self.now = self.now.max(due);
                let env = self.flight.remove(k);
                self.carry(env);
            }
            Some((due, Next::Timer(id, timer))) => {
                self.now = self.now.max(due);
                self.fire(id, timer);
            }
            None => return false,
        }
        true
    }

    /// Processes every event due up to time `until`, in time order, and
    /// leaves time at `until`.
    ///
    /// # Panics
    /// After [`EVENT_LIMIT`] events (a livelock: timers that keep firing at
    /// the same instant).
    pub fn run_until(&mut self, until: Nanos) {
        for _ in 0..EVENT_LIMIT {
            match self.next_event() {
                Some((due, _)) if due <= until => self.step(),
                _ => {
                    self.now = self.now.max(until);
                    return;
                }
            };
        }
        panic!("Net::run_until({until}): {EVENT_LIMIT} events without reaching it");
    }

    /// [`Net::run_until`] `by` from now.
    pub fn run_for(&mut self, by: Nanos) {
        self.run_until(self.now + by);
    }

    /// Fires the earliest pending timer (moving time to when it is due if
    /// that is later): which node, which timer, and the handler's effects.
    /// Messages in flight stay there.
    pub fn fire_next(&mut self) -> Option<(NodeId, TimerId, Effects<MsgOf<P>>)> {
        let (&(id, timer), &(due, _)) = self.timers.iter().min_by_key(|(k, v)| (**v, **k))?;
        self.now = self.now.max(due);
        Some((id, timer, self.fire(id, timer)))
    }

    /// The timers node `id` has pending, with when each is due, in timer
    /// order.
    pub fn timers(&self, id: NodeId) -> Vec<(TimerId, Nanos)> {
        self.timers
            .range((id, TimerId(0))..=(id, TimerId(u64::MAX)))
            .map(|(&(_, t), &(due, _))| (t, due))
            .collect()
    }

    fn next_event(&self) -> Option<(Nanos, Next)> {
        let msg = (self.flight.iter().enumerate())
            .min_by_key(|(_, e)| (e.due, e.id))
            .map(|(k, e)| ((e.due, e.id), Next::Message(k)));
        let timer = (self.timers.iter())
            .min_by_key(|(k, v)| (**v, **k))
            .map(|(&(id, t), &at)| (at, Next::Timer(id, t)));
        [msg, timer]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at)
            .map(|((due, _), next)| (due, next))
    }

    // ---- by hand ----

    /// Node `to` receives `msg` from `from` now: a message nobody sent (or
    /// one the test rewrote), past the network and its cuts.
    ///
    /// # Panics
    /// If `to` is down.
    pub fn inject(&mut self, from: NodeId, to: NodeId, msg: MsgOf<P>) -> Effects<MsgOf<P>> {
        self.handle(to, |n, ctx| n.on_message(ctx, from, msg))
    }

    /// Fires node `id`'s timer `timer` now, whether or not it was set or due
    /// (a test may check that a stale timer is harmless); it is no longer
    /// pending.
    ///
    /// # Panics
    /// If `id` is down.
    pub fn fire(&mut self, id: NodeId, timer: TimerId) -> Effects<MsgOf<P>> {
        self.timers.remove(&(id, timer));
        self.handle(id, |n, ctx| n.on_timer(ctx, timer))
    }

    /// Hands client `client` a workload operation now.
    ///
    /// # Panics
    /// If `client` is down.
    pub fn request(&mut self, client: NodeId, req: Request<OpOf<P>>) -> Effects<MsgOf<P>> {
        self.handle(client, |n, ctx| n.on_request(ctx, req))
    }

    /// Runs `f` on node `id` with a fresh context, carries out its effects
    /// and checks the properties, as for a handler: for handlers beyond the
    /// four of [`Node`].
    ///
    /// # Panics
    /// If `id` is down.
    pub fn call<T>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut P::Node, &mut Ctx<MsgOf<P>>) -> T,
    ) -> (T, Effects<MsgOf<P>>) {
        let i = id.index();
        let node = self.nodes[i]
            .as_mut()
            .unwrap_or_else(|| panic!("{id} is down: restart it first"));
        let host = &mut self.hosts[i];
        host.now = self.now;
        let (out, effects) = host.call(|(), ctx| f(node, ctx));
        self.carry_out(id, &effects);
        (out, effects)
    }

    fn handle(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut P::Node, &mut Ctx<MsgOf<P>>),
    ) -> Effects<MsgOf<P>> {
        self.call(id, f).1
    }

    // ---- the network ----

    /// The messages in flight, in the order they were sent.
    pub fn in_flight(&self) -> &[Envelope<MsgOf<P>>] {
        &self.flight
    }

    /// Delivers message `id` (its [`Envelope::id`]) now, whenever it is due,
    /// and returns what its receiver did: nothing if the link is cut now or
    /// the receiver is down (the message is then lost, see [`Net::lost`]).
    ///
    /// # Panics
    /// If no message `id` is in flight.
    pub fn deliver(&mut self, id: u64) -> Effects<MsgOf<P>> {
        let k = (self.flight.iter().position(|e| e.id == id))
            .unwrap_or_else(|| panic!("no message {id} in flight"));
        let env = self.flight.remove(k);
        self.carry(env)
    }

    /// Delivers the first message in flight from `from` to `to`, now.
    ///
    /// # Panics
    /// If none is in flight.
    pub fn deliver_from(&mut self, from: NodeId, to: NodeId) -> Effects<MsgOf<P>> {
        let id = (self.flight.iter().find(|e| (e.from, e.to) == (from, to)))
            .unwrap_or_else(|| panic!("no message from {from} to {to} in flight"))
            .id;
        self.deliver(id)
    }

    /// Delivers the first message in flight (sent first), now.
    pub fn deliver_next(&mut self) -> Option<Effects<MsgOf<P>>> {
        let id = self.flight.first()?.id;
        Some(self.deliver(id))
    }

    /// Delivers every message in flight, now, in the order they were sent,
    /// and then those they caused, until none is left (timers stay
    /// pending). Returns how many it delivered.
    ///
    /// # Panics
    /// After [`EVENT_LIMIT`] messages (nodes that answer every message with
    /// another forever).
    pub fn deliver_all(&mut self) -> usize {
        self.deliver_while(|_| true)
    }

    /// [`Net::deliver_all`] for the messages between `group` only: the others
    /// stay in flight, as if the rest of the network were slow.
    pub fn deliver_among(&mut self, group: &[NodeId]) -> usize {
        self.deliver_while(|e| group.contains(&e.from) && group.contains(&e.to))
    }

    fn deliver_while(&mut self, which: impl Fn(&Envelope<MsgOf<P>>) -> bool) -> usize {
        for n in 0..EVENT_LIMIT as usize {
            match self.flight.iter().find(|e| which(e)).map(|e| e.id) {
                Some(id) => self.deliver(id),
                None => return n,
            };
        }
        panic!("Net: {EVENT_LIMIT} messages delivered and still more in flight");
    }

    /// Puts a copy of message `id` in flight, as a network that duplicates
    /// does: sent and due when the original was, after it at the same
    /// instant. Returns the copy's id.
    ///
    /// # Panics
    /// If no message `id` is in flight.
    pub fn duplicate(&mut self, id: u64) -> u64 {
        let original = (self.flight.iter().find(|e| e.id == id))
            .unwrap_or_else(|| panic!("no message {id} in flight"));
        self.seq += 1;
        let copy = Envelope {
            id: self.seq,
            ..original.clone()
        };
        self.flight.push(copy);
        self.seq
    }

    /// Loses message `id` in flight, and returns it.
    ///
    /// # Panics
    /// If no message `id` is in flight.
    pub fn lose(&mut self, id: u64) -> Envelope<MsgOf<P>> {
        let k = (self.flight.iter().position(|e| e.id == id))
            .unwrap_or_else(|| panic!("no message {id} in flight"));
        let env = self.flight.remove(k);
        self.lost.push(env.clone());
        env
    }

    /// Loses every message in flight that `which` picks; returns how many.
    pub fn lose_where(&mut self, which: impl Fn(&Envelope<MsgOf<P>>) -> bool) -> usize {
        let (gone, kept) = std::mem::take(&mut self.flight)
            .into_iter()
            .partition::<Vec<_>, _>(|e| which(e));
        self.flight = kept;
        let n = gone.len();
        self.lost.extend(gone);
        n
    }

    /// The messages lost so far: sent over a cut link, cut while in flight,
    /// sent to a node that was down when they arrived, sent by a node that was
    /// down when they arrived, or lost by the test.
    pub fn lost(&self) -> &[Envelope<MsgOf<P>>] {
        &self.lost
    }

    /// Splits the nodes into `groups` (and one more of every node in none):
    /// messages cross only within a group, both ways, until [`Net::heal`].
    /// Replaces any cut before it. A message in flight across the new cut is
    /// lost when it arrives.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        let side = |n: NodeId| groups.iter().position(|g| g.contains(&n));
        self.cuts.clear();
        let ids: Vec<NodeId> = (0..self.nodes.len() as u32).map(NodeId).collect();
        for &a in &ids {
            for &b in &ids {
                if side(a) != side(b) {
                    self.cuts.insert((a, b));
                }
            }
        }
    }

    /// Cuts node `loner` off from every other node, both ways.
    pub fn isolate(&mut self, loner: NodeId) {
        self.partition(&[&[loner]]);
    }

    /// Cuts the link from `from` to `to` one way: `to`'s messages still reach
    /// `from`.
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        self.cuts.insert((from, to));
    }

    /// Whether the link from `from` to `to` is cut.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cuts.contains(&(from, to))
    }

    /// Mends every cut.
    pub fn heal(&mut self) {
        self.cuts.clear();
    }

    /// Delivers `env` now unless its link is cut, or its receiver or its
    /// sender is down (as the kernel does: a crashed node's messages die
    /// with it, unless it is back up by the time they arrive).
    fn carry(&mut self, env: Envelope<MsgOf<P>>) -> Effects<MsgOf<P>> {
        if self.is_cut(env.from, env.to) || !self.is_up(env.to) || !self.is_up(env.from) {
            self.lost.push(env);
            return Effects(Vec::new());
        }
        self.inject(env.from, env.to, env.msg)
    }

    // ---- crashes ----

    /// Crashes node `id`: it is gone with its pending timers, its disk loses
    /// every write not synced, and messages that reach it while it is down
    /// are lost, as are its own messages still in flight (unless it is up
    /// again when they arrive). As in a run, no check runs at the crash:
    /// the next step of another node sees it gone.
    pub fn crash(&mut self, id: NodeId) {
        // As a run does: the protocol hears of the crash (`Protocol::crashed`).
        if let Some(last) = self.nodes[id.index()].take() {
            self.protocol.crashed(id, &last);
        }
        self.hosts[id.index()].disk.crash();
        self.timers.retain(|(n, _), _| *n != id);
    }

    /// Restarts node `id` (crashing it first if it is up): rebuilt by the
    /// protocol from what its disk kept, one incarnation later, and started.
    pub fn restart(&mut self, id: NodeId) -> Effects<MsgOf<P>> {
        if self.is_up(id) {
            self.crash(id);
        }
        self.hosts[id.index()].restart_with(|_, _, _| ());
        self.rebuild(id);
        self.start(id)
    }

    /// Whether node `id` is up.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes[id.index()].is_some()
    }

    fn rebuild(&mut self, id: NodeId) {
        let host = &self.hosts[id.index()];
        self.nodes[id.index()] = Some(self.protocol.build(id, &self.cluster, &host.disk));
    }

    // ---- what the nodes are and did ----

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Node `id`.
    ///
    /// # Panics
    /// If it is down.
    pub fn node(&self, id: NodeId) -> &P::Node {
        (self.nodes[id.index()].as_ref()).unwrap_or_else(|| panic!("{id} is down"))
    }

    /// Node `id`, to arrange a state by hand.
    ///
    /// # Panics
    /// If it is down.
    pub fn node_mut(&mut self, id: NodeId) -> &mut P::Node {
        (self.nodes[id.index()].as_mut()).unwrap_or_else(|| panic!("{id} is down"))
    }

    /// Every node, `None` for one that is down: what [`Protocol::check`]
    /// sees.
    pub fn nodes(&self) -> &[Option<P::Node>] {
        &self.nodes
    }

    /// Node `id`'s disk (it outlives the node's crashes).
    pub fn disk(&self, id: NodeId) -> &Disk {
        &self.hosts[id.index()].disk
    }

    /// Node `id`'s disk, to arrange by hand.
    pub fn disk_mut(&mut self, id: NodeId) -> &mut Disk {
        &mut self.hosts[id.index()].disk
    }

    /// How many times node `id` has synced its disk.
    pub fn syncs(&self, id: NodeId) -> u64 {
        self.hosts[id.index()].syncs()
    }

    /// Node `id`'s clocks (perfect unless set).
    pub fn clock(&self, id: NodeId) -> Clock {
        self.hosts[id.index()].clock
    }

    /// Sets node `id`'s clocks (`net.clock(id).set(net.now(), offset, drift)`).
    pub fn set_clock(&mut self, id: NodeId, clock: Clock) {
        self.hosts[id.index()].clock = clock;
    }

    /// How many times node `id` has been restarted.
    pub fn incarnation(&self, id: NodeId) -> u64 {
        self.hosts[id.index()].incarnation
    }

    /// Every effect every node recorded, in order, with when and who.
    pub fn log(&self) -> &[Logged<MsgOf<P>>] {
        &self.log
    }

    /// Every effect node `id` recorded so far, in order, to pick out with
    /// [`Effects`]' helpers (`net.effects(c1).completions()`).
    pub fn effects(&self, id: NodeId) -> Effects<MsgOf<P>> {
        let mine = self.log.iter().filter(|l| l.node == id);
        Effects(mine.map(|l| l.effect.clone()).collect())
    }

    /// Every client operation completed so far, by any node, in order.
    pub fn completions(&self) -> Vec<Completion> {
        Effects(self.log.iter().map(|l| l.effect.clone()).collect()).completions()
    }

    /// How operation `op` completed, if it has.
    pub fn completion(&self, op: crate::node::OpId) -> Option<Completion> {
        self.completions().into_iter().find(|c| c.op == op)
    }

    /// Every property found broken so far, in order.
    pub fn violations(&self) -> &[Found] {
        &self.found
    }

    /// Fails the test if any property was found broken.
    #[track_caller]
    pub fn assert_no_violations(&self) {
        assert!(self.found.is_empty(), "violations: {:?}", self.found);
    }

    /// The truth of an `eventually` or `sometimes` property at the last
    /// check that reported it, if one has.
    pub fn holds(&self, property: &str) -> Option<bool> {
        self.truths.get(property).copied()
    }

    /// Carries out node `id`'s effects, then checks the properties.
    fn carry_out(&mut self, id: NodeId, effects: &[Effect<MsgOf<P>>]) {
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    self.seq += 1;
                    let env = Envelope {
                        id: self.seq,
                        from: id,
                        to: *to,
                        msg: msg.clone(),
                        sent_at: self.now,
                        due: self.now + self.latency,
                    };
                    if self.is_cut(id, *to) {
                        self.lost.push(env);
                    } else {
                        self.flight.push(env);
                    }
                }
                Effect::SetTimer { id: t, after } => {
                    self.seq += 1;
                    self.timers.insert((id, *t), (self.now + after, self.seq));
                }
                Effect::CancelTimer { id: t } => {
                    self.timers.remove(&(id, *t));
                }
                Effect::Violation { invariant, detail } => self.found.push(Found {
                    at: self.now,
                    node: id,
                    violation: Violation {
                        invariant,
                        detail: detail.clone(),
                    },
                }),
                Effect::Complete { .. } | Effect::Note { .. } => {}
            }
            self.log.push(Logged {
                at: self.now,
                node: id,
                effect: effect.clone(),
            });
        }
        self.check(id);
    }

    /// The protocol checks its properties after node `stepped` ran a
    /// handler, then follows the step for its figures (`observe`), as the
    /// kernel does.
    fn check(&mut self, stepped: NodeId) {
        let mut out = Findings::new();
        let step = Step {
            now: self.now,
            stepped,
            nodes: &self.nodes,
        };
        self.protocol.check(step, &mut out);
        self.protocol.observe(step);
        for v in out.violations() {
            self.found.push(Found {
                at: self.now,
                node: stepped,
                violation: v.clone(),
            });
        }
        self.truths.extend(out.truths().iter().copied());
    }
}

/// The next event of a net: a message in flight (its place) or a timer.
enum Next {
    Message(usize),
    Timer(NodeId, TimerId),
}
