//! What every protocol's client shares: one operation open at a time, a timeout
//! per attempt, and a retry policy. Protocol clients embed a [`ClientCore`] and
//! decide only where to send a request and how to read a reply.
//!
//! The outcome rules follow Jepsen: an operation is `Ok` when a reply says it
//! took effect, `Fail` when every attempt was refused for certain (say, "not the
//! leader" with no leader known), and `Info` as soon as any attempt timed out
//! without an answer, because that attempt may still take effect later. A cas
//! that found another value is `Fail` as well, recorded as an observation
//! ([`ClientCore::found_other`]): the system answered it, and the answer is a
//! claim about the key's value that the checker verifies. Unless an earlier
//! attempt may have taken effect: then the retry may be finding the cas's own
//! new value, and the operation is `Info`.
//!
//! # Sessions: how a request is named, and what a restart does to it
//!
//! Every attempt of an operation carries the same [`RequestId`]: the client's
//! [`SessionId`] and a sequence number, 1 for the session's first operation.
//! Servers keep a [`SessionTable`] so that a retried write is applied once and
//! answered from the cached result (at-most-once, §8 of the Raft paper).
//!
//! The rule for restarts, decided here once for every protocol: **a restarted
//! client is a new session.** A client keeps nothing on disk; its session is
//! its node id and its incarnation ([`Ctx::incarnation`], counted by the
//! driver: 0 until the first crash, one more per restart), and its sequence
//! numbers start again at 1 in each incarnation. A server that sees a higher
//! incarnation of a client starts that client's session afresh (the new
//! process's requests are new operations, never retries); a request from a
//! lower incarnation is a dead process's late message, and is not applied.
//! Without the incarnation a restarted client's seq 1, 2, ... would look like
//! retries of operations its old self already ran, and be answered from the
//! cache without being applied.

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::history::{OpFn, Outcome, Value};
use crate::node::{Ctx, NodeId, Request, Status, TimerId};
use crate::time::{serde_duration, Nanos};
use crate::workload::Operation;

/// Timer ids at the top of the range are reserved for the client core.
pub const ATTEMPT_TIMER: TimerId = TimerId(u64::MAX);
pub const BACKOFF_TIMER: TimerId = TimerId(u64::MAX - 1);

/// How a client retries an attempt that timed out or was refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RetryPolicy {
    /// One attempt only.
    None,
    /// Up to `attempts` attempts in all, `delay` apart.
    Fixed {
        #[serde(with = "serde_duration")]
        delay: Nanos,
        attempts: u32,
    },
    /// Up to `attempts` attempts; the wait doubles from `base` up to `max`, and
    /// each wait is drawn uniformly from [0, wait] ("full jitter").
    Exponential {
        #[serde(with = "serde_duration")]
        base: Nanos,
        #[serde(with = "serde_duration")]
        max: Nanos,
        attempts: u32,
    },
}

impl RetryPolicy {
    pub fn max_attempts(&self) -> u32 {
        match self {
            RetryPolicy::None => 1,
            RetryPolicy::Fixed { attempts, .. } | RetryPolicy::Exponential { attempts, .. } => {
                (*attempts).max(1)
            }
        }
    }

    /// The wait before attempt number `next` (2 for the first retry).
    fn backoff(&self, next: u32, rng: &mut impl Rng) -> Nanos {
        match self {
            RetryPolicy::None => 0,
            RetryPolicy::Fixed { delay, .. } => *delay,
            RetryPolicy::Exponential { base, max, .. } => {
                let shift = next.saturating_sub(2).min(32);
                let cap = base.saturating_mul(1u64 << shift).min(*max).max(1);
                rng.gen_range(0..=cap)
            }
        }
    }
}

/// One run of one client process: its node and its incarnation (how many
/// times that node had been restarted when the process started).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId {
    pub client: NodeId,
    pub incarnation: u64,
}

/// One operation of one session: every attempt of the operation carries it,
/// and the reply names it back, so the client can match a reply to the
/// operation it answers and a server can tell a retry from a new operation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    pub session: SessionId,
    /// 1 for the session's first operation, one more for each after.
    pub seq: u64,
}

