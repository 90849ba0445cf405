//! # Caches in front of a database
//!
//! A database (`n1`) is the source of truth; it serves one request at a time
//! with a fixed service time, so too many requests queue and its latency
//! grows with load. Cache nodes (`n2`, `n3`, ...) hold a bounded number of
//! entries in memory; each client (the application) talks to one cache,
//! client `c{i}` to cache number `i` modulo the number of caches. A cache is
//! fast and forgetful: it loses everything when it crashes, and every cached
//! value is a copy that may fall behind the database.
//!
//! What a cache guarantees depends on the write policy (`policy`):
//! - **cache-aside** (lazy loading; memcached's classic use): the application
//!   reads the cache, and on a miss reads the database and puts the value in
//!   the cache; a write goes to the database and then deletes the cached key.
//!   The fill is a blind `set`, so a read miss that fetched the old value
//!   and a write that deleted the key can interleave (read old, write new,
//!   delete, set old): the cache keeps the old value until its TTL expires.
//!   Nishtala et al., "Scaling Memcache at Facebook" (NSDI 2013) §3.2.1
//!   describe the race and the leases that close it (`leases = true`: a
//!   miss gets a lease to fill the key, a delete revokes it).
//! - **read-through**: the cache loads misses from the database itself; a
//!   write goes through the cache to the database and the cache drops its copy.
//! - **write-through**: a write updates the database and then the cache, and
//!   is acknowledged after both: no acknowledged write is ever only in memory.
//! - **write-back** (write-behind): a write updates the cache only and is
//!   acknowledged at once; dirty entries are flushed to the database every
//!   `flush_interval` in batches of at most `batch_size` (and when evicted).
//!   Fast and cheap for the database, and a cache crash loses every
//!   acknowledged write not yet flushed.
//! - **write-around**: writes go straight to the database, reads load through
//!   the cache, which is not told: its copy stays stale until it expires.
//!
//! Eviction (`eviction`): LRU, LFU, FIFO or random (from the node's seeded
//! stream), plus TTL expiry (`ttl`, with up to `ttl_jitter` added so keys
//! filled together do not expire together). Other caches are never told of
//! a write made through one cache: only the TTL bounds their staleness.
//!
//! When a hot key expires, every request for it misses at once and goes to the
//! database: the thundering herd (or cache stampede). Protections (`stampede`):
//! - **coalescing**: one miss per key goes to the database, the others wait
//!   for its answer (the "single flight" of groupcache);
//! - **early-expiration**: probabilistic early recomputation (Vattani, Chierichetti
//!   and Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB
//!   2015): a hit refreshes the entry early with a probability that rises as
//!   expiry nears, `now - fetch_time * beta * ln(rand) >= expiry`;
//! - **background-refresh**: the cache itself reloads entries that were read
//!   since their last fill `refresh_ahead` before they expire.
//!
//! A client may keep a small L1 of its own (`l1_capacity`, `l1_ttl`): reads
//! it can answer never leave the client, and nobody invalidates it, so what
//! other clients write reaches it only when its entry expires.
//!
//! Modelling choices: a client keeps its own writes in its L1; fills and
//! writes that race inside a cache are ordered by a per-key generation (a fill
//! that may have read the database before a write landed is not installed,
//! and a read after the write does not join it); a write-back cache's flushes
//! carry its write sequence, and the database skips an item older than one it
//! applied from that cache. So stale entries come from cache-aside's blind
//! set and from the caches' ignorance of each other; with two write-back
//! caches the database keeps whichever flush of a key came last, which may be
//! the older write (the report's `acked writes overwritten`).
//! Operations are get, put and delete (a delete writes nil); cas and append
//! are refused when the scenario is read.

mod client;
mod db;
mod server;
pub mod store;
#[cfg(test)]
mod tests;

pub use client::Client;
pub use db::{Database, DbStats};
pub use server::{CacheServer, CacheStats};
pub use store::{Entry, Eviction, Lookup, Store};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sim::client::ClientConfig;
use sim::history::Value;
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol, Violation};
use sim::scenario::{key_span, parse_system, Scenario, ScenarioError};
use sim::time::{fmt_duration, ms, secs, serde_duration, Nanos};

pub const ROLES: &[&str] = &["database", "cache", "client"];

