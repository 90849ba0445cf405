//! The load balancer: it takes each request from a source, picks a backend
//! by its policy among those in rotation, forwards the request, and relays
//! the backend's reply; it times out requests a backend never answers, and
//! keeps backends out of rotation by active health checks and by passive
//! outlier ejection.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use sim::node::{Ctx, NodeId, Status, TimerId};
use sim::time::Nanos;

use super::params::Config;
use super::pick::Picker;
use super::stats::Stats;
use super::{Msg, Refusal};

/// The timer of the oldest deadline of a request in flight.
pub const TIMEOUT: TimerId = TimerId(0);
/// The timer of the next round of health probes.
pub const PROBE: TimerId = TimerId(1);
/// The timer that judges the round's probes.
pub const PROBE_DEADLINE: TimerId = TimerId(2);

/// A request the balancer has forwarded and not yet answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    from: NodeId,
    id: u64,
    backend: usize,
    /// True time of arrival at the balancer, for the figures.
    arrived: Nanos,
}

/// What the balancer knows of one backend.
#[derive(Clone, Debug, Default)]
pub struct BackendView {
    /// Requests sent and not yet answered or timed out.
    pub outstanding: u32,
    /// By the active health check (true until it says otherwise).
    pub unhealthy: bool,
    ok_streak: u32,
    fail_streak: u32,
    /// Whether this round's probe was answered.
    probe_answered: bool,
    /// Failures (timeouts, refusals) in a row, for outlier ejection.
    consecutive_failures: u32,
    /// Ejected until this time of the balancer's monotonic clock.
    pub ejected_until: Option<Nanos>,
    pub ejections: u32,
}

#[derive(Clone, Debug)]
pub struct Balancer {
    config: Arc<Config>,
    picker: Picker,
    pub backends: Vec<BackendView>,
    pending: BTreeMap<u64, Pending>,
    /// Deadlines in the order they were set (one timeout for all, so also
    /// in time order), on the monotonic clock; answered requests are
    /// skipped when their deadline comes.
    deadlines: VecDeque<(Nanos, u64)>,
    timeout_armed: bool,
    next_id: u64,
    probe_seq: u64,
    pub stats: Stats,
}

impl Balancer {
    pub fn new(config: Arc<Config>) -> Balancer {
        Balancer {
            picker: Picker::new(&config),
            backends: vec![BackendView::default(); config.backends],
            pending: BTreeMap::new(),
            deadlines: VecDeque::new(),
            timeout_armed: false,
            next_id: 0,
            probe_seq: 0,
            stats: Stats::new(config.warmup, config.end, config.backends),
            config,
        }
    }

    /// Backend `b` is node `n(b+2)`.
    fn node(b: usize) -> NodeId {
        NodeId(b as u32 + 1)
    }

