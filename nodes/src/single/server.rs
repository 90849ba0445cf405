use sim::client::{RequestId, Seen, SessionTable};
use sim::history::{OpFn, Value};
use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::{Msg, Params};

const FLUSH: TimerId = TimerId(1);
use crate::kv::Kv;

/// A write-ahead log record: the key, the change, and the request that made
/// it (so that recovery rebuilds the session table with the data).
#[derive(Clone, Debug)]
struct WalRecord {
    id: RequestId,
    key: String,
    f: OpFn,
}

/// What the server answered a request: (took effect, output).
type Answer = (bool, Option<Value>);

/// The checkpoint: the map, the session table, and the first log index it
/// does not cover.
type Checkpoint = (Kv, SessionTable<Answer>, u64);

/// After this many log records the server writes a checkpoint of the whole map
/// and drops the records it covers, so the log (and recovery) stays short.
const CHECKPOINT_EVERY: u64 = 1_000;

/// The one server: a key-value map rebuilt from its checkpoint and write-ahead log.
pub struct Server {
    kv: Kv,
    /// At-most-once: per client, the last request applied and its answer.
    /// It changes with the map and is persisted with it (in the log records
    /// and the checkpoint), so it never claims a write the map lost, nor
    /// forgets one the map kept.
    sessions: SessionTable<Answer>,
    /// Retries answered from the session table instead of applied again.
    retries: u64,
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
        let (mut kv, mut sessions, wal_start) = disk
            .get::<Checkpoint>(("checkpoint", 0))
            .cloned()
            .unwrap_or((Kv::default(), SessionTable::default(), 1));
        let indexes = disk.indexes("wal");
        for &i in indexes.iter().filter(|&&i| i >= wal_start) {
            if let Some(r) = disk.get::<WalRecord>(("wal", i)) {
                let applied = kv.apply(&r.key, &r.f);
                sessions.record(r.id, (applied.took_effect, applied.output));
            }
        }
        Server {
            kv,
            sessions,
            retries: 0,
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
        let checkpoint: Checkpoint = (self.kv.clone(), self.sessions.clone(), upto);
        disk.put(("checkpoint", 0), checkpoint);
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
        let Msg::Request { id, key, f } = msg else {
            return;
        };
        match self.sessions.check(id) {
            Seen::New => {}
            Seen::Retry(&(took_effect, ref output)) => {
                // Applied already, its reply lost or slow: answer it again.
                self.retries += 1;
                let output = output.clone();
                ctx.send(
                    from,
                    Msg::Reply {
                        id,
                        took_effect,
                        output,
                    },
                );
                return;
            }
            // The client has moved on, or restarted since: nobody waits.
            Seen::Stale => return,
        }
        let applied = self.kv.apply(&key, &f);
        self.applied += 1;
        self.sessions
            .record(id, (applied.took_effect, applied.output.clone()));
        if applied.took_effect && f != OpFn::Read {
            ctx.disk()
                .put(("wal", self.next_wal), WalRecord { id, key, f });
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
                id,
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
                ("retries", self.retries.to_string()),
                ("wal", (self.next_wal - 1).to_string()),
                ("sync", self.sync_writes.to_string()),
            ],
        }
    }
}
