//! The report: what a service behind the limiters would have seen.

use sim::histogram::Histogram;
use sim::metric::{Metric, Metrics, Unit};
use sim::time::{fmt_duration, Nanos};

use super::params::{Config, Failure, Mode};
use super::stats::Shape;
use super::Limiter;

pub fn report(c: &Config, limiters: &[Option<&Limiter>], out: &mut Metrics) {
    let up: Vec<&Limiter> = limiters.iter().flatten().copied().collect();
    let down = limiters.len() - up.len();
    if up.is_empty() {
        out.none(
            "offered load",
            "none: every limiter is down at the end of the run (their figures died with them)",
        );
        return;
    }
    let mut lost = if down > 0 {
        format!("; {down} limiter(s) down at the end, their figures lost")
    } else {
        String::new()
    };
    // A limiter restarted during the run is a fresh node: what it counted
    // before its crash died with it, and the figures below leave it out.
    let restarted: Vec<String> = limiters
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            l.filter(|l| l.life > 0)
                .map(|l| format!("n{} at {}", i + 2, fmt_duration(l.started)))
        })
        .collect();
    if !restarted.is_empty() {
        lost.push_str(&format!(
            "; restarted: {} (the figures of each one's earlier life lost)",
            restarted.join(", ")
        ));
    }
    let span = c.end as f64 / 1e9;
    let sum = |f: fn(&Limiter) -> u64| up.iter().map(|l| f(l)).sum::<u64>();
    let arrived = sum(|l| l.stats.arrived);
    let mut times: Vec<Nanos> = up
        .iter()
        .flat_map(|l| l.stats.allowed.iter().copied())
        .collect();
    times.sort_unstable();
    let allowed = times.len() as u64;
    let limit_rate = c.limit as f64 / (c.window as f64 / 1e9);
    // One decimal is all a reader needs: 100 per 3s is 33.3 a second.
    let limit_shown = (limit_rate * 10.0).round() / 10.0;
    let per = format!("{} per {}", c.limit, fmt_duration(c.window));

    out.rate("offered load", arrived as f64 / span)
        .decimals(1)
        .note(format!("requests/s arriving at the limiters{lost}"));
    out.rate("allowed rate", allowed as f64 / span)
        .decimals(1)
        .note(format!(
            "requests/s let through (the limit: {limit_shown} a second)"
        ));
    out.number(
        "allowed rate, times the limit",
        allowed as f64 / span / limit_rate,
    )
    .decimals(2);
    out.count("allowed", allowed)
        .note(format!("of {arrived} requests"));
    if c.algorithm == super::Algorithm::LeakyBucket {
        out.count(
            "queued at the end",
            up.iter().map(|l| l.queued() as u64).sum::<u64>(),
        )
        .note("in the leaky bucket when the run ended: neither allowed nor refused");
    }
    out.count("refused, over limit", sum(|l| l.stats.refused_over));
    if c.mode == Mode::Central {
        let wait = fmt_duration(c.counter_timeout);
        let (closed, open) = match c.fail {
            Failure::Closed => (
                format!("(no verdict within {wait}: this limiter fails closed)"),
                "(none: this limiter fails closed)".to_string(),
            ),
            Failure::Open => (
                "(none: this limiter fails open)".to_string(),
                format!("(no verdict within {wait}: this limiter fails open)"),
            ),
        };
        out.count(
            "refused, counter unreachable",
            sum(|l| l.stats.refused_unreachable),
        )
        .note(closed);
        out.count(
            "allowed, counter unreachable",
            sum(|l| l.stats.allowed_unreachable),
        )
        .note(open);
    }

    let shape = Shape::of(&times, c.window, c.limit, c.end);
    let full = shape.per_window.iter().copied().max().unwrap_or(0);
    let at = shape
        .per_window
        .iter()
        .position(|&n| n == full)
        .unwrap_or(0) as Nanos
        * c.window;
    out.count("allowed per window max", full).note(format!(
        "in the aligned window from {} (limit {per})",
        fmt_duration(at)
    ));
    out.number(
        "allowed per window max, times the limit",
        full as f64 / c.limit as f64,
    )
    .decimals(2);
    out.count("sliding-window max", shape.sliding_max)
        .note(format!(
            "most allowed in any {} of the run, the one ending at {}",
            fmt_duration(c.window),
            fmt_duration(shape.sliding_max_at)
        ));
    out.number(
        "sliding-window max, times the limit",
        shape.sliding_max as f64 / c.limit as f64,
    )
    .decimals(2);
    out.count("allowed over the limit", shape.over)
        .note(format!(
            "allowed with {} or more already allowed in the {} before them",
            c.limit,
            fmt_duration(c.window)
        ));
    out.ratio_of("allowed over the limit, share", shape.over, allowed.max(1))
        .decimals(3)
        .note("of requests allowed");

    let mut added = Histogram::new();
    let mut added_sum = 0u128;
    for l in &up {
        added.merge(&l.stats.added);
        added_sum += l.stats.added_sum;
    }
    if added.count() > 0 {
        let why = match (c.mode, c.algorithm) {
            (Mode::Central, _) => "(the round trip to the counter, or its timeout)",
            (_, super::Algorithm::LeakyBucket) => "(the wait in the leaky bucket's queue)",
            _ => "(the decision is local and at once)",
        };
        out.duration(
            "added latency mean",
            (added_sum / u128::from(added.count())) as Nanos,
        )
        .note(format!(
            "arrival at a limiter to its decision, of {} requests {why}",
            added.count()
        ));
        out.percentiles("added latency", &added);
    }

    let every = fmt_duration(c.window);
    let points = |v: &[u64]| -> Vec<(Nanos, f64)> {
        v.iter()
            .enumerate()
            .map(|(k, &n)| (k as Nanos * c.window, n as f64))
            .collect()
    };
    out.add(
        Metric::series(
            "allowed per window over time",
            Unit::Count,
            points(&shape.per_window),
        )
        .lead(format!(
            "allowed in each {every} from 0s (the limit: {}):",
            c.limit
        )),
    );
    let windows = shape.per_window.len();
    let mut refused = vec![0u64; windows];
    for l in &up {
        for (k, &n) in l.stats.refused_per_window.iter().enumerate() {
            if k < windows {
                refused[k] += n;
            }
        }
    }
    out.add(
        Metric::series(
            "refused per window over time",
            Unit::Count,
            points(&refused),
        )
        .lead(format!("refused in each {every} from 0s:")),
    );
}
