//! The cache's figures in the run report.

use std::collections::{BTreeMap, BTreeSet};

use sim::history::Value;
use sim::metric::{Metric, Unit};
use sim::protocol::NodeTable;
use sim::time::{fmt_duration, secs, Nanos};

use super::{Cache, CacheNode, CacheServer, Client, Policy, DB};

impl Cache {
    /// The shared cache servers that are up (the nodes after the database).
    fn cache_servers<'a>(
        &self,
        nodes: &'a NodeTable<CacheNode>,
    ) -> impl Iterator<Item = &'a CacheServer> + 'a {
        nodes
            .iter()
            .skip(1)
            .take(self.caches)
            .filter_map(|n| match n {
                Some(CacheNode::Cache(s)) => Some(s),
                _ => None,
            })
    }

    /// The report's figures: the set-up, hit ratios, the database's load,
    /// what crashes lost.
    pub(super) fn report(&self, nodes: &NodeTable<CacheNode>, out: &mut Vec<Metric>) {
        let p = &self.params;
        let m = &self.meter;
        out.push(Metric::text(
            "cache",
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
        out.push(Metric::ratio_of("hit ratio", l1 + hit, reads).note(format!(
            "of {reads} reads answered without the database (L1 {l1}, cache {hit}, database {db})"
        )));

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
        let lookups = total.hits + total.misses;
        out.push(
            Metric::ratio_of("cache hit ratio", total.hits, lookups).note(format!(
                "of {lookups} lookups in the shared caches ({} expired on lookup)",
                total.expired
            )),
        );
        let held: usize = self.cache_servers(nodes).map(|s| s.store().len()).sum();
        out.push(Metric::count("entries", held as u64).note(format!(
            "at the end (capacity {} each): {}",
            p.capacity,
            entries.join(", ")
        )));
        out.push(
            Metric::count("evictions", total.evictions)
                .note(format!("({} policy)", p.eviction.name())),
        );
        out.push(Metric::count("stampede", total.loads).note(format!(
            "database loads by the caches; {} misses coalesced, {} early refreshes, {} background refreshes",
            total.coalesced, total.early_refreshes, total.background_refreshes
        )));
        out.push(
            Metric::count("cache unavailable answers", total.unavailable).note(format!(
                "(the database did not answer in {} or was busy)",
                fmt_duration(p.db_timeout)
            )),
        );
        if p.leases {
            out.push(
                Metric::count("lease fills refused", total.fills_refused)
                    .note("(fills whose lease a delete had revoked: stale values kept out)"),
            );
        }
        if p.policy == Policy::WriteBack {
            let live_dirty: usize = self
                .cache_servers(nodes)
                .map(|s| s.store().dirty_len())
                .sum();
            out.push(
                Metric::count("dirty entries", live_dirty as u64).note(format!(
                    "not yet flushed at the end (peak {}); {} flush batches wrote {} entries",
                    m.dirty_peak, total.flushes, total.flushed
                )),
            );
            out.push(
                Metric::count("dirty entries lost in crashes", m.dirty_lost).note(format!(
                    "(in {} cache crash{})",
                    m.crashes,
                    if m.crashes == 1 { "" } else { "es" }
                )),
            );
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
        out.push(
            Metric::rate("db requests/s peak", peak as f64 / window_s)
                .decimals(0)
                .note(format!(
                    "(in the {} window from {}{since})",
                    fmt_duration(p.rate_window),
                    fmt_duration(peak_i as Nanos * p.rate_window)
                )),
        );
        out.push(
            Metric::rate("db requests/s mean", total_db as f64 / span_s).note(format!(
                "({total_db} requests in {}{since})",
                fmt_duration(span)
            )),
        );
        // Requests per second, one point per second of the run (quiet
        // seconds included, at its end too); the report prints the first 60.
        let run_seconds = self.duration.max(m.now).div_ceil(secs(1));
        let points = (0..run_seconds)
            .map(|i| {
                let n = m.seconds.get(i as usize).copied().unwrap_or(0);
                (i * secs(1), n as f64)
            })
            .collect();
        out.push(
            Metric::series("db requests per second over time", Unit::Rate, points).lead("from 0s:"),
        );
        match &nodes[DB.index()] {
            Some(CacheNode::Database(d)) => {
                let s = &d.stats;
                let since = if p.measure_after > 0 {
                    format!(", from {}", fmt_duration(p.measure_after))
                } else {
                    String::new()
                };
                out.push(
                    Metric::count("db queue peak", s.queue_peak as u64).note(format!(
                        "requests (service time {}, {} refused as busy{since})",
                        fmt_duration(p.db_service_time),
                        s.rejected_measured
                    )),
                );
                out.push(
                    Metric::duration("db latency max", s.latency_max).note(format!(
                        "(arrival to answer{since}; mean over the whole run {})",
                        fmt_duration(if s.served > 0 {
                            (s.latency_total / u128::from(s.served)) as Nanos
                        } else {
                            0
                        })
                    )),
                );
            }
            _ => out.push(Metric::none(
                "db queue peak",
                "the database is down at the end",
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
                    let dirty_somewhere = self.cache_servers(nodes).any(|s| s.holds_dirty(key, *v));
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
            out.push(Metric::count("acked writes not in db", lost).note(format!(
                "of {acked} acknowledged writes never reached the database ({pending} more still dirty in a cache); \
                 the history's `lost writes` below counts only acknowledged writes that later reads missed"
            )));

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
                let pending = ws
                    .iter()
                    .any(|(v, _, _)| self.cache_servers(nodes).any(|s| s.holds_dirty(key, *v)));
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
            out.push(
                Metric::count("acked writes overwritten", overwritten).note(format!(
                    "acknowledged writes reached the database but an older write's value is its final value (on {} key{})",
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" }
                )),
            );
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
            out.push(
                Metric::duration(format!("{what} latency p99"), at(0.99)).note(format!(
                    "(p50 {}, max {}; {} ok {what}s)",
                    fmt_duration(at(0.5)),
                    fmt_duration(all.last().copied().unwrap_or(0)),
                    all.len()
                )),
            );
        }
        if p.l1_capacity > 0 {
            out.push(Metric::ratio_of("L1 hit ratio", l1, reads).note(format!("of {reads} reads")));
        }
    }
}
