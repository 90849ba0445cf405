//! The service (`n1`): workers in front of a bounded queue, or one key under
//! optimistic concurrency. It answers every attempt it takes, whether or
//! not the caller is still waiting: the service cannot know that its caller
//! gave up, which is what makes timed-out work wasted work.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::{Config, Resource};
use super::{Answer, Msg};
use crate::resilience::{Discipline, Refusal, Stats};

/// An attempt the service holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub from: NodeId,
    pub op: u64,
    pub attempt: u32,
    pub arrived: Nanos,
    /// When the caller stops caring (its deadline, carried with the request).
    pub deadline: Nanos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Busy {
    job: Job,
    started: Nanos,
}

/// The service. Queue mode: worker `w` finishes on timer `w`. OCC mode:
/// each attempt in progress has its own timer, numbered from `workers` up.
#[derive(Clone, Debug)]
pub struct Server {
    config: Arc<Config>,
    queue: VecDeque<Job>,
    workers: Vec<Option<Busy>>,
    busy: usize,
    /// OCC: the key's version, and the attempts between read and commit
    /// with the version each read.
    version: u64,
    reading: BTreeMap<u64, (Job, u64)>,
    next_timer: u64,
    pub stats: Stats,
    /// Requests dropped unserved because their deadline had passed.
    pub expired: u64,
    /// OCC attempts that found the key changed since they read it.
    pub conflicts: u64,
    /// A backend of a front (its caller is the front, not a caller).
    pub backend: bool,
    /// The incarnation it runs in, once it has handled anything: how the
    /// report tells a restarted service from the one that crashed.
    pub life: Option<u64>,
}

impl Server {
    pub fn new(config: Arc<Config>) -> Server {
        Server {
            workers: vec![None; config.workers as usize],
            queue: VecDeque::new(),
            busy: 0,
            version: 0,
            reading: BTreeMap::new(),
            next_timer: config.workers as u64,
            stats: Stats::new(0, config.end),
            expired: 0,
            conflicts: 0,
            backend: false,
            life: None,
            config,
        }
    }

    pub fn is_backend(&self) -> bool {
        self.backend
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn busy(&self) -> usize {
        self.busy
    }

    fn service_time(&self, ctx: &mut Ctx<Msg>) -> Nanos {
        let now = ctx.now();
        let drawn = self.config.service.sample(ctx.rng()).max(1);
        let factor = self.config.slowdown_at(now);
        if factor == 1.0 {
            drawn
        } else {
            ((drawn as f64 * factor).round() as Nanos).max(1)
        }
    }

    fn start(&mut self, ctx: &mut Ctx<Msg>, w: usize, job: Job) {
        let took = self.service_time(ctx);
        self.workers[w] = Some(Busy {
            job,
            started: ctx.now(),
        });
        self.busy += 1;
        ctx.set_timer(TimerId(w as u64), took);
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

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        self.life = Some(ctx.incarnation());
        let Msg::Request {
            op,
            attempt,
            deadline,
            ..
        } = msg
        else {
            return;
        };
        let now = ctx.now();
        let job = Job {
            from,
            op,
            attempt,
            arrived: now,
            deadline: now.saturating_add(deadline),
        };
        if self.config.resource == Resource::Occ {
            self.stats.arrival(now, 0);
            let took = self.service_time(ctx);
            let t = self.next_timer;
            self.next_timer += 1;
            self.reading.insert(t, (job, self.version));
            ctx.set_timer(TimerId(t), took);
            return;
        }
        self.stats.advance(now, self.queue.len(), self.busy);
        if let Some(w) = self.workers.iter().position(Option::is_none) {
            self.start(ctx, w, job);
        } else if self.queue.len() < self.config.queue_limit as usize {
            self.queue.push_back(job);
        } else {
            self.stats.arrival(now, self.queue.len());
            self.stats.refused(now, Refusal::QueueFull);
            Self::answer(ctx, &job, Answer::QueueFull);
            return;
        }
        self.stats.arrival(now, self.queue.len());
    }

    /// The next waiting job a free worker should take; with `drop_expired`,
    /// jobs whose deadline has passed are answered `Expired` and skipped.
    fn next_job(&mut self, ctx: &mut Ctx<Msg>) -> Option<Job> {
        loop {
            let job = match self.config.discipline {
                Discipline::Fifo => self.queue.pop_front(),
                Discipline::Lifo => self.queue.pop_back(),
            }?;
            if self.config.drop_expired && job.deadline <= ctx.now() {
                self.expired += 1;
                Self::answer(ctx, &job, Answer::Expired);
                continue;
            }
            return Some(job);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        self.life = Some(ctx.incarnation());
        let now = ctx.now();
        if self.config.resource == Resource::Occ {
            let Some((job, read)) = self.reading.remove(&timer.0) else {
                return;
            };
            if read == self.version {
                self.version += 1;
                self.stats.served(now, job.arrived, job.arrived);
                Self::answer(ctx, &job, Answer::Ok);
            } else {
                self.conflicts += 1;
                Self::answer(ctx, &job, Answer::Conflict);
            }
            return;
        }
        let w = timer.0 as usize;
        let Some(done) = self.workers.get_mut(w).and_then(Option::take) else {
            return;
        };
        self.stats.advance(now, self.queue.len(), self.busy);
        self.busy -= 1;
        self.stats.served(now, done.job.arrived, done.started);
        Self::answer(ctx, &done.job, Answer::Ok);
        if let Some(job) = self.next_job(ctx) {
            self.start(ctx, w, job);
        }
    }

    pub fn status(&self) -> Status {
        let mut fields = vec![
            ("busy", format!("{}/{}", self.busy, self.workers.len())),
            ("queued", self.queue.len().to_string()),
            ("served", self.stats.served.to_string()),
            ("refused", self.stats.refused_full.to_string()),
        ];
        if self.config.drop_expired {
            fields.push(("expired", self.expired.to_string()));
        }
        if self.config.resource == Resource::Occ {
            fields = vec![
                ("version", self.version.to_string()),
                ("in progress", self.reading.len().to_string()),
                ("conflicts", self.conflicts.to_string()),
            ];
        }
        Status {
            role: if self.backend { "backend" } else { "service" },
            fields,
        }
    }
}
