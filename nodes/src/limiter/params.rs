//! `[system]` for `protocol = "limiter"`, and its checked form.

use serde::Deserialize;
use sim::arrivals::{Arrivals, ArrivalsSpec};
use sim::time::{fmt_duration, secs, Nanos};

/// The most limiter nodes: a scenario has at most 128 servers, one of them
/// the counter, and every limiter needs a source of its own.
pub const MAX_LIMITERS: u32 = 63;
/// The largest limit per window: the sliding log keeps one entry per
/// request allowed in the window, and the report one time per request
/// allowed in the run.
pub const MAX_LIMIT: u64 = 1_000_000;

/// How one limiter (or the central counter) decides.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// A bucket of `burst` tokens refilled at `limit` per `window`; a
    /// request takes one or is refused.
    #[default]
    TokenBucket,
    /// A queue of at most `burst` requests drained at `limit` per `window`:
    /// requests wait their turn, a full queue refuses.
    LeakyBucket,
    /// At most `limit` per aligned window `[k·window, (k+1)·window)`.
    FixedWindow,
    /// At most `limit` allowed in the `window` before each request.
    SlidingLog,
    /// The fixed windows' counts, the previous one weighted by how much of
    /// it the sliding window still covers.
    SlidingWindow,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::TokenBucket => "token_bucket",
            Algorithm::LeakyBucket => "leaky_bucket",
            Algorithm::FixedWindow => "fixed_window",
            Algorithm::SlidingLog => "sliding_log",
            Algorithm::SlidingWindow => "sliding_window",
        }
    }
}

/// Where the limit is enforced.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Each limiter enforces the whole limit on what it sees.
    #[default]
    Local,
    /// Each limiter asks the counter `n1` about every request.
    Central,
    /// Each limiter counts its own requests per fixed window and tells the
    /// others its count every `sync_interval`.
    Synced,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Local => "local",
            Mode::Central => "central",
            Mode::Synced => "synced",
        }
    }
}

/// What a limiter does with a request when the counter does not answer.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Allow it: the service stays available, the limit is not kept.
    #[default]
    Open,
    /// Refuse it: the limit is kept, the service is not available.
    Closed,
}

/// `[system]` for `protocol = "limiter"`, as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub algorithm: Algorithm,
    /// Requests allowed per `window`, for the whole system.
    pub limit: u64,
    #[serde(with = "sim::time::serde_duration")]
    pub window: Nanos,
    /// The token bucket's capacity, or the leaky bucket's queue (unset:
    /// `limit`).
    pub burst: Option<u64>,
    pub mode: Mode,
    /// Limiter nodes `n2..n(limiters+1)`; the servers after them are the
    /// sources (at least one per limiter), source `k` sending to limiter
    /// `k mod limiters`.
    pub limiters: u32,
    /// The whole load, split evenly between the sources.
    pub arrivals: ArrivalsSpec,
    /// `central` only (unset: 50ms): how long a limiter waits for the
    /// counter.
    #[serde(with = "sim::time::serde_duration::option")]
    pub counter_timeout: Option<Nanos>,
    /// `central` only (unset: `"open"`): allow (`"open"`) or refuse
    /// (`"closed"`) a request the counter did not answer.
    pub fail: Option<Failure>,
    /// `synced` only (unset: 100ms): how often each limiter sends its
    /// count to the others.
    #[serde(with = "sim::time::serde_duration::option")]
    pub sync_interval: Option<Nanos>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            algorithm: Algorithm::TokenBucket,
            limit: 100,
            window: secs(1),
            burst: None,
            mode: Mode::Local,
            limiters: 1,
            arrivals: ArrivalsSpec {
                rate: Some(200.0),
                ..ArrivalsSpec::default()
            },
            counter_timeout: None,
            fail: None,
            sync_interval: None,
        }
    }
}

/// The parameters, checked, with the run's times.
#[derive(Clone, Debug)]
pub struct Config {
    pub algorithm: Algorithm,
    pub limit: u64,
    pub window: Nanos,
    pub burst: u64,
    pub mode: Mode,
    pub limiters: usize,
    pub arrivals: Arrivals,
    pub counter_timeout: Nanos,
    pub fail: Failure,
    pub sync_interval: Nanos,
    pub sources: usize,
    pub stop: Nanos,
    pub end: Nanos,
}

