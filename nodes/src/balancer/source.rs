//! A load source: it sends requests to the balancer when its arrival
//! process says, whether or not the earlier ones were answered (an open
//! loop), each with a key drawn uniformly from `0..keys`.

use rand::Rng;
use sim::arrivals::{Arrivals, OpenLoop};
use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::{Msg, BALANCER};

#[derive(Clone, Debug)]
pub struct Source {
    load: OpenLoop,
    keys: u32,
}

impl Source {
    pub fn new(arrivals: Arrivals, stop: Nanos, keys: u32) -> Source {
        Source {
            load: OpenLoop::new(arrivals, stop),
            keys,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.load.start(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if let Some(id) = self.load.arrived(timer) {
            // The key is drawn before the next arrival.
            let key = u64::from(ctx.rng().gen_range(0..self.keys));
            ctx.send(BALANCER, Msg::Request { id, key });
            self.load.schedule(ctx);
        }
    }

    pub fn on_message(&mut self, _ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        if let Msg::Reply { refused, .. } = msg {
            self.load.answered(refused.is_none());
        }
    }

    pub fn status(&self) -> Status {
        self.load.status("failed")
    }
}
