//! A client: writes go to the primary it knows of; reads go where the read
//! routing says (the primary, any replica, or a replica that has caught up
//! with this client's own writes and reads).

use rand::Rng;
use sim::client::{ClientConfig, ClientCore, ClientTimer};
use sim::history::{OpFn, Outcome};
use sim::node::{Ctx, NodeId, Request, Status, TimerId};

use super::msg::{Answer, Msg, Pos};
use super::ReadRouting;

/// Counters for the report.
#[derive(Clone, Debug, Default)]
pub struct ClientStats {
    /// Write attempts that got no answer in time (a primary that could not
    /// gather its acknowledgements, or was gone).
    pub writes_timed_out: u64,
}

#[derive(Clone, Debug)]
pub struct Client {
    data: Vec<NodeId>,
    routing: ReadRouting,
    core: ClientCore,
    primary: Option<NodeId>,
    guess: usize,
    redirects: usize,
    /// Where the open attempt went.
    target: Option<NodeId>,
    /// Read-your-writes routing: the newest position this client wrote or
    /// read at.
    seen: Option<Pos>,
    /// The open read gave up on replicas and goes to the primary.
    to_primary: bool,
    stats: ClientStats,
}

impl Client {
    pub fn new(data: &[NodeId], routing: ReadRouting, config: ClientConfig) -> Client {
        Client {
            data: data.to_vec(),
            routing,
            core: ClientCore::new(config),
            primary: data.first().copied(),
            guess: 0,
            redirects: 0,
            target: None,
            seen: None,
            to_primary: false,
            stats: ClientStats::default(),
        }
    }

    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    fn primary_guess(&self) -> NodeId {
        self.primary
            .unwrap_or(self.data[self.guess % self.data.len()])
    }

    fn send(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(open) = self.core.open() else { return };
        let (id, key, f) = (open.id, open.req.key.clone(), open.req.f.clone());
        let read = f == OpFn::Read;
        let (to, min) = if read && !self.to_primary && self.routing != ReadRouting::Primary {
            // A replica: any data server but the primary we know of.
            let p = self.primary;
            let others: Vec<NodeId> = self
                .data
                .iter()
                .copied()
                .filter(|d| Some(*d) != p)
                .collect();
            let to = others[ctx.rng().gen_range(0..others.len())];
            let min = match self.routing {
                ReadRouting::ReadYourWrites => self.seen,
                _ => None,
            };
            (to, min)
        } else if self.routing == ReadRouting::ReadYourWrites {
            // Sent on to the primary: should it land on a replica after
            // all, that replica still checks the position.
            (self.primary_guess(), self.seen)
        } else {
            (self.primary_guess(), None)
        };
        self.target = Some(to);
        ctx.send(to, Msg::Request { id, key, f, min });
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        self.redirects = 0;
        self.to_primary = false;
        self.core.begin(ctx, req);
        self.send(ctx);
    }

    /// Remembers the furthest position seen, ordered as logs are (epoch,
    /// then index): after a failover a shorter log of a newer epoch is
    /// further than a longer one of an older epoch.
    fn note(&mut self, pos: Pos) {
        if self.seen.is_none_or(|s| pos > s) {
            self.seen = Some(pos);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let Msg::Reply { id, answer } = msg else {
            return;
        };
        let Some(open) = self.core.open() else { return };
        if id != open.id {
            return;
        }
        let read = open.req.f == OpFn::Read;
        match answer {
            Answer::Ok { value, pos } => {
                if !read || self.to_primary || self.routing == ReadRouting::Primary {
                    self.primary = Some(from);
                }
                self.note(pos);
                self.core
                    .finish(ctx, Outcome::Ok, if read { value } else { None });
            }
            Answer::CasMismatch => {
                self.primary = Some(from);
                self.core.found_other(ctx);
            }
            Answer::Behind(hint) => {
                // Forwarded to the primary: it has everything this client
                // wrote, as every write was acknowledged by it.
                if hint.is_some() {
                    self.primary = hint;
                }
                self.to_primary = true;
                self.send(ctx);
            }
            Answer::NotPrimary(hint) => {
                match hint {
                    Some(h) if h != from => self.primary = Some(h),
                    _ => {
                        self.primary = Some(from);
                        self.move_on(from);
                    }
                }
                self.redirects += 1;
                if self.redirects <= 2 * self.data.len() {
                    self.send(ctx);
                } else {
                    self.redirects = 0;
                    self.core.refused(ctx);
                }
            }
            Answer::Refused => {
                // Nothing was applied: retry after the backoff, elsewhere.
                self.move_on(from);
                self.core.refused(ctx);
            }
        }
    }

    /// Forget a primary that failed us and try the server after it.
    fn move_on(&mut self, failed: NodeId) {
        if self.primary == Some(failed) || self.primary.is_none() {
            self.primary = None;
            self.guess = self
                .data
                .iter()
                .position(|d| *d == failed)
                .map_or(self.guess + 1, |i| i + 1);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        let write = self.core.open().is_some_and(|o| o.req.f != OpFn::Read);
        let timed_out = timer == sim::client::ATTEMPT_TIMER && self.core.open().is_some();
        if timed_out {
            if write {
                self.stats.writes_timed_out += 1;
            }
            // A silent primary is most likely gone: try the next server.
            if let Some(t) = self
                .target
                .filter(|t| self.primary.is_none() || Some(*t) == self.primary)
            {
                self.move_on(t);
            }
        }
        if self.core.on_timer(ctx, timer) == ClientTimer::Resend {
            self.redirects = 0;
            self.send(ctx);
        }
    }

    pub fn status(&self) -> Status {
        Status {
            role: "client",
            fields: vec![
                ("seq", self.core.last_id().map_or(0, |i| i.seq).to_string()),
                (
                    "primary",
                    self.primary.map_or("-".into(), |n| format!("n{}", n.0 + 1)),
                ),
                (
                    "seen",
                    self.seen
                        .map_or("-".into(), |p| format!("{}@{}", p.index, p.epoch)),
                ),
            ],
        }
    }
}
