// Your unique-ids node (Gossip Glomers challenge 2: fly.io/dist-sys/2).
//
// Clients send `generate` to any node; each `generate_ok` must carry an
// `id` (any JSON: a number, a string) that no other answer, from this node
// or any other, ever carries. The nodes must stay totally available: a
// node answers even when it cannot reach the others (part 2 partitions
// them). This skeleton answers with a counter of its own: unique on one
// node, but every node counts 1, 2, 3 ..., so part 1 of the grade fails
// with duplicate ids. Make the ids unique across nodes without asking the
// others (what does each node know that no other node has?).
//
// `cargo test` grades it; README.md says how to read the grade and replay
// a failing seed.

use chaoslab::nodes::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

/// One unique-ids node. Every server runs one; a restarted server gets a
/// fresh one (`Default`), remembering nothing.
#[derive(Clone, Debug, Default)]
pub struct UniqueIdsNode {
    /// This node's name and every server's, from `init`.
    init: Init,
    /// How many ids this node handed out.
    next: u64,
}

impl LabNode for UniqueIdsNode {
    /// What scenarios name in `[system] protocol`: see parts/*.toml.
    const PROTOCOL: &'static str = "lab-unique-ids";
}

impl MaelNode for UniqueIdsNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        // `init` names this node and all the others; answer it first.
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if msg.body.kind == "generate" {
            self.next += 1;
            // Missing: what makes this id differ from every other node's.
            out.reply(&msg, Body::new("generate_ok").with("id", self.next));
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("ids", self.next.to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
