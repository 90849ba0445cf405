//! `chaoslab bench explore`: the chaoslab side of the benchmark explores a
//! fixed number of unique states, and (with the `stateright` feature) the
//! stateright model of the same protocol finds as many.

use chaoslab::explore_bench;

/// 3 servers: 3^(3*2) = 729 unique states. Hard-coded after checking it
/// against stateright with `cargo build --release --features stateright &&
/// target/release/chaoslab bench explore --vs stateright --servers 3`, which
/// printed "unique states AGREE: 729" (the closed form agrees too; with 4
/// servers both found 531,441).
#[test]
fn chaoslab_explores_the_known_number_of_states() {
    let ours = explore_bench::explore(3).expect("the bench explores");
    assert!(ours.exhaustive, "the search covered every run");
    assert_eq!(ours.unique, 729);
    assert_eq!(ours.unique, explore_bench::expected_unique(3));
    // Each server's write and its ack per peer: 2 * 3 * 2 deliveries.
    assert_eq!(ours.depth, 12);
}

#[cfg(feature = "stateright")]
#[test]
fn stateright_agrees_on_unique_states() {
    for servers in [2, 3] {
        let ours = explore_bench::explore(servers).expect("the bench explores");
        let theirs = explore_bench::stateright::check(servers);
        assert!(theirs.held);
        assert_eq!(ours.unique, theirs.unique, "{servers} servers");
        assert_eq!(ours.unique, explore_bench::expected_unique(servers));
    }
}

fn chaoslab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(args)
        .output()
        .expect("chaoslab runs")
}

#[test]
fn bench_explore_prints_our_figures_in_any_build() {
    let out = chaoslab(&["bench", "explore", "--servers", "3"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("729 unique"), "{text}");
    assert!(text.contains("states/s"), "{text}");
}

#[cfg(not(feature = "stateright"))]
#[test]
fn without_the_feature_vs_stateright_says_how_to_build_it() {
    let out = chaoslab(&["bench", "explore", "--vs", "stateright", "--servers", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--features stateright"), "{err}");
}

#[cfg(feature = "stateright")]
#[test]
fn with_the_feature_vs_stateright_says_the_counts_agree() {
    let out = chaoslab(&["bench", "explore", "--vs", "stateright", "--servers", "3"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("unique states AGREE: 729"), "{text}");
}

/// The explorer copies a run over another it no longer needs
/// (`Sim::fork_into`) instead of forking a new one: the copy must be the
/// same run as a fresh fork, whatever the run it overwrites was (here a
/// run of another branch: other nodes crashed, other messages queued, other
/// disks), with the same state hash after every step and the same
/// fingerprint, counters and history at the end.
#[test]
fn a_run_copied_over_another_is_the_same_as_a_fresh_fork() {
    use sim::kernel::{Sim, TraceMode};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/explore/raft-forget-vote.toml"
    );
    let text = std::fs::read_to_string(path).expect("the scenario");
    let scenario = nodes::builtin()
        .parse("explore/raft-forget-vote", &text)
        .expect("it parses");
    let mut root = Sim::new(
        &scenario,
        nodes::raft::Raft::default(),
        scenario.meta.seed,
        TraceMode::Off,
    );
    root.begin_search();
    let mut scratch = root.fork().expect("forkable");
    let mut level = vec![root];
    let mut choices = Vec::new();
    let mut compared = 0;
    for _ in 0..5 {
        let mut next = Vec::new();
        for sim in &mut level {
            sim.choices(&mut choices);
            for c in choices.clone() {
                let mut fresh = sim.fork().expect("forkable");
                assert!(sim.fork_into(&mut scratch));
                assert_eq!(sim.state_hash(), scratch.state_hash());
                fresh.take(&c, 0);
                scratch.take(&c, 0);
                assert_eq!(fresh.state_hash(), scratch.state_hash(), "after {c:?}");
                compared += 1;
                next.push(fresh);
            }
        }
        // A spread of the level, bounded: the last states differ most.
        let keep = next.len().min(60);
        level = next.split_off(next.len() - keep);
    }
    assert!(compared > 100, "{compared} copies compared");
    // Each kept run to its end, its copy (over the last copy made) beside
    // it, by a varied choice at every step (crashes and restarts too).
    for (k, sim) in level.iter_mut().enumerate().step_by(7) {
        assert!(sim.fork_into(&mut scratch));
        let mut fresh = sim.fork().expect("forkable");
        let mut step = k;
        loop {
            fresh.choices(&mut choices);
            if choices.is_empty() {
                break;
            }
            let c = choices[step % choices.len()].clone();
            step += 3;
            fresh.take(&c, 0);
            scratch.take(&c, 0);
            assert_eq!(fresh.state_hash(), scratch.state_hash(), "after {c:?}");
        }
        let (a, b) = (fresh.finish(), scratch.fork().expect("forkable").finish());
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.counters, b.counters);
        assert_eq!(a.violations, b.violations);
        assert_eq!(a.history.len(), b.history.len());
        assert!(a.history.metas().eq(b.history.metas()));
    }
}
