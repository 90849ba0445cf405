//! The read side: a projector that builds the read model from the event
//! store, and serves reads from it.

use std::collections::VecDeque;
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::Config;
use super::store::{project, Model};
use super::{Event, Msg, STORE};

const POLL: TimerId = TimerId(0);
const APPLY: TimerId = TimerId(1);

/// A read waiting for the model to reach its version.
#[derive(Clone, Copy, Debug)]
struct Parked {
    from: NodeId,
    req: u64,
    key: u32,
    min_version: u64,
}

/// Fetches new events every `batch_interval`, applies them one at a time,
/// `processing_time` each, and answers reads from the model as it stands
/// (or, for a read that names a version, once the model has it).
#[derive(Clone, Debug)]
pub struct Projector {
    config: Arc<Config>,
    pub model: Model,
    /// The version of the last event applied.
    pub applied: u64,
    pending: VecDeque<Event>,
    applying: bool,
    parked: Vec<Parked>,
    /// For each event applied: when it was applied and how long after its
    /// append (the read model's lag).
    pub lags: Vec<(Nanos, Nanos)>,
}

impl Projector {
    pub fn new(config: Arc<Config>) -> Projector {
        Projector {
            config,
            model: Model::new(),
            applied: 0,
            pending: VecDeque::new(),
            applying: false,
            parked: Vec::new(),
            lags: Vec::new(),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        ctx.set_timer(POLL, self.config.batch_interval);
    }

    /// The next version the projector does not hold yet.
    fn next(&self) -> u64 {
        self.applied + self.pending.len() as u64 + 1
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            POLL => {
                ctx.send(STORE, Msg::Fetch { from: self.next() });
                ctx.set_timer(POLL, self.config.batch_interval);
            }
            APPLY => self.apply(ctx),
            _ => {}
        }
    }

    fn apply(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(event) = self.pending.pop_front() else {
            self.applying = false;
            return;
        };
        let now = ctx.now();
        project(
            &mut self.model,
            &event,
            now,
            self.config.projection_uses_arrival_time,
        );
        self.applied = event.version;
        self.lags.push((now, now - event.at));
        let applied = self.applied;
        let model = &self.model;
        self.parked.retain(|p| {
            if p.min_version > applied {
                return true;
            }
            ctx.send(p.from, reply(model, p.req, p.key, applied));
            false
        });
        if self.pending.is_empty() {
            self.applying = false;
        } else {
            ctx.set_timer(APPLY, self.config.processing_time);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Events { events } => {
                // Two fetches may overlap: take only the versions that
                // follow what is held, in order.
                for e in events {
                    if e.version == self.next() {
                        self.pending.push_back(e);
                    }
                }
                if !self.applying && !self.pending.is_empty() {
                    self.applying = true;
                    ctx.set_timer(APPLY, self.config.processing_time);
                }
            }
            Msg::Read {
                req,
                key,
                min_version,
            } => {
                if min_version > self.applied {
                    self.parked.push(Parked {
                        from,
                        req,
                        key,
                        min_version,
                    });
                } else {
                    ctx.send(from, reply(&self.model, req, key, self.applied));
                }
            }
            _ => {}
        }
    }

    /// Reads parked until the model reaches their version.
    pub fn parked(&self) -> usize {
        self.parked.len()
    }

    pub fn status(&self) -> Status {
        Status {
            role: "projector",
            fields: vec![
                ("applied", self.applied.to_string()),
                ("pending", self.pending.len().to_string()),
                ("parked reads", self.parked.len().to_string()),
            ],
        }
    }
}

fn reply(model: &Model, req: u64, key: u32, applied: u64) -> Msg {
    let row = model.get(&key);
    Msg::ReadReply {
        req,
        value: row.map(|r| r.value),
        key_version: row.map_or(0, |r| r.version),
        model_version: applied,
    }
}
