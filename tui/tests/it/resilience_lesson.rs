//! docs/resilience.md makes claims about the queueing scenarios; each test
//! here runs them and checks one, and the lesson's tables are regenerated here
//! and must match the document word for word:
//!
//! ```sh
//! cargo test -p chaoslab --test it resilience_lesson -- --nocapture
//! ```
//!
//! prints them.
//!
//! The theory anchor (M/M/1 and M/M/4 at 50%, 80% and 95% within 5% of the
//! analytic mean time in system) runs each bundled scenario for longer: near
//! saturation a queue's memory is long and the sample mean converges slowly
//! (the batch-means confidence interval of a 1000s run at 95% is about ±20%).
//! The lengths below give a 95% interval of at most ±2.6%, so 5% is about four
//! standard errors away: measured with `chaoslab run` in release, they take
//! 15s together there.

use sim::metric::Value;
use sim::report::Report;
use sim::time::fmt_duration;

use crate::common::lessons::resilience::{report, text};
use crate::common::lessons::{self, duration, figure, ratio};

fn lesson() -> String {
    lessons::doc("resilience.md")
}

/// The bundled scenario, its run length for the anchor, and its warm-up.
const ANCHOR: [(&str, &str, &str); 6] = [
    ("mm1-rho50", "5000s", "10s"),
    ("mm1-rho80", "20000s", "20s"),
    ("mm1-rho95", "100000s", "100s"),
    ("mmc-rho50", "2000s", "10s"),
    ("mmc-rho80", "5000s", "10s"),
    ("mmc-rho95", "25000s", "100s"),
];

fn lengthened(name: &str, length: &str, warmup: &str) -> String {
    let t = text(name);
    let line = |key: &str| {
        t.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{name}: no {key} line"))
            .to_string()
    };
    t.replace(&line("duration"), &format!("duration = \"{length}\""))
        .replace(&line("warmup"), &format!("warmup = \"{warmup}\""))
}

#[test]
fn the_hockey_stick_table_is_the_runs_and_each_point_is_within_5_percent_of_theory() {
    let mut table = String::from(
        "| queue | utilisation | run | requests measured | theory | measured | error | 95% CI |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (name, length, warmup) in ANCHOR {
        let r = report(name, &lengthened(name, length, warmup));
        let theory = duration(&r, "theory mean time in system");
        let measured = duration(&r, "mean time in system");
        let error = ratio(&r, "error vs theory");
        let ci = ratio(&r, "95% CI half-width");
        let requests = match figure(&r, "requests measured").value {
            Value::Count(n) => n,
            ref v => panic!("requests measured is {v:?}"),
        };
        let (queue, rho) = name.split_once("-rho").unwrap();
        let queue = if queue == "mm1" { "M/M/1" } else { "M/M/4" };
        assert!(
            error < 0.05,
            "{name} over {length}: measured {} against {}, off by {:.2}%",
            fmt_duration(measured),
            fmt_duration(theory),
            error * 100.0
        );
        table.push_str(&format!(
            "| {queue} | {rho}% | {length} | {requests} | {} | {} | {:.2}% | ±{:.2}% |\n",
            fmt_duration(theory),
            fmt_duration(measured),
            error * 100.0,
            ci * 100.0
        ));
    }
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/resilience.md does not hold the hockey-stick table as the runs give it:\n{table}"
    );
}

#[test]
fn the_shape_of_the_service_time_table_is_the_runs() {
    let mut table = String::from(
        "| scenario | service time | theory (Pollaczek-Khinchine) | measured | p99 |\n\
         |---|---|---|---|---|\n",
    );
    for (name, what) in [
        ("md1-rho80", "constant 10ms"),
        ("mm1-rho80", "exponential, mean 10ms"),
        ("mg1-bimodal-rho80", "5ms or 105ms (5% slow), mean 10ms"),
    ] {
        let r = report(name, &text(name));
        table.push_str(&format!(
            "| `{name}` | {what} | {} | {} | {} |\n",
            fmt_duration(duration(&r, "theory mean time in system")),
            fmt_duration(duration(&r, "mean time in system")),
            fmt_duration(duration(&r, "time in system p99")),
        ));
    }
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/resilience.md does not hold the service-time table as the runs give it:\n{table}"
    );
}

#[test]
fn under_overload_lifo_answers_most_requests_fast_and_fifo_answers_all_of_them_late() {
    let fifo = report("overload-fifo", &text("overload-fifo"));
    let lifo = report("overload-lifo", &text("overload-lifo"));
    // The same arrivals and the same capacity: the same refusals.
    assert_eq!(
        figure(&fifo, "refused, queue full").value,
        figure(&lifo, "refused, queue full").value
    );
    let p50 = |r: &Report| duration(r, "time in system p50");
    assert!(
        p50(&lifo) * 10 < p50(&fifo),
        "{} {}",
        p50(&lifo),
        p50(&fifo)
    );
    let max = |r: &Report| duration(r, "time in system max");
    assert!(max(&lifo) > 3 * max(&fifo), "the oldest starve under LIFO");
}
