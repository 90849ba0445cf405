//! # Load balancers
//!
//! A load balancer spreads requests over backends. What it can promise is
//! modest: every request goes to *some* backend it believes is up, in
//! proportions its policy sets. What it gives up is knowledge: it never
//! sees a backend's queue, only what it sent and what came back, and it
//! learns that a backend died or slowed down only from missed probes or
//! failed requests, some time after the fact.
//!
//! The policies (`policy`):
//! - **round robin** and **weighted round robin**, nginx's smooth variant
//!   (weights 3:2:1 give `a b a c b a`, not `a a a b b c`), with a bug flag
//!   (`naive_weights`) for a weighted pick that offers each backend in turn
//!   with chance weight/total instead of weight/remaining: 3:2:1 becomes
//!   77.8/16.7/5.6% instead of 50/33/17;
//! - **random**, which with Poisson arrivals makes every backend an M/M/1
//!   queue at the fleet's load;
//! - **least outstanding requests**, which needs the balancer to count what
//!   it sent and what came back (it does: a proxy sees both);
//! - **power of two choices** (Mitzenmacher, "The Power of Two Choices in
//!   Randomized Load Balancing", IEEE TPDS 2001): two backends at random,
//!   the one with fewer outstanding. With 100 backends at load 0.9 the mean
//!   time in system falls from 10 service times (random) to about 2.61
//!   ([`theory`]): most of what full knowledge would buy, from two samples;
//! - **consistent hashing** of the request's key on the ring of
//!   [`crate::ring`], which keeps a key on one backend (its cache stays
//!   warm) at the price of an uneven split, and moves only a failed
//!   backend's keys.
//!
//! Backends leave rotation two ways. **Active health checks**
//! (`health_check`) probe every backend each `interval`; `unhealthy_threshold`
//! missed probes in a row take it out, `healthy_threshold` answered ones
//! bring it back. Probes are answered out of band, so a backend that is
//! alive but slow passes them. **Passive outlier ejection**
//! (`outlier_ejection`, as Envoy's) counts failures of real requests
//! (timeouts and refusals) and ejects a backend after `consecutive_failures`
//! in a row, for `ejection_time` times the number of its ejections, never
//! more than `max_ejected` of the fleet at once.
//!
//! Layout: `n1` is the balancer, `n2..n(backends+1)` the backends (each the
//! queueing [`crate::resilience::Service`]), the servers after them the
//! open-loop sources. The time in system that the anchor compares with
//! theory is measured **at the backends**, from a request's arrival there to
//! its reply, so network latency is not in it; the response times are
//! measured at the balancer (arrival from the source to the backend's reply
//! arriving back), two network hops included.

mod backend;
mod lb;
mod params;
mod pick;
mod source;
mod stats;
pub mod theory;

pub use backend::Backend;
pub use lb::{BackendView, Balancer};
pub use params::{Config, HealthCheck, Outlier, Params, Policy};
pub use source::Source;

use std::sync::Arc;

use sim::metric::{Figure, Metric, Metrics, Unit};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol};
use sim::time::{fmt_duration, Nanos};

pub const ROLES: &[&str] = &["balancer", "backend", "source"];

/// The balancer is always `n1`.
pub const BALANCER: NodeId = NodeId(0);

/// Why a request was not served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No backend in rotation.
    NoBackend,
    /// The backend's queue was full.
    QueueFull,
    /// The backend did not answer within the balancer's timeout.
    Timeout,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Source -> balancer, and balancer -> backend (with the balancer's id).
        Request { id: u64, key: u64 },
        /// Backend -> balancer, and balancer -> source.
        Reply { id: u64, refused: Option<Refusal> },
        /// Balancer -> backend: the health check.
        Probe { seq: u64 },
        ProbeOk { seq: u64 },
    }
}

sim::node_enum! {
    /// A node of the balanced system.
    pub enum BalancerNode: Msg {
        Balancer(Balancer) { role: |_| "balancer", start, get as_balancer },
        Backend(Backend) { role: |_| "backend", get as_backend },
        Source(Source) { role: |_| "source", start, get as_source },
    }
}

/// The most backends whose shares the report prints one by one.
const SHARES_SHOWN: usize = 12;

