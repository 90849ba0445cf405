//! A client: writes go to the primary it knows of; reads go where the read
//! routing says (the primary, any replica, or a replica that has caught up
//! with this client's own writes and reads).
//!
//! Replies are matched to the send they answer, not only to the operation:
//! every send (a retry, or a redirect to another server) carries a new
//! `attempt` number that the server echoes. Only the answer to the latest
//! send moves the client on; a late or duplicated answer to an earlier one is
//! stale and ignored, so one reply cannot start a second redirect chain or
//! turn a write that is taking effect into a `fail`. The one exception is
//! `Ok`: whichever send it answers, the operation took effect (a write is in
//! the log, a read was served after the operation began), so it completes
//! the operation.
//!
//! Redirects ("not the primary", "behind") are followed at once, but only to
//! a server this attempt has not asked yet: a hint that leads back to one
//! (two lagging replicas naming each other while nobody is primary, or one
//! that knows no primary) ends the attempt as refused, and the retry policy's
//! backoff decides when to try again. An attempt therefore sends at most one
//! request per data server, and an operation at most that times the policy's
//! attempts.

use rand::Rng;
use sim::client::{ClientConfig, ClientCore, Leader};
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
    /// Replies ignored as stale: a late or duplicated answer to an earlier
    /// send of the open operation.
    pub stale_replies: u64,
    /// Redirects not followed because they led back to a server the attempt
    /// had already asked (the attempt was refused and retried after the
    /// backoff).
    pub redirects_cut: u64,
}

#[derive(Clone, Debug)]
pub struct Client {
    routing: ReadRouting,
    core: ClientCore,
    /// The primary this client knows of, or its guess among the data
    /// servers.
    primary: Leader,
    /// The number of the latest send: the virtual time it left, made strictly
    /// increasing. A restarted client forgets this counter, but time has moved
    /// on, so its numbers still only grow; a server drops a send numbered no
    /// higher than one it took in (a duplicated or overtaken copy, see the
    /// server). A real client would use a counter that survives restarts.
    attempt: u64,
    /// Whether the latest send's answer is still awaited: once it has been
    /// acted on (or the attempt timed out), another copy of it is stale too.
    awaiting: bool,
    /// The servers the open attempt has sent to, redirects included.
    tried: Vec<NodeId>,
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
            routing,
            core: ClientCore::new(config),
            primary: Leader::new(data, data.first().copied(), 0),
            attempt: 0,
            awaiting: false,
            tried: Vec::new(),
            target: None,
            seen: None,
            to_primary: false,
            stats: ClientStats::default(),
        }
    }

    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// Where the open operation's next send goes, and the position it asks
    /// for (read-your-writes).
    fn route(&self, ctx: &mut Ctx<Msg>) -> Option<(NodeId, Option<Pos>)> {
        let open = self.core.open()?;
        let read = open.req.f == OpFn::Read;
        let route = if read && !self.to_primary && self.routing != ReadRouting::Primary {
            // A replica: any data server but the primary we know of.
            let p = self.primary.known();
            let others: Vec<NodeId> = self
                .primary
                .servers()
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
            (self.primary.target(), self.seen)
        } else {
            (self.primary.target(), None)
        };
        Some(route)
    }

    /// The first send of an attempt.
    fn send(&mut self, ctx: &mut Ctx<Msg>) {
        self.tried.clear();
        if let Some((to, min)) = self.route(ctx) {
            self.send_to(ctx, to, min);
        }
    }

    fn send_to(&mut self, ctx: &mut Ctx<Msg>, to: NodeId, min: Option<Pos>) {
        let Some(open) = self.core.open() else { return };
        let (id, key, f) = (open.id, open.req.key.clone(), open.req.f.clone());
        self.attempt = (self.attempt + 1).max(ctx.now());
        self.awaiting = true;
        self.tried.push(to);
        self.target = Some(to);
        ctx.send(
            to,
            Msg::Request {
                id,
                attempt: self.attempt,
                key,
                f,
                min,
            },
        );
    }

    /// Follows a redirect within the attempt, unless it leads back to a
    /// server this attempt already asked: then the attempt is refused and the
    /// retry policy's backoff runs before the next one.
    fn redirect(&mut self, ctx: &mut Ctx<Msg>) {
        match self.route(ctx) {
            Some((to, min)) if !self.tried.contains(&to) => self.send_to(ctx, to, min),
            Some(_) => {
                self.stats.redirects_cut += 1;
                self.core.refused(ctx);
            }
            None => {}
        }
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
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
        let Msg::Reply {
            id,
            attempt,
            answer,
        } = msg
        else {
            return;
        };
        if !self.core.answers(id) {
            return;
        }
        let current = self.awaiting && attempt == self.attempt;
        if !current && !matches!(answer, Answer::Ok { .. }) {
            // A late or duplicated answer to an earlier send: the latest
            // send's own answer decides.
            self.stats.stale_replies += 1;
            return;
        }
        self.awaiting = false;
        let read = self.core.is_read();
        match answer {
            Answer::Ok { value, pos } => {
                if !read || self.to_primary || self.routing == ReadRouting::Primary {
                    self.primary.follow(from);
                }
                self.note(pos);
                self.core
                    .finish(ctx, Outcome::Ok, if read { value } else { None });
            }
            Answer::CasMismatch => {
                self.primary.follow(from);
                self.core.found_other(ctx);
            }
            Answer::Behind(hint) => {
                // Forwarded to the primary: it has everything this client
                // wrote, as every write was acknowledged by it. A server
                // asked as the primary that is behind and knows no primary
                // is not one: forget it.
                match hint {
                    Some(h) if h != from => self.primary.follow(h),
                    _ if self.to_primary => self.primary.move_on(from),
                    _ => {}
                }
                self.to_primary = true;
                self.redirect(ctx);
            }
            Answer::NotPrimary(hint) => {
                self.primary.redirect(from, hint);
                self.redirect(ctx);
            }
            Answer::Refused => {
                // Nothing was applied: retry after the backoff, elsewhere.
                self.primary.failed(from);
                self.core.refused(ctx);
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        let write = self.core.busy() && !self.core.is_read();
        let timed_out = timer == sim::client::ATTEMPT_TIMER && self.core.busy();
        if timed_out {
            // A late answer to the attempt that timed out is stale.
            self.awaiting = false;
            if write {
                self.stats.writes_timed_out += 1;
            }
            // A silent primary is most likely gone: try the next server.
            if let Some(t) = self.target {
                self.primary.failed(t);
            }
        }
        if self.core.resend_due(ctx, timer) {
            self.send(ctx);
        }
    }

    pub fn status(&self) -> Status {
        Status {
            role: "client",
            fields: vec![
                ("seq", self.core.seq().to_string()),
                (
                    "primary",
                    self.primary
                        .known()
                        .map_or("-".into(), |n| format!("n{}", n.0 + 1)),
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
