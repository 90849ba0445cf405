//! A limiter node: it decides every request its sources send it, on its
//! own (`local`), by asking the counter (`central`), or on its own count
//! plus what the others last told it (`synced`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::algo::{Algo, Decision};
use super::params::{Config, Failure, Mode};
use super::stats::{Refusal, Stats};
use super::{Msg, COUNTER};

/// `synced`: time to send this limiter's count to the others.
const SYNC: TimerId = TimerId(0);
/// The leaky bucket: the head of the queue leaves.
const DRAIN: TimerId = TimerId(1);
/// `central`: ask `k` timed out is timer `ASK_BASE + k`.
const ASK_BASE: u64 = 2;

/// A request waiting for the counter's verdict or for its turn to leave
/// the leaky bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    from: NodeId,
    id: u64,
    arrived: Nanos,
}

#[derive(Clone, Debug)]
pub struct Limiter {
    config: Arc<Config>,
    /// This node's id.
    me: NodeId,
    algo: Algo,
    /// `central`: requests waiting for a verdict, by ask.
    asking: BTreeMap<u64, Held>,
    /// `central`: asks of this life are `life << 32` plus a count, so that
    /// a verdict the counter sends to an earlier life of this node (after
    /// a crash and restart) matches no ask of this one.
    next_ask: u64,
    /// How many times this node was restarted before this life.
    pub life: u64,
    /// When this life began: after a restart the figures of the earlier
    /// life are gone, and the report says so.
    pub started: Nanos,
    /// Leaky bucket: requests in the queue and when each leaves.
    queue: VecDeque<(Held, Nanos)>,
    /// `synced`: the last (window, count) each other limiter sent, by node.
    peers: BTreeMap<NodeId, (u64, u64)>,
    pub stats: Stats,
}

impl Limiter {
    pub fn new(config: Arc<Config>, me: NodeId) -> Limiter {
        Limiter {
            algo: Algo::new(&config),
            me,
            asking: BTreeMap::new(),
            next_ask: 0,
            life: 0,
            started: 0,
            queue: VecDeque::new(),
            peers: BTreeMap::new(),
            stats: Stats::new(config.window),
            config,
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.life = ctx.incarnation();
        self.started = ctx.now();
        self.next_ask = self.life << 32;
        if self.config.mode == Mode::Synced {
            ctx.set_timer(SYNC, self.config.sync_interval);
        }
    }

    fn reply(ctx: &mut Ctx<Msg>, h: Held, refused: Option<Refusal>) {
        ctx.send(h.from, Msg::Reply { id: h.id, refused });
    }

    fn allow(&mut self, ctx: &mut Ctx<Msg>, h: Held) {
        self.stats.allow(h.arrived, ctx.now());
        Self::reply(ctx, h, None);
    }

    fn refuse(&mut self, ctx: &mut Ctx<Msg>, h: Held, why: Refusal) {
        self.stats.refuse(h.arrived, ctx.now(), why);
        Self::reply(ctx, h, Some(why));
    }

    /// What the other limiters last said they allowed in the window of `now`.
    fn others(&self, now: Nanos) -> u64 {
        let k = now / self.config.window;
        self.peers
            .values()
            .filter(|&&(w, _)| w == k)
            .map(|&(_, n)| n)
            .sum()
    }

    fn decide(&mut self, ctx: &mut Ctx<Msg>, h: Held) {
        let now = ctx.now();
        let others = if self.config.mode == Mode::Synced {
            self.others(now)
        } else {
            0
        };
        match self.algo.admit(now, others) {
            Decision::Allow { at } if at <= now => self.allow(ctx, h),
            Decision::Allow { at } => {
                // Behind a leaky bucket: it leaves the queue at `at`, and
                // is counted as allowed then (a request still queued when
                // the run ends has not reached the service).
                if self.queue.is_empty() {
                    ctx.set_timer(DRAIN, at - now);
                }
                self.queue.push_back((h, at));
            }
            Decision::Refuse => self.refuse(ctx, h, Refusal::OverLimit),
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let now = ctx.now();
        match msg {
            Msg::Request { id } => {
                self.stats.arrived += 1;
                let h = Held {
                    from,
                    id,
                    arrived: now,
                };
                if self.config.mode == Mode::Central {
                    self.next_ask += 1;
                    let ask = self.next_ask;
                    self.asking.insert(ask, h);
                    ctx.send(COUNTER, Msg::Ask { ask });
                    ctx.set_timer(TimerId(ASK_BASE + ask), self.config.counter_timeout);
                } else {
                    self.decide(ctx, h);
                }
            }
            Msg::Verdict { ask, allowed } => {
                // A verdict after the timeout finds nothing: the request
                // was already decided without it.
                if let Some(h) = self.asking.remove(&ask) {
                    ctx.cancel_timer(TimerId(ASK_BASE + ask));
                    if allowed {
                        self.allow(ctx, h);
                    } else {
                        self.refuse(ctx, h, Refusal::OverLimit);
                    }
                }
            }
            Msg::Sync { window, count } => {
                // Counts only grow within a window and windows only move
                // on; a reordered older report must not replace a newer one.
                let e = self.peers.entry(from).or_insert((window, count));
                if (window, count) > *e {
                    *e = (window, count);
                }
            }
            Msg::Reply { .. } | Msg::Ask { .. } => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        let now = ctx.now();
        match timer {
            SYNC => {
                let window = now / self.config.window;
                let count = self.algo.window_count(now);
                for i in 1..=self.config.limiters {
                    let to = NodeId(i as u32);
                    if to != self.me {
                        ctx.send(to, Msg::Sync { window, count });
                    }
                }
                ctx.set_timer(SYNC, self.config.sync_interval);
            }
            DRAIN => {
                while let Some(&(h, at)) = self.queue.front() {
                    if at > now {
                        ctx.set_timer(DRAIN, at - now);
                        break;
                    }
                    self.queue.pop_front();
                    self.stats.allow(h.arrived, at);
                    Self::reply(ctx, h, None);
                }
            }
            TimerId(t) => {
                let Some(h) = self.asking.remove(&(t - ASK_BASE)) else {
                    return;
                };
                match self.config.fail {
                    Failure::Open => {
                        self.stats.allowed_unreachable += 1;
                        self.allow(ctx, h);
                    }
                    Failure::Closed => self.refuse(ctx, h, Refusal::CounterUnreachable),
                }
            }
        }
    }

    /// Leaky bucket: requests still waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn status(&self) -> Status {
        Status {
            role: "limiter",
            fields: vec![
                ("arrived", self.stats.arrived.to_string()),
                ("allowed", self.stats.allowed.len().to_string()),
                (
                    "refused",
                    (self.stats.refused_over + self.stats.refused_unreachable).to_string(),
                ),
                (
                    "waiting",
                    (self.asking.len() + self.queue.len()).to_string(),
                ),
            ],
        }
    }
}
