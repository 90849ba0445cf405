//! # A service that queues, under open-loop load
//!
//! Every request path is a chain of queues: a request waits for a worker,
//! a connection, a lock, a disk. How long it waits depends less on how fast
//! the worker is than on how busy it is. With Poisson arrivals at rate λ and
//! exponential service at rate μ (M/M/1), the mean time in system is
//! 1/(μ - λ): at half load it is twice the service time, at 80% five times,
//! at 95% twenty times. Latency is a hockey stick in utilisation, and a
//! service "at 95% CPU" is not 5% from trouble but already in it.
//!
//! The simulator's own clients cannot show this: each keeps one operation
//! open (a closed loop), so a slow service slows its own load down. Here the
//! load is *open*: sources (`n2..`) send requests when their arrival process
//! says ([`sim::arrivals`]: Poisson or evenly spaced; a constant rate, steps,
//! a ramp, bursts), whether or not the earlier ones were answered, and the
//! load is split evenly between them. The service (`n1`) has `workers`
//! workers, a queue of at most `queue_limit` waiting requests served FIFO or
//! LIFO, and a service-time distribution ([`sim::dist`]: exponential,
//! constant, Pareto, bimodal); a request that finds the queue full is refused
//! at once.
//!
//! The report sets the measured mean time in system beside the value of
//! queueing theory (M/M/c by Erlang's C formula, M/G/1 by Pollaczek and
//! Khinchine: [`theory`]) with a 95%
//! confidence interval by batch means, and draws offered load, goodput,
//! refusals, p99 time in system and queue length over time. Requests that
//! arrive before `warmup` are served but not measured: the queue starts
//! empty, which is not its steady state.
//!
//! The load balancers, retries, breakers and limiters of the request path
//! build on these pieces: the arrival processes and distributions in `sim`,
//! the service and its measurements here.

mod params;
mod service;
pub(crate) mod source;
mod stats;
pub mod theory;

pub use params::{Config, Discipline, Params, MAX_QUEUE, MAX_WORKERS};
pub use service::{Job, Service};
pub use source::Source;
pub use stats::{Refusal, Stats, BATCHES};

use std::sync::Arc;

use sim::metric::{Figure, Metric, Metrics, Unit};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol};
use sim::time::Nanos;

pub const ROLES: &[&str] = &["service", "source"];

/// The service is always `n1`.
pub const SERVICE: NodeId = NodeId(0);

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Source -> service: one request.
        Request { id: u64 },
        /// Service -> source: served, or refused and why.
        Reply { id: u64, refused: Option<Refusal> },
    }
}

sim::node_enum! {
    /// A node of the queueing system.
    pub enum QueueNode: Msg {
        Service(Service) { role: |_| "service", get as_service },
        Source(Source) { role: |_| "source", start, get as_source },
    }
}

/// The figures of the report, in the order it prints them.
pub const METRICS: &[Figure] = &[
    Figure::text("queue"),
    Figure::rate("offered load"),
    Figure::rate("service goodput"),
    Figure::ratio("utilisation"),
    Figure::count("refused, queue full"),
    Figure::count("requests measured"),
    Figure::duration("mean time in system"),
    Figure::ratio("95% CI half-width"),
    Figure::duration("theory mean time in system"),
    Figure::ratio("error vs theory"),
    Figure::duration("mean wait in queue"),
    Figure::duration("time in system p50"),
    Figure::duration("time in system p99"),
    Figure::duration("time in system max"),
    Figure::number("mean number in system"),
    Figure::number("mean queue length"),
    Figure::count("queue length max"),
    Figure::series("offered load over time"),
    Figure::series("service goodput over time"),
    Figure::series("refused over time"),
    Figure::series("p99 time in system over time"),
    Figure::series("queue length over time"),
];

/// The queueing protocol: one service, its sources.
#[derive(Clone, Debug)]
pub struct Queue {
    pub config: Arc<Config>,
}

impl Protocol for Queue {
    type Node = QueueNode;

    fn build(&self, id: NodeId, _cluster: &Cluster, _disk: &Disk) -> QueueNode {
        // Every server but the first is a source (the scenario has no clients).
        if id == SERVICE {
            QueueNode::Service(Service::new(self.config.clone()))
        } else {
            let arrivals = self.config.arrivals.split(self.config.sources);
            QueueNode::Source(Source::new(arrivals, self.config.stop))
        }
    }

    fn metrics(&self, nodes: &NodeTable<QueueNode>, out: &mut Metrics) {
        let c = &self.config;
        out.text("queue", c.describe());
        let Some(s) = nodes
            .first()
            .and_then(Option::as_ref)
            .and_then(QueueNode::as_service)
        else {
            out.none(
                "offered load",
                "none: the service is down at the end of the run (its figures died with it)",
            );
            return;
        };
        report(c, s, out);
    }
}

fn ms1(ns: f64) -> f64 {
    (ns / 1e5).round() / 10.0
}

