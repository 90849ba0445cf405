//! docs/resilience.md's sections on retries, metastable failure and circuit
//! breakers make claims about the `overload` scenarios; each test here runs
//! them and checks one, and the lesson's tables are regenerated here and
//! must match the document word for word:
//!
//! ```sh
//! cargo test -p chaoslab --test it overload_lesson -- --nocapture
//! ```
//!
//! prints them.

use sim::metric::Value;
use sim::time::{fmt_duration, secs};

use crate::common::lessons::resilience::{in_lesson, report_on as report, text};
use crate::common::lessons::{count, figure, scalar};

/// The seeds the contention table averages over.
const SEEDS: u64 = 20;

#[test]
fn under_contention_no_jitter_does_the_most_work_and_takes_longest_and_full_and_decorrelated_jitter_the_least(
) {
    let nojitter = text("retry-contention-nojitter");
    let mut table = String::from(
        "| backoff | attempts per write | time to finish | scenario |\n|---|---|---|---|\n",
    );
    let mut rows = Vec::new();
    for (backoff, name) in [
        ("none", "none (retry at once)"),
        ("fixed", "fixed 10ms"),
        ("exponential", "exponential, no jitter"),
        ("equal", "equal jitter"),
        ("full", "full jitter"),
        ("decorrelated", "decorrelated jitter"),
    ] {
        let t = nojitter.replace(
            "backoff = \"exponential\"",
            &format!("backoff = \"{backoff}\""),
        );
        let (mut work, mut time) = (0.0, 0.0);
        for seed in 1..=SEEDS {
            let r = report("retry-contention-nojitter", &t, seed);
            assert_eq!(count(&r, "operations"), 100);
            work += scalar(&r, "amplification");
            time += scalar(&r, "time to finish");
        }
        let (work, time) = (work / SEEDS as f64, time / SEEDS as f64);
        let scenario = match backoff {
            "exponential" => "`retry-contention-nojitter`",
            "full" => "`retry-contention-full-jitter`",
            "decorrelated" => "`retry-contention-decorrelated`",
            _ => "",
        };
        table.push_str(&format!(
            "| {name} | {work:.2} | {} | {scenario} |\n",
            fmt_duration((time / 1e6).round() as u64 * 1_000_000)
        ));
        rows.push((backoff, work, time));
    }
    let get = |b: &str| *rows.iter().find(|r| r.0 == b).unwrap();
    let exp = get("exponential");
    for jitter in ["equal", "full", "decorrelated"] {
        let j = get(jitter);
        assert!(
            j.1 * 3.0 < exp.1,
            "{jitter} does a third of the work: {j:?} {exp:?}"
        );
        assert!(
            j.2 * 10.0 < exp.2,
            "{jitter} finishes ten times sooner: {j:?} {exp:?}"
        );
    }
    // Backoff without jitter keeps the callers in lockstep: the retries of
    // fixed and exponential collide as often as each other.
    assert!((get("fixed").1 - exp.1).abs() < 0.5);
    let (full, equal, dec) = (get("full"), get("equal"), get("decorrelated"));
    assert!(
        full.1 < equal.1 && dec.1 < equal.1,
        "{full:?} {dec:?} {equal:?}"
    );
    in_lesson("contention", &table);
}

/// The metastable scenarios, the fix each applies, and whether it ends the
/// overload.
const METASTABLE: [(&str, &str, bool); 6] = [
    ("metastable-retries", "none", false),
    (
        "metastable-drop-expired",
        "drop requests whose caller stopped waiting (FIFO)",
        false,
    ),
    ("metastable-retry-budget", "retry budget, 10%", true),
    ("metastable-breaker", "circuit breaker in the caller", true),
    (
        "metastable-shed-short-queue",
        "a queue of 50 instead of 2000",
        true,
    ),
    ("metastable-shed-lifo", "LIFO queue", true),
];

#[test]
fn after_the_trigger_goodput_stays_near_zero_without_a_fix_and_recovers_with_each_fix() {
    let mut table = String::from(
        "| scenario | fix | goodput 100s-150s | attempts per operation | wasted work |\n\
         |---|---|---|---|---|\n",
    );
    // The control: the same load without the trigger is healthy.
    let control = text("metastable-retries").replace(
        "slowdown = { at = \"30s\", length = \"10s\", factor = 4 }\n",
        "",
    );
    let r = report("metastable-retries", &control, 1);
    let healthy = scalar(&r, "goodput in window");
    assert!(healthy > 70.0, "without the trigger: {healthy}");
    table.push_str(&format!(
        "| (no trigger) | | {healthy:.1}/s | {:.2} | {:.1}% |\n",
        scalar(&r, "amplification"),
        scalar(&r, "wasted work") * 100.0
    ));
    // The second control: the trigger, but no retries. The service comes
    // back on its own once the trigger is over, so what keeps
    // `metastable-retries` down is its retries.
    let once = text("metastable-retries").replace("max_attempts = 3 }", "max_attempts = 1 }");
    assert_ne!(once, text("metastable-retries"));
    let r = report("metastable-retries", &once, 1);
    let goodput = scalar(&r, "goodput in window");
    assert!(goodput > 65.0, "without retries: {goodput}");
    table.push_str(&format!(
        "| (no retries: `max_attempts = 1`) | | {goodput:.1}/s | {:.2} | {:.1}% |\n",
        scalar(&r, "amplification"),
        scalar(&r, "wasted work") * 100.0
    ));
    for (name, fix, recovers) in METASTABLE {
        let r = report(name, &text(name), 1);
        let goodput = scalar(&r, "goodput in window");
        if recovers {
            assert!(goodput > 65.0, "{name}: {goodput}");
        } else {
            assert!(goodput < 15.0, "{name}: {goodput}");
        }
        table.push_str(&format!(
            "| `{name}` | {fix} | {goodput:.1}/s | {:.2} | {:.1}% |\n",
            scalar(&r, "amplification"),
            scalar(&r, "wasted work") * 100.0
        ));
    }
    in_lesson("metastable", &table);
}

