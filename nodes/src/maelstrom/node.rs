//! The node a learner writes: a sans-IO handler of Maelstrom messages.
//!
//! [`MaelNode`] is all a node implements. It sees only envelopes and its
//! own timers, and answers through [`Out`]: envelopes to send (to any node
//! name, a client's or another server's), timers to set. It never sees
//! chaoslab's node ids, its kernel or its history: the [`Server`] host
//! that carries it does that work, so the same workloads, harness and
//! checkers grade any implementation (a reference node here, a learner's
//! Rust crate, or a process speaking JSON on stdin/stdout behind a driver).
//!
//! [`Server`]: super::Server

use std::fmt;

use rand::RngCore;
use sim::time::Nanos;

use super::wire::{Body, Envelope};

/// A Maelstrom node. See the module documentation.
///
/// It must answer `init` (with `init_ok`) itself, as a Maelstrom node
/// does; `node_ids` in it lists every server.
pub trait MaelNode: fmt::Debug + Send {
    /// An envelope addressed to this node arrived.
    fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope);

    /// Timer `timer`, set through [`Out::set_timer`], fired.
    fn on_timer(&mut self, _out: &mut Out<'_>, _timer: u64) {}

    /// A few named fields for the TUI and the trace (`values: 12`).
    fn fields(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// A copy in the same state: `chaoslab explore` forks runs.
    fn clone_node(&self) -> Box<dyn MaelNode>;
}

impl Clone for Box<dyn MaelNode> {
    fn clone(&self) -> Self {
        self.clone_node()
    }
}

/// What a timer request asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerOp {
    Set { id: u64, after: Nanos },
    Cancel { id: u64 },
}

/// A node's window on the world while one handler runs: what it may do,
/// recorded for its host to carry out.
pub struct Out<'a> {
    me: &'a str,
    mono: Nanos,
    rng: &'a mut dyn RngCore,
    next_msg_id: &'a mut u64,
    pub(crate) sent: Vec<Envelope>,
    pub(crate) timers: Vec<TimerOp>,
}

impl<'a> Out<'a> {
    /// A window for node `me` at monotonic time `mono`. Hosts and unit
    /// tests build one; `next_msg_id` is the counter [`Out::rpc`] draws from.
    pub fn new(
        me: &'a str,
        mono: Nanos,
        rng: &'a mut dyn RngCore,
        next_msg_id: &'a mut u64,
    ) -> Out<'a> {
        Out {
            me,
            mono,
            rng,
            next_msg_id,
            sent: Vec::new(),
            timers: Vec::new(),
        }
    }

    /// This node's name, as the harness gives it in `init`.
    pub fn me(&self) -> &str {
        self.me
    }

    /// This node's monotonic clock: for timeouts, never for ordering.
    pub fn mono_time(&self) -> Nanos {
        self.mono
    }

    /// This node's own seeded random stream.
    pub fn rng(&mut self) -> &mut dyn RngCore {
        self.rng
    }

    /// Sends `body` to `dest` as it is (with whatever `msg_id` it has).
    pub fn send(&mut self, dest: &str, body: Body) {
        self.sent.push(Envelope::new(self.me, dest, body));
    }

    /// Sends `body` to `dest` with a fresh `msg_id`, and returns that id:
    /// the reply will carry it in `in_reply_to`.
    pub fn rpc(&mut self, dest: &str, body: Body) -> u64 {
        *self.next_msg_id += 1;
        let id = *self.next_msg_id;
        self.send(dest, body.with_msg_id(id));
        id
    }

    /// Answers `request` with `body`: to its sender, `in_reply_to` its `msg_id`.
    pub fn reply(&mut self, request: &Envelope, body: Body) {
        let body = body.replying_to(request.body.msg_id);
        self.sent
            .push(Envelope::new(self.me, request.src.as_str(), body));
    }

    /// Sets (or moves) timer `id` to fire after `after` of this node's
    /// monotonic clock.
    pub fn set_timer(&mut self, id: u64, after: Nanos) {
        self.timers.push(TimerOp::Set { id, after });
    }

    pub fn cancel_timer(&mut self, id: u64) {
        self.timers.push(TimerOp::Cancel { id });
    }

    /// What the handler sent, for unit tests.
    pub fn sent(&self) -> &[Envelope] {
        &self.sent
    }
}

/// What every node learns from `init`, and how it answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Init {
    pub node_id: String,
    pub node_ids: Vec<String>,
}

impl Init {
    /// If `msg` is an `init`, answers `init_ok` and returns what it said.
    pub fn answer(out: &mut Out<'_>, msg: &Envelope) -> Option<Init> {
        if msg.body.kind != "init" {
            return None;
        }
        let init = Init {
            node_id: msg
                .body
                .get("node_id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string(),
            node_ids: msg.body.strings("node_ids").unwrap_or_default(),
        };
        out.reply(msg, Body::new("init_ok"));
        Some(init)
    }

    /// The other nodes.
    pub fn others(&self) -> impl Iterator<Item = &str> {
        self.node_ids
            .iter()
            .map(String::as_str)
            .filter(move |n| *n != self.node_id)
    }
}
