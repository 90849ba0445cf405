//! `[system]` for `protocol = "overload"`, and its checked form.

use serde::Deserialize;
use sim::arrivals::{Arrivals, ArrivalsSpec};
use sim::dist::{Dist, DistSpec};
use sim::time::{fmt_duration, ms, secs, Nanos};

use super::backoff::Backoff;
use super::breaker::BreakerConfig;
use crate::resilience::Discipline;

/// The most operations a `population` may start at once.
pub const MAX_POPULATION: u32 = 100_000;
/// The most workers the service may have (as for `protocol = "queue"`).
pub const MAX_WORKERS: u32 = 10_000;
/// The longest queue it may keep.
pub const MAX_QUEUE: u32 = 10_000_000;
/// The most attempts one operation may make.
pub const MAX_ATTEMPTS: u32 = 10_000;

/// What the service does with a request.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    /// Workers in front of a bounded queue (as in `protocol = "queue"`).
    #[default]
    Queue,
    /// Optimistic concurrency on one key: an attempt reads the key's
    /// version when it arrives, takes a service time, and commits only if
    /// no other attempt committed in between; otherwise it conflicts.
    Occ,
}

/// `retry = { backoff = "full", base = "10ms", cap = "1s", max_attempts = 5 }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySpec {
    pub backoff: Backoff,
    #[serde(with = "sim::time::serde_duration")]
    pub base: Nanos,
    #[serde(with = "sim::time::serde_duration")]
    pub cap: Nanos,
    /// Attempts per operation, the first included (1: never retry).
    pub max_attempts: u32,
}

impl Default for RetrySpec {
    fn default() -> Self {
        RetrySpec {
            backoff: Backoff::Exponential,
            base: ms(100),
            cap: secs(10),
            max_attempts: 3,
        }
    }
}

/// `retry_budget = { ratio = 0.1, max_tokens = 10 }`: every operation's
/// first attempt adds `ratio` of a token, up to `max_tokens`; a retry takes
/// a whole one, and without one the operation fails instead of retrying.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    pub ratio: f64,
    #[serde(default = "ten")]
    pub max_tokens: f64,
}

fn ten() -> f64 {
    10.0
}

/// `breaker = { window = 20, min_calls = 10, failure_rate = 0.5, open_for = "5s", probes = 1 }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSpec {
    pub window: u32,
    pub min_calls: u32,
    pub failure_rate: f64,
    #[serde(with = "sim::time::serde_duration")]
    pub open_for: Nanos,
    pub probes: u32,
    /// Bug flag: clear the failure count on half-open (see `breaker.rs`).
    pub half_open_resets_count: bool,
}

impl Default for BreakerSpec {
    fn default() -> Self {
        BreakerSpec {
            window: 20,
            min_calls: 10,
            failure_rate: 0.5,
            open_for: secs(5),
            probes: 1,
            half_open_resets_count: false,
        }
    }
}

/// `slowdown = { at = "30s", length = "10s", factor = 4 }`: service times
/// drawn in `at..at+length` are `factor` times longer (a capacity drop: a
/// garbage-collection storm, a noisy neighbour, a cold cache).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Slowdown {
    #[serde(with = "sim::time::serde_duration")]
    pub at: Nanos,
    #[serde(with = "sim::time::serde_duration")]
    pub length: Nanos,
    pub factor: f64,
}

/// `window = { from = "60s", to = "120s" }`: where "goodput in window" is measured.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    #[serde(with = "sim::time::serde_duration")]
    pub from: Nanos,
    #[serde(with = "sim::time::serde_duration")]
    pub to: Nanos,
}

/// The most backends a front may call.
pub const MAX_BACKENDS: usize = 8;

/// How a front's workers are pooled.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Pools {
    /// One pool for every backend.
    #[default]
    Shared,
    /// One pool per backend, the workers split evenly: a bulkhead.
    Separate,
}

/// One backend of a front: `{ service = { dist = "constant", value = "5s" },
/// workers = 100, share = 1 }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    pub service: DistSpec,
    #[serde(default = "hundred")]
    pub workers: u32,
    #[serde(default = "ten_thousand")]
    pub queue_limit: u32,
    /// Its part of the operations (shares are weights).
    #[serde(default = "one")]
    pub share: f64,
}

