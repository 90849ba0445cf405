//! The command line as a user meets it.

use crate::common;
use crate::support;

use support::{chaoslab, Ran};

/// A single server that crashes at 1s, in a scenario that expects every
/// operation outside a partition to succeed: it fails on every seed.
const TOO_HOPEFUL: &str = "[meta]\nname = \"too-hopeful\"\nduration = \"5s\"\n[system]\nprotocol = \"single\"\n\
     [topology]\nservers = 1\nclients = 2\n[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"n1\"\n\
     [expect]\nmin_availability_outside_partition = 1.0\n";

/// The path of this test run's file `name`, in a temp folder of its own.
fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("chaoslab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

/// Writes `text` to [`tmp`]`(name)` and returns that path.
fn scenario_file(name: &str, text: &str) -> String {
    let path = tmp(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `chaoslab run FILE FLAGS`, FILE holding `text`.
#[must_use]
fn run_text(name: &str, text: &str, flags: &[&str]) -> Ran {
    let file = scenario_file(name, text);
    chaoslab(&[&["run", file.as_str()][..], flags].concat())
}

/// A single-server scenario named `m`, `duration` long, with `clients`
/// clients, then `more` (its other tables).
fn single(duration: &str, clients: u32, more: &str) -> String {
    format!(
        "[meta]\nname = \"m\"\nduration = \"{duration}\"\n[system]\nprotocol = \"single\"\n\
         [topology]\nservers = 1\nclients = {clients}\n{more}"
    )
}

/// The targets an error for a fault's `target` lists as valid.
fn valid_targets(err: &str) -> &str {
    let valid = err.split("valid targets are").nth(1).unwrap_or("");
    valid.split(';').next().unwrap()
}

#[test]
fn no_arguments_runs_the_built_in_default_scenario() {
    chaoslab(&[])
        .exits(0)
        .prints("scenario     single/normal (<built-in>)")
        .prints("verdict      PASS")
        .prints("replay       chaoslab run --seed 1");
}

#[test]
fn list_shows_every_bundled_scenario_with_its_description() {
    chaoslab(&["list"])
        .exits(0)
        .prints("single/normal")
        .prints("single/crash-unsynced")
        .never_prints("does not parse");
}

#[test]
fn a_bundled_scenario_runs_by_name_and_a_missing_one_is_bad_input() {
    chaoslab(&["run", "single/client-partitioned"]).exits(0);
    chaoslab(&["run", "no/such-scenario"])
        .exits(2)
        .warns("chaoslab list");
}

#[test]
fn the_seed_flag_changes_the_run_and_the_replay_command_carries_it() {
    let a = chaoslab(&["run", "--seed", "5"]).prints("chaoslab run --seed 5");
    let b = chaoslab(&["run", "--seed", "6"]);
    let fp = |r: &Ran| {
        r.out
            .lines()
            .find(|l| l.starts_with("fingerprint"))
            .unwrap()
            .to_string()
    };
    assert_ne!(fp(&a), fp(&b));
}

#[test]
fn trace_and_history_are_written_as_json_lines() {
    let trace = tmp("trace.jsonl");
    let history = tmp("history.jsonl");
    let scenario = "../scenarios/single/client-partitioned.toml";
    chaoslab(&["run", scenario, "--trace", &trace, "--history", &history]).exits(0);
    let t = std::fs::read_to_string(&trace).unwrap();
    let kinds: std::collections::BTreeSet<String> = t
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["t"].is_u64());
            v["kind"].as_str().unwrap().to_string()
        })
        .collect();
    for k in [
        "send", "deliver", "drop", "timer", "fault", "invoke", "complete",
    ] {
        assert!(kinds.contains(k), "no `{k}` record in the trace: {kinds:?}");
    }
    let h = std::fs::read_to_string(&history).unwrap();
    let op: sim::history::Op = serde_json::from_str(h.lines().next().unwrap()).unwrap();
    assert!(op.key.starts_with('k'));
}

