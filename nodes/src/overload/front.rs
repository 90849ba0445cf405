//! The front service (`n1` when `backends` are given): it answers each
//! request by calling one of its backends (`n2..`) and holds a worker for
//! the whole call, as a thread blocked on an RPC does. The time its caller
//! will still wait travels on with the call, and the front stops waiting
//! for a backend when that time is up (`propagate_deadline`, the default;
//! without it the front waits its own `front_timeout`, whatever its caller
//! does).
//!
//! Its workers are one shared pool (`pools = "shared"`) or one pool per
//! backend (`pools = "separate"`, the workers split evenly): a bulkhead. In
//! a shared pool a slow backend holds every worker it can get, for as long
//! as its callers wait, and requests for a healthy backend queue behind
//! them; separate pools confine the slow backend to its own workers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};

use super::params::{Config, Pools};
use super::server::Job;
use super::{Answer, Msg};
use crate::resilience::{Discipline, Refusal, Stats};

/// A request the front holds, and which backend it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    job: Job,
    kind: u8,
}

/// A call to a backend in progress: which pool and worker it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Call {
    held: Held,
    pool: usize,
    worker: usize,
}

/// One pool of workers and its queue.
#[derive(Clone, Debug)]
struct Pool {
    /// Each worker's call, by its token.
    workers: Vec<Option<u64>>,
    queue: VecDeque<Held>,
}

#[derive(Clone, Debug)]
pub struct Front {
    config: Arc<Config>,
    pools: Vec<Pool>,
    calls: BTreeMap<u64, Call>,
    next_token: u64,
    pub stats: Stats,
    /// Requests dropped unserved because their deadline had passed.
    pub expired: u64,
    /// The incarnation it runs in, once it has handled anything.
    pub life: Option<u64>,
}

impl Front {
    pub fn new(config: Arc<Config>) -> Front {
        let backends = config.backends.len().max(1);
        let pools = match config.pools {
            Pools::Shared => vec![config.workers as usize],
            // Split as evenly as it goes, the first pools taking the rest.
            Pools::Separate => (0..backends)
                .map(|i| {
                    config.workers as usize / backends
                        + usize::from(i < config.workers as usize % backends)
                })
                .collect(),
        };
        Front {
            pools: pools
                .into_iter()
                .map(|n| Pool {
                    workers: vec![None; n],
                    queue: VecDeque::new(),
                })
                .collect(),
            calls: BTreeMap::new(),
            next_token: 1,
            stats: Stats::new(0, config.end),
            expired: 0,
            life: None,
            config,
        }
    }

    pub fn queued(&self) -> usize {
        self.pools.iter().map(|p| p.queue.len()).sum()
    }

    pub fn busy(&self) -> usize {
        self.calls.len()
    }

    fn pool_of(&self, kind: u8) -> usize {
        match self.config.pools {
            Pools::Shared => 0,
            Pools::Separate => (kind as usize).min(self.pools.len() - 1),
        }
    }

    fn answer(ctx: &mut Ctx<Msg>, job: &Job, answer: Answer) {
        ctx.send(
            job.from,
            Msg::Reply {
                op: job.op,
                attempt: job.attempt,
                answer,
            },
        );
    }

    /// Worker `worker` of pool `pool` calls the backend for `held`.
    fn start(&mut self, ctx: &mut Ctx<Msg>, pool: usize, worker: usize, held: Held) {
        let now = ctx.now();
        let token = self.next_token;
        self.next_token += 1;
        self.pools[pool].workers[worker] = Some(token);
        self.calls.insert(token, Call { held, pool, worker });
        let c = &self.config;
        let left = if c.propagate_deadline {
            held.job
                .deadline
                .saturating_sub(now)
                .clamp(1, c.front_timeout)
        } else {
            c.front_timeout
        };
        ctx.send(
            NodeId(1 + held.kind as u32),
            Msg::Request {
                op: token,
                attempt: 0,
                deadline: left,
                kind: held.kind,
            },
        );
        ctx.set_timer(TimerId(token), left);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        self.life = Some(ctx.incarnation());
        match msg {
            Msg::Request {
                op,
                attempt,
                deadline,
                kind,
            } => {
                let now = ctx.now();
                let held = Held {
                    job: Job {
                        from,
                        op,
                        attempt,
                        arrived: now,
                        deadline: now.saturating_add(deadline),
                    },
                    kind,
                };
                self.stats.advance(now, self.queued(), self.busy());
                let p = self.pool_of(kind);
                if let Some(w) = self.pools[p].workers.iter().position(Option::is_none) {
                    self.start(ctx, p, w, held);
                } else if self.pools[p].queue.len() < self.config.queue_limit as usize {
                    self.pools[p].queue.push_back(held);
                } else {
                    self.stats.arrival(now, self.queued());
                    self.stats.refused(now, Refusal::QueueFull);
                    Self::answer(ctx, &held.job, Answer::QueueFull);
                    return;
                }
                self.stats.arrival(now, self.queued());
            }
            Msg::Reply {
                op: token, answer, ..
            } => {
                if self.calls.contains_key(&token) {
                    ctx.cancel_timer(TimerId(token));
                    self.finish(ctx, token, answer);
                }
            }
        }
    }

    /// The call `token` ended with `answer` (or its time ran out): answer
    /// the caller and give the worker the next request.
    fn finish(&mut self, ctx: &mut Ctx<Msg>, token: u64, answer: Answer) {
        let Some(call) = self.calls.remove(&token) else {
            return;
        };
        let now = ctx.now();
        self.stats.advance(now, self.queued(), self.busy() + 1);
        self.pools[call.pool].workers[call.worker] = None;
        // Only a call the backend answered with a result served anyone; one
        // that ran out of time, or that the backend refused, did not.
        if answer == Answer::Ok {
            self.stats
                .served(now, call.held.job.arrived, call.held.job.arrived);
        }
        Self::answer(ctx, &call.held.job, answer);
        loop {
            let next = match self.config.discipline {
                Discipline::Fifo => self.pools[call.pool].queue.pop_front(),
                Discipline::Lifo => self.pools[call.pool].queue.pop_back(),
            };
            let Some(held) = next else { break };
            if self.config.drop_expired && held.job.deadline <= now {
                self.expired += 1;
                Self::answer(ctx, &held.job, Answer::Expired);
                continue;
            }
            self.start(ctx, call.pool, call.worker, held);
            break;
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        self.life = Some(ctx.incarnation());
        // The caller's time is up: it no longer waits, and neither does the front.
        self.finish(ctx, timer.0, Answer::Expired);
    }

    pub fn status(&self) -> Status {
        Status {
            role: "front",
            fields: vec![
                ("calls", self.calls.len().to_string()),
                ("queued", self.queued().to_string()),
                ("served", self.stats.served.to_string()),
                ("refused", self.stats.refused_full.to_string()),
            ],
        }
    }
}