fn hundred() -> u32 {
    100
}

fn ten_thousand() -> u32 {
    10_000
}

fn one() -> f64 {
    1.0
}

/// A backend, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Backend {
    pub service: Dist,
    pub workers: u32,
    pub queue_limit: u32,
    pub share: f64,
}

/// `[system]` for `protocol = "overload"`, as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// When operations start (open loop), split between the callers n2..
    pub arrivals: Option<ArrivalsSpec>,
    /// Or: this many operations, all started at 0s (one each for a
    /// population of callers).
    pub population: u32,
    pub resource: Resource,
    /// How long one attempt keeps a worker (or, for `occ`, how long it holds
    /// its read before it commits).
    pub service: DistSpec,
    pub workers: u32,
    pub queue_limit: u32,
    pub discipline: Discipline,
    /// Drop a request whose deadline has passed when a worker would take it.
    pub drop_expired: bool,
    pub slowdown: Option<Slowdown>,
    /// How long a caller waits for one attempt's answer.
    #[serde(with = "sim::time::serde_duration")]
    pub timeout: Nanos,
    /// The whole operation's deadline, carried with each attempt (the time
    /// left travels with the request); none: each attempt's timeout.
    #[serde(with = "sim::time::serde_duration::option")]
    pub deadline: Option<Nanos>,
    pub retry: RetrySpec,
    pub retry_budget: Option<BudgetSpec>,
    pub breaker: Option<BreakerSpec>,
    pub window: Option<WindowSpec>,
    /// With backends, `n1` is a front that calls them (`n2..`) with its
    /// `workers`, and the callers follow them.
    pub backends: Vec<BackendSpec>,
    pub pools: Pools,
    /// How long the front waits for a backend at most.
    #[serde(with = "sim::time::serde_duration")]
    pub front_timeout: Nanos,
    /// The front passes on the time its caller will still wait, and stops
    /// waiting for the backend when it is up (else it waits `front_timeout`).
    pub propagate_deadline: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            arrivals: None,
            population: 0,
            resource: Resource::Queue,
            service: DistSpec {
                dist: Some("exponential".into()),
                mean: Some(ms(10)),
                ..DistSpec::default()
            },
            workers: 1,
            queue_limit: 10_000,
            discipline: Discipline::Fifo,
            drop_expired: false,
            slowdown: None,
            timeout: secs(1),
            deadline: None,
            retry: RetrySpec::default(),
            retry_budget: None,
            breaker: None,
            window: None,
            backends: Vec::new(),
            pools: Pools::Shared,
            front_timeout: secs(30),
            propagate_deadline: true,
        }
    }
}

/// The retry budget, checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub ratio: f64,
    pub max_tokens: f64,
}

/// The parameters, checked, with the run's times.
#[derive(Clone, Debug)]
pub struct Config {
    pub arrivals: Option<Arrivals>,
    pub population: u32,
    pub resource: Resource,
    pub service: Dist,
    pub workers: u32,
    pub queue_limit: u32,
    pub discipline: Discipline,
    pub drop_expired: bool,
    pub slowdown: Option<Slowdown>,
    pub timeout: Nanos,
    pub deadline: Option<Nanos>,
    pub retry: RetrySpec,
    pub budget: Option<Budget>,
    pub breaker: Option<BreakerConfig>,
    /// The measured window of "goodput in window".
    pub window: (Nanos, Nanos),
    pub backends: Vec<Backend>,
    pub pools: Pools,
    pub front_timeout: Nanos,
    pub propagate_deadline: bool,
    pub stop: Nanos,
    pub end: Nanos,
    /// Callers, servers n2..
    pub callers: usize,
}

