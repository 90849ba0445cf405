//! The kernel's promises, checked with a probe protocol: every server sends a
//! numbered message to every other node each period, and a shared log records
//! what each node received and when.

use std::cell::RefCell;
use std::rc::Rc;

use rand::Rng;
use sim::history::Outcome;
use sim::kernel::{RunOutput, Sim, TraceMode};
use sim::node::{Cluster, Ctx, Disk, Message, Node, NodeId, Request, Status, TimerId};
use sim::protocol::Protocol;
use sim::scenario::{ProtocolInfo, Scenario};
use sim::time::{ms, Nanos};
use sim::trace::TraceEvent;

mod determinism;
mod nemesis;
mod network;
mod nodes;

#[derive(Clone, Debug)]
struct Hello(u64);

impl Message for Hello {
    fn kind(&self) -> &'static str {
        "Hello"
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Received {
    t: Nanos,
    from: u32,
    to: u32,
    seq: u64,
}

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    timers: Vec<(u32, Nanos, u64)>,
    /// (node, first draws from its own stream) at each start.
    draws: Vec<(u32, Vec<u32>)>,
    /// What each server recovered from disk at each build: (node, synced, unsynced).
    recovered: Vec<(u32, Option<u64>, Option<u64>)>,
    /// Every handler run, in order: (node, true time, "timer" or "message").
    handled: Vec<(u32, Nanos, &'static str)>,
    /// At every timer: (node, true time, wall clock, monotonic clock).
    clocks: Vec<(u32, Nanos, Nanos, Nanos)>,
}

struct Probe {
    log: Rc<RefCell<Log>>,
    period: Nanos,
    /// The server that calls itself "leader".
    leader: u32,
}

struct ProbeNode {
    me: u32,
    client: bool,
    seq: u64,
    log: Rc<RefCell<Log>>,
    period: Nanos,
    leader: bool,
}

const TICK: TimerId = TimerId(1);
const MOVED: TimerId = TimerId(2);
const CANCELLED: TimerId = TimerId(3);

impl Protocol for Probe {
    type Node = ProbeNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> ProbeNode {
        if !cluster.is_client(id) {
            self.log.borrow_mut().recovered.push((
                id.0,
                disk.get::<u64>(("synced", 0)).copied(),
                disk.get::<u64>(("unsynced", 0)).copied(),
            ));
        }
        ProbeNode {
            me: id.0,
            client: cluster.is_client(id),
            seq: 0,
            log: self.log.clone(),
            period: self.period,
            leader: id.0 == self.leader,
        }
    }
}

impl Node for ProbeNode {
    type Msg = Hello;
    type Op = sim::history::OpFn;

    fn on_start(&mut self, ctx: &mut Ctx<Hello>) {
        let draws = (0..4).map(|_| ctx.rng().gen::<u32>()).collect();
        self.log.borrow_mut().draws.push((self.me, draws));
        if !self.client {
            ctx.set_timer(TICK, self.period);
            // Set, then moved: only the later one fires.
            ctx.set_timer(MOVED, ms(10));
            ctx.set_timer(MOVED, ms(20));
            ctx.set_timer(CANCELLED, ms(5));
            ctx.cancel_timer(CANCELLED);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Hello>, from: NodeId, msg: Hello) {
        self.log
            .borrow_mut()
            .handled
            .push((self.me, ctx.now(), "message"));
        self.log.borrow_mut().received.push(Received {
            t: ctx.now(),
            from: from.0,
            to: self.me,
            seq: msg.0,
        });
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Hello>, timer: TimerId) {
        {
            let mut log = self.log.borrow_mut();
            log.handled.push((self.me, ctx.now(), "timer"));
            log.clocks
                .push((self.me, ctx.now(), ctx.local_time(), ctx.mono_time()));
        }
        self.log
            .borrow_mut()
            .timers
            .push((self.me, ctx.now(), timer.0));
        if timer != TICK {
            return;
        }
        self.seq += 1;
        // Odd ticks are synced, even ticks are left pending.
        if self.seq % 2 == 1 {
            ctx.disk().put(("synced", 0), self.seq);
            ctx.disk().sync();
        } else {
            ctx.disk().put(("unsynced", 0), self.seq);
        }
        let n = ctx.cluster().len() as u32;
        for to in 0..n {
            if to != self.me {
                ctx.send(NodeId(to), Hello(self.seq));
            }
        }
        ctx.set_timer(TICK, self.period);
    }

    fn on_request(&mut self, ctx: &mut Ctx<Hello>, req: Request) {
        ctx.complete(req.id, Outcome::Ok, None);
    }

    fn role(&self) -> &'static str {
        match (self.client, self.leader) {
            (true, true) => "holder",
            (true, false) => "client",
            (false, true) => "leader",
            (false, false) => "follower",
        }
    }

    fn status(&self) -> Status {
        Status {
            role: self.role(),
            fields: vec![("seq", self.seq.to_string())],
        }
    }
}

fn scenario(body: &str) -> Scenario {
    let roles = |_: &str| vec!["leader", "follower", "holder", "client"];
    let events = |_: &str| sim::scenario::ProtocolEvents::default();
    let info = ProtocolInfo {
        protocols: &["probe"],
        roles: &roles,
        events: &events,
        services: &|_: &str| (&[][..], None),
    };
    let text = format!(
        "[meta]\nname = \"probe\"\nduration = \"1s\"\n[system]\nprotocol = \"probe\"\n{body}"
    );
    Scenario::parse("probe.toml", &text, &info).unwrap_or_else(|e| panic!("{e}"))
}

fn run(body: &str, seed: u64) -> (RunOutput, Log) {
    run_with(body, seed, 0)
}

/// The probe protocol, ticking every 100ms, writing to `log`; node `leader`
/// calls itself "leader" if a server, "holder" if a client.
fn probe(log: &Rc<RefCell<Log>>, leader: u32) -> Probe {
    Probe {
        log: log.clone(),
        period: ms(100),
        leader,
    }
}

fn run_with(body: &str, seed: u64, leader: u32) -> (RunOutput, Log) {
    let s = scenario(body);
    let log = Rc::new(RefCell::new(Log::default()));
    let out = Sim::new(&s, probe(&log, leader), seed, TraceMode::Record).run();
    let log = Rc::try_unwrap(log)
        .ok()
        .expect("the sim is gone")
        .into_inner();
    (out, log)
}

fn between(log: &Log, from: u32, to: u32) -> Vec<&Received> {
    log.received
        .iter()
        .filter(|r| r.from == from && r.to == to)
        .collect()
}

const THREE: &str = "[topology]\nservers = 3\n[network]\nlatency = { dist = \"uniform\", min = \"1ms\", max = \"9ms\" }\n";
