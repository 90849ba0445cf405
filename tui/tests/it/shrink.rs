//! `chaoslab shrink` keeps the failure it was given: one test per kind of
//! failure (an invariant violation, a linearizability failure, an expectation
//! on a protocol measure). Each takes a bundled scenario, changes its
//! hypothesis so that its own run fails, shrinks it, and runs the written file
//! again: it must fail with exactly the original's set of failed checks, no
//! fewer and no other, and must not end before a time the scenario names.

use crate::support;

use support::{chaoslab, Ran};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sim::kernel::TraceMode;
use sim::report::{Report, RunOutcome};
use sim::scenario::Scenario;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chaoslab-shrink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `chaoslab shrink FILE --out OUT FLAGS`.
#[must_use]
fn shrink(file: &Path, out: &Path, flags: &[&str]) -> Ran {
    let (file, out) = (file.to_str().unwrap(), out.to_str().unwrap());
    chaoslab(&[&["shrink", file, "--out", out][..], flags].concat())
}

/// single/crash-unsynced claiming to be linearizable, which it is not on
/// its own seed, written to [`tmp`]`(name)`: a failure to shrink.
fn unsynced_claiming_linearizable(name: &str) -> PathBuf {
    let text = std::fs::read_to_string("../scenarios/single/crash-unsynced.toml")
        .unwrap()
        .replace("linearizable = false", "linearizable = true");
    let path = tmp(name);
    std::fs::write(&path, &text).unwrap();
    path
}

fn failed(s: &Scenario, seed: u64) -> (RunOutcome, BTreeSet<String>) {
    let out = nodes::run(s, seed, TraceMode::Off).unwrap();
    let r = Report::build(s, &out);
    (r.outcome, r.failed_checks())
}

/// Writes `bundled` with `change` applied, shrinks it at its own seed, and
/// checks the shrunk file. Returns (original, shrunk) scenarios.
fn shrink_keeps_the_failure(
    bundled: &str,
    change: impl Fn(&str) -> String,
    expected: &[&str],
) -> (Scenario, Scenario) {
    let text = std::fs::read_to_string(format!("../scenarios/{bundled}.toml")).unwrap();
    let changed = change(&text);
    assert_ne!(changed, text, "the change must change the scenario");
    let name = bundled.replace('/', "-");
    let path = tmp(&format!("{name}.toml"));
    std::fs::write(&path, &changed).unwrap();
    let original = nodes::parse(path.to_str().unwrap(), &changed).unwrap();
    let seed = original.meta.seed;
    let (outcome, set) = failed(&original, seed);
    assert_eq!(
        outcome,
        RunOutcome::Fail,
        "{bundled}: the changed run must fail"
    );
    let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(set, want, "{bundled}: the original's failure");

    let out = tmp(&format!("{name}-shrunk.toml"));
    let stdout = shrink(&path, &out, &["--max-runs", "60"])
        .exits(1)
        .prints("it fails exactly as the original did")
        .out;
    let written = std::fs::read_to_string(&out).unwrap();
    let shrunk = nodes::parse(out.to_str().unwrap(), &written).unwrap();
    assert_eq!(shrunk.meta.seed, seed);
    let (outcome, shrunk_set) = failed(&shrunk, seed);
    assert_eq!(
        outcome,
        RunOutcome::Fail,
        "{bundled}: the shrunk file must fail\n{written}"
    );
    assert_eq!(
        shrunk_set, set,
        "{bundled}: the shrunk file must fail with the same checks and no other\n{written}"
    );
    assert!(
        shrunk.meta.duration >= shrunk.latest_named_time(),
        "{bundled}: the shrunk run ends before a time it names\n{written}"
    );
    let smaller = shrunk.meta.duration < original.meta.duration
        || shrunk.faults.len() < original.faults.len()
        || shrunk.topology.clients < original.topology.clients;
    assert!(smaller, "{bundled}: nothing was shrunk\n{stdout}");
    (original, shrunk)
}

#[test]
fn an_invariant_violation_shrinks_to_a_run_with_that_violation_and_no_other_failure() {
    shrink_keeps_the_failure(
        "raft/bug-forget-vote",
        |t| t.replace("violated = [\"election-safety\"]", ""),
        &["election-safety violated"],
    );
}

#[test]
fn a_linearizability_failure_shrinks_to_a_run_that_is_still_not_linearizable_and_nothing_else() {
    shrink_keeps_the_failure(
        "single/crash-unsynced",
        |t| t.replace("linearizable = false", "linearizable = true"),
        &["linearizable"],
    );
}