type Checked<T> = Result<T, (&'static str, String)>;

fn period(field: &'static str, v: Nanos, example: &str) -> Checked<()> {
    crate::check_period(field, v, "", example)
}

impl Params {
    /// The checked form, or `(field, message)`; `servers` is the number of
    /// servers after `n1` (backends, then callers).
    pub fn check(&self, servers: usize, stop: Nanos, end: Nanos) -> Checked<Config> {
        let backends = self.check_backends()?;
        if servers <= backends.len() {
            return Err((
                "backends",
                format!(
                    "{} backend(s) and {servers} server(s) after n1: the backends are n2..n{}, and at least one caller must follow them; raise [topology] servers to {} or more",
                    backends.len(),
                    backends.len() + 1,
                    backends.len() + 2
                ),
            ));
        }
        let callers = servers - backends.len();
        period("front_timeout", self.front_timeout, "30s")?;
        if self.pools == Pools::Separate
            && (backends.is_empty() || (self.workers as usize) < backends.len())
        {
            return Err((
                "pools",
                format!(
                    "pools = \"separate\" splits the front's workers between its backends: it needs backends, and workers ({}) at least their number ({})",
                    self.workers,
                    backends.len()
                ),
            ));
        }
        let arrivals = match (&self.arrivals, self.population) {
            (Some(a), 0) => Some(a.check("arrivals").map_err(|e| ("arrivals", e))?),
            (None, n) if n > 0 && n <= MAX_POPULATION => None,
            // As for `protocol = "queue"`: Poisson at 50 a second.
            (None, 0) => Some(sim::arrivals::Arrivals::poisson(50.0)),
            (Some(_), _) => {
                return Err(("population", "give arrivals or population, not both".into()))
            }
            (None, n) => {
                return Err((
                    "population",
                    format!("population = {n}: must be at most {MAX_POPULATION}"),
                ))
            }
        };
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
                    "workers = {}: must be between 1 and {}, e.g. workers = 4",
                    self.workers, MAX_WORKERS
                ),
            ));
        }
        if self.queue_limit > MAX_QUEUE {
            return Err((
                "queue_limit",
                format!(
                    "queue_limit = {}: must be at most {}, e.g. queue_limit = 100",
                    self.queue_limit, MAX_QUEUE
                ),
            ));
        }
        if let Some(s) = &self.slowdown {
            if !(s.factor.is_finite() && (0.01..=1000.0).contains(&s.factor)) || s.length == 0 {
                return Err((
                    "slowdown",
                    format!(
                        "slowdown = {{ length = \"{}\", factor = {} }}: length must be more than zero and factor between 0.01 and 1000, e.g. {{ at = \"30s\", length = \"10s\", factor = 4 }}",
                        fmt_duration(s.length),
                        s.factor
                    ),
                ));
            }
        }
        period("timeout", self.timeout, "1s")?;
        if let Some(d) = self.deadline {
            period("deadline", d, "3s")?;
        }
        let r = &self.retry;
        if r.max_attempts == 0 || r.max_attempts > MAX_ATTEMPTS {
            return Err((
                "retry",
                format!(
                    "retry: max_attempts = {}: must be between 1 (never retry) and {MAX_ATTEMPTS}, e.g. max_attempts = 3",
                    r.max_attempts
                ),
            ));
        }
        if r.backoff != Backoff::None {
            period("base", r.base, "100ms").map_err(|(_, m)| ("retry", format!("retry: {m}")))?;
            if r.cap < r.base {
                return Err((
                    "retry",
                    format!(
                        "retry: cap = \"{}\" is below base = \"{}\"",
                        fmt_duration(r.cap),
                        fmt_duration(r.base)
                    ),
                ));
            }
        }
        let budget = match &self.retry_budget {
            None => None,
            Some(b) => {
                let ok = b.ratio.is_finite()
                    && (0.0..=1.0).contains(&b.ratio)
                    && b.max_tokens.is_finite()
                    && (1.0..=1e6).contains(&b.max_tokens);
                if !ok {
                    return Err((
                        "retry_budget",
                        format!(
                            "retry_budget = {{ ratio = {}, max_tokens = {} }}: ratio must be between 0 and 1 and max_tokens between 1 and 1000000, e.g. {{ ratio = 0.1, max_tokens = 10 }}",
                            b.ratio, b.max_tokens
                        ),
                    ));
                }
                Some(Budget {
                    ratio: b.ratio,
                    max_tokens: b.max_tokens,
                })
            }
        };
        let breaker = match &self.breaker {
            None => None,
            Some(b) => {
                let ok = b.window >= 1
                    && b.window <= 100_000
                    && b.min_calls >= 1
                    && b.min_calls <= b.window
                    && b.failure_rate > 0.0
                    && b.failure_rate <= 1.0
                    && b.probes >= 1;
                if !ok {
                    return Err((
                        "breaker",
                        format!(
                            "breaker = {{ window = {}, min_calls = {}, failure_rate = {}, probes = {} }}: need 1 <= min_calls <= window <= 100000, 0 < failure_rate <= 1 and probes >= 1, e.g. {{ window = 20, min_calls = 10, failure_rate = 0.5, open_for = \"5s\", probes = 1 }}",
                            b.window, b.min_calls, b.failure_rate, b.probes
                        ),
                    ));
                }
                period("open_for", b.open_for, "5s")
                    .map_err(|(_, m)| ("breaker", format!("breaker: {m}")))?;
                Some(BreakerConfig {
                    window: b.window,
                    min_calls: b.min_calls,
                    failure_rate: b.failure_rate,
                    open_for: b.open_for,
                    probes: b.probes,
                    half_open_resets_count: b.half_open_resets_count,
                })
            }
        };
        let window = match self.window {
            None => (0, end),
            Some(w) if w.from < w.to && w.to <= end => (w.from, w.to),
            Some(w) => {
                return Err((
                    "window",
                    format!(
                        "window = {{ from = \"{}\", to = \"{}\" }}: from must be before to, and to at most the run's duration \"{}\"",
                        fmt_duration(w.from),
                        fmt_duration(w.to),
                        fmt_duration(end)
                    ),
                ))
            }
        };
        Ok(Config {
            arrivals,
            population: self.population,
            resource: self.resource,
            service,
            workers: self.workers,
            queue_limit: self.queue_limit,
            discipline: self.discipline,
            drop_expired: self.drop_expired,
            slowdown: self.slowdown,
            timeout: self.timeout,
            deadline: self.deadline,
            retry: self.retry.clone(),
            budget,
            breaker,
            window,
            backends,
            pools: self.pools,
            front_timeout: self.front_timeout,
            propagate_deadline: self.propagate_deadline,
            stop,
            end,
            callers,
        })
    }
}

