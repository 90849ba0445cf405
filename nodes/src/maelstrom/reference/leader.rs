//! Forwarding to a single leader: the first node of `init`'s `node_ids`
//! (`n1`) holds the state and answers every request; any other node
//! passes a client's request on to it and relays the answer back.
//!
//! A forwarded request that gets no answer (the leader is cut off, the
//! message was lost) is simply never answered: the client times out and
//! records the request indefinite, which it is (the leader may have
//! carried it out). Answering it with a definite error instead would be a
//! lie the checker would rightly catch.

use std::collections::BTreeMap;

use sim::time::{secs, Nanos};

use crate::maelstrom::node::{Init, Out};
use crate::maelstrom::wire::Envelope;

/// How long a forwarded request is remembered: long past any client's
/// timeout, so an answer that comes in time always finds its client.
const FORWARD_TTL: Nanos = secs(10);

#[derive(Clone, Debug, Default)]
pub struct Forwarder {
    /// Forwarded requests by the `msg_id` they went to the leader with:
    /// the client's envelope, and when it was forwarded.
    pending: BTreeMap<u64, (Envelope, Nanos)>,
}

impl Forwarder {
    /// The leader's name: the first node of `init`.
    pub fn leader(init: &Init) -> &str {
        init.node_ids.first().map_or("", String::as_str)
    }

    /// Whether this node is the leader.
    pub fn is_leader(init: &Init) -> bool {
        Forwarder::leader(init) == init.node_id
    }

    /// Passes the client's request `msg` on to the leader.
    pub fn forward(&mut self, out: &mut Out<'_>, init: &Init, msg: Envelope) {
        let now = out.mono_time();
        // Forget requests whose answer will never come.
        self.pending
            .retain(|_, (_, at)| now.saturating_sub(*at) < FORWARD_TTL);
        let mut body = msg.body.clone();
        body.msg_id = None;
        body.in_reply_to = None;
        let id = out.rpc(Forwarder::leader(init), body);
        self.pending.insert(id, (msg, now));
    }

    /// If `msg` is the leader's answer to a forwarded request, relays it
    /// to the client and returns true.
    pub fn relay(&mut self, out: &mut Out<'_>, msg: &Envelope) -> bool {
        let Some(id) = msg.body.in_reply_to else {
            return false;
        };
        let Some((request, _)) = self.pending.remove(&id) else {
            return false;
        };
        let mut body = msg.body.clone();
        body.msg_id = None;
        body.in_reply_to = None;
        out.reply(&request, body);
        true
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}
