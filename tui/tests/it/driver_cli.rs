//! `--driver madsim`, `cluster` and `bench --vs madsim` as a user meets them,
//! in whichever build this is: without the feature each says how to build it;
//! with the feature and without `--cfg madsim` `cluster` runs real sockets;
//! with both `run --driver madsim` runs the simulation.

use crate::support;

use support::chaoslab;

#[cfg(not(feature = "madsim"))]
#[test]
fn without_the_feature_each_madsim_command_says_how_to_build_it() {
    for args in [
        &["run", "single/normal", "--driver", "madsim"][..],
        &["cluster", "single/normal"][..],
        &["bench", "--vs", "madsim", "--seconds", "1"][..],
    ] {
        let ran = chaoslab(args).exits(2).warns("--features madsim");
        assert!(ran.out.is_empty(), "{args:?}: {}", ran.out);
    }
}

#[cfg(all(feature = "madsim", not(madsim)))]
#[test]
fn with_the_feature_but_not_the_cfg_run_driver_madsim_points_to_cluster_and_the_cfg() {
    chaoslab(&["run", "single/normal", "--driver", "madsim"])
        .exits(2)
        .warns("--cfg madsim")
        .warns("chaoslab cluster");
}

#[cfg(all(feature = "madsim", not(madsim)))]
#[test]
fn cluster_runs_a_scenario_on_loopback_and_prints_the_same_report() {
    let ran = chaoslab(&["cluster", "single/normal", "--speed", "20"]);
    // Real time on a shared machine: timing expectations may miss; the
    // report, the checks and the replay line are what this pins.
    assert!(ran.code == 0 || ran.code == 1, "{}{}", ran.out, ran.err);
    ran.prints("verdict: linearizable")
        .prints("replay       chaoslab cluster single/normal --seed 1 (a real-time run");
}

#[cfg(all(feature = "madsim", madsim))]
#[test]
fn run_driver_madsim_meets_the_hypothesis_and_replays_to_the_same_report() {
    let args = ["run", "single/normal", "--driver", "madsim"];
    let ran = chaoslab(&args)
        .exits(0)
        .prints("replay       chaoslab run single/normal --seed 1 --driver madsim");
    let again = chaoslab(&args).out;
    assert_eq!(again, ran.out, "the same seed gave another report");
}

/// `bench --vs madsim` runs each workload on both drivers, each run in a
/// fresh process of the program (`--child`), and prints both figures and
/// the ratio; `--repeat-for 0` measures each once.
#[cfg(all(feature = "madsim", madsim))]
#[test]
fn bench_vs_madsim_measures_each_workload_on_both_drivers_in_fresh_processes() {
    let mut ran = chaoslab(&[
        "bench",
        "--vs",
        "madsim",
        "--seconds",
        "1",
        "--repeat-for",
        "0",
    ])
    .exits(0)
    .prints("each run a fresh process");
    for workload in [
        "ping, 5 nodes",
        "single-server KV",
        "raft, 5 servers, 3 clients",
    ] {
        for driver in ["kernel", "madsim"] {
            ran = ran.prints(&format!("{workload}, {driver}"));
        }
    }
    assert_eq!(ran.out.matches("kernel/madsim: ").count(), 3, "{}", ran.out);
    assert_eq!(ran.out.matches("median of 1 run").count(), 6, "{}", ran.out);
}

#[cfg(all(feature = "madsim", madsim))]
#[test]
fn cluster_refuses_a_simulated_build() {
    chaoslab(&["cluster", "single/normal"])
        .exits(2)
        .warns("without it");
}

/// The command an undecided cluster run prints to decide it carries budget
/// flags, so `cluster` takes them as `run` does.
#[cfg(not(feature = "madsim"))]
#[test]
fn cluster_takes_the_budget_flags_its_undecided_hint_names() {
    let budget = [
        "--check-max-steps",
        "100000000",
        "--check-max-memory",
        "4GiB",
    ];
    let ran = chaoslab(&[&["cluster", "single/normal"][..], &budget].concat())
        .exits(2)
        .warns("--features madsim");
    assert!(!ran.err.contains("unexpected argument"), "{}", ran.err);
}
