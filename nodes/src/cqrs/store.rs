//! The write side: an event store, and the projection both the live read
//! model and its rebuild run.

use std::collections::BTreeMap;

use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::{Event, Msg};

/// The most events one fetch returns: a reply is one message.
pub const MAX_FETCH: usize = 1_000;

/// An append-only log of events, numbered from version 1. It keeps its log
/// in memory and no scenario crashes it.
#[derive(Clone, Debug, Default)]
pub struct Store {
    pub log: Vec<Event>,
}

impl Store {
    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Append { req, key, value } => {
                let version = self.log.len() as u64 + 1;
                self.log.push(Event {
                    version,
                    key,
                    value,
                    at: ctx.now(),
                });
                ctx.send(from, Msg::Appended { req, version });
            }
            Msg::Fetch { from: v } => {
                let start = (v.max(1) - 1) as usize;
                let events = self
                    .log
                    .get(start..)
                    .unwrap_or(&[])
                    .iter()
                    .take(MAX_FETCH)
                    .cloned()
                    .collect();
                ctx.send(from, Msg::Events { events });
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}

    pub fn status(&self) -> Status {
        Status {
            role: "store",
            fields: vec![("version", self.log.len().to_string())],
        }
    }
}

/// One row of the read model: a key's value, the version that set it, and
/// when it was last updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub value: i64,
    pub version: u64,
    pub updated_at: Nanos,
}

/// The read model: key -> row.
pub type Model = BTreeMap<u32, Row>;

/// Applies `event` to `model`. A correct projection is a function of the
/// events alone: the row's time is the event's. With `arrival_time` (the
/// bug flag) it is `now`, the time the projector happens to run, which a
/// replay does not reproduce.
pub fn project(model: &mut Model, event: &Event, now: Nanos, arrival_time: bool) {
    model.insert(
        event.key,
        Row {
            value: event.value,
            version: event.version,
            updated_at: if arrival_time { now } else { event.at },
        },
    );
}

/// A stable 64-bit hash of a model (FNV-1a over its rows in key order), so
/// the report can show two models equal or not.
pub fn hash(model: &Model) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (k, r) in model {
        eat(&k.to_le_bytes());
        eat(&r.value.to_le_bytes());
        eat(&r.version.to_le_bytes());
        eat(&r.updated_at.to_le_bytes());
    }
    h
}
