//! `[system]` for `protocol = "queue"`, and its checked form.

use serde::Deserialize;
use sim::arrivals::{Arrivals, ArrivalsSpec};
use sim::dist::{Dist, DistSpec};
use sim::time::{fmt_duration, Nanos};

/// The most workers a service may have: each is a timer and a slot.
pub const MAX_WORKERS: u32 = 10_000;
/// The longest queue a service may keep: every waiting request is held in memory.
pub const MAX_QUEUE: u32 = 10_000_000;

/// Which waiting request a free worker takes.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Discipline {
    /// The oldest: first in, first out.
    #[default]
    Fifo,
    /// The newest: last in, first out. Under overload the newest requests,
    /// whose callers are still waiting, are served, and the old ones (whose
    /// callers have likely given up) wait.
    Lifo,
}

impl Discipline {
    pub fn name(self) -> &'static str {
        match self {
            Discipline::Fifo => "fifo",
            Discipline::Lifo => "lifo",
        }
    }
}

/// `[system]` for `protocol = "queue"`, as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// When requests arrive (open loop): `{ spacing = "poisson", rate = 80 }`.
    pub arrivals: ArrivalsSpec,
    /// How long one request keeps a worker: `{ dist = "exponential", mean = "10ms" }`.
    pub service: DistSpec,
    /// Requests served at once (c).
    pub workers: u32,
    /// Requests that may wait; an arrival that finds it full is refused.
    pub queue_limit: u32,
    pub discipline: Discipline,
    /// Requests that arrive before this are served but not measured: the
    /// queue starts empty, and its first moments are not its steady state.
    #[serde(with = "sim::time::serde_duration")]
    pub warmup: Nanos,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            arrivals: ArrivalsSpec {
                rate: Some(50.0),
                ..ArrivalsSpec::default()
            },
            service: DistSpec {
                dist: Some("exponential".into()),
                mean: Some(sim::time::ms(10)),
                ..DistSpec::default()
            },
            workers: 1,
            queue_limit: 10_000,
            discipline: Discipline::Fifo,
            warmup: 0,
        }
    }
}

/// The parameters, checked, with the run's times.
#[derive(Clone, Debug)]
pub struct Config {
    /// The whole load, before it is split between the sources.
    pub arrivals: Arrivals,
    pub service: Dist,
    pub workers: u32,
    pub queue_limit: u32,
    pub discipline: Discipline,
    pub warmup: Nanos,
    /// When the sources stop sending (`[workload] stop`, else the end).
    pub stop: Nanos,
    /// The end of the run: the measured window is `warmup..end`.
    pub end: Nanos,
    /// How many sources share the load (servers `n2..`).
    pub sources: usize,
}

impl Params {
    /// The checked form, or `(field, message)`.
    pub fn check(
        &self,
        sources: usize,
        stop: Nanos,
        end: Nanos,
    ) -> Result<Config, (&'static str, String)> {
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
        if self.workers == 0 || self.workers > MAX_WORKERS {
            return Err((
                "workers",
                format!(
                    "workers = {}: must be between 1 and {MAX_WORKERS}, e.g. workers = 4",
                    self.workers
                ),
            ));
        }
        if self.queue_limit > MAX_QUEUE {
            return Err((
                "queue_limit",
                format!(
                    "queue_limit = {}: must be at most {MAX_QUEUE} (0 refuses every request that finds all workers busy), e.g. queue_limit = 100",
                    self.queue_limit
                ),
            ));
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
        Ok(Config {
            arrivals,
            service,
            workers: self.workers,
            queue_limit: self.queue_limit,
            discipline: self.discipline,
            warmup: self.warmup,
            stop,
            end,
            sources,
        })
    }
}

impl Config {
    /// The mean time in system queueing theory predicts, in nanoseconds,
    /// and the formula's name, for constant-rate Poisson arrivals at a
    /// utilisation below 1: M/M/c (Erlang C) for exponential service, M/G/1
    /// (Pollaczek-Khinchine) for one worker and any service time with a
    /// finite variance. The queue limit is not in the formulas: the caller
    /// says whether it was ever reached.
    pub fn theory(&self) -> Option<(f64, &'static str)> {
        if self.arrivals.spacing != sim::arrivals::Spacing::Poisson {
            return None;
        }
        let lambda = self.arrivals.constant_rate()?;
        let mean = self.service.mean() / 1e9;
        if self.service.is_exponential() {
            let w = super::theory::mmc_time_in_system(lambda, 1.0 / mean, self.workers)?;
            let name = if self.workers == 1 {
                "M/M/1: 1/(mu - lambda)"
            } else {
                "M/M/c: Erlang C"
            };
            return Some((w * 1e9, name));
        }
        if self.workers != 1 {
            return None;
        }
        let second = self.service.second_moment()? / 1e18;
        let w = super::theory::mg1_time_in_system(lambda, mean, second)?;
        Some((w * 1e9, "M/G/1: Pollaczek-Khinchine"))
    }

    /// The utilisation the load asks for at a constant rate: λ·E[S]/c.
    pub fn offered_utilisation(&self) -> Option<f64> {
        let lambda = self.arrivals.constant_rate()?;
        Some(lambda * self.service.mean() / 1e9 / self.workers as f64)
    }

    /// In words, for the report.
    pub fn describe(&self) -> String {
        let limit = self.queue_limit;
        format!(
            "{} -> {} worker{}, {}, {} queue of at most {limit}",
            self.arrivals.describe(),
            self.workers,
            if self.workers == 1 { "" } else { "s" },
            self.service.describe(),
            self.discipline.name(),
        )
    }
}
