//! The "Load balancers" section of docs/resilience.md makes claims about the
//! balancer scenarios; each test here runs them and checks one, and the
//! section's tables are regenerated here and must match the document word
//! for word:
//!
//! ```sh
//! cargo test -p chaoslab --test it balancer_lesson -- --nocapture
//! ```
//!
//! prints them.
//!
//! The supermarket anchor (100 backends at load 0.9: about 10 service times
//! for random choice, about 2.61 for two choices, within 10%) runs the
//! bundled scenarios for 300s instead of their 60s and 120s: the mean over
//! 2.6 million requests, whose scatter between seeds is about 1% for random
//! choice and less for two choices.

use sim::metric::Value;
use sim::time::fmt_duration;

use crate::common::lessons::resilience::{in_lesson, report, text};
use crate::common::lessons::{count, duration, figure, number, ratio};

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// `name`'s text with the line `key = ...` replaced by `key = value`.
fn with(t: &str, key: &str, value: &str) -> String {
    let line = t
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} line"))
        .to_string();
    t.replace(&line, &format!("{key} = {value}"))
}

#[test]
fn the_supermarket_table_is_the_runs_and_both_anchors_are_within_10_percent() {
    let mut table = String::from(
        "| policy | theory | measured | in service times | error |\n\
         |---|---|---|---|---|\n",
    );
    let base = with(&text("lb-supermarket-random"), "duration", "\"300s\"");
    let policies = ["random", "round_robin", "least_outstanding", "two_choices"];
    // The four runs (2.6 million requests each) at once: they are this
    // binary's longest, and one after another they were the last test
    // running while the other core idled.
    let reports = crate::common::at_once(&policies, |policy| {
        report(
            "lb-supermarket-random",
            &with(&base, "policy", &format!("\"{policy}\"")),
        )
    });
    let mut measured = Vec::new();
    for (policy, r) in policies.iter().zip(reports) {
        assert_eq!(
            count(&r, "timed out") + count(&r, "refused, backend queue full"),
            0
        );
        let m = duration(&r, "mean time in system");
        let times = number(&r, "mean time in system, service times");
        let (theory, error) = match figure(&r, "theory mean time in system").value {
            Value::Duration(t) => {
                let e = ratio(&r, "error vs theory");
                assert!(
                    e < 0.10,
                    "{policy}: measured {} against {}",
                    fmt_duration(m),
                    fmt_duration(t)
                );
                (fmt_duration(t), format!("{:.2}%", e * 100.0))
            }
            _ => ("-".to_string(), "-".to_string()),
        };
        measured.push(times);
        table.push_str(&format!(
            "| `{policy}` | {theory} | {} | {times:.2} | {error} |\n",
            fmt_duration(m)
        ));
    }
    // Random is the worst and the two that look at the load the best; round
    // robin's even spacing alone halves random's wait.
    assert!(measured[0] > measured[1] && measured[1] > measured[3] && measured[3] > measured[2]);
    in_lesson("supermarket", &table);
}

#[test]
fn the_weights_table_is_the_runs_and_the_naive_pick_gives_77_8_16_7_5_6() {
    let mut table = String::from(
        "| scenario | n2 (weight 3) | n3 (weight 2) | n4 (weight 1) |\n\
         |---|---|---|---|\n",
    );
    for (name, want) in [
        ("lb-weighted-smooth", [3.0 / 6.0, 2.0 / 6.0, 1.0 / 6.0]),
        ("lb-weighted-naive", [14.0 / 18.0, 3.0 / 18.0, 1.0 / 18.0]),
    ] {
        let r = report(name, &text(name));
        let shares: Vec<f64> = (1..=3)
            .map(|b| ratio(&r, &format!("share of backend #{b}")))
            .collect();
        for (got, want) in shares.iter().zip(want) {
            assert!((got - want).abs() < 0.01, "{name}: {shares:?}");
        }
        table.push_str(&format!(
            "| `{name}` | {} | {} | {} |\n",
            pct(shares[0]),
            pct(shares[1]),
            pct(shares[2])
        ));
    }
    in_lesson("weights", &table);
}

#[test]
fn the_slow_backend_table_is_the_runs() {
    let mut table = String::from(
        "| scenario | n4's share | failed | response time p99 | ejections | marked unhealthy |\n\
         |---|---|---|---|---|---|\n",
    );
    let mut failed = Vec::new();
    for name in [
        "lb-slow-round-robin",
        "lb-slow-least-outstanding",
        "lb-slow-outlier-ejection",
    ] {
        let r = report(name, &text(name));
        failed.push(ratio(&r, "failed"));
        table.push_str(&format!(
            "| `{name}` | {} | {} | {} | {} | {} |\n",
            pct(ratio(&r, "share of backend #3")),
            pct(ratio(&r, "failed")),
            fmt_duration(duration(&r, "response time p99")),
            count(&r, "ejections"),
            count(&r, "marked unhealthy"),
        ));
    }
    assert!(failed[0] > 10.0 * failed[2] && failed[1] <= failed[2]);
    in_lesson("slow backend", &table);
}

#[test]
fn the_dead_backend_table_is_the_runs() {
    let mut table = String::from(
        "| scenario | failed | timed out | marked unhealthy | backends in rotation at the end |\n\
         |---|---|---|---|---|\n",
    );
    let mut failed = Vec::new();
    for name in ["lb-dead-no-checks", "lb-dead-health-check"] {
        let r = report(name, &text(name));
        failed.push(ratio(&r, "failed"));
        let live = figure(&r, "backends in rotation over time")
            .value
            .as_series()
            .and_then(|s| s.points.last().map(|p| p.1))
            .expect("a series");
        table.push_str(&format!(
            "| `{name}` | {} | {} | {} | {live} |\n",
            pct(ratio(&r, "failed")),
            count(&r, "timed out"),
            count(&r, "marked unhealthy"),
        ));
    }
    assert!(failed[0] > 10.0 * failed[1]);
    in_lesson("dead backend", &table);
}

#[test]
fn the_consistent_hashing_table_is_the_runs_and_tokens_even_the_split() {
    let mut table = String::from(
        "| tokens per backend | busiest backend | idlest backend |\n\
         |---|---|---|\n",
    );
    let t = text("lb-consistent-hash");
    let mut spread = Vec::new();
    for vnodes in ["1", "100"] {
        let r = report("lb-consistent-hash", &with(&t, "vnodes", vnodes));
        let (most, least) = (
            ratio(&r, "busiest backend share"),
            ratio(&r, "idlest backend share"),
        );
        spread.push(most / least);
        table.push_str(&format!("| {vnodes} | {} | {} |\n", pct(most), pct(least)));
    }
    assert!(spread[0] > 3.0 && spread[1] < 1.5, "{spread:?}");
    in_lesson("consistent hashing", &table);
}
