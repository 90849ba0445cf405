//! # Event sourcing and CQRS: a read model that lags
//!
//! With event sourcing, the write side keeps no table of current state:
//! it appends events to a log, and the log is the truth. With CQRS
//! (command-query responsibility segregation), reads are served from a
//! separate *read model* that a projector builds from those events
//! (Fowler, "CQRS" and "Event Sourcing"; Young, "CQRS Documents"). What
//! that buys: reads shaped for the reader, scaled apart from writes, and a
//! read model that can be thrown away and rebuilt by replaying the log.
//! What it gives up: the read model trails the log, so a client that
//! writes and then reads the read model may not see its own write.
//!
//! Here `n1` is the event store (the write side: it appends and numbers
//! events, version 1, 2, ...), `n2` the projector with its read model (it
//! fetches new events every `batch_interval` and applies them one at a
//! time, `processing_time` each), and `n3..` clients that write a random
//! key, read it back, and think for `think_time`. With `read =
//! "read-model"` the read is answered at once: a *read-your-writes miss*
//! when the key's version is older than the write's. With `read =
//! "wait-for-version"` the read names the write's version and the
//! projector holds it until the model has it: no miss, and the wait is
//! the read's latency.
//!
//! At the end the report replays the store's whole log from version 1 into
//! a fresh read model ([`store::project`]) and compares it with the live
//! one, row by row and by hash. A projection that depends only on the
//! events gives the same model; the bug flag
//! `projection_uses_arrival_time` stamps each row with the time the
//! projector applied it, something outside the events, and the rebuild
//! differs. The store and the projector keep their state in memory and are
//! never crashed: a scenario whose `[[faults]]` or nemesis could crash them
//! is refused (a crash the TUI injects is flagged in the report).

mod client;
mod params;
mod projector;
pub mod store;
#[cfg(test)]
mod tests;

pub use client::{Client, BUCKET};
pub use params::{Config, Params, ReadFrom, MAX_KEYS};
pub use projector::Projector;
pub use store::{Model, Row, Store};

use std::sync::Arc;

use sim::metric::{Figure, Metric, Metrics, Unit};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol};
use sim::time::Nanos;

pub const ROLES: &[&str] = &["store", "projector", "client"];

/// The event store is `n1`, the projector `n2`, the clients `n3..`.
pub const STORE: NodeId = NodeId(0);
pub const PROJECTOR: NodeId = NodeId(1);

/// One event: its version in the log, the key it sets, the value, and the
/// write side's time of the append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub version: u64,
    pub key: u32,
    pub value: i64,
    pub at: Nanos,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Client -> store.
        Append { req: u64, key: u32, value: i64 },
        Appended { req: u64, version: u64 },
        /// Projector -> store: events from this version on.
        Fetch { from: u64 },
        Events { events: Vec<Event> },
        /// Client -> projector; `min_version` 0 reads the model as it is.
        Read { req: u64, key: u32, min_version: u64 },
        ReadReply { req: u64, value: Option<i64>, key_version: u64, model_version: u64 },
    }
}

sim::node_enum! {
    /// A node of the CQRS system.
    pub enum CqrsNode: Msg {
        Store(Store) { role: |_| "store", get as_store },
        Projector(Projector) { role: |_| "projector", start, get as_projector },
        Client(Client) { role: |_| "client", start, get as_client },
    }
}

/// The figures of the report, in the order it prints them.
pub const METRICS: &[Figure] = &[
    Figure::text("cqrs"),
    Figure::count("writes"),
    Figure::count("reads"),
    Figure::count("read-your-writes misses"),
    Figure::count("writes timed out"),
    Figure::count("reads timed out"),
    Figure::count("open at the end"),
    Figure::ratio("miss ratio"),
    Figure::number("versions behind mean"),
    Figure::count("versions behind max"),
    Figure::duration("read model lag p50"),
    Figure::duration("read model lag max"),
    Figure::duration("read latency p50"),
    Figure::duration("read latency p99"),
    Figure::series("read model lag over time"),
    Figure::series("misses over time"),
    Figure::text("rebuild"),
    Figure::count("rebuild differences"),
];

/// The CQRS protocol: the event store, the projector, the clients.
#[derive(Clone, Debug)]
pub struct Cqrs {
    pub config: Arc<Config>,
    /// Crashes of the store or the projector: a scenario cannot ask for
    /// one, but the TUI can inject it, and the figures do not hold after.
    pub core_crashes: u64,
}

impl Protocol for Cqrs {
    type Node = CqrsNode;

    fn build(&self, id: NodeId, _cluster: &Cluster, _disk: &Disk) -> CqrsNode {
        match id {
            STORE => CqrsNode::Store(Store::default()),
            PROJECTOR => CqrsNode::Projector(Projector::new(self.config.clone())),
            _ => CqrsNode::Client(Client::new(self.config.clone(), u64::from(id.0))),
        }
    }

    fn crashed(&mut self, id: NodeId, _last: &CqrsNode) {
        if id == STORE || id == PROJECTOR {
            self.core_crashes += 1;
        }
    }

