use sim::history::OpFn;
use sim::node::{Ctx, Disk, NodeId, Status};

use super::Msg;
use crate::kv::Kv;

/// A write-ahead log record: the key and the change.
#[derive(Clone, Debug)]
struct WalRecord {
    key: String,
    f: OpFn,
}

/// The one server: a key-value map rebuilt from its write-ahead log.
pub struct Server {
    kv: Kv,
    sync_writes: bool,
    next_wal: u64,
    applied: u64,
}

impl Server {
    /// Rebuilds the map by replaying the log: after a crash, only what was synced.
    pub fn recover(sync_writes: bool, disk: &Disk) -> Server {
        let mut kv = Kv::default();
        let indexes = disk.indexes("wal");
        for &i in &indexes {
            if let Some(r) = disk.get::<WalRecord>(("wal", i)) {
                kv.apply(&r.key, &r.f);
            }
        }
        Server {
            kv,
            sync_writes,
            next_wal: indexes.last().map_or(1, |i| i + 1),
            applied: 0,
        }
    }

    pub fn on_start(&mut self, _ctx: &mut Ctx<Msg>) {}

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let Msg::Request { op, key, f } = msg else {
            return;
        };
        let applied = self.kv.apply(&key, &f);
        self.applied += 1;
        if applied.took_effect && f != OpFn::Read {
            ctx.disk().put(("wal", self.next_wal), WalRecord { key, f });
            self.next_wal += 1;
            if self.sync_writes {
                ctx.disk().sync();
            }
        }
        ctx.send(
            from,
            Msg::Reply {
                op,
                took_effect: applied.took_effect,
                output: applied.output,
            },
        );
    }

    pub fn status(&self) -> Status {
        Status {
            role: "server",
            fields: vec![
                ("keys", self.kv.len().to_string()),
                ("applied", self.applied.to_string()),
                ("wal", (self.next_wal - 1).to_string()),
                ("sync", self.sync_writes.to_string()),
            ],
        }
    }
}
