//! Echo and unique ids: nodes that need no other node.

use crate::maelstrom::node::{Init, MaelNode, Out};
use crate::maelstrom::wire::{Body, Envelope, ErrorCode};

/// Echo: answers every `echo` with `echo_ok` carrying the same payload.
#[derive(Clone, Debug, Default)]
pub struct Echo {
    init: Init,
}

impl MaelNode for Echo {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        match (msg.body.kind.as_str(), msg.body.get("echo")) {
            ("echo", Some(echo)) => {
                let body = Body::new("echo_ok").with("echo", echo.clone());
                out.reply(&msg, body);
            }
            _ => out.reply(&msg, not_supported(&msg)),
        }
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

/// Unique ids without coordination: the node's name and a counter of its
/// own (`"n2-17"`), unique across partitions because names are. The
/// counter lives in memory: a restarted node would start again at 1, so a
/// workload that crashes nodes needs the counter on disk or the
/// incarnation in the id (the scenarios here only partition).
#[derive(Clone, Debug, Default)]
pub struct UniqueIds {
    init: Init,
    next: u64,
    /// The bug: a bare counter, which every node counts the same way.
    counter_only: bool,
}

impl UniqueIds {
    pub fn new(counter_only: bool) -> UniqueIds {
        UniqueIds {
            counter_only,
            ..UniqueIds::default()
        }
    }
}

impl MaelNode for UniqueIds {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if msg.body.kind != "generate" {
            out.reply(&msg, not_supported(&msg));
            return;
        }
        self.next += 1;
        let body = if self.counter_only {
            Body::new("generate_ok").with("id", self.next)
        } else {
            Body::new("generate_ok").with("id", format!("{}-{}", self.init.node_id, self.next))
        };
        out.reply(&msg, body);
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("ids", self.next.to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

/// The answer to a request type the node does not know.
pub(super) fn not_supported(msg: &Envelope) -> Body {
    Body::error(
        ErrorCode::NotSupported,
        format!("this node does not handle {:?}", msg.body.kind),
    )
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

    fn init(me: &str) -> Envelope {
        let body = Body::new("init")
            .with_msg_id(1)
            .with("node_id", me)
            .with("node_ids", vec!["n1", "n2"]);
        Envelope::new("c0", me, body)
    }

    #[test]
    fn echo_answers_init_then_echoes_exactly() {
        let mut node = Echo::default();
        let sent = run(&mut node, "n1", init("n1"));
        assert_eq!(
            sent[0].to_line(),
            r#"{"src":"n1","dest":"c0","body":{"type":"init_ok","in_reply_to":1}}"#
        );
        let req = Envelope::new(
            "c1",
            "n1",
            Body::new("echo")
                .with_msg_id(4)
                .with("echo", "Please echo 35"),
        );
        let sent = run(&mut node, "n1", req);
        assert_eq!(
            sent[0].to_line(),
            r#"{"src":"n1","dest":"c1","body":{"type":"echo_ok","in_reply_to":4,"echo":"Please echo 35"}}"#
        );
    }

    #[test]
    fn unique_ids_differ_across_nodes_unless_the_bug_is_on() {
        let generate = |me: &str| Envelope::new("c1", me, Body::new("generate").with_msg_id(2));
        for (bug, same) in [(false, false), (true, true)] {
            let mut a = UniqueIds::new(bug);
            let mut b = UniqueIds::new(bug);
            run(&mut a, "n1", init("n1"));
            run(&mut b, "n2", init("n2"));
            let ia = run(&mut a, "n1", generate("n1"))[0].body.get("id").cloned();
            let ib = run(&mut b, "n2", generate("n2"))[0].body.get("id").cloned();
            assert_eq!(ia == ib, same, "bug {bug}: {ia:?} {ib:?}");
        }
    }
}
