//! Broadcast by gossip with retries until acknowledged.
//!
//! A node keeps, per neighbour (from `topology`), the messages that
//! neighbour has not yet acknowledged. Every `gossip` period it sends each
//! neighbour all of them in one `gossip` message; the neighbour answers
//! `gossip_ok`, and only then are they struck off. A message the node
//! learns is queued for every neighbour but the one it came from. So a
//! partition only delays messages: the node keeps resending across it
//! until it heals. Batching per period bounds the messages a node sends
//! per period whatever the load; the period is the price in latency.
//!
//! It is built to lose nothing, not to be efficient: it resends whatever
//! is unacknowledged every period, so on links slower than half the period
//! each batch goes out again (and again) before its acknowledgement can
//! arrive. An acknowledgement counts whenever it comes: a batch stays in
//! flight until acknowledged, or until it is [`IN_FLIGHT_ROUNDS`] periods
//! old (its acknowledgement lost; what it carried is still pending and
//! went out again since). On Gossip Glomers' challenge 3d (25 nodes, 100ms
//! links: under 30 messages per operation, median latency under 400ms,
//! maximum under 600ms) it is well over the message budget; waiting a
//! round trip before resending, and a topology of fewer hops, are the
//! learner's exercise.
//!
//! The bug flag `no-retry` sends a new message to each neighbour once, at
//! once, and forgets it: on a healthy network that is the fastest
//! broadcast there is, and a partition loses whatever crossed it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;
use sim::time::Nanos;

use super::simple::not_supported;
use crate::maelstrom::node::{Init, MaelNode, Out};
use crate::maelstrom::wire::{Body, Envelope};

const GOSSIP: u64 = 1;

/// How many gossip periods a batch waits for its acknowledgement before
/// it is given up as lost.
pub const IN_FLIGHT_ROUNDS: u64 = 20;

#[derive(Clone, Debug)]
pub struct Broadcast {
    init: Init,
    period: Nanos,
    no_retry: bool,
    neighbours: Vec<String>,
    messages: BTreeSet<i64>,
    /// Per neighbour, what it has not acknowledged.
    pending: BTreeMap<String, BTreeSet<i64>>,
    /// Gossip in flight: msg_id -> (neighbour, what it carried, when it
    /// was sent on the node's monotonic clock).
    in_flight: BTreeMap<u64, (String, Vec<i64>, Nanos)>,
}

impl Broadcast {
    pub fn new(period: Nanos, no_retry: bool) -> Broadcast {
        Broadcast {
            init: Init::default(),
            period,
            no_retry,
            neighbours: Vec::new(),
            messages: BTreeSet::new(),
            pending: BTreeMap::new(),
            in_flight: BTreeMap::new(),
        }
    }

    /// Learns `new` messages heard from `from`, and passes them on.
    fn learn(&mut self, out: &mut Out<'_>, from: &str, new: impl IntoIterator<Item = i64>) {
        let fresh: Vec<i64> = new
            .into_iter()
            .filter(|m| self.messages.insert(*m))
            .collect();
        if fresh.is_empty() {
            return;
        }
        for n in self.neighbours.iter().filter(|n| *n != from) {
            if self.no_retry {
                out.send(n, Body::new("gossip").with("messages", fresh.clone()));
            } else {
                self.pending
                    .entry(n.clone())
                    .or_default()
                    .extend(fresh.iter().copied());
            }
        }
    }

    fn gossip(&mut self, out: &mut Out<'_>) {
        // Whatever was in flight and not acknowledged goes again below
        // (`pending` still holds it), but the earlier batches stay in
        // flight: on a slow link their acknowledgements are still coming.
        let now = out.mono_time();
        let max_age = self.period.saturating_mul(IN_FLIGHT_ROUNDS);
        self.in_flight
            .retain(|_, (_, _, sent)| now.saturating_sub(*sent) < max_age);
        for (n, msgs) in &self.pending {
            if msgs.is_empty() {
                continue;
            }
            let batch: Vec<i64> = msgs.iter().copied().collect();
            let id = out.rpc(n, Body::new("gossip").with("messages", batch.clone()));
            self.in_flight.insert(id, (n.clone(), batch, now));
        }
    }
}

impl MaelNode for Broadcast {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            // Until a topology says otherwise, every other node is a neighbour.
            self.neighbours = init.others().map(str::to_string).collect();
            self.init = init;
            if !self.no_retry {
                out.set_timer(GOSSIP, self.period);
            }
            return;
        }
        let body = &msg.body;
        match body.kind.as_str() {
            "topology" => {
                let mine = body
                    .get("topology")
                    .and_then(|t| t.get(&self.init.node_id))
                    .and_then(Json::as_array);
                if let Some(list) = mine {
                    self.neighbours = list
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect();
                }
                out.reply(&msg, Body::new("topology_ok"));
            }
            "broadcast" => match body.int("message") {
                Some(m) => {
                    self.learn(out, &msg.src, [m]);
                    out.reply(&msg, Body::new("broadcast_ok"));
                }
                None => out.reply(&msg, not_supported(&msg)),
            },
            "read" => {
                let all: Vec<i64> = self.messages.iter().copied().collect();
                out.reply(&msg, Body::new("read_ok").with("messages", all));
            }
            "gossip" => {
                let msgs = body.ints("messages").unwrap_or_default();
                self.learn(out, &msg.src, msgs);
                if body.msg_id.is_some() {
                    out.reply(&msg, Body::new("gossip_ok"));
                }
            }
            "gossip_ok" => {
                let acked = body.in_reply_to.and_then(|id| self.in_flight.remove(&id));
                if let Some((n, batch, _)) = acked {
                    if let Some(p) = self.pending.get_mut(&n) {
                        for m in batch {
                            p.remove(&m);
                        }
                    }
                }
            }
            _ if body.msg_id.is_some() => out.reply(&msg, not_supported(&msg)),
            _ => {}
        }
    }

    fn on_timer(&mut self, out: &mut Out<'_>, timer: u64) {
        if timer == GOSSIP {
            self.gossip(out);
            out.set_timer(GOSSIP, self.period);
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let unacked: usize = self.pending.values().map(BTreeSet::len).sum();
        vec![
            ("messages", self.messages.len().to_string()),
            ("unacked", unacked.to_string()),
        ]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
