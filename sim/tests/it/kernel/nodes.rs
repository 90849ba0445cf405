//! Nodes under faults: crashes and disks, pauses, timers, clocks, and
//! targets resolved when a fault fires.

use super::*;

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

/// A role target means a client too when a client reports it (a lock
/// client reports "holder"), as long as no server does; "client" itself still
/// means a server reporting it, which none does.
#[test]
fn a_role_target_finds_the_client_that_reports_the_role() {
    let two_clients = "[topology]\nservers = 3\nclients = 2\n[network]\nlatency = { dist = \"uniform\", min = \"1ms\", max = \"9ms\" }\n";
    let faults = |target: &str| {
        format!("{two_clients}[[faults]]\nat = \"250ms\"\naction = \"pause\"\ntarget = \"{target}\"\n[[faults]]\nat = \"600ms\"\naction = \"resume\"\ntarget = \"paused\"\n")
    };
    // c2 (node 4) is the holder.
    let (_, log) = run_with(&faults("holder"), 1, 4);
    let during = |log: &Log, to: u32| {
        log.received
            .iter()
            .filter(|r| r.to == to && r.t >= ms(260) && r.t < ms(600))
            .count()
    };
    assert_eq!(during(&log, 4), 0, "the holder was paused");
    assert!(
        log.received.iter().any(|r| r.to == 4 && r.t == ms(600)),
        "its held messages arrive at resume"
    );
    assert!(during(&log, 3) > 0, "the other client was not");
    assert!((0..3).all(|n| during(&log, n) > 0), "nor any server");

    // "client" resolves among the servers only, as it always has: nothing.
    let (out, log) = run_with(&faults("client"), 1, 4);
    assert!((0..5).all(|n| during(&log, n) > 0));
    assert_eq!(out.counters.dropped(), 0);
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

/// n1's clocks at each of its timers in a run of three servers under
/// `faults`: (true time, wall clock, monotonic clock). n1 must have run
/// after `after`.
fn n1_clocks(faults: &str, after: Nanos) -> Vec<(Nanos, Nanos, Nanos)> {
    let (_, log) = run(&format!("{THREE}{faults}"), 1);
    let n1: Vec<_> = log
        .clocks
        .iter()
        .filter(|c| c.0 == 0)
        .map(|&(_, now, wall, mono)| (now, wall, mono))
        .collect();
    assert!(n1.iter().any(|c| c.0 > after), "n1 ran after {after}");
    n1
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
    let faults = "[[faults]]\nat = \"500ms\"\naction = \"clock\"\ntarget = \"n1\"\ndrift = -0.5\n";
    for (now, wall, mono) in n1_clocks(faults, ms(500)) {
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
    let faults = "[[faults]]\nat = \"450ms\"\naction = \"clock\"\ntarget = \"n1\"\noffset = \"-400ms\"\n[[faults]]\nat = \"750ms\"\naction = \"clock\"\ntarget = \"n1\"\noffset = \"0\"\ndrift = 0.0\n";
    for (now, wall, mono) in n1_clocks(faults, ms(800)) {
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
