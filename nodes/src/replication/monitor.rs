//! The monitor: it watches the servers' heartbeats, and when the primary
//! falls silent for `heartbeat_timeout` it opens a new epoch, asks every
//! other server how far its log goes (which, with fencing, also makes them
//! refuse the old primary), and promotes the most up-to-date one.

use sim::node::{Ctx, Disk, NodeId, Status, TimerId};
use sim::time::{fmt_duration, Nanos};
use std::sync::Arc;

use super::msg::{Msg, Pos};
use super::Params;

pub const MONITOR_TICK: TimerId = TimerId(10);
pub const PROBE_DONE: TimerId = TimerId(11);

/// One failover as the monitor saw it (virtual times, for the report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failover {
    pub epoch: u64,
    pub old: Option<NodeId>,
    pub new: NodeId,
    /// When the monitor last heard from the old primary.
    pub silent_since: Nanos,
    pub promoted_at: Nanos,
}

#[derive(Clone, Debug)]
struct Probing {
    epoch: u64,
    old: Option<NodeId>,
    silent_since: Nanos,
    replies: Vec<(NodeId, Pos)>,
}

#[derive(Clone, Debug)]
pub struct Monitor {
    params: Arc<Params>,
    data: Vec<NodeId>,
    epoch: u64,
    primary: Option<NodeId>,
    /// Per data server: last heartbeat, by the monotonic clock and in
    /// virtual time (the latter only for the report). Silences are measured
    /// on the monotonic clock, which drifts but never steps: a wall clock
    /// stepped forward must not fail a healthy primary over early.
    heard: Vec<(Nanos, Nanos)>,
    last_tick: Option<Nanos>,
    /// When (monotonic clock) the monitor last promoted a server.
    promoted: Option<Nanos>,
    probing: Option<Probing>,
    failovers: Vec<Failover>,
}

impl Monitor {
    pub fn recover(params: Arc<Params>, data: &[NodeId], disk: &Disk) -> Monitor {
        Monitor {
            params,
            data: data.to_vec(),
            epoch: disk.get::<u64>(("epoch", 0)).copied().unwrap_or(1),
            primary: match disk.get::<Option<NodeId>>(("primary", 0)) {
                Some(p) => *p,
                None => data.first().copied(),
            },
            heard: vec![(0, 0); data.len()],
            last_tick: None,
            promoted: None,
            probing: None,
            failovers: Vec::new(),
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }
    pub fn primary(&self) -> Option<NodeId> {
        self.primary
    }
    /// The failovers since this monitor last started.
    pub fn failovers(&self) -> &[Failover] {
        &self.failovers
    }

    fn slot(&self, n: NodeId) -> Option<usize> {
        self.data.iter().position(|d| *d == n)
    }

    fn persist(&self, ctx: &mut Ctx<Msg>) {
        ctx.disk().put(("epoch", 0), self.epoch);
        ctx.disk().put(("primary", 0), self.primary);
        ctx.disk().sync();
    }

    pub fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        // Everyone gets a full timeout from the (re)start.
        let now = (ctx.mono_time(), ctx.now());
        self.heard.iter_mut().for_each(|h| *h = now);
        self.last_tick = Some(ctx.mono_time());
        ctx.set_timer(MONITOR_TICK, self.params.heartbeat_interval);
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if timer == PROBE_DONE {
            return self.finish_probe(ctx);
        }
        if timer != MONITOR_TICK {
            return;
        }
        let now = ctx.mono_time();
        ctx.set_timer(MONITOR_TICK, self.params.heartbeat_interval);
        // A monitor that was itself stalled (a GC pause) has heard nothing
        // for a while through no fault of the servers: it restarts its
        // clocks instead of failing everyone over.
        if self
            .last_tick
            .is_some_and(|t| now.saturating_sub(t) > 2 * self.params.heartbeat_interval)
        {
            let at = (now, ctx.now());
            self.heard.iter_mut().for_each(|h| *h = at);
        }
        self.last_tick = Some(now);
        if self.probing.is_some() {
            return;
        }
        let silent = match self.primary.and_then(|p| self.slot(p)) {
            Some(i) => now.saturating_sub(self.heard[i].0) > self.params.heartbeat_timeout,
            None => true,
        };
        if silent {
            self.start_failover(ctx, None);
        }
    }

