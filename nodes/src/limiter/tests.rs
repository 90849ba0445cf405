//! The algorithms against their definitions, one request at a time.

use sim::time::{ms, secs, Nanos};

use super::algo::{Algo, Decision};
use super::params::Params;
use super::stats::Shape;
use super::*;

fn config(toml: &str) -> Config {
    let p: Params = toml::from_str(toml).unwrap();
    p.check(3, secs(60), secs(60)).unwrap()
}

fn allowed(algo: &mut Algo, times: &[Nanos]) -> Vec<Nanos> {
    times
        .iter()
        .filter_map(|&t| match algo.admit(t, 0) {
            Decision::Allow { at } => Some(at),
            Decision::Refuse => None,
        })
        .collect()
}

/// `n` requests evenly over `[from, from + length)`.
fn burst(from: Nanos, length: Nanos, n: u64) -> Vec<Nanos> {
    (0..n).map(|i| from + length * i / n).collect()
}

#[test]
fn fixed_window_lets_twice_the_limit_through_across_a_boundary() {
    let c = config("algorithm = \"fixed_window\"\nlimit = 10");
    let mut a = Algo::new(&c);
    let got = allowed(&mut a, &burst(ms(900), ms(200), 40));
    assert_eq!(got.len(), 20);
    let s = Shape::of(&got, c.window, c.limit, secs(2));
    assert_eq!(s.per_window, vec![10, 10]);
    assert_eq!(s.sliding_max, 20);
    assert_eq!(s.over, 10);
}

#[test]
fn sliding_log_never_lets_more_than_the_limit_through_in_any_window() {
    let c = config("algorithm = \"sliding_log\"\nlimit = 10");
    let mut a = Algo::new(&c);
    let mut times = burst(ms(900), ms(200), 40);
    times.extend(burst(ms(1_850), ms(300), 60));
    let got = allowed(&mut a, &times);
    let s = Shape::of(&got, c.window, c.limit, secs(3));
    assert_eq!(s.sliding_max, 10);
    assert_eq!(s.over, 0);
    // The second burst starts 950ms after the first began: the first's
    // ten leave the log within it, and ten more pass.
    assert_eq!(got.len(), 20);
}

#[test]
fn sliding_window_counter_weights_the_previous_window_by_what_the_window_still_covers() {
    let c = config("algorithm = \"sliding_window\"\nlimit = 10");
    let mut a = Algo::new(&c);
    // Ten at the very end of window 0 fill it.
    assert_eq!(allowed(&mut a, &burst(ms(990), ms(10), 10)).len(), 10);
    // At 1.25s the estimate is 10 · 0.75 + 0 = 7.5: two more fit (8.5,
    // 9.5), a third would make 10.5.
    let got = allowed(&mut a, &[ms(1_250); 5]);
    assert_eq!(got.len(), 2);
    // The true count over (0.25s, 1.25s] is 12: the estimate's error.
}

#[test]
fn token_bucket_allows_a_burst_then_the_rate() {
    let c = config("algorithm = \"token_bucket\"\nlimit = 10\nburst = 5");
    let mut a = Algo::new(&c);
    assert_eq!(allowed(&mut a, &[0; 8]).len(), 5);
    // 100ms later one token has come back, exactly.
    assert_eq!(allowed(&mut a, &[ms(99), ms(100), ms(100)]), vec![ms(100)]);
}

#[test]
fn leaky_bucket_spaces_requests_evenly_and_refuses_past_its_queue() {
    let c = config("algorithm = \"leaky_bucket\"\nlimit = 10\nburst = 3");
    let mut a = Algo::new(&c);
    let got = allowed(&mut a, &[0; 6]);
    // One leaves at once, three wait their turn 100ms apart, two are refused.
    assert_eq!(got, vec![0, ms(100), ms(200), ms(300)]);
}

#[test]
fn synced_fixed_window_counts_what_the_others_reported() {
    let c = config("algorithm = \"fixed_window\"\nlimit = 10");
    let mut a = Algo::new(&c);
    assert!(matches!(a.admit(0, 9), Decision::Allow { .. }));
    assert_eq!(a.admit(1, 9), Decision::Refuse);
    assert_eq!(a.window_count(2), 1);
    assert_eq!(a.window_count(secs(1)), 0);
}

#[test]
fn the_shape_counts_each_aligned_window_and_the_fullest_sliding_one() {
    let s = Shape::of(&[0, ms(999), secs(1), ms(1_500)], secs(1), 2, secs(2));
    assert_eq!(s.per_window, vec![2, 2]);
    assert_eq!(s.sliding_max, 3);
    assert_eq!(s.sliding_max_at, ms(1_500));
    assert_eq!(s.over, 1);
}

#[test]
fn bad_parameters_name_the_field() {
    let bad = [
        ("limit = 0", "limit"),
        ("algorithm = \"fixed_window\"\nburst = 3", "burst"),
        (
            "mode = \"synced\"\nalgorithm = \"sliding_log\"",
            "algorithm",
        ),
        (
            "mode = \"central\"\nalgorithm = \"leaky_bucket\"",
            "algorithm",
        ),
        ("limiters = 2", "limiters"),
        ("window = \"0s\"", "window"),
        // A field of another mode is refused, not ignored.
        ("sync_interval = \"50ms\"", "sync_interval"),
        ("fail = \"closed\"", "fail"),
        (
            "mode = \"synced\"\nalgorithm = \"fixed_window\"\ncounter_timeout = \"1s\"",
            "counter_timeout",
        ),
    ];
    for (toml, field) in bad {
        let p: Params = toml::from_str(toml).unwrap();
        let err = p.check(3, secs(60), secs(60)).unwrap_err();
        assert_eq!(err.0, field, "{toml}: {}", err.1);
    }
}

#[test]
fn every_limiter_needs_a_source_of_its_own() {
    let p: Params = toml::from_str("limiters = 4").unwrap();
    let err = p.check(8, secs(60), secs(60)).unwrap_err();
    assert_eq!(err.0, "limiters");
    assert!(err.1.contains("servers = 9 or more"), "{}", err.1);
    assert_eq!(p.check(9, secs(60), secs(60)).unwrap().sources, 4);
}

#[test]
fn the_fields_of_its_own_mode_are_taken() {
    let p: Params =
        toml::from_str("mode = \"central\"\ncounter_timeout = \"20ms\"\nfail = \"closed\"")
            .unwrap();
    let c = p.check(3, secs(60), secs(60)).unwrap();
    assert_eq!((c.counter_timeout, c.fail), (ms(20), Failure::Closed));
}
