//! The application: it serves the workload's gets and puts through its cache
//! (and its own L1, if it has one), following the scenario's policy.

use std::sync::Arc;

use sim::client::{ClientConfig, ClientCore, ClientTimer};
use sim::history::{OpFn, Outcome, Value};
use sim::node::{Ctx, NodeId, Request, Status, TimerId};
use sim::time::Nanos;

use super::store::{Entry, Eviction, Lookup, Store};
use super::{Msg, Params, Policy, Source, DB};

/// Where this client's reads were answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub l1_hits: u64,
    pub cache_hits: u64,
    /// Reads the database answered (through the cache, or to the
    /// application itself on a cache-aside miss).
    pub db_reads: u64,
}

/// The step the open operation is waiting on, with the tag of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Idle,
    /// cache-aside: asked the cache; a miss goes on to the database.
    CacheGet(u64),
    /// cache-aside: read the database after a miss (holding a lease to
    /// fill the cache, with `leases`).
    DbRead(u64, Option<u64>),
    /// cache-aside and write-around: wrote the database.
    DbWrite(u64),
    /// cache-aside: deleting the key after the write.
    CacheDel(u64),
    /// Any other policy: one request to the cache, which does the rest.
    Cache(u64),
}

#[derive(Clone, Debug)]
pub struct Client {
    core: ClientCore,
    params: Arc<Params>,
    cache: NodeId,
    l1: Option<Store>,
    next_tag: u64,
    step: Step,
    pub stats: ClientStats,
    /// Every write this client had acknowledged: (key, value).
    pub acked_writes: Vec<(String, i64)>,
    /// When each of those writes was invoked and acknowledged, in the same
    /// order (virtual time, so the report can order writes in real time).
    pub acked_write_times: Vec<(Nanos, Nanos)>,
    /// How long each `ok` read and write took, invocation to answer.
    pub read_latencies: Vec<Nanos>,
    pub write_latencies: Vec<Nanos>,
    started: Nanos,
}

impl Client {
    pub fn new(params: Arc<Params>, config: ClientConfig, cache: NodeId) -> Client {
        let l1 = (params.l1_capacity > 0).then(|| Store::new(params.l1_capacity, Eviction::Lru));
        Client {
            core: ClientCore::new(config),
            params,
            cache,
            l1,
            next_tag: 0,
            step: Step::Idle,
            stats: ClientStats::default(),
            acked_writes: Vec::new(),
            acked_write_times: Vec::new(),
            read_latencies: Vec::new(),
            write_latencies: Vec::new(),
            started: 0,
        }
    }

    /// The cache this client talks to.
    pub fn cache(&self) -> NodeId {
        self.cache
    }

    fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        self.started = ctx.now();
        self.core.begin(ctx, req);
        self.attempt(ctx);
    }

    /// Starts (or restarts, on a retry) the open operation.
    fn attempt(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(open) = self.core.open() else {
            return;
        };
        let key = open.req.key.clone();
        let f = open.req.f.clone();
        let policy = self.params.policy;
        let tag = self.tag();
        match f {
            OpFn::Read => {
                let now = ctx.mono_time();
                if let Some(Lookup::Hit(e)) = self.l1.as_mut().map(|l1| l1.get(&key, now)) {
                    let value = e.value.clone();
                    self.stats.l1_hits += 1;
                    self.finish_from_l1(ctx, value);
                    return;
                }
                ctx.send(self.cache, Msg::Get { tag, key });
                self.step = if policy == Policy::CacheAside {
                    Step::CacheGet(tag)
                } else {
                    Step::Cache(tag)
                };
            }
            OpFn::Write(_) | OpFn::Delete => {
                let value = match f {
                    OpFn::Write(v) => v,
                    _ => Value::Nil,
                };
                if matches!(policy, Policy::CacheAside | Policy::WriteAround) {
                    ctx.send(DB, Msg::DbWrite { tag, key, value });
                    self.step = Step::DbWrite(tag);
                } else {
                    ctx.send(self.cache, Msg::Put { tag, key, value });
                    self.step = Step::Cache(tag);
                }
            }
            // Refused when the scenario is read; never issued.
            OpFn::Cas { .. } | OpFn::Append(_) => {
                self.step = Step::Idle;
                self.core.finish(ctx, Outcome::Fail, None);
            }
        }
    }

    /// Completes a read the L1 answered: its entry keeps its expiry (a hit
    /// that renewed it would let a hot entry live, and go stale, for ever).
    fn finish_from_l1(&mut self, ctx: &mut Ctx<Msg>, value: Value) {
        self.step = Step::Idle;
        self.read_latencies.push(ctx.now() - self.started);
        self.core.finish(ctx, Outcome::Ok, Some(value));
    }

    /// Completes the open operation `ok`, remembering what it learned.
    fn done(&mut self, ctx: &mut Ctx<Msg>, output: Option<Value>) {
        self.step = Step::Idle;
        let Some(open) = self.core.open() else {
            return;
        };
        let key = open.req.key.clone();
        let took = ctx.now() - self.started;
        if open.req.f == OpFn::Read {
            self.read_latencies.push(took);
        } else {
            self.write_latencies.push(took);
        }
        let known = match &open.req.f {
            OpFn::Write(v) => {
                if let Value::Int(i) = v {
                    self.acked_writes.push((key.clone(), *i));
                    self.acked_write_times.push((self.started, ctx.now()));
                }
                Some(v.clone())
            }
            OpFn::Delete => Some(Value::Nil),
            _ => output.clone(),
        };
        if let (Some(l1), Some(v)) = (self.l1.as_mut(), known) {
            let expires = ctx.mono_time() + self.params.l1_ttl;
            l1.insert(&key, Entry::new(v, Some(expires)), ctx.rng());
        }
        self.core.finish(ctx, Outcome::Ok, output);
    }

    fn open_key(&self) -> String {
        self.core
            .open()
            .map(|o| o.req.key.clone())
            .unwrap_or_default()
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, msg: Msg) {
        let step = self.step;
        match msg {
            Msg::Value { tag, value, source }
                if step == Step::CacheGet(tag) || step == Step::Cache(tag) =>
            {
                match source {
                    Source::Cache => self.stats.cache_hits += 1,
                    Source::Database => self.stats.db_reads += 1,
                }
                self.done(ctx, Some(value));
            }
            Msg::Miss { tag, lease } if step == Step::CacheGet(tag) => {
                let tag = self.tag();
                let key = self.open_key();
                ctx.send(DB, Msg::DbRead { tag, key });
                self.step = Step::DbRead(tag, lease);
            }
            Msg::DbValue { tag, value } if matches!(step, Step::DbRead(t, _) if t == tag) => {
                self.stats.db_reads += 1;
                let key = self.open_key();
                let lease = match step {
                    Step::DbRead(_, lease) => lease,
                    _ => None,
                };
                // With leases, only the holder fills; without, everyone does.
                if lease.is_some() || !self.params.leases {
                    ctx.send(
                        self.cache,
                        Msg::Set {
                            key,
                            value: value.clone(),
                            lease,
                        },
                    );
                }
                self.done(ctx, Some(value));
            }
            Msg::DbDone { tag } if step == Step::DbWrite(tag) => {
                if self.params.policy == Policy::CacheAside {
                    let tag = self.tag();
                    let key = self.open_key();
                    ctx.send(self.cache, Msg::Del { tag, key });
                    self.step = Step::CacheDel(tag);
                } else {
                    self.done(ctx, None);
                }
            }
            Msg::Deleted { tag } if step == Step::CacheDel(tag) => self.done(ctx, None),
            Msg::Written { tag } if step == Step::Cache(tag) => self.done(ctx, None),
            Msg::Unavailable { tag, maybe_applied } if step == Step::Cache(tag) => {
                self.step = Step::Idle;
                if maybe_applied {
                    self.core.refused_maybe_applied(ctx);
                } else {
                    self.core.refused(ctx);
                }
            }
            Msg::DbBusy { tag }
                if step == Step::DbWrite(tag) || matches!(step, Step::DbRead(t, _) if t == tag) =>
            {
                self.step = Step::Idle;
                self.core.refused(ctx);
            }
            // A late answer to an attempt this client gave up on.
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match self.core.on_timer(ctx, timer) {
            ClientTimer::Resend => self.attempt(ctx),
            ClientTimer::GaveUp | ClientTimer::Waiting => self.step = Step::Idle,
            ClientTimer::NotMine => {}
        }
    }

    pub fn status(&self) -> Status {
        // The core's "open" field first, then this client's own.
        let mut status = self.core.status();
        status.fields.extend([
            ("cache", format!("n{}", self.cache.0 + 1)),
            (
                "reads",
                format!(
                    "{} cache, {} db",
                    self.stats.cache_hits, self.stats.db_reads
                ),
            ),
        ]);
        if let Some(l1) = &self.l1 {
            status.fields.push((
                "L1",
                format!("{} entries, {} hits", l1.len(), self.stats.l1_hits),
            ));
        }
        status
    }
}