/// The figures of the report, in the order it prints them.
pub const METRICS: &[Figure] = &[
    Figure::text("balancer"),
    Figure::rate("offered load"),
    Figure::rate("goodput"),
    Figure::count("requests measured"),
    Figure::ratio("failed"),
    Figure::count("refused, no backend"),
    Figure::count("refused, backend queue full"),
    Figure::count("timed out"),
    Figure::duration("mean time in system"),
    Figure::number("mean time in system, service times"),
    Figure::duration("theory mean time in system"),
    Figure::ratio("error vs theory"),
    Figure::duration("mean response time"),
    Figure::duration("response time p50"),
    Figure::duration("response time p99"),
    Figure::duration("response time max"),
    Figure::ratio("share of backend #N"),
    Figure::ratio("busiest backend share"),
    Figure::ratio("idlest backend share"),
    Figure::count("ejections"),
    Figure::count("marked unhealthy"),
    Figure::series("goodput over time"),
    Figure::series("failed over time"),
    Figure::series("p99 response time over time"),
    Figure::series("backends in rotation over time"),
];

/// The load-balancer protocol: one balancer, its backends, its sources.
#[derive(Clone, Debug)]
pub struct LoadBalancer {
    pub config: Arc<Config>,
}

impl Protocol for LoadBalancer {
    type Node = BalancerNode;

    fn build(&self, id: NodeId, _cluster: &Cluster, _disk: &Disk) -> BalancerNode {
        let c = &self.config;
        let i = id.index();
        if id == BALANCER {
            BalancerNode::Balancer(Balancer::new(c.clone()))
        } else if i <= c.backends {
            BalancerNode::Backend(Backend::new(c.backend[i - 1].clone()))
        } else {
            BalancerNode::Source(Source::new(c.arrivals.split(c.sources), c.stop, c.keys))
        }
    }

    fn metrics(&self, nodes: &NodeTable<BalancerNode>, out: &mut Metrics) {
        let c = &self.config;
        out.text("balancer", c.describe());
        let Some(lb) = nodes
            .first()
            .and_then(Option::as_ref)
            .and_then(BalancerNode::as_balancer)
        else {
            out.none(
                "offered load",
                "none: the balancer is down at the end of the run (its figures died with it)",
            );
            return;
        };
        let backends: Vec<Option<&Backend>> = (1..=c.backends)
            .map(|i| {
                nodes
                    .get(i)
                    .and_then(Option::as_ref)
                    .and_then(BalancerNode::as_backend)
            })
            .collect();
        report(c, lb, &backends, out);
    }
}

fn ms1(ns: f64) -> f64 {
    (ns / 1e5).round() / 10.0
}

