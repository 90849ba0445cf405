//! The cache's `[system]` parameters: the write policy, eviction, TTLs,
//! stampede protection and the database's speed.

use serde::{Deserialize, Serialize};
use sim::time::{fmt_duration, ms, secs, serde_duration, Nanos};

use super::Eviction;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    CacheAside,
    ReadThrough,
    WriteThrough,
    WriteBack,
    WriteAround,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::CacheAside => "cache-aside",
            Policy::ReadThrough => "read-through",
            Policy::WriteThrough => "write-through",
            Policy::WriteBack => "write-back",
            Policy::WriteAround => "write-around",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stampede {
    None,
    Coalescing,
    EarlyExpiration,
    BackgroundRefresh,
}

impl Stampede {
    pub fn name(self) -> &'static str {
        match self {
            Stampede::None => "none",
            Stampede::Coalescing => "coalescing",
            Stampede::EarlyExpiration => "early-expiration",
            Stampede::BackgroundRefresh => "background-refresh",
        }
    }
}

/// The `[system]` fields of [`Params`] that name a time of the run (not a
/// wait such as `ttl`): each must fall inside the run, and a shrink must not
/// end before it.
pub const RUN_TIMES: &[&str] = &["measure_after"];

/// `[system]` for `protocol = "cache"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub policy: Policy,
    /// Entries each cache node holds.
    pub capacity: usize,
    pub eviction: Eviction,
    /// How long a cached entry lives (absent: until evicted).
    #[serde(with = "serde_duration::option")]
    pub ttl: Option<Nanos>,
    /// Up to this much is added to each entry's TTL, drawn per fill.
    #[serde(with = "serde_duration")]
    pub ttl_jitter: Nanos,
    pub stampede: Stampede,
    /// early-expiration: how eager the early refresh is (1.0 as in the paper).
    pub early_beta: f64,
    /// background-refresh: how long before expiry a read entry is reloaded.
    #[serde(with = "serde_duration")]
    pub refresh_ahead: Nanos,
    /// write-back: how often dirty entries are flushed.
    #[serde(with = "serde_duration")]
    pub flush_interval: Nanos,
    /// write-back: the most dirty entries one flush writes.
    pub batch_size: usize,
    /// The database's time per request.
    #[serde(with = "serde_duration")]
    pub db_service_time: Nanos,
    /// Requests the database queues before it answers "busy".
    pub db_max_queue: usize,
    /// How long a cache waits for the database before it answers "unavailable".
    #[serde(with = "serde_duration")]
    pub db_timeout: Nanos,
    /// Entries in each client's own L1 (0: no L1).
    pub l1_capacity: usize,
    /// How long an L1 entry lives.
    #[serde(with = "serde_duration")]
    pub l1_ttl: Nanos,
    /// cache-aside: a miss hands out a lease, the only permission to fill
    /// the key; a delete revokes it, so a fill that raced a write is refused
    /// (memcache at Facebook, NSDI 2013, §3.2.1).
    pub leases: bool,
    /// How long a lease lasts: a holder that never fills (it crashed, or
    /// its database read failed) blocks other fills of the key that long.
    #[serde(with = "serde_duration")]
    pub lease_ttl: Nanos,
    /// The window over which database requests per second are counted.
    #[serde(with = "serde_duration")]
    pub rate_window: Nanos,
    /// The database's load and latency figures count from this time on, so
    /// that the cold start (every cache empty) can be left out.
    #[serde(with = "serde_duration")]
    pub measure_after: Nanos,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            policy: Policy::CacheAside,
            capacity: 100,
            eviction: Eviction::Lru,
            ttl: None,
            ttl_jitter: 0,
            stampede: Stampede::None,
            early_beta: 1.0,
            refresh_ahead: ms(500),
            flush_interval: secs(1),
            batch_size: 100,
            db_service_time: ms(1),
            db_max_queue: 1000,
            db_timeout: ms(200),
            l1_capacity: 0,
            l1_ttl: secs(1),
            leases: false,
            lease_ttl: secs(2),
            rate_window: ms(100),
            measure_after: 0,
        }
    }
}

/// Refuses a count outside `lo..=hi`, saying what it counts:
/// `capacity = 0: entries per cache, between 1 and 1000000`.
fn check_count(
    field: &'static str,
    value: usize,
    lo: usize,
    hi: usize,
    counts: &str,
) -> Result<(), (&'static str, String)> {
    if (lo..=hi).contains(&value) {
        return Ok(());
    }
    Err((
        field,
        format!("{field} = {value}: {counts}, between {lo} and {hi}"),
    ))
}

