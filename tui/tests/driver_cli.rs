//! `--driver madsim`, `cluster` and `bench --vs madsim` as a user meets them,
//! in whichever build this is: without the feature each says how to build it;
//! with the feature and without `--cfg madsim` `cluster` runs real sockets;
//! with both `run --driver madsim` runs the simulation.

mod common;
use common::chaoslab;

#[cfg(not(feature = "madsim"))]
#[test]
fn without_the_feature_each_madsim_command_says_how_to_build_it() {
    for args in [
        &["run", "single/normal", "--driver", "madsim"][..],
        &["cluster", "single/normal"][..],
        &["bench", "--vs", "madsim", "--seconds", "1"][..],
    ] {
        let (code, out, err) = chaoslab(args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains("--features madsim"), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
    }
}

#[cfg(all(feature = "madsim", not(madsim)))]
#[test]
fn with_the_feature_but_not_the_cfg_run_driver_madsim_points_to_cluster_and_the_cfg() {
    let (code, _, err) = chaoslab(&["run", "single/normal", "--driver", "madsim"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--cfg madsim"), "{err}");
    assert!(err.contains("chaoslab cluster"), "{err}");
}

#[cfg(all(feature = "madsim", not(madsim)))]
#[test]
fn cluster_runs_a_scenario_on_loopback_and_prints_the_same_report() {
    let (code, out, err) = chaoslab(&["cluster", "single/normal", "--speed", "20"]);
    // Real time on a shared machine: timing expectations may miss; the
    // report, the checks and the replay line are what this pins.
    assert!(code == 0 || code == 1, "{out}{err}");
    assert!(out.contains("verdict: linearizable"), "{out}");
    assert!(
        out.contains("replay       chaoslab cluster single/normal --seed 1 (a real-time run"),
        "{out}"
    );
}

#[cfg(all(feature = "madsim", madsim))]
#[test]
fn run_driver_madsim_meets_the_hypothesis_and_replays_to_the_same_report() {
    let args = ["run", "single/normal", "--driver", "madsim"];
    let (code, out, err) = chaoslab(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("replay       chaoslab run single/normal --seed 1 --driver madsim"),
        "{out}"
    );
    assert_eq!(chaoslab(&args).1, out, "the same seed gave another report");
}

#[cfg(all(feature = "madsim", madsim))]
#[test]
fn cluster_refuses_a_simulated_build() {
    let (code, _, err) = chaoslab(&["cluster", "single/normal"]);
    assert_eq!(code, 2);
    assert!(err.contains("without it"), "{err}");
}

/// The command an undecided cluster run prints to decide it carries budget
/// flags, so `cluster` takes them as `run` does.
#[cfg(not(feature = "madsim"))]
#[test]
fn cluster_takes_the_budget_flags_its_undecided_hint_names() {
    let (code, _, err) = chaoslab(&[
        "cluster",
        "single/normal",
        "--check-max-steps",
        "100000000",
        "--check-max-memory",
        "4GiB",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("unexpected argument"), "{err}");
    assert!(err.contains("--features madsim"), "{err}");
}