impl fmt::Display for RequestId {
    /// `5.1#7`: node index 5, incarnation 1, seq 7.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}#{}",
            self.session.client.0, self.session.incarnation, self.seq
        )
    }
}

/// As [`fmt::Display`]: the trace and the TUI show messages by their
/// `Debug`, and a request id is read there on one line.
impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a server's session table says about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen<'a, R> {
    /// Not applied yet: apply it, then [`SessionTable::record`] the result.
    New,
    /// The session's last operation, applied already: a retry. Answer with
    /// the cached result; do not apply it again.
    Retry(&'a R),
    /// Older than the session's last operation (the client has moved on), or
    /// from an earlier incarnation of the client (a dead process): nobody is
    /// waiting for an answer, and it must not be applied.
    Stale,
}

/// A server's at-most-once table: per client node, its newest session, the
/// last operation applied in it and what that operation returned (`R`: the
/// reply, or wherever the server keeps it). A client has one operation open at
/// a time, so the last one is the only one a retry can be for.
///
/// Keyed by node, not by session: a new incarnation replaces the old one's
/// entry, so the table holds one entry per client however often clients
/// restart, and the old incarnation's late messages are recognised as
/// [`Seen::Stale`] because their incarnation is lower.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionTable<R> {
    sessions: BTreeMap<NodeId, (u64, u64, R)>,
}

impl<R> Default for SessionTable<R> {
    fn default() -> Self {
        SessionTable {
            sessions: BTreeMap::new(),
        }
    }
}

impl<R> SessionTable<R> {
    pub fn check(&self, id: RequestId) -> Seen<'_, R> {
        match self.sessions.get(&id.session.client) {
            None => Seen::New,
            Some((inc, last, result)) => {
                if id.session.incarnation > *inc {
                    Seen::New
                } else if id.session.incarnation < *inc || id.seq < *last {
                    Seen::Stale
                } else if id.seq == *last {
                    Seen::Retry(result)
                } else {
                    Seen::New
                }
            }
        }
    }

    /// Records that request `id` was applied and returned `result`: a
    /// request [`SessionTable::check`] called new, or the next entry of a log
    /// replayed in order (to rebuild the table).
    pub fn record(&mut self, id: RequestId, result: R) {
        self.sessions
            .insert(id.session.client, (id.session.incarnation, id.seq, result));
    }

    /// The last request applied for `client`, and its result.
    pub fn last(&self, client: NodeId) -> Option<(RequestId, &R)> {
        self.sessions.get(&client).map(|(inc, seq, r)| {
            (
                RequestId {
                    session: SessionId {
                        client,
                        incarnation: *inc,
                    },
                    seq: *seq,
                },
                r,
            )
        })
    }

    pub fn clear(&mut self) {
        self.sessions.clear();
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Every session's last request and result, in client order.
    pub fn iter(&self) -> impl Iterator<Item = (RequestId, &R)> {
        self.sessions.iter().map(|(client, (inc, seq, r))| {
            (
                RequestId {
                    session: SessionId {
                        client: *client,
                        incarnation: *inc,
                    },
                    seq: *seq,
                },
                r,
            )
        })
    }
}

/// The client settings every protocol's client reads from `[workload]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    pub timeout: Nanos,
    pub retry: RetryPolicy,
}

/// The operation a client has open.
#[derive(Clone, Debug)]
pub struct Open<F = OpFn> {
    pub req: Request<F>,
    /// What every attempt of it carries.
    pub id: RequestId,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Whether some earlier attempt timed out (so the outcome can no longer be Fail).
    pub uncertain: bool,
}

/// What a timer meant to the client core.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// Send the open request again (a new attempt has begun).
    Resend,
    /// The operation was given up and completed as `Info`.
    GaveUp,
    /// The attempt timed out; the next one starts after a backoff.
    Waiting,
    /// Not one of the core's timers: the protocol client's own.
    NotMine,
}

