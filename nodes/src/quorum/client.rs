//! A ring-aware client: it sends each operation to a node on the key's ring
//! walk, and each retry to the next one.

use std::sync::Arc;

use rand::Rng;
use sim::client::{ClientConfig, ClientCore};
use sim::history::Outcome;
use sim::node::{Ctx, Request, Status, TimerId};

use super::{Answer, Coordinator, Msg, Params, Timeline};

#[derive(Clone, Debug)]
pub struct Client {
    core: ClientCore,
    params: Arc<Params>,
    timeline: Arc<Timeline>,
    /// Where on the key's ring walk the open operation's first attempt went.
    start: usize,
}

impl Client {
    pub fn new(params: Arc<Params>, timeline: Arc<Timeline>, config: ClientConfig) -> Client {
        Client {
            core: ClientCore::new(config),
            params,
            timeline,
            start: 0,
        }
    }

    fn send_open(&self, ctx: &mut Ctx<Msg>) {
        let Some(open) = self.core.open() else {
            return;
        };
        let walk = self.timeline.at(ctx.now()).walk(&open.req.key);
        let Some(to) = self.core.rotate(&walk, self.start) else {
            return;
        };
        ctx.send(
            to,
            Msg::Request {
                op: open.req.id.0,
                key: open.req.key.clone(),
                f: open.req.f.clone(),
            },
        );
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        self.start = match self.params.coordinator {
            Coordinator::Preferred => 0,
            Coordinator::Random => ctx.rng().gen_range(0..self.params.n),
        };
        self.core.begin(ctx, req);
        self.send_open(ctx);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, msg: Msg) {
        let Msg::Reply { op, answer } = msg else {
            return;
        };
        if !self.core.answers_op(op) {
            return;
        }
        let is_read = self.core.is_read();
        match answer {
            Answer::Ok(v) => self.core.finish(ctx, Outcome::Ok, v),
            Answer::Mismatch => self.core.found_other(ctx),
            Answer::Unavailable if is_read => {
                self.core.refused(ctx);
            }
            // The write may have reached some replicas: it can surface later.
            Answer::Unavailable => self.core.refused_maybe_applied(ctx),
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if self.core.resend_due(ctx, timer) {
            self.send_open(ctx);
        }
    }

    pub fn status(&self) -> Status {
        self.core.status()
    }
}
