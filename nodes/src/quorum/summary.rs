//! The quorum store's figures in the run report.

use std::collections::BTreeMap;

use sim::metric::Metric;
use sim::node::NodeId;
use sim::protocol::NodeTable;
use sim::time::fmt_duration;

use super::{server, Quorum, QuorumNode, ReadRepair, Server, Versioning};
use crate::ring::{self, Ring};

/// A balance figure (max/mean) for this run's vnodes, then for each vnode
/// count in `bal` to compare: `1.23 with 64 vnodes per node (what); 1 vnodes: ...`.
fn balance_line(name: &str, what: &str, vnodes: u32, bal: &[(u32, f64)]) -> Metric {
    let here = bal
        .iter()
        .find(|(v, _)| *v == vnodes)
        .map_or(0.0, |(_, r)| *r);
    Metric::number(name, here).note(format!(
        "with {vnodes} vnodes per node ({what}); {}",
        bal.iter()
            .map(|(v, r)| format!("{v} vnodes: {r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

impl Quorum {
    /// The report's figures: the configuration, ring balance and movement,
    /// load, repair, and how far the replicas disagree.
    pub(super) fn report(&self, nodes: &NodeTable<QuorumNode>, out: &mut Vec<Metric>) {
        let p = &self.params;
        out.push(Metric::text(
            "quorum",
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
        out.push(
            Metric::count("ring", first.members().len() as u64)
                .note(format!("members, {} vnodes each", p.vnodes)),
        );
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
            let share = |x: usize| Metric::ratio_of("", x as u64, KEYS as u64).value;
            let suffix = if i == 0 {
                String::new()
            } else {
                format!(" #{}", i + 1)
            };
            out.push(Metric::new(format!("keys moved by the ring{suffix}"), share(mv.ring_moved)).note(
                format!(
                    "of 10,000 keys changed owner {change} ({} -> {} members; {:.1} percent of preference lists changed)",
                    before.members().len(),
                    after.members().len(),
                    pct(mv.ring_replicas_changed),
                ),
            ));
            out.push(
                Metric::new(
                    format!("keys moved by hash mod nodes{suffix}"),
                    share(mv.mod_moved),
                )
                .note("of the same keys would change owner under hash(key) % nodes"),
            );
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
            let balance = if mean > 0.0 { max as f64 / mean } else { 0.0 };
            out.push(
                Metric::number("requests per replica max/mean", balance).note(format!(
                    "(max {max}, mean {mean:.0}, busiest {busiest}); per node: {}",
                    reqs.iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
            );
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
                out.push(
                    Metric::ratio_of("hottest key share", *c, total.max(1)).note(format!(
                        "of requests: {k} ({c} of {total}), all on replicas {}",
                        ring.preference_list(k, p.n)
                            .iter()
                            .map(|n| format!("n{}", n.0 + 1))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )),
                );
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
            out.push(
                Metric::count("keys held per replica", max)
                    .note(format!("at most, {mean:.1} on average")),
            );
            let sum = |f: fn(&server::Stats) -> u64| {
                servers.iter().map(|(_, s)| f(s.stats())).sum::<u64>()
            };
            out.push(
                Metric::count("coordinator", sum(|s| s.coordinated)).note(format!(
                    "requests, {} answered unavailable, {} sent to stand-ins",
                    sum(|s| s.unavailable),
                    sum(|s| s.stand_in_asks),
                )),
            );
            out.push(Metric::count("repair", sum(|s| s.repairs_sent)).note(
                format!(
                    "read repairs sent, {} hints stored, {} hints handed back, {} keys repaired by anti-entropy",
                    sum(|s| s.hints_stored),
                    sum(|s| s.hints_delivered),
                    sum(|s| s.anti_entropy_repairs),
                ),
            ));
            if p.versioning == Versioning::Vector {
                out.push(
                    Metric::count("reads with siblings", sum(|s| s.sibling_reads))
                        .note("reads found concurrent siblings (the history records their merge)"),
                );
            }
        }
        let (differ, hints) = self.checker.last;
        out.push(
            Metric::count("replicas disagreeing at the end", differ as u64).note(format!(
                "key(s) differ between live replicas, {hints} hint(s) still held"
            )),
        );
        let last = "last disagreement seen";
        out.push(match self.checker.last_divergent {
            None => Metric::none(last, "never (checked every 50ms)"),
            Some(t) => Metric::duration(last, t).note("(checked every 50ms)"),
        });
    }
}