#[test]
fn the_stuck_service_recovers_once_the_load_is_cut() {
    let r = report("metastable-retries", &text("metastable-retries"), 1);
    let Value::Series(s) = &figure(&r, "goodput over time").value else {
        panic!("goodput over time is not a series");
    };
    let at = |from: u64, to: u64| -> Vec<f64> {
        s.points
            .iter()
            .filter(|p| p.0 >= secs(from) && p.0 < secs(to))
            .map(|p| p.1)
            .collect()
    };
    assert!(at(60, 150).iter().all(|g| *g < 5.0), "{:?}", s.points);
    // The load drops to 10/s at 150s: by 190s goodput is the load.
    let after = at(190, 210);
    assert!(
        !after.is_empty() && after.iter().all(|g| *g > 6.0),
        "{after:?}"
    );
}

#[test]
fn a_breaker_that_resets_its_count_on_half_open_lets_several_times_more_calls_reach_a_dead_service()
{
    let mut table = String::from(
        "| scenario | calls timed out | breaker opened | operations refused by the breaker | operations succeeded |\n\
         |---|---|---|---|---|\n",
    );
    let mut timed_out = Vec::new();
    for name in ["breaker-half-open", "breaker-half-open-bug"] {
        let r = report(name, &text(name), 1);
        timed_out.push(count(&r, "attempts timed out"));
        table.push_str(&format!(
            "| `{name}` | {} | {} | {} | {:.1}% |\n",
            count(&r, "attempts timed out"),
            count(&r, "breaker opened"),
            count(&r, "operations refused, breaker open"),
            scalar(&r, "operations succeeded") * 100.0
        ));
    }
    assert!(timed_out[1] > 3 * timed_out[0], "{timed_out:?}");
    in_lesson("breaker", &table);
}

#[test]
fn a_slow_backend_takes_the_healthy_path_down_through_a_shared_pool_and_separate_pools_keep_it_up()
{
    let mut table = String::from(
        "| scenario | front's pools | deadline passed on | slow path succeeded | healthy path succeeded | front's queue at most |\n\
         |---|---|---|---|---|---|\n",
    );
    let mut healthy = Vec::new();
    for (name, pools, deadline) in [
        ("bulkhead-shared", "one of 20", "no (waits 10s)"),
        ("bulkhead-shared-deadline", "one of 20", "yes"),
        ("bulkhead-separate", "two of 10", "no (waits 10s)"),
    ] {
        let r = report(name, &text(name), 1);
        let h = scalar(&r, "operations succeeded via backend #2");
        healthy.push(h);
        table.push_str(&format!(
            "| `{name}` | {pools} | {deadline} | {:.1}% | {:.1}% | {} |\n",
            scalar(&r, "operations succeeded via backend #1") * 100.0,
            h * 100.0,
            count(&r, "queue length max"),
        ));
    }
    assert!(
        healthy[0] < 0.1 && healthy[1] > 0.95 && healthy[2] > 0.99,
        "{healthy:?}"
    );
    in_lesson("bulkhead", &table);
}

/// A crash wipes a node's memory, not what it did: the report counts the
/// operations a caller made and the attempts the service served before
/// they crashed. Here the service is down 20s..50s (as in the scenario) and
/// the caller 30s..40s; 50 operations a second.
#[test]
fn a_crash_and_restart_keep_the_work_done_before_the_crash_in_the_figures() {
    let mut t = text("breaker-half-open");
    t.push_str(
        "\n[[faults]]\nat = \"30s\"\naction = \"crash\"\ntarget = \"n2\"\n\n\
         [[faults]]\nat = \"40s\"\naction = \"restart\"\ntarget = \"n2\"\n",
    );
    let r = report("breaker-half-open", &t, 1);
    // The caller is up 70s of the 80s: about 3,500 operations; its last
    // life alone (40s..80s) would make about 2,000.
    let ops = count(&r, "operations");
    assert!((3_200..3_800).contains(&ops), "{ops}\n{}", r.render());
    // The service serves about 1,000 attempts before its crash at 20s and
    // about 1,500 after its restart at 50s: over 80s, about 31/s; the
    // restarted service alone would show under 19/s.
    let served = scalar(&r, "service throughput") * 80.0;
    assert!(
        (2_200.0..2_800.0).contains(&served),
        "{served}\n{}",
        r.render()
    );
    // The attempts the caller made before its crash count too: about 1,500
    // in 0s..30s (the breaker refuses most calls while the service is
    // down), and about 1,100 after its restart.
    let attempts = count(&r, "attempts");
    assert!(
        (2_300..2_900).contains(&attempts),
        "{attempts}\n{}",
        r.render()
    );
    assert_eq!(figure(&r, "breaker opened").note, "times, over 1 caller(s)");
}
