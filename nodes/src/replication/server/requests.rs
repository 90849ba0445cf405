//! A data server's answers to clients: reads by the read routing, writes
//! appended by the primary and acknowledged by the mode (sync, async,
//! semi-sync), retries answered from the session table.

use sim::client::{RequestId, Seen};
use sim::history::OpFn;
use sim::node::{Ctx, NodeId};

use super::{Answer, Entry, Msg, Op, Pos, Role, Server};
use crate::replication::ReadRouting;

impl Server {
    pub(super) fn on_request(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        (id, attempt): (RequestId, u64),
        key: String,
        f: OpFn,
        min: Option<Pos>,
    ) {
        // Every answer echoes the attempt it answers: the client acts only
        // on the answer to its latest send (see the client).
        let reply = |ctx: &mut Ctx<Msg>, answer| {
            ctx.send(
                from,
                Msg::Reply {
                    id,
                    attempt,
                    answer,
                },
            )
        };
        if attempt < self.started_at
            || self
                .last_request
                .get(&from.0)
                .is_some_and(|&a| attempt <= a)
        {
            return;
        }
        self.last_request.insert(from.0, attempt);
        let is_read = f == OpFn::Read;
        if self.role == Role::Replica {
            if !is_read {
                self.stats.writes_refused += 1;
                return reply(ctx, Answer::NotPrimary(self.primary));
            }
            if self.params.reads == ReadRouting::Primary {
                self.stats.reads_refused += 1;
                return reply(ctx, Answer::NotPrimary(self.primary));
            }
            let caught_up = match min {
                None => true,
                Some(p) => p.index <= self.applied && self.pos_at(p.index).epoch == p.epoch,
            };
            if !caught_up {
                self.stats.reads_behind += 1;
                return reply(ctx, Answer::Behind(self.primary));
            }
            self.stats.reads_replica += 1;
            return reply(ctx, self.read_here(&key));
        }
        // The primary serves only under a lease from the monitor (fencing),
        // and reads only once its first entry committed, so that it has
        // applied every entry an older primary acknowledged.
        let lease_ok = self.lease_ok(ctx);
        if !lease_ok {
            self.stats.lease_refusals += 1;
        }
        if !lease_ok || (is_read && self.commit < self.first_index) {
            if is_read {
                self.stats.reads_refused += 1;
            } else {
                self.stats.writes_refused += 1;
            }
            return reply(ctx, Answer::Refused);
        }
        self.last_served = Some((self.epoch, ctx.now()));
        if is_read {
            self.stats.reads_primary += 1;
            return reply(ctx, self.read_here(&key));
        }
        match self.sessions.check(id) {
            Seen::Retry(&index) => {
                // A retry of a write already in the log.
                if index <= self.commit {
                    let pos = self.pos_at(index);
                    reply(ctx, Answer::Ok { value: None, pos });
                } else {
                    self.waiting.insert(index, (from, id, attempt));
                }
                return;
            }
            // An operation its client has moved on from, or a write of a
            // client process that has since restarted: nobody waits for it.
            Seen::Stale => return,
            Seen::New => {}
        }
        if let OpFn::Cas { expected, .. } = &f {
            if self.head.get(&key) != *expected {
                return reply(ctx, Answer::CasMismatch);
            }
        }
        let e = Entry {
            epoch: self.epoch,
            op: Op::Client { id, key, f },
            at: ctx.now(),
        };
        self.first_write_at.get_or_insert(ctx.now());
        self.append(ctx, e);
        ctx.disk().sync();
        self.waiting.insert(self.last(), (from, id, attempt));
        for p in self.peers.clone() {
            // Stream at once to replicas that are keeping up; the tick
            // catches up the others.
            if self.next.get(&p).copied().unwrap_or(1) == self.last() {
                self.replicate(ctx, p);
            }
        }
        self.advance_commit(ctx);
    }

    /// A read served by this server: the value it has applied, and how far
    /// its log is applied (what the client's next read must reach).
    fn read_here(&self, key: &str) -> Answer {
        let pos = self.pos_at(self.applied);
        Answer::Ok {
            value: Some(self.kv.get(key)),
            pos,
        }
    }
}