    /// `heard_before`: when the old primary was last heard before the
    /// heartbeat that started this failover (if one did), for the report.
    fn start_failover(&mut self, ctx: &mut Ctx<Msg>, heard_before: Option<Nanos>) {
        let old = self.primary;
        let silent_since = heard_before.unwrap_or_else(|| {
            old.and_then(|p| self.slot(p))
                .map_or(ctx.now(), |i| self.heard[i].1)
        });
        self.epoch += 1;
        self.primary = None;
        self.persist(ctx);
        for d in self.data.clone() {
            if Some(d) != old {
                ctx.send(d, Msg::Probe { epoch: self.epoch });
            }
        }
        self.probing = Some(Probing {
            epoch: self.epoch,
            old,
            silent_since,
            replies: Vec::new(),
        });
        ctx.set_timer(PROBE_DONE, self.params.probe_window());
    }

    fn finish_probe(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(p) = self.probing.take() else {
            return;
        };
        // The most up-to-date replica that answered: the newest epoch in its
        // log, then the longest log, then the lowest name.
        let best = p
            .replies
            .iter()
            .max_by_key(|(n, pos)| (pos.epoch, pos.index, std::cmp::Reverse(*n)))
            .map(|(n, _)| *n);
        let Some(new) = best else {
            // Nobody answered in the window (the links may just be slow):
            // probe again in the same epoch, now the old primary too, and
            // keep listening. Opening a newer epoch for every unanswered
            // window would depose a primary that is merely slow, over and
            // over; late answers to this epoch still count.
            for d in self.data.clone() {
                ctx.send(d, Msg::Probe { epoch: p.epoch });
            }
            self.probing = Some(p);
            ctx.set_timer(PROBE_DONE, self.params.probe_window());
            return;
        };
        self.primary = Some(new);
        self.persist(ctx);
        if let Some(i) = self.slot(new) {
            self.heard[i] = (ctx.mono_time(), ctx.now());
        }
        self.promoted = Some(ctx.mono_time());
        ctx.send(new, Msg::Promote { epoch: p.epoch });
        self.failovers.push(Failover {
            epoch: p.epoch,
            old: p.old,
            new,
            silent_since: p.silent_since,
            promoted_at: ctx.now(),
        });
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Heartbeat {
                epoch,
                primary,
                round,
                ..
            } => {
                let Some(i) = self.slot(from) else { return };
                let heard_before = self.heard[i].1;
                self.heard[i] = (ctx.mono_time(), ctx.now());
                ctx.send(
                    from,
                    Msg::HeartbeatAck {
                        epoch: self.epoch,
                        primary: self.primary,
                        round,
                    },
                );
                // Our primary restarted (it comes back as a replica): fail
                // over now rather than wait for a timeout that never comes.
                // Heartbeats sent before a promotion arrived say "replica"
                // for a while: give the promotion a timeout to land.
                let settled = self.promoted.is_none_or(|t| {
                    ctx.mono_time().saturating_sub(t) > self.params.heartbeat_timeout
                });
                if self.probing.is_none()
                    && settled
                    && self.primary == Some(from)
                    && !primary
                    && epoch <= self.epoch
                {
                    self.start_failover(ctx, Some(heard_before));
                }
            }
            Msg::ProbeReply { epoch, last } => {
                if let Some(p) = self.probing.as_mut() {
                    if p.epoch == epoch && !p.replies.iter().any(|(n, _)| *n == from) {
                        p.replies.push((from, last));
                    }
                }
            }
            _ => {}
        }
    }

    pub fn status(&self) -> Status {
        Status {
            role: "monitor",
            fields: vec![
                ("epoch", self.epoch.to_string()),
                (
                    "primary",
                    self.primary.map_or("-".into(), |p| format!("n{}", p.0 + 1)),
                ),
                (
                    "probing",
                    self.probing
                        .as_ref()
                        .map_or("-".into(), |p| format!("{} replies", p.replies.len())),
                ),
                ("failovers", self.failovers.len().to_string()),
                ("timeout", fmt_duration(self.params.heartbeat_timeout)),
            ],
        }
    }
}
