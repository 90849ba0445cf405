//! lin-kv by proxy: every `read`, `write` and `cas` a client sends is
//! passed on, fields unchanged, to the `lin-kv` service, and the service's
//! answer (`read_ok`, `write_ok`, `cas_ok` or its error) goes back to the
//! client. The node holds no data, so it is linearizable whatever happens
//! to it or between servers: each operation takes effect at the service,
//! between the client's request and its reply (Maelstrom's
//! `lin_kv_proxy.rb` demo does the same). A request whose service answer
//! is lost, or whose node crashes, times out at the client: indefinite,
//! which the checker allows either way.
//!
//! What it gives up: everything the service gives up. It is as available
//! as the service and one more network hop slower.
//!
//! The bug flags:
//! - `local-cache`: the node keeps what its own writes, cas and reads
//!   returned, and answers a read of a key it holds from that copy without
//!   asking the service. Another node's writes never reach the copy: stale
//!   reads.
//! - `seq-kv`: proxies to the `seq-kv` service instead. Sequential
//!   consistency lets the service answer this node from a version it has
//!   not seen yet the others' newer ones: stale reads again, the lesson of
//!   Gossip Glomers' counter over seq-kv.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use sim::time::{secs, Nanos};

use super::simple::not_supported;
use crate::maelstrom::node::{Init, MaelNode, Out};
use crate::maelstrom::wire::{Body, Envelope};

/// A request not answered by the service within this long is forgotten
/// (its client has long timed out).
const FORGET_AFTER: Nanos = secs(30);

#[derive(Clone, Debug)]
pub struct LinKvProxy {
    init: Init,
    /// The service it proxies to.
    service: &'static str,
    /// The bug `local-cache`: the copy it answers reads from.
    cache: Option<BTreeMap<String, Json>>,
    /// Requests passed on, by the `msg_id` of the service request: the
    /// client's request and when it was passed on.
    pending: BTreeMap<u64, (Envelope, Nanos)>,
}

impl LinKvProxy {
    pub fn new(service: &'static str, local_cache: bool) -> LinKvProxy {
        LinKvProxy {
            init: Init::default(),
            service,
            cache: local_cache.then(BTreeMap::new),
            pending: BTreeMap::new(),
        }
    }

    fn key(body: &Body) -> Option<String> {
        body.get("key").map(Json::to_string)
    }

    /// The service answered the request passed on as `id`.
    fn answered(&mut self, out: &mut Out<'_>, id: u64, answer: Envelope) {
        let Some((request, _)) = self.pending.remove(&id) else {
            return;
        };
        if let (Some(cache), Some(key)) = (self.cache.as_mut(), Self::key(&request.body)) {
            let kept = match answer.body.kind.as_str() {
                "read_ok" => answer.body.get("value"),
                "write_ok" => request.body.get("value"),
                "cas_ok" => request.body.get("to"),
                _ => None,
            };
            if let Some(v) = kept {
                cache.insert(key, v.clone());
            }
        }
        let mut body = answer.body;
        body.msg_id = None;
        out.reply(&request, body);
    }
}

impl MaelNode for LinKvProxy {
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
        if let Some(init) = Init::answer(out, &msg) {
            self.init = init;
            return;
        }
        if msg.src == self.service {
            if let Some(id) = msg.body.in_reply_to {
                self.answered(out, id, msg);
            }
            return;
        }
        match msg.body.kind.as_str() {
            "read" | "write" | "cas" => {
                if msg.body.kind == "read" {
                    let cached = self
                        .cache
                        .as_ref()
                        .zip(Self::key(&msg.body))
                        .and_then(|(c, k)| c.get(&k).cloned());
                    if let Some(v) = cached {
                        out.reply(&msg, Body::new("read_ok").with("value", v));
                        return;
                    }
                }
                let now = out.mono_time();
                self.pending
                    .retain(|_, (_, at)| now.saturating_sub(*at) < FORGET_AFTER);
                let mut body = msg.body.clone();
                body.msg_id = None;
                let id = out.rpc(self.service, body);
                self.pending.insert(id, (msg, now));
            }
            _ if msg.body.msg_id.is_some() => out.reply(&msg, not_supported(&msg)),
            _ => {}
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("proxies to", self.service.to_string()),
            ("pending", self.pending.len().to_string()),
        ];
        if let Some(c) = &self.cache {
            f.push(("cached keys", c.len().to_string()));
        }
        f
    }

    fn clone_node(&self) -> Box<dyn MaelNode> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Delivers `msg` and returns what the node sent.
    fn deliver(node: &mut LinKvProxy, ids: &mut u64, msg: Envelope) -> Vec<Envelope> {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = Out::new("n1", 0, &mut rng, ids);
        node.on_message(&mut out, msg);
        out.sent().to_vec()
    }

    fn request(body: Body) -> Envelope {
        Envelope::new("c1", "n1", body.with_msg_id(7))
    }

    #[test]
    fn a_request_goes_to_the_service_and_its_answer_back_to_the_client() {
        let mut n = LinKvProxy::new("lin-kv", false);
        let mut ids = 0;
        let sent = deliver(&mut n, &mut ids, request(Body::new("read").with("key", 1)));
        assert_eq!(
            sent[0].to_line(),
            r#"{"src":"n1","dest":"lin-kv","body":{"type":"read","msg_id":1,"key":1}}"#
        );
        let answer = Envelope::new(
            "lin-kv",
            "n1",
            Body::new("read_ok").replying_to(Some(1)).with("value", 4),
        );
        let sent = deliver(&mut n, &mut ids, answer);
        assert_eq!(
            sent[0].to_line(),
            r#"{"src":"n1","dest":"c1","body":{"type":"read_ok","in_reply_to":7,"value":4}}"#
        );
        // An error answer goes back as it came.
        deliver(&mut n, &mut ids, request(Body::new("read").with("key", 2)));
        let refused = Envelope::new(
            "lin-kv",
            "n1",
            Body::error(crate::maelstrom::ErrorCode::KeyDoesNotExist, "no").replying_to(Some(2)),
        );
        let sent = deliver(&mut n, &mut ids, refused);
        assert_eq!(sent[0].body.int("code"), Some(20));
        assert_eq!(sent[0].body.in_reply_to, Some(7));
    }

    #[test]
    fn the_local_cache_answers_reads_of_what_this_node_wrote() {
        let mut n = LinKvProxy::new("lin-kv", true);
        let mut ids = 0;
        let write = Body::new("write").with("key", 1).with("value", 3);
        deliver(&mut n, &mut ids, request(write));
        let ok = Envelope::new("lin-kv", "n1", Body::new("write_ok").replying_to(Some(1)));
        deliver(&mut n, &mut ids, ok);
        let sent = deliver(&mut n, &mut ids, request(Body::new("read").with("key", 1)));
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].dest, "c1", "answered without asking the service");
        assert_eq!(sent[0].body.int("value"), Some(3));
    }
}
