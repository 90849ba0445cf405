//! [`Harness`]: one node driven by hand (see the module documentation of
//! [`crate::testing`]).

use std::fmt;
use std::ops::Deref;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::history::{Outcome, Value};
use crate::node::{Clock, Cluster, Ctx, Disk, Effect, Node, NodeId, OpId, Request, TimerId};
use crate::time::Nanos;

/// The seed of a harness's RNG unless a test chooses another
/// ([`Harness::seeded`]).
pub const DEFAULT_SEED: u64 = 7;

/// How a harness rebuilds its node from a disk: given the cluster, the node's
/// id and the disk.
type Build<N> = Box<dyn Fn(&Cluster, NodeId, &Disk) -> N>;

/// One node and its world, driven by hand. See the module documentation.
///
/// The fields are public so a test can arrange the world (step the clock, put
/// a value on the disk) and inspect it (the node's state, what its disk holds)
/// directly. They are escape hatches: setting `now` back, or `incarnation`
/// without a [`Harness::restart`], makes a world the kernel never makes (time
/// moving backwards, a new process with the old one's memory). Use them to
/// test exactly such a case on purpose, and [`Harness::advance`] and
/// [`Harness::restart`] otherwise.
pub struct Harness<N> {
    /// The node under test.
    pub node: N,
    /// Its id in the cluster.
    pub me: NodeId,
    pub cluster: Cluster,
    /// The node's disk: what it wrote, and what survives a restart.
    pub disk: Disk,
    /// The RNG every handler draws from (seeded: the same test, the same
    /// draws). `sim::rand_chacha` re-exports its crate, so an outside crate
    /// need not pin the same version; [`Harness::seeded`] and
    /// [`Harness::stream`] set it without naming the type.
    pub rng: ChaCha8Rng,
    /// True virtual time of the next handler.
    pub now: Nanos,
    /// The node's clocks: perfect unless a test sets a clock fault
    /// (`h.clock = h.clock.set(h.now, offset, drift)`).
    pub clock: Clock,
    /// How many times the node has been restarted (see [`Ctx::incarnation`]).
    pub incarnation: u64,
    build: Option<Build<N>>,
}

impl<N> fmt::Debug for Harness<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("me", &self.me)
            .field("now", &self.now)
            .field("incarnation", &self.incarnation)
            .field("disk", &self.disk)
            .finish_non_exhaustive()
    }
}

impl<N> Harness<N> {
    /// A harness around a node the test built itself, on an empty disk, at
    /// time 0. It cannot be [`restart`](Harness::restart)ed (it has no
    /// builder); [`Harness::restart_with`] can.
    pub fn new(cluster: Cluster, me: NodeId, node: N) -> Self {
        Harness {
            node,
            me,
            cluster,
            disk: Disk::default(),
            rng: ChaCha8Rng::seed_from_u64(DEFAULT_SEED),
            now: 0,
            clock: Clock::default(),
            incarnation: 0,
            build: None,
        }
    }

    /// A harness whose node is built from its (empty) disk by `build`, and
    /// rebuilt by it on every [`restart`](Harness::restart).
    pub fn build(
        cluster: Cluster,
        me: NodeId,
        build: impl Fn(&Cluster, NodeId, &Disk) -> N + 'static,
    ) -> Self {
        Self::build_on(cluster, me, Disk::default(), build)
    }

    /// Like [`Harness::build`], on a disk the test prepared (a node that
    /// already has a log, a term, a vote).
    pub fn build_on(
        cluster: Cluster,
        me: NodeId,
        disk: Disk,
        build: impl Fn(&Cluster, NodeId, &Disk) -> N + 'static,
    ) -> Self {
        let node = build(&cluster, me, &disk);
        let mut h = Self::new(cluster, me, node);
        h.disk = disk;
        h.build = Some(Box::new(build));
        h
    }

    /// The same harness with its RNG seeded by `seed`.
    pub fn seeded(mut self, seed: u64) -> Self {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self
    }

    /// The same harness with the RNG the kernel gives this node in a run
    /// with `seed` (its stream, `streams::NODE_BASE` plus its index, see
    /// [`crate::kernel::streams`]), so a handler draws what it drew there.
    pub fn stream(mut self, seed: u64) -> Self {
        let concern = crate::kernel::streams::NODE_BASE + self.me.0 as u64;
        self.rng = crate::kernel::stream(seed, concern);
        self
    }

