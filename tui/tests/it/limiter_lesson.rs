//! docs/resilience.md's section on rate limiters makes claims about the
//! `limiter` scenarios; each test here runs them and checks one, and the
//! lesson's tables are regenerated here and must match the document word
//! for word:
//!
//! ```sh
//! cargo test -p chaoslab --test it limiter_lesson -- --nocapture
//! ```
//!
//! prints them.

use sim::report::Report;
use sim::time::fmt_duration;

use crate::common::lessons::resilience::{in_lesson, report_on as report, text};
use crate::common::lessons::{count, duration, figure, scalar};

/// One row of a table: the figures every limiter scenario reports.
fn row(label: &str, r: &Report) -> String {
    let p99 = figure(r, "added latency p99")
        .value
        .as_duration()
        .map_or("-".to_string(), fmt_duration);
    format!(
        "| {label} | {:.2} | {} | {} | {} | {} | {p99} |\n",
        scalar(r, "allowed rate, times the limit"),
        count(r, "allowed per window max"),
        count(r, "sliding-window max"),
        count(r, "allowed over the limit"),
        count(r, "refused, over limit"),
    )
}

const HEADER: &str = "| scenario | allowed rate, times the limit | most in an aligned window | most in any 1s | allowed over the limit | refused | added latency p99 |\n|---|---|---|---|---|---|---|\n";

#[test]
fn at_a_window_boundary_the_fixed_window_passes_nearly_twice_the_limit_the_sliding_log_never_more_and_the_sliding_counter_a_little_more(
) {
    let mut table = String::from(HEADER);
    let mut most = Vec::new();
    for name in [
        "limit-fixed-window-boundary",
        "limit-sliding-log-boundary",
        "limit-sliding-window-boundary",
        "limit-token-bucket",
        "limit-leaky-bucket",
    ] {
        let r = report(name, &text(name), 1);
        table.push_str(&row(&format!("`{name}`"), &r));
        // No algorithm lets more than the limit through in an aligned
        // window but the token bucket, whose bucket adds its burst.
        if name != "limit-token-bucket" {
            assert!(count(&r, "allowed per window max") <= 100, "{name}");
        }
        most.push(count(&r, "sliding-window max"));
        if name == "limit-fixed-window-boundary" {
            // The lesson names the second that holds twice the limit.
            let note = &figure(&r, "sliding-window max").note;
            assert!(note.ends_with("ending at 5.049s"), "{note}");
        }
    }
    let [fixed, log, counter, token, leaky] = most[..] else {
        unreachable!()
    };
    assert!(fixed >= 190, "fixed window: {fixed}");
    assert_eq!(log, 100);
    assert!(
        counter > 100 && counter <= 130,
        "sliding window counter: {counter}"
    );
    assert!(token > 100 && token <= 200, "token bucket: {token}");
    assert!(leaky <= 100, "leaky bucket: {leaky}");
    // The sliding window counter under steady load, where its assumption
    // (the last window's requests spread evenly) holds.
    let steady = text("limit-sliding-window-boundary").replace(
        "arrivals = { spacing = \"poisson\", rate = 20, bursts = { every = \"2s\", length = \"200ms\", rate = 2000, first = \"900ms\" } }",
        "arrivals = { spacing = \"poisson\", rate = 300 }",
    );
    assert_ne!(steady, text("limit-sliding-window-boundary"));
    let r = report("limit-sliding-window-boundary", &steady, 1);
    let most = count(&r, "sliding-window max");
    assert!(most <= 105, "steady load: {most}");
    table.push_str(&row(
        "`limit-sliding-window-boundary`, steady: Poisson 300/s instead",
        &r,
    ));
    // The adversarial load for the counter: the last window's requests all
    // at its very end, then steady load. Nearly twice the limit in one
    // second, while every aligned window holds the limit.
    let worst = text("limit-sliding-window-boundary").replace(
        "arrivals = { spacing = \"poisson\", rate = 20, bursts = { every = \"2s\", length = \"200ms\", rate = 2000, first = \"900ms\" } }",
        "arrivals = { spacing = \"even\", steps = [{ at = \"0s\", rate = 0 }, { at = \"950ms\", rate = 4000 }, { at = \"1s\", rate = 200 }, { at = \"2s\", rate = 0 }] }",
    );
    assert_ne!(worst, text("limit-sliding-window-boundary"));
    let r = report("limit-sliding-window-boundary", &worst, 1);
    assert!(count(&r, "allowed per window max") <= 100);
    assert_eq!(count(&r, "sliding-window max"), 195);
    let note = &figure(&r, "sliding-window max").note;
    assert!(note.ends_with("ending at 1.951s"), "{note}");
    table.push_str(&row(
        "`limit-sliding-window-boundary`, adversarial: 4,000/s from 0.95s to 1s, then 200/s to 2s",
        &r,
    ));
    in_lesson("algorithms", &table);
}

