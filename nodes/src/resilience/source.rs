//! A load source: it sends requests to the service when its arrival process
//! says, whether or not the earlier ones were answered (an open loop).

use sim::arrivals::{Arrivals, OpenLoop};
use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::{Msg, SERVICE};

/// Sends requests at the times its [`Arrivals`] draws from the node's own
/// stream, and counts the answers.
#[derive(Clone, Debug)]
pub struct Source {
    load: OpenLoop,
}

impl Source {
    pub fn new(arrivals: Arrivals, stop: Nanos) -> Source {
        Source {
            load: OpenLoop::new(arrivals, stop),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.load.start(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if let Some(id) = self.load.arrived(timer) {
            ctx.send(SERVICE, Msg::Request { id });
            self.load.schedule(ctx);
        }
    }

    pub fn on_message(&mut self, _ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        if let Msg::Reply { refused, .. } = msg {
            self.load.answered(refused.is_none());
        }
    }

    pub fn status(&self) -> Status {
        self.load.status("refused")
    }
}
