//! The central counter: one algorithm for the whole system, asked about
//! every request.

use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};

use super::algo::{Algo, Decision};
use super::params::Config;
use super::Msg;

#[derive(Clone, Debug)]
pub struct Counter {
    algo: Algo,
    pub asked: u64,
    pub allowed: u64,
}

impl Counter {
    pub fn new(config: Arc<Config>) -> Counter {
        Counter {
            algo: Algo::new(&config),
            asked: 0,
            allowed: 0,
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let Msg::Ask { ask } = msg else {
            return;
        };
        self.asked += 1;
        // The leaky bucket is refused with mode = "central" (params.rs), so
        // every decision here is now or never.
        let allowed = matches!(self.algo.admit(ctx.now(), 0), Decision::Allow { .. });
        if allowed {
            self.allowed += 1;
        }
        ctx.send(from, Msg::Verdict { ask, allowed });
    }

    pub fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}

    pub fn status(&self) -> Status {
        Status {
            role: "counter",
            fields: vec![
                ("asked", self.asked.to_string()),
                ("allowed", self.allowed.to_string()),
            ],
        }
    }
}
