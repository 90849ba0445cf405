use sim::history::OpFn;
use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::{Msg, Params};

const FLUSH: TimerId = TimerId(1);
use crate::kv::Kv;

/// A write-ahead log record: the key and the change.
#[derive(Clone, Debug)]
struct WalRecord {
    key: String,
    f: OpFn,
}

/// After this many log records the server writes a checkpoint of the whole map
/// and drops the records it covers, so the log (and recovery) stays short.
const CHECKPOINT_EVERY: u64 = 1_000;

/// The one server: a key-value map rebuilt from its checkpoint and write-ahead log.
pub struct Server {
    kv: Kv,
    sync_writes: bool,
    flush_interval: Nanos,
    next_wal: u64,
    /// The first log index not covered by the checkpoint.
    wal_start: u64,
    applied: u64,
}

impl Server {
    /// Rebuilds the map from the checkpoint and the log records after it: after
    /// a crash, only what was synced.
    pub fn recover(params: &Params, disk: &Disk) -> Server {
        let (mut kv, wal_start) = disk
            .get::<(Kv, u64)>(("checkpoint", 0))
            .cloned()
            .unwrap_or((Kv::default(), 1));
        let indexes = disk.indexes("wal");
        for &i in indexes.iter().filter(|&&i| i >= wal_start) {
            if let Some(r) = disk.get::<WalRecord>(("wal", i)) {
                kv.apply(&r.key, &r.f);
            }
        }
        Server {
            kv,
            sync_writes: params.sync_writes,
            flush_interval: params.flush_interval,
            next_wal: indexes.last().map_or(wal_start, |i| (i + 1).max(wal_start)),
            wal_start,
            applied: 0,
        }
    }

    fn checkpoint(&mut self, ctx: &mut Ctx<Msg>) {
        let upto = self.next_wal;
        let disk = ctx.disk();
        disk.put(("checkpoint", 0), (self.kv.clone(), upto));
        for i in self.wal_start..upto {
            disk.delete(("wal", i));
        }
        self.wal_start = upto;
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        if !self.sync_writes {
            ctx.set_timer(FLUSH, self.flush_interval);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer == FLUSH {
            ctx.disk().sync();
            ctx.set_timer(FLUSH, self.flush_interval);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let Msg::Request { op, key, f } = msg else {
            return;
        };
        let applied = self.kv.apply(&key, &f);
        self.applied += 1;
        if applied.took_effect && f != OpFn::Read {
            ctx.disk().put(("wal", self.next_wal), WalRecord { key, f });
            self.next_wal += 1;
            if self.next_wal - self.wal_start >= CHECKPOINT_EVERY {
                self.checkpoint(ctx);
            }
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
