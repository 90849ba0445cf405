//! The database: the source of truth, one request at a time.
//!
//! Each request costs `db_service_time` of the database's time; requests that
//! arrive while it is busy wait in a FIFO queue (at most `db_max_queue`; past
//! that it answers "busy"). So latency is the service time while the load is
//! light and grows with the queue as the offered load nears the capacity
//! (1 / service time requests per second): the knee every cache exists to keep
//! the database below. Every write is synced to its disk before it is
//! acknowledged, so a database crash loses no acknowledged write.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sim::history::Value;
use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::{fmt_duration, Nanos};

use super::{key_index, Msg, Params};

const SERVICE: TimerId = TimerId(1);

#[derive(Clone, Debug)]
enum Work {
    Read(String),
    Write(String, Value),
    /// (boot, items) of a write-back flush.
    Batch(u64, Vec<(String, Value, Vec<i64>, u64)>),
}

#[derive(Clone, Debug)]
struct Job {
    from: NodeId,
    tag: u64,
    work: Work,
    arrived: Nanos,
}

/// A row on disk: the key, its value, and per write-back cache the newest
/// flushed write applied to it, as (boot, write sequence).
#[derive(Clone, Debug)]
struct Row {
    key: String,
    value: Value,
    flushed: BTreeMap<NodeId, (u64, u64)>,
}

/// On disk, for the lost-write count: write values that reached the
/// database for `key`, applied or absorbed (a write-back cache that
/// overwrote a dirty entry sends the newest value and names the ones it
/// absorbed).
#[derive(Clone, Debug)]
struct Covered {
    key: String,
    values: Vec<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Requests that arrived (the offered load), batches counted once.
    pub received: u64,
    pub served: u64,
    /// Refused because the queue was full.
    pub rejected: u64,
    /// Of those, the ones refused from `measure_after` on.
    pub rejected_measured: u64,
    pub reads: u64,
    pub writes: u64,
    pub batches: u64,
    /// Write-back items not applied because the same cache's newer write
    /// to the key was applied already (a flush overtaken or sent twice).
    pub flush_items_skipped: u64,
    /// The longest queue seen (waiting plus in service), from `measure_after`.
    pub queue_peak: usize,
    /// The longest time a request spent from arrival to answer, counting
    /// requests that arrived from `measure_after` on.
    pub latency_max: Nanos,
    pub latency_total: u128,
}

#[derive(Clone, Debug)]
pub struct Database {
    service_time: Nanos,
    measure_after: Nanos,
    max_queue: usize,
    rows: BTreeMap<String, Value>,
    /// Per key and write-back cache: the newest flushed write applied.
    flushed: BTreeMap<String, BTreeMap<NodeId, (u64, u64)>>,
    covered: BTreeMap<String, BTreeSet<i64>>,
    next_cover: u64,
    queue: VecDeque<Job>,
    busy: bool,
    pub stats: DbStats,
}

impl Database {
    /// Rebuilds the table from the disk (every write was synced).
    pub fn recover(params: &Params, disk: &Disk) -> Database {
        let mut rows = BTreeMap::new();
        let mut flushed = BTreeMap::new();
        for i in disk.indexes("row") {
            if let Some(r) = disk.get::<Row>(("row", i)) {
                rows.insert(r.key.clone(), r.value.clone());
                flushed.insert(r.key.clone(), r.flushed.clone());
            }
        }
        let mut covered: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        let covers = disk.indexes("cover");
        for &i in &covers {
            if let Some(c) = disk.get::<Covered>(("cover", i)) {
                covered
                    .entry(c.key.clone())
                    .or_default()
                    .extend(c.values.iter().copied());
            }
        }
        Database {
            service_time: params.db_service_time,
            measure_after: params.measure_after,
            max_queue: params.db_max_queue,
            rows,
            flushed,
            covered,
            next_cover: covers.last().map_or(0, |i| i + 1),
            queue: VecDeque::new(),
            busy: false,
            stats: DbStats::default(),
        }
    }

    pub fn value(&self, key: &str) -> Value {
        self.rows.get(key).cloned().unwrap_or(Value::Nil)
    }