impl Params {
    /// Checks the parameters against each other: the field at fault and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        check_count("capacity", self.capacity, 1, 1_000_000, "entries per cache")?;
        if self.ttl == Some(0) {
            return Err((
                "ttl",
                "ttl must be more than 0 (leave it out for entries that never expire)".into(),
            ));
        }
        if self.ttl_jitter > 0 && self.ttl.is_none() {
            return Err((
                "ttl_jitter",
                "ttl_jitter needs a ttl: jitter is added to each entry's ttl".into(),
            ));
        }
        if let Some(ttl) = self.ttl {
            if self.ttl_jitter > ttl {
                return Err((
                    "ttl_jitter",
                    format!(
                        "ttl_jitter = {} is longer than ttl = {}: use at most the ttl",
                        fmt_duration(self.ttl_jitter),
                        fmt_duration(ttl)
                    ),
                ));
            }
        }
        if self.leases && self.policy != Policy::CacheAside {
            return Err((
                "leases",
                format!(
                    "leases guard cache-aside's fill; with policy \"{}\" the cache fills itself (remove leases, or use policy \"cache-aside\")",
                    self.policy.name()
                ),
            ));
        }
        if self.leases && self.lease_ttl == 0 {
            return Err(("lease_ttl", "lease_ttl must be more than 0".into()));
        }
        if self.stampede != Stampede::None && self.policy == Policy::CacheAside {
            return Err((
                "stampede",
                format!(
                    "stampede = \"{}\" needs a cache that loads from the database itself: policy \"read-through\", \"write-through\", \"write-back\" or \"write-around\" (with cache-aside the application loads, so use \"none\")",
                    self.stampede.name()
                ),
            ));
        }
        if matches!(
            self.stampede,
            Stampede::EarlyExpiration | Stampede::BackgroundRefresh
        ) && self.ttl.is_none()
        {
            return Err((
                "stampede",
                format!(
                    "stampede = \"{}\" refreshes entries before they expire, so it needs a ttl",
                    self.stampede.name()
                ),
            ));
        }
        if self.stampede == Stampede::BackgroundRefresh
            && self
                .ttl
                .is_some_and(|t| self.refresh_ahead == 0 || self.refresh_ahead >= t)
        {
            return Err((
                "refresh_ahead",
                format!(
                    "refresh_ahead = {} must be above 0 and shorter than ttl = {}",
                    fmt_duration(self.refresh_ahead),
                    fmt_duration(self.ttl.unwrap_or(0))
                ),
            ));
        }
        if !(self.early_beta > 0.0 && self.early_beta <= 100.0) {
            return Err((
                "early_beta",
                format!(
                    "early_beta = {}: must be above 0 and at most 100 (1.0 is the paper's choice)",
                    self.early_beta
                ),
            ));
        }
        check_count(
            "batch_size",
            self.batch_size,
            1,
            100_000,
            "dirty entries per flush",
        )?;
        crate::check_period("flush_interval", self.flush_interval, "", "100ms")?;
        if self.db_service_time > secs(10) {
            return Err((
                "db_service_time",
                "db_service_time must be at most \"10s\"".into(),
            ));
        }
        if self.db_max_queue == 0 {
            return Err(("db_max_queue", "db_max_queue must be at least 1".into()));
        }
        if self.db_timeout == 0 {
            return Err(("db_timeout", "db_timeout must be more than 0".into()));
        }
        if self.l1_capacity > 1_000_000 {
            return Err((
                "l1_capacity",
                format!(
                    "l1_capacity = {}: between 0 (no L1) and 1000000",
                    self.l1_capacity
                ),
            ));
        }
        if self.l1_capacity > 0 && self.l1_ttl == 0 {
            return Err(("l1_ttl", "l1_ttl must be more than 0".into()));
        }
        crate::check_period("rate_window", self.rate_window, "", "100ms")?;
        // The peak and the per-second series are read as requests per
        // second: a window must tile a second exactly.
        if secs(1) % self.rate_window != 0 {
            return Err((
                "rate_window",
                format!(
                    "rate_window = \"{}\" must divide 1s evenly (such as \"10ms\", \"100ms\", \"250ms\" or \"1s\")",
                    fmt_duration(self.rate_window)
                ),
            ));
        }
        if self.measure_after % self.rate_window != 0 {
            return Err((
                "measure_after",
                format!(
                    "measure_after = \"{}\" must be a whole number of rate_window (\"{}\")",
                    fmt_duration(self.measure_after),
                    fmt_duration(self.rate_window)
                ),
            ));
        }
        Ok(())
    }

    /// Whether the cache itself loads misses from the database.
    pub fn cache_loads(&self) -> bool {
        self.policy != Policy::CacheAside
    }
}