/// `F`: the operations it carries (key-value by default).
#[derive(Clone, Debug)]
pub struct ClientCore<F = OpFn> {
    pub config: ClientConfig,
    open: Option<Open<F>>,
    /// The last request id this process gave out (seq 0: none yet).
    last: Option<RequestId>,
}

impl<F: Operation> ClientCore<F> {
    pub fn new(config: ClientConfig) -> Self {
        ClientCore {
            config,
            open: None,
            last: None,
        }
    }

    /// The id of the newest operation (open or done), if there was one.
    pub fn last_id(&self) -> Option<RequestId> {
        self.last
    }

    /// The id of the next operation: the next seq of this process's session.
    /// A client node object lives for one incarnation (a restart rebuilds
    /// it), so the first operation of every incarnation is seq 1 of a new
    /// session.
    fn next_id<M>(&self, ctx: &Ctx<M>) -> RequestId {
        let session = SessionId {
            client: ctx.me(),
            incarnation: ctx.incarnation(),
        };
        let seq = match self.last {
            Some(last) if last.session == session => last.seq + 1,
            _ => 1,
        };
        RequestId { session, seq }
    }

    /// The open operation, if any.
    pub fn open(&self) -> Option<&Open<F>> {
        self.open.as_ref()
    }

    /// Whether a reply naming request `id` answers the open operation. A
    /// reply to an operation already over (answered, or given up) is late,
    /// and the client ignores it.
    pub fn answers(&self, id: RequestId) -> bool {
        self.open.as_ref().is_some_and(|o| o.id == id)
    }

    /// [`ClientCore::answers`] for protocols whose messages name the
    /// workload's operation id ([`Request::id`]) instead of a [`RequestId`].
    pub fn answers_op(&self, op: u64) -> bool {
        self.open.as_ref().is_some_and(|o| o.req.id.0 == op)
    }

    /// Whether an operation is open.
    pub fn busy(&self) -> bool {
        self.open.is_some()
    }

    /// Whether the open operation is a read (false when none is open).
    pub fn is_read(&self) -> bool {
        self.open.as_ref().is_some_and(|o| o.req.f.is_read())
    }

    /// The sequence number of this process's newest operation (0: none yet).
    pub fn seq(&self) -> u64 {
        self.last.map_or(0, |id| id.seq)
    }

    /// Where the open operation's current attempt goes when a client tries
    /// `servers` in turn: attempt 1 to the one at `start`, each retry to the
    /// next. `None` with no operation open or no server to try.
    pub fn rotate(&self, servers: &[NodeId], start: usize) -> Option<NodeId> {
        let open = self.open.as_ref()?;
        if servers.is_empty() {
            return None;
        }
        Some(servers[(start + open.attempt as usize - 1) % servers.len()])
    }

    /// Routes a timer, and says whether the caller must send the open
    /// operation again ([`ClientTimer::Resend`]): what every client does on a
    /// timer unless it has timers of its own.
    pub fn resend_due<M>(&mut self, ctx: &mut Ctx<M>, timer: TimerId) -> bool {
        self.on_timer(ctx, timer) == ClientTimer::Resend
    }

    /// The status a client shows with nothing of its own to add: its open
    /// operation (by workload id) and attempt.
    pub fn status(&self) -> Status {
        Status {
            role: "client",
            fields: vec![(
                "open",
                self.open
                    .as_ref()
                    .map(|o| format!("op {} attempt {}", o.req.id.0, o.attempt))
                    .unwrap_or_else(|| "-".into()),
            )],
        }
    }

    /// Starts a new operation: the caller sends it right after.
    pub fn begin<M>(&mut self, ctx: &mut Ctx<M>, req: Request<F>) {
        debug_assert!(
            self.open.is_none(),
            "a client has one operation open at a time"
        );
        let id = self.next_id(ctx);
        self.last = Some(id);
        self.open = Some(Open {
            req,
            id,
            attempt: 1,
            uncertain: false,
        });
        ctx.set_timer(ATTEMPT_TIMER, self.config.timeout);
    }