/// The service's figures.
fn report(c: &Config, s: &Service, out: &mut Metrics) {
    let st = &s.stats;
    let window = (c.end - c.warmup) as f64 / 1e9;
    let from = if c.warmup > 0 {
        format!("from {}", sim::time::fmt_duration(c.warmup))
    } else {
        "over the run".to_string()
    };
    out.rate("offered load", st.measured_arrived as f64 / window)
        .decimals(1)
        .note(format!("requests/s arriving at the service, {from}"));
    out.rate("service goodput", st.done_in_window as f64 / window)
        .decimals(1)
        .note(format!("requests/s served, {from}"));
    let averages = st.averages(c.end, s.queued(), s.busy());
    if let Some((_, _, busy)) = averages {
        out.ratio("utilisation", busy / c.workers as f64)
            .decimals(1)
            .note(match c.offered_utilisation() {
                Some(rho) => format!(
                    "of {} worker(s) busy (the load asks {:.1}%)",
                    c.workers,
                    rho * 100.0
                ),
                None => format!("of {} worker(s) busy", c.workers),
            });
    }
    out.count("refused, queue full", st.measured_refused)
        .note(format!("of {} arrivals {from}", st.measured_arrived));
    out.count("requests measured", st.measured_served)
        .note(format!("served, of those that arrived {from}"));
    let mean = st.mean_sojourn();
    match mean {
        Some(m) => {
            out.duration("mean time in system", m.round() as Nanos)
                .note(format!(
                    "({} requests {from}, arrival at the service to reply)",
                    st.measured_served
                ));
            match st.half_width() {
                Some(h) => {
                    out.ratio("95% CI half-width", h / m)
                        .decimals(2)
                        .note(format!(
                            "of the mean, {} (batch means, {BATCHES} batches)",
                            sim::time::fmt_duration(h.round() as Nanos)
                        ));
                }
                None => {
                    out.none(
                        "95% CI half-width",
                        "none (a batch of the window served nothing)",
                    );
                }
            }
        }
        None => {
            out.none(
                "mean time in system",
                "none (no request measured was served)",
            );
        }
    }
    match c.theory() {
        Some((theory, formula)) => {
            out.duration("theory mean time in system", theory.round() as Nanos)
                .note(format!("({formula})"));
            match mean {
                Some(m) if st.refused_full == 0 => {
                    out.ratio("error vs theory", (m / theory - 1.0).abs())
                        .decimals(2)
                        .note(if m >= theory {
                            "(measured above)"
                        } else {
                            "(measured below)"
                        });
                }
                Some(_) => {
                    out.none("error vs theory", "none (the queue limit refused requests: the formulas assume an unbounded queue)");
                }
                None => {}
            }
        }
        None => {
            out.none(
                "theory mean time in system",
                "none (the formulas here need constant-rate Poisson arrivals, a utilisation below 1, and exponential service or one worker)",
            );
        }
    }
    if let Some(w) = st.mean_wait() {
        out.duration("mean wait in queue", w.round() as Nanos);
    }
    out.percentiles("time in system", &st.sojourn);
    if let Some((system, queue, _)) = averages {
        out.number("mean number in system", system)
            .decimals(2)
            .note("(time average; Little: offered load x mean time in system)");
        out.number("mean queue length", queue)
            .decimals(2)
            .note("(time average, waiting only)");
    }
    out.count("queue length max", st.queue_max as u64)
        .note(format!("waiting, {from}"));
    let every = sim::time::fmt_duration(st.bucket);
    // A rate per point: the count over the point's width (the last point
    // may be cut short by the end of the run).
    let width = |i: usize| {
        let from = i as Nanos * st.bucket;
        (c.end.min(from + st.bucket) - from).max(1) as f64 / 1e9
    };
    let rates = |v: &[u64]| -> Vec<(Nanos, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &n)| {
                (
                    i as Nanos * st.bucket,
                    (n as f64 / width(i) * 10.0).round() / 10.0,
                )
            })
            .collect()
    };
    let counts = |v: &[u64]| -> Vec<(Nanos, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &n)| (i as Nanos * st.bucket, n as f64))
            .collect()
    };
    out.add(
        Metric::series(
            "offered load over time",
            Unit::Rate,
            rates(&st.series_arrived),
        )
        .lead(format!("requests/s, each {every} from 0s:")),
    );
    out.add(
        Metric::series(
            "service goodput over time",
            Unit::Rate,
            rates(&st.series_served),
        )
        .lead(format!("requests/s, each {every} from 0s:")),
    );
    out.add(
        Metric::series("refused over time", Unit::Rate, rates(&st.series_refused)).lead(format!(
            "requests/s refused (queue full), each {every} from 0s:"
        )),
    );
    let p99: Vec<(Nanos, f64)> = st
        .series_sojourn
        .iter()
        .enumerate()
        .map(|(i, h)| {
            (
                i as Nanos * st.bucket,
                h.quantile(0.99).map_or(0.0, |v| ms1(v as f64)),
            )
        })
        .collect();
    out.add(
        Metric::series("p99 time in system over time", Unit::Number, p99)
            .lead(format!("ms, of requests served in each {every} from 0s:")),
    );
    out.add(
        Metric::series(
            "queue length over time",
            Unit::Count,
            counts(&st.series_queue_max),
        )
        .lead(format!("most waiting in each {every} from 0s:")),
    );
}

#[cfg(test)]
mod tests;
