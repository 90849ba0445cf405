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
mod invariants;
mod meter;
mod msg;
mod node;
mod params;
mod server;
pub mod store;
mod summary;
#[cfg(test)]
mod tests;

pub use client::Client;
pub use db::{Database, DbStats};
pub use invariants::{CACHE_HIT, PROPERTIES};
pub use msg::{Msg, Source};
pub use node::CacheNode;
pub use params::{Params, Policy, Stampede, RUN_TIMES};
pub use server::{CacheServer, CacheStats};
pub use store::{Entry, Eviction, Lookup, Store};

use std::sync::Arc;

use meter::Meter;
use sim::client::ClientConfig;
use sim::metric::Metrics;
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{Findings, NodeTable, Property, Protocol, Step};
use sim::time::Nanos;

pub const ROLES: &[&str] = &["database", "cache", "client"];

/// The database is always `n1`.
pub const DB: NodeId = NodeId(0);

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

/// The cache protocol: builds the database, the caches and the clients, and
/// keeps the figures the report needs across crashes.
#[derive(Clone, Debug)]
pub struct Cache {
    pub params: Arc<Params>,
    pub client: ClientConfig,
    caches: usize,
    /// How long the run lasts: the per-second series covers all of it.
    duration: Nanos,
    meter: Meter,
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

    const PROPERTIES: &'static [Property] = PROPERTIES;

    fn check(&mut self, step: Step<'_, CacheNode>, out: &mut Findings) {
        self.watch(step.now, step.stepped, step.nodes, out.violations_mut());
        if let Some(CacheNode::Cache(c)) = step.node() {
            if c.stats().hits > 0 {
                out.holds(CACHE_HIT, true);
            }
        }
    }

    fn observe(&mut self, step: Step<'_, CacheNode>) {
        self.meter(step.now, step.stepped, step.nodes);
    }

    fn metrics(&self, nodes: &NodeTable<CacheNode>, out: &mut Metrics) {
        self.report(nodes, out)
    }
}