impl Params {
    fn check_backends(&self) -> Checked<Vec<Backend>> {
        if self.backends.len() > MAX_BACKENDS {
            return Err((
                "backends",
                format!("{} backends: at most {MAX_BACKENDS}", self.backends.len()),
            ));
        }
        if !self.backends.is_empty() && self.resource != Resource::Queue {
            return Err((
                "backends",
                "backends call queueing services: remove resource = \"occ\" or the backends".into(),
            ));
        }
        let mut out = Vec::new();
        for (i, b) in self.backends.iter().enumerate() {
            let service = b
                .service
                .check(&format!("backends[{i}].service"))
                .map_err(|e| ("backends", e))?;
            let ok = b.workers >= 1
                && b.workers <= MAX_WORKERS
                && b.queue_limit <= MAX_QUEUE
                && b.share.is_finite()
                && b.share > 0.0
                && service.mean() >= 1_000.0;
            if !ok {
                return Err((
                    "backends",
                    format!(
                        "backends[{i}]: workers = {}, queue_limit = {}, share = {}: need 1 <= workers <= {MAX_WORKERS}, queue_limit <= {MAX_QUEUE}, share > 0 and a mean service time of at least 1us, e.g. {{ service = {{ dist = \"constant\", value = \"10ms\" }}, workers = 100, share = 1 }}",
                        b.workers, b.queue_limit, b.share
                    ),
                ));
            }
            out.push(Backend {
                service,
                workers: b.workers,
                queue_limit: b.queue_limit,
                share: b.share,
            });
        }
        Ok(out)
    }
}

impl Config {
    /// The configuration of backend `i`'s service: this one's, with the
    /// backend's service time, workers and queue.
    pub fn backend(&self, i: usize) -> Config {
        let b = &self.backends[i];
        Config {
            service: b.service.clone(),
            workers: b.workers,
            queue_limit: b.queue_limit,
            discipline: crate::resilience::Discipline::Fifo,
            slowdown: None,
            backends: Vec::new(),
            ..self.clone()
        }
    }

