//! The host of one Maelstrom node on chaoslab's kernel, and the harness
//! messages Maelstrom sends before a test: `init`, then (for broadcast)
//! `topology`.
//!
//! The host turns the node's envelopes into kernel sends (a name becomes a
//! node id), its timers into kernel timers, and counts what the checkers
//! report beside the history: messages between servers (Maelstrom's
//! "messages per operation" counts those), and envelopes to names nobody
//! has. The harness messages come from [`HARNESS`], a name no client has
//! (clients are `c1..`); the host answers for it, so the node's `init_ok`
//! and `topology_ok` never travel.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};

use super::node::{MaelNode, Out, TimerOp};
use super::wire::{Body, Envelope};

/// The name the harness messages come from.
pub const HARNESS: &str = "c0";

/// What the harness tells every node.
#[derive(Clone, Debug)]
pub struct Harness {
    /// Every server's name, in order (`init`'s `node_ids`).
    pub node_ids: Vec<String>,
    /// Each node's neighbours, sent in a `topology` message after
    /// `init_ok` (broadcast only).
    pub topology: Option<BTreeMap<String, Vec<String>>>,
}

/// One server: a [`MaelNode`] and its host's counters.
#[derive(Clone, Debug)]
pub struct Server {
    node: Box<dyn MaelNode>,
    harness: Arc<Harness>,
    /// The node answered `init` (and, when one was sent, `topology`).
    pub init_ok: bool,
    pub topology_ok: bool,
    /// Envelopes this life sent to other servers.
    pub server_msgs: u64,
    /// Envelopes addressed to a name no node has.
    pub unroutable: u64,
    /// Which life of the node this is (the kernel's incarnation).
    pub life: u64,
    next_msg_id: u64,
}

impl Server {
    pub fn new(node: Box<dyn MaelNode>, harness: Arc<Harness>) -> Server {
        Server {
            node,
            harness,
            init_ok: false,
            topology_ok: false,
            server_msgs: 0,
            unroutable: 0,
            life: 0,
            next_msg_id: 0,
        }
    }

    /// Starts (or restarts: a restarted node remembers nothing) by
    /// delivering `init`.
    pub fn on_start(&mut self, ctx: &mut Ctx<Envelope>) {
        self.life = ctx.incarnation();
        // Each life numbers its messages from its own block, so a late
        // reply to an earlier life's message (a `gossip_ok` still in
        // flight) can never be taken for a reply to this life's.
        self.next_msg_id = ctx.incarnation() << 32;
        let me = ctx.cluster().name(ctx.me()).to_string();
        let init = Body::new("init")
            .with_msg_id(1)
            .with("node_id", me.as_str())
            .with("node_ids", self.harness.node_ids.clone());
        self.deliver(ctx, Envelope::new(HARNESS, me, init));
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Envelope>, _from: NodeId, msg: Envelope) {
        self.deliver(ctx, msg);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Envelope>, timer: TimerId) {
        let me = ctx.cluster().name(ctx.me()).to_string();
        let mono = ctx.mono_time();
        let mut ids = self.next_msg_id;
        let mut out = Out::new(&me, mono, ctx.rng(), &mut ids);
        self.node.on_timer(&mut out, timer.0);
        let (sent, timers) = (
            std::mem::take(&mut out.sent),
            std::mem::take(&mut out.timers),
        );
        self.next_msg_id = ids;
        // A node may answer the harness from a timer (an `init_ok` it
        // deferred): the harness hears it as it hears a handler's reply.
        for reply in self.carry_out(ctx, sent, timers) {
            if let Some(next) = self.harness_reply(&me, &reply) {
                self.deliver(ctx, next);
            }
        }
    }

    /// Carries out envelopes the node sent on its own, outside any handler
    /// of ours: a node that runs as a process prints when it likes (its
    /// own gossip loop, a reply it worked out later), and its driver hands
    /// each line here. They go out as a handler's sends do; one addressed
    /// to the harness (`init_ok`) is answered as a handler's reply is.
    pub fn emit(&mut self, ctx: &mut Ctx<Envelope>, sent: Vec<Envelope>) {
        let me = ctx.cluster().name(ctx.me()).to_string();
        for reply in self.carry_out(ctx, sent, Vec::new()) {
            if let Some(next) = self.harness_reply(&me, &reply) {
                self.deliver(ctx, next);
            }
        }
    }

    /// Hands `msg` to the node, then carries out what it did; the
    /// harness's replies are answered here, which may deliver the next
    /// harness message.
    fn deliver(&mut self, ctx: &mut Ctx<Envelope>, msg: Envelope) {
        let mut inbox = VecDeque::from([msg]);
        while let Some(msg) = inbox.pop_front() {
            let me = ctx.cluster().name(ctx.me()).to_string();
            let mono = ctx.mono_time();
            let mut ids = self.next_msg_id;
            let mut out = Out::new(&me, mono, ctx.rng(), &mut ids);
            self.node.on_message(&mut out, msg);
            let (sent, timers) = (
                std::mem::take(&mut out.sent),
                std::mem::take(&mut out.timers),
            );
            self.next_msg_id = ids;
            let harness_replies = self.carry_out(ctx, sent, timers);
            for reply in harness_replies {
                if let Some(next) = self.harness_reply(&me, &reply) {
                    inbox.push_back(next);
                }
            }
        }
    }

    /// What the harness does with the node's reply: `init_ok` is followed
    /// by `topology` when the workload has one.
    fn harness_reply(&mut self, me: &str, reply: &Envelope) -> Option<Envelope> {
        match (reply.body.kind.as_str(), reply.body.in_reply_to) {
            ("init_ok", Some(1)) if !self.init_ok => {
                self.init_ok = true;
                let topology = self.harness.topology.as_ref()?;
                let body = Body::new("topology").with_msg_id(2).with(
                    "topology",
                    serde_json::to_value(topology).expect("a map of names serialises"),
                );
                Some(Envelope::new(HARNESS, me, body))
            }
            ("topology_ok", Some(2)) => {
                self.topology_ok = true;
                None
            }
            _ => None,
        }
    }

    /// Sends what the node sent and sets its timers; returns the envelopes
    /// addressed to the harness.
    fn carry_out(
        &mut self,
        ctx: &mut Ctx<Envelope>,
        sent: Vec<Envelope>,
        timers: Vec<TimerOp>,
    ) -> Vec<Envelope> {
        let mut to_harness = Vec::new();
        for env in sent {
            if env.dest == HARNESS {
                to_harness.push(env);
                continue;
            }
            match ctx.cluster().by_name(&env.dest) {
                Some(to) => {
                    // Maelstrom's "messages per operation" counts messages
                    // between servers: not those to clients or services.
                    if !ctx.cluster().is_client(to) && !ctx.cluster().is_service(to) {
                        self.server_msgs += 1;
                    }
                    ctx.send(to, env);
                }
                None => self.unroutable += 1,
            }
        }
        for t in timers {
            match t {
                TimerOp::Set { id, after } => ctx.set_timer(TimerId(id), after),
                TimerOp::Cancel { id } => ctx.cancel_timer(TimerId(id)),
            }
        }
        to_harness
    }

    pub fn status(&self) -> Status {
        let mut fields = vec![
            (
                "init",
                if self.init_ok { "ok" } else { "waiting" }.to_string(),
            ),
            ("server msgs", self.server_msgs.to_string()),
        ];
        fields.extend(self.node.fields());
        Status {
            role: "server",
            fields,
        }
    }
}
