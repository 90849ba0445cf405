//! `chaoslab bench explore`: the chaoslab side of the benchmark explores a
//! fixed number of unique states, and (with the `stateright` feature) the
//! stateright model of the same protocol finds as many.

use chaoslab::explore_bench;

/// 3 servers: 3^(3*2) = 729 unique states. Verified against stateright with
/// `cargo run --release --features stateright -- bench explore --vs stateright --servers 3`,
/// which printed 729 unique states for both (and the closed form agrees).
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
