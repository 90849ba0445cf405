// chaoslab's unique-ids solution: an id is the node's name and a counter
// of its own ("n2-17"). Names are unique (the harness gives them in
// `init`), and each node's counter never repeats, so no two answers
// collide, and a node asks nobody: partitions cannot stop it (totally
// available).
//
// What it gives up: a restarted node starts its counter from zero again
// and would repeat its old ids. A crash-safe node would put something of
// its life in the id (a random number drawn at start, or a counter kept
// on disk); the lab's parts crash no server.

use chaoslab::nodes::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

#[derive(Clone, Debug, Default)]
pub struct UniqueIdsNode {
    init: Init,
    next: u64,
}

impl LabNode for UniqueIdsNode {
    const PROTOCOL: &'static str = "lab-unique-ids";
}

impl MaelNode for UniqueIdsNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if msg.body.kind == "generate" {
            self.next += 1;
            let id = format!("{}-{}", self.init.node_id, self.next);
            out.reply(&msg, Body::new("generate_ok").with("id", id));
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("ids", self.next.to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