    /// Ends the open operation with an answer from the system: `Ok`, or `Fail`
    /// for a definite "did not take effect" (an aborted transfer). A cas that
    /// found another value ends with [`ClientCore::found_other`] instead.
    pub fn finish<M>(&mut self, ctx: &mut Ctx<M>, outcome: Outcome, output: Option<Value>) {
        if let Some(open) = self.open.take() {
            ctx.cancel_timer(ATTEMPT_TIMER);
            ctx.cancel_timer(BACKOFF_TIMER);
            ctx.complete(open.req.id, outcome, output);
        }
    }

    /// Ends the open cas with the system's answer "the key holds another
    /// value": it wrote nothing, and it is an observation (the key did not hold
    /// the expected value at some point while the cas was open), not a failure
    /// of the system. A protocol that answers this from a stale copy is caught
    /// by the linearizability checker.
    ///
    /// Only when no earlier attempt may have taken effect. If one timed out
    /// (or was refused without certainty), that attempt may have applied the
    /// cas, and this answer may be the retry finding the cas's own new value:
    /// the operation then ends as `Info` (it may or may not have taken effect),
    /// never as "did not happen".
    pub fn found_other<M>(&mut self, ctx: &mut Ctx<M>) {
        if let Some(open) = self.open.take() {
            ctx.cancel_timer(ATTEMPT_TIMER);
            ctx.cancel_timer(BACKOFF_TIMER);
            if open.uncertain {
                ctx.complete(open.req.id, Outcome::Info, None);
            } else {
                ctx.complete_found_other(open.req.id);
            }
        }
    }

    /// Gives the open operation up without an answer: `Fail` if every attempt
    /// was refused for certain, `Info` if any attempt may have taken effect.
    fn give_up<M>(&mut self, ctx: &mut Ctx<M>) {
        if let Some(open) = self.open.take() {
            ctx.cancel_timer(ATTEMPT_TIMER);
            ctx.cancel_timer(BACKOFF_TIMER);
            let outcome = if open.uncertain {
                Outcome::Info
            } else {
                Outcome::Fail
            };
            ctx.give_up(open.req.id, outcome);
        }
    }

    /// The system refused this attempt for certain (no leader, overloaded, ...):
    /// retry after the policy's backoff, or fail once attempts run out.
    pub fn refused<M>(&mut self, ctx: &mut Ctx<M>) {
        let Some(open) = self.open.as_ref() else {
            return;
        };
        if open.attempt >= self.config.retry.max_attempts() {
            self.give_up(ctx);
        } else {
            ctx.cancel_timer(ATTEMPT_TIMER);
            let wait = self.config.retry.backoff(open.attempt + 1, ctx.rng());
            ctx.set_timer(BACKOFF_TIMER, wait);
        }
    }

    /// The system refused this attempt but cannot say it had no effect (a
    /// write a quorum coordinator sent to some replicas before too few of them
    /// answered): as [`ClientCore::refused`], except that the operation can no
    /// longer end as `Fail`, only `Ok` or `Info`.
    pub fn refused_maybe_applied<M>(&mut self, ctx: &mut Ctx<M>) {
        if let Some(open) = self.open.as_mut() {
            open.uncertain = true;
        }
        self.refused(ctx);
    }

    /// Routes a timer: the caller resends on `Resend`.
    pub fn on_timer<M>(&mut self, ctx: &mut Ctx<M>, timer: TimerId) -> ClientTimer {
        if timer != ATTEMPT_TIMER && timer != BACKOFF_TIMER {
            return ClientTimer::NotMine;
        }
        let max = self.config.retry.max_attempts();
        let Some(open) = self.open.as_mut() else {
            return ClientTimer::NotMine;
        };
        if timer == ATTEMPT_TIMER {
            open.uncertain = true;
            if open.attempt >= max {
                self.give_up(ctx);
                return ClientTimer::GaveUp;
            }
            let wait = self.config.retry.backoff(open.attempt + 1, ctx.rng());
            if wait > 0 {
                ctx.set_timer(BACKOFF_TIMER, wait);
                return ClientTimer::Waiting;
            }
        }
        open.attempt += 1;
        ctx.set_timer(ATTEMPT_TIMER, self.config.timeout);
        ClientTimer::Resend
    }
}

