// Your broadcast node (Gossip Glomers challenge 3: fly.io/dist-sys/3a to 3e).
//
// Clients send `broadcast` (a `message`, an integer) to any node and `read`
// from any node; every message must reach every node. This skeleton
// answers the harness (`init`, `topology`) and the clients, but keeps what
// it hears to itself: each node reads back only what was broadcast to it,
// so part 1 of the grade fails with lost messages. Make the nodes tell
// each other (a message type of your own between servers, e.g. `gossip`),
// keep doing it across partitions (part 2), and cheaply (part 3).
//
// `cargo test` grades it; README.md says how to read the grade and replay
// a failing seed.

use std::collections::BTreeSet;

use chaoslab::nodes::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

/// One broadcast node. Every server runs one; a restarted server gets a
/// fresh one (`Default`), remembering nothing.
#[derive(Clone, Debug, Default)]
pub struct BroadcastNode {
    /// This node's name and every server's, from `init`.
    init: Init,
    /// The neighbours the harness suggests in `topology` (you may ignore them).
    neighbours: Vec<String>,
    /// Every message this node knows.
    messages: BTreeSet<i64>,
}

impl LabNode for BroadcastNode {
    /// What scenarios name in `[system] protocol`: see parts/*.toml.
    const PROTOCOL: &'static str = "lab-broadcast";
}

impl MaelNode for BroadcastNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        // `init` names this node and all the others; answer it first.
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        match msg.body.kind.as_str() {
            "topology" => {
                let mine = msg
                    .body
                    .get("topology")
                    .and_then(|t| t.get(&self.init.node_id))
                    .and_then(|list| list.as_array());
                if let Some(list) = mine {
                    self.neighbours = list
                        .iter()
                        .filter_map(|n| n.as_str().map(str::to_string))
                        .collect();
                }
                out.reply(&msg, Body::new("topology_ok"));
            }
            "broadcast" => {
                if let Some(m) = msg.body.int("message") {
                    self.messages.insert(m);
                    // Missing: tell the other nodes about `m`.
                }
                out.reply(&msg, Body::new("broadcast_ok"));
            }
            "read" => {
                let all: Vec<i64> = self.messages.iter().copied().collect();
                out.reply(&msg, Body::new("read_ok").with("messages", all));
            }
            // Missing: the messages your nodes send each other.
            _ => {}
        }
    }

    // Timers: `out.set_timer(id, after)` (in nanoseconds of this node's
    // clock; `chaoslab::sim::time::ms(100)`) calls `on_timer` with `id`.
    fn on_timer(&mut self, _out: &mut Out<'_>, _timer: u64) {}

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("messages", self.messages.len().to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