/// The invariants checked as the run goes.
pub const INVARIANTS: &[&str] = &["capacity"];

/// The database is always `n1`.
pub const DB: NodeId = NodeId(0);

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
    pub protocol: String,
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
            protocol: "cache".into(),
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

impl Params {
    /// Checks the parameters against each other: the field at fault and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.capacity == 0 || self.capacity > 1_000_000 {
            return Err((
                "capacity",
                format!(
                    "capacity = {}: entries per cache, between 1 and 1000000",
                    self.capacity
                ),
            ));
        }
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
        if self.batch_size == 0 || self.batch_size > 100_000 {
            return Err((
                "batch_size",
                format!(
                    "batch_size = {}: dirty entries per flush, between 1 and 100000",
                    self.batch_size
                ),
            ));
        }
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
        if !secs(1).is_multiple_of(self.rate_window) {
            return Err((
                "rate_window",
                format!(
                    "rate_window = \"{}\" must divide 1s evenly (such as \"10ms\", \"100ms\", \"250ms\" or \"1s\")",
                    fmt_duration(self.rate_window)
                ),
            ));
        }
        if !self.measure_after.is_multiple_of(self.rate_window) {
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

/// The disk index of a key's row: `k17` is row 17; any other name is hashed.
pub fn key_index(key: &str) -> u64 {
    if let Some(n) = key.strip_prefix('k').and_then(|n| n.parse::<u64>().ok()) {
        return n;
    }
    // FNV-1a, above the range of workload keys.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h | (1 << 63)
}

/// Where a read's value came from, for the hit ratio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The shared cache had it.
    Cache,
    /// The cache (or the application) had to ask the database.
    Database,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        // Client -> cache.
        Get {
            tag: u64,
            key: String,
        },
        Put {
            tag: u64,
            key: String,
            value: Value,
        },
        /// cache-aside: store what the application read from the database
        /// (with `leases`, only under the lease its miss was given).
        Set {
            key: String,
            value: Value,
            lease: Option<u64>,
        },
        /// cache-aside: drop the key after a write.
        Del {
            tag: u64,
            key: String,
        },
        // Cache -> client.
        Value {
            tag: u64,
            value: Value,
            source: Source,
        } as "Loaded" if [Msg::Value { source: Source::Cache, .. } => "Hit"],
        /// cache-aside: not here, ask the database. With `leases`, the first
        /// miss of a key gets a lease to fill it; a delete revokes it.
        Miss {
            tag: u64,
            lease: Option<u64>,
        },
        Written {
            tag: u64,
        },
        Deleted {
            tag: u64,
        },
        /// The cache could not reach the database in time, or it was busy.
        /// `maybe_applied`: a write may still have reached the database.
        Unavailable {
            tag: u64,
            maybe_applied: bool,
        },
        // Client or cache -> database.
        DbRead {
            tag: u64,
            key: String,
        },
        DbWrite {
            tag: u64,
            key: String,
            value: Value,
        },
        DbBatch {
            tag: u64,
            /// Which life of the cache sent it (its write sequence restarts at
            /// each boot).
            boot: u64,
            /// (key, newest value, older write values it absorbed, the write's
            /// sequence number in this cache). The network does not keep order,
            /// and a flush that timed out is sent again, so the database applies
            /// an item only if it is newer than the last one it applied for that
            /// key from that cache.
            items: Vec<(String, Value, Vec<i64>, u64)>,
        },
        // Database -> client or cache.
        DbValue {
            tag: u64,
            value: Value,
        },
        DbDone {
            tag: u64,
        },
        DbBusy {
            tag: u64,
        },
    }
}

/// The cache protocol: builds the database, the caches and the clients, and
/// keeps the figures the report needs across crashes.
pub struct Cache {
    pub params: Arc<Params>,
    pub client: ClientConfig,
    caches: usize,
    /// How long the run lasts: the per-second series covers all of it.
    duration: Nanos,
    meter: Meter,
}

/// What the protocol watches as the run goes.
#[derive(Clone, Debug, Default)]
struct Meter {
    /// Database requests received per `rate_window`, by window index.
    windows: Vec<u64>,
    /// Database requests received per second of the run, by second.
    seconds: Vec<u64>,
    /// The database's `received` counter at its last step (0 after a restart).
    db_seen: u64,
    now: Nanos,
    /// Each cache's figures at its last step; banked when it crashes.
    last: Vec<Option<CacheStats>>,
    banked: CacheStats,
    /// Dirty entries (acknowledged writes only in memory) lost in crashes.
    dirty_lost: u64,
    crashes: u64,
    dirty_peak: usize,
}

