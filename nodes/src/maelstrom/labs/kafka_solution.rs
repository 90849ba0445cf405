// chaoslab's kafka solution: a single leader.
//
// The first server in `init`'s list (n1) is the leader: it holds every
// key's log and its committed offset, and hands out offsets 0, 1, 2 ...
// per key. Every other node forwards each client request to it, fields
// unchanged, and relays its answer back to the client. One writer per
// log is what keeps offsets unique and rising across the cluster with no
// agreement protocol (Gossip Glomers 5b suggests another way: the logs in
// the `lin-kv` service, offsets claimed by compare-and-swap).
//
// A forwarded request that gets no answer (the leader is cut off) is
// never answered: the client times out and counts it indefinite, which it
// is, since the leader may have appended the message. Answering it with a
// definite error, or retrying it later, would be wrong: an error claims
// the send did not happen, and a retry may append it after the client's
// next send, behind its back (nonmonotonic-send). What it gives up:
// availability (a node cut off from n1 serves nothing), and the logs live
// in n1's memory, so a crash of n1 would lose them; the lab's parts crash
// no server.

use std::collections::BTreeMap;

use chaoslab::nodes::maelstrom::serde_json::{json, Map, Value};
use chaoslab::nodes::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

/// The most messages a poll returns per key: the client polls again for
/// the rest.
const POLL_MAX: usize = 50;
/// How long a forwarded request waits for the leader's answer before it
/// is forgotten, in nanoseconds: long past any client's timeout.
const FORGET_AFTER: u64 = 10_000_000_000;

#[derive(Clone, Debug, Default)]
pub struct KafkaNode {
    init: Init,
    /// The leader's state: per key its messages (a message's offset is
    /// its index) and its committed offset.
    logs: BTreeMap<String, Vec<i64>>,
    committed: BTreeMap<String, u64>,
    /// A follower's forwarded requests, by the msg_id they went to the
    /// leader with: the client's request and when it was forwarded.
    forwarded: BTreeMap<u64, (Envelope, u64)>,
}

impl LabNode for KafkaNode {
    const PROTOCOL: &'static str = "lab-kafka";
}

/// A body's `offsets`: a map of keys to offsets.
fn offsets(body: &Body) -> BTreeMap<String, u64> {
    body.get("offsets")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, o)| Some((k.clone(), o.as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

impl KafkaNode {
    fn leader(&self) -> &str {
        self.init.node_ids.first().map_or("", String::as_str)
    }

    /// The leader answers a client's request from its logs.
    fn serve(&mut self, out: &mut Out<'_>, msg: &Envelope) {
        let body = &msg.body;
        let reply = match body.kind.as_str() {
            "send" => {
                let key = body.get("key").and_then(Value::as_str).unwrap_or("");
                let log = self.logs.entry(key.to_string()).or_default();
                log.push(body.int("msg").unwrap_or(0));
                Body::new("send_ok").with("offset", log.len() as u64 - 1)
            }
            "poll" => {
                let mut msgs = Map::new();
                for (key, from) in offsets(body) {
                    let Some(log) = self.logs.get(&key) else {
                        continue;
                    };
                    let pairs: Vec<Value> = log
                        .iter()
                        .enumerate()
                        .skip(from as usize)
                        .take(POLL_MAX)
                        .map(|(o, m)| json!([o, m]))
                        .collect();
                    if !pairs.is_empty() {
                        msgs.insert(key, Value::Array(pairs));
                    }
                }
                Body::new("poll_ok").with("msgs", Value::Object(msgs))
            }
            "commit_offsets" => {
                for (key, offset) in offsets(body) {
                    let c = self.committed.entry(key).or_insert(offset);
                    *c = (*c).max(offset);
                }
                Body::new("commit_offsets_ok")
            }
            "list_committed_offsets" => {
                let mut known = Map::new();
                for key in body.strings("keys").unwrap_or_default() {
                    if let Some(c) = self.committed.get(&key) {
                        known.insert(key, json!(c));
                    }
                }
                Body::new("list_committed_offsets_ok").with("offsets", Value::Object(known))
            }
            _ => return,
        };
        out.reply(msg, reply);
    }

    /// A follower passes a client's request on to the leader.
    fn forward(&mut self, out: &mut Out<'_>, msg: Envelope) {
        let now = out.mono_time();
        self.forwarded
            .retain(|_, (_, at)| now.saturating_sub(*at) < FORGET_AFTER);
        let mut body = msg.body.clone();
        body.msg_id = None;
        let leader = self.leader().to_string();
        let id = out.rpc(&leader, body);
        self.forwarded.insert(id, (msg, now));
    }
}

impl MaelNode for KafkaNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        // The leader's answer to a forwarded request: relay it.
        if let Some(id) = msg.body.in_reply_to {
            if let Some((request, _)) = self.forwarded.remove(&id) {
                let mut body = msg.body;
                body.msg_id = None;
                body.in_reply_to = None;
                out.reply(&request, body);
            }
            return;
        }
        if self.init.node_id == self.leader() {
            self.serve(out, &msg);
        } else {
            self.forward(out, msg);
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let messages: usize = self.logs.values().map(Vec::len).sum();
        vec![
            ("messages", messages.to_string()),
            ("forwarded", self.forwarded.len().to_string()),
        ]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