    /// Whether write value `v` of `key` ever reached the database (applied,
    /// or absorbed by a newer write to the same key in a write-back cache).
    pub fn covers(&self, key: &str, v: i64) -> bool {
        self.covered.get(key).is_some_and(|s| s.contains(&v))
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    fn cost(&self, work: &Work) -> Nanos {
        match work {
            // A batch pays the per-request overhead once and a quarter of it
            // per further row: why write-back batches at all.
            Work::Batch(_, items) => {
                self.service_time + self.service_time / 4 * items.len().saturating_sub(1) as u64
            }
            _ => self.service_time,
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let (tag, work) = match msg {
            Msg::DbRead { tag, key } => (tag, Work::Read(key)),
            Msg::DbWrite { tag, key, value } => (tag, Work::Write(key, value)),
            Msg::DbBatch { tag, boot, items } => (tag, Work::Batch(boot, items)),
            _ => return,
        };
        self.stats.received += 1;
        if self.queue.len() >= self.max_queue {
            self.stats.rejected += 1;
            if ctx.now() >= self.measure_after {
                self.stats.rejected_measured += 1;
            }
            ctx.send(from, Msg::DbBusy { tag });
            return;
        }
        self.queue.push_back(Job {
            from,
            tag,
            work,
            arrived: ctx.now(),
        });
        if ctx.now() >= self.measure_after {
            self.stats.queue_peak = self.stats.queue_peak.max(self.queue.len());
        }
        if !self.busy {
            self.start_next(ctx);
        }
    }

    fn start_next(&mut self, ctx: &mut Ctx<Msg>) {
        if let Some(job) = self.queue.front() {
            self.busy = true;
            let cost = self.cost(&job.work);
            ctx.set_timer(SERVICE, cost);
        } else {
            self.busy = false;
        }
    }

    /// Applies a write, or with `flush = Some((cache, boot, seq))` a
    /// write-back item unless that cache's newer write to the key was
    /// applied already. Either way its values count as covered: they reached
    /// the database, and the newer write that won was acknowledged later.
    fn write(
        &mut self,
        ctx: &mut Ctx<Msg>,
        key: String,
        value: Value,
        absorbed: Vec<i64>,
        flush: Option<(NodeId, u64, u64)>,
    ) {
        let mut values = absorbed;
        if let Value::Int(i) = value {
            values.push(i);
        }
        if !values.is_empty() {
            self.covered
                .entry(key.clone())
                .or_default()
                .extend(values.iter().copied());
            ctx.disk().put(
                ("cover", self.next_cover),
                Covered {
                    key: key.clone(),
                    values,
                },
            );
            self.next_cover += 1;
        }
        let flushed = self.flushed.entry(key.clone()).or_default();
        if let Some((cache, boot, seq)) = flush {
            if flushed.get(&cache).is_some_and(|&last| last >= (boot, seq)) {
                self.stats.flush_items_skipped += 1;
                return;
            }
            flushed.insert(cache, (boot, seq));
        }
        let flushed = flushed.clone();
        self.rows.insert(key.clone(), value.clone());
        ctx.disk().put(
            ("row", key_index(&key)),
            Row {
                key,
                value,
                flushed,
            },
        );
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer != SERVICE {
            return;
        }
        let Some(job) = self.queue.pop_front() else {
            self.busy = false;
            return;
        };
        let reply = match job.work {
            Work::Read(key) => {
                self.stats.reads += 1;
                Msg::DbValue {
                    tag: job.tag,
                    value: self.value(&key),
                }
            }
            Work::Write(key, value) => {
                self.stats.writes += 1;
                self.write(ctx, key, value, Vec::new(), None);
                ctx.disk().sync();
                Msg::DbDone { tag: job.tag }
            }
            Work::Batch(boot, items) => {
                self.stats.batches += 1;
                self.stats.writes += items.len() as u64;
                for (k, v, absorbed, seq) in items {
                    self.write(ctx, k, v, absorbed, Some((job.from, boot, seq)));
                }
                ctx.disk().sync();
                Msg::DbDone { tag: job.tag }
            }
        };
        self.stats.served += 1;
        let took = ctx.now() - job.arrived;
        if job.arrived >= self.measure_after {
            self.stats.latency_max = self.stats.latency_max.max(took);
        }
        self.stats.latency_total += u128::from(took);
        ctx.send(job.from, reply);
        self.start_next(ctx);
    }

    pub fn status(&self) -> Status {
        let mean = if self.stats.served > 0 {
            (self.stats.latency_total / u128::from(self.stats.served)) as Nanos
        } else {
            0
        };
        Status {
            role: "database",
            fields: vec![
                ("queue", self.queue.len().to_string()),
                ("served", self.stats.served.to_string()),
                ("rejected", self.stats.rejected.to_string()),
                ("keys", self.rows.len().to_string()),
                ("latency mean", fmt_duration(mean)),
            ],
        }
    }
}