    /// The same harness starting at true time `now`.
    pub fn at(mut self, now: Nanos) -> Self {
        self.now = now;
        self
    }

    /// Moves true time forward by `by` (the node's clocks follow, with their
    /// drift).
    pub fn advance(&mut self, by: Nanos) {
        self.now += by;
    }

    /// Runs `f` on the node with a fresh context and returns what it returned
    /// and the effects it recorded: for handlers beyond the four of [`Node`],
    /// or nodes that are a part of one (a server inside a node enum).
    pub fn call<M, T>(&mut self, f: impl FnOnce(&mut N, &mut Ctx<M>) -> T) -> (T, Effects<M>) {
        let mut effects = Vec::new();
        let mut ctx = Ctx::new(
            self.me,
            self.now,
            self.clock,
            &mut self.rng,
            &mut self.disk,
            &self.cluster,
            &mut effects,
        )
        .with_incarnation(self.incarnation);
        let out = f(&mut self.node, &mut ctx);
        (out, Effects(effects))
    }

    /// Runs `f` on the node and returns the effects it recorded.
    pub fn run<M>(&mut self, f: impl FnOnce(&mut N, &mut Ctx<M>)) -> Effects<M> {
        self.call(f).1
    }

    /// A crash: the disk loses every write not yet synced, and the node is
    /// rebuilt by `build` from what survived. The incarnation counts one more.
    /// The test calls `on_start` itself (see [`Harness::start`]) if it wants
    /// the restarted node's first effects.
    pub fn restart_with(&mut self, build: impl FnOnce(&Cluster, NodeId, &Disk) -> N) {
        self.disk.crash();
        self.incarnation += 1;
        self.node = build(&self.cluster, self.me, &self.disk);
    }

    /// [`Harness::restart_with`] the builder the harness was made with.
    ///
    /// # Panics
    /// If the harness was made by [`Harness::new`], which has no builder.
    pub fn restart(&mut self) {
        let build = self
            .build
            .take()
            .expect("Harness::restart needs a harness made by Harness::build");
        self.restart_with(&build);
        self.build = Some(build);
    }

    /// How many times the node has synced its disk so far.
    pub fn syncs(&self) -> u64 {
        self.disk.counters().1
    }
}

/// The handlers a harness drives with [`Harness::start`],
/// [`Harness::deliver`] and [`Harness::fire`]. Every [`Node`] has them; a
/// test gives them to a part of a node (a server that a node enum wraps) by
/// forwarding to the part's own handlers, and drives the part with the same
/// calls.
pub trait Handlers<M> {
    fn handle_start(&mut self, ctx: &mut Ctx<M>);
    fn handle_message(&mut self, ctx: &mut Ctx<M>, from: NodeId, msg: M);
    fn handle_timer(&mut self, ctx: &mut Ctx<M>, timer: TimerId);
}

impl<N: Node> Handlers<N::Msg> for N {
    fn handle_start(&mut self, ctx: &mut Ctx<N::Msg>) {
        self.on_start(ctx)
    }
    fn handle_message(&mut self, ctx: &mut Ctx<N::Msg>, from: NodeId, msg: N::Msg) {
        self.on_message(ctx, from, msg)
    }
    fn handle_timer(&mut self, ctx: &mut Ctx<N::Msg>, timer: TimerId) {
        self.on_timer(ctx, timer)
    }
}

impl<N> Harness<N> {
    /// `on_start`: the node's first handler, and its first after a restart.
    pub fn start<M>(&mut self) -> Effects<M>
    where
        N: Handlers<M>,
    {
        self.run(|n, ctx| n.handle_start(ctx))
    }

    /// Delivers `msg` from `from`.
    pub fn deliver<M>(&mut self, from: NodeId, msg: M) -> Effects<M>
    where
        N: Handlers<M>,
    {
        self.run(|n, ctx| n.handle_message(ctx, from, msg))
    }

    /// Fires timer `timer` (whether or not the node set it: a test may check
    /// that a stale timer is harmless).
    pub fn fire<M>(&mut self, timer: TimerId) -> Effects<M>
    where
        N: Handlers<M>,
    {
        self.run(|n, ctx| n.handle_timer(ctx, timer))
    }
}

