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
