//! Test harnesses that drive nodes by hand and return the exact effects each
//! handler recorded, as raft-rs and openraft test their cores: [`Harness`]
//! for one node, [`Net`] for several nodes of one protocol and the messages
//! between them.
//!
//! # One node
//!
//! A protocol's unit tests want to say "a follower that times out becomes a
//! candidate, syncs its term and sends exactly these vote requests", without a
//! kernel, a network or a scenario in between. [`Harness`] holds what a handler
//! needs besides the node: the [`Cluster`](crate::node::Cluster) it belongs to, its [`Disk`](crate::node::Disk), a
//! seeded RNG, the true time and the node's [`Clock`](crate::node::Clock). Each call (start,
//! deliver a message, fire a timer, hand a client request, or any closure)
//! builds a fresh [`Ctx`](crate::node::Ctx), runs one handler and returns its [`Effects`]; the
//! helpers on [`Effects`] pick out the sends, timers and completions to assert.
//!
//! A node built by a function of its disk (as a crashed node is rebuilt) can be
//! crashed and restarted: [`Harness::restart`] drops the disk's unsynced
//! writes and rebuilds the node from what survived, the way the kernel does.
//!
//! Time moves only when a test moves it ([`Harness::advance`], or the public
//! `now` field), and the RNG is seeded, so a test is as deterministic as a run.
//!
//! ```
//! use sim::history::{OpFn, Outcome, Value};
//! use sim::node::{Cluster, Ctx, Effect, Message, Node, NodeId, OpId, Request, Status, TimerId};
//! use sim::testing::Harness;
//!
//! /// A counter that remembers its total on disk and answers pings.
//! #[derive(Clone, Debug, PartialEq)]
//! enum Msg {
//!     Ping,
//!     Pong(u64),
//! }
//! impl Message for Msg {
//!     fn kind(&self) -> &'static str {
//!         match self {
//!             Msg::Ping => "Ping",
//!             Msg::Pong(_) => "Pong",
//!         }
//!     }
//! }
//!
//! struct Counter {
//!     total: u64,
//! }
//! const TICK: TimerId = TimerId(1);
//! impl Node for Counter {
//!     type Msg = Msg;
//!     type Op = OpFn;
//!     fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
//!         ctx.set_timer(TICK, 1_000);
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, _msg: Msg) {
//!         self.total += 1;
//!         ctx.disk().put(("total", 0), self.total);
//!         ctx.disk().sync();
//!         ctx.send(from, Msg::Pong(self.total));
//!     }
//!     fn on_timer(&mut self, ctx: &mut Ctx<Msg>, _timer: TimerId) {
//!         ctx.set_timer(TICK, 1_000);
//!     }
//!     fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
//!         ctx.complete(req.id, Outcome::Ok, Some(Value::Int(self.total as i64)));
//!     }
//!     fn role(&self) -> &'static str {
//!         "counter"
//!     }
//!     fn status(&self) -> Status {
//!         Status::default()
//!     }
//! }
//!
//! // n1 of three servers and one client, rebuilt from its disk on restart.
//! let n1 = NodeId(0);
//! let mut h = Harness::build(Cluster::new(3, 1), n1, |_, _, disk| Counter {
//!     total: disk.get::<u64>(("total", 0)).copied().unwrap_or(0),
//! });
//! assert_eq!(h.start().timers_set(), vec![(TICK, 1_000)]);
//! let fx = h.deliver(NodeId(1), Msg::Ping);
//! // Exactly one effect: the pong (the disk writes are state, not effects).
//! assert_eq!(fx.0, vec![Effect::Send { to: NodeId(1), msg: Msg::Pong(1) }]);
//!
//! // The total was synced, so it survives a crash.
//! h.restart();
//! assert_eq!(h.node.total, 1);
//! let fx = h.request(Request { id: OpId(9), key: "k".into(), f: OpFn::Read });
//! assert_eq!(fx.completions()[0].output, Some(Value::Int(1)));
//! ```
//!
//! # Several nodes
//!
//! Some behaviour lives between nodes: an election, a log repaired over a few
//! round trips, a zombie whose write lands after the next holder's. [`Net`]
//! holds every node of a [`Cluster`](crate::node::Cluster), each built by the protocol
//! ([`crate::protocol::Protocol::build`]) from its own disk, with its own
//! seeded RNG (the one the kernel gives it) and clock, under one virtual
//! clock. What a handler sends is held in flight ([`Net::in_flight`]) until
//! the test delivers it ([`Net::deliver`], [`Net::deliver_next`],
//! [`Net::deliver_all`], [`Net::deliver_among`] a subset) or loses it
//! ([`Net::lose`]) or copies it ([`Net::duplicate`]); timers wait until the test fires them ([`Net::fire`],
//! [`Net::fire_next`]). Or the net runs on its own in time order, each
//! message taking [`Net::latency`] ([`Net::step`], [`Net::run_until`]), under
//! partitions ([`Net::partition`], [`Net::isolate`], [`Net::cut`],
//! [`Net::heal`]) and crashes ([`Net::crash`], and [`Net::restart`] from what
//! the disk synced). Every call returns the handler's [`Effects`]; the net
//! also keeps each node's ([`Net::effects`]) and runs the protocol's
//! property checks after every handler, as the kernel does
//! ([`Net::violations`], [`Net::assert_no_violations`]).
//!
//! ```
//! use sim::history::OpFn;
//! use sim::node::{Cluster, Ctx, Disk, Message, Node, NodeId, Request, Status, TimerId};
//! use sim::protocol::Protocol;
//! use sim::testing::Net;
//! use sim::time::ms;
//!
//! /// Every 10ms each node pings the next; a node counts the pings it got,
//! /// on disk, synced.
//! #[derive(Clone, Debug, PartialEq)]
//! struct Ping;
//! impl Message for Ping {
//!     fn kind(&self) -> &'static str {
//!         "Ping"
//!     }
//! }
//! struct Pinger {
//!     got: u64,
//! }
//! const TICK: TimerId = TimerId(1);
//! impl Node for Pinger {
//!     type Msg = Ping;
//!     type Op = OpFn;
//!     fn on_start(&mut self, ctx: &mut Ctx<Ping>) {
//!         ctx.set_timer(TICK, ms(10));
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<Ping>, _from: NodeId, _msg: Ping) {
//!         self.got += 1;
//!         ctx.disk().put(("got", 0), self.got);
//!         ctx.disk().sync();
//!     }
//!     fn on_timer(&mut self, ctx: &mut Ctx<Ping>, _timer: TimerId) {
//!         let next = NodeId((ctx.me().0 + 1) % ctx.cluster().len() as u32);
//!         ctx.send(next, Ping);
//!         ctx.set_timer(TICK, ms(10));
//!     }
//!     fn on_request(&mut self, _ctx: &mut Ctx<Ping>, _req: Request) {}
//!     fn role(&self) -> &'static str {
//!         "pinger"
//!     }
//!     fn status(&self) -> Status {
//!         Status::default()
//!     }
//! }
//! struct Pings;
//! impl Protocol for Pings {
//!     type Node = Pinger;
//!     fn build(&self, _id: NodeId, _cluster: &Cluster, disk: &Disk) -> Pinger {
//!         Pinger { got: disk.get::<u64>(("got", 0)).copied().unwrap_or(0) }
//!     }
//! }
//!
//! let (n1, n2, n3) = (NodeId(0), NodeId(1), NodeId(2));
//! let mut net = Net::new(Pings, Cluster::new(3, 0));
//! net.start_all();
//! // By hand: n1's timer fires first (all three are due at 10ms; n1's was
//! // set first); its ping waits in flight until the test delivers it.
//! let (who, _, fx) = net.fire_next().unwrap();
//! assert_eq!((who, fx.sends()), (n1, vec![(n2, Ping)]));
//! assert_eq!(net.node(n2).got, 0);
//! net.deliver_all();
//! assert_eq!(net.node(n2).got, 1);
//!
//! // On its own, in time order, with n3 cut off: n2's pings to n3 are lost.
//! net.isolate(n3);
//! net.run_until(ms(55));
//! assert_eq!((net.node(n2).got, net.node(n3).got), (5, 0));
//! assert_eq!(net.lost().len(), 10);
//!
//! // What n2 synced survives a crash.
//! net.restart(n2);
//! assert_eq!((net.node(n2).got, net.incarnation(n2)), (5, 1));
//! net.assert_no_violations();
//! ```

mod harness;
mod net;
#[cfg(test)]
mod tests;

pub use harness::{sends, Completion, Effects, Handlers, Harness, DEFAULT_SEED};
pub use net::{Envelope, Found, Logged, MsgOf, Net, DEFAULT_LATENCY, EVENT_LIMIT};
