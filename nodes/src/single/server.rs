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
#[derive(Clone, Debug)]
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

    /// Retries answered from the session table (since the last restart).
    pub fn retries(&self) -> u64 {
        self.retries
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use sim::client::{RequestId, SessionId};
    use sim::history::{OpFn, Value};
    use sim::node::{Clock, Cluster, Ctx, Disk, Effect, NodeId};

    use super::super::{Msg, Params};
    use super::Server;

    const C1: NodeId = NodeId(1);
    const C2: NodeId = NodeId(2);

    fn id(client: NodeId, incarnation: u64, seq: u64) -> RequestId {
        RequestId {
            session: SessionId {
                client,
                incarnation,
            },
            seq,
        }
    }

    fn params() -> Params {
        Params {
            sync_writes: true,
            flush_interval: sim::time::secs(1),
        }
    }

    /// Runs `f` in a context of the server and returns its effects.
    fn run(disk: &mut Disk, f: impl FnOnce(&mut Ctx<Msg>)) -> Vec<Effect<Msg>> {
        let cluster = Cluster::new(1, 2);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut effects = Vec::new();
        let mut ctx = Ctx::new(
            NodeId(0),
            0,
            Clock::default(),
            &mut rng,
            disk,
            &cluster,
            &mut effects,
        );
        f(&mut ctx);
        effects
    }

    /// The server over its own disk, driven by hand.
    struct Bench {
        disk: Disk,
        server: Server,
    }

    impl Bench {
        fn new() -> Self {
            let disk = Disk::default();
            let server = Server::recover(&params(), &disk);
            Bench { disk, server }
        }

        /// The server restarts from what its disk holds.
        fn restart(&mut self) {
            self.server = Server::recover(&params(), &self.disk);
        }

        /// Delivers a put of request `id` and returns the replies it caused.
        fn put(&mut self, id: RequestId, v: i64) -> Vec<Msg> {
            let msg = Msg::Request {
                id,
                key: "k".into(),
                f: OpFn::Write(Value::Int(v)),
            };
            let server = &mut self.server;
            run(&mut self.disk, |ctx| {
                server.on_message(ctx, id.session.client, msg)
            })
            .into_iter()
            .filter_map(|e| match e {
                Effect::Send { msg, .. } => Some(msg),
                _ => None,
            })
            .collect()
        }

        fn value(&self) -> Value {
            self.server.kv.get("k")
        }
    }

    #[test]
    fn a_retried_write_is_answered_from_the_session_table_not_applied_again() {
        // Issue 23 item 1: c1's put 1 is applied, its reply lost; c2 puts 2;
        // c1's retry of put 1 must not write 1 back over 2.
        let mut b = Bench::new();
        assert_eq!(b.put(id(C1, 0, 1), 1).len(), 1);
        b.put(id(C2, 0, 1), 2);
        let replies = b.put(id(C1, 0, 1), 1);
        assert_eq!(
            replies,
            vec![Msg::Reply {
                id: id(C1, 0, 1),
                took_effect: true,
                output: None
            }],
            "the retry is answered as the first attempt was"
        );
        assert_eq!(b.value(), Value::Int(2), "and not applied again");
        assert_eq!(b.server.retries, 1);
    }

    #[test]
    fn the_session_table_survives_a_server_restart_with_the_writes() {
        let mut b = Bench::new();
        b.put(id(C1, 0, 1), 1);
        b.put(id(C2, 0, 1), 2);
        // The server restarts from its (synced) log; c1's retry arrives.
        b.restart();
        assert_eq!(b.value(), Value::Int(2));
        b.put(id(C1, 0, 1), 1);
        assert_eq!(b.value(), Value::Int(2), "recognised as a retry");
        // The same from a checkpoint.
        let server = &mut b.server;
        run(&mut b.disk, |ctx| server.checkpoint(ctx));
        assert!(b.disk.indexes("wal").is_empty(), "the log is covered");
        b.restart();
        b.put(id(C2, 0, 1), 2);
        b.put(id(C1, 0, 1), 1);
        assert_eq!(b.value(), Value::Int(2));
    }

    #[test]
    fn a_restarted_client_is_a_new_session_and_its_old_retries_are_stale() {
        let mut b = Bench::new();
        b.put(id(C1, 0, 1), 1);
        b.put(id(C1, 0, 2), 2);
        // c1 restarts: its seq 1 is a new write.
        b.put(id(C1, 1, 1), 3);
        assert_eq!(b.value(), Value::Int(3));
        // Its dead predecessor's retry arrives late: not applied, no answer.
        assert!(b.put(id(C1, 0, 2), 2).is_empty());
        assert_eq!(b.value(), Value::Int(3));
    }
}
