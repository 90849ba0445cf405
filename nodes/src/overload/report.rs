//! The report: the callers' figures summed, the service's, and the series.

use sim::metric::{Metric, Metrics, Unit};
use sim::protocol::NodeTable;
use sim::time::{fmt_duration, Nanos};

use super::breaker::State;
use super::params::{Config, Resource};
use super::stats::{bucket, CallerStats, Failure};
use super::tally::Life;
use super::OverloadNode;

/// The share of `from..to` that falls in each bucket, added to `into`.
fn spread(into: &mut [f64], width: Nanos, from: Nanos, to: Nanos) {
    let mut t = from;
    while t < to {
        let b = (t / width) as usize;
        if b >= into.len() {
            break;
        }
        let edge = ((b as Nanos + 1) * width).min(to);
        into[b] += (edge - t) as f64 / width as f64;
        t = edge;
    }
}

/// The service's figures over all its lives.
struct Service {
    served: u64,
    queue_max: usize,
    series_queue_max: Vec<u64>,
}

impl Service {
    fn add(&mut self, served: u64, queue_max: usize, series: &[u64]) {
        self.served += served;
        self.queue_max = self.queue_max.max(queue_max);
        if self.series_queue_max.len() < series.len() {
            self.series_queue_max.resize(series.len(), 0);
        }
        for (a, b) in self.series_queue_max.iter_mut().zip(series) {
            *a = (*a).max(*b);
        }
    }
}

