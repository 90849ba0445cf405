//! `[system]` for `protocol = "balancer"`, and its checked form.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use sim::arrivals::{Arrivals, ArrivalsSpec};
use sim::dist::{Dist, DistSpec};
use sim::time::{fmt_duration, secs, Nanos};

use crate::resilience::{self, Discipline};

/// The most backends a balancer may have: a scenario has at most 128
/// servers, and two of them are the balancer and at least one source.
pub const MAX_BACKENDS: u32 = 126;

/// The largest weight a backend may have. Weights are summed; a bound
/// keeps the sum of any number of them far from overflowing, and a
/// million to one is already more skew than a fleet has.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// How the balancer picks a backend for a request.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Each backend in turn.
    #[default]
    RoundRobin,
    /// In turn, in proportion to `weights`, spread out (nginx's smooth
    /// weighted round robin).
    WeightedRoundRobin,
    /// One at random.
    Random,
    /// The one with the fewest requests outstanding (sent, not answered).
    LeastOutstanding,
    /// Two at random, the one of them with fewer outstanding.
    TwoChoices,
    /// The owner of the request's key on a consistent-hash ring.
    ConsistentHash,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::RoundRobin => "round_robin",
            Policy::WeightedRoundRobin => "weighted_round_robin",
            Policy::Random => "random",
            Policy::LeastOutstanding => "least_outstanding",
            Policy::TwoChoices => "two_choices",
            Policy::ConsistentHash => "consistent_hash",
        }
    }
}

/// `health_check = { interval = "1s", timeout = "100ms", unhealthy_threshold = 2, healthy_threshold = 2 }`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// How often the balancer probes every backend.
    #[serde(with = "sim::time::serde_duration")]
    pub interval: Nanos,
    /// A probe not answered within this fails.
    #[serde(with = "sim::time::serde_duration")]
    pub timeout: Nanos,
    /// Failed probes in a row that take a backend out of rotation.
    pub unhealthy_threshold: u32,
    /// Good probes in a row that bring it back.
    pub healthy_threshold: u32,
}

/// `outlier_ejection = { consecutive_failures = 5, ejection_time = "10s", max_ejected = 0.5 }`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Outlier {
    /// Failures in a row (timeouts, refusals) that eject a backend.
    pub consecutive_failures: u32,
    /// How long the first ejection lasts; the k-th lasts k times as long,
    /// up to `max_ejection_time`.
    #[serde(with = "sim::time::serde_duration")]
    pub ejection_time: Nanos,
    /// The longest one ejection lasts, however many came before: without
    /// it a backend that failed often stays out for hours after it heals
    /// (Envoy's `max_ejection_time`, 300s by default).
    #[serde(default = "five_minutes", with = "sim::time::serde_duration")]
    pub max_ejection_time: Nanos,
    /// The largest share of the backends ejected at once: past it, a
    /// failing backend stays in (a fleet-wide failure is not an outlier).
    #[serde(default = "half")]
    pub max_ejected: f64,
}

fn half() -> f64 {
    0.5
}

fn five_minutes() -> Nanos {
    secs(300)
}

/// `[system]` for `protocol = "balancer"`, as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub policy: Policy,
    /// The backends, `n2..n(backends+1)`; the servers after them are
    /// sources. Unset: every server but the balancer and the last (one
    /// source).
    pub backends: Option<u32>,
    /// One weight per backend, for `weighted_round_robin`.
    pub weights: Vec<u32>,
    /// Bug flag: weighted round robin by a naive weighted pick that offers
    /// each backend in turn with chance weight/total (not weight/remaining)
    /// and falls back to the first.
    pub naive_weights: bool,
    /// The whole load, split evenly between the sources.
    pub arrivals: ArrivalsSpec,
    /// Each backend's service time (before its slowdown).
    pub service: DistSpec,
    /// Workers per backend.
    pub workers: u32,
    /// Waiting requests per backend.
    pub queue_limit: u32,
    pub discipline: Discipline,
    /// Service times of the named backends are multiplied by these factors:
    /// `slowdown = { n3 = 10 }`.
    pub slowdown: BTreeMap<String, f64>,
    /// How long the balancer waits for a backend's reply before it answers
    /// the source "timed out" and counts a failure ("0s": forever).
    #[serde(with = "sim::time::serde_duration")]
    pub timeout: Nanos,
    /// Keys drawn uniformly by the sources (for `consistent_hash`).
    pub keys: u32,
    /// Tokens per backend on the hash ring.
    pub vnodes: u32,
    pub health_check: Option<HealthCheck>,
    pub outlier_ejection: Option<Outlier>,
    /// Requests that arrive before this are served but not measured.
    #[serde(with = "sim::time::serde_duration")]
    pub warmup: Nanos,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            policy: Policy::RoundRobin,
            backends: None,
            weights: Vec::new(),
            naive_weights: false,
            arrivals: ArrivalsSpec {
                rate: Some(150.0),
                ..ArrivalsSpec::default()
            },
            service: DistSpec {
                dist: Some("exponential".into()),
                mean: Some(sim::time::ms(10)),
                ..DistSpec::default()
            },
            workers: 1,
            queue_limit: 1_000,
            discipline: Discipline::Fifo,
            slowdown: BTreeMap::new(),
            timeout: secs(1),
            keys: 1_000,
            vnodes: 100,
            health_check: None,
            outlier_ejection: None,
            warmup: 0,
        }
    }
}