    /// Which backend an operation goes to, for a uniform draw `u` in [0, 1).
    pub fn pick_backend(&self, u: f64) -> u8 {
        let total: f64 = self.backends.iter().map(|b| b.share).sum();
        let mut acc = 0.0;
        for (i, b) in self.backends.iter().enumerate() {
            acc += b.share / total;
            if u < acc {
                return i as u8;
            }
        }
        self.backends.len().saturating_sub(1) as u8
    }

    /// How much longer service times drawn at `now` are.
    pub fn slowdown_at(&self, now: Nanos) -> f64 {
        match self.slowdown {
            Some(s) if now >= s.at && now < s.at + s.length => s.factor,
            _ => 1.0,
        }
    }

    /// In words, for the report.
    pub fn describe(&self) -> String {
        let load = match &self.arrivals {
            Some(a) => a.describe(),
            None => format!("{} operations at 0s", self.population),
        };
        let service = match self.resource {
            Resource::Queue if !self.backends.is_empty() => format!(
                "a front with {} worker{}, {} queue of at most {}{}",
                self.workers,
                if self.workers == 1 { "" } else { "s" },
                self.discipline.name(),
                self.queue_limit,
                if self.drop_expired {
                    ", expired requests dropped"
                } else {
                    ""
                }
            ),
            Resource::Queue => format!(
                "{} worker{}, {}, {} queue of at most {}{}",
                self.workers,
                if self.workers == 1 { "" } else { "s" },
                self.service.describe(),
                self.discipline.name(),
                self.queue_limit,
                if self.drop_expired {
                    ", expired requests dropped"
                } else {
                    ""
                }
            ),
            Resource::Occ => format!(
                "one key under optimistic concurrency, {} from read to commit",
                self.service.describe()
            ),
        };
        let r = &self.retry;
        let retry = if r.max_attempts == 1 {
            "no retries".to_string()
        } else {
            format!(
                "up to {} attempts, {} backoff (base {}, cap {})",
                r.max_attempts,
                r.backoff.name(),
                fmt_duration(r.base),
                fmt_duration(r.cap)
            )
        };
        let mut s = format!(
            "{load} -> {service}; timeout {}, {retry}",
            fmt_duration(self.timeout)
        );
        if let Some(d) = self.deadline {
            s.push_str(&format!(", deadline {}", fmt_duration(d)));
        }
        if let Some(b) = self.budget {
            s.push_str(&format!(
                ", retry budget {:.0}% (at most {} tokens)",
                b.ratio * 100.0,
                b.max_tokens
            ));
        }
        if let Some(b) = &self.breaker {
            s.push_str(&format!(
                ", breaker ({} of the last {} calls failing, at least {}; open {}, {} probe{}{})",
                b.failure_rate,
                b.window,
                b.min_calls,
                fmt_duration(b.open_for),
                b.probes,
                if b.probes == 1 { "" } else { "s" },
                if b.half_open_resets_count {
                    "; bug: half-open resets the count"
                } else {
                    ""
                }
            ));
        }
        if !self.backends.is_empty() {
            let list: Vec<String> = self
                .backends
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    format!(
                        "n{}: {} worker(s), {}, share {}",
                        i + 2,
                        b.workers,
                        b.service.describe(),
                        b.share
                    )
                })
                .collect();
            s.push_str(&format!(
                "; the front ({}) calls backends [{}] from {} worker pool{}",
                if self.propagate_deadline {
                    format!(
                        "passes on the caller's time left, waits at most {}",
                        fmt_duration(self.front_timeout)
                    )
                } else {
                    format!(
                        "waits {} for a backend whatever its caller's time",
                        fmt_duration(self.front_timeout)
                    )
                },
                list.join("; "),
                match self.pools {
                    Pools::Shared => "one shared",
                    Pools::Separate => "separate",
                },
                match self.pools {
                    Pools::Shared => "",
                    Pools::Separate => "s",
                }
            ));
        }
        if let Some(sd) = self.slowdown {
            s.push_str(&format!(
                "; service {}x slower from {} for {}",
                sd.factor,
                fmt_duration(sd.at),
                fmt_duration(sd.length)
            ));
        }
        s
    }
}
