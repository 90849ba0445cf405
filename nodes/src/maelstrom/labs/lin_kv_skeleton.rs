// Your lin-kv node (Maelstrom's lin-kv workload: a linearizable key-value
// store).
//
// Clients `read` a key, `write` a value to it, and `cas` it (compare and
// set: `from` to `to`), each request to any node. A read of a key never
// written answers error 20 (key does not exist), a cas whose `from` is
// not the key's value error 22 (precondition failed). This skeleton keeps
// a map per node: each node answers from its own, which the other nodes'
// writes never reach, so part 1 of the grade fails: a read returns a
// value the key no longer holds, and no order of the operations explains
// it (not linearizable). Make every node answer as one store would, e.g.
// through Maelstrom's `lin-kv` service (a node named "lin-kv" that
// answers the same read, write and cas), or one node that holds the data
// (part 1), and keep it linearizable when the network splits and a node
// crashes (part 2).
//
// `cargo test` grades it; README.md says how to read the grade and replay
// a failing seed.

use std::collections::BTreeMap;

use chaoslab::nodes::maelstrom::serde_json::Value;
use chaoslab::nodes::maelstrom::{Body, Envelope, ErrorCode, Init, LabNode, MaelNode, Out};

/// One lin-kv node. Every server runs one; a restarted server gets a fresh
/// one (`Default`), remembering nothing.
#[derive(Clone, Debug, Default)]
pub struct LinKvNode {
    /// This node's name and every server's, from `init`.
    init: Init,
    /// This node's own map. Missing: the other nodes' writes.
    data: BTreeMap<String, Value>,
}

impl LabNode for LinKvNode {
    /// What scenarios name in `[system] protocol`: see parts/*.toml.
    const PROTOCOL: &'static str = "lab-lin-kv";
}

impl MaelNode for LinKvNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        // `init` names this node and all the others; answer it first.
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        let body = &msg.body;
        // Keys are JSON values (integers here): keep them as their text.
        let key = body.get("key").map(Value::to_string).unwrap_or_default();
        let reply = match body.kind.as_str() {
            "read" => match self.data.get(&key) {
                Some(v) => Body::new("read_ok").with("value", v.clone()),
                None => Body::error(ErrorCode::KeyDoesNotExist, "key does not exist"),
            },
            "write" => {
                let v = body.get("value").cloned().unwrap_or(Value::Null);
                self.data.insert(key, v);
                Body::new("write_ok")
            }
            "cas" => {
                let from = body.get("from").cloned().unwrap_or(Value::Null);
                let to = body.get("to").cloned().unwrap_or(Value::Null);
                match self.data.get(&key) {
                    None => Body::error(ErrorCode::KeyDoesNotExist, "key does not exist"),
                    Some(v) if *v != from => Body::error(
                        ErrorCode::PreconditionFailed,
                        format!("value is {v}, not {from}"),
                    ),
                    Some(_) => {
                        self.data.insert(key, to);
                        Body::new("cas_ok")
                    }
                }
            }
            // Missing: the messages your nodes send each other, or the
            // lin-kv service's answers.
            _ => return,
        };
        out.reply(&msg, reply);
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("keys", self.data.len().to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
