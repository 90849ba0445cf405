use sim::client::{ClientConfig, ClientCore};
use sim::history::Outcome;
use sim::node::{Ctx, NodeId, Request, Status, TimerId};

use super::Msg;

/// A client of the single server: it sends each operation to `n1` and waits,
/// and retries it with the same request id, so the server applies it once.
#[derive(Clone, Debug)]
pub struct Client {
    core: ClientCore,
}

const SERVER: NodeId = NodeId(0);

impl Client {
    pub fn new(config: ClientConfig) -> Self {
        Client {
            core: ClientCore::new(config),
        }
    }

    fn send_open(&self, ctx: &mut Ctx<Msg>) {
        if let Some(open) = self.core.open() {
            ctx.send(
                SERVER,
                Msg::Request {
                    id: open.id,
                    key: open.req.key.clone(),
                    f: open.req.f.clone(),
                },
            );
        }
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        self.core.begin(ctx, req);
        self.send_open(ctx);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, msg: Msg) {
        let Msg::Reply {
            id,
            took_effect,
            output,
        } = msg
        else {
            return;
        };
        // A late reply to an attempt of an operation already given up is ignored.
        if !self.core.answers(id) {
            return;
        }
        // Only a cas can leave the store unchanged: it found another value.
        if took_effect {
            self.core.finish(ctx, Outcome::Ok, output);
        } else {
            self.core.found_other(ctx);
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
