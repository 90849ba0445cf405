use sim::client::ClientCore;
use sim::history::{OpFn, Outcome, Value};
use sim::node::{Ctx, Request, Status, TimerId};

use super::{Bank, Config, Msg, COORDINATOR};

/// A bank client: transfers go to the coordinator, balance reads to the
/// participant that owns the account. See the module essay for how key-value
/// operations map onto the bank.
pub struct Client {
    core: ClientCore,
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
    pub fn message_for(bank: &Bank, req: &Request) -> Msg {
        let key: u32 = req.key.get(1..).and_then(|k| k.parse().ok()).unwrap_or(0);
        let value = match &req.f {
            OpFn::Read => {
                return Msg::Read {
                    op: req.id.0,
                    account: key % bank.accounts,
                }
            }
            OpFn::Write(v) | OpFn::Append(v) | OpFn::Cas { new: v, .. } => match v {
                Value::Int(i) => i.unsigned_abs(),
                _ => req.id.0,
            },
            OpFn::Delete => req.id.0,
        };
        let (from, to, amount) = bank.transfer_for(key, value);
        Msg::Transfer {
            op: req.id.0,
            from,
            to,
            amount,
        }
    }

    fn send_open(&self, ctx: &mut Ctx<Msg>) {
        if let Some(open) = self.core.open() {
            let msg = Self::message_for(&self.bank, &open.req);
            let to = match &msg {
                Msg::Read { account, .. } => self.bank.owner(*account),
                _ => COORDINATOR,
            };
            ctx.send(to, msg);
        }
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
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
