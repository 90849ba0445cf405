//! A caller (`n2..`): it starts operations when its arrival process says
//! (or all at once, for a population), sends each as attempts with a
//! timeout, and retries a failed attempt after its backoff, unless its
//! retry budget, its breaker or the operation's deadline says no.
//!
//! An attempt carries the time its caller will still wait for it (the
//! smaller of the timeout and what is left of the operation's deadline), so
//! the service can drop work no one waits for. An answer to an attempt the
//! caller stopped waiting for is counted as late and otherwise ignored.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

use sim::arrivals::Arrivals;
use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::breaker::Breaker;
use super::params::Config;
use super::stats::{CallerStats, Failure};
use super::{Answer, Msg, SERVICE};

/// The timer of the next arrival; operation `k` uses timers `2k + 1` (its
/// attempt's timeout) and `2k + 2` (its backoff).
pub const ARRIVE: TimerId = TimerId(0);

fn timeout_timer(op: u64) -> TimerId {
    TimerId(2 * op + 1)
}

fn backoff_timer(op: u64) -> TimerId {
    TimerId(2 * op + 2)
}

/// The node's stream, moved to another ChaCha stream number.
fn jitter_stream(ctx: &mut Ctx<Msg>) -> ChaCha8Rng {
    let mut jitter = ctx.rng().clone();
    jitter.set_stream(1);
    jitter
}

/// An operation in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Op {
    started: Nanos,
    /// Attempts made so far; the one in flight (if `waiting`) is this one.
    attempt: u32,
    waiting: bool,
    deadline: Option<Nanos>,
    /// The last backoff waited (decorrelated jitter draws from it).
    last_wait: Nanos,
    /// The backend it is for (0 without backends).
    kind: u8,
}

#[derive(Clone, Debug)]
pub struct Caller {
    config: Arc<Config>,
    arrivals: Option<Arrivals>,
    /// Operations to start at 0s (a population), when there are no arrivals.
    population: u32,
    last: Nanos,
    next_op: u64,
    ops: BTreeMap<u64, Op>,
    tokens: f64,
    /// The stream backoffs draw from: a copy of the node's stream moved to
    /// another ChaCha stream number, so that a retry policy's draws never
    /// shift the arrivals (two runs that differ only in their jitter see
    /// the same load).
    jitter: Option<ChaCha8Rng>,
    pub breaker: Option<Breaker>,
    pub stats: CallerStats,
    /// The incarnation it runs in, from its start: how the report tells a
    /// restarted caller from the one that crashed.
    pub life: Option<u64>,
}

impl Caller {
    /// Caller `index` of `config.callers`: its share of the load.
    pub fn new(config: Arc<Config>, index: usize) -> Caller {
        let n = config.callers.max(1);
        let arrivals = config.arrivals.as_ref().map(|a| a.split(n));
        // The population is dealt out as evenly as it goes.
        let population =
            config.population / n as u32 + u32::from((index as u32) < config.population % n as u32);
        Caller {
            arrivals,
            population,
            last: 0,
            next_op: 0,
            ops: BTreeMap::new(),
            tokens: config.budget.map_or(0.0, |b| b.max_tokens),
            jitter: None,
            breaker: config.breaker.clone().map(Breaker::new),
            stats: CallerStats::new(config.window, config.end),
            life: None,
            config,
        }
    }

    /// Operations in progress.
    pub fn in_progress(&self) -> usize {
        self.ops.len()
    }