/// The balancer's figures and the backends' time in system.
fn report(c: &Config, lb: &Balancer, backends: &[Option<&Backend>], out: &mut Metrics) {
    let st = &lb.stats;
    let window = (c.end - c.warmup) as f64 / 1e9;
    let from = if c.warmup > 0 {
        format!("from {}", fmt_duration(c.warmup))
    } else {
        "over the run".to_string()
    };
    out.rate("offered load", st.arrived as f64 / window)
        .decimals(1)
        .note(format!("requests/s arriving at the balancer, {from}"));
    out.rate("goodput", st.done_in_window as f64 / window)
        .decimals(1)
        .note(format!("requests/s served, {from}"));
    out.count("requests measured", st.arrived)
        .note(format!("arrived at the balancer {from}"));
    let failed = st.no_backend + st.queue_full + st.timed_out;
    out.ratio_of("failed", failed, st.arrived.max(1))
        .decimals(1)
        .note(format!("{failed} refused or timed out"));
    out.count("refused, no backend", st.no_backend)
        .note("(none in rotation)");
    out.count("refused, backend queue full", st.queue_full);
    match c.timeout {
        Some(t) => out
            .count("timed out", st.timed_out)
            .note(format!("(no reply within {})", fmt_duration(t))),
        None => out
            .count("timed out", st.timed_out)
            .note("(no timeout set)"),
    };

    // The backends' own measurement: arrival at the backend to its reply.
    let (mut sum, mut n, mut down) = (0.0, 0u64, 0);
    for b in backends {
        match b {
            Some(b) => {
                let s = &b.service.stats;
                if let Some(m) = s.mean_sojourn() {
                    sum += m * s.measured_served as f64;
                    n += s.measured_served;
                }
            }
            None => down += 1,
        }
    }
    let mean = (n > 0).then(|| sum / n as f64);
    let service = c.service.mean();
    match mean {
        Some(m) => {
            let lost = if down > 0 {
                format!("; {down} backend(s) down at the end, their figures lost")
            } else {
                String::new()
            };
            out.duration("mean time in system", m.round() as Nanos)
                .note(format!(
                    "({n} requests {from}, arrival at a backend to its reply, no network{lost})"
                ));
            out.number("mean time in system, service times", m / service)
                .decimals(2)
                .note(format!("(of {})", fmt_duration(service.round() as Nanos)));
        }
        None => {
            out.none(
                "mean time in system",
                "none (no backend served a measured request)",
            );
        }
    }
    match c.theory() {
        Some((theory, formula)) => {
            out.duration("theory mean time in system", theory.round() as Nanos)
                .note(format!("({formula})"));
            if let Some(m) = mean {
                if failed == 0 {
                    out.ratio("error vs theory", (m / theory - 1.0).abs())
                        .decimals(2)
                        .note(if m >= theory {
                            "(measured above)"
                        } else {
                            "(measured below)"
                        });
                } else {
                    out.none(
                        "error vs theory",
                        "none (requests failed: the formulas assume every one is served)",
                    );
                }
            }
        }
        None => {
            out.none(
                "theory mean time in system",
                "none (theory here is for random and two_choices, constant-rate Poisson arrivals, exponential service, one worker per backend, no slowdown)",
            );
        }
    }
    if let Some(m) = st.mean_response() {
        out.duration("mean response time", m.round() as Nanos)
            .note("(at the balancer: arrival to the backend's reply, two network hops included)");
    }
    out.percentiles("response time", &st.response);

    let total: u64 = st.sent.iter().sum();
    if total > 0 {
        if c.backends <= SHARES_SHOWN {
            for (b, &k) in st.sent.iter().enumerate() {
                let weight = if c.policy == Policy::WeightedRoundRobin {
                    format!(", weight {}", c.weights[b])
                } else {
                    String::new()
                };
                out.ratio_of(format!("share of backend #{}", b + 1), k, total)
                    .decimals(1)
                    .note(format!("(n{}{weight}: {k} requests)", b + 2));
            }
        }
        let (busiest, &most) = st
            .sent
            .iter()
            .enumerate()
            .max_by_key(|(b, k)| (**k, std::cmp::Reverse(*b)))
            .expect("a backend");
        let (idlest, &least) = st
            .sent
            .iter()
            .enumerate()
            .min_by_key(|(b, k)| (**k, *b))
            .expect("a backend");
        out.ratio_of("busiest backend share", most, total)
            .decimals(2)
            .note(format!(
                "(n{}; an even split is {:.2}%)",
                busiest + 2,
                100.0 / c.backends as f64
            ));
        out.ratio_of("idlest backend share", least, total)
            .decimals(2)
            .note(format!("(n{})", idlest + 2));
    }
    out.count("ejections", st.ejections).note(match c.outlier {
        Some(_) => "(passive outlier ejection)",
        None => "(outlier ejection off)",
    });
    out.count("marked unhealthy", st.unhealthy_marks)
        .note(match c.health_check {
            Some(_) => "(active health checks)",
            None => "(health checks off)",
        });

    let every = fmt_duration(st.bucket);
    let width = |i: usize| {
        let from = i as Nanos * st.bucket;
        (c.end.min(from + st.bucket) - from).max(1) as f64 / 1e9
    };
    let rates = |v: &[u64]| -> Vec<(Nanos, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &k)| {
                (
                    i as Nanos * st.bucket,
                    (k as f64 / width(i) * 10.0).round() / 10.0,
                )
            })
            .collect()
    };
    out.add(
        Metric::series("goodput over time", Unit::Rate, rates(&st.series_served))
            .lead(format!("requests/s, each {every} from 0s:")),
    );
    out.add(
        Metric::series("failed over time", Unit::Rate, rates(&st.series_failed)).lead(format!(
            "requests/s refused or timed out, each {every} from 0s:"
        )),
    );
    let p99: Vec<(Nanos, f64)> = st
        .series_response
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
        Metric::series("p99 response time over time", Unit::Number, p99)
            .lead(format!("ms, of requests served in each {every} from 0s:")),
    );
    let live: Vec<(Nanos, f64)> = st
        .series_in_rotation
        .iter()
        .enumerate()
        .map(|(i, &k)| (i as Nanos * st.bucket, k as f64))
        .collect();
    out.add(
        Metric::series("backends in rotation over time", Unit::Count, live)
            .lead(format!("fewest in each {every} from 0s:")),
    );
}

#[cfg(test)]
mod tests;
