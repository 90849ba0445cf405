//! A cache node: a bounded store in memory in front of the database.
//!
//! With cache-aside it is a passive key-value store (get, set, delete) and
//! the application does the rest. With the other policies it loads misses
//! from the database itself, and applies the write policy.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::Rng;
use sim::history::Value;
use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::store::{Entry, Lookup, Store};
use super::{Msg, Params, Policy, Source, Stampede, DB};

const FLUSH: TimerId = TimerId(1);
const REFRESH: TimerId = TimerId(2);
/// Timer `DB_TIMEOUT + tag` gives up on database request `tag`.
const DB_TIMEOUT: u64 = 16;

/// What the cache's counters say (for the status line and the report).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Misses that found an expired entry.
    pub expired: u64,
    pub evictions: u64,
    /// Reads the cache sent to the database (fills and refreshes).
    pub loads: u64,
    /// Misses that waited for another miss's load instead of sending their own.
    pub coalesced: u64,
    pub early_refreshes: u64,
    pub background_refreshes: u64,
    /// Write-back flush batches acknowledged, and the entries they wrote.
    pub flushes: u64,
    pub flushed: u64,
    /// Answers "unavailable" (database unreachable or busy).
    pub unavailable: u64,
    /// cache-aside with leases: fills refused because their lease was
    /// revoked by a delete (each one a stale value kept out).
    pub fills_refused: u64,
    /// Now: entries held and dirty entries among them.
    pub entries: usize,
    pub dirty: usize,
    /// Which life of the node this is (1 at the first start, +1 per restart).
    pub boot: u64,
}

impl CacheStats {
    /// Adds another cache's counters (the gauges too, as totals).
    pub fn add(&mut self, o: &CacheStats) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.expired += o.expired;
        self.evictions += o.evictions;
        self.loads += o.loads;
        self.coalesced += o.coalesced;
        self.early_refreshes += o.early_refreshes;
        self.background_refreshes += o.background_refreshes;
        self.flushes += o.flushes;
        self.flushed += o.flushed;
        self.unavailable += o.unavailable;
        self.fills_refused += o.fills_refused;
        self.entries += o.entries;
        self.dirty += o.dirty;
    }
}

/// A client waiting for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Waiter {
    client: NodeId,
    tag: u64,
}

#[derive(Clone, Debug)]
enum Pending {
    /// A database read to fill `key`; installed only if no write to the key
    /// happened since it was sent (the generation is unchanged).
    Fill {
        key: String,
        gen: u64,
        waiters: Vec<Waiter>,
        sent: Nanos,
    },
    /// A write through to the database; then the cache installs the value
    /// (write-through) or drops its copy (read-through).
    Write {
        key: String,
        value: Value,
        gen: u64,
        waiter: Waiter,
    },
    /// A write-back flush: (key, write sequence, from an evicted entry);
    /// `regular`: the periodic batch (at most one in flight).
    Flush {
        items: Vec<(String, u64, bool)>,
        regular: bool,
    },
}

/// A dirty entry that was evicted: kept aside (and served) until its flush
/// is acknowledged, so neither the write nor a read of it goes missing.
#[derive(Clone, Debug)]
struct Evicted {
    value: Value,
    absorbed: Vec<i64>,
    seq: u64,
    in_flight: bool,
}

#[derive(Clone, Debug)]
pub struct CacheServer {
    params: Arc<Params>,
    store: Store,
    next_tag: u64,
    pending: BTreeMap<u64, Pending>,
    /// The load in flight for each key (one per key with coalescing, and at
    /// most one early or background refresh at a time).
    fills: BTreeMap<String, u64>,
    /// Per-key write generation: bumped by every write or invalidation.
    gen: BTreeMap<String, u64>,
    write_seq: u64,
    /// A regular flush batch is in flight.
    flushing: bool,
    evicted_dirty: BTreeMap<String, Evicted>,
    /// Background refresh: (when, key), for entries filled with a ttl.
    refresh_due: BTreeSet<(Nanos, String)>,
    refresh_timer: Option<Nanos>,
    /// cache-aside with leases: the outstanding lease per key, and when it
    /// was given (a lease whose holder never came back lapses).
    leases: BTreeMap<String, (u64, Nanos)>,
    next_lease: u64,
    stats: CacheStats,
}

