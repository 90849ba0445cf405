// chaoslab's echo solution: every `echo` is answered with an `echo_ok`
// carrying the request's `echo` back. The node keeps no state that
// matters, so neither loss nor partitions nor restarts can make it answer
// wrongly; a lost request or reply only makes the client time out.

use chaoslab::nodes::maelstrom::{Body, Envelope, Init, LabNode, MaelNode, Out};

#[derive(Clone, Debug, Default)]
pub struct EchoNode {
    init: Init,
    answered: u64,
}

impl LabNode for EchoNode {
    const PROTOCOL: &'static str = "lab-echo";
}

impl MaelNode for EchoNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if msg.body.kind == "echo" {
            self.answered += 1;
            let echo = msg.body.get("echo").cloned().unwrap_or_default();
            out.reply(&msg, Body::new("echo_ok").with("echo", echo));
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("answered", self.answered.to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
