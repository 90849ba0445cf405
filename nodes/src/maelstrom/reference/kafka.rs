//! kafka: a single-leader log. `n1` holds every key's log, its committed
//! offsets, and hands out offsets 0, 1, 2 ... per key; the other nodes
//! forward each request to it (see [`Forwarder`]). One writer per log is
//! what makes offsets unique and monotonic without any agreement
//! protocol; the price is availability: a node cut off from `n1` answers
//! nothing, and its clients' requests time out (indefinite, never a
//! false definite error).
//!
//! Bug `local-offsets`: every node keeps logs of its own and answers from
//! them. Two nodes hand out the same offset of a key to different
//! messages, and a client that sends through both is told a lower offset
//! after a higher one.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::leader::Forwarder;
use super::simple::not_supported;
use crate::maelstrom::node::{Init, MaelNode, Out};
use crate::maelstrom::ops::offsets_json;
use crate::maelstrom::wire::{Body, Envelope, ErrorCode};

/// The most messages a poll returns per key: a client polls again for
/// the rest.
const POLL_BATCH_MAX: usize = 100;

#[derive(Clone, Debug, Default)]
pub struct Kafka {
    init: Init,
    forward: Forwarder,
    /// The bug: answer from this node's own logs.
    local: bool,
    /// Per key, its messages; a message's offset is its index.
    logs: BTreeMap<String, Vec<i64>>,
    committed: BTreeMap<String, u64>,
}

impl Kafka {
    pub fn new(local_offsets: bool) -> Kafka {
        Kafka {
            local: local_offsets,
            ..Kafka::default()
        }
    }

    /// Answers a client's request from this node's logs.
    fn serve(&mut self, out: &mut Out<'_>, msg: &Envelope) {
        let body = &msg.body;
        let reply = match body.kind.as_str() {
            "send" => match (body.get("key").and_then(Json::as_str), body.int("msg")) {
                (Some(key), Some(m)) => {
                    let log = self.logs.entry(key.to_string()).or_default();
                    log.push(m);
                    Body::new("send_ok").with("offset", (log.len() - 1) as u64)
                }
                _ => malformed("send needs a string key and an integer msg"),
            },
            "poll" => match offsets(body) {
                Some(from) => {
                    let mut msgs = serde_json::Map::new();
                    for (key, at) in from {
                        let Some(log) = self.logs.get(&key) else {
                            continue;
                        };
                        let pairs: Vec<Json> = log
                            .iter()
                            .enumerate()
                            .skip(at as usize)
                            .take(POLL_BATCH_MAX)
                            .map(|(o, m)| serde_json::json!([o, m]))
                            .collect();
                        if !pairs.is_empty() {
                            msgs.insert(key, Json::Array(pairs));
                        }
                    }
                    Body::new("poll_ok").with("msgs", Json::Object(msgs))
                }
                None => malformed("poll needs offsets, a map of keys to offsets"),
            },
            "commit_offsets" => match offsets(body) {
                Some(done) => {
                    for (key, o) in done {
                        let c = self.committed.entry(key).or_insert(o);
                        *c = (*c).max(o);
                    }
                    Body::new("commit_offsets_ok")
                }
                None => malformed("commit_offsets needs offsets, a map of keys to offsets"),
            },
            "list_committed_offsets" => match body.strings("keys") {
                Some(keys) => {
                    let known: BTreeMap<String, u64> = keys
                        .into_iter()
                        .filter_map(|k| Some((k.clone(), *self.committed.get(&k)?)))
                        .collect();
                    Body::new("list_committed_offsets_ok").with("offsets", offsets_json(&known))
                }
                None => malformed("list_committed_offsets needs keys, a list of strings"),
            },
            _ => not_supported(msg),
        };
        out.reply(msg, reply);
    }
}

fn malformed(text: &str) -> Body {
    Body::error(ErrorCode::MalformedRequest, text)
}

