//! txn-list-append and txn-rw-register. The reference node runs every
//! transaction on `n1`, one at a time, in the order they arrive; the
//! other nodes forward (see [`Forwarder`]). Each transaction takes effect
//! at one instant between its request and its answer, so the history is
//! strict serializable; a node cut off from `n1` answers nothing.
//!
//! Bug `local-apply`, a totally available node (Gossip Glomers 6b and
//! 6c): every node runs the transaction on its own copy, answers at once,
//! then sends the transaction's writes to every other node, which applies
//! them whole when they arrive (a write overwrites; an append appends).
//! No transaction ever sees another's uncommitted or intermediate write,
//! so it is read committed; but nodes see writes late and in different
//! orders: stale reads and lost updates (G-single, G2 and their realtime
//! forms) for rw-register, and lists that disagree on the order of their
//! appends (incompatible-order, G0) for list-append.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::leader::Forwarder;
use super::simple::not_supported;
use crate::maelstrom::node::{Init, MaelNode, Out};
use crate::maelstrom::ops::{MopF, MopValue, TxnMop};
use crate::maelstrom::wire::{Body, Envelope, ErrorCode};

#[derive(Clone, Debug, Default)]
pub struct TxnNode {
    init: Init,
    forward: Forwarder,
    /// The bug: run transactions locally and gossip their writes.
    local: bool,
    /// Each key's value: a list (list-append) or a register (the last
    /// element of the list, rw-register).
    data: BTreeMap<i64, Vec<i64>>,
    /// list-append (reads answer lists) or rw-register (reads answer the
    /// last value written).
    lists: bool,
    txns: u64,
}

impl TxnNode {
    pub fn new(lists: bool, local_apply: bool) -> TxnNode {
        TxnNode {
            lists,
            local: local_apply,
            ..TxnNode::default()
        }
    }

    /// Runs `mops` in order on this node's data; returns the completed
    /// micro-ops and the writes, in order.
    fn run(&mut self, mops: Vec<TxnMop>) -> (Vec<TxnMop>, Vec<TxnMop>) {
        let mut done = Vec::with_capacity(mops.len());
        let mut writes = Vec::new();
        for m in mops {
            match (m.f, &m.value) {
                (MopF::Read, _) => {
                    let value = match self.data.get(&m.key) {
                        None => MopValue::Null,
                        Some(list) if self.lists => MopValue::List(list.clone()),
                        Some(list) => list.last().map_or(MopValue::Null, |v| MopValue::Int(*v)),
                    };
                    done.push(TxnMop { value, ..m });
                }
                (MopF::Append, MopValue::Int(v)) | (MopF::Write, MopValue::Int(v)) => {
                    self.apply(&m, *v);
                    writes.push(m.clone());
                    done.push(m);
                }
                _ => done.push(m),
            }
        }
        self.txns += 1;
        (done, writes)
    }

    fn apply(&mut self, m: &TxnMop, v: i64) {
        let list = self.data.entry(m.key).or_default();
        match m.f {
            MopF::Append => list.push(v),
            _ => {
                list.clear();
                list.push(v);
            }
        }
    }

    fn serve(&mut self, out: &mut Out<'_>, msg: &Envelope) {
        let mops: Option<Vec<TxnMop>> = msg
            .body
            .get("txn")
            .and_then(Json::as_array)
            .and_then(|a| a.iter().map(|m| TxnMop::from_json(m).ok()).collect());
        let Some(mops) = mops else {
            out.reply(
                msg,
                Body::error(
                    ErrorCode::MalformedRequest,
                    "txn needs a list of [f, key, value] micro-ops",
                ),
            );
            return;
        };
        let (done, writes) = self.run(mops);
        let txn = Json::Array(done.iter().map(TxnMop::to_json).collect());
        out.reply(msg, Body::new("txn_ok").with("txn", txn));
        if self.local && !writes.is_empty() {
            let writes = Json::Array(writes.iter().map(TxnMop::to_json).collect());
            let others: Vec<String> = self.init.others().map(str::to_string).collect();
            for other in others {
                out.send(&other, Body::new("writes").with("writes", writes.clone()));
            }
        }
    }
}

