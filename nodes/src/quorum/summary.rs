//! The quorum store's lines in the run report.

use std::collections::BTreeMap;

use sim::node::NodeId;
use sim::protocol::NodeTable;
use sim::time::fmt_duration;

use super::{server, Quorum, QuorumNode, ReadRepair, Server, Versioning};
use crate::ring::{self, Ring};

/// A balance figure (max/mean) for this run's vnodes, then for each vnode
/// count in `bal` to compare: `1.23 with 64 vnodes per node (what); 1 vnodes: ...`.
fn balance_line(name: &str, what: &str, vnodes: u32, bal: &[(u32, f64)]) -> (String, String) {
    let here = bal
        .iter()
        .find(|(v, _)| *v == vnodes)
        .map_or(0.0, |(_, r)| *r);
    (
        name.into(),
        format!(
            "{here:.2} with {vnodes} vnodes per node ({what}); {}",
            bal.iter()
                .map(|(v, r)| format!("{v} vnodes: {r:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

impl Quorum {
    /// The report's figures: the configuration, ring balance and movement,
    /// load, repair, and how far the replicas disagree.
    pub(super) fn report(&self, nodes: &NodeTable<QuorumNode>) -> Vec<(String, String)> {
        let p = &self.params;
        let mut out = Vec::new();
        out.push((
            "quorum".into(),
            format!(
                "N={} W={} R={} ({}), {} quorum, {}, read repair {}, anti-entropy {}",
                p.n,
                p.w,
                p.r,
                if p.w + p.r > p.n { "W+R>N" } else { "W+R<=N" },
                if p.sloppy { "sloppy" } else { "strict" },
                match p.versioning {
                    Versioning::Lww => "last-writer-wins",
                    Versioning::Vector => "vector clocks",
                },
                match p.read_repair {
                    ReadRepair::Off => "off",
                    ReadRepair::Async => "async",
                    ReadRepair::Blocking => "blocking",
                },
                p.anti_entropy_interval
                    .map_or("off".to_string(), |i| format!("every {}", fmt_duration(i))),
            ),
        ));
        let first = &self.timeline.epochs[0].1;
        out.push((
            "ring".into(),
            format!(
                "{} members, {} vnodes each",
                first.members().len(),
                p.vnodes
            ),
        ));
        // Balance as a function of vnodes, over synthetic keys on the first ring.
        const KEYS: usize = 10_000;
        let mut counts: Vec<u32> = vec![1, 8, 64, 256];
        if !counts.contains(&p.vnodes) {
            counts.push(p.vnodes);
            counts.sort_unstable();
        }
        let bal: Vec<(u32, f64)> = counts
            .iter()
            .map(|&v| {
                let (max, mean) =
                    ring::balance(&Ring::new(first.members().iter().copied(), v), KEYS);
                (v, max as f64 / mean)
            })
            .collect();
        out.push(balance_line(
            "key balance max/mean",
            "10,000 keys by owner",
            p.vnodes,
            &bal,
        ));
        for (i, change) in self.timeline.changes.iter().enumerate() {
            let before = &self.timeline.epochs[i].1;
            let after = &self.timeline.epochs[i + 1].1;
            let mv = ring::movement(before, after, p.n, KEYS);
            let pct = |x: usize| 100.0 * x as f64 / KEYS as f64;
            let suffix = if i == 0 {
                String::new()
            } else {
                format!(" #{}", i + 1)
            };
            out.push((
                format!("keys moved by the ring{suffix}"),
                format!(
                    "{:.1} percent of 10,000 keys changed owner {change} ({} -> {} members; {:.1} percent of preference lists changed)",
                    pct(mv.ring_moved),
                    before.members().len(),
                    after.members().len(),
                    pct(mv.ring_replicas_changed),
                ),
            ));
            out.push((
                format!("keys moved by hash mod nodes{suffix}"),
                format!(
                    "{:.1} percent of the same keys would change owner under hash(key) % nodes",
                    pct(mv.mod_moved)
                ),
            ));
        }
        // Load in this run, from the servers' own counters.
        let servers: Vec<(usize, &Server)> = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, n.as_ref()?.as_server()?)))
            .collect();
        if !servers.is_empty() {
            let max_mean = |xs: &[u64]| {
                let max = xs.iter().copied().max().unwrap_or(0);
                let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
                (max, mean)
            };
            let reqs: Vec<u64> = servers.iter().map(|(_, s)| s.stats().requests).collect();
            let (max, mean) = max_mean(&reqs);
            let busiest = servers
                .iter()
                .max_by_key(|(i, s)| (s.stats().requests, std::cmp::Reverse(*i)))
                .map(|(i, _)| format!("n{}", i + 1))
                .unwrap_or_default();
            out.push((
                "requests per replica max/mean".into(),
                format!(
                    "{:.2} (max {max}, mean {mean:.0}, busiest {busiest}); per node: {}",
                    if mean > 0.0 { max as f64 / mean } else { 0.0 },
                    reqs.iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ));
            let mut per_key: BTreeMap<&str, u64> = BTreeMap::new();
            for (_, s) in &servers {
                for (k, c) in &s.stats().per_key {
                    *per_key.entry(k.as_str()).or_default() += c;
                }
            }
            let total: u64 = per_key.values().sum();
            if let Some((k, c)) = per_key
                .iter()
                .max_by_key(|(k, c)| (**c, std::cmp::Reverse(**k)))
            {
                let ring = self.timeline.epochs[self.timeline.epochs.len() - 1]
                    .1
                    .clone();
                out.push((
                    "hottest key share".into(),
                    format!(
                        "{:.1} percent of requests: {k} ({c} of {total}), all on replicas {}",
                        100.0 * *c as f64 / total.max(1) as f64,
                        ring.preference_list(k, p.n)
                            .iter()
                            .map(|n| format!("n{}", n.0 + 1))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                ));
            }
            // The same requests placed on rings with other vnode counts: each
            // request is counted once on each of its key's N replicas.
            if total > 0 {
                let req_bal: Vec<(u32, f64)> = counts
                    .iter()
                    .map(|&v| {
                        let ring = Ring::new(first.members().iter().copied(), v);
                        let mut per: BTreeMap<NodeId, u64> =
                            ring.members().iter().map(|&m| (m, 0)).collect();
                        for (k, c) in &per_key {
                            for m in ring.preference_list(k, p.n) {
                                *per.entry(m).or_default() += c;
                            }
                        }
                        let max = per.values().copied().max().unwrap_or(0) as f64;
                        let mean = per.values().sum::<u64>() as f64 / per.len().max(1) as f64;
                        (v, if mean > 0.0 { max / mean } else { 0.0 })
                    })
                    .collect();
                out.push(balance_line(
                    "request balance max/mean",
                    "this run's requests on each key's N replicas",
                    p.vnodes,
                    &req_bal,
                ));
            }
            let keys: Vec<u64> = servers
                .iter()
                .map(|(_, s)| s.store().len() as u64)
                .collect();
            let (max, mean) = max_mean(&keys);
            out.push((
                "keys held per replica".into(),
                format!("{max} at most, {mean:.1} on average"),
            ));
            let sum = |f: fn(&server::Stats) -> u64| {
                servers.iter().map(|(_, s)| f(s.stats())).sum::<u64>()
            };
            out.push((
                "coordinator".into(),
                format!(
                    "{} requests, {} answered unavailable, {} sent to stand-ins",
                    sum(|s| s.coordinated),
                    sum(|s| s.unavailable),
                    sum(|s| s.stand_in_asks),
                ),
            ));
            out.push((
                "repair".into(),
                format!(
                    "{} read repairs sent, {} hints stored, {} hints handed back, {} keys repaired by anti-entropy",
                    sum(|s| s.repairs_sent),
                    sum(|s| s.hints_stored),
                    sum(|s| s.hints_delivered),
                    sum(|s| s.anti_entropy_repairs),
                ),
            ));
            if p.versioning == Versioning::Vector {
                out.push((
                    "reads with siblings".into(),
                    format!(
                        "{} reads found concurrent siblings (the history records their merge)",
                        sum(|s| s.sibling_reads)
                    ),
                ));
            }
        }
        let (differ, hints) = self.checker.last;
        out.push((
            "replicas disagreeing at the end".into(),
            format!("{differ} key(s) differ between live replicas, {hints} hint(s) still held"),
        ));
        out.push((
            "last disagreement seen".into(),
            match self.checker.last_divergent {
                None => "never (checked every 50ms)".into(),
                Some(t) => format!("{} (checked every 50ms)", fmt_duration(t)),
            },
        ));
        out
    }
}
