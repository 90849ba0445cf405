// chaoslab's txn-rw-register solution: totally available, last writer
// wins by Lamport timestamp.
//
// Every node runs each transaction on its own copy of the registers, at
// once, and answers: no node ever waits for another, so a partition costs
// nothing (Gossip Glomers 6b and 6c). The transaction gets a timestamp,
// (Lamport clock, node), above every timestamp the node has seen; each
// register keeps the timestamp of the write it holds. After answering,
// the node sends the transaction's writes (the last write of each
// register: a write the transaction overwrote itself is never shown to
// anyone, or that would be G1b) to every other node, again until each
// acknowledges, across partitions. A node applies a replicated write
// only if its timestamp is above the register's, so every node ends with
// the same value, and a write never goes back to an older version.
//
// Why read committed holds: no transaction aborts (no G1a), no one sees
// an intermediate write (no G1b), and every write-write or write-read
// dependency goes from a lower timestamp to a higher one, since a
// transaction's timestamp is above those of every write it read or
// overwrote: no cycle of them (no G0, no G1c). What it gives up: reads
// are stale until a write arrives, and two nodes writing one register at
// once lose one write (lost updates, G-single, G2: allowed by read
// committed, forbidden by serializability). The state lives in memory; the
// lab's parts crash no server.

use std::collections::BTreeMap;

use chaoslab::nodes::maelstrom::serde_json::{json, Value};
use chaoslab::nodes::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

/// How often a node resends the writes not yet acknowledged, in
/// nanoseconds: longer than a round trip.
const RETRY: u64 = 200_000_000;
const TICK: u64 = 1;

/// A write's timestamp: the Lamport clock, then the node's index in
/// `init` (ties broken by node).
type Stamp = (u64, u64);

#[derive(Clone, Debug, Default)]
pub struct TxnNode {
    init: Init,
    /// The Lamport clock: above every timestamp this node has seen.
    clock: u64,
    /// Each register: its value and the timestamp of the write.
    registers: BTreeMap<i64, (i64, Stamp)>,
    /// Per other node: the writes it has not acknowledged, by timestamp.
    unacked: BTreeMap<String, BTreeMap<Stamp, Vec<(i64, i64)>>>,
    txns: u64,
}

impl LabNode for TxnNode {
    const PROTOCOL: &'static str = "lab-txn-rw-register";
}

impl TxnNode {
    fn my_index(&self) -> u64 {
        self.init
            .node_ids
            .iter()
            .position(|n| *n == self.init.node_id)
            .unwrap_or(0) as u64
    }

    /// Runs the micro-ops in order; returns them with the reads filled in,
    /// and the last write of each register.
    fn run(&mut self, mops: &[Value]) -> Option<(Vec<Value>, BTreeMap<i64, i64>)> {
        self.clock += 1;
        let stamp = (self.clock, self.my_index());
        let mut done = Vec::with_capacity(mops.len());
        let mut writes = BTreeMap::new();
        for m in mops {
            let f = m.get(0)?.as_str()?;
            let key = m.get(1)?.as_i64()?;
            match f {
                "r" => {
                    let value = self.registers.get(&key).map(|(v, _)| *v);
                    done.push(json!(["r", key, value]));
                }
                "w" => {
                    let v = m.get(2)?.as_i64()?;
                    self.registers.insert(key, (v, stamp));
                    writes.insert(key, v);
                    done.push(m.clone());
                }
                _ => return None,
            }
        }
        self.txns += 1;
        Some((done, writes))
    }

    /// Applies replicated writes stamped `stamp`, where newer.
    fn apply(&mut self, stamp: Stamp, writes: &[(i64, i64)]) {
        self.clock = self.clock.max(stamp.0);
        for &(key, v) in writes {
            let newer = self.registers.get(&key).is_none_or(|(_, s)| *s < stamp);
            if newer {
                self.registers.insert(key, (v, stamp));
            }
        }
    }

    /// Sends every other node the writes it has not acknowledged.
    fn flush(&self, out: &mut Out<'_>) {
        for (node, pending) in &self.unacked {
            for (stamp, writes) in pending {
                let body = Body::new("replicate")
                    .with("stamp", json!([stamp.0, stamp.1]))
                    .with("writes", json!(writes));
                out.send(node, body);
            }
        }
    }
}

impl MaelNode for TxnNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            out.set_timer(TICK, RETRY);
            return;
        }
        let body = &msg.body;
        match body.kind.as_str() {
            "txn" => {
                let mops = body.get("txn").and_then(Value::as_array).cloned();
                let Some((done, writes)) = mops.and_then(|m| self.run(&m)) else {
                    let error = Body::new("error")
                        .with("code", 12)
                        .with("text", "txn needs a list of [\"r\"|\"w\", key, value]");
                    out.reply(&msg, error);
                    return;
                };
                out.reply(&msg, Body::new("txn_ok").with("txn", done));
                if writes.is_empty() {
                    return;
                }
                let stamp = (self.clock, self.my_index());
                let writes: Vec<(i64, i64)> = writes.into_iter().collect();
                let others: Vec<String> = self.init.others().map(str::to_string).collect();
                for node in others {
                    let body = Body::new("replicate")
                        .with("stamp", json!([stamp.0, stamp.1]))
                        .with("writes", json!(writes));
                    out.send(&node, body);
                    self.unacked
                        .entry(node)
                        .or_default()
                        .insert(stamp, writes.clone());
                }
            }
            "replicate" => {
                let stamp = body
                    .get("stamp")
                    .and_then(|s| Some((s.get(0)?.as_u64()?, s.get(1)?.as_u64()?)));
                let writes: Option<Vec<(i64, i64)>> =
                    body.get("writes").and_then(Value::as_array).and_then(|ws| {
                        ws.iter()
                            .map(|w| Some((w.get(0)?.as_i64()?, w.get(1)?.as_i64()?)))
                            .collect()
                    });
                if let (Some(stamp), Some(writes)) = (stamp, writes) {
                    self.apply(stamp, &writes);
                    let ack = Body::new("replicate_ok").with("stamp", json!([stamp.0, stamp.1]));
                    out.send(&msg.src, ack);
                }
            }
            "replicate_ok" => {
                let stamp = body
                    .get("stamp")
                    .and_then(|s| Some((s.get(0)?.as_u64()?, s.get(1)?.as_u64()?)));
                if let (Some(stamp), Some(pending)) = (stamp, self.unacked.get_mut(&msg.src)) {
                    pending.remove(&stamp);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, out: &mut Out<'_>, timer: u64) {
        if timer == TICK {
            self.flush(out);
            out.set_timer(TICK, RETRY);
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let unacked: usize = self.unacked.values().map(BTreeMap::len).sum();
        vec![
            ("txns", self.txns.to_string()),
            ("registers", self.registers.len().to_string()),
            ("unacked", unacked.to_string()),
        ]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
