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

    fn start<M>(&mut self, ctx: &mut Ctx<M>, w: usize, job: Job) {
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
        self.accept(ctx, from, id, |id, refused| Msg::Reply { id, refused });
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        self.finish(ctx, timer, |id, refused| Msg::Reply { id, refused });
    }

    /// Request `id` from `from` arrives: it starts, waits, or is refused
    /// at once with the reply `reply` builds. Generic over the protocol's
    /// message type so that other protocols (the load balancer's backends)
    /// run the same service inside their own nodes; the service's timers are
    /// `TimerId(0..workers)`.
    pub fn accept<M>(
        &mut self,
        ctx: &mut Ctx<M>,
        from: NodeId,
        id: u64,
        reply: impl FnOnce(u64, Option<Refusal>) -> M,
    ) {
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
            ctx.send(from, reply(id, Some(Refusal::QueueFull)));
            return;
        }
        self.stats.arrival(now, self.queue.len());
    }

    /// Worker `timer` is done: its request is answered with the reply
    /// `reply` builds, and the worker takes the next waiting request.
    pub fn finish<M>(
        &mut self,
        ctx: &mut Ctx<M>,
        timer: TimerId,
        reply: impl FnOnce(u64, Option<Refusal>) -> M,
    ) {
        let w = timer.0 as usize;
        let Some(done) = self.workers.get_mut(w).and_then(Option::take) else {
            return;
        };
        let now = ctx.now();
        self.stats.advance(now, self.queue.len(), self.busy);
        self.busy -= 1;
        self.stats.served(now, done.job.arrived, done.started);
        ctx.send(done.job.from, reply(done.job.id, None));
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
