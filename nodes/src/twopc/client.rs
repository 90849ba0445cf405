use sim::client::ClientCore;
use sim::history::{Outcome, Value};
use sim::node::{Ctx, Request, Status, TimerId};

use super::{Bank, BankOp, Config, Msg, COORDINATOR};

/// A bank client: transfers go to the coordinator, balance reads to the
/// participant that owns the account.
#[derive(Clone, Debug)]
pub struct Client {
    core: ClientCore<BankOp>,
    bank: Bank,
}

impl Client {
    pub fn new(config: &Config) -> Self {
        Client {
            core: ClientCore::new(config.client.clone()),
            bank: config.bank,
        }
    }

    /// The message that carries operation `req`.
    pub fn message_for(req: &Request<BankOp>) -> Msg {
        let op = req.id.0;
        match req.f {
            BankOp::Balance { account } => Msg::Read { op, account },
            BankOp::Transfer { from, to, amount } => Msg::Transfer {
                op,
                from,
                to,
                amount,
            },
        }
    }

    fn send_open(&self, ctx: &mut Ctx<Msg>) {
        if let Some(open) = self.core.open() {
            let msg = Self::message_for(&open.req);
            let to = match &msg {
                Msg::Read { account, .. } => self.bank.owner(*account),
                _ => COORDINATOR,
            };
            ctx.send(to, msg);
        }
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request<BankOp>) {
        self.core.begin(ctx, req);
        self.send_open(ctx);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, msg: Msg) {
        match msg {
            Msg::TransferDone { op, committed } if self.core.answers_op(op) => {
                let outcome = if committed {
                    Outcome::Ok
                } else {
                    Outcome::Fail
                };
                self.core.finish(ctx, outcome, None);
            }
            Msg::ReadDone { op, balance } if self.core.answers_op(op) => {
                self.core
                    .finish(ctx, Outcome::Ok, Some(Value::Int(balance)));
            }
            // A late answer to an operation already given up.
            _ => {}
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
