//! Counters and sets as state-based CRDTs, gossiped to every other node.
//!
//! A pn-counter node keeps, per node, the sum of the positive and of the
//! negative deltas that node accepted; its value is the sum of the first
//! minus the sum of the second. Every `gossip` period it sends its whole
//! table to every other node, which keeps the larger count per entry (the
//! merge is a maximum: idempotent, commutative, associative, so resending
//! is harmless and a partition only delays convergence). A g-counter is
//! the same with no negative deltas. A g-set gossips its whole set and
//! merges by union (Shapiro et al., "Conflict-free Replicated Data Types",
//! 2011).
//!
//! What it gives up: crash safety. A node keeps its table in memory only;
//! restarted, it counts its own entry from zero while its peers still hold
//! the old count for it, and the merge by maximum keeps theirs until its
//! new adds pass it: those adds are swallowed. A crash-safe counter would
//! keep its own entry on disk, or start a new entry per life. The lab
//! scenarios crash no server.
//!
//! The bug flag `sum-merge` merges by adding what it hears: the merge is
//! no longer idempotent, and every round of gossip counts the same adds
//! again.

use std::collections::{BTreeMap, BTreeSet};

use sim::time::Nanos;

use super::simple::not_supported;
use crate::maelstrom::node::{Init, MaelNode, Out};
use crate::maelstrom::wire::{Body, Envelope};

const GOSSIP: u64 = 1;

#[derive(Clone, Debug)]
pub struct Counter {
    init: Init,
    period: Nanos,
    sum_merge: bool,
    /// Per node: (sum of positive deltas, sum of negative deltas' sizes).
    counts: BTreeMap<String, (i64, i64)>,
}

impl Counter {
    pub fn new(period: Nanos, sum_merge: bool) -> Counter {
        Counter {
            init: Init::default(),
            period,
            sum_merge,
            counts: BTreeMap::new(),
        }
    }

    pub fn value(&self) -> i64 {
        self.counts
            .values()
            .fold(0i64, |sum, (p, n)| sum.saturating_add(p.saturating_sub(*n)))
    }
}

impl MaelNode for Counter {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            out.set_timer(GOSSIP, self.period);
            return;
        }
        let body = &msg.body;
        match body.kind.as_str() {
            "add" => match body.int("delta") {
                Some(d) => {
                    let own = self.counts.entry(self.init.node_id.clone()).or_default();
                    if d >= 0 {
                        own.0 = own.0.saturating_add(d);
                    } else {
                        own.1 = own.1.saturating_add(d.saturating_neg());
                    }
                    out.reply(&msg, Body::new("add_ok"));
                }
                None => out.reply(&msg, not_supported(&msg)),
            },
            "read" => out.reply(&msg, Body::new("read_ok").with("value", self.value())),
            "counts" => {
                let Some(table) = body.get("counts").and_then(|t| t.as_object()) else {
                    return;
                };
                for (node, pn) in table {
                    let get = |i: usize| pn.get(i).and_then(|x| x.as_i64()).unwrap_or(0);
                    let (p, n) = (get(0), get(1));
                    let mine = self.counts.entry(node.clone()).or_default();
                    if self.sum_merge {
                        // Saturating: the bug's sums double every round, and a
                        // node must not abort the run by overflowing.
                        *mine = (mine.0.saturating_add(p), mine.1.saturating_add(n));
                    } else {
                        *mine = (mine.0.max(p), mine.1.max(n));
                    }
                }
            }
            _ if body.msg_id.is_some() => out.reply(&msg, not_supported(&msg)),
            _ => {}
        }
    }

    fn on_timer(&mut self, out: &mut Out<'_>, timer: u64) {
        if timer != GOSSIP {
            return;
        }
        let table: serde_json::Map<String, serde_json::Value> = self
            .counts
            .iter()
            .map(|(n, (p, m))| (n.clone(), serde_json::json!([p, m])))
            .collect();
        for other in self.init.others() {
            out.send(other, Body::new("counts").with("counts", table.clone()));
        }
        out.set_timer(GOSSIP, self.period);
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("value", self.value().to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

/// A grow-only set, gossiped whole and merged by union.
#[derive(Clone, Debug)]
pub struct GSet {
    init: Init,
    period: Nanos,
    elements: BTreeSet<i64>,
}

impl GSet {
    pub fn new(period: Nanos) -> GSet {
        GSet {
            init: Init::default(),
            period,
            elements: BTreeSet::new(),
        }
    }
}

impl MaelNode for GSet {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            out.set_timer(GOSSIP, self.period);
            return;
        }
        let body = &msg.body;
        match body.kind.as_str() {
            "add" => match body.int("element") {
                Some(e) => {
                    self.elements.insert(e);
                    out.reply(&msg, Body::new("add_ok"));
                }
                None => out.reply(&msg, not_supported(&msg)),
            },
            "read" => {
                let all: Vec<i64> = self.elements.iter().copied().collect();
                out.reply(&msg, Body::new("read_ok").with("value", all));
            }
            "set" => self
                .elements
                .extend(body.ints("elements").unwrap_or_default()),
            _ if body.msg_id.is_some() => out.reply(&msg, not_supported(&msg)),
            _ => {}
        }
    }

    fn on_timer(&mut self, out: &mut Out<'_>, timer: u64) {
        if timer != GOSSIP {
            return;
        }
        let all: Vec<i64> = self.elements.iter().copied().collect();
        for other in self.init.others() {
            out.send(other, Body::new("set").with("elements", all.clone()));
        }
        out.set_timer(GOSSIP, self.period);
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("elements", self.elements.len().to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