type Bad = (&'static str, String);

impl Params {
    /// The checked form, for a scenario of `servers` servers, or
    /// `(field, message)`.
    pub fn check(&self, servers: usize, stop: Nanos, end: Nanos) -> Result<Config, Bad> {
        if self.limiters == 0 || self.limiters > MAX_LIMITERS {
            return Err((
                "limiters",
                format!(
                    "limiters = {}: must be between 1 and {MAX_LIMITERS}, e.g. limiters = 4",
                    self.limiters
                ),
            ));
        }
        let limiters = self.limiters as usize;
        // Each source sends to one limiter, so with fewer sources than
        // limiters some limiters would see nothing and the report would
        // describe N limiters where fewer work.
        if servers < 2 * limiters + 1 {
            return Err((
                "limiters",
                format!(
                    "limiters = {limiters} needs servers = {} or more in [topology] (n1 the counter, n2..n{} the limiters, then at least one source per limiter); it has {servers}",
                    2 * limiters + 1,
                    limiters + 1
                ),
            ));
        }
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err((
                "limit",
                format!(
                    "limit = {}: must be between 1 and {MAX_LIMIT} requests per window, e.g. limit = 100",
                    self.limit
                ),
            ));
        }
        crate::check_period("window", self.window, "", "1s")?;
        let burst = self.burst.unwrap_or(self.limit);
        if burst == 0 || burst > MAX_LIMIT {
            return Err((
                "burst",
                format!(
                    "burst = {burst}: must be between 1 and {MAX_LIMIT} (the token bucket's size or the leaky bucket's queue), e.g. burst = 100"
                ),
            ));
        }
        if self.burst.is_some()
            && !matches!(
                self.algorithm,
                Algorithm::TokenBucket | Algorithm::LeakyBucket
            )
        {
            return Err((
                "burst",
                format!(
                    "burst applies to algorithm = \"token_bucket\" or \"leaky_bucket\" only; this scenario has algorithm = \"{}\"",
                    self.algorithm.name()
                ),
            ));
        }
        match self.mode {
            Mode::Central if self.algorithm == Algorithm::LeakyBucket => {
                return Err((
                    "algorithm",
                    "algorithm = \"leaky_bucket\" delays requests, which the central counter does not model; with mode = \"central\" use \"token_bucket\", \"fixed_window\", \"sliding_log\" or \"sliding_window\"".into(),
                ))
            }
            Mode::Synced if self.algorithm != Algorithm::FixedWindow => {
                return Err((
                    "algorithm",
                    format!(
                        "mode = \"synced\" shares counts per fixed window, so it needs algorithm = \"fixed_window\"; this scenario has \"{}\"",
                        self.algorithm.name()
                    ),
                ))
            }
            _ => {}
        }
        // A field of another mode is refused rather than ignored, as
        // `burst` is with an algorithm that has no bucket: a scenario that
        // sets it expects it to matter.
        for (field, set, mode) in [
            (
                "counter_timeout",
                self.counter_timeout.is_some(),
                Mode::Central,
            ),
            ("fail", self.fail.is_some(), Mode::Central),
            ("sync_interval", self.sync_interval.is_some(), Mode::Synced),
        ] {
            if set && self.mode != mode {
                return Err((
                    field,
                    format!(
                        "{field} applies to mode = \"{}\" only; this scenario has mode = \"{}\"",
                        mode.name(),
                        self.mode.name()
                    ),
                ));
            }
        }
        let counter_timeout = self.counter_timeout.unwrap_or(sim::time::ms(50));
        let sync_interval = self.sync_interval.unwrap_or(sim::time::ms(100));
        crate::check_period("counter_timeout", counter_timeout, "", "50ms")?;
        crate::check_period("sync_interval", sync_interval, "", "100ms")?;
        let arrivals = self
            .arrivals
            .check("arrivals")
            .map_err(|e| ("arrivals", e))?;
        if end / self.window > 1_000_000 {
            return Err((
                "window",
                format!(
                    "window = \"{}\": the run (duration = \"{}\") would hold more than a million windows; make it longer, e.g. window = \"1s\"",
                    fmt_duration(self.window),
                    fmt_duration(end)
                ),
            ));
        }
        Ok(Config {
            algorithm: self.algorithm,
            limit: self.limit,
            window: self.window,
            burst,
            mode: self.mode,
            limiters,
            arrivals,
            counter_timeout,
            fail: self.fail.unwrap_or_default(),
            sync_interval,
            sources: servers - 1 - limiters,
            stop,
            end,
        })
    }
}

impl Config {
    /// In words, for the report.
    pub fn describe(&self) -> String {
        let algo = match self.algorithm {
            Algorithm::TokenBucket => format!("token bucket of {}", self.burst),
            Algorithm::LeakyBucket => format!("leaky bucket, queue of {}", self.burst),
            a => a.name().replace('_', " "),
        };
        let limit = format!("{} per {}", self.limit, fmt_duration(self.window));
        let where_ = match self.mode {
            Mode::Local if self.limiters == 1 => "one limiter".to_string(),
            Mode::Local => format!("{} limiters, each enforcing it locally", self.limiters),
            Mode::Central => format!(
                "{} limiter(s) asking a central counter (timeout {}, fail {})",
                self.limiters,
                fmt_duration(self.counter_timeout),
                match self.fail {
                    Failure::Open => "open",
                    Failure::Closed => "closed",
                }
            ),
            Mode::Synced => format!(
                "{} limiters syncing counts every {}",
                self.limiters,
                fmt_duration(self.sync_interval)
            ),
        };
        format!(
            "{} -> {where_}: {algo}, limit {limit}",
            self.arrivals.describe()
        )
    }
}
