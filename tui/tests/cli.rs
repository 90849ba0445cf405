//! The command line as a user meets it.

mod common;

/// A single server that crashes at 1s, in a scenario that expects every
/// operation outside a partition to succeed: it fails on every seed.
const TOO_HOPEFUL: &str = "[meta]\nname = \"too-hopeful\"\nduration = \"5s\"\n[system]\nprotocol = \"single\"\n\
     [topology]\nservers = 1\nclients = 2\n[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"n1\"\n\
     [expect]\nmin_availability_outside_partition = 1.0\n";
use common::chaoslab;

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chaoslab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn no_arguments_runs_the_built_in_default_scenario() {
    let (code, out, _) = chaoslab(&[]);
    assert_eq!(code, 0);
    assert!(out.contains("scenario     single/normal (<built-in>)"));
    assert!(out.contains("verdict      PASS"));
    assert!(out.contains("replay       chaoslab run --seed 1"));
}

#[test]
fn list_shows_every_bundled_scenario_with_its_description() {
    let (code, out, _) = chaoslab(&["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("single/normal"));
    assert!(out.contains("single/crash-unsynced"));
    assert!(!out.contains("does not parse"), "{out}");
}

#[test]
fn a_bundled_scenario_runs_by_name_and_a_missing_one_is_bad_input() {
    let (code, out, _) = chaoslab(&["run", "single/client-partitioned"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = chaoslab(&["run", "no/such-scenario"]);
    assert_eq!(code, 2);
    assert!(err.contains("chaoslab list"));
}

#[test]
fn the_seed_flag_changes_the_run_and_the_replay_command_carries_it() {
    let (_, a, _) = chaoslab(&["run", "--seed", "5"]);
    let (_, b, _) = chaoslab(&["run", "--seed", "6"]);
    let fp = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("fingerprint"))
            .unwrap()
            .to_string()
    };
    assert_ne!(fp(&a), fp(&b));
    assert!(a.contains("chaoslab run --seed 5"));
}

#[test]
fn trace_and_history_are_written_as_json_lines() {
    let trace = tmp("trace.jsonl");
    let history = tmp("history.jsonl");
    let (code, _, _) = chaoslab(&[
        "run",
        "../scenarios/single/client-partitioned.toml",
        "--trace",
        trace.to_str().unwrap(),
        "--history",
        history.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
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
    let scenario = tmp("failing.toml");
    std::fs::write(&scenario, TOO_HOPEFUL).unwrap();
    let trace = tmp("failing-trace.jsonl");
    let s = scenario.to_str().unwrap();
    let (code, out, err) = chaoslab(&["run", s, "--trace", trace.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL"));
    assert!(err.contains(&format!("chaoslab run {s} --seed 1")), "{err}");
    assert!(std::fs::metadata(&trace).unwrap().len() > 0);
}

#[test]
fn the_json_report_parses_and_carries_the_verdict() {
    let (code, out, _) = chaoslab(&["run", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["passed"], true);
    assert_eq!(v["protocol"], "single");
    assert!(v["fingerprint"].as_str().unwrap().len() == 16);
}

#[test]
fn help_describes_every_flag_and_the_exit_codes() {
    let (code, out, _) = chaoslab(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"));
    let (_, run_help, _) = chaoslab(&["run", "--help"]);
    for flag in ["--seed", "--trace", "--history", "--json"] {
        assert!(run_help.contains(flag), "run --help lacks {flag}");
    }
}

#[test]
fn sweep_lists_failing_seeds_grouped_by_what_broke_and_exits_1() {
    let scenario = tmp("sweep.toml");
    // A tight latency bound that some seeds meet and others do not.
    std::fs::write(
        &scenario,
        "[meta]\nname = \"tight\"\nduration = \"2s\"\n[system]\nprotocol = \"single\"\n\
         [topology]\nservers = 1\nclients = 2\n\
         [network]\nlatency = { dist = \"exponential\", mean = \"2ms\" }\n\
         [expect]\nmax_p99_latency = \"14ms\"\n",
    )
    .unwrap();
    let s = scenario.to_str().unwrap();
    let (code, out, _) = chaoslab(&["sweep", s, "--seeds", "1..30", "--jobs", "2"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("passed") && out.contains("failed"));
    assert!(out.contains("  p99 latency: "), "{out}");
    assert!(out.contains(&format!("chaoslab run {s} --seed ")));
    // The same sweep twice gives the same lines, whatever the threads did.
    let (_, again, _) = chaoslab(&["sweep", s, "--seeds", "1..30", "--jobs", "1"]);
    assert_eq!(out, again);
}

#[test]
fn shrink_turns_a_nemesis_failure_into_a_small_fixed_schedule_that_still_fails() {
    let scenario = tmp("shrinkme.toml");
    std::fs::write(
        &scenario,
        "[meta]\nname = \"shrinkme\"\nduration = \"20s\"\nseed = 3\n[system]\nprotocol = \"single\"\n\
         [topology]\nservers = 1\nclients = 4\n[workload]\nrate = 10\ntimeout = \"100ms\"\n\
         [nemesis]\ninterval = \"1s\"\nfault_duration = \"500ms\"\nkinds = [\"pause\", \"clog\", \"loss\", \"clock\"]\nmax_down = 1\n\
         [expect]\nmin_availability_outside_partition = 0.99\n",
    )
    .unwrap();
    let shrunk = tmp("shrunk.toml");
    let (code, out, err) = chaoslab(&[
        "shrink",
        scenario.to_str().unwrap(),
        "--out",
        shrunk.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("still broken: availability outside partition"),
        "{out}"
    );
    let text = std::fs::read_to_string(&shrunk).unwrap();
    assert!(text.contains("the nemesis became its fixed schedule"));
    assert!(!text.contains("[nemesis]"));
    assert!(text.matches("[[faults]]").count() <= 3, "{text}");
    // The written file fails on its own, with the same seed.
    let (code, _, _) = chaoslab(&["run", shrunk.to_str().unwrap(), "--seed", "3"]);
    assert_eq!(code, 1);
}

#[test]
fn shrink_says_so_when_the_run_passes() {
    let (code, out, _) = chaoslab(&["shrink", "single/normal"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to shrink"));
}

#[test]
fn extreme_but_valid_values_run_to_the_end_without_panicking() {
    let (code, out, err) = chaoslab(&["run", "tests/fixtures/extreme-but-valid.toml"]);
    assert!(!err.contains("panicked"), "{err}");
    // The nemesis alone needs over 1000 events; max_events = 500 stops
    // the run long before its 100000h, and says so.
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("stopped at") && out.contains("max_events = 500 events"),
        "{out}"
    );
}

#[test]
fn a_measure_the_protocol_does_not_report_is_bad_input_listing_the_ones_it_does() {
    let scenario = tmp("measure.toml");
    std::fs::write(
        &scenario,
        "[meta]\nname = \"m\"\nduration = \"1s\"\n[system]\nprotocol = \"single\"\n\
         [topology]\nservers = 1\nclients = 1\n\
         [expect.measure.\"leaders elected\"]\nmin = 1\n",
    )
    .unwrap();
    let (code, _, err) = chaoslab(&["run", scenario.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "protocol \"single\" reports no figure of that name; its figures are \"writes\""
        ),
        "{err}"
    );
    assert!(
        err.contains("measure.toml:9:"),
        "the message names the line: {err}"
    );
}

#[test]
fn an_old_figure_name_is_still_accepted_and_reported_under_its_new_name() {
    let text = std::fs::read_to_string("../scenarios/cache/write-back-crash.toml").unwrap();
    let old = text.replace(
        "[expect.measure.\"acked writes not in db\"]",
        "[expect.measure.\"acked writes lost\"]",
    );
    assert_ne!(old, text);
    let scenario = tmp("old-name.toml");
    std::fs::write(&scenario, &old).unwrap();
    let (code, out, err) = chaoslab(&["run", scenario.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // The file bounds "acked writes lost", the figure's old name.
    assert!(
        out.contains("[ok] measure \"acked writes not in db\": expected at least 1, got 119"),
        "{out}"
    );
    assert!(!out.contains("acked writes lost"), "{out}");
    assert!(out.contains("lost writes: none"), "{out}");
}

/// A search budget of one step decides nothing: the run is undecided.
#[test]
fn an_undecided_check_exits_3_names_the_check_and_the_flag_that_decides_it() {
    let (code, out, err) = chaoslab(&["run", "single/crash-synced", "--check-max-steps", "1"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("[??] linearizable: expected true, got undecided"),
        "{out}"
    );
    assert!(
        out.contains("verdict      UNDECIDED: nothing failed, but linearizable was not decided"),
        "{out}"
    );
    assert!(out.contains("--check-max-steps 10 "), "{out}");
    // One word for it in every section of the report.
    assert!(out.contains("  verdict: undecided: "), "{out}");
    assert!(!out.contains("unknown"), "{out}");
    assert!(out.contains("`check_max_steps = 10` in [meta]"), "{out}");
    assert!(
        err.contains(
            "decide it with:\n  chaoslab run single/crash-synced --seed 7 --check-max-steps 10\n"
        ),
        "{err}"
    );
    let (code, json, _) = chaoslab(&[
        "run",
        "single/crash-synced",
        "--check-max-steps",
        "1",
        "--json",
    ]);
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["outcome"], "undecided");
    assert_eq!(v["passed"], false);
    assert_eq!(v["undecided"][0]["check"], "linearizable");
    assert_eq!(v["undecided"][0]["cause"], "steps");
    assert_eq!(v["check_budget"]["max_steps"], 1);
}

#[test]
fn the_meta_budget_decides_what_the_default_budget_cannot() {
    let scenario = tmp("budget.toml");
    let text = std::fs::read_to_string("../scenarios/single/crash-synced.toml").unwrap();
    let tiny = text.replacen("[meta]\n", "[meta]\ncheck_max_steps = 1\n", 1);
    std::fs::write(&scenario, &tiny).unwrap();
    let (code, out, _) = chaoslab(&["run", scenario.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}");
    // The flag overrides [meta].
    let (code, out, _) = chaoslab(&[
        "run",
        scenario.to_str().unwrap(),
        "--check-max-steps",
        "10000000",
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_real_failure_with_an_undecided_check_exits_1() {
    let scenario = tmp("fail-and-undecided.toml");
    let text = std::fs::read_to_string("../scenarios/single/crash-synced.toml").unwrap();
    let text = text.replacen("[expect]\n", "[expect]\nmin_ok_ops = 1000000\n", 1);
    std::fs::write(&scenario, &text).unwrap();
    let (code, out, err) = chaoslab(&["run", scenario.to_str().unwrap(), "--check-max-steps", "1"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(
            "verdict      FAIL: the hypothesis did not hold (and linearizable was not decided)"
        ),
        "{out}"
    );
}

#[test]
fn sweep_lists_undecided_seeds_apart_and_exits_3_when_none_failed() {
    let (code, out, _) = chaoslab(&[
        "sweep",
        "single/crash-synced",
        "--seeds",
        "1..3",
        "--check-max-steps",
        "1",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("3 seeds (1..3), 0 passed, 0 failed, 3 undecided"),
        "{out}"
    );
    assert!(
        out.contains("linearizable (search ran out of steps): 3 seeds (e.g. 1, 2, 3)"),
        "{out}"
    );
    assert!(
        out.contains("decide the first undecided seed with:\n  chaoslab run single/crash-synced --seed 1 --check-max-steps 10\n"),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn sweep_ends_on_a_range_that_ends_at_the_largest_seed() {
    let (code, out, _) = chaoslab(&[
        "sweep",
        "single/normal",
        "--seeds",
        "18446744073709551614..18446744073709551615",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 seeds (18446744073709551614..18446744073709551615), 2 passed"),
        "{out}"
    );
}

#[test]
fn shrink_refuses_an_undecided_run() {
    let (code, _, err) = chaoslab(&["shrink", "single/crash-synced", "--check-max-steps", "1"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("an undecided run is not a failure"), "{err}");
    assert!(err.contains("--check-max-steps 10"), "{err}");
}

#[test]
fn the_error_for_a_crash_target_lists_only_targets_crash_accepts() {
    let scenario = tmp("crash-all.toml");
    std::fs::write(
        &scenario,
        "[meta]\nname = \"m\"\nduration = \"1s\"\n[system]\nprotocol = \"single\"\n\
         [topology]\nservers = 1\nclients = 1\n\
         [[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"all\"\n",
    )
    .unwrap();
    let (code, _, err) = chaoslab(&["run", scenario.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let valid = err.split("valid targets are").nth(1).unwrap_or("");
    let valid = valid.split(';').next().unwrap();
    assert!(!valid.contains("\"all\""), "{err}");
    assert!(valid.contains("\"random\""), "{err}");
    // Restart takes "all", and says so.
    let text = std::fs::read_to_string(&scenario).unwrap();
    let restart = tmp("restart-everyone.toml");
    std::fs::write(
        &restart,
        text.replace("\"crash\"", "\"restart\"")
            .replace("\"all\"", "\"everyone\""),
    )
    .unwrap();
    let (code, _, err) = chaoslab(&["run", restart.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let valid = err.split("valid targets are").nth(1).unwrap_or("");
    assert!(
        valid.split(';').next().unwrap().contains("\"all\""),
        "{err}"
    );
}

#[test]
fn a_share_may_be_written_as_a_percentage() {
    let scenario = tmp("percent.toml");
    std::fs::write(
        &scenario,
        "[meta]\nname = \"m\"\nduration = \"2s\"\n[system]\nprotocol = \"single\"\n\
         [topology]\nservers = 1\nclients = 2\n\
         [expect]\nmin_availability_outside_partition = \"50%\"\n",
    )
    .unwrap();
    let (code, out, err) = chaoslab(&["run", scenario.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("[ok] availability outside partition: expected at least 50.0%"),
        "{out}"
    );
}

#[test]
fn a_memory_budget_is_refused_when_too_large_or_too_small_and_may_be_a_number_of_bytes() {
    let (code, _, err) = chaoslab(&[
        "run",
        "single/crash-synced",
        "--check-max-memory",
        "99999999999TiB",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is too large"), "{err}");
    assert!(!err.contains("at least 1 byte"), "{err}");
    let (code, _, err) = chaoslab(&["run", "single/crash-synced", "--check-max-memory", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("write at least 1MiB"), "{err}");
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
        let scenario = tmp("measure-elsewhere.toml");
        std::fs::write(
            &scenario,
            format!("{text}\n[expect.measure.\"{name}\"]\nmax = 3\n"),
        )
        .unwrap();
        let (code, _, err) = chaoslab(&["run", scenario.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(&format!(
                "[expect.measure.\"{name}\"]: protocol \"single\" reports no figure of that name"
            )),
            "{err}"
        );
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
    let single = "[meta]\nname = \"m\"\nduration = \"2s\"\n[system]\nprotocol = \"single\"\n\
                  [topology]\nservers = 1\nclients = 2\n";
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
    let file = tmp("unfired.toml");
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = chaoslab(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("trigger      never fired: line ") && out.contains("its fault did not happen"),
        "{out}"
    );
    let (_, json, _) = chaoslab(&["run", file.to_str().unwrap(), "--json"]);
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
    let run = |args: &[&str]| common::run_program(&link, args);
    let (code, out, _) = run(&["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("Run one with `my-lab run NAME`"), "{out}");
    let (_, out, _) = run(&["run", "--seed", "5"]);
    assert!(out.contains("replay       my-lab run --seed 5"), "{out}");
    assert!(!out.contains("chaoslab run"), "{out}");

    let scenario = tmp("my-lab-failing.toml");
    std::fs::write(&scenario, TOO_HOPEFUL).unwrap();
    let s = scenario.to_str().unwrap();
    let (code, _, err) = run(&["run", s]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("my-lab run {s} --seed 1")), "{err}");
    let (code, out, _) = run(&["sweep", s, "--seeds", "1..3", "--jobs", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "replay the first failure with:\n  my-lab run {s} --seed "
        )),
        "{out}"
    );
    let shrunk = tmp("my-lab-shrunk.toml");
    let (_, out, _) = run(&[
        "shrink",
        s,
        "--seed",
        "1",
        "--out",
        shrunk.to_str().unwrap(),
    ]);
    assert!(out.contains("my-lab run "), "{out}");
    assert!(!out.contains("chaoslab run"), "{out}");
    let text = std::fs::read_to_string(&shrunk).unwrap();
    assert!(
        text.contains(&format!("Shrunk by `my-lab shrink {s} --seed 1")),
        "{text}"
    );
}