/// A body's `offsets`, a map of keys to offsets.
fn offsets(body: &Body) -> Option<BTreeMap<String, u64>> {
    body.get("offsets")?
        .as_object()?
        .iter()
        .map(|(k, o)| Some((k.clone(), o.as_u64()?)))
        .collect()
}

impl MaelNode for Kafka {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if self.forward.relay(out, &msg) {
            return;
        }
        if msg.body.msg_id.is_none() {
            // Not a request (a late answer nobody waits for).
            return;
        }
        if self.local || Forwarder::is_leader(&self.init) {
            self.serve(out, &msg);
        } else {
            let init = self.init.clone();
            self.forward.forward(out, &init, msg);
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let messages: usize = self.logs.values().map(Vec::len).sum();
        vec![
            ("messages", messages.to_string()),
            ("forwarded", self.forward.pending().to_string()),
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

    fn started(me: &str, bug: bool) -> Kafka {
        let mut node = Kafka::new(bug);
        let init = Body::new("init")
            .with_msg_id(1)
            .with("node_id", me)
            .with("node_ids", vec!["n1", "n2"]);
        run(&mut node, me, Envelope::new("c0", me, init));
        node
    }

    fn send(to: &str, key: &str, msg: i64) -> Envelope {
        let body = Body::new("send")
            .with_msg_id(5)
            .with("key", key)
            .with("msg", msg);
        Envelope::new("c1", to, body)
    }

    #[test]
    fn the_leader_hands_out_offsets_polls_and_commits() {
        let mut n1 = started("n1", false);
        let a = run(&mut n1, "n1", send("n1", "k", 7));
        assert_eq!(
            a[0].to_line(),
            r#"{"src":"n1","dest":"c1","body":{"type":"send_ok","in_reply_to":5,"offset":0}}"#
        );
        run(&mut n1, "n1", send("n1", "k", 8));
        let poll = Body::new("poll")
            .with_msg_id(6)
            .with("offsets", serde_json::json!({"k": 1, "x": 0}));
        let p = run(&mut n1, "n1", Envelope::new("c1", "n1", poll));
        assert_eq!(
            p[0].body.get("msgs"),
            Some(&serde_json::json!({"k": [[1, 8]]}))
        );
        let commit = Body::new("commit_offsets")
            .with_msg_id(7)
            .with("offsets", serde_json::json!({"k": 1}));
        run(&mut n1, "n1", Envelope::new("c1", "n1", commit));
        let list = Body::new("list_committed_offsets")
            .with_msg_id(8)
            .with("keys", vec!["k", "x"]);
        let l = run(&mut n1, "n1", Envelope::new("c1", "n1", list));
        assert_eq!(l[0].body.get("offsets"), Some(&serde_json::json!({"k": 1})));
    }

    #[test]
    fn a_follower_forwards_to_n1_and_relays_the_answer() {
        let mut n2 = started("n2", false);
        let fwd = run(&mut n2, "n2", send("n2", "k", 7));
        assert_eq!(fwd[0].dest, "n1");
        assert_eq!(fwd[0].body.kind, "send");
        let id = fwd[0].body.msg_id;
        let answer = Body::new("send_ok").with("offset", 3).replying_to(id);
        let relayed = run(&mut n2, "n2", Envelope::new("n1", "n2", answer));
        assert_eq!(
            relayed[0].to_line(),
            r#"{"src":"n2","dest":"c1","body":{"type":"send_ok","in_reply_to":5,"offset":3}}"#
        );
    }

    #[test]
    fn with_local_offsets_two_nodes_give_out_the_same_offset() {
        let mut n1 = started("n1", true);
        let mut n2 = started("n2", true);
        let a = run(&mut n1, "n1", send("n1", "k", 7));
        let b = run(&mut n2, "n2", send("n2", "k", 8));
        assert_eq!(a[0].body.int("offset"), Some(0));
        assert_eq!(b[0].body.int("offset"), Some(0));
    }
}
