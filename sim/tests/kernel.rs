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
            (true, _) => "client",
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
    let roles = |_: &str| vec!["leader", "follower", "client"];
    let events = |_: &str| sim::scenario::ProtocolEvents::default();
    let info = ProtocolInfo {
        protocols: &["probe"],
        roles: &roles,
        events: &events,
    };
    let text = format!(
        "[meta]\nname = \"probe\"\nduration = \"1s\"\n[system]\nprotocol = \"probe\"\n{body}"
    );
    Scenario::parse("probe.toml", &text, &info).unwrap_or_else(|e| panic!("{e}"))
}

fn run(body: &str, seed: u64) -> (RunOutput, Log) {
    run_with(body, seed, 0)
}

fn run_with(body: &str, seed: u64, leader: u32) -> (RunOutput, Log) {
    let s = scenario(body);
    let log = Rc::new(RefCell::new(Log::default()));
    let probe = Probe {
        log: log.clone(),
        period: ms(100),
        leader,
    };
    let out = Sim::new(&s, probe, seed, TraceMode::Record).run();
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

#[test]
fn a_symmetric_partition_drops_both_ways_until_heal() {
    let (out, log) = run(
        &format!("{THREE}[[faults]]\nat = \"250ms\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"rest\"]]\n[[faults]]\nat = \"650ms\"\naction = \"heal\"\n"),
        1,
    );
    for (a, b) in [(0, 1), (1, 0), (0, 2), (2, 0)] {
        let during: Vec<_> = between(&log, a, b)
            .into_iter()
            .filter(|r| r.t > ms(260) && r.t < ms(650))
            .collect();
        assert!(
            during.is_empty(),
            "{a}->{b} delivered during the partition: {during:?}"
        );
        assert!(
            between(&log, a, b).iter().any(|r| r.t > ms(700)),
            "{a}->{b} never recovered"
        );
    }
    // n2 and n3 stay on the same side.
    assert!(between(&log, 1, 2)
        .iter()
        .any(|r| r.t > ms(300) && r.t < ms(600)));
    assert!(out.counters.dropped_partition > 0);
    assert_eq!(out.partition_windows, vec![(ms(250), ms(650))]);
}

#[test]
fn a_one_way_partition_drops_one_direction_only() {
    let (_, log) = run(
        &format!("{THREE}[[faults]]\nat = \"0s\"\naction = \"partition\"\nfrom = [\"n1\"]\nto = [\"n2\"]\n"),
        1,
    );
    assert!(between(&log, 0, 1).is_empty());
    assert!(!between(&log, 1, 0).is_empty());
    assert!(!between(&log, 0, 2).is_empty());
}

#[test]
fn a_clogged_link_holds_messages_and_releases_them_on_unclog() {
    let (out, log) = run(
        &format!("{THREE}[[faults]]\nat = \"150ms\"\naction = \"clog\"\nlink = [\"n1\", \"n2\"]\n[[faults]]\nat = \"550ms\"\naction = \"unclog\"\nlink = [\"n1\", \"n2\"]\n"),
        1,
    );
    let held: Vec<_> = between(&log, 0, 1)
        .into_iter()
        .filter(|r| (2..=5).contains(&r.seq))
        .collect();
    assert_eq!(held.len(), 4, "every held message arrives: {held:?}");
    assert!(held.iter().all(|r| r.t >= ms(550)));
    assert_eq!(
        out.counters.dropped(),
        0,
        "clogging delays, it does not drop"
    );
}

#[test]
fn a_fifo_link_never_reorders_and_a_jittery_one_does() {
    let jitter = "[topology]\nservers = 2\n[network]\nlatency = { dist = \"uniform\", min = \"1ms\", max = \"300ms\" }\n";
    let order = |fifo: bool| {
        let (_, log) = run(&format!("{jitter}fifo = {fifo}\n"), 4);
        between(&log, 0, 1)
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>()
    };
    let fifo = order(true);
    assert!(fifo.windows(2).all(|w| w[0] < w[1]), "{fifo:?}");
    let loose = order(false);
    assert!(
        loose.windows(2).any(|w| w[0] > w[1]),
        "no reordering: {loose:?}"
    );
}

#[test]
fn a_crashed_node_loses_unsynced_writes_and_messages_to_it_are_dropped() {
    let (out, log) = run(
        &format!("{THREE}[[faults]]\nat = \"450ms\"\naction = \"crash\"\ntarget = \"n2\"\n[[faults]]\nat = \"700ms\"\naction = \"restart\"\ntarget = \"crashed\"\n"),
        1,
    );
    // n2 ticked 4 times before the crash. Tick 3's sync also made tick 2's
    // pending write durable (a sync flushes everything pending); tick 4's write
    // was never synced and is gone.
    let builds: Vec<_> = log.recovered.iter().filter(|r| r.0 == 1).collect();
    assert_eq!(builds.len(), 2, "built at start and at restart");
    assert_eq!(builds[1].1, Some(3));
    assert_eq!(builds[1].2, Some(2), "tick 4's unsynced write is gone");
    assert!(out.counters.dropped_crashed > 0);
    assert!(between(&log, 0, 1)
        .iter()
        .all(|r| r.t < ms(450) || r.t >= ms(700)));
    // The restarted node starts over with fresh timers.
    assert!(log.timers.iter().any(|&(n, t, _)| n == 1 && t > ms(700)));
}

#[test]
fn a_paused_node_receives_nothing_until_resumed_then_everything() {
    let (out, log) = run(
        &format!("{THREE}[[faults]]\nat = \"250ms\"\naction = \"pause\"\ntarget = \"n3\"\n[[faults]]\nat = \"600ms\"\naction = \"resume\"\ntarget = \"paused\"\n"),
        1,
    );
    let to3: Vec<_> = log.received.iter().filter(|r| r.to == 2).collect();
    assert!(to3.iter().all(|r| r.t < ms(260) || r.t >= ms(600)));
    assert!(
        to3.iter().filter(|r| r.t == ms(600)).count() >= 4,
        "held messages arrive at resume"
    );
    assert_eq!(out.counters.dropped(), 0);
    // Its own timers waited too.
    assert!(!log
        .timers
        .iter()
        .any(|&(n, t, _)| n == 2 && t > ms(260) && t < ms(600)));
}

#[test]
fn moved_timers_fire_once_at_the_new_time_and_cancelled_ones_never() {
    let (_, log) = run(THREE, 1);
    let n1: Vec<_> = log.timers.iter().filter(|t| t.0 == 0).collect();
    assert_eq!(
        n1.iter()
            .filter(|t| t.2 == MOVED.0)
            .map(|t| t.1)
            .collect::<Vec<_>>(),
        vec![ms(20)]
    );
    assert!(!n1.iter().any(|t| t.2 == CANCELLED.0));
}

#[test]
fn a_fast_clock_fires_timers_early_in_true_time() {
    let (_, log) = run(
        &format!(
            "{THREE}[[faults]]\nat = \"0s\"\naction = \"clock\"\ntarget = \"n1\"\ndrift = 1.0\n"
        ),
        1,
    );
    let ticks: Vec<Nanos> = log
        .timers
        .iter()
        .filter(|t| t.0 == 0 && t.2 == TICK.0)
        .map(|t| t.1)
        .collect();
    // The first tick was set before the clock fault; later ones run at double speed.
    assert_eq!(&ticks[..3], &[ms(100), ms(150), ms(200)]);
}

#[test]
fn a_drift_starts_where_it_is_set_and_never_steps_the_clock() {
    // Issue 22: the drift used to scale all of virtual time, so drift -0.5
    // set at 500ms read 250ms at once, a step back of 250ms.
    let (_, log) = run(
        &format!(
            "{THREE}[[faults]]\nat = \"500ms\"\naction = \"clock\"\ntarget = \"n1\"\ndrift = -0.5\n"
        ),
        1,
    );
    let n1: Vec<_> = log.clocks.iter().filter(|c| c.0 == 0).collect();
    assert!(n1.iter().any(|c| c.1 > ms(500)), "n1 ran after the fault");
    for &&(_, now, wall, mono) in &n1 {
        let want = if now <= ms(500) {
            now
        } else {
            ms(500) + (now - ms(500)) / 2
        };
        assert_eq!(wall, want, "wall clock at {now}");
        assert_eq!(mono, want, "monotonic clock at {now}");
    }
}

#[test]
fn a_clock_offset_steps_the_wall_clock_and_never_the_monotonic_clock() {
    let (_, log) = run(
        &format!(
            "{THREE}[[faults]]\nat = \"450ms\"\naction = \"clock\"\ntarget = \"n1\"\noffset = \"-400ms\"\n[[faults]]\nat = \"750ms\"\naction = \"clock\"\ntarget = \"n1\"\noffset = \"0\"\ndrift = 0.0\n"
        ),
        1,
    );
    let n1: Vec<_> = log.clocks.iter().filter(|c| c.0 == 0).collect();
    assert!(n1.iter().any(|c| c.1 > ms(800)));
    for &&(_, now, wall, mono) in &n1 {
        assert_eq!(mono, now, "the monotonic clock never steps");
        if now > ms(450) && now < ms(750) {
            assert_eq!(wall, now - ms(400), "stepped back 400ms at {now}");
        } else {
            assert_eq!(wall, now, "true time at {now}");
        }
    }
}

#[test]
fn on_resume_timers_that_came_due_during_the_pause_fire_before_held_messages() {
    // n3 is paused at 201ms, just as the 200ms round of messages is on its
    // way: those arrive during the pause, before n3's own 300ms tick comes
    // due. A real process that wakes at 600ms first sees its clock (the tick
    // is due) and only then reads its socket; the kernel does the same.
    let (_, log) = run(
        &format!("{THREE}[[faults]]\nat = \"201ms\"\naction = \"pause\"\ntarget = \"n3\"\n[[faults]]\nat = \"600ms\"\naction = \"resume\"\ntarget = \"n3\"\n"),
        1,
    );
    let at_resume: Vec<&str> = log
        .handled
        .iter()
        .filter(|h| h.0 == 2 && h.1 == ms(600))
        .map(|h| h.2)
        .collect();
    assert!(
        at_resume.iter().filter(|&&k| k == "message").count() >= 4,
        "held messages are released at resume: {at_resume:?}"
    );
    assert_eq!(at_resume[0], "timer", "the due tick first: {at_resume:?}");
    let first_message = at_resume.iter().position(|&k| k == "message").unwrap();
    assert!(
        at_resume[first_message..].iter().all(|&k| k == "message"),
        "no timer after a held message: {at_resume:?}"
    );
}

#[test]
fn the_nemesis_stop_leaves_a_clock_the_scenario_set_alone() {
    // Issue 23: the nemesis's stop reset every skewed clock, also one set by
    // the scenario's own [[faults]] entry. It undoes only what it applied.
    let body = format!(
        "{THREE}[nemesis]\ninterval = \"40ms\"\nfault_duration = \"100ms\"\nkinds = [\"partition\"]\nstop = \"500ms\"\n[[faults]]\nat = \"100ms\"\naction = \"clock\"\ntarget = \"n1\"\noffset = \"2s\"\n"
    );
    let (out, log) = run(&body, 3);
    assert!(out.nemesis_log.len() > 2, "the nemesis was busy");
    assert!(
        !out.nemesis_log
            .iter()
            .any(|f| matches!(f.kind, sim::scenario::FaultKind::Clock { .. })),
        "the nemesis touched no clock: {:?}",
        out.nemesis_log
    );
    let late: Vec<_> = log
        .clocks
        .iter()
        .filter(|c| c.0 == 0 && c.1 > ms(600))
        .collect();
    assert!(!late.is_empty());
    for &&(_, now, wall, _) in &late {
        assert_eq!(wall, now + ms(2_000), "n1's clock is still 2s ahead");
    }
}

#[test]
fn the_nemesis_stop_resets_the_clocks_it_skewed_itself() {
    let body = format!(
        "{THREE}[nemesis]\ninterval = \"20ms\"\nfault_duration = \"2s\"\nkinds = [\"clock\"]\nstop = \"300ms\"\n"
    );
    let (out, log) = run(&body, 3);
    assert!(out.nemesis_log.iter().any(
        |f| matches!(f.kind, sim::scenario::FaultKind::Clock { offset_ns: Some(o), .. } if o != 0)
    ));
    for &(_, now, wall, _) in log.clocks.iter().filter(|c| c.1 > ms(300)) {
        assert_eq!(wall, now, "every wall clock is put right at the stop");
    }
}

#[test]
fn a_role_target_resolves_to_the_node_holding_the_role_when_the_fault_fires() {
    let body =
        format!("{THREE}[[faults]]\nat = \"500ms\"\naction = \"crash\"\ntarget = \"leader\"\n");
    let (out, _) = run_with(&body, 1, 2);
    let trace = out.trace.unwrap();
    assert!(trace.iter().any(|r| matches!(&r.event,
        TraceEvent::Fault { action: "crash", description, .. } if description == "n3")));
    assert!(out.statuses[2].is_none() && out.statuses[0].is_some());
}

#[test]
fn total_loss_drops_everything_and_certain_duplication_doubles_it() {
    let (out, log) = run(&format!("{THREE}loss = 1.0\n"), 1);
    assert!(log.received.is_empty());
    assert_eq!(out.counters.dropped_loss, out.counters.sent);
    let (out, log) = run(&format!("{THREE}duplicate = 1.0\n"), 1);
    assert_eq!(out.counters.duplicated, out.counters.sent);
    // Ticks 1..9 sent 6 messages each and all arrived twice; tick 10's were
    // sent at the last instant and are still in flight when the run ends.
    let early = log.received.iter().filter(|r| r.seq <= 9).count();
    assert_eq!(early, 2 * 9 * 6);
}

#[test]
fn every_drop_in_the_trace_has_a_reason() {
    let (out, _) = run(
        &format!("{THREE}loss = 0.2\n[[faults]]\nat = \"300ms\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"rest\"]]\n[[faults]]\nat = \"400ms\"\naction = \"crash\"\ntarget = \"n2\"\n"),
        1,
    );
    let reasons: std::collections::BTreeSet<&str> = out
        .trace
        .unwrap()
        .iter()
        .filter_map(|r| match &r.event {
            TraceEvent::Drop { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons.into_iter().collect::<Vec<_>>(),
        vec!["destination-crashed", "loss", "partition"]
    );
}

#[test]
fn the_nemesis_stops_and_undoes_every_fault_for_the_quiet_phase() {
    let body = "[topology]\nservers = 5\n[nemesis]\ninterval = \"40ms\"\nfault_duration = \"300ms\"\nstop = \"600ms\"\n";
    let (out, log) = run(body, 3);
    assert!(
        out.counters.faults > 5,
        "the nemesis was busy: {}",
        out.counters.faults
    );
    assert!(
        out.statuses.iter().all(|s| s.is_some()),
        "every node is back up"
    );
    // In the quiet phase every server hears from every other one.
    for a in 0..5 {
        for b in 0..5 {
            if a != b {
                assert!(
                    between(&log, a, b).iter().any(|r| r.t > ms(850)),
                    "n{} never heard n{} after the nemesis stopped",
                    b + 1,
                    a + 1
                );
            }
        }
    }
    assert!(out.partition_windows.iter().all(|w| w.1 <= ms(600)));
}

#[test]
fn a_node_draws_the_same_numbers_whatever_the_network_and_workload_do() {
    let (_, a) = run(THREE, 8);
    let (_, b) = run(
        "[topology]\nservers = 3\nclients = 4\n[network]\nlatency = { dist = \"pareto\", scale = \"1ms\", alpha = 1.2 }\nloss = 0.3\n[workload]\nrate = 500\n",
        8,
    );
    let firsts = |l: &Log| {
        l.draws
            .iter()
            .filter(|d| d.0 < 3)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(firsts(&a), firsts(&b));
    let (_, c) = run(THREE, 9);
    assert_ne!(firsts(&a), firsts(&c));
}

#[test]
fn the_same_seed_gives_the_same_fingerprint_and_trace() {
    let body = "[topology]\nservers = 5\nclients = 2\n[nemesis]\ninterval = \"50ms\"\nfault_duration = \"100ms\"\n";
    let (a, _) = run(body, 11);
    let (b, _) = run(body, 11);
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.trace, b.trace);
    let (c, _) = run(body, 12);
    assert_ne!(a.fingerprint, c.fingerprint);
}

#[test]
fn minority_of_leader_puts_the_leader_with_a_minority() {
    let body = "[topology]\nservers = 5\n[[faults]]\nat = \"150ms\"\naction = \"partition\"\ngroups = [[\"minority-of-leader\"], [\"rest\"]]\n";
    let (out, log) = run_with(body, 1, 2);
    let trace = out.trace.unwrap();
    assert!(trace.iter().any(|r| matches!(&r.event,
        TraceEvent::Fault { action: "partition", description, .. } if description == "{n1,n3} | {n2,n4,n5}")));
    assert!(between(&log, 2, 0).iter().any(|r| r.t > ms(200)));
    assert!(!between(&log, 2, 1).iter().any(|r| r.t > ms(200)));
}

#[test]
fn a_fault_whose_target_matches_nobody_is_traced_as_skipped() {
    let body =
        format!("{THREE}[[faults]]\nat = \"100ms\"\naction = \"restart\"\ntarget = \"crashed\"\n");
    let (out, _) = run(&body, 1);
    let trace = out.trace.unwrap();
    assert!(
        trace.iter().any(|r| matches!(&r.event,
        TraceEvent::Fault { description, .. } if description.contains("no node matched, skipped")))
    );
}

#[test]
fn stepping_event_by_event_gives_the_same_run_as_running_through() {
    let body = "[topology]\nservers = 5\nclients = 2\n[nemesis]\ninterval = \"50ms\"\nfault_duration = \"100ms\"\n";
    let (whole, _) = run(body, 21);
    let s = scenario(body);
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = Sim::new(
        &s,
        Probe {
            log,
            period: ms(100),
            leader: 0,
        },
        21,
        TraceMode::Record,
    );
    let mut steps = 0u64;
    let mut last = 0;
    while sim.advance() {
        assert!(sim.now() >= last, "time never runs backwards");
        last = sim.now();
        steps += 1;
    }
    assert!(!sim.advance(), "a finished run stays finished");
    let stepped = sim.finish();
    assert_eq!(stepped.fingerprint, whole.fingerprint);
    assert!(steps >= stepped.counters.events);
}

#[test]
fn the_nemesis_log_replays_as_a_fixed_schedule_to_the_same_run() {
    let body = "[topology]\nservers = 5\nclients = 2\n[nemesis]\ninterval = \"60ms\"\nfault_duration = \"150ms\"\nstop = \"700ms\"\n";
    let s = scenario(body);
    let log_a = Rc::new(RefCell::new(Log::default()));
    let probe = |log: &Rc<RefCell<Log>>| Probe {
        log: log.clone(),
        period: ms(100),
        leader: 0,
    };
    let a = Sim::new(&s, probe(&log_a), 5, TraceMode::Off).run();
    assert!(a.nemesis_log.len() > 5);
    let mut fixed = s.clone();
    fixed.nemesis = None;
    fixed.faults = a.nemesis_log.clone();
    let log_b = Rc::new(RefCell::new(Log::default()));
    let b = Sim::new(&fixed, probe(&log_b), 5, TraceMode::Off).run();
    assert_eq!(log_a.borrow().received, log_b.borrow().received);
    assert_eq!(a.history, b.history);
    assert_eq!(a.counters.dropped(), b.counters.dropped());
}

#[test]
fn a_triggered_fault_fires_once_at_the_counted_event_and_the_trace_says_why() {
    let body = format!(
        "{THREE}[[faults]]\nwhen = {{ event = \"send\", node = \"n1\", kind = \"Hello\", count = 3 }}\naction = \"crash\"\ntarget = \"trigger-to\"\n\
         [[faults]]\nwhen = {{ event = \"fault\", action = \"crash\" }}\ndelay = \"100ms\"\naction = \"restart\"\ntarget = \"trigger-node\"\n\
         [[faults]]\nwhen = {{ event = \"role\", role = \"leader\" }}\nafter = \"900ms\"\naction = \"pause\"\ntarget = \"n2\"\n"
    );
    let (out, _) = run(&body, 1);
    let trace = out.trace.as_ref().unwrap();
    let sends: Vec<_> = trace
        .iter()
        .filter(|r| matches!(&r.event, TraceEvent::Send { from, .. } if &**from == "n1"))
        .collect();
    let third = sends[2];
    let TraceEvent::Send { to, .. } = &third.event else {
        unreachable!()
    };
    // The crash hits the receiver of n1's third message, in the same instant.
    let crash = trace
        .iter()
        .find(|r| {
            matches!(
                &r.event,
                TraceEvent::Fault {
                    action: "crash",
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(crash.t, third.t);
    assert!(matches!(&crash.event, TraceEvent::Fault { description, .. } if description == &**to));
    // The trigger record names the trigger as written and the event.
    assert!(trace.iter().any(|r| matches!(&r.event,
        TraceEvent::Trigger { when, event, matched: 3, .. }
            if when == "{ event = \"send\", node = \"n1\", kind = \"Hello\", count = 3 }"
                && event.starts_with("send n1 -> "))));
    // The chained restart: 100ms after the crash, on the crashed node; once.
    let restarts: Vec<_> = trace
        .iter()
        .filter(|r| {
            matches!(
                &r.event,
                TraceEvent::Fault {
                    action: "restart",
                    ..
                }
            )
        })
        .collect();
    assert_eq!(restarts.len(), 1);
    assert_eq!(restarts[0].t, crash.t + ms(100));
    // The probe never changes role: that trigger never fires, and is reported.
    assert_eq!(out.unfired_triggers.len(), 1);
    assert_eq!(out.unfired_triggers[0].matched, 0);
    assert!(trace.iter().any(|r| matches!(&r.event,
        TraceEvent::Trigger { event, .. } if event == "never fired")));
}

#[test]
fn a_triggered_run_is_a_pure_function_of_the_seed() {
    let body = format!(
        "{THREE}[[faults]]\nwhen = {{ event = \"deliver\", kind = \"Hello\", count = 7 }}\naction = \"partition\"\ngroups = [[\"trigger-node\"], [\"rest\"]]\n\
         [[faults]]\nwhen = {{ event = \"fault\", action = \"partition\" }}\ndelay = \"50ms\"\naction = \"heal\"\n"
    );
    for seed in 1..5 {
        let (a, _) = run(&body, seed);
        let (b, _) = run(&body, seed);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.trace, b.trace);
    }
    // And the trigger changes the run (it is hashed in the fingerprint).
    let (plain, _) = run(THREE, 1);
    let (triggered, _) = run(&body, 1);
    assert_ne!(plain.fingerprint, triggered.fingerprint);
}

// ----- the nemesis undoes only what it applied itself (issue 23, item 5) -----
//
// With one server the nemesis's `clock`, `pause` and `crash` can only pick
// n1, so a `[[faults]]` entry on n1 is certain to touch what the nemesis
// touched.

const ONE: &str = "[topology]\nservers = 1\n[network]\nlatency = { dist = \"uniform\", min = \"1ms\", max = \"9ms\" }\n";

/// The wall clock a node has had the nemesis never touched it: true time,
/// stepped to `offset` at `at` and running at `drift` from then on.
fn scenario_wall(now: Nanos, at: Nanos, offset: i64, drift: f64) -> i64 {
    at as i64 + offset + ((now - at) as f64 * (1.0 + drift)) as i64
}

/// Whether `node` ran any handler in the open interval (from, to).
fn ran_between(log: &Log, node: u32, from: Nanos, to: Nanos) -> Vec<(Nanos, &'static str)> {
    log.handled
        .iter()
        .filter(|h| h.0 == node && h.1 > from && h.1 < to)
        .map(|h| (h.1, h.2))
        .collect()
}

#[test]
fn the_nemesis_gives_back_the_drift_the_scenario_set_before_it() {
    // The scenario makes n1's clocks run 1% fast from 50ms; the nemesis
    // skews n1 between 200ms and its stop at 600ms. Every undo, and the
    // stop, must give n1 back the clock the scenario gave it, not a perfect
    // one.
    let body = format!(
        "{ONE}[nemesis]\ninterval = \"50ms\"\nfault_duration = \"100ms\"\nkinds = [\"clock\"]\nstart = \"200ms\"\nstop = \"600ms\"\n[[faults]]\nat = \"50ms\"\naction = \"clock\"\ntarget = \"n1\"\ndrift = 0.01\n"
    );
    let (out, log) = run(&body, 1);
    assert!(out.nemesis_log.len() > 2, "the nemesis skewed n1");
    let late: Vec<_> = log.clocks.iter().filter(|c| c.1 > ms(600)).collect();
    assert!(!late.is_empty());
    for &&(_, now, wall, _) in &late {
        let want = scenario_wall(now, ms(50), 0, 0.01);
        assert!(
            (wall as i64 - want).abs() <= 2,
            "at {now} n1's wall clock reads {wall}, the scenario's clock {want}"
        );
    }
}

#[test]
fn an_offset_alone_after_a_nemesis_skew_leaves_the_nemesis_drift_for_it_to_undo() {
    // At 300ms, while the nemesis's skew (an offset and a drift) is on n1,
    // the scenario steps n1's wall clock to +1s and leaves the drift as it
    // is. The drift is still the nemesis's: by the end of the nemesis's
    // fault (or its stop) n1 must have the clock the scenario gave it, +1s
    // at true rate.
    let body = format!(
        "{ONE}[nemesis]\ninterval = \"40ms\"\nfault_duration = \"100ms\"\nkinds = [\"clock\"]\nstart = \"100ms\"\nstop = \"600ms\"\n[[faults]]\nat = \"300ms\"\naction = \"clock\"\ntarget = \"n1\"\noffset = \"1s\"\n"
    );
    let (out, log) = run(&body, 1);
    assert!(
        out.nemesis_log.iter().any(|f| f.at < ms(300)
            && matches!(f.kind, sim::scenario::FaultKind::Clock { drift: Some(d), .. } if d != 0.0)),
        "the nemesis drifted n1 before 300ms: {:?}",
        out.nemesis_log
    );
    let late: Vec<_> = log.clocks.iter().filter(|c| c.1 > ms(600)).collect();
    assert!(!late.is_empty());
    for &&(_, now, wall, _) in &late {
        assert_eq!(
            wall,
            now + ms(1_000),
            "n1 is 1s ahead at true rate at {now}"
        );
    }
}

#[test]
fn a_nemesis_undo_after_its_stop_leaves_a_clock_the_scenario_set_since_alone() {
    // The nemesis skews n1 until its stop at 300ms; its faults last long, so
    // their undos are still queued when the scenario sets n1's clock at
    // 400ms. The stop undid all the nemesis did: those undos must not reset
    // the scenario's clock.
    let body = format!(
        "{ONE}[nemesis]\ninterval = \"30ms\"\nfault_duration = \"600ms\"\nkinds = [\"clock\"]\nstart = \"50ms\"\nstop = \"300ms\"\n[[faults]]\nat = \"400ms\"\naction = \"clock\"\ntarget = \"n1\"\noffset = \"2s\"\ndrift = 0.0\n"
    );
    let (out, log) = run(&body, 1);
    assert!(out.nemesis_log.len() > 2, "the nemesis skewed n1");
    let late: Vec<_> = log.clocks.iter().filter(|c| c.1 > ms(400)).collect();
    assert!(late.len() >= 5);
    for &&(_, now, wall, _) in &late {
        assert_eq!(wall, now + ms(2_000), "n1 is 2s ahead at {now}");
    }
}

#[test]
fn a_nemesis_clock_undo_leaves_a_clock_the_scenario_set_since_alone() {
    // The nemesis runs all along (no stop). The scenario sets n1's clock at
    // 400ms; the undo of a nemesis skew from before must not touch it. A
    // later nemesis skew may change it again, and its undo must give back
    // the scenario's clock.
    let body = format!(
        "{ONE}[nemesis]\ninterval = \"300ms\"\nfault_duration = \"400ms\"\nkinds = [\"clock\"]\nstart = \"50ms\"\n[[faults]]\nat = \"400ms\"\naction = \"clock\"\ntarget = \"n1\"\noffset = \"2s\"\ndrift = 0.0\n"
    );
    let (out, log) = run(&body, 2);
    // The nemesis's own skews (not its undos, which give back +2s, and not
    // the old reset to a perfect clock).
    let skews: Vec<Nanos> = out
        .nemesis_log
        .iter()
        .filter_map(|f| match f.kind {
            sim::scenario::FaultKind::Clock {
                offset_ns: Some(o),
                drift: Some(d),
                ..
            } if o != ms(2_000) as i64 && !(o == 0 && d == 0.0) => Some(f.at),
            _ => None,
        })
        .collect();
    assert!(
        skews.iter().any(|&t| t < ms(400)),
        "a nemesis skew before the scenario's clock fault: {:?}",
        out.nemesis_log
    );
    let mut checked = 0;
    for &(_, now, wall, _) in log.clocks.iter().filter(|c| c.1 > ms(400)) {
        // Ticks while a later nemesis skew may be in force are not the
        // scenario's to judge: only those before the next skew.
        if skews.iter().any(|&t| t > ms(400) && t <= now) {
            continue;
        }
        checked += 1;
        assert_eq!(wall, now + ms(2_000), "n1 is 2s ahead at {now}");
    }
    assert!(checked >= 3, "ticks to check: {checked}");
}

#[test]
fn a_nemesis_resume_leaves_a_node_the_scenario_paused_since_alone() {
    // The nemesis pauses n1 (the only server) and means to resume it later;
    // at 300ms the scenario pauses n1 until 800ms. Neither a pending nemesis
    // resume nor the nemesis's stop may cut the scenario's pause short.
    let body = format!(
        "{ONE}[nemesis]\ninterval = \"40ms\"\nfault_duration = \"300ms\"\nkinds = [\"pause\"]\nmax_down = 1\nstart = \"100ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"300ms\"\naction = \"pause\"\ntarget = \"n1\"\n[[faults]]\nat = \"800ms\"\naction = \"resume\"\ntarget = \"n1\"\n"
    );
    let (out, log) = run(&body, 1);
    assert!(
        out.nemesis_log
            .iter()
            .any(|f| f.at < ms(300) && matches!(f.kind, sim::scenario::FaultKind::Pause(_))),
        "the nemesis paused n1 before 300ms: {:?}",
        out.nemesis_log
    );
    let ran = ran_between(&log, 0, ms(300), ms(800));
    assert!(
        ran.is_empty(),
        "n1 ran while the scenario held it paused: {ran:?}"
    );
    assert!(
        !ran_between(&log, 0, ms(800), ms(1_000)).is_empty(),
        "and runs after"
    );
}

#[test]
fn a_nemesis_restart_leaves_a_node_the_scenario_crashed_since_alone() {
    let body = format!(
        "{ONE}[nemesis]\ninterval = \"40ms\"\nfault_duration = \"300ms\"\nkinds = [\"crash\"]\nmax_down = 1\nstart = \"100ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"300ms\"\naction = \"crash\"\ntarget = \"n1\"\n[[faults]]\nat = \"800ms\"\naction = \"restart\"\ntarget = \"n1\"\n"
    );
    let (out, log) = run(&body, 1);
    assert!(
        out.nemesis_log
            .iter()
            .any(|f| f.at < ms(300) && matches!(f.kind, sim::scenario::FaultKind::Crash(_))),
        "the nemesis crashed n1 before 300ms: {:?}",
        out.nemesis_log
    );
    let ran = ran_between(&log, 0, ms(300), ms(800));
    assert!(
        ran.is_empty(),
        "n1 ran while the scenario held it down: {ran:?}"
    );
    assert!(
        !ran_between(&log, 0, ms(800), ms(1_000)).is_empty(),
        "and runs after"
    );
}

#[test]
fn a_client_crash_undo_leaves_a_client_the_scenario_crashed_since_alone() {
    // The nemesis crashes the only client and means to restart it; the
    // scenario crashes it at 300ms and restarts it at 800ms.
    let body = "[topology]\nservers = 3\nclients = 1\n[nemesis]\ninterval = \"40ms\"\nfault_duration = \"300ms\"\nkinds = [\"client-crash\"]\nstart = \"100ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"300ms\"\naction = \"crash\"\ntarget = \"c1\"\n[[faults]]\nat = \"800ms\"\naction = \"restart\"\ntarget = \"c1\"\n";
    let (out, log) = run(body, 1);
    assert!(
        out.nemesis_log
            .iter()
            .any(|f| f.at < ms(300) && matches!(f.kind, sim::scenario::FaultKind::Crash(_))),
        "the nemesis crashed c1 before 300ms: {:?}",
        out.nemesis_log
    );
    let ran = ran_between(&log, 3, ms(300), ms(800));
    assert!(
        ran.is_empty(),
        "c1 ran while the scenario held it down: {ran:?}"
    );
    assert!(
        !ran_between(&log, 3, ms(800), ms(1_000)).is_empty(),
        "and runs after"
    );
}

#[test]
fn a_nemesis_heal_never_ends_a_partition_of_the_scenario() {
    // The scenario cuts n1 off from 100ms to 900ms; the nemesis partitions
    // and heals all along. A heal ends every partition, so the nemesis must
    // leave the network alone while the scenario's partition is in force.
    let body = format!(
        "{THREE}[nemesis]\ninterval = \"40ms\"\nfault_duration = \"60ms\"\nkinds = [\"partition\"]\nstart = \"20ms\"\n[[faults]]\nat = \"100ms\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"rest\"]]\n[[faults]]\nat = \"900ms\"\naction = \"heal\"\n"
    );
    let (out, log) = run(&body, 1);
    assert!(
        out.nemesis_log
            .iter()
            .any(|f| matches!(f.kind, sim::scenario::FaultKind::Partition { .. })),
        "the nemesis partitioned: {:?}",
        out.nemesis_log
    );
    let across: Vec<&Received> = log
        .received
        .iter()
        .filter(|r| r.t > ms(110) && r.t < ms(900) && (r.from == 0) != (r.to == 0))
        .filter(|r| r.from < 3 && r.to < 3)
        .collect();
    assert!(across.is_empty(), "n1 was cut off: {across:?}");
}

#[test]
fn the_nemesis_gives_back_the_loss_a_scenario_entry_set_on_a_link() {
    // At 300ms the scenario cuts the n1-n2 link by total loss; the nemesis
    // changes the loss everywhere until its stop at 500ms. Its undos and its
    // stop give each link the loss it had before the nemesis changed it, so
    // n1-n2 stays lossy after the stop.
    let body = format!(
        "{THREE}[nemesis]\ninterval = \"40ms\"\nfault_duration = \"100ms\"\nkinds = [\"loss\"]\nstart = \"50ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"300ms\"\naction = \"loss\"\nlink = [\"n1\", \"n2\"]\nprobability = 1.0\n"
    );
    let (out, log) = run(&body, 1);
    assert!(
        out.nemesis_log
            .iter()
            .any(|f| f.at > ms(300) && f.at < ms(500)),
        "the nemesis changed the loss after the scenario did: {:?}",
        out.nemesis_log
    );
    let late: Vec<&Received> = log
        .received
        .iter()
        .filter(|r| r.t > ms(510) && ((r.from, r.to) == (0, 1) || (r.from, r.to) == (1, 0)))
        .collect();
    assert!(late.is_empty(), "n1-n2 is still lossy: {late:?}");
    assert!(
        log.received
            .iter()
            .any(|r| r.t > ms(510) && r.from == 0 && r.to == 2),
        "other links work"
    );
}

#[test]
fn a_scenario_partition_in_a_nemesis_partition_leaves_the_nemesis_cuts_its_own() {
    // The nemesis keeps a partition in force almost all the time; at 100ms
    // the scenario cuts n3 -/-> n1 and never heals. Cuts are owned link by
    // link, so the nemesis's own cuts still end (by its undo or its stop at
    // 500ms) and only the scenario's one-way cut is left.
    let body = format!(
        "{THREE}[nemesis]\ninterval = \"40ms\"\nfault_duration = \"60ms\"\nkinds = [\"partition\"]\nstart = \"20ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"100ms\"\naction = \"partition\"\nfrom = [\"n3\"]\nto = [\"n1\"]\n"
    );
    for seed in 1..=5 {
        let (_, log) = run(&body, seed);
        let after = |from: u32, to: u32| {
            log.received
                .iter()
                .any(|r| r.t > ms(520) && r.from == from && r.to == to)
        };
        assert!(
            !after(2, 0),
            "seed {seed}: the scenario's cut n3 -/-> n1 was healed"
        );
        for (a, b) in [(0, 1), (1, 0), (0, 2), (1, 2), (2, 1)] {
            assert!(
                after(a, b),
                "seed {seed}: n{} -> n{} is still cut after the stop",
                a + 1,
                b + 1
            );
        }
    }
}

#[test]
fn a_nemesis_clog_of_a_link_the_scenario_clogged_leaves_it_clogged() {
    // The scenario clogs n1-n2 for good at 50ms; the nemesis clogs links at
    // random until 500ms. When it picks n1-n2, its undo must not unclog it.
    let body = format!(
        "{THREE}[nemesis]\ninterval = \"30ms\"\nfault_duration = \"40ms\"\nkinds = [\"clog\"]\nstart = \"100ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"50ms\"\naction = \"clog\"\nlink = [\"n1\", \"n2\"]\n"
    );
    for seed in 1..=5 {
        let (out, log) = run(&body, seed);
        assert!(
            out.nemesis_log.iter().any(|f| matches!(
                &f.kind,
                sim::scenario::FaultKind::Clog { a, b, .. }
                    if [a, b].iter().all(|t| matches!(t, sim::scenario::Target::Node(n) if n == "n1" || n == "n2"))
            )),
            "seed {seed}: the nemesis never clogged n1-n2: {:?}",
            out.nemesis_log
        );
        let late: Vec<&Received> = log
            .received
            .iter()
            .filter(|r| r.t > ms(60) && ((r.from, r.to) == (0, 1) || (r.from, r.to) == (1, 0)))
            .collect();
        assert!(
            late.is_empty(),
            "seed {seed}: n1-n2 was unclogged: {late:?}"
        );
    }
}

#[test]
fn no_trigger_sees_the_nemesis_cut_again_what_its_heal_leaves_cut() {
    // The scenario's n3 -/-> n1 lands at 100ms; from then on the nemesis
    // draws no partition, so when one of its partitions was in force at
    // 100ms, the only partition entries after 101ms are its heals cutting
    // the scenario's link again. A trigger watching for a partition after
    // 101ms must not fire on them and heal the scenario's cut.
    let body = format!(
        "{THREE}[nemesis]\ninterval = \"20ms\"\nfault_duration = \"200ms\"\nkinds = [\"partition\"]\nstart = \"10ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"100ms\"\naction = \"partition\"\nfrom = [\"n3\"]\nto = [\"n1\"]\n[[faults]]\nwhen = {{ event = \"fault\", action = \"partition\" }}\nafter = \"101ms\"\naction = \"heal\"\n"
    );
    let mut exercised = 0;
    for seed in 1..=20 {
        let (out, log) = run(&body, seed);
        let recut = out.nemesis_log.iter().any(|f| {
            f.at > ms(101) && matches!(f.kind, sim::scenario::FaultKind::PartitionOneWay { .. })
        });
        if !recut {
            continue;
        }
        exercised += 1;
        assert!(
            !log.received
                .iter()
                .any(|r| r.t > ms(520) && r.from == 2 && r.to == 0),
            "seed {seed}: a trigger healed the scenario's cut"
        );
    }
    assert!(exercised >= 3, "only {exercised} seeds re-cut after 101ms");
}
