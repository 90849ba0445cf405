//! The storage service: keeps the data and the highest token it accepted.

use std::collections::BTreeMap;

use chaoslab::sim::check::model::append_value;
use chaoslab::sim::client::{Seen, SessionTable};
use chaoslab::sim::history::{OpFn, Value};
use chaoslab::sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use chaoslab::sim::time::Nanos;

use crate::msg::{Msg, Token, WriteResult};

/// Where the storage keeps its state on disk (synced before every reply).
pub const STATE_KEY: (&str, u64) = ("state", 0);

/// What survives a crash: the data, the highest token, and the last write
/// of each client (so a retry after a restart is answered, not applied).
#[derive(Clone, Debug, Default)]
pub struct Durable {
    pub data: BTreeMap<String, Value>,
    pub highest: Token,
    pub sessions: SessionTable<WriteResult>,
}

/// A write the storage accepted, for the invariant checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub token: Token,
    pub client: NodeId,
    pub key: String,
    pub at: Nanos,
}

#[derive(Clone, Debug)]
pub struct Storage {
    fencing: bool,
    state: Durable,
    /// Every write accepted in this incarnation, in order.
    pub accepted: Vec<Accepted>,
    pub rejected: u64,
}

impl Storage {
    pub fn recover(fencing: bool, disk: &Disk) -> Self {
        Storage {
            fencing,
            state: disk.get::<Durable>(STATE_KEY).cloned().unwrap_or_default(),
            accepted: Vec::new(),
            rejected: 0,
        }
    }

    pub fn highest(&self) -> Token {
        self.state.highest
    }

    pub fn get(&self, key: &str) -> Value {
        self.state.data.get(key).cloned().unwrap_or(Value::Nil)
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Read { id, key } => {
                let value = self.get(&key);
                ctx.send(from, Msg::ReadReply { id, value });
            }
            Msg::Write { id, token, key, f } => {
                let result = match self.state.sessions.check(id) {
                    Seen::Retry(r) => r.clone(),
                    Seen::Stale => return,
                    Seen::New => self.write(ctx, id, token, key, &f),
                };
                ctx.send(from, Msg::WriteReply { id, result });
            }
            _ => {}
        }
    }

    /// The storage sets no timers.
    pub fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}

    fn write(
        &mut self,
        ctx: &mut Ctx<Msg>,
        id: chaoslab::sim::client::RequestId,
        token: Token,
        key: String,
        f: &OpFn,
    ) -> WriteResult {
        // The fencing check (Kleppmann 2016): a token older than one already
        // accepted comes from a client whose lease has run out and whose lock
        // someone else has held since. Refuse it, whatever it believes.
        if self.fencing && token < self.state.highest {
            self.rejected += 1;
            ctx.note("stale-token-rejected");
            let result = WriteResult::Stale {
                highest: self.state.highest,
            };
            self.state.sessions.record(id, result.clone());
            self.persist(ctx);
            return result;
        }
        let data = &mut self.state.data;
        let result = match f {
            OpFn::Write(v) => {
                data.insert(key.clone(), v.clone());
                WriteResult::Applied
            }
            OpFn::Append(v) => {
                let cur = data.entry(key.clone()).or_insert(Value::Nil);
                *cur = append_value(cur, v);
                WriteResult::Applied
            }
            OpFn::Delete => {
                data.remove(&key);
                WriteResult::Applied
            }
            OpFn::Cas { expected, new } => {
                if data.get(&key).unwrap_or(&Value::Nil) == expected {
                    data.insert(key.clone(), new.clone());
                    WriteResult::Applied
                } else {
                    WriteResult::FoundOther
                }
            }
            // Reads come as `Msg::Read`; a read under the lock changes nothing.
            OpFn::Read => WriteResult::FoundOther,
        };
        self.state.highest = self.state.highest.max(token);
        self.state.sessions.record(id, result.clone());
        self.accepted.push(Accepted {
            token,
            client: id.session.client,
            key,
            at: ctx.now(),
        });
        self.persist(ctx);
        result
    }

    fn persist(&self, ctx: &mut Ctx<Msg>) {
        ctx.disk().put(STATE_KEY, self.state.clone());
        ctx.disk().sync();
    }

    pub fn status(&self) -> Status {
        Status {
            role: "storage",
            fields: vec![
                ("highest token", self.state.highest.to_string()),
                ("keys", self.state.data.len().to_string()),
                ("rejected", self.rejected.to_string()),
            ],
        }
    }
}