/// Where a client of a leader-based protocol sends: the server it believes
/// leads (learnt from a redirect or a success), else a guess that moves round
/// the servers past each one that failed it.
#[derive(Clone, Debug)]
pub struct Leader {
    servers: Vec<NodeId>,
    known: Option<NodeId>,
    guess: usize,
}

impl Leader {
    /// A client of `servers` that believes `known` leads, and otherwise
    /// starts guessing at the `guess`-th server (clients that start at
    /// different servers spread the search).
    ///
    /// # Panics
    /// If `servers` is empty: a client with no server to ask is a bug in the
    /// protocol that builds it.
    pub fn new(servers: &[NodeId], known: Option<NodeId>, guess: usize) -> Self {
        assert!(!servers.is_empty(), "Leader::new: a client needs a server");
        Leader {
            servers: servers.to_vec(),
            known,
            guess,
        }
    }

    /// The servers this client knows of.
    pub fn servers(&self) -> &[NodeId] {
        &self.servers
    }

    /// The server believed to lead, if any.
    pub fn known(&self) -> Option<NodeId> {
        self.known
    }

    /// Where to send: the known leader, else the current guess.
    pub fn target(&self) -> NodeId {
        self.known
            .unwrap_or_else(|| self.servers[self.guess % self.servers.len()])
    }

    /// `node` leads: it answered as leader, or a redirect named it.
    pub fn follow(&mut self, node: NodeId) {
        self.known = Some(node);
    }

    /// A redirect from `from`: follow a hint that names another server;
    /// without one (or naming `from` itself) move on past `from`.
    pub fn redirect(&mut self, from: NodeId, hint: Option<NodeId>) {
        match hint {
            Some(h) if h != from => self.follow(h),
            _ => self.move_on(from),
        }
    }

    /// Forgets the leader and guesses the server after `failed` next. For
    /// an answer that says `failed` is not the leader (or a timeout of an
    /// attempt sent to whoever the client guessed): the belief was wrong,
    /// whatever it was. Compare [`Leader::failed`].
    pub fn move_on(&mut self, failed: NodeId) {
        self.known = None;
        self.guess = self
            .servers
            .iter()
            .position(|s| *s == failed)
            .map_or(self.guess + 1, |i| i + 1);
    }

