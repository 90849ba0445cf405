//! The service: `c` workers in front of one bounded queue.

use std::collections::VecDeque;
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::{Config, Discipline};
use super::stats::{Refusal, Stats};
use super::Msg;

/// A request the service holds: who sent it, its id, when it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub from: NodeId,
    pub id: u64,
    pub arrived: Nanos,
}

/// A worker's request and when it reached the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Busy {
    job: Job,
    started: Nanos,
}

/// A service with `workers` workers and a queue of at most `queue_limit`
/// waiting requests. A request that finds a worker free is served at once;
/// else it waits, unless the queue is full, when it is refused. Each
/// service time is drawn from the node's own stream when the request reaches
/// its worker, and worker `w` finishes on timer `w`.
#[derive(Clone, Debug)]
pub struct Service {
    config: Arc<Config>,
    queue: VecDeque<Job>,
    workers: Vec<Option<Busy>>,
    busy: usize,
    pub stats: Stats,
}

impl Service {
    pub fn new(config: Arc<Config>) -> Service {
        Service {
            workers: vec![None; config.workers as usize],
            queue: VecDeque::new(),
            busy: 0,
            stats: Stats::new(config.warmup, config.end),
            config,
        }
    }

    /// Requests waiting.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Workers serving a request.
    pub fn busy(&self) -> usize {
        self.busy
    }

    fn start(&mut self, ctx: &mut Ctx<Msg>, w: usize, job: Job) {
        let now = ctx.now();
        let took = self.config.service.sample(ctx.rng()).max(1);
        self.workers[w] = Some(Busy { job, started: now });
        self.busy += 1;
        ctx.set_timer(TimerId(w as u64), took);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let Msg::Request { id } = msg else {
            return;
        };
        let now = ctx.now();
        self.stats.advance(now, self.queue.len(), self.busy);
        let job = Job {
            from,
            id,
            arrived: now,
        };
        if let Some(w) = self.workers.iter().position(Option::is_none) {
            self.start(ctx, w, job);
        } else if self.queue.len() < self.config.queue_limit as usize {
            self.queue.push_back(job);
        } else {
            self.stats.arrival(now, self.queue.len());
            self.stats.refused(now, Refusal::QueueFull);
            ctx.send(
                from,
                Msg::Reply {
                    id,
                    refused: Some(Refusal::QueueFull),
                },
            );
            return;
        }
        self.stats.arrival(now, self.queue.len());
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        let w = timer.0 as usize;
        let Some(done) = self.workers.get_mut(w).and_then(Option::take) else {
            return;
        };
        let now = ctx.now();
        self.stats.advance(now, self.queue.len(), self.busy);
        self.busy -= 1;
        self.stats.served(now, done.job.arrived, done.started);
        ctx.send(
            done.job.from,
            Msg::Reply {
                id: done.job.id,
                refused: None,
            },
        );
        let next = match self.config.discipline {
            Discipline::Fifo => self.queue.pop_front(),
            Discipline::Lifo => self.queue.pop_back(),
        };
        if let Some(job) = next {
            self.start(ctx, w, job);
        }
    }

    pub fn status(&self) -> Status {
        Status {
            role: "service",
            fields: vec![
                ("busy", format!("{}/{}", self.busy, self.workers.len())),
                ("queued", self.queue.len().to_string()),
                ("served", self.stats.served.to_string()),
                ("refused", self.stats.refused_full.to_string()),
            ],
        }
    }
}