impl<N: Node> Harness<N> {
    /// Hands the node (a client) a workload operation.
    pub fn request(&mut self, req: Request<N::Op>) -> Effects<N::Msg> {
        self.run(|n, ctx| n.on_request(ctx, req))
    }
}

/// A client operation a handler completed, from an [`Effect::Complete`].
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    pub op: OpId,
    pub outcome: Outcome,
    pub output: Option<Value>,
    pub served: bool,
    pub found_other: bool,
}

/// The effects one handler recorded, in order, with helpers to pick out each
/// kind. It dereferences to the slice, so `fx.len()`, `fx[0]` and `fx.iter()`
/// work as on the `Vec` the kernel would get.
#[derive(Debug)]
pub struct Effects<M>(pub Vec<Effect<M>>);

impl<M> Deref for Effects<M> {
    type Target = [Effect<M>];
    fn deref(&self) -> &[Effect<M>] {
        &self.0
    }
}

impl<M> IntoIterator for Effects<M> {
    type Item = Effect<M>;
    type IntoIter = std::vec::IntoIter<Effect<M>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<M> Effects<M> {
    /// The effects, owned.
    pub fn into_vec(self) -> Vec<Effect<M>> {
        self.0
    }

    /// The timers set, with their delay in true time, in order.
    pub fn timers_set(&self) -> Vec<(TimerId, Nanos)> {
        self.iter()
            .filter_map(|e| match e {
                Effect::SetTimer { id, after } => Some((*id, *after)),
                _ => None,
            })
            .collect()
    }

    /// The delay of the last setting of timer `id`, if it was set.
    pub fn timer(&self, id: TimerId) -> Option<Nanos> {
        self.timers_set()
            .into_iter()
            .rev()
            .find(|(t, _)| *t == id)
            .map(|(_, after)| after)
    }

    /// Fails the test if the handler recorded a violation: for tests that
    /// check only some effects and must still not let a broken invariant
    /// pass unseen.
    #[track_caller]
    pub fn assert_no_violations(&self) -> &Self {
        let v = self.violations();
        assert!(v.is_empty(), "the handler recorded violations: {v:?}");
        self
    }

    /// The timers cancelled, in order.
    pub fn timers_cancelled(&self) -> Vec<TimerId> {
        self.iter()
            .filter_map(|e| match e {
                Effect::CancelTimer { id } => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// The client operations completed, in order.
    pub fn completions(&self) -> Vec<Completion> {
        self.iter()
            .filter_map(|e| match e {
                Effect::Complete {
                    op,
                    outcome,
                    output,
                    served,
                    found_other,
                } => Some(Completion {
                    op: *op,
                    outcome: *outcome,
                    output: output.clone(),
                    served: *served,
                    found_other: *found_other,
                }),
                _ => None,
            })
            .collect()
    }

    /// The invariants reported broken, with their detail, in order.
    pub fn violations(&self) -> Vec<(&'static str, &str)> {
        self.iter()
            .filter_map(|e| match e {
                Effect::Violation { invariant, detail } => Some((*invariant, detail.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The notes recorded, in order.
    pub fn notes(&self) -> Vec<&'static str> {
        self.iter()
            .filter_map(|e| match e {
                Effect::Note { note } => Some(*note),
                _ => None,
            })
            .collect()
    }
}

impl<M: Clone> Effects<M> {
    /// The messages sent, with their destination, in order.
    pub fn sends(&self) -> Vec<(NodeId, M)> {
        sends(self)
    }

    /// The messages sent to `to`, in order.
    pub fn sent_to(&self, to: NodeId) -> Vec<M> {
        self.sends()
            .into_iter()
            .filter(|(t, _)| *t == to)
            .map(|(_, m)| m)
            .collect()
    }
}

/// The messages among `effects`, with their destination, in order: for
/// effects a test collected itself.
pub fn sends<M: Clone>(effects: &[Effect<M>]) -> Vec<(NodeId, M)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::OpFn;
    use crate::node::{Message, Status};

    #[derive(Clone, Debug, PartialEq)]
    struct Note(u64);
    impl Message for Note {
        fn kind(&self) -> &'static str {
            "Note"
        }
    }

    /// Writes every number it is sent, syncing only the even ones, and
    /// answers with what it remembers.
    struct Ledger {
        seen: Vec<u64>,
        incarnation: u64,
    }

    impl Ledger {
        fn recover(disk: &Disk) -> Ledger {
            let seen = disk
                .indexes("n")
                .into_iter()
                .map(|i| *disk.get::<u64>(("n", i)).unwrap())
                .collect();
            Ledger {
                seen,
                incarnation: 0,
            }
        }
    }

    impl Node for Ledger {
        type Msg = Note;
        type Op = OpFn;
        fn on_start(&mut self, ctx: &mut Ctx<Note>) {
            self.incarnation = ctx.incarnation();
            ctx.set_timer(TimerId(1), 10);
        }
        fn on_message(&mut self, ctx: &mut Ctx<Note>, from: NodeId, msg: Note) {
            ctx.disk().put(("n", msg.0), msg.0);
            if msg.0 % 2 == 0 {
                ctx.disk().sync();
            }
            self.seen.push(msg.0);
            ctx.send(from, Note(self.seen.len() as u64));
            ctx.note("noted");
        }
        fn on_timer(&mut self, ctx: &mut Ctx<Note>, timer: TimerId) {
            ctx.cancel_timer(timer);
            ctx.violation("never-fires", format!("at {}", ctx.now()));
        }
        fn on_request(&mut self, ctx: &mut Ctx<Note>, req: Request) {
            ctx.give_up(req.id, Outcome::Info);
        }
        fn role(&self) -> &'static str {
            "ledger"
        }
        fn status(&self) -> Status {
            Status::default()
        }
    }

    fn ledger() -> Harness<Ledger> {
        Harness::build(Cluster::new(2, 1), NodeId(0), |_, _, disk| {
            Ledger::recover(disk)
        })
    }

    #[test]
    fn a_restart_keeps_only_synced_writes_and_counts_the_incarnation() {
        let mut h = ledger();
        h.deliver(NodeId(1), Note(1));
        h.deliver(NodeId(1), Note(2));
        h.deliver(NodeId(1), Note(3));
        assert_eq!(h.node.seen, vec![1, 2, 3]);
        h.restart();
        // 1 was synced along with 2; 3 was pending and is lost.
        assert_eq!(h.node.seen, vec![1, 2]);
        h.start();
        assert_eq!(h.node.incarnation, 1);
        h.restart_with(|_, _, _| Ledger {
            seen: vec![9],
            incarnation: 0,
        });
        assert_eq!((h.node.seen.clone(), h.incarnation), (vec![9], 2));
    }

    #[test]
    #[should_panic(expected = "Harness::build")]
    fn a_harness_without_a_builder_cannot_restart() {
        let mut h = Harness::new(
            Cluster::new(1, 0),
            NodeId(0),
            Ledger::recover(&Disk::default()),
        );
        h.restart();
    }

    #[test]
    fn effects_are_picked_out_by_kind_in_order() {
        let mut h = ledger().at(5);
        assert_eq!(h.start().timers_set(), vec![(TimerId(1), 10)]);
        let fx = h.deliver(NodeId(2), Note(4));
        assert_eq!(fx.sends(), vec![(NodeId(2), Note(1))]);
        assert_eq!(fx.sent_to(NodeId(1)), vec![]);
        assert_eq!(fx.notes(), vec!["noted"]);
        assert_eq!(h.syncs(), 1);
        h.advance(10);
        let fx = h.fire(TimerId(1));
        assert_eq!(fx.timers_cancelled(), vec![TimerId(1)]);
        assert_eq!(fx.violations(), vec![("never-fires", "at 15")]);
        assert_eq!(fx.timer(TimerId(1)), None);
        let fx = h.request(Request {
            id: OpId(3),
            key: "k".into(),
            f: OpFn::Read,
        });
        let done = Completion {
            op: OpId(3),
            outcome: Outcome::Info,
            output: None,
            served: false,
            found_other: false,
        };
        assert_eq!(fx.completions(), vec![done]);
        assert_eq!(fx.into_vec().len(), 1);
    }

    #[test]
    fn the_same_seed_draws_the_same_numbers() {
        use rand::Rng;
        let draw = |seed| {
            let mut h = ledger().seeded(seed);
            h.call(|_, ctx: &mut Ctx<Note>| ctx.rng().gen::<u64>()).0
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }
}