    fn schedule(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        if let Some(a) = &self.arrivals {
            if let Some(at) = a.next(self.last.max(now), self.config.stop, ctx.rng()) {
                self.last = at;
                ctx.set_timer(ARRIVE, at - now);
            }
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.life = Some(ctx.incarnation());
        self.last = ctx.now();
        // Cloned, not drawn from: taking a seed would consume a draw of the
        // arrival stream.
        self.jitter = Some(jitter_stream(ctx));
        // A restarted caller has lost its operations (they never end) and
        // does not start its population again.
        if ctx.now() == 0 {
            for _ in 0..self.population {
                self.start_op(ctx);
            }
        }
        self.schedule(ctx);
    }

    fn start_op(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        self.next_op += 1;
        let id = self.next_op;
        let kind = if self.config.backends.is_empty() {
            0
        } else {
            let u: f64 = ctx.rng().gen();
            self.config.pick_backend(u)
        };
        self.stats.started(now, kind);
        if let Some(b) = self.config.budget {
            self.tokens = (self.tokens + b.ratio).min(b.max_tokens);
        }
        self.ops.insert(
            id,
            Op {
                started: now,
                attempt: 0,
                waiting: false,
                deadline: self.config.deadline.map(|d| now + d),
                last_wait: 0,
                kind,
            },
        );
        self.send_attempt(ctx, id);
    }

    fn end(&mut self, now: Nanos, id: u64, failure: Option<Failure>) {
        let Some(op) = self.ops.remove(&id) else {
            return;
        };
        match failure {
            None => self.stats.succeeded(now, op.started, op.kind),
            Some(why) => self.stats.failed(now, why),
        }
    }

    fn send_attempt(&mut self, ctx: &mut Ctx<Msg>, id: u64) {
        let now = ctx.now();
        let Some(op) = self.ops.get(&id).copied() else {
            return;
        };
        let left = match op.deadline {
            Some(d) if d <= now => return self.end(now, id, Some(Failure::Deadline)),
            Some(d) => (d - now).min(self.config.timeout),
            None => self.config.timeout,
        };
        if let Some(b) = &mut self.breaker {
            if !b.allow(now) {
                return self.end(now, id, Some(Failure::BreakerOpen));
            }
        }
        let attempt = op.attempt + 1;
        if let Some(o) = self.ops.get_mut(&id) {
            o.attempt = attempt;
            o.waiting = true;
        }
        self.stats.attempt(now);
        ctx.send(
            SERVICE,
            Msg::Request {
                op: id,
                attempt,
                deadline: left,
                kind: op.kind,
            },
        );
        ctx.set_timer(timeout_timer(id), left);
    }

    /// Attempt `op.attempt` failed for `why`: retry after a backoff, or end.
    fn failed_attempt(&mut self, ctx: &mut Ctx<Msg>, id: u64, why: Failure) {
        let now = ctx.now();
        self.stats.attempt_failed(why);
        if let Some(b) = &mut self.breaker {
            b.record(now, true);
        }
        let Some(op) = self.ops.get(&id).copied() else {
            return;
        };
        let r = &self.config.retry;
        if op.attempt >= r.max_attempts {
            let why = if r.max_attempts == 1 {
                why
            } else {
                Failure::Exhausted
            };
            return self.end(now, id, Some(why));
        }
        let jitter = self.jitter.get_or_insert_with(|| jitter_stream(ctx));
        let wait = r
            .backoff
            .delay(r.base, r.cap, op.attempt, op.last_wait, jitter);
        // A retry that could only start at or past the deadline would end
        // there unsent: end it now, without spending a retry token on it.
        if op.deadline.is_some_and(|d| now.saturating_add(wait) >= d) {
            return self.end(now, id, Some(Failure::Deadline));
        }
        if self.config.budget.is_some() {
            if self.tokens < 1.0 {
                return self.end(now, id, Some(Failure::Budget));
            }
            self.tokens -= 1.0;
        }
        if let Some(o) = self.ops.get_mut(&id) {
            o.last_wait = wait;
        }
        if wait == 0 {
            self.send_attempt(ctx, id);
        } else {
            ctx.set_timer(backoff_timer(id), wait);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer == ARRIVE {
            self.start_op(ctx);
            self.schedule(ctx);
            return;
        }
        let id = (timer.0 - 1) / 2;
        let Some(op) = self.ops.get(&id).copied() else {
            return;
        };
        if timer.0 % 2 == 1 {
            if !op.waiting {
                return;
            }
            if let Some(o) = self.ops.get_mut(&id) {
                o.waiting = false;
            }
            self.failed_attempt(ctx, id, Failure::TimedOut);
        } else {
            self.send_attempt(ctx, id);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, _from: NodeId, msg: Msg) {
        let Msg::Reply {
            op: id,
            attempt,
            answer,
        } = msg
        else {
            return;
        };
        let now = ctx.now();
        let current = self
            .ops
            .get(&id)
            .is_some_and(|o| o.waiting && o.attempt == attempt);
        if !current {
            self.stats.late += 1;
            if answer == Answer::Ok {
                self.stats.late_served += 1;
            }
            return;
        }
        ctx.cancel_timer(timeout_timer(id));
        if let Some(o) = self.ops.get_mut(&id) {
            o.waiting = false;
        }
        match answer {
            Answer::Ok => {
                if let Some(b) = &mut self.breaker {
                    b.record(now, false);
                }
                self.end(now, id, None);
            }
            Answer::QueueFull => self.failed_attempt(ctx, id, Failure::QueueFull),
            Answer::Expired => self.failed_attempt(ctx, id, Failure::Expired),
            Answer::Conflict => self.failed_attempt(ctx, id, Failure::Conflict),
        }
    }

    pub fn status(&self) -> Status {
        let mut fields = vec![
            ("in progress", self.ops.len().to_string()),
            ("succeeded", self.stats.succeeded.to_string()),
            ("failed", self.stats.failed.to_string()),
            ("attempts", self.stats.attempts.to_string()),
        ];
        if let Some(b) = &self.breaker {
            // The state as of the last event (status has no clock).
            let state = b.changes.last().map_or("closed", |c| c.1.name());
            fields.push(("breaker", state.to_string()));
        }
        Status {
            role: "caller",
            fields,
        }
    }
}