#[test]
fn a_failed_measure_shrinks_without_cutting_the_run_before_its_named_times() {
    let (original, shrunk) = shrink_keeps_the_failure(
        "raft/leader-crash",
        |t| {
            t.replace(
                "[expect.measure.\"leaders elected\"]\nmin = 2",
                "[expect.measure.\"leaders elected\"]\nmax = 1",
            )
        },
        &["measure.\"leaders elected\""],
    );
    // Its liveness deadline is still inside the shrunk run, and still held.
    if let Some(after) = original.expect.all_clients_ok_after {
        assert!(shrunk.meta.duration > after);
    }
}

/// A quorum join is a time of the run the protocol declares: a shrink must
/// not end before it (it used to cut a run with a join at 18s to 16s and
/// keep the join), and a wait such as `sloppy_after` is not such a time.
#[test]
fn a_quorum_join_is_a_named_time_a_shrink_keeps_and_sloppy_after_is_not() {
    let text = std::fs::read_to_string("../scenarios/quorum/add-node.toml")
        .unwrap()
        .replace("at = \"8s\"", "at = \"18s\"")
        .replace("converge_by = \"19s\"\n", "");
    assert!(text.contains("at = \"18s\"") && !text.contains("converge_by"));
    let s = nodes::parse("add-node-18s.toml", &text).unwrap();
    assert!(
        s.latest_named_time() >= sim::time::secs(18),
        "{}",
        s.latest_named_time()
    );
    let sloppy = text.replace(
        "[system]\n",
        "[system]\nsloppy = true\nsloppy_after = \"30s\"\n",
    );
    let s = nodes::parse("add-node-sloppy.toml", &sloppy)
        .expect("sloppy_after is a wait, not a time of the run");
    assert!(s.latest_named_time() < s.meta.duration);
}

/// A seed above i64::MAX does not fit in a TOML integer: the written file
/// (shrink's, and the TUI's save) leaves it out and says to give it by flag,
/// instead of writing `seed = -1`, which no longer parses.
#[test]
fn a_seed_above_i64_max_is_left_out_of_the_written_file_and_named_for_the_command_line() {
    let text = std::fs::read_to_string("../scenarios/single/crash-unsynced.toml").unwrap();
    let mut s = nodes::parse("crash-unsynced.toml", &text).unwrap();
    s.meta.seed = u64::MAX;
    let written = s.to_toml(&["a header".into()]);
    assert!(!written.contains("seed = -"), "{written}");
    assert!(
        written.contains("run this file with --seed 18446744073709551615"),
        "{written}"
    );
    nodes::parse("written.toml", &written).expect("the written file parses back");
    s.meta.seed = i64::MAX as u64;
    let written = s.to_toml(&[]);
    let back = nodes::parse("written.toml", &written).unwrap();
    assert_eq!(back.meta.seed, i64::MAX as u64);
}

#[test]
fn shrink_at_the_largest_seed_writes_a_file_that_fails_with_that_seed() {
    let path = unsynced_claiming_linearizable("u64-max.toml");
    let out = tmp("u64-max-shrunk.toml");
    let seed = u64::MAX.to_string();
    shrink(&path, &out, &["--seed", &seed, "--max-runs", "20"])
        .exits(1)
        .prints(&format!("--seed {seed}"));
    chaoslab(&["run", out.to_str().unwrap(), "--seed", &seed]).exits(1);
}

/// A run shrunk with budget flags carries the budget in its own [meta]: run
/// on its own, with no flag, it is decided as it was when shrunk.
#[test]
fn a_file_shrunk_with_budget_flags_keeps_the_budget_in_its_meta() {
    let path = unsynced_claiming_linearizable("budget-flags.toml");
    let out = tmp("budget-flags-shrunk.toml");
    let flags = [
        "--max-runs",
        "10",
        "--check-max-steps",
        "123456789",
        "--check-max-memory",
        "3GiB",
    ];
    shrink(&path, &out, &flags).exits(1);
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.contains("--check-max-steps 123456789 --check-max-memory 3GiB`"),
        "the header's command carries the flags:\n{written}"
    );
    let s = nodes::parse("shrunk.toml", &written).unwrap();
    assert_eq!(s.meta.check_steps(), 123_456_789, "{written}");
    assert_eq!(s.meta.check_memory(), 3 << 30, "{written}");
}