/// The report: the living nodes' figures and those of `dead`, the lives
/// that ended in a crash (see [`super::tally`]).
pub fn report(c: &Config, nodes: &NodeTable<OverloadNode>, dead: &[Life], out: &mut Metrics) {
    out.text("overload", c.describe());
    let mut st = CallerStats::new(c.window, c.end);
    let width = bucket(c.end);
    let mut open = vec![0.0; st.series_started.len()];
    // Every caller has a breaker or none does; a caller that crashed and
    // restarted is one caller with two lives.
    let breakers = if c.breaker.is_some() { c.callers } else { 0 };
    let mut opened = 0u64;
    let mut breaker_refused = 0u64;
    let living = nodes
        .iter()
        .flatten()
        .filter_map(OverloadNode::as_caller)
        .map(|c| (&c.stats, &c.breaker));
    let gone = dead.iter().filter_map(|l| match l {
        Life::Caller { stats, breaker, .. } => Some((&**stats, breaker)),
        Life::Service { .. } => None,
    });
    for (stats, breaker) in living.chain(gone) {
        st.merge(stats);
        if let Some(b) = breaker {
            opened += b.opened;
            breaker_refused += b.refused;
            // Each open stretch runs from its change to the next (or to
            // `open_for` later, when the half-open that follows was never
            // observed because no call came).
            for (i, &(at, state)) in b.changes.iter().enumerate() {
                if let State::Open(_) = state {
                    let next = b.changes.get(i + 1).map_or(c.end, |n| n.0);
                    let until = next.min(at + c.breaker.as_ref().map_or(0, |k| k.open_for));
                    spread(&mut open, width, at, until.min(c.end));
                }
            }
        }
    }
    let run = c.end as f64 / 1e9;
    out.count("operations", st.operations)
        .note(format!("started by {} caller(s)", c.callers));
    if st.operations > 0 {
        out.ratio_of("operations succeeded", st.succeeded, st.operations)
            .decimals(1)
            .note(format!("{} of {}", st.succeeded, st.operations));
    }
    out.rate("goodput", st.succeeded as f64 / run)
        .decimals(1)
        .note("operations/s that succeeded, over the run");
    let (from, to) = c.window;
    out.rate(
        "goodput in window",
        st.succeeded_in_window as f64 / ((to - from) as f64 / 1e9),
    )
    .decimals(1)
    .note(format!(
        "operations/s that succeeded from {} to {}",
        fmt_duration(from),
        fmt_duration(to)
    ));
    out.count("attempts", st.attempts)
        .note("calls sent to the service, first attempts and retries");
    if st.operations > 0 {
        out.number("amplification", st.attempts as f64 / st.operations as f64)
            .decimals(2)
            .note("attempts per operation");
    }
    if st.operations > 0 && st.succeeded + st.failed == st.operations {
        out.duration("time to finish", st.last_end)
            .note("when the last operation ended");
    } else {
        out.none(
            "time to finish",
            format!(
                "none ({} operations still in progress at the end)",
                st.operations - st.succeeded - st.failed
            ),
        );
    }
    for (name, q) in [
        ("operation latency p50", 0.5),
        ("operation latency p99", 0.99),
    ] {
        if let Some(v) = st.latency.quantile(q) {
            out.duration(name, v)
                .note("of operations that succeeded, first attempt to answer");
        }
    }
    out.count(
        "attempts timed out",
        st.attempt_failures_of(Failure::TimedOut),
    );
    out.count(
        "attempts refused, queue full",
        st.attempt_failures_of(Failure::QueueFull),
    );
    if c.resource == Resource::Occ {
        out.count(
            "attempts conflicted",
            st.attempt_failures_of(Failure::Conflict),
        );
    }
    if breakers > 0 {
        out.count("operations refused, breaker open", breaker_refused)
            .note("attempts the callers' breakers did not send (each ends its operation)");
    }
    if c.budget.is_some() {
        out.count("retries denied, budget", st.ended_by_of(Failure::Budget));
    }
    if c.deadline.is_some() {
        out.count(
            "operations past deadline",
            st.ended_by_of(Failure::Deadline),
        );
    }
    out.count(
        "operations out of attempts",
        st.ended_by_of(Failure::Exhausted),
    );
    // The service the callers talk to: the front, or the lone service,
    // over all its lives.
    let mut service = None::<Service>;
    let mut add = |served, queue_max, series: &[u64]| {
        service
            .get_or_insert(Service {
                served: 0,
                queue_max: 0,
                series_queue_max: Vec::new(),
            })
            .add(served, queue_max, series)
    };
    for l in dead {
        if let Life::Service {
            node: 0,
            served,
            queue_max,
            series_queue_max,
            ..
        } = l
        {
            add(*served, *queue_max, series_queue_max);
        }
    }
    match nodes.first().and_then(Option::as_ref) {
        Some(OverloadNode::Front(f)) => {
            add(f.stats.served, f.stats.queue_max, &f.stats.series_queue_max)
        }
        Some(OverloadNode::Server(s)) => {
            add(s.stats.served, s.stats.queue_max, &s.stats.series_queue_max)
        }
        _ => {}
    }
    match &service {
        Some(s) => {
            let served = s.served;
            if served > 0 {
                out.ratio_of("wasted work", st.late_served.min(served), served)
                    .decimals(1)
                    .note(format!(
                        "of {served} attempts served, answered after the caller had stopped waiting"
                    ));
            }
            out.rate("service throughput", served as f64 / run)
                .decimals(1)
                .note("attempts/s the service completed, wanted or not");
            if c.resource == Resource::Queue {
                out.count("queue length max", s.queue_max as u64);
            }
        }
        None => {
            out.none("service throughput", "none: the service never ran");
        }
    }
    if c.drop_expired {
        let expired: u64 = nodes
            .iter()
            .flatten()
            .map(|n| match n {
                OverloadNode::Server(s) => s.expired,
                OverloadNode::Front(f) => f.expired,
                OverloadNode::Caller(_) => 0,
            })
            .sum::<u64>()
            + dead
                .iter()
                .map(|l| match l {
                    Life::Service { expired, .. } => *expired,
                    Life::Caller { .. } => 0,
                })
                .sum::<u64>();
        out.count("attempts dropped, deadline passed", expired)
            .note("unserved, by the front and the services: the caller had stopped waiting");
    }
    for (i, &(started, ok)) in st.by_kind.iter().enumerate().take(c.backends.len()) {
        if started > 0 {
            out.ratio_of(
                format!("operations succeeded via backend #{}", i + 1),
                ok,
                started,
            )
            .decimals(1)
            .note(format!("{ok} of {started}, through n{}", i + 2));
        }
    }
    if breakers > 0 {
        out.count("breaker opened", opened)
            .note(format!("times, over {breakers} caller(s)"));
        let share = open.iter().sum::<f64>() * width as f64 / breakers as f64 / c.end as f64;
        out.ratio("breaker open", share)
            .decimals(1)
            .note("of the run, averaged over the callers");
    }
    let every = fmt_duration(width);
    let point_width = |i: usize| {
        let from = i as Nanos * width;
        (c.end.min(from + width) - from).max(1) as f64 / 1e9
    };
    let rates = |v: &[u64]| -> Vec<(Nanos, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &n)| {
                (
                    i as Nanos * width,
                    (n as f64 / point_width(i) * 10.0).round() / 10.0,
                )
            })
            .collect()
    };
    out.add(
        Metric::series(
            "offered load over time",
            Unit::Rate,
            rates(&st.series_started),
        )
        .lead(format!("operations/s started, each {every} from 0s:")),
    );
    out.add(
        Metric::series("attempts over time", Unit::Rate, rates(&st.series_attempts))
            .lead(format!("attempts/s sent, each {every} from 0s:")),
    );
    out.add(
        Metric::series("goodput over time", Unit::Rate, rates(&st.series_succeeded)).lead(format!(
            "operations/s that succeeded, each {every} from 0s:"
        )),
    );
    if let (Some(s), Resource::Queue) = (&service, c.resource) {
        let q = s
            .series_queue_max
            .iter()
            .enumerate()
            .map(|(i, &n)| (i as Nanos * width, n as f64))
            .collect();
        out.add(
            Metric::series("queue length over time", Unit::Count, q)
                .lead(format!("most waiting in each {every} from 0s:")),
        );
    }
    if breakers > 0 {
        let points = open
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let share = x * width as f64 / 1e9 / point_width(i) / breakers as f64;
                (i as Nanos * width, (share * 100.0).round() / 100.0)
            })
            .collect();
        out.add(
            Metric::series("breaker open over time", Unit::Number, points).lead(format!(
                "share of each {every} the breakers were open (1 = all the time), from 0s:"
            )),
        );
    }
}