    fn in_rotation(&self, now_mono: Nanos) -> Vec<bool> {
        self.backends
            .iter()
            .map(|v| !v.unhealthy && v.ejected_until.is_none_or(|t| t <= now_mono))
            .collect()
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        if let Some(h) = self.config.health_check {
            ctx.set_timer(PROBE, h.interval);
        }
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request { id, key } => self.request(ctx, from, id, key),
            Msg::Reply { id, refused } => self.reply(ctx, from, id, refused),
            Msg::ProbeOk { seq } => {
                let b = from.index().wrapping_sub(1);
                if seq == self.probe_seq && b < self.backends.len() {
                    self.backends[b].probe_answered = true;
                }
            }
            Msg::Probe { .. } => {}
        }
    }

    fn request(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, id: u64, key: u64) {
        let now = ctx.now();
        let mono = ctx.mono_time();
        self.stats.arrival(now);
        let up = self.in_rotation(mono);
        self.stats
            .in_rotation(now, up.iter().filter(|&&u| u).count());
        let outstanding: Vec<u32> = self.backends.iter().map(|v| v.outstanding).collect();
        let Some(b) = self.picker.pick(&up, &outstanding, key, ctx.rng()) else {
            self.stats.failed(now, now, Refusal::NoBackend);
            ctx.send(
                from,
                Msg::Reply {
                    id,
                    refused: Some(Refusal::NoBackend),
                },
            );
            return;
        };
        self.next_id += 1;
        let lb_id = self.next_id;
        self.pending.insert(
            lb_id,
            Pending {
                from,
                id,
                backend: b,
                arrived: now,
            },
        );
        self.backends[b].outstanding += 1;
        self.stats.dispatched(now, b);
        ctx.send(Self::node(b), Msg::Request { id: lb_id, key });
        if let Some(t) = self.config.timeout {
            self.deadlines.push_back((mono + t, lb_id));
            if !self.timeout_armed {
                self.timeout_armed = true;
                ctx.set_timer(TIMEOUT, t);
            }
        }
    }

    fn reply(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, lb_id: u64, refused: Option<Refusal>) {
        // A reply after its timeout finds nothing: the source was answered.
        // Ids restart at 1 when the balancer restarts, so a late reply from
        // before a restart may carry the id of a new request sent to
        // another backend: it counts only from the backend it went to.
        if self
            .pending
            .get(&lb_id)
            .is_none_or(|p| Self::node(p.backend) != from)
        {
            return;
        }
        let Some(p) = self.pending.remove(&lb_id) else {
            return;
        };
        let now = ctx.now();
        let mono = ctx.mono_time();
        self.backends[p.backend].outstanding -= 1;
        match refused {
            None => {
                self.stats.served(now, p.arrived);
                self.backends[p.backend].consecutive_failures = 0;
            }
            Some(why) => {
                self.stats.failed(now, p.arrived, why);
                self.failure(mono, now, p.backend);
            }
        }
        ctx.send(p.from, Msg::Reply { id: p.id, refused });
    }

    /// A failure of backend `b` (a refusal or a timeout) for passive outlier
    /// ejection: after enough in a row it leaves rotation for a while,
    /// longer each time, unless too many backends are out already.
    fn failure(&mut self, mono: Nanos, now: Nanos, b: usize) {
        let Some(o) = self.config.outlier else {
            return;
        };
        let v = &mut self.backends[b];
        if v.ejected_until.is_some_and(|t| t > mono) {
            return;
        }
        v.consecutive_failures += 1;
        if v.consecutive_failures < o.consecutive_failures {
            return;
        }
        let ejected = self
            .backends
            .iter()
            .filter(|v| v.ejected_until.is_some_and(|t| t > mono))
            .count();
        // At least one, as Envoy and gRPC do: with 3 backends and 0.3 the
        // floor is 0, and ejection would be silently off.
        let cap = ((o.max_ejected * self.backends.len() as f64).floor() as usize).max(1);
        if ejected + 1 > cap {
            return;
        }
        let v = &mut self.backends[b];
        v.ejections += 1;
        v.consecutive_failures = 0;
        let length = o
            .ejection_time
            .saturating_mul(u64::from(v.ejections))
            .min(o.max_ejection_time);
        v.ejected_until = Some(mono + length);
        self.stats.ejections += 1;
        let live = self.in_rotation(mono).iter().filter(|&&u| u).count();
        self.stats.in_rotation(now, live);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match timer {
            TIMEOUT => self.expire(ctx),
            PROBE => self.probe(ctx),
            PROBE_DEADLINE => self.judge_probes(ctx),
            _ => {}
        }
    }

    fn expire(&mut self, ctx: &mut Ctx<Msg>) {
        let now = ctx.now();
        let mono = ctx.mono_time();
        self.timeout_armed = false;
        while let Some(&(deadline, lb_id)) = self.deadlines.front() {
            if deadline > mono {
                self.timeout_armed = true;
                ctx.set_timer(TIMEOUT, deadline - mono);
                return;
            }
            self.deadlines.pop_front();
            if let Some(p) = self.pending.remove(&lb_id) {
                self.backends[p.backend].outstanding -= 1;
                self.stats.failed(now, p.arrived, Refusal::Timeout);
                self.failure(mono, now, p.backend);
                ctx.send(
                    p.from,
                    Msg::Reply {
                        id: p.id,
                        refused: Some(Refusal::Timeout),
                    },
                );
            }
        }
    }

    fn probe(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(h) = self.config.health_check else {
            return;
        };
        self.probe_seq += 1;
        for b in 0..self.backends.len() {
            self.backends[b].probe_answered = false;
            ctx.send(
                Self::node(b),
                Msg::Probe {
                    seq: self.probe_seq,
                },
            );
        }
        ctx.set_timer(PROBE_DEADLINE, h.timeout);
        ctx.set_timer(PROBE, h.interval);
    }

    /// The round's probes are due: a backend that missed `unhealthy_threshold`
    /// in a row leaves rotation, one that answered `healthy_threshold` in a
    /// row comes back.
    fn judge_probes(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(h) = self.config.health_check else {
            return;
        };
        for v in &mut self.backends {
            if v.probe_answered {
                v.ok_streak += 1;
                v.fail_streak = 0;
                if v.unhealthy && v.ok_streak >= h.healthy_threshold {
                    v.unhealthy = false;
                }
            } else {
                v.fail_streak += 1;
                v.ok_streak = 0;
                if !v.unhealthy && v.fail_streak >= h.unhealthy_threshold {
                    v.unhealthy = true;
                    self.stats.unhealthy_marks += 1;
                }
            }
        }
        let live = self
            .in_rotation(ctx.mono_time())
            .iter()
            .filter(|&&u| u)
            .count();
        self.stats.in_rotation(ctx.now(), live);
    }

    pub fn status(&self) -> Status {
        let out: u32 = self.backends.iter().map(|v| v.outstanding).sum();
        let unhealthy = self.backends.iter().filter(|v| v.unhealthy).count();
        Status {
            role: "balancer",
            fields: vec![
                ("policy", self.config.policy.name().to_string()),
                ("outstanding", out.to_string()),
                ("served", self.stats.served.to_string()),
                ("unhealthy", unhealthy.to_string()),
                ("ejections", self.stats.ejections.to_string()),
            ],
        }
    }
}
