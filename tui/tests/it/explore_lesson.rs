//! docs/exploring.md states, for each bug flag explored, the counterexample
//! BFS finds (its length, and what the bundled sampled scenario needed to hit
//! the same bug), and the state counts with the flag on and off. This
//! regenerates every figure of its table from runs and compares:
//!
//! - `chaoslab explore` finds a counterexample (exit 1), written as a
//!   scenario whose replay (`chaoslab run`) breaks the same property at the
//!   same step;
//! - with the flag off the same configuration is explored exhaustively with
//!   nothing broken (exit 0);
//! - the bundled scenario's events before its first violation, from its
//!   trace.
//!
//! A search is deterministic: the same scenario and seed give the same
//! counts, here and on any machine.

use std::path::{Path, PathBuf};

use crate::common::chaoslab;

/// (explore scenario, the bug as the scenario sets it, the same line with
/// the bug off, the bundled scenario that samples it).
const ROWS: &[(&str, &str, &str, &str)] = &[
    (
        "twopc-unilateral-abort",
        "unilateral_abort_after_yes = true",
        "unilateral_abort_after_yes = false",
        "twopc/bug-unilateral-abort",
    ),
    (
        "twopc-decide-before-logging",
        "decide_before_logging = true",
        "decide_before_logging = false",
        "twopc/bug-decide-before-logging",
    ),
    (
        "twopc-participant-forgets-vote",
        "participant_forgets_vote = true",
        "participant_forgets_vote = false",
        "twopc/bug-participant-forgets-vote",
    ),
    (
        "raft-forget-vote",
        "forget_vote_on_restart = true",
        "forget_vote_on_restart = false",
        "raft/bug-forget-vote",
    ),
    (
        "raft-figure-8",
        "commit_old_terms_by_counting = true",
        "commit_old_terms_by_counting = false",
        "raft/bug-figure-8",
    ),
    (
        "raft-skip-log-check",
        "skip_log_check = true",
        "skip_log_check = false",
        "raft/bug-skip-log-check",
    ),
    (
        "raft-lease-clock",
        "lease_reads_without_clock_bound = true",
        "lease_reads_without_clock_bound = false",
        "raft/bug-lease-clock",
    ),
    (
        "quorum-read-repair",
        "read_repair_writes_older = true",
        "read_repair_writes_older = false",
        "quorum/bug-read-repair-writes-older",
    ),
    // Fencing is the fix here, so the bug is its absence.
    (
        "replication-unfenced",
        "fencing = false",
        "fencing = true",
        "replication/split-brain-unfenced",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chaoslab-explore-lesson-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

/// Events (deliveries, timers, operations started, faults, drops) the
/// bundled scenario's run went through before its first violation.
fn events_before_violation(bundled: &str) -> usize {
    let trace = tmp(&format!("{}.jsonl", bundled.replace('/', "-")));
    let (code, _, err) = chaoslab(&["run", bundled, "--trace", trace.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "{bundled}: {err}");
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut n = 0;
    for line in text.lines() {
        let v = json(line);
        match v["kind"].as_str().unwrap() {
            "violation" => return n,
            "deliver" | "timer" | "invoke" | "fault" | "drop" => n += 1,
            _ => {}
        }
    }
    panic!("{bundled}: no violation in its run");
}

struct Row {
    name: &'static str,
    property: String,
    steps: usize,
    on_unique: u64,
    off_unique: u64,
    sampled: usize,
}

fn explore_row(name: &'static str, on: &str, off: &str, bundled: &str) -> Row {
    let file = root().join(format!("scenarios/explore/{name}.toml"));
    let cex = tmp(&format!("{name}.counterexample.toml"));
    let explore = || {
        chaoslab(&[
            "explore",
            file.to_str().unwrap(),
            "--json",
            "--out",
            cex.to_str().unwrap(),
        ])
    };
    let (code, out, err) = explore();
    assert_eq!(
        code, 1,
        "{name}: explore must find a counterexample\n{out}{err}"
    );
    let v = json(&out);
    let c = &v["outcome"]["counterexample"];
    let property = c["property"].as_str().unwrap().to_string();
    let steps = c["steps"].as_array().unwrap().len();
    // The counterexample replays: the same property breaks at the same step.
    // Its exit code is its hypothesis's: a scenario whose `[expect]` says the
    // property is violated (its sampled run breaks it too) passes (0) when it
    // breaks; any other fails (1).
    let (code, report, err) = chaoslab(&["run", cex.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    let expected = if text.contains(&format!("violated = [\"{property}\"]")) {
        0
    } else {
        1
    };
    assert_eq!(
        code, expected,
        "{name}: the counterexample's replay must break {property}\n{report}{err}"
    );
    let said = format!(
        "schedule     an explored run: {steps} of {steps} steps replayed; {property} broke at step {steps}"
    );
    assert!(
        report.contains(&said),
        "{name}: the replay must say `{said}`:\n{report}"
    );
    // The same search again gives the same counts.
    let (_, again, _) = explore();
    assert_eq!(
        json(&again)["outcome"]["stats"],
        v["outcome"]["stats"],
        "{name}: the same search gave other counts"
    );
    // With the flag off: exhaustive, nothing broken.
    assert!(text.contains(on), "{name}: sets {on}");
    let fixed = tmp(&format!("{name}.off.toml"));
    std::fs::write(&fixed, text.replace(on, off)).unwrap();
    let (code, out, err) = chaoslab(&["explore", fixed.to_str().unwrap(), "--json"]);
    assert_eq!(
        code, 0,
        "{name} with {off} must be exhausted without a violation\n{out}{err}"
    );
    let w = json(&out);
    assert_eq!(w["outcome"]["exhaustive"], true);
    Row {
        name,
        property,
        steps,
        on_unique: v["outcome"]["stats"]["unique"].as_u64().unwrap(),
        off_unique: w["outcome"]["stats"]["unique"].as_u64().unwrap(),
        sampled: events_before_violation(bundled),
    }
}

#[test]
fn every_bug_flag_explored_is_caught_and_its_fix_exhausted_as_the_lesson_says() {
    // Each row runs its own processes, all rows at once.
    let rows = crate::common::at_once(ROWS, |&(name, on, off, bundled)| {
        explore_row(name, on, off, bundled)
    });
    let mut table = String::from(
        "| scenario | broke | counterexample | sampled run before it broke | states, flag on | states, flag off (exhausted) |\n|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        assert!(
            r.steps < r.sampled,
            "{}: the counterexample ({} steps) must be shorter than the sampled run ({} events)",
            r.name,
            r.steps,
            r.sampled
        );
        table.push_str(&format!(
            "| explore/{} | {} | {} steps | {} events | {} | {} |\n",
            r.name, r.property, r.steps, r.sampled, r.on_unique, r.off_unique
        ));
    }
    let doc = std::fs::read_to_string(root().join("docs/exploring.md")).unwrap();
    assert!(
        doc.contains(&table),
        "docs/exploring.md must hold this table, regenerated from the runs:\n{table}"
    );
}

/// A client that is down starts no operation until it restarts: exploring,
/// clients think for no time, and a down client that asked again at once
/// would ask forever at one instant (time would stop there, and the search
/// would call the runs it never reached explored). Here a second client
/// crashes at 1ms and never comes back; the lease bug must still be found,
/// with operations started as soon as they may and at any time.
#[test]
fn a_crashed_client_neither_stops_time_nor_hides_a_bug() {
    let text = std::fs::read_to_string(root().join("scenarios/explore/raft-lease-clock.toml"))
        .unwrap()
        .replace("clients = 1", "clients = 2")
        .replace(
            "[explore]\nops = 2",
            "[[faults]]\nat = \"1ms\"\naction = \"crash\"\ntarget = \"c2\"\n\n[explore]\nops = 2",
        );
    assert!(text.contains("target = \"c2\""));
    for issue in ["any-time", "earliest"] {
        let file = tmp(&format!("crashed-client-{issue}.toml"));
        std::fs::write(
            &file,
            text.replace("ops = 2", &format!("ops = 2\nissue = \"{issue}\"")),
        )
        .unwrap();
        let (code, out, err) = chaoslab(&[
            "explore",
            file.to_str().unwrap(),
            "--json",
            "--out",
            tmp(&format!("crashed-client-{issue}.cex.toml"))
                .to_str()
                .unwrap(),
        ]);
        assert_eq!(
            code, 1,
            "issue = {issue}: the lease bug must be found\n{out}{err}"
        );
        let v = json(&out);
        assert_eq!(v["outcome"]["counterexample"]["property"], "lease-safety");
        // The sampled path (`chaoslab run`) ends too, at the scenario's end.
        let (code, out, err) = chaoslab(&["run", file.to_str().unwrap()]);
        assert!(code == 0 || code == 1, "issue = {issue}: run\n{out}{err}");
        assert!(
            out.contains("simulated    200ms"),
            "issue = {issue}: the run must reach its end\n{out}"
        );
    }
}
