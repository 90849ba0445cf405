//! The broker and the consumer: a single log, read once, in order.

use std::collections::BTreeMap;

use sim::node::{Ctx, NodeId, Status, TimerId};

use super::{Event, Msg, CONSUMER};

/// A one-partition log. It appends every event it is sent, acknowledges it
/// to the sender, and hands it to the consumer with its offset. It keeps its
/// log in memory and no scenario crashes it: the lesson is about the
/// service's two writes, not the broker's durability (`protocol = "log"`
/// is about that).
#[derive(Clone, Debug, Default)]
pub struct Broker {
    pub log: Vec<Event>,
}

impl Broker {
    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        if let Msg::Publish { event } = msg {
            let offset = self.log.len() as u64;
            let id = event.id;
            self.log.push(event.clone());
            ctx.send(from, Msg::Ack { id });
            ctx.send(CONSUMER, Msg::Deliver { offset, event });
        }
    }

    pub fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}

    pub fn status(&self) -> Status {
        Status {
            role: "broker",
            fields: vec![("log", self.log.len().to_string())],
        }
    }
}

/// The consumer keeps the downstream view: each order's amount, added up
/// from the events it applies (a revenue total, say, so that applying an
/// event twice counts it twice). It reads every offset exactly once, in
/// whatever order the network brings them, so its offsets are perfect: a
/// duplicate it applies is a second copy at another offset. With `dedup`,
/// it keeps the id of every event it applied, in the view's own store, and
/// drops a repeat.
#[derive(Clone, Debug)]
pub struct Consumer {
    dedup: bool,
    /// Order id -> the amount the view holds for it.
    pub view: BTreeMap<u64, i64>,
    /// Event id -> how many times it was applied.
    pub applied: BTreeMap<u64, u32>,
    pub repeats_dropped: u64,
    /// Offsets read.
    pub read: u64,
}

impl Consumer {
    pub fn new(dedup: bool) -> Consumer {
        Consumer {
            dedup,
            view: BTreeMap::new(),
            applied: BTreeMap::new(),
            repeats_dropped: 0,
            read: 0,
        }
    }

    pub fn on_message(&mut self, _ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        let Msg::Deliver { event, .. } = msg else {
            return;
        };
        self.read += 1;
        if self.dedup && self.applied.contains_key(&event.id) {
            self.repeats_dropped += 1;
            return;
        }
        *self.applied.entry(event.id).or_insert(0) += 1;
        *self.view.entry(event.order).or_insert(0) += event.amount;
    }

    pub fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}

    pub fn status(&self) -> Status {
        Status {
            role: "consumer",
            fields: vec![
                ("read", self.read.to_string()),
                ("orders in view", self.view.len().to_string()),
                ("repeats dropped", self.repeats_dropped.to_string()),
            ],
        }
    }
}