#[test]
fn local_limits_on_four_nodes_pass_four_times_the_limit_and_a_central_counter_fails_open_or_closed_under_partition(
) {
    let mut table = String::from(
        "| scenario | allowed rate, times the limit | most in an aligned window | most in any 1s | refused, over limit | refused, counter unreachable | allowed, counter unreachable | added latency p50 |\n|---|---|---|---|---|---|---|---|\n",
    );
    for name in [
        "limit-local-nfold",
        "limit-central-fail-open",
        "limit-central-fail-closed",
        "limit-synced-short",
        "limit-synced-long",
    ] {
        let r = report(name, &text(name), 1);
        let central = name.starts_with("limit-central");
        let or_dash = |f: &str| {
            if central {
                count(&r, f).to_string()
            } else {
                "-".to_string()
            }
        };
        table.push_str(&format!(
            "| `{name}` | {:.2} | {} | {} | {} | {} | {} | {} |\n",
            scalar(&r, "allowed rate, times the limit"),
            count(&r, "allowed per window max"),
            count(&r, "sliding-window max"),
            count(&r, "refused, over limit"),
            or_dash("refused, counter unreachable"),
            or_dash("allowed, counter unreachable"),
            fmt_duration(figure(&r, "added latency p50").value.as_duration().unwrap()),
        ));
        let most = count(&r, "allowed per window max");
        match name {
            "limit-local-nfold" => assert!(most >= 390, "{most}"),
            "limit-central-fail-open" => {
                assert!(most >= 250, "{most}");
                assert!(count(&r, "allowed, counter unreachable") > 2_500);
                // The first second after the heal passes more than the
                // limit; the ones after it the limit.
                let per = per_window(&r);
                assert_eq!(per[20], 124.0, "{per:?}");
                assert!(per[21..].iter().all(|&n| n <= 100.0), "{per:?}");
            }
            "limit-central-fail-closed" => {
                assert!(most <= 100, "{most}");
                assert!(count(&r, "refused, counter unreachable") > 2_500);
            }
            _ => {}
        }
    }
    in_lesson("distributed", &table);
}

/// Allowed in each aligned window, from the report's series.
fn per_window(r: &Report) -> Vec<f64> {
    let s = figure(r, "allowed per window over time")
        .value
        .as_series()
        .expect("a series");
    s.points.iter().map(|p| p.1).collect()
}

/// The seeds the sync table averages over.
const SEEDS: u64 = 10;

#[test]
fn synced_limits_overshoot_by_about_what_the_others_allow_between_two_syncs() {
    let short = text("limit-synced-short");
    let mut table = String::from(
        "| sync interval | most in an aligned window (the limit: 100; mean of seeds 1..10) | allowed per window, mean (seeds 1..10) | about 100 + 3 x 200/s x (interval + 1ms) |\n|---|---|---|---|\n",
    );
    let mut last = 0.0;
    for (interval, ms) in [
        ("10ms", 10.0),
        ("50ms", 50.0),
        ("100ms", 100.0),
        ("250ms", 250.0),
    ] {
        let t = short.replace(
            "sync_interval = \"50ms\"",
            &format!("sync_interval = \"{interval}\""),
        );
        let (mut sum, mut typical) = (0.0, 0.0);
        for seed in 1..=SEEDS {
            let r = report("limit-synced-short", &t, seed);
            sum += count(&r, "allowed per window max") as f64;
            let per = per_window(&r);
            typical += per.iter().sum::<f64>() / per.len() as f64;
        }
        let mean = sum / SEEDS as f64;
        let typical = typical / SEEDS as f64;
        // The typical window passes less than the fullest one.
        assert!(typical < mean, "{interval}: {typical} vs {mean}");
        let bound = 100.0 + 3.0 * 200.0 * (ms + 1.0) / 1000.0;
        assert!(mean > last, "{interval}: {mean} after {last}");
        last = mean;
        table.push_str(&format!(
            "| {interval} | {mean:.1} | {typical:.1} | {bound:.0} |\n"
        ));
    }
    in_lesson("sync", &table);
}

#[test]
fn a_leaky_bucket_counts_a_request_when_it_leaves_and_reports_the_queue_at_the_end_apart() {
    let r = report("limit-leaky-bucket", &text("limit-leaky-bucket"), 1);
    let per = per_window(&r);
    // Twenty windows in a 20s run: none for requests that would leave
    // after the end.
    assert_eq!(per.len(), 20, "{per:?}");
    assert_eq!(per.iter().sum::<f64>() as u64, count(&r, "allowed"));
    let queued = count(&r, "queued at the end");
    assert!(queued > 0, "the run ends with a burst in the queue");
    let arrived = count(&r, "allowed") + count(&r, "refused, over limit") + queued;
    let note = &figure(&r, "allowed").note;
    assert_eq!(note, &format!("of {arrived} requests"));
}

/// One limiter asking a counter, crashed 600us into the run and restarted
/// 100us later, while the verdicts for its first asks are still on their
/// way back.
const RESTART: &str = r#"
[meta]
name = "resilience/limit-restart"
seed = 1
duration = "3s"

[system]
protocol = "limiter"
algorithm = "fixed_window"
mode = "central"
limit = 10
window = "1s"
counter_timeout = "50ms"
fail = "closed"
arrivals = { spacing = "even", rate = 2000 }

[topology]
servers = 3

[network]
latency = { dist = "constant", value = "1ms" }

[[faults]]
at = "600us"
action = "crash"
target = "n2"

[[faults]]
at = "700us"
action = "restart"
target = "n2"
"#;

#[test]
fn a_restarted_limiter_ignores_verdicts_for_its_earlier_life_and_the_report_says_it_restarted() {
    let r = report("limit-restart", RESTART, 1);
    // Every request of the new life waits for its own verdict, one round
    // trip of 2ms; a verdict meant for the earlier life, matched to a new
    // ask with the same number, would decide one sooner.
    assert_eq!(duration(&r, "added latency mean"), 2_000_000);
    assert_eq!(duration(&r, "added latency max"), 2_000_000);
    let note = &figure(&r, "offered load").note;
    assert!(
        note.contains("restarted: n2 at 700us (the figures of each one's earlier life lost)"),
        "{note}"
    );
    // The counter still keeps the limit for the new life.
    assert_eq!(per_window(&r), vec![10.0, 10.0, 10.0]);
}