impl Cache {
    pub fn new(params: Params, servers: usize, client: ClientConfig, duration: Nanos) -> Cache {
        let caches = servers - 1;
        Cache {
            params: Arc::new(params),
            client,
            caches,
            duration,
            meter: Meter {
                last: vec![None; caches],
                ..Meter::default()
            },
        }
    }
}

/// Reads the parameters from a scenario's `[system]` section.
pub fn from_scenario(s: &Scenario) -> Result<Cache, ScenarioError> {
    let params: Params = parse_system(s)?;
    params.validate().map_err(|(field, message)| {
        // A field the file leaves out (ttl for early expiration, say) has
        // no line of its own: point at the section's protocol line instead.
        let span = key_span(&s.source, "system", field)
            .or_else(|| key_span(&s.source, "system", "protocol"))
            .unwrap_or(0..0);
        ScenarioError::at(&s.file, &s.source, span, format!("[system] {message}"))
    })?;
    if params.measure_after > 0 && params.measure_after >= s.meta.duration {
        let span = key_span(&s.source, "system", "measure_after").unwrap_or(0..0);
        return Err(ScenarioError::at(
            &s.file,
            &s.source,
            span,
            format!(
                "[system] measure_after = \"{}\" must be before the end of the run (duration = \"{}\"): nothing would be measured",
                fmt_duration(params.measure_after),
                fmt_duration(s.meta.duration)
            ),
        ));
    }
    if s.servers() < 2 {
        return Err(ScenarioError::at(
            &s.file,
            &s.source,
            s.topology.servers.span(),
            format!(
                "protocol \"cache\" needs servers = 2 or more: n1 is the database, n2.. are caches; this scenario asks for servers = {}",
                s.servers()
            ),
        ));
    }
    let mix = s.workload.mix.get_ref();
    if mix.cas > 0.0 || mix.append > 0.0 {
        let span = key_span(&s.source, "workload", "mix").unwrap_or(s.workload.mix.span());
        return Err(ScenarioError::at(
            &s.file,
            &s.source,
            span,
            "[workload] mix: protocol \"cache\" serves get, put and delete; set cas and append to 0"
                .to_string(),
        ));
    }
    Ok(Cache::new(
        params,
        s.servers(),
        s.workload.client_config(),
        s.meta.duration,
    ))
}

