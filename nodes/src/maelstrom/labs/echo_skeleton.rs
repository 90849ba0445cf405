// Your echo node (Gossip Glomers challenge 1: fly.io/dist-sys/1).
//
// Clients send `echo` requests carrying a field `echo` (a string); the node
// must answer each with an `echo_ok` that carries the same `echo` back.
// This skeleton answers `init` and replies `echo_ok` to every request, but
// leaves the payload out: part 1 of the grade fails with malformed
// replies. Copy the request's `echo` into the reply (part 1); a lost
// message only makes a request time out, so a correct node passes part 2
// (10% message loss) as it is.
//
// `cargo test` grades it; README.md says how to read the grade and replay
// a failing seed.

use chaoslab::nodes::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

/// One echo node. Every server runs one; a restarted server gets a fresh
/// one (`Default`), remembering nothing.
#[derive(Clone, Debug, Default)]
pub struct EchoNode {
    /// This node's name and every server's, from `init`.
    init: Init,
    /// How many requests this node answered (shown in the TUI).
    answered: u64,
}

impl LabNode for EchoNode {
    /// What scenarios name in `[system] protocol`: see parts/*.toml.
    const PROTOCOL: &'static str = "lab-echo";
}

impl MaelNode for EchoNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        // `init` names this node and all the others; answer it first.
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if msg.body.kind == "echo" {
            self.answered += 1;
            // Missing: the request's `echo` field, in the reply
            // (`msg.body.get("echo")` and `Body::with`).
            out.reply(&msg, Body::new("echo_ok"));
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("answered", self.answered.to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