#[test]
fn a_failing_hypothesis_exits_1_writes_its_trace_and_prints_the_replay() {
    let s = &scenario_file("failing.toml", TOO_HOPEFUL);
    let trace = tmp("failing-trace.jsonl");
    chaoslab(&["run", s, "--trace", &trace])
        .exits(1)
        .prints("FAIL")
        .warns(&format!("chaoslab run {s} --seed 1"));
    assert!(std::fs::metadata(&trace).unwrap().len() > 0);
}

#[test]
fn the_json_report_parses_and_carries_the_verdict() {
    let ran = chaoslab(&["run", "--json"]).exits(0);
    let v: serde_json::Value = serde_json::from_str(&ran.out).unwrap();
    assert_eq!(v["passed"], true);
    assert_eq!(v["protocol"], "single");
    assert!(v["fingerprint"].as_str().unwrap().len() == 16);
}

#[test]
fn help_describes_every_flag_and_the_exit_codes() {
    chaoslab(&["--help"]).exits(0).prints("Exit codes");
    let mut run_help = chaoslab(&["run", "--help"]);
    for flag in ["--seed", "--trace", "--history", "--json"] {
        run_help = run_help.prints(flag);
    }
}

#[test]
fn sweep_lists_failing_seeds_grouped_by_what_broke_and_exits_1() {
    // A tight latency bound that some seeds meet and others do not.
    let s = &scenario_file(
        "sweep.toml",
        &single(
            "2s",
            2,
            "[network]\nlatency = { dist = \"exponential\", mean = \"2ms\" }\n\
             [expect]\nmax_p99_latency = \"14ms\"\n",
        ),
    );
    let ran = chaoslab(&["sweep", s, "--seeds", "1..30", "--jobs", "2"])
        .exits(1)
        .prints("passed")
        .prints("failed")
        .prints("  p99 latency: ")
        .prints(&format!("chaoslab run {s} --seed "));
    // The same sweep twice gives the same lines, whatever the threads did.
    let again = chaoslab(&["sweep", s, "--seeds", "1..30", "--jobs", "1"]);
    assert_eq!(ran.out, again.out);
}

#[test]
fn shrink_turns_a_nemesis_failure_into_a_small_fixed_schedule_that_still_fails() {
    let scenario = scenario_file(
        "shrinkme.toml",
        "[meta]\nname = \"shrinkme\"\nduration = \"20s\"\nseed = 3\n[system]\nprotocol = \"single\"\n\
         [topology]\nservers = 1\nclients = 4\n[workload]\nrate = 10\ntimeout = \"100ms\"\n\
         [nemesis]\ninterval = \"1s\"\nfault_duration = \"500ms\"\nkinds = [\"pause\", \"clog\", \"loss\", \"clock\"]\nmax_down = 1\n\
         [expect]\nmin_availability_outside_partition = 0.99\n",
    );
    let shrunk = tmp("shrunk.toml");
    chaoslab(&["shrink", &scenario, "--out", &shrunk])
        .exits(1)
        .prints("still broken: availability outside partition");
    let text = std::fs::read_to_string(&shrunk).unwrap();
    assert!(text.contains("the nemesis became its fixed schedule"));
    assert!(!text.contains("[nemesis]"));
    assert!(text.matches("[[faults]]").count() <= 3, "{text}");
    // The written file fails on its own, with the same seed.
    chaoslab(&["run", &shrunk, "--seed", "3"]).exits(1);
}

#[test]
fn shrink_says_so_when_the_run_passes() {
    chaoslab(&["shrink", "single/normal"])
        .exits(0)
        .prints("nothing to shrink");
}

#[test]
fn extreme_but_valid_values_run_to_the_end_without_panicking() {
    let ran = chaoslab(&["run", "tests/fixtures/extreme-but-valid.toml"]);
    assert!(!ran.err.contains("panicked"), "{}", ran.err);
    // The nemesis alone needs over 1000 events; max_events = 500 stops
    // the run long before its 100000h, and says so.
    ran.exits(1)
        .prints("stopped at")
        .prints("max_events = 500 events");
}

