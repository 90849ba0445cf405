// chaoslab's lin-kv solution: a proxy to Maelstrom's lin-kv service.
//
// Every node passes each client request (read, write, cas), fields
// unchanged, to the `lin-kv` service (a node of the run named "lin-kv",
// itself linearizable) and relays the service's answer, `read_ok`,
// `write_ok`, `cas_ok` or its error, to the client. The node holds no
// data, so it is linearizable whatever happens to it: each operation
// takes effect at the service, between the client's request and its
// reply. A request whose answer is lost (its node crashed, or the client
// was cut off) times out at the client: indefinite, which the checker
// allows either way. Maelstrom's `lin_kv_proxy.rb` demo does the same.
//
// What it gives up: everything the service gives up (it is as available
// as the service, and one more hop slower). The lesson Maelstrom's lin-kv
// workload is built for is Raft: a store of its own, replicated on a
// majority, which this solution leaves to the service.

use std::collections::BTreeMap;

use chaoslab::nodes::maelstrom::{Envelope, Init, LabNode, MaelNode, Out};

/// The service every request goes to.
const SERVICE: &str = "lin-kv";
/// How long a request waits for the service's answer before it is
/// forgotten, in nanoseconds: long past any client's timeout.
const FORGET_AFTER: u64 = 10_000_000_000;

#[derive(Clone, Debug, Default)]
pub struct LinKvNode {
    init: Init,
    /// Requests passed on, by the msg_id they went to the service with:
    /// the client's request and when it was passed on.
    pending: BTreeMap<u64, (Envelope, u64)>,
}

impl LabNode for LinKvNode {
    const PROTOCOL: &'static str = "lab-lin-kv";
}

impl MaelNode for LinKvNode {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if msg.src == SERVICE {
            // The service's answer: relay it to the client that asked.
            let request = msg.body.in_reply_to.and_then(|id| self.pending.remove(&id));
            if let Some((request, _)) = request {
                let mut body = msg.body;
                body.msg_id = None;
                body.in_reply_to = None;
                out.reply(&request, body);
            }
            return;
        }
        if matches!(msg.body.kind.as_str(), "read" | "write" | "cas") {
            let now = out.mono_time();
            self.pending
                .retain(|_, (_, at)| now.saturating_sub(*at) < FORGET_AFTER);
            let mut body = msg.body.clone();
            body.msg_id = None;
            let id = out.rpc(SERVICE, body);
            self.pending.insert(id, (msg, now));
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![("pending", self.pending.len().to_string())]
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}