impl MaelNode for TxnNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if self.forward.relay(out, &msg) {
            return;
        }
        match msg.body.kind.as_str() {
            "writes" => {
                let writes = msg.body.get("writes").and_then(Json::as_array).cloned();
                for w in writes.unwrap_or_default() {
                    if let Ok(m) = TxnMop::from_json(&w) {
                        if let MopValue::Int(v) = m.value {
                            self.apply(&m, v);
                        }
                    }
                }
            }
            "txn" if self.local || Forwarder::is_leader(&self.init) => self.serve(out, &msg),
            "txn" => {
                let init = self.init.clone();
                self.forward.forward(out, &init, msg);
            }
            _ if msg.body.msg_id.is_some() => out.reply(&msg, not_supported(&msg)),
            _ => {}
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("txns", self.txns.to_string()),
            ("keys", self.data.len().to_string()),
        ]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn run(node: &mut dyn MaelNode, me: &str, msg: Envelope) -> Vec<Envelope> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut ids = 0;
        let mut out = Out::new(me, 0, &mut rng, &mut ids);
        node.on_message(&mut out, msg);
        out.sent().to_vec()
    }

    fn started(me: &str, lists: bool, bug: bool) -> TxnNode {
        let mut node = TxnNode::new(lists, bug);
        let init = Body::new("init")
            .with_msg_id(1)
            .with("node_id", me)
            .with("node_ids", vec!["n1", "n2"]);
        run(&mut node, me, Envelope::new("c0", me, init));
        node
    }

    fn txn(to: &str, t: Json) -> Envelope {
        Envelope::new("c1", to, Body::new("txn").with_msg_id(4).with("txn", t))
    }

    #[test]
    fn n1_runs_transactions_in_order_and_fills_in_reads() {
        let mut n1 = started("n1", true, false);
        run(
            &mut n1,
            "n1",
            txn("n1", serde_json::json!([["append", 1, 5]])),
        );
        let out = run(
            &mut n1,
            "n1",
            txn(
                "n1",
                serde_json::json!([
                    ["r", 1, null],
                    ["append", 1, 6],
                    ["r", 1, null],
                    ["r", 2, null]
                ]),
            ),
        );
        assert_eq!(
            out[0].body.get("txn"),
            Some(&serde_json::json!([
                ["r", 1, [5]],
                ["append", 1, 6],
                ["r", 1, [5, 6]],
                ["r", 2, null]
            ]))
        );
        let mut reg = started("n1", false, false);
        let out = run(
            &mut reg,
            "n1",
            txn(
                "n1",
                serde_json::json!([["w", 1, 5], ["w", 1, 6], ["r", 1, null]]),
            ),
        );
        assert_eq!(
            out[0].body.get("txn"),
            Some(&serde_json::json!([["w", 1, 5], ["w", 1, 6], ["r", 1, 6]]))
        );
    }

    #[test]
    fn others_forward_unless_local_apply_which_answers_and_sends_its_writes() {
        let mut n2 = started("n2", false, false);
        let out = run(&mut n2, "n2", txn("n2", serde_json::json!([["w", 1, 5]])));
        assert_eq!(
            (out[0].dest.as_str(), out[0].body.kind.as_str()),
            ("n1", "txn")
        );
        let mut n2 = started("n2", false, true);
        let out = run(&mut n2, "n2", txn("n2", serde_json::json!([["w", 1, 5]])));
        assert_eq!(
            (out[0].dest.as_str(), out[0].body.kind.as_str()),
            ("c1", "txn_ok")
        );
        assert_eq!(
            (out[1].dest.as_str(), out[1].body.kind.as_str()),
            ("n1", "writes")
        );
        let mut n1 = started("n1", false, true);
        run(&mut n1, "n1", out[1].clone());
        let read = run(
            &mut n1,
            "n1",
            txn("n1", serde_json::json!([["r", 1, null]])),
        );
        assert_eq!(
            read[0].body.get("txn"),
            Some(&serde_json::json!([["r", 1, 5]]))
        );
    }
}