sim::node_enum! {
    /// The database, a cache, or a client.
    #[allow(clippy::large_enum_variant)]
    pub enum CacheNode: Msg {
        Database(Database) { role: |_| "database" },
        Cache(CacheServer) { role: |_| "cache", start },
        Client(Client) { role: |_| "client", requests, no_sender },
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

impl Protocol for Cache {
    type Node = CacheNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> CacheNode {
        if cluster.is_client(id) {
            let i = cluster.process_of(id) as usize - 1;
            let cache = NodeId(1 + (i % self.caches) as u32);
            CacheNode::Client(Client::new(self.params.clone(), self.client.clone(), cache))
        } else if id == DB {
            CacheNode::Database(Database::recover(&self.params, disk))
        } else {
            CacheNode::Cache(CacheServer::new(self.params.clone(), disk))
        }
    }

    fn invariants(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn check(
        &mut self,
        now: Nanos,
        stepped: NodeId,
        nodes: &NodeTable<CacheNode>,
        out: &mut Vec<Violation>,
    ) {
        let m = &mut self.meter;
        m.now = now;
        // A cache that is gone since its last step, or back in a new life,
        // crashed: what it held dirty is lost, and its counters are banked so
        // the report still sees them.
        for c in 0..self.caches {
            let boot = match &nodes[c + 1] {
                Some(CacheNode::Cache(s)) => Some(s.stats().boot),
                _ => None,
            };
            if m.last[c].as_ref().is_some_and(|l| Some(l.boot) != boot) {
                let last = m.last[c].take().expect("checked");
                m.dirty_lost += last.dirty as u64;
                m.crashes += 1;
                m.banked.add(&last);
            }
        }
        match nodes.get(stepped.index()).and_then(Option::as_ref) {
            Some(CacheNode::Database(d)) => {
                let got = d.stats.received;
                if got < m.db_seen {
                    m.db_seen = 0;
                }
                let w = (now / self.params.rate_window) as usize;
                if m.windows.len() <= w {
                    m.windows.resize(w + 1, 0);
                }
                m.windows[w] += got - m.db_seen;
                let s = (now / secs(1)) as usize;
                if m.seconds.len() <= s {
                    m.seconds.resize(s + 1, 0);
                }
                m.seconds[s] += got - m.db_seen;
                m.db_seen = got;
            }
            Some(CacheNode::Cache(c)) => {
                if c.store().len() > c.store().capacity() {
                    out.push(Violation {
                        invariant: "capacity",
                        detail: format!(
                            "n{} holds {} entries, capacity {}",
                            stepped.0 + 1,
                            c.store().len(),
                            c.store().capacity()
                        ),
                    });
                }
                let stats = c.stats();
                m.dirty_peak = m.dirty_peak.max(stats.dirty);
                m.last[stepped.index() - 1] = Some(stats);
            }
            _ => {}
        }
    }

    fn summary(&self, nodes: &NodeTable<CacheNode>) -> Vec<(String, String)> {
        let p = &self.params;
        let m = &self.meter;
        let mut out = Vec::new();
        out.push((
            "cache".into(),
            format!(
                "{} cache{} of {} entries, {}{}, eviction {}, ttl {}{}, stampede protection {}{}",
                self.caches,
                if self.caches == 1 { "" } else { "s" },
                p.capacity,
                p.policy.name(),
                if p.leases { " with leases" } else { "" },
                p.eviction.name(),
                p.ttl.map_or("none".to_string(), fmt_duration),
                if p.ttl_jitter > 0 {
                    format!(" (+ up to {} jitter)", fmt_duration(p.ttl_jitter))
                } else {
                    String::new()
                },
                p.stampede.name(),
                if p.l1_capacity > 0 {
                    format!(
                        ", L1 of {} entries per client (ttl {})",
                        p.l1_capacity,
                        fmt_duration(p.l1_ttl)
                    )
                } else {
                    String::new()
                },
            ),
        ));

        // Reads by where they were answered, as the clients saw them.
        let clients: Vec<&Client> = nodes
            .iter()
            .filter_map(|n| match n {
                Some(CacheNode::Client(c)) => Some(c),
                _ => None,
            })
            .collect();
        let (mut l1, mut hit, mut db) = (0, 0, 0);
        for c in &clients {
            l1 += c.stats.l1_hits;
            hit += c.stats.cache_hits;
            db += c.stats.db_reads;
        }
        let reads = l1 + hit + db;
        out.push((
            "hit ratio".into(),
            format!(
                "{:.1} percent of {reads} reads answered without the database (L1 {l1}, cache {hit}, database {db})",
                pct(l1 + hit, reads)
            ),
        ));

        // Cache counters: live caches now, crashed ones as they were last seen.
        let mut total = m.banked.clone();
        let mut entries = Vec::new();
        for c in 0..self.caches {
            match &nodes[c + 1] {
                Some(CacheNode::Cache(s)) => {
                    let st = s.stats();
                    entries.push(format!("n{} {}", c + 2, st.entries));
                    total.add(&st);
                }
                _ => entries.push(format!("n{} down", c + 2)),
            }
        }
        out.push((
            "cache hit ratio".into(),
            format!(
                "{:.1} percent of {} lookups in the shared caches ({} expired on lookup)",
                pct(total.hits, total.hits + total.misses),
                total.hits + total.misses,
                total.expired
            ),
        ));
        out.push((
            "entries".into(),
            format!(
                "{} at the end (capacity {} each): {}",
                nodes
                    .iter()
                    .skip(1)
                    .take(self.caches)
                    .map(|n| match n {
                        Some(CacheNode::Cache(s)) => s.store().len(),
                        _ => 0,
                    })
                    .sum::<usize>(),
                p.capacity,
                entries.join(", ")
            ),
        ));
        out.push((
            "evictions".into(),
            format!("{} ({} policy)", total.evictions, p.eviction.name()),
        ));
        out.push((
            "stampede".into(),
            format!(
                "{} database loads by the caches; {} misses coalesced, {} early refreshes, {} background refreshes",
                total.loads, total.coalesced, total.early_refreshes, total.background_refreshes
            ),
        ));
        out.push((
            "cache unavailable answers".into(),
            format!(
                "{} (the database did not answer in {} or was busy)",
                total.unavailable,
                fmt_duration(p.db_timeout)
            ),
        ));
        if p.leases {
            out.push((
                "lease fills refused".into(),
                format!(
                    "{} (fills whose lease a delete had revoked: stale values kept out)",
                    total.fills_refused
                ),
            ));
        }
        if p.policy == Policy::WriteBack {
            let live_dirty: usize = nodes
                .iter()
                .skip(1)
                .take(self.caches)
                .map(|n| match n {
                    Some(CacheNode::Cache(s)) => s.store().dirty_len(),
                    _ => 0,
                })
                .sum();
            out.push((
                "dirty entries".into(),
                format!(
                    "{live_dirty} not yet flushed at the end (peak {}); {} flush batches wrote {} entries",
                    m.dirty_peak, total.flushes, total.flushed
                ),
            ));
            out.push((
                "dirty entries lost in crashes".into(),
                format!(
                    "{} (in {} cache crash{})",
                    m.dirty_lost,
                    m.crashes,
                    if m.crashes == 1 { "" } else { "es" }
                ),
            ));
        }

        // The database's load over time, from `measure_after` on.
        let window_s = p.rate_window as f64 / 1e9;
        let first = (p.measure_after / p.rate_window) as usize;
        let measured = m.windows.get(first..).unwrap_or(&[]);
        let (peak_i, peak) = measured
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
            .map(|(i, c)| (i + first, *c))
            .unwrap_or((first, 0));
        let total_db: u64 = measured.iter().sum();
        // measure_after is a whole number of windows (checked when read).
        let from = first as Nanos * p.rate_window;
        let span = self.duration.max(m.now).saturating_sub(from);
        let span_s = (span as f64 / 1e9).max(window_s);
        let since = if from > 0 {
            format!(", counted from {}", fmt_duration(from))
        } else {
            String::new()
        };
        out.push((
            "db requests/s peak".into(),
            format!(
                "{:.0} (in the {} window from {}{since})",
                peak as f64 / window_s,
                fmt_duration(p.rate_window),
                fmt_duration(peak_i as Nanos * p.rate_window)
            ),
        ));
        out.push((
            "db requests/s mean".into(),
            format!(
                "{:.1} ({total_db} requests in {}{since})",
                total_db as f64 / span_s,
                fmt_duration(span)
            ),
        ));
        // Requests per second, one figure per second of the run (quiet
        // seconds included, at its end too), the first 60 seconds.
        let run_seconds = self.duration.max(m.now).div_ceil(secs(1)) as usize;
        let seconds: Vec<String> = (0..run_seconds.min(60))
            .map(|i| m.seconds.get(i).copied().unwrap_or(0).to_string())
            .collect();
        let more = if run_seconds > 60 { " ..." } else { "" };
        out.push((
            "db requests per second over time".into(),
            format!("from 0s: {}{more}", seconds.join(" ")),
        ));
        match &nodes[DB.index()] {
            Some(CacheNode::Database(d)) => {
                let s = &d.stats;
                let since = if p.measure_after > 0 {
                    format!(", from {}", fmt_duration(p.measure_after))
                } else {
                    String::new()
                };
                out.push((
                    "db queue peak".into(),
                    format!(
                        "{} requests (service time {}, {} refused as busy{since})",
                        s.queue_peak,
                        fmt_duration(p.db_service_time),
                        s.rejected_measured
                    ),
                ));
                out.push((
                    "db latency max".into(),
                    format!(
                        "{} (arrival to answer{since}; mean over the whole run {})",
                        fmt_duration(s.latency_max),
                        fmt_duration(if s.served > 0 {
                            (s.latency_total / u128::from(s.served)) as Nanos
                        } else {
                            0
                        })
                    ),
                ));
            }
            _ => out.push((
                "db queue peak".into(),
                "the database is down at the end".into(),
            )),
        }

        // Acknowledged writes that never reached the database, neither applied
        // nor absorbed by a newer write in a flushed batch. Writes still dirty
        // in a live cache are pending, not lost.
        if let Some(CacheNode::Database(d)) = &nodes[DB.index()] {
            let mut acked = 0u64;
            let mut lost = 0u64;
            let mut pending = 0u64;
            for c in &clients {
                for (key, v) in &c.acked_writes {
                    acked += 1;
                    if d.covers(key, *v) {
                        continue;
                    }
                    let dirty_somewhere =
                        nodes.iter().skip(1).take(self.caches).any(
                            |n| matches!(n, Some(CacheNode::Cache(s)) if s.holds_dirty(key, *v)),
                        );
                    if dirty_somewhere {
                        pending += 1;
                    } else {
                        lost += 1;
                    }
                }
            }
            // Not the history checker's `lost writes` (acknowledged writes
            // that later reads missed): a write the database never got can
            // still be read from the cache, so the two counts differ.
            out.push((
                "acked writes not in db".into(),
                format!(
                    "{lost} of {acked} acknowledged writes never reached the database ({pending} more still dirty in a cache); \
                     the history's `lost writes` below counts only acknowledged writes that later reads missed"
                ),
            ));

            // Reaching the database is not surviving in it. A lost update:
            // the database ends with value V of some key, V's write was
            // acknowledged before another write W to that key was invoked (so
            // W is the newer in real time), and W reached the database too:
            // an older value overwrote it (two write-back caches flushing the
            // same key: the last flush wins). Keys whose final value no
            // acknowledged write names (nil, or a write that timed out) are
            // not judged, nor keys with a write still dirty in a cache (its
            // flush may yet put the newest value back).
            let mut writes: BTreeMap<&str, Vec<(i64, Nanos, Nanos)>> = BTreeMap::new();
            for c in &clients {
                for ((key, v), (invoked, acked)) in c.acked_writes.iter().zip(&c.acked_write_times)
                {
                    writes
                        .entry(key.as_str())
                        .or_default()
                        .push((*v, *invoked, *acked));
                }
            }
            let mut overwritten = 0u64;
            let mut keys = BTreeSet::new();
            for (key, ws) in &writes {
                let Value::Int(last) = d.value(key) else {
                    continue;
                };
                let Some(&(_, _, last_acked)) = ws.iter().find(|(v, _, _)| *v == last) else {
                    continue;
                };
                let pending =
                    ws.iter().any(|(v, _, _)| {
                        nodes.iter().skip(1).take(self.caches).any(
                            |n| matches!(n, Some(CacheNode::Cache(s)) if s.holds_dirty(key, *v)),
                        )
                    });
                if pending {
                    continue;
                }
                let n = ws
                    .iter()
                    .filter(|(v, invoked, _)| *invoked > last_acked && d.covers(key, *v))
                    .count() as u64;
                if n > 0 {
                    overwritten += n;
                    keys.insert(*key);
                }
            }
            out.push((
                "acked writes overwritten".into(),
                format!(
                    "{overwritten} acknowledged writes reached the database but an older write's value is its final value (on {} key{})",
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" }
                ),
            ));
        }
        // Client latency percentiles, reads and writes apart.
        for (what, pick) in [
            (
                "read",
                (|c: &Client| &c.read_latencies) as fn(&Client) -> &Vec<Nanos>,
            ),
            ("write", |c: &Client| &c.write_latencies),
        ] {
            let mut all: Vec<Nanos> = clients
                .iter()
                .flat_map(|c| pick(c).iter().copied())
                .collect();
            all.sort_unstable();
            let at = |q: f64| {
                if all.is_empty() {
                    0
                } else {
                    all[((q * all.len() as f64).ceil() as usize).clamp(1, all.len()) - 1]
                }
            };
            out.push((
                format!("{what} latency p99"),
                format!(
                    "{} (p50 {}, max {}; {} ok {what}s)",
                    fmt_duration(at(0.99)),
                    fmt_duration(at(0.5)),
                    fmt_duration(all.last().copied().unwrap_or(0)),
                    all.len()
                ),
            ));
        }
        if p.l1_capacity > 0 {
            out.push((
                "L1 hit ratio".into(),
                format!("{:.1} percent of {reads} reads", pct(l1, reads)),
            ));
        }
        out
    }
}
