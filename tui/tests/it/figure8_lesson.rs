//! docs/raft.md §5: `raft/bug-figure-8` shows the bug on every seed, and the
//! same schedule with `commit_old_terms_by_counting = false` breaks nothing.
//! (The lesson says so for seeds 1 to 1000, from `chaoslab sweep`; this test
//! keeps the first 200 of them honest.)

use std::path::Path;

use sim::kernel::TraceMode;
use sim::report::Report;

const SEEDS: u64 = 200;

fn scenario(bug: bool) -> sim::scenario::Scenario {
    let rel = "scenarios/raft/bug-figure-8.toml";
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel))
        .unwrap();
    let flag = "commit_old_terms_by_counting = true";
    assert!(text.contains(flag), "{rel} no longer sets {flag}");
    let text = if bug {
        text
    } else {
        text.replace(flag, "commit_old_terms_by_counting = false")
    };
    nodes::parse(rel, &text).unwrap_or_else(|e| panic!("{e}"))
}

/// The invariants a run broke, and its report. Every stage of the schedule
/// is a trigger on a protocol event; a stage that did not happen would make
/// both tests pass for the wrong reason (nothing broken because the
/// schedule never played out), so every trigger must have fired.
fn broken(s: &sim::scenario::Scenario, seed: u64) -> (Vec<String>, Report) {
    let out = nodes::run(s, seed, TraceMode::Off).unwrap();
    let report = Report::build(s, &out);
    assert!(
        report.unfired_triggers.is_empty(),
        "seed {seed}: a stage of the schedule never happened: {:?}\n{}",
        report.unfired_triggers,
        report.render()
    );
    let names = report
        .invariants
        .iter()
        .filter(|i| i.violations > 0)
        .map(|i| i.name.clone())
        .collect();
    (names, report)
}

/// Runs the scenario (with or without the bug) on seeds 1 to [`SEEDS`] and
/// checks each run's broken invariants, and whether its history must be
/// linearizable, against what is expected of it.
fn check_every_seed(bug: bool, expected_broken: &[&str], linearizable: bool) {
    let s = scenario(bug);
    for seed in 1..=SEEDS {
        let (names, report) = broken(&s, seed);
        assert_eq!(names, expected_broken, "seed {seed}\n{}", report.render());
        if linearizable {
            assert!(
                report
                    .consistency
                    .verdict()
                    .is_some_and(|v| v.is_linearizable()),
                "seed {seed}\n{}",
                report.render()
            );
        }
    }
}

#[test]
fn with_the_bug_an_old_term_entry_committed_by_counting_is_overwritten_on_every_seed() {
    check_every_seed(
        true,
        &["leader-completeness", "state-machine-safety"],
        false,
    );
}

#[test]
fn without_the_bug_the_same_schedule_breaks_nothing() {
    check_every_seed(false, &[], true);
}
