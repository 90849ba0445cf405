//! The lock server: one lock, granted for a lease, with a fencing token.

use std::collections::VecDeque;

use chaoslab::sim::client::RequestId;
use chaoslab::sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use chaoslab::sim::time::{fmt_duration, Nanos};

use crate::msg::{Msg, Token};

/// Fires when the holder's lease may have run out.
pub const LEASE_TIMER: TimerId = TimerId(1);
/// Fires when a restarted lock server may grant again.
pub const GRACE_TIMER: TimerId = TimerId(2);

/// Where the last token handed out is kept on disk.
pub const TOKEN_KEY: (&str, u64) = ("token", 0);

/// Who holds the lock, as the lock server sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub client: NodeId,
    pub id: RequestId,
    pub token: Token,
    /// On the lock server's monotonic clock.
    pub expires: Nanos,
}

/// A grant the lock server made, for the invariant checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Granted {
    pub token: Token,
    pub client: NodeId,
    pub at: Nanos,
}

#[derive(Clone, Debug)]
pub struct LockServer {
    lease: Nanos,
    /// The last token handed out (0: none yet), durable before it is sent.
    last_token: Token,
    holder: Option<Holder>,
    /// Clients waiting for the lock, one entry per client, first come first
    /// served.
    queue: VecDeque<(NodeId, RequestId)>,
    /// A restarted lock server grants nothing before this (monotonic) time.
    ready_at: Nanos,
    /// Whether it found a token on disk (it ran before and may have granted
    /// a lease that is still running).
    recovered: bool,
    /// Every grant of this incarnation, in order (for the invariant checks).
    pub grants: Vec<Granted>,
    pub expired: u64,
}

impl LockServer {
    /// Rebuilds the lock server from its disk: only the last token survives.
    pub fn recover(lease: Nanos, disk: &Disk) -> Self {
        let last_token = disk.get::<Token>(TOKEN_KEY).copied().unwrap_or(0);
        LockServer {
            lease,
            last_token,
            holder: None,
            queue: VecDeque::new(),
            ready_at: 0,
            recovered: last_token > 0,
            grants: Vec::new(),
            expired: 0,
        }
    }

    pub fn holder(&self) -> Option<&Holder> {
        self.holder.as_ref()
    }

    pub fn last_token(&self) -> Token {
        self.last_token
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        // A lock server that ran before may have granted a lease just before
        // it crashed, and its holder may still be writing: it forgot who, so
        // it grants nothing for one lease (Chubby's lock-delay). Fencing
        // would catch the overlap anyway; waiting avoids making one.
        if self.recovered {
            self.ready_at = ctx.mono_time() + self.lease;
            ctx.set_timer(GRACE_TIMER, self.lease);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Acquire { id } => self.acquire(ctx, from, id),
            // A release under another token (an old holder's) changes nothing.
            Msg::Release { token } if self.holder.as_ref().is_some_and(|h| h.token == token) => {
                self.holder = None;
                ctx.cancel_timer(LEASE_TIMER);
                ctx.note("released");
                self.grant_next(ctx);
            }
            _ => {}
        }
    }

    fn acquire(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, id: RequestId) {
        if let Some(h) = &self.holder {
            if h.id == id {
                // A retry of the request the lock was granted to: its grant
                // was lost or is late. Same token, same lease.
                let (token, left) = (h.token, h.expires.saturating_sub(ctx.mono_time()));
                ctx.send(
                    from,
                    Msg::Grant {
                        id,
                        token,
                        lease: left,
                    },
                );
                return;
            }
        }
        // One place in the queue per client: a newer request replaces an
        // older one (the client gave that one up).
        match self.queue.iter_mut().find(|(c, _)| *c == from) {
            Some(entry) => entry.1 = entry.1.max(id),
            None => self.queue.push_back((from, id)),
        }
        self.grant_next(ctx);
    }

    /// Grants the lock to the first waiting client, if it is free.
    fn grant_next(&mut self, ctx: &mut Ctx<Msg>) {
        if self.holder.is_some() || ctx.mono_time() < self.ready_at {
            return;
        }
        let Some((client, id)) = self.queue.pop_front() else {
            return;
        };
        // The token is durable before anyone sees it: a restarted lock
        // server must never hand out a number it handed out before.
        let token = self.last_token + 1;
        self.last_token = token;
        ctx.disk().put(TOKEN_KEY, token);
        ctx.disk().sync();
        self.holder = Some(Holder {
            client,
            id,
            token,
            expires: ctx.mono_time() + self.lease,
        });
        self.grants.push(Granted {
            token,
            client,
            at: ctx.now(),
        });
        ctx.set_timer(LEASE_TIMER, self.lease);
        ctx.note("granted");
        ctx.send(
            client,
            Msg::Grant {
                id,
                token,
                lease: self.lease,
            },
        );
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            LEASE_TIMER => {
                let Some(h) = &self.holder else { return };
                let now = ctx.mono_time();
                if now < h.expires {
                    // A clock fault changed the rate after the timer was set.
                    ctx.set_timer(LEASE_TIMER, h.expires - now);
                    return;
                }
                // The lease ran out: the lock is free, whatever the holder
                // believes. This is where a paused holder becomes a zombie.
                self.holder = None;
                self.expired += 1;
                ctx.note("lease-expired");
                self.grant_next(ctx);
            }
            GRACE_TIMER => self.grant_next(ctx),
            _ => {}
        }
    }

    pub fn status(&self) -> Status {
        let holder = match &self.holder {
            Some(h) => format!("token {} until {}", h.token, fmt_duration(h.expires)),
            None => "-".into(),
        };
        Status {
            role: "lock-server",
            fields: vec![
                ("holder", holder),
                ("last token", self.last_token.to_string()),
                ("queue", self.queue.len().to_string()),
            ],
        }
    }
}