impl CacheServer {
    /// A cache starts empty, and after a crash it is empty again: its disk
    /// holds only how many times it started, so the report can tell lives apart.
    pub fn new(params: Arc<Params>, disk: &Disk) -> CacheServer {
        let boot = disk.get::<u64>(("boot", 0)).copied().unwrap_or(0) + 1;
        CacheServer {
            store: Store::new(params.capacity, params.eviction),
            params,
            next_tag: 0,
            pending: BTreeMap::new(),
            fills: BTreeMap::new(),
            gen: BTreeMap::new(),
            write_seq: 0,
            flushing: false,
            evicted_dirty: BTreeMap::new(),
            refresh_due: BTreeSet::new(),
            refresh_timer: None,
            leases: BTreeMap::new(),
            next_lease: 0,
            stats: CacheStats {
                boot,
                ..CacheStats::default()
            },
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            evictions: self.store.evictions,
            entries: self.store.len(),
            dirty: self.store.dirty_len() + self.evicted_dirty.len(),
            ..self.stats.clone()
        }
    }

    /// Whether write value `v` of `key` is still only in this cache's memory.
    pub fn holds_dirty(&self, key: &str, v: i64) -> bool {
        let is = |value: &Value, absorbed: &[i64]| *value == Value::Int(v) || absorbed.contains(&v);
        self.store
            .peek(key)
            .is_some_and(|e| e.dirty.is_some() && is(&e.value, &e.absorbed))
            || self
                .evicted_dirty
                .get(key)
                .is_some_and(|e| is(&e.value, &e.absorbed))
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        ctx.disk().put(("boot", 0), self.stats.boot);
        ctx.disk().sync();
        if self.params.policy == Policy::WriteBack {
            ctx.set_timer(FLUSH, self.params.flush_interval);
        }
    }

    fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    fn gen_of(&self, key: &str) -> u64 {
        self.gen.get(key).copied().unwrap_or(0)
    }

    fn bump(&mut self, key: &str) {
        *self.gen.entry(key.to_string()).or_default() += 1;
    }

    /// When an entry filled now expires: ttl plus up to ttl_jitter. Expiry,
    /// leases and load times are durations, so they are read on the
    /// monotonic clock (as memcached and Redis do): a step of the wall clock
    /// neither expires every entry at once nor keeps them for ever.
    fn expiry(&self, ctx: &mut Ctx<Msg>) -> Option<Nanos> {
        let ttl = self.params.ttl?;
        let jitter = if self.params.ttl_jitter > 0 {
            ctx.rng().gen_range(0..=self.params.ttl_jitter)
        } else {
            0
        };
        Some(ctx.mono_time() + ttl + jitter)
    }

    /// Sends a database request and arms its timeout.
    fn ask_db(&mut self, ctx: &mut Ctx<Msg>, tag: u64, msg: Msg, pending: Pending) {
        self.pending.insert(tag, pending);
        ctx.send(DB, msg);
        ctx.set_timer(TimerId(DB_TIMEOUT + tag), self.params.db_timeout);
    }

    fn start_fill(&mut self, ctx: &mut Ctx<Msg>, key: &str, waiters: Vec<Waiter>) {
        let tag = self.tag();
        self.stats.loads += 1;
        self.fills.insert(key.to_string(), tag);
        let pending = Pending::Fill {
            key: key.to_string(),
            gen: self.gen_of(key),
            waiters,
            sent: ctx.mono_time(),
        };
        let msg = Msg::DbRead {
            tag,
            key: key.to_string(),
        };
        self.ask_db(ctx, tag, msg, pending);
    }

    /// Stores an entry; a dirty victim is set aside and flushed at once.
    fn install(&mut self, ctx: &mut Ctx<Msg>, key: &str, entry: Entry) {
        let refresh_at = match (self.params.stampede, entry.expires, entry.dirty) {
            (Stampede::BackgroundRefresh, Some(e), None) => {
                Some(e.saturating_sub(self.params.refresh_ahead))
            }
            _ => None,
        };
        if let Some((vkey, victim)) = self.store.insert(key, entry, ctx.rng()) {
            if let Some(seq) = victim.dirty {
                self.evicted_dirty.insert(
                    vkey,
                    Evicted {
                        value: victim.value,
                        absorbed: victim.absorbed,
                        seq,
                        in_flight: false,
                    },
                );
                self.flush(ctx, true);
            }
        }
        if let Some(at) = refresh_at {
            self.refresh_due.insert((at, key.to_string()));
            if self.refresh_timer.is_none_or(|t| at < t) {
                self.refresh_timer = Some(at);
                ctx.set_timer(REFRESH, at.saturating_sub(ctx.mono_time()));
            }
        }
    }

