//! The nemesis: its stop and its undos give back what the scenario set, and
//! take back only what it applied itself.

use sim::scenario::{Fault, FaultKind, Target};

use super::*;

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
            .any(|f| matches!(f.kind, FaultKind::Clock { .. })),
        "the nemesis touched no clock: {:?}",
        out.nemesis_log
    );
    // n1's clock is still 2s ahead.
    assert_wall_ahead(&log, Some(0), ms(600), ms(2_000), 1);
}

#[test]
fn the_nemesis_stop_resets_the_clocks_it_skewed_itself() {
    let body = format!(
        "{THREE}[nemesis]\ninterval = \"20ms\"\nfault_duration = \"2s\"\nkinds = [\"clock\"]\nstop = \"300ms\"\n"
    );
    let (out, log) = run(&body, 3);
    assert_nemesis_did(
        &out,
        "the nemesis skewed a clock",
        |f| matches!(f.kind, FaultKind::Clock { offset_ns: Some(o), .. } if o != 0),
    );
    // Every wall clock is put right at the stop.
    assert_wall_ahead(&log, None, ms(300), 0, 1);
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

/// Asserts that at every timer after `after` of node `node` (of every node
/// for `None`) its wall clock read true time plus `ahead`, and that there
/// were at least `min` such timers.
fn assert_wall_ahead(log: &Log, node: Option<u32>, after: Nanos, ahead: Nanos, min: usize) {
    let late: Vec<_> = log
        .clocks
        .iter()
        .filter(|c| node.is_none_or(|n| c.0 == n) && c.1 > after)
        .collect();
    assert!(late.len() >= min, "{} timers after {after}", late.len());
    for &&(n, now, wall, _) in &late {
        assert_eq!(wall, now + ahead, "n{}'s wall clock at {now}", n + 1);
    }
}

/// Asserts that the nemesis applied a fault `did` accepts; `what` says which.
fn assert_nemesis_did(out: &RunOutput, what: &str, did: impl Fn(&Fault) -> bool) {
    assert!(
        out.nemesis_log.iter().any(did),
        "{what}: {:?}",
        out.nemesis_log
    );
}

/// The nemesis takes node `i` (`name`) down (a fault `kind` accepts) before
/// 300ms and means to bring it back later; the scenario takes it down at
/// 300ms and brings it back at 800ms. Neither a pending nemesis undo nor the
/// nemesis's stop may cut the scenario's short: the node runs nothing in
/// between, and runs after.
fn assert_the_scenario_keeps_it_down(body: &str, i: u32, name: &str, kind: fn(&FaultKind) -> bool) {
    let (out, log) = run(body, 1);
    let what = format!("the nemesis took {name} down before 300ms");
    assert_nemesis_did(&out, &what, |f| f.at < ms(300) && kind(&f.kind));
    let ran = ran_between(&log, i, ms(300), ms(800));
    assert!(
        ran.is_empty(),
        "{name} ran while the scenario held it down: {ran:?}"
    );
    assert!(
        !ran_between(&log, i, ms(800), ms(1_000)).is_empty(),
        "and runs after"
    );
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
    assert_nemesis_did(&out, "the nemesis drifted n1 before 300ms", |f| {
        f.at < ms(300) && matches!(f.kind, FaultKind::Clock { drift: Some(d), .. } if d != 0.0)
    });
    // n1 is 1s ahead at true rate.
    assert_wall_ahead(&log, None, ms(600), ms(1_000), 1);
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
    // n1 is 2s ahead.
    assert_wall_ahead(&log, None, ms(400), ms(2_000), 5);
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
            FaultKind::Clock {
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
    assert_the_scenario_keeps_it_down(&body, 0, "n1", |k| matches!(k, FaultKind::Pause(_)));
}

#[test]
fn a_nemesis_restart_leaves_a_node_the_scenario_crashed_since_alone() {
    let body = format!(
        "{ONE}[nemesis]\ninterval = \"40ms\"\nfault_duration = \"300ms\"\nkinds = [\"crash\"]\nmax_down = 1\nstart = \"100ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"300ms\"\naction = \"crash\"\ntarget = \"n1\"\n[[faults]]\nat = \"800ms\"\naction = \"restart\"\ntarget = \"n1\"\n"
    );
    assert_the_scenario_keeps_it_down(&body, 0, "n1", |k| matches!(k, FaultKind::Crash(_)));
}

#[test]
fn a_client_crash_undo_leaves_a_client_the_scenario_crashed_since_alone() {
    // The nemesis crashes the only client and means to restart it; the
    // scenario crashes it at 300ms and restarts it at 800ms.
    let body = "[topology]\nservers = 3\nclients = 1\n[nemesis]\ninterval = \"40ms\"\nfault_duration = \"300ms\"\nkinds = [\"client-crash\"]\nstart = \"100ms\"\nstop = \"500ms\"\n[[faults]]\nat = \"300ms\"\naction = \"crash\"\ntarget = \"c1\"\n[[faults]]\nat = \"800ms\"\naction = \"restart\"\ntarget = \"c1\"\n";
    assert_the_scenario_keeps_it_down(body, 3, "c1", |k| matches!(k, FaultKind::Crash(_)));
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
    assert_nemesis_did(&out, "the nemesis partitioned", |f| {
        matches!(f.kind, FaultKind::Partition { .. })
    });
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
    assert_nemesis_did(
        &out,
        "the nemesis changed the loss after the scenario did",
        |f| f.at > ms(300) && f.at < ms(500),
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
        let n1_n2 = |t: &Target| matches!(t, Target::Node(n) if n == "n1" || n == "n2");
        assert_nemesis_did(
            &out,
            &format!("seed {seed}: the nemesis clogged n1-n2"),
            |f| matches!(&f.kind, FaultKind::Clog { a, b, .. } if n1_n2(a) && n1_n2(b)),
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
        let recut = out
            .nemesis_log
            .iter()
            .any(|f| f.at > ms(101) && matches!(f.kind, FaultKind::PartitionOneWay { .. }));
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
