// Your g-counter node (Gossip Glomers challenge 4: fly.io/dist-sys/4).
//
// Clients send `add` (a `delta`, a positive integer) to any node and `read`
// from any node; once the adds stop, every node's `read` must return the
// sum of every acknowledged add. As in the challenge, the nodes may keep
// the count in Maelstrom's `seq-kv` service: a node named "seq-kv" that
// answers `read {key}` (`read_ok {value}`, or error 20 when the key does
// not exist), `write {key, value}` and `cas {key, from, to,
// create_if_not_exists}` (error 22 when the key holds another value than
// `from`). It is sequentially consistent: it may answer a read from an old
// version, so a node that wants a fresh read must first make a change of
// its own (a write of a key only it writes, with a new value).
//
// This skeleton answers `init` and the clients, but counts on its own:
// each node reads back only the adds sent to it, so part 1 of the grade
// fails with final reads out of bounds. Keep the count where every node
// sees it (seq-kv: `out.rpc("seq-kv", body)` sends a request and returns
// its msg_id; the answer comes back to `on_message` from "seq-kv", with
// `in_reply_to` that msg_id).
//
// `cargo test` grades it; README.md says how to read the grade and replay
// a failing seed.

use chaoslab::nodes::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

/// One g-counter node. Every server runs one; a restarted server gets a
/// fresh one (`Default`), remembering nothing.
#[derive(Clone, Debug, Default)]
pub struct GCounterNode {
    /// This node's name and every server's, from `init`.
    init: Init,
    /// The adds this node acknowledged, summed.
    count: i64,
}

impl LabNode for GCounterNode {
    /// What scenarios name in `[system] protocol`: see parts/*.toml.
    const PROTOCOL: &'static str = "lab-g-counter";
}

impl MaelNode for GCounterNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        // `init` names this node and all the others; answer it first.
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        match msg.body.kind.as_str() {
            "add" => {
                if let Some(delta) = msg.body.int("delta") {
                    // Missing: an add every node will count.
                    self.count += delta;
                }
                out.reply(&msg, Body::new("add_ok"));
            }
            "read" => {
                // Missing: the count of every node's adds.
                out.reply(&msg, Body::new("read_ok").with("value", self.count));
            }
            // Missing: the answers of the seq-kv service, if you use it.
            _ => {}
        }
    }

    // Timers: `out.set_timer(id, after)` (in nanoseconds of this node's
    // clock) calls `on_timer` with `id`.
    fn on_timer(&mut self, _out: &mut Out<'_>, _timer: u64) {}

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("count", self.count.to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
