//! A client: reads straight from storage; writes under the lock.

use chaoslab::sim::client::{ClientConfig, ClientCore, ClientTimer, ATTEMPT_TIMER, BACKOFF_TIMER};
use chaoslab::sim::history::{OpFn, Outcome};
use chaoslab::sim::node::{Ctx, NodeId, Request, Status, TimerId};

use crate::msg::{Msg, Token, WriteResult};
use crate::{LOCK_SERVER, STORAGE};

/// Fires when the work done under the lock is finished.
pub const WORK_TIMER: TimerId = TimerId(1);

/// Where the open operation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Idle,
    /// A read sent to storage.
    Reading,
    /// Waiting for the lock.
    Acquiring,
    /// Holding the lock (it believes), working before it writes.
    Working {
        token: Token,
    },
    /// Holding the lock (it believes), its write sent to storage.
    Writing {
        token: Token,
    },
}

#[derive(Clone, Debug)]
pub struct Client {
    core: ClientCore,
    work_time: chaoslab::sim::time::Nanos,
    phase: Phase,
    /// Writes the storage refused as stale, seen by this client.
    pub fenced: u64,
}

impl Client {
    pub fn new(config: ClientConfig, work_time: chaoslab::sim::time::Nanos) -> Self {
        Client {
            core: ClientCore::new(config),
            work_time,
            phase: Phase::Idle,
            fenced: 0,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// `holder` while it believes it holds the lock: from the grant until
    /// its write is answered. It does not look at the clock before writing;
    /// in a real process that check could not close the gap anyway, since
    /// a pause can fall between the check and the write, or the write can
    /// sit in a network queue (Kleppmann 2016).
    pub fn role(&self) -> &'static str {
        match self.phase {
            Phase::Working { .. } | Phase::Writing { .. } => "holder",
            _ => "client",
        }
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        let read = req.f == OpFn::Read;
        self.core.begin(ctx, req);
        self.phase = if read {
            Phase::Reading
        } else {
            Phase::Acquiring
        };
        self.send(ctx);
    }

    /// Sends (again) what the open operation waits for.
    fn send(&self, ctx: &mut Ctx<Msg>) {
        let Some(open) = self.core.open() else { return };
        let id = open.id;
        match self.phase {
            Phase::Reading => ctx.send(
                STORAGE,
                Msg::Read {
                    id,
                    key: open.req.key.clone(),
                },
            ),
            Phase::Acquiring => ctx.send(LOCK_SERVER, Msg::Acquire { id }),
            Phase::Writing { token } => ctx.send(
                STORAGE,
                Msg::Write {
                    id,
                    token,
                    key: open.req.key.clone(),
                    f: open.req.f.clone(),
                },
            ),
            Phase::Idle | Phase::Working { .. } => {}
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        let open = self.core.open().map(|o| o.id);
        match msg {
            Msg::Grant { id, token, .. } => {
                if open != Some(id) || self.phase != Phase::Acquiring {
                    // A grant for an operation given up (or a duplicate):
                    // hand the lock straight back rather than sit on it
                    // until its lease runs out. A duplicate of the grant we
                    // work under carries our own token: keep that one.
                    if self.token() != Some(token) {
                        ctx.send(LOCK_SERVER, Msg::Release { token });
                    }
                    return;
                }
                // The work under the lock is not bounded by the request
                // timeout: only the write that follows is.
                ctx.cancel_timer(ATTEMPT_TIMER);
                ctx.cancel_timer(BACKOFF_TIMER);
                self.phase = Phase::Working { token };
                ctx.set_timer(WORK_TIMER, self.work_time);
            }
            Msg::WriteReply { id, result } => {
                let Phase::Writing { token } = self.phase else {
                    return;
                };
                if open != Some(id) {
                    return;
                }
                match result {
                    WriteResult::Applied => self.core.finish(ctx, Outcome::Ok, None),
                    WriteResult::FoundOther => self.core.found_other(ctx),
                    WriteResult::Stale { .. } => {
                        // Fenced off: the write certainly did not happen.
                        self.fenced += 1;
                        ctx.note("fenced");
                        self.core.finish(ctx, Outcome::Fail, None);
                    }
                }
                self.release(ctx, token);
            }
            Msg::ReadReply { id, value } if open == Some(id) && self.phase == Phase::Reading => {
                self.core.finish(ctx, Outcome::Ok, Some(value));
                self.phase = Phase::Idle;
            }
            _ => {}
        }
    }

    fn token(&self) -> Option<Token> {
        match self.phase {
            Phase::Working { token } | Phase::Writing { token } => Some(token),
            _ => None,
        }
    }

    fn release(&mut self, ctx: &mut Ctx<Msg>, token: Token) {
        ctx.send(LOCK_SERVER, Msg::Release { token });
        self.phase = Phase::Idle;
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer == WORK_TIMER {
            if let Phase::Working { token } = self.phase {
                // The work is done: write under the token, however long the
                // work really took.
                self.phase = Phase::Writing { token };
                ctx.set_timer(ATTEMPT_TIMER, self.core.config.timeout);
                self.send(ctx);
            }
            return;
        }
        match self.core.on_timer(ctx, timer) {
            ClientTimer::Resend => self.send(ctx),
            ClientTimer::GaveUp => {
                if let Some(token) = self.token() {
                    self.release(ctx, token);
                }
                self.phase = Phase::Idle;
            }
            ClientTimer::Waiting | ClientTimer::NotMine => {}
        }
    }

    pub fn status(&self) -> Status {
        let phase = match self.phase {
            Phase::Idle => "idle".to_string(),
            Phase::Reading => "reading".into(),
            Phase::Acquiring => "acquiring".into(),
            Phase::Working { token } => format!("working under token {token}"),
            Phase::Writing { token } => format!("writing under token {token}"),
        };
        Status {
            role: self.role(),
            fields: vec![("phase", phase)],
        }
    }
}
