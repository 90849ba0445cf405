//! A load source: it sends requests to its limiter when its arrival
//! process says, whether or not the earlier ones were answered (an open
//! loop).

use sim::arrivals::Arrivals;
use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::Msg;

/// The timer of the next arrival.
pub const ARRIVE: TimerId = TimerId(0);

/// Sends requests at the times its [`Arrivals`] draws from the node's own
/// stream, and counts the answers.
#[derive(Clone, Debug)]
pub struct Source {
    arrivals: Arrivals,
    stop: Nanos,
    /// The limiter this source sends to.
    to: NodeId,
    /// The time of the last arrival drawn.
    last: Nanos,
    next_id: u64,
    pub sent: u64,
    pub served: u64,
    pub refused: u64,
}

impl Source {
    pub fn new(arrivals: Arrivals, stop: Nanos, to: NodeId) -> Source {
        Source {
            arrivals,
            stop,
            to,
            last: 0,
            next_id: 0,
            sent: 0,
            served: 0,
            refused: 0,
        }
    }

    fn schedule(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        if let Some(at) = self.arrivals.next(self.last.max(now), self.stop, ctx.rng()) {
            self.last = at;
            ctx.set_timer(ARRIVE, at - now);
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        // A restarted source starts drawing from now, not from its last life.
        self.last = ctx.now();
        self.schedule(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer != ARRIVE {
            return;
        }
        self.next_id += 1;
        self.sent += 1;
        ctx.send(self.to, Msg::Request { id: self.next_id });
        self.schedule(ctx);
    }

    pub fn on_message(&mut self, _ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        if let Msg::Reply { refused, .. } = msg {
            match refused {
                None => self.served += 1,
                Some(_) => self.refused += 1,
            }
        }
    }

    pub fn status(&self) -> Status {
        Status {
            role: "source",
            fields: vec![
                ("sent", self.sent.to_string()),
                ("served", self.served.to_string()),
                ("refused", self.refused.to_string()),
            ],
        }
    }
}