    fn metrics(&self, nodes: &NodeTable<CqrsNode>, out: &mut Metrics) {
        if self.core_crashes > 0 {
            out.text(
                "cqrs",
                format!(
                    "{}; NOT JUDGED: the store or the projector crashed {} time(s) (injected), their state is in memory and the figures assume they stay up",
                    self.config.describe(),
                    self.core_crashes
                ),
            );
        } else {
            out.text("cqrs", self.config.describe());
        }
        let up = |i: usize| nodes.get(i).and_then(Option::as_ref);
        let (Some(store), Some(proj)) = (
            up(0).and_then(CqrsNode::as_store),
            up(1).and_then(CqrsNode::as_projector),
        ) else {
            out.none(
                "writes",
                "none: the store or the projector is down at the end",
            );
            return;
        };
        let clients: Vec<&Client> = nodes
            .iter()
            .flatten()
            .filter_map(CqrsNode::as_client)
            .collect();
        let reads: u64 = clients.iter().map(|c| c.reads).sum();
        let misses: u64 = clients.iter().map(|c| c.misses).sum();
        out.count("writes", store.log.len() as u64)
            .note("events in the store's log");
        out.count("reads", reads)
            .note("each right after its client's write");
        out.count("read-your-writes misses", misses)
            .note("reads that returned an older version of the key than the client's own write");
        out.count(
            "writes timed out",
            clients.iter().map(|c| c.writes_timed_out).sum(),
        )
        .note("given up after client_timeout: a lost append or answer");
        out.count(
            "reads timed out",
            clients.iter().map(|c| c.reads_timed_out).sum(),
        )
        .note("given up after client_timeout: a lost read or answer, or a wait too long");
        let open_writes = clients.iter().filter(|c| c.open_at_end().0).count() as u64;
        let open_reads = clients.iter().filter(|c| c.open_at_end().1).count() as u64;
        out.count("open at the end", open_writes + open_reads)
            .note(format!(
                "{open_writes} write(s) and {open_reads} read(s) still waiting; {} read(s) parked at the projector",
                proj.parked()
            ));
        if reads > 0 {
            out.ratio("miss ratio", misses as f64 / reads as f64)
                .decimals(1);
        }
        if misses > 0 {
            let sum: u64 = clients.iter().map(|c| c.behind_sum).sum();
            out.number("versions behind mean", sum as f64 / misses as f64)
                .decimals(1)
                .note("the write's version minus the model's, over the misses");
            out.count(
                "versions behind max",
                clients.iter().map(|c| c.behind_max).max().unwrap_or(0),
            );
        }
        let mut lags: Vec<Nanos> = proj.lags.iter().map(|&(_, l)| l).collect();
        lags.sort_unstable();
        if let (Some(&max), false) = (lags.last(), lags.is_empty()) {
            out.duration("read model lag p50", quantile(&lags, 0.5))
                .note("from an event's append to its projection");
            out.duration("read model lag max", max);
        }
        let mut lat: Vec<Nanos> = clients
            .iter()
            .flat_map(|c| c.latencies.iter().copied())
            .collect();
        lat.sort_unstable();
        if !lat.is_empty() {
            out.duration("read latency p50", quantile(&lat, 0.5));
            out.duration("read latency p99", quantile(&lat, 0.99));
        }
        let buckets = (self.config.end / BUCKET + 1) as usize;
        let mut lag_series = vec![0.0f64; buckets];
        for &(at, lag) in &proj.lags {
            let b = ((at / BUCKET) as usize).min(buckets - 1);
            lag_series[b] = lag_series[b].max((lag as f64 / 1e5).round() / 10.0);
        }
        out.add(
            Metric::series(
                "read model lag over time",
                Unit::Number,
                lag_series
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (i as Nanos * BUCKET, v))
                    .collect(),
            )
            .lead("ms, the most of the events applied in each 500ms from 0s:"),
        );
        let mut miss_series = vec![0u64; buckets];
        for c in &clients {
            for (i, &n) in c.misses_series.iter().enumerate() {
                miss_series[i.min(buckets - 1)] += n;
            }
        }
        out.add(
            Metric::series(
                "misses over time",
                Unit::Count,
                miss_series
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| (i as Nanos * BUCKET, n as f64))
                    .collect(),
            )
            .lead("read-your-writes misses in each 500ms from 0s:"),
        );
        rebuild(&self.config, store, proj, out);
    }
}

/// Replays the store's log from version 1 into a fresh read model and
/// compares it with the live one.
fn rebuild(c: &Config, store: &Store, proj: &Projector, out: &mut Metrics) {
    if proj.applied != store.log.len() as u64 {
        out.none(
            "rebuild",
            format!(
                "none: the read model has applied {} of {} events at the end (let the run drain after [workload] stop)",
                proj.applied,
                store.log.len()
            ),
        );
        return;
    }
    let mut fresh = Model::new();
    for e in &store.log {
        store::project(&mut fresh, e, c.end, c.projection_uses_arrival_time);
    }
    let keys: std::collections::BTreeSet<u32> =
        fresh.keys().chain(proj.model.keys()).copied().collect();
    let differ = keys
        .iter()
        .filter(|k| fresh.get(k) != proj.model.get(k))
        .count() as u64;
    let (live, replayed) = (store::hash(&proj.model), store::hash(&fresh));
    out.text(
        "rebuild",
        format!(
            "{}: live {live:016x}, replayed {replayed:016x} ({} events)",
            if live == replayed { "equal" } else { "differs" },
            store.log.len()
        ),
    );
    out.count("rebuild differences", differ)
        .note("rows of the replayed model unlike the live one's");
}

/// The `q` quantile of sorted `v` (nearest rank).
fn quantile(v: &[Nanos], q: f64) -> Nanos {
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}