    fn reply(ctx: &mut Ctx<Msg>, w: Waiter, msg: impl FnOnce(u64) -> Msg) {
        ctx.send(w.client, msg(w.tag));
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Get { tag, key } => self.get(ctx, Waiter { client: from, tag }, key),
            Msg::Put { tag, key, value } => self.put(ctx, Waiter { client: from, tag }, key, value),
            Msg::Set { key, value, lease } => {
                // cache-aside's fill. Without leases a blind set, whatever
                // happened since the application read the database: the race.
                if self.params.leases {
                    let held = self.leases.get(&key).map(|(l, _)| *l);
                    if lease.is_none() || held != lease {
                        self.stats.fills_refused += u64::from(lease.is_some());
                        return;
                    }
                    self.leases.remove(&key);
                }
                let entry = Entry::new(value, self.expiry(ctx));
                self.install(ctx, &key, entry);
            }
            Msg::Del { tag, key } => {
                self.leases.remove(&key);
                self.store.remove(&key);
                self.bump(&key);
                ctx.send(from, Msg::Deleted { tag });
            }
            Msg::DbValue { tag, value } => self.loaded(ctx, tag, value),
            Msg::DbDone { tag } => self.written(ctx, tag),
            Msg::DbBusy { tag } => self.failed(ctx, tag, false),
            _ => {}
        }
    }

    fn get(&mut self, ctx: &mut Ctx<Msg>, w: Waiter, key: String) {
        let now = ctx.mono_time();
        if self.store.peek(&key).is_none() {
            // An evicted dirty entry whose flush is in flight is still the
            // newest value this cache has for the key.
            if let Some(e) = self.evicted_dirty.get(&key) {
                self.stats.hits += 1;
                let value = e.value.clone();
                Self::reply(ctx, w, |tag| Msg::Value {
                    tag,
                    value,
                    source: Source::Cache,
                });
                return;
            }
        }
        let early =
            self.params.stampede == Stampede::EarlyExpiration && !self.fills.contains_key(&key);
        let beta = self.params.early_beta;
        let draw: f64 = if early { ctx.rng().gen() } else { 0.0 };
        match self.store.get(&key, now) {
            Lookup::Hit(e) => {
                e.read_since_fill = true;
                let value = e.value.clone();
                // Probabilistic early expiration (XFetch): refresh before
                // expiry with a probability that grows as expiry nears and
                // with how long a load takes. An entry a write installed was
                // never loaded: a load costs at least the service time.
                let fetch_ns = e.fetch_ns.max(self.params.db_service_time).max(1);
                let refresh = early
                    && e.dirty.is_none()
                    && e.expires.is_some_and(|exp| {
                        let head = fetch_ns as f64 * beta * -(1.0 - draw).ln();
                        now as f64 + head >= exp as f64
                    });
                if refresh {
                    self.stats.early_refreshes += 1;
                    self.start_fill(ctx, &key, vec![w]);
                    return;
                }
                self.stats.hits += 1;
                Self::reply(ctx, w, |tag| Msg::Value {
                    tag,
                    value,
                    source: Source::Cache,
                });
            }
            miss => {
                self.stats.misses += 1;
                if miss == Lookup::Expired {
                    self.stats.expired += 1;
                }
                if self.params.policy == Policy::CacheAside {
                    let lease = self.params.leases.then(|| self.lease(&key, now)).flatten();
                    Self::reply(ctx, w, |tag| Msg::Miss { tag, lease });
                    return;
                }
                if self.params.stampede == Stampede::Coalescing {
                    // Join only a load sent since the key's last write: an
                    // older one may have read the database before a write
                    // this reader must see (it was acknowledged already).
                    let now_gen = self.gen_of(&key);
                    if let Some(t) = self.fills.get(&key) {
                        if let Some(Pending::Fill { waiters, gen, .. }) = self.pending.get_mut(t) {
                            if *gen == now_gen {
                                self.stats.coalesced += 1;
                                waiters.push(w);
                                return;
                            }
                        }
                    }
                }
                self.start_fill(ctx, &key, vec![w]);
            }
        }
    }

    /// A lease to fill `key`, unless another miss holds a live one (then
    /// this reader reads the database but does not fill). A lease lapses
    /// after `lease_ttl`, so a holder that vanished does not block the key.
    fn lease(&mut self, key: &str, now: Nanos) -> Option<u64> {
        if let Some((_, given)) = self.leases.get(key) {
            if now.saturating_sub(*given) < self.params.lease_ttl {
                return None;
            }
        }
        self.next_lease += 1;
        self.leases.insert(key.to_string(), (self.next_lease, now));
        Some(self.next_lease)
    }

    fn put(&mut self, ctx: &mut Ctx<Msg>, w: Waiter, key: String, value: Value) {
        self.bump(&key);
        match self.params.policy {
            Policy::WriteBack => {
                self.write_seq += 1;
                let mut absorbed = Vec::new();
                // A newer write supersedes an evicted entry still waiting for
                // its flush: it is absorbed, and only the newest is flushed.
                if let Some(ev) = self.evicted_dirty.remove(&key) {
                    absorbed = ev.absorbed;
                    if let Value::Int(i) = ev.value {
                        absorbed.push(i);
                    }
                }
                if let Some(old) = self.store.peek(&key) {
                    if old.dirty.is_some() {
                        absorbed.extend(old.absorbed.iter().copied());
                        if let Value::Int(i) = old.value {
                            absorbed.push(i);
                        }
                    }
                }
                let mut entry = Entry::new(value, self.expiry(ctx));
                entry.dirty = Some(self.write_seq);
                entry.absorbed = absorbed;
                self.install(ctx, &key, entry);
                Self::reply(ctx, w, |tag| Msg::Written { tag });
            }
            _ => {
                let tag = self.tag();
                let msg = Msg::DbWrite {
                    tag,
                    key: key.clone(),
                    value: value.clone(),
                };
                let pending = Pending::Write {
                    gen: self.gen_of(&key),
                    key,
                    value,
                    waiter: w,
                };
                self.ask_db(ctx, tag, msg, pending);
            }
        }
    }

    fn loaded(&mut self, ctx: &mut Ctx<Msg>, tag: u64, value: Value) {
        let Some(Pending::Fill {
            key,
            gen,
            waiters,
            sent,
        }) = self.pending.remove(&tag)
        else {
            // A late answer to a request that timed out; or not a fill.
            return;
        };
        ctx.cancel_timer(TimerId(DB_TIMEOUT + tag));
        if self.fills.get(&key) == Some(&tag) {
            self.fills.remove(&key);
        }
        if self.gen_of(&key) == gen {
            let mut entry = Entry::new(value.clone(), self.expiry(ctx));
            entry.fetch_ns = ctx.mono_time() - sent;
            self.install(ctx, &key, entry);
        }
        for w in waiters {
            let value = value.clone();
            Self::reply(ctx, w, |tag| Msg::Value {
                tag,
                value,
                source: Source::Database,
            });
        }
    }

    fn written(&mut self, ctx: &mut Ctx<Msg>, tag: u64) {
        let Some(p) = self.pending.remove(&tag) else {
            return;
        };
        ctx.cancel_timer(TimerId(DB_TIMEOUT + tag));
        match p {
            Pending::Write {
                key,
                value,
                gen,
                waiter,
            } => {
                if self.params.policy == Policy::WriteThrough && self.gen_of(&key) == gen {
                    let entry = Entry::new(value, self.expiry(ctx));
                    self.install(ctx, &key, entry);
                    // A load sent while this write was in flight carries its
                    // generation but may have read the database before the
                    // write landed: it still answers its readers, but must
                    // not replace the value just installed.
                    self.bump(&key);
                } else {
                    // read-through drops its copy; so does write-through when
                    // another write to the key overtook this one.
                    self.store.remove(&key);
                    self.bump(&key);
                }
                Self::reply(ctx, waiter, |tag| Msg::Written { tag });
            }
            Pending::Flush { items, regular } => {
                self.stats.flushes += 1;
                self.stats.flushed += items.len() as u64;
                for (key, seq, evicted) in items {
                    if evicted {
                        if self.evicted_dirty.get(&key).is_some_and(|e| e.seq == seq) {
                            self.evicted_dirty.remove(&key);
                        }
                    } else {
                        self.store.mark_clean(&key, seq);
                    }
                }
                if regular {
                    self.flushing = false;
                }
            }
            Pending::Fill { .. } => {}
        }
    }

    /// The database refused (`DbBusy`) or did not answer in time.
    fn failed(&mut self, ctx: &mut Ctx<Msg>, tag: u64, timed_out: bool) {
        let Some(p) = self.pending.remove(&tag) else {
            return;
        };
        ctx.cancel_timer(TimerId(DB_TIMEOUT + tag));
        match p {
            Pending::Fill { key, waiters, .. } => {
                if self.fills.get(&key) == Some(&tag) {
                    self.fills.remove(&key);
                }
                for w in waiters {
                    self.stats.unavailable += 1;
                    Self::reply(ctx, w, |tag| Msg::Unavailable {
                        tag,
                        maybe_applied: false,
                    });
                }
            }
            Pending::Write { waiter, key, .. } => {
                // The database may have applied a write that timed out: the
                // cached copy can no longer be trusted.
                if timed_out {
                    self.store.remove(&key);
                    self.bump(&key);
                }
                self.stats.unavailable += 1;
                Self::reply(ctx, waiter, |tag| Msg::Unavailable {
                    tag,
                    maybe_applied: timed_out,
                });
            }
            Pending::Flush { items, regular } => {
                // The entries stay dirty; the next flush tries again.
                for (key, seq, evicted) in items {
                    if evicted {
                        if let Some(e) = self.evicted_dirty.get_mut(&key) {
                            if e.seq == seq {
                                e.in_flight = false;
                            }
                        }
                    }
                }
                if regular {
                    self.flushing = false;
                }
            }
        }
    }

    /// Write-back: sends dirty entries to the database. `evicted_only`: just
    /// the evicted ones not yet in flight (right after an eviction).
    fn flush(&mut self, ctx: &mut Ctx<Msg>, evicted_only: bool) {
        let mut items = Vec::new();
        let mut batch = Vec::new();
        for (key, e) in self.evicted_dirty.iter_mut() {
            if !e.in_flight && batch.len() < self.params.batch_size {
                e.in_flight = true;
                items.push((key.clone(), e.seq, true));
                batch.push((key.clone(), e.value.clone(), e.absorbed.clone(), e.seq));
            }
        }
        let mut regular = false;
        if !evicted_only && !self.flushing {
            let room = self.params.batch_size - batch.len();
            for (key, value, absorbed, seq) in self.store.oldest_dirty(room) {
                items.push((key.clone(), seq, false));
                batch.push((key, value, absorbed, seq));
            }
            regular = items.iter().any(|(_, _, ev)| !ev);
            self.flushing = regular;
        }
        if items.is_empty() {
            return;
        }
        let tag = self.tag();
        self.ask_db(
            ctx,
            tag,
            Msg::DbBatch {
                tag,
                boot: self.stats.boot,
                items: batch,
            },
            Pending::Flush { items, regular },
        );
    }

    fn refresh(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.mono_time();
        self.refresh_timer = None;
        while let Some((at, key)) = self.refresh_due.first().cloned() {
            if at > now {
                self.refresh_timer = Some(at);
                ctx.set_timer(REFRESH, at - now);
                break;
            }
            self.refresh_due.pop_first();
            // Only the entry this schedule was made for, only if someone read
            // it since it was filled, and only one load at a time.
            let due = self.store.peek(&key).is_some_and(|e| {
                e.read_since_fill
                    && e.dirty.is_none()
                    && e.expires
                        .is_some_and(|x| x.saturating_sub(self.params.refresh_ahead) == at)
            });
            if due && !self.fills.contains_key(&key) {
                self.stats.background_refreshes += 1;
                self.start_fill(ctx, &key, Vec::new());
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            FLUSH => {
                self.flush(ctx, false);
                ctx.set_timer(FLUSH, self.params.flush_interval);
            }
            REFRESH => self.refresh(ctx),
            TimerId(t) if t >= DB_TIMEOUT => self.failed(ctx, t - DB_TIMEOUT, true),
            _ => {}
        }
    }

    pub fn status(&self) -> Status {
        let s = self.stats();
        let lookups = s.hits + s.misses;
        Status {
            role: "cache",
            fields: vec![
                (
                    "entries",
                    format!("{}/{}", self.store.len(), self.store.capacity()),
                ),
                (
                    "hit ratio",
                    if lookups == 0 {
                        "-".into()
                    } else {
                        format!("{:.1}%", 100.0 * s.hits as f64 / lookups as f64)
                    },
                ),
                ("evictions", s.evictions.to_string()),
                ("dirty", s.dirty.to_string()),
                ("loading", self.fills.len().to_string()),
            ],
        }
    }
}