#[test]
fn a_measure_the_protocol_does_not_report_is_bad_input_listing_the_ones_it_does() {
    let measure = single("1s", 1, "[expect.measure.\"leaders elected\"]\nmin = 1\n");
    run_text("measure.toml", &measure, &[])
        .exits(2)
        .warns("protocol \"single\" reports no figure of that name; its figures are \"writes\"")
        // The message names the line.
        .warns("measure.toml:9:");
}

#[test]
fn an_old_figure_name_is_still_accepted_and_reported_under_its_new_name() {
    let text = std::fs::read_to_string("../scenarios/cache/write-back-crash.toml").unwrap();
    let old = text.replace(
        "[expect.measure.\"acked writes not in db\"]",
        "[expect.measure.\"acked writes lost\"]",
    );
    assert_ne!(old, text);
    run_text("old-name.toml", &old, &[])
        .exits(0)
        // The file bounds "acked writes lost", the figure's old name.
        .prints("[ok] measure \"acked writes not in db\": expected at least 1, got 119")
        .never_prints("acked writes lost")
        .prints("lost writes: none");
}

/// A search budget of one step decides nothing: the run is undecided.
#[test]
fn an_undecided_check_exits_3_names_the_check_and_the_flag_that_decides_it() {
    chaoslab(&["run", "single/crash-synced", "--check-max-steps", "1"])
        .exits(3)
        .prints("[??] linearizable: expected true, got undecided")
        .prints("verdict      UNDECIDED: nothing failed, but linearizable was not decided")
        .prints("--check-max-steps 10 ")
        // One word for it in every section of the report.
        .prints("  verdict: undecided: ")
        .never_prints("unknown")
        .prints("`check_max_steps = 10` in [meta]")
        .warns(
            "decide it with:\n  chaoslab run single/crash-synced --seed 7 --check-max-steps 10\n",
        );
    let json = chaoslab(&[
        "run",
        "single/crash-synced",
        "--check-max-steps",
        "1",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json.exits(3).out).unwrap();
    assert_eq!(v["outcome"], "undecided");
    assert_eq!(v["passed"], false);
    assert_eq!(v["undecided"][0]["check"], "linearizable");
    assert_eq!(v["undecided"][0]["cause"], "steps");
    assert_eq!(v["check_budget"]["max_steps"], 1);
}

#[test]
fn the_meta_budget_decides_what_the_default_budget_cannot() {
    let text = std::fs::read_to_string("../scenarios/single/crash-synced.toml").unwrap();
    let tiny = text.replacen("[meta]\n", "[meta]\ncheck_max_steps = 1\n", 1);
    run_text("budget.toml", &tiny, &[]).exits(3);
    // The flag overrides [meta].
    run_text("budget.toml", &tiny, &["--check-max-steps", "10000000"]).exits(0);
}

#[test]
fn a_real_failure_with_an_undecided_check_exits_1() {
    let text = std::fs::read_to_string("../scenarios/single/crash-synced.toml").unwrap();
    let text = text.replacen("[expect]\n", "[expect]\nmin_ok_ops = 1000000\n", 1);
    run_text(
        "fail-and-undecided.toml",
        &text,
        &["--check-max-steps", "1"],
    )
    .exits(1)
    .prints("verdict      FAIL: the hypothesis did not hold (and linearizable was not decided)");
}

#[test]
fn sweep_lists_undecided_seeds_apart_and_exits_3_when_none_failed() {
    chaoslab(&["sweep", "single/crash-synced", "--seeds", "1..3", "--check-max-steps", "1"])
        .exits(3)
        .prints("3 seeds (1..3), 0 passed, 0 failed, 3 undecided")
        .prints("linearizable (search ran out of steps): 3 seeds (e.g. 1, 2, 3)")
        .prints("decide the first undecided seed with:\n  chaoslab run single/crash-synced --seed 1 --check-max-steps 10\n")
        .never_prints("FAIL");
}

#[test]
fn sweep_ends_on_a_range_that_ends_at_the_largest_seed() {
    let seeds = "18446744073709551614..18446744073709551615";
    chaoslab(&["sweep", "single/normal", "--seeds", seeds])
        .exits(0)
        .prints(&format!("2 seeds ({seeds}), 2 passed"));
}

#[test]
fn shrink_refuses_an_undecided_run() {
    chaoslab(&["shrink", "single/crash-synced", "--check-max-steps", "1"])
        .exits(3)
        .warns("an undecided run is not a failure")
        .warns("--check-max-steps 10");
}

#[test]
fn the_error_for_a_crash_target_lists_only_targets_crash_accepts() {
    let text = single(
        "1s",
        1,
        "[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"all\"\n",
    );
    let crash = run_text("crash-all.toml", &text, &[]).exits(2);
    let valid = valid_targets(&crash.err);
    assert!(!valid.contains("\"all\""), "{}", crash.err);
    assert!(valid.contains("\"random\""), "{}", crash.err);
    // Restart takes "all", and says so.
    let restart = text
        .replace("\"crash\"", "\"restart\"")
        .replace("\"all\"", "\"everyone\"");
    let restart = run_text("restart-everyone.toml", &restart, &[]).exits(2);
    assert!(
        valid_targets(&restart.err).contains("\"all\""),
        "{}",
        restart.err
    );
}

#[test]
fn a_share_may_be_written_as_a_percentage() {
    let text = single(
        "2s",
        2,
        "[expect]\nmin_availability_outside_partition = \"50%\"\n",
    );
    run_text("percent.toml", &text, &[])
        .exits(0)
        .prints("[ok] availability outside partition: expected at least 50.0%");
}

#[test]
fn a_memory_budget_is_refused_when_too_large_or_too_small_and_may_be_a_number_of_bytes() {
    let huge = chaoslab(&[
        "run",
        "single/crash-synced",
        "--check-max-memory",
        "99999999999TiB",
    ]);
    let huge = huge.exits(2).warns("is too large");
    assert!(!huge.err.contains("at least 1 byte"), "{}", huge.err);
    chaoslab(&["run", "single/crash-synced", "--check-max-memory", "1"])
        .exits(2)
        .warns("write at least 1MiB");
    // [meta] takes a number of bytes, as documented.
    let text = std::fs::read_to_string("../scenarios/single/crash-synced.toml").unwrap();
    let bytes = text.replacen("[meta]\n", "[meta]\ncheck_max_memory = 1073741824\n", 1);
    let s = nodes::parse("bytes.toml", &bytes).expect("a number of bytes is a size");
    assert_eq!(s.meta.check_memory(), 1 << 30);
}

/// Old names belong to the protocol whose figure was renamed, and only a
/// figure printed once per change may be named with a number.
#[test]
fn an_old_name_or_a_number_is_accepted_only_where_the_protocol_has_such_a_figure() {
    let text = std::fs::read_to_string("../scenarios/single/crash-synced.toml").unwrap();
    for name in ["acked writes lost", "acknowledged writes lost", "writes #2"] {
        let bounded = format!("{text}\n[expect.measure.\"{name}\"]\nmax = 3\n");
        run_text("measure-elsewhere.toml", &bounded, &[])
            .exits(2)
            .warns(&format!(
                "[expect.measure.\"{name}\"]: protocol \"single\" reports no figure of that name"
            ));
    }
    // quorum prints "keys moved by the ring #2" for a second membership change.
    let quorum = std::fs::read_to_string("../scenarios/quorum/add-node.toml").unwrap();
    let numbered =
        format!("{quorum}\n[expect.measure.\"keys moved by the ring #2\"]\nmax = \"25%\"\n");
    nodes::parse("numbered.toml", &numbered).expect("a numbered figure of quorum");
    let pattern = format!("{quorum}\n[expect.measure.\"keys moved by the ring #N\"]\nmax = 25\n");
    assert!(nodes::parse("pattern.toml", &pattern).is_err());
}

/// Every probability of a scenario reads a percentage as the availability
/// bounds do: [network] loss, a fault's probability, twopc's
/// fail_probability.
#[test]
fn every_probability_may_be_written_as_a_percentage() {
    let single = single("2s", 2, "");
    let s = nodes::parse(
        "loss.toml",
        &format!("{single}[network]\nloss = \"30%\"\nduplicate = \"5%\"\n"),
    )
    .unwrap();
    assert!((s.network.loss.get_ref() - 0.30).abs() < 1e-12);
    assert!((s.network.duplicate.get_ref() - 0.05).abs() < 1e-12);
    let s = nodes::parse(
        "fault.toml",
        &format!("{single}[[faults]]\nat = \"1s\"\naction = \"loss\"\ntarget = \"n1\"\nprobability = \"30%\"\n"),
    )
    .unwrap();
    match &s.faults[0].kind {
        sim::scenario::FaultKind::Loss { probability, .. } => {
            assert!((probability - 0.30).abs() < 1e-12)
        }
        other => panic!("{other:?}"),
    }
    let twopc = "[meta]\nname = \"m\"\nduration = \"2s\"\n[system]\nprotocol = \"twopc\"\n\
                 fail_probability = \"30%\"\n[topology]\nservers = 3\nclients = 1\n";
    nodes::parse("twopc.toml", twopc).expect("a percentage is a share");
    let err = nodes::parse("bad.toml", &format!("{single}[network]\nloss = \"130%\"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("a percentage is between 0% and 100%"), "{err}");
}

#[test]
fn a_trigger_that_never_fired_is_named_in_the_report() {
    let text = std::fs::read_to_string("../scenarios/single/normal.toml")
        .unwrap()
        .replace("name = \"single/normal\"", "name = \"unfired\"")
        + "\n[[faults]]\nwhen = { event = \"fault\", action = \"crash\" }\ndelay = \"1s\"\naction = \"restart\"\ntarget = \"trigger-node\"\n";
    let file = scenario_file("unfired.toml", &text);
    chaoslab(&["run", &file])
        .exits(0)
        .prints("trigger      never fired: line ")
        .prints("its fault did not happen");
    let json = chaoslab(&["run", &file, "--json"]).out;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["unfired_triggers"][0]["matched"], 0, "{json}");
}

/// A binary of another name (a crate built on `chaoslab::main`, here the same
/// binary under a link named `my-lab`) names itself in every command it
/// prints, not `chaoslab`.
#[cfg(unix)]
#[test]
fn the_commands_printed_for_the_user_name_the_running_program() {
    let link = tmp("my-lab");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_chaoslab"), &link).unwrap();
    let run = |args: &[&str]| Ran::from(common::run_program(&link, args));
    run(&["list"])
        .exits(0)
        .prints("Run one with `my-lab run NAME`");
    run(&["run", "--seed", "5"])
        .prints("replay       my-lab run --seed 5")
        .never_prints("chaoslab run");

    let s = &scenario_file("my-lab-failing.toml", TOO_HOPEFUL);
    run(&["run", s])
        .exits(1)
        .warns(&format!("my-lab run {s} --seed 1"));
    run(&["sweep", s, "--seeds", "1..3", "--jobs", "1"])
        .exits(1)
        .prints(&format!(
            "replay the first failure with:\n  my-lab run {s} --seed "
        ));
    let shrunk = tmp("my-lab-shrunk.toml");
    run(&["shrink", s, "--seed", "1", "--out", &shrunk])
        .prints("my-lab run ")
        .never_prints("chaoslab run");
    let text = std::fs::read_to_string(&shrunk).unwrap();
    assert!(
        text.contains(&format!("Shrunk by `my-lab shrink {s} --seed 1")),
        "{text}"
    );
}