    /// `failed` failed the client: if it is the leader the client believes
    /// in (or none is known), [`Leader::move_on`]; a server that is not the
    /// believed leader changes nothing. For a failure that says nothing
    /// about who leads (a refusal, a timeout of a server the client no
    /// longer believes in): a stale failure must not unseat a leader learned
    /// since.
    pub fn failed(&mut self, failed: NodeId) {
        if self.known == Some(failed) || self.known.is_none() {
            self.move_on(failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Cluster, NodeId, OpId};
    use crate::testing::Harness;

    const MS: Nanos = 1_000_000;

    /// A client core as client node 1 of one server.
    type Core = Harness<ClientCore>;

    fn core(config: ClientConfig) -> Core {
        Harness::new(Cluster::new(1, 1), NodeId(1), ClientCore::new(config)).seeded(1)
    }

    type Done = Option<(Outcome, bool, bool)>;

    /// Runs `f` on the core and returns the outcome it completed its
    /// operation with, if any.
    fn completion(core: &mut Core, f: impl FnOnce(&mut ClientCore, &mut Ctx<()>)) -> Done {
        let fx = core.run(f);
        let done = fx.completions().into_iter().next();
        done.map(|c| (c.outcome, c.served, c.found_other))
    }

    fn cas_core() -> Core {
        let mut core = core(ClientConfig {
            timeout: 50 * MS,
            retry: RetryPolicy::Fixed {
                delay: 0,
                attempts: 5,
            },
        });
        let req = Request {
            id: OpId(0),
            key: "k0".into(),
            f: OpFn::Cas {
                expected: Value::Int(1),
                new: Value::Int(2),
            },
        };
        assert_eq!(completion(&mut core, |c, ctx| c.begin(ctx, req)), None);
        core
    }

    /// The cas finds another value: how it completes (and it is then closed).
    fn finds_other(core: &mut Core) -> Done {
        let done = completion(core, |c, ctx| c.found_other(ctx));
        assert!(core.node.open().is_none());
        done
    }

    /// The cas, refused by `refuse`, resent after the backoff, finds another value.
    fn refused_then_finds_other(refuse: impl FnOnce(&mut ClientCore, &mut Ctx<()>)) -> Done {
        let mut core = cas_core();
        completion(&mut core, refuse);
        completion(&mut core, |c, ctx| {
            assert_eq!(c.on_timer(ctx, BACKOFF_TIMER), ClientTimer::Resend)
        });
        finds_other(&mut core)
    }

    #[test]
    fn a_first_attempt_that_finds_another_value_is_an_observation() {
        let done = finds_other(&mut cas_core());
        assert_eq!(done, Some((Outcome::Fail, true, true)));
    }

    #[test]
    fn a_retry_that_finds_another_value_after_a_timeout_is_info() {
        // Attempt 1 may have applied 1 -> 2 with its reply lost; the retry then
        // finds 2, the cas's own value: not "did not happen".
        let mut core = cas_core();
        let t = completion(&mut core, |c, ctx| {
            assert_eq!(c.on_timer(ctx, ATTEMPT_TIMER), ClientTimer::Resend)
        });
        assert_eq!(t, None);
        assert_eq!(
            core.node.open().map(|o| (o.attempt, o.uncertain)),
            Some((2, true))
        );
        assert_eq!(finds_other(&mut core), Some((Outcome::Info, true, false)));
    }

    #[test]
    fn a_retry_after_a_refusal_that_may_have_applied_is_info_too() {
        let done = refused_then_finds_other(|c, ctx| c.refused_maybe_applied(ctx));
        assert_eq!(done, Some((Outcome::Info, true, false)));
    }

    #[test]
    fn a_retry_after_a_certain_refusal_still_observes() {
        let done = refused_then_finds_other(|c, ctx| c.refused(ctx));
        assert_eq!(done, Some((Outcome::Fail, true, true)));
    }

    /// The id `begin` gave the operation, run in incarnation `incarnation`.
    fn begin_as(core: &mut Core, incarnation: u64, op: u64) -> RequestId {
        let req = Request {
            id: OpId(op),
            key: "k0".into(),
            f: OpFn::Write(Value::Int(op as i64)),
        };
        core.incarnation = incarnation;
        core.call(|core, ctx: &mut Ctx<()>| {
            core.begin(ctx, req);
            let id = core.open().expect("open").id;
            core.finish(ctx, Outcome::Ok, None);
            id
        })
        .0
    }

    fn rid(incarnation: u64, seq: u64) -> RequestId {
        RequestId {
            session: SessionId {
                client: NodeId(1),
                incarnation,
            },
            seq,
        }
    }

    #[test]
    fn a_restarted_client_is_a_new_session_numbered_from_one() {
        // Issue 22 item 1: a restarted client is rebuilt with a fresh core and
        // numbers its operations from 1 again. Its ids must still differ from
        // every id its old self used, or servers take its new operations for
        // retries of old ones.
        let config = ClientConfig {
            timeout: 50 * MS,
            retry: RetryPolicy::None,
        };
        let mut before = core(config.clone());
        let old: Vec<RequestId> = (0..3).map(|op| begin_as(&mut before, 0, op)).collect();
        assert_eq!(old, vec![rid(0, 1), rid(0, 2), rid(0, 3)]);
        let mut after = core(config);
        let new: Vec<RequestId> = (3..6).map(|op| begin_as(&mut after, 1, op)).collect();
        assert_eq!(new, vec![rid(1, 1), rid(1, 2), rid(1, 3)]);
        assert!(new.iter().all(|id| !old.contains(id)));
        assert_eq!(after.node.last_id(), Some(rid(1, 3)));
    }

    #[test]
    fn a_session_table_answers_a_retry_from_the_cache_and_ignores_the_stale() {
        let mut t: SessionTable<&str> = SessionTable::default();
        assert_eq!(t.check(rid(0, 1)), Seen::New);
        t.record(rid(0, 1), "one");
        t.record(rid(0, 2), "two");
        assert_eq!(t.check(rid(0, 2)), Seen::Retry(&"two"));
        assert_eq!(t.check(rid(0, 1)), Seen::Stale, "the client moved on");
        assert_eq!(t.check(rid(0, 3)), Seen::New);
        // The client restarts: its seq 1 and 2 are new, not retries.
        assert_eq!(t.check(rid(1, 1)), Seen::New);
        assert_eq!(t.check(rid(1, 2)), Seen::New);
        t.record(rid(1, 1), "new one");
        assert_eq!(t.check(rid(1, 1)), Seen::Retry(&"new one"));
        // Its old process's late retry is stale, whatever its seq.
        assert_eq!(t.check(rid(0, 2)), Seen::Stale);
        assert_eq!(t.check(rid(0, 9)), Seen::Stale);
        assert_eq!(t.len(), 1, "one entry per client node");
        assert_eq!(t.last(NodeId(1)), Some((rid(1, 1), &"new one")));
    }

    #[test]
    fn a_reply_answers_the_open_operation_only() {
        let mut c = cas_core();
        let open = c.node.open().expect("open").id;
        assert!(c.node.answers(open));
        assert!(c.node.answers_op(0));
        assert!(!c.node.answers(rid(0, open.seq + 1)), "another operation");
        assert!(!c.node.answers_op(1));
        completion(&mut c, |c, ctx| c.finish(ctx, Outcome::Ok, None));
        assert!(
            !c.node.answers(open),
            "a late reply to a finished operation"
        );
        assert!(!c.node.busy());
    }

    #[test]
    fn retries_rotate_through_the_servers_from_the_start() {
        let servers = [NodeId(0), NodeId(1), NodeId(2)];
        let mut c = cas_core();
        assert_eq!(c.node.rotate(&servers, 1), Some(NodeId(1)));
        assert_eq!(c.node.rotate(&[], 1), None);
        for expect in [2, 0, 1] {
            let fx = c.run(|c, ctx: &mut Ctx<()>| assert!(c.resend_due(ctx, ATTEMPT_TIMER)));
            assert_eq!(
                fx.timer(ATTEMPT_TIMER),
                Some(50 * MS),
                "the next attempt's timer"
            );
            assert_eq!(c.node.rotate(&servers, 1), Some(NodeId(expect)));
        }
    }

    #[test]
    fn a_leader_is_followed_until_it_fails_and_then_the_next_server_is_guessed() {
        let servers = [NodeId(0), NodeId(1), NodeId(2)];
        let mut l = Leader::new(&servers, None, 4);
        assert_eq!((l.known(), l.target()), (None, NodeId(1)), "4 mod 3");
        l.redirect(NodeId(1), Some(NodeId(2)));
        assert_eq!((l.known(), l.target()), (Some(NodeId(2)), NodeId(2)));
        // A server that is not the leader failing changes nothing ...
        l.failed(NodeId(0));
        assert_eq!(l.known(), Some(NodeId(2)));
        // ... the leader failing moves on past it.
        l.failed(NodeId(2));
        assert_eq!((l.known(), l.target()), (None, NodeId(0)));
        // A redirect without a hint, or naming its sender, moves on too.
        l.follow(NodeId(0));
        l.redirect(NodeId(0), Some(NodeId(0)));
        assert_eq!((l.known(), l.target()), (None, NodeId(1)));
        l.redirect(NodeId(1), None);
        assert_eq!(l.target(), NodeId(2));
        // move_on forgets a leader even when another server failed.
        l.follow(NodeId(2));
        l.move_on(NodeId(0));
        assert_eq!((l.known(), l.target()), (None, NodeId(1)));
    }
}