/// The parameters, checked, with the run's times.
#[derive(Clone, Debug)]
pub struct Config {
    pub policy: Policy,
    pub backends: usize,
    /// One per backend (all 1 unless the policy is weighted).
    pub weights: Vec<u32>,
    pub naive_weights: bool,
    pub arrivals: Arrivals,
    /// The service before any slowdown.
    pub service: Dist,
    /// Each backend's service, as `resilience` runs it.
    pub backend: Vec<Arc<resilience::Config>>,
    /// Each backend's slowdown factor (1 for most).
    pub slowdown: Vec<f64>,
    pub timeout: Option<Nanos>,
    pub keys: u32,
    pub vnodes: u32,
    pub health_check: Option<HealthCheck>,
    pub outlier: Option<Outlier>,
    pub warmup: Nanos,
    pub stop: Nanos,
    pub end: Nanos,
    pub sources: usize,
}

type Bad = (&'static str, String);

/// `dist` with every duration multiplied by `factor`.
fn scaled(dist: &Dist, factor: f64) -> Dist {
    let f = |ns: Nanos| (ns as f64 * factor).round() as Nanos;
    match *dist {
        Dist::Exponential { mean } => Dist::Exponential { mean: f(mean) },
        Dist::Constant { value } => Dist::Constant { value: f(value) },
        Dist::Pareto { mean, shape } => Dist::Pareto {
            mean: f(mean),
            shape,
        },
        Dist::Bimodal {
            fast,
            slow,
            slow_share,
        } => Dist::Bimodal {
            fast: f(fast),
            slow: f(slow),
            slow_share,
        },
    }
}

impl Params {
    /// The checked form, for a scenario of `servers` servers, or
    /// `(field, message)`.
    pub fn check(&self, servers: usize, stop: Nanos, end: Nanos) -> Result<Config, Bad> {
        let asked = self
            .backends
            .unwrap_or_else(|| servers.saturating_sub(2).max(1) as u32);
        if asked == 0 || asked > MAX_BACKENDS {
            return Err((
                "backends",
                format!(
                    "backends = {asked}: must be between 1 and {MAX_BACKENDS} (a scenario has at most 128 servers: the balancer, the backends and at least one source), e.g. backends = 3"
                ),
            ));
        }
        let backends = asked as usize;
        if servers < backends + 2 {
            return Err((
                "backends",
                format!(
                    "backends = {backends} needs servers = {} or more in [topology] (n1 the balancer, n2..n{} the backends, then at least one source); it has {servers}",
                    backends + 2,
                    backends + 1
                ),
            ));
        }
        let weights = match (self.policy, self.weights.is_empty()) {
            (Policy::WeightedRoundRobin, true) => {
                return Err((
                    "weights",
                    format!(
                        "policy = \"weighted_round_robin\" needs one weight per backend, e.g. weights = [{}]",
                        (0..backends).map(|i| (backends - i).to_string()).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
            (Policy::WeightedRoundRobin, false) => {
                if self.weights.len() != backends || self.weights.contains(&0) {
                    return Err((
                        "weights",
                        format!(
                            "weights = {:?}: needs {backends} weights (one per backend), each at least 1",
                            self.weights
                        ),
                    ));
                }
                if let Some(&w) = self.weights.iter().find(|&&w| w > MAX_WEIGHT) {
                    return Err((
                        "weights",
                        format!(
                            "weights = {:?}: weight {w} is above the most, {MAX_WEIGHT}; only the ratios matter, e.g. weights = [3, 2, 1]",
                            self.weights
                        ),
                    ));
                }
                self.weights.clone()
            }
            (p, false) => {
                return Err((
                    "weights",
                    format!(
                        "weights apply to policy = \"weighted_round_robin\" only; this scenario has policy = \"{}\"",
                        p.name()
                    ),
                ))
            }
            (_, true) => vec![1; backends],
        };
        if self.naive_weights && self.policy != Policy::WeightedRoundRobin {
            return Err((
                "naive_weights",
                format!(
                    "naive_weights is a bug of policy = \"weighted_round_robin\"; this scenario has policy = \"{}\"",
                    self.policy.name()
                ),
            ));
        }
        let arrivals = self
            .arrivals
            .check("arrivals")
            .map_err(|e| ("arrivals", e))?;
        let service = self.service.check("service").map_err(|e| ("service", e))?;
        if service.mean() < 1_000.0 {
            return Err((
                "service",
                "service: the mean service time must be at least 1us, e.g. mean = \"10ms\"".into(),
            ));
        }
        if self.workers == 0 || self.workers > resilience::MAX_WORKERS {
            return Err((
                "workers",
                format!(
                    "workers = {}: must be between 1 and {}, e.g. workers = 1",
                    self.workers,
                    resilience::MAX_WORKERS
                ),
            ));
        }
        if self.queue_limit > resilience::MAX_QUEUE {
            return Err((
                "queue_limit",
                format!(
                    "queue_limit = {}: must be at most {}, e.g. queue_limit = 1000",
                    self.queue_limit,
                    resilience::MAX_QUEUE
                ),
            ));
        }
        let mut slowdown = vec![1.0; backends];
        for (name, &factor) in &self.slowdown {
            let b = name
                .strip_prefix('n')
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| (2..=backends + 1).contains(&n))
                .ok_or_else(|| {
                    (
                        "slowdown",
                        format!(
                            "slowdown names {name:?}, which is not a backend: the backends are n2..n{}",
                            backends + 1
                        ),
                    )
                })?;
            if !(factor.is_finite() && (0.01..=1000.0).contains(&factor)) {
                return Err((
                    "slowdown",
                    format!("slowdown {name} = {factor}: must be a factor between 0.01 and 1000, e.g. {name} = 10"),
                ));
            }
            slowdown[b - 2] = factor;
        }
        if self.timeout > 0 {
            crate::check_period("timeout", self.timeout, "(or \"0s\": wait forever)", "1s")?;
        }
        if self.keys == 0 {
            return Err((
                "keys",
                "keys = 0: the sources need at least 1 key, e.g. keys = 1000".into(),
            ));
        }
        if self.vnodes == 0 || self.vnodes > 1_000 {
            return Err((
                "vnodes",
                format!(
                    "vnodes = {}: must be between 1 and 1000, e.g. vnodes = 100",
                    self.vnodes
                ),
            ));
        }
        if let Some(h) = self.health_check {
            crate::check_period("health_check.interval", h.interval, "", "1s")?;
            crate::check_period("health_check.timeout", h.timeout, "", "100ms")?;
            if h.timeout >= h.interval {
                return Err((
                    "health_check",
                    format!(
                        "health_check: timeout = \"{}\" must be shorter than interval = \"{}\" (a probe is judged before the next is sent)",
                        fmt_duration(h.timeout),
                        fmt_duration(h.interval)
                    ),
                ));
            }
            if h.unhealthy_threshold == 0 || h.healthy_threshold == 0 {
                return Err((
                    "health_check",
                    "health_check: unhealthy_threshold and healthy_threshold must be at least 1, e.g. 2".into(),
                ));
            }
        }
        if let Some(o) = self.outlier_ejection {
            if o.consecutive_failures == 0 {
                return Err((
                    "outlier_ejection",
                    "outlier_ejection: consecutive_failures must be at least 1, e.g. 5".into(),
                ));
            }
            crate::check_period("outlier_ejection.ejection_time", o.ejection_time, "", "10s")?;
            if o.max_ejection_time < o.ejection_time {
                return Err((
                    "outlier_ejection",
                    format!(
                        "outlier_ejection: max_ejection_time = \"{}\" is below ejection_time = \"{}\"; it must be at least that, e.g. max_ejection_time = \"300s\"",
                        fmt_duration(o.max_ejection_time),
                        fmt_duration(o.ejection_time)
                    ),
                ));
            }
            sim::scenario::check_share(o.max_ejected).map_err(|m| {
                (
                    "outlier_ejection",
                    format!("outlier_ejection: max_ejected = {m}"),
                )
            })?;
            // At least one backend may always be ejected (as in Envoy and
            // gRPC), so 0 would not turn ejection off: refuse it.
            if o.max_ejected <= 0.0 {
                return Err((
                    "outlier_ejection",
                    format!(
                        "outlier_ejection: max_ejected = {}: must be above 0 (one backend may always be ejected; leave outlier_ejection out to turn it off), e.g. max_ejected = 0.5",
                        o.max_ejected
                    ),
                ));
            }
        }
        if self.warmup >= end {
            return Err((
                "warmup",
                format!(
                    "warmup = \"{}\" is not before the end of the run (duration = \"{}\"): nothing would be measured",
                    fmt_duration(self.warmup),
                    fmt_duration(end)
                ),
            ));
        }
        let sources = servers - 1 - backends;
        let backend = slowdown
            .iter()
            .map(|&f| {
                Arc::new(resilience::Config {
                    arrivals: Arrivals::poisson(0.0),
                    service: scaled(&service, f),
                    workers: self.workers,
                    queue_limit: self.queue_limit,
                    discipline: self.discipline,
                    warmup: self.warmup,
                    stop,
                    end,
                    sources,
                })
            })
            .collect();
        Ok(Config {
            policy: self.policy,
            backends,
            weights,
            naive_weights: self.naive_weights,
            arrivals,
            service,
            backend,
            slowdown,
            timeout: (self.timeout > 0).then_some(self.timeout),
            keys: self.keys,
            vnodes: self.vnodes,
            health_check: self.health_check,
            outlier: self.outlier_ejection,
            warmup: self.warmup,
            stop,
            end,
            sources,
        })
    }
}

impl Config {
    /// The load per backend in service times, λ·E[S]/(n·c), at a constant rate.
    pub fn load(&self) -> Option<f64> {
        let lambda = self.arrivals.constant_rate()?;
        Some(
            lambda * self.service.mean()
                / 1e9
                / (self.backends as f64 * self.backend[0].workers as f64),
        )
    }

    /// The mean time in system theory gives for this balancer, in ns, and
    /// the formula's name: random choice (M/M/1 per backend) and two
    /// choices (the supermarket model's limit), for constant-rate Poisson
    /// arrivals, exponential service, one worker per backend and no
    /// slowdown.
    pub fn theory(&self) -> Option<(f64, &'static str)> {
        if self.arrivals.spacing != sim::arrivals::Spacing::Poisson
            || !self.service.is_exponential()
            || self.backend[0].workers != 1
            || self.slowdown.iter().any(|&f| f != 1.0)
        {
            return None;
        }
        let rho = self.load()?;
        let (t, name) = match self.policy {
            Policy::Random => (
                super::theory::random_time_in_system(rho)?,
                "random: M/M/1 per backend, 1/(1 - load) service times",
            ),
            Policy::TwoChoices => (
                super::theory::supermarket_time_in_system(rho, 2)?,
                "two choices: supermarket model, sum of load^(2^i - 2) service times (many backends)",
            ),
            _ => return None,
        };
        Some((t * self.service.mean(), name))
    }

    /// In words, for the report.
    pub fn describe(&self) -> String {
        let policy = if self.policy == Policy::WeightedRoundRobin {
            let w: Vec<String> = self.weights.iter().map(u32::to_string).collect();
            format!(
                "{} {}{}",
                self.policy.name(),
                w.join(":"),
                if self.naive_weights {
                    " (naive weights bug)"
                } else {
                    ""
                }
            )
        } else {
            self.policy.name().to_string()
        };
        let mut s = format!(
            "{} -> {policy} -> {} backend{} ({} worker{} each, {}, {} queue of at most {})",
            self.arrivals.describe(),
            self.backends,
            if self.backends == 1 { "" } else { "s" },
            self.backend[0].workers,
            if self.backend[0].workers == 1 {
                ""
            } else {
                "s"
            },
            self.service.describe(),
            self.backend[0].discipline.name(),
            self.backend[0].queue_limit,
        );
        for (b, f) in self.slowdown.iter().enumerate() {
            if *f != 1.0 {
                s.push_str(&format!(", n{} {f}x slower", b + 2));
            }
        }
        if let Some(h) = self.health_check {
            s.push_str(&format!(
                ", health check every {} ({} down, {} up)",
                fmt_duration(h.interval),
                h.unhealthy_threshold,
                h.healthy_threshold
            ));
        }
        if let Some(o) = self.outlier {
            s.push_str(&format!(
                ", ejection after {} failures for {}",
                o.consecutive_failures,
                fmt_duration(o.ejection_time)
            ));
        }
        s
    }
}
