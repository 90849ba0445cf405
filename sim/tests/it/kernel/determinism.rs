//! One seed, one run: random streams per concern, fingerprints, stepping,
//! replaying the nemesis's log, and triggers.

use super::*;

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
fn stepping_event_by_event_gives_the_same_run_as_running_through() {
    let body = "[topology]\nservers = 5\nclients = 2\n[nemesis]\ninterval = \"50ms\"\nfault_duration = \"100ms\"\n";
    let (whole, _) = run(body, 21);
    let s = scenario(body);
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = Sim::new(&s, probe(&log, 0), 21, TraceMode::Record);
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
    let a = Sim::new(&s, probe(&log_a, 0), 5, TraceMode::Off).run();
    assert!(a.nemesis_log.len() > 5);
    let mut fixed = s.clone();
    fixed.nemesis = None;
    fixed.faults = a.nemesis_log.clone();
    let log_b = Rc::new(RefCell::new(Log::default()));
    let b = Sim::new(&fixed, probe(&log_b, 0), 5, TraceMode::Off).run();
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
