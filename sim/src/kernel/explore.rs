//! The kernel with its choices made from outside: `chaoslab explore` (which
//! forks a run at every choice) and the replay of an explored run's
//! `[schedule]` (which makes the choices written there).
//!
//! With `[explore]`, nothing about the order of events is sampled. A message
//! may arrive at any time within its latency window (`[explore] latency`, or
//! the network's): it is queued at its earliest time, and must be delivered
//! (or dropped) before time passes its latest. A timer fires exactly when it
//! is due, as does a scheduled fault; a client's next operation may start at
//! any time once it may. The next event is any queued event whose earliest
//! time is not past the latest time of another: time then moves to its
//! earliest time (or stays, when that is past). Beside the events, the
//! explorer may drop or duplicate a message, crash or restart a server, cut
//! the servers in two and heal them, each within its `[explore]` budget.
//! Every run explored is thus one the network model allows, and replaying
//! its choices gives the same run: the same trace, the same fingerprint.

use std::fmt::Debug;

use super::queue::Entry;
use super::state_hash::mix;
use super::{Ev, Sim};
use crate::network::DropReason;
use crate::node::{Message, NodeId};
use crate::protocol::{Protocol, Violation};
use crate::scenario::{Choice, Fault, FaultKind, Target};
use crate::time::{fmt_duration, Nanos};

/// How the replay of a `[schedule]` went: what the report says about an
/// explored run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Replayed {
    /// Steps the schedule has, and steps taken.
    pub steps: usize,
    pub taken: usize,
    /// Why a step could not be taken (the scenario is not the one the
    /// schedule was explored with): the run then stopped there.
    pub error: Option<String>,
    /// Each always-property broken, with the step (from 1) that broke it
    /// first.
    pub broke_at: Vec<(String, usize)>,
}

/// How much of each kind of fault the explorer may still inject, and has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Budget {
    crashes: u32,
    restarts: u32,
    partitions: u32,
    drops: u32,
    duplicates: u32,
}

/// What the kernel keeps while its choices are made from outside.
#[derive(Clone, Debug)]
pub(super) struct Xmode {
    /// By slab slot: the latest time the queued event may happen
    /// (`Nanos::MAX`: any time).
    latest: Vec<Nanos>,
    /// The latency window of every message, when `[explore] latency` sets
    /// one; else each link's own.
    window: Option<(Nanos, Nanos)>,
    /// Operations each client has issued, and how many it may.
    issued: Vec<u32>,
    ops: u32,
    /// Whether a client's next operation may start at any time (else it
    /// starts when the workload's schedule says).
    pub(super) issue_any_time: bool,
    used: Budget,
    limit: Budget,
    /// Whether the explorer's partition is in force.
    cut: bool,
    /// An order-sensitive hash of the history so far: every invocation and
    /// completion, in order (two runs whose nodes agree but whose histories
    /// differ may still differ in their verdict).
    history: u64,
    /// True while `chaoslab explore` searches (then the protocol's figures
    /// are not followed: they are not part of a state); false while a
    /// `[schedule]` is replayed.
    searching: bool,
    /// The next `[schedule]` step to replay.
    next_step: usize,
    /// Why the replay of a `[schedule]` stopped early, if a step could not
    /// be taken.
    pub(super) replay_error: Option<String>,
    /// While replaying: each always-property broken, and at which step.
    broke_at: Vec<(String, usize)>,
}

impl Xmode {
    /// What of it is part of a state: the budget used, the operations
    /// issued, the explorer's cut, the history.
    /// As bytes, fixed-size (the client count is the scenario's).
    pub(super) fn shape(&self, buf: &mut Vec<u8>) {
        let b = &self.used;
        for v in [b.crashes, b.restarts, b.partitions, b.drops, b.duplicates] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        for v in &self.issued {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        buf.push(u8::from(self.cut));
        buf.extend_from_slice(&self.history.to_le_bytes());
    }

    /// Makes this a copy of `src`, reusing its memory (see
    /// [`Sim::fork_into`]). Every field, by name.
    pub(super) fn copy_from(&mut self, src: &Xmode) {
        let Xmode {
            latest,
            window,
            issued,
            ops,
            issue_any_time,
            used,
            limit,
            cut,
            history,
            searching,
            next_step,
            replay_error,
            broke_at,
        } = src;
        self.latest.clone_from(latest);
        self.window = *window;
        self.issued.clone_from(issued);
        self.ops = *ops;
        self.issue_any_time = *issue_any_time;
        self.used = *used;
        self.limit = *limit;
        self.cut = *cut;
        self.history = *history;
        self.searching = *searching;
        self.next_step = *next_step;
        self.replay_error.clone_from(replay_error);
        self.broke_at.clone_from(broke_at);
    }

    pub(super) fn new(scenario: &crate::scenario::Scenario, clients: usize) -> Option<Box<Xmode>> {
        let x = scenario.explore.as_ref()?;
        Some(Box::new(Xmode {
            latest: Vec::new(),
            window: x.window(),
            issued: vec![0; clients],
            ops: x.ops,
            issue_any_time: x.issue == crate::scenario::Issue::AnyTime,
            used: Budget::default(),
            limit: Budget {
                crashes: x.crashes,
                restarts: x.restarts,
                partitions: x.partitions,
                drops: x.drops,
                duplicates: x.duplicates,
            },
            cut: false,
            history: 0,
            searching: false,
            next_step: 0,
            replay_error: None,
            broke_at: Vec::new(),
        }))
    }
}

impl<'s, P: Protocol> Sim<'s, P> {
    /// Whether the scenario has `[explore]`: its choices are then made from
    /// outside ([`Sim::choose`]) or by its `[schedule]`.
    pub fn explores(&self) -> bool {
        self.x.is_some()
    }

    /// Marks this run as the root of a search: the protocol's figures are
    /// not followed (they are not part of a state).
    pub fn begin_search(&mut self) {
        self.begin();
        if let Some(x) = self.x.as_mut() {
            x.searching = true;
        }
    }

    pub(super) fn searching(&self) -> bool {
        self.x.as_ref().is_some_and(|x| x.searching)
    }

    /// The always-properties broken so far, with when.
    pub fn violations(&self) -> &[(Nanos, Violation)] {
        &self.violations
    }

    // ----- the queue, as the explorer sees it -----

    /// Records when a queued event must happen by: a message's latest
    /// arrival, a client's next operation never, anything else when due.
    pub(super) fn note_latest(&mut self, slot: u32, latest: Nanos) {
        if let Some(x) = self.x.as_mut() {
            let i = slot as usize;
            if x.latest.len() <= i {
                x.latest.resize(i + 1, Nanos::MAX);
            }
            x.latest[i] = latest;
        }
    }

    /// A message's latency window on the link `from -> to`.
    pub(super) fn window(&self, from: u32, to: u32) -> (Nanos, Nanos) {
        match self.x.as_ref().and_then(|x| x.window) {
            Some(w) => w,
            None => self.net.link(from as usize, to as usize).latency.window(),
        }
    }

    /// Whether a queued entry still means something: a timer cancelled or
    /// set again since is stale.
    pub(super) fn live(&self, e: &Entry) -> bool {
        match self.slab.slot(e.slot) {
            Some(Ev::Timer { node, timer, gen }) => {
                self.slots[*node as usize].timers.get(timer) == Some(gen)
            }
            Some(_) => true,
            None => false,
        }
    }

    pub(super) fn latest_of(&self, e: &Entry) -> Nanos {
        self.x
            .as_ref()
            .and_then(|x| x.latest.get(e.slot as usize).copied())
            .unwrap_or(e.time)
    }

    /// The queued events that may happen next, in sequence order.
    fn enabled(&self) -> Vec<Entry> {
        let end = self.scenario.meta.duration;
        let live: Vec<Entry> = self
            .queue
            .iter()
            .filter(|e| self.live(e))
            .copied()
            .collect();
        let fifo = self.net.fifo;
        // On a FIFO network a message waits for those sent before it on its
        // link: only the first of each link may go, and only its deadline
        // bounds time (the ones behind it follow it).
        let heads: Vec<Entry> = if !fifo {
            live
        } else {
            live.iter()
                .filter(|e| {
                    let Some(Ev::Deliver { from, to, .. }) = self.slab.slot(e.slot) else {
                        return true;
                    };
                    !live.iter().any(|o| {
                        o.seq < e.seq
                            && matches!(self.slab.slot(o.slot),
                                Some(Ev::Deliver { from: f, to: t, .. }) if f == from && t == to)
                    })
                })
                .copied()
                .collect()
        };
        let bound = heads
            .iter()
            .map(|e| self.latest_of(e))
            .min()
            .unwrap_or(Nanos::MAX);
        let mut out: Vec<Entry> = heads
            .into_iter()
            .filter(|e| e.time <= bound && e.time.max(self.now) <= end)
            .collect();
        out.sort_unstable_by_key(|e| e.seq);
        out
    }

    /// Every choice that may be made next, in a fixed order: the events,
    /// each followed by its drop and its duplicate when the budget allows,
    /// then crashes, restarts, partitions and the heal. None: the run is
    /// over (nothing more can happen before its duration). With no event
    /// left, only what can start something again is offered: a restart
    /// (its node starts from its disk), a heal, and a crash while a restart
    /// may follow it.
    pub fn choices(&mut self, out: &mut Vec<Choice>) {
        self.begin();
        self.offered(out);
    }

    fn offered(&self, out: &mut Vec<Choice>) {
        out.clear();
        let Some(x) = self.x.as_ref() else {
            return;
        };
        let (used, limit, cut) = (x.used, x.limit, x.cut);
        for e in self.enabled() {
            out.push(Choice::Step(e.seq));
            if matches!(self.slab.slot(e.slot), Some(Ev::Deliver { .. })) {
                if used.drops < limit.drops {
                    out.push(Choice::Drop(e.seq));
                }
                if used.duplicates < limit.duplicates {
                    out.push(Choice::Duplicate(e.seq));
                }
            }
        }
        let idle = out.is_empty();
        let servers = self.cluster.servers().len() as u32;
        if used.crashes < limit.crashes && (!idle || used.restarts < limit.restarts) {
            out.extend(
                (0..servers)
                    .filter(|&i| self.nodes[i as usize].is_some())
                    .map(Choice::Crash),
            );
        }
        if used.restarts < limit.restarts {
            out.extend(
                (0..servers)
                    .filter(|&i| self.nodes[i as usize].is_none())
                    .map(Choice::Restart),
            );
        }
        if !idle && !cut && used.partitions < limit.partitions && (2..=16).contains(&servers) {
            // Each split once: the side named is the smaller, or, when the
            // two are as large, the one with n1.
            for mask in 1u64..(1 << servers) - 1 {
                let k = mask.count_ones();
                if 2 * k < servers || (2 * k == servers && mask & 1 == 1) {
                    out.push(Choice::Partition(mask));
                }
            }
        }
        if cut {
            out.push(Choice::Heal);
        }
    }

    /// Whether nothing more can happen before the run's duration: no queued
    /// event may come next (the explorer's choices would hold no event).
    pub fn is_over(&self) -> bool {
        let mut out = Vec::new();
        self.offered(&mut out);
        out.is_empty()
    }

    /// Takes one entry out of the queue by its sequence number.
    fn take_entry(&mut self, seq: u64) -> Option<Entry> {
        let mut entries = std::mem::take(&mut self.queue).into_vec();
        let found = entries.iter().position(|e| e.seq == seq);
        let e = found.map(|i| entries.swap_remove(i));
        self.queue = entries.into();
        e
    }

    /// Makes one choice (one that [`Sim::choices`] offers now). `Err` says
    /// why it cannot be made.
    pub fn choose(&mut self, c: &Choice, line: usize) -> Result<(), String> {
        self.begin();
        if self.x.is_none() {
            return Err("the scenario has no [explore] table".into());
        }
        let mut offered = Vec::new();
        self.choices(&mut offered);
        if !offered.contains(c) {
            return Err(format!(
                "`{}` cannot be taken now: {}",
                c.words(self.cluster.servers().len()),
                if offered.is_empty() {
                    "the run is over".to_string()
                } else {
                    format!(
                        "the choices are {}",
                        offered
                            .iter()
                            .map(|o| format!("`{}`", o.words(self.cluster.servers().len())))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ));
        }
        self.take(c, line);
        Ok(())
    }

    /// Makes a choice [`Sim::choices`] offered in this very state, without
    /// checking it again (the explorer's path: it just listed them).
    pub fn take(&mut self, c: &Choice, line: usize) {
        let x = self.x.as_mut().expect("an exploring run");
        match *c {
            Choice::Step(seq) => {
                let e = self.take_entry(seq).expect("offered");
                self.processed += 1;
                self.now = self.now.max(e.time);
                let ev = self.slab.take(e.slot);
                self.step(ev);
            }
            Choice::Drop(seq) => {
                x.used.drops += 1;
                let e = self.take_entry(seq).expect("offered");
                self.now = self.now.max(e.time);
                if let Ev::Deliver { from, to, id, msg } = self.slab.take(e.slot) {
                    self.drop_msg(from, to, id, msg.kind(), DropReason::Loss);
                }
            }
            Choice::Duplicate(seq) => {
                x.used.duplicates += 1;
                let e = *self.queue.iter().find(|e| e.seq == seq).expect("offered");
                let latest = self.latest_of(&e);
                let copy = self.slab.slot(e.slot).clone().expect("queued");
                self.counters.duplicated += 1;
                let slot = self.push(e.time, copy);
                self.note_latest(slot, latest);
            }
            Choice::Crash(n) => {
                x.used.crashes += 1;
                self.inject(FaultKind::Crash(self.target(n)), line);
            }
            Choice::Restart(n) => {
                x.used.restarts += 1;
                self.inject(FaultKind::Restart(self.target(n)), line);
            }
            Choice::Partition(mask) => {
                x.used.partitions += 1;
                x.cut = true;
                let servers = self.cluster.servers().len() as u32;
                let side = |inside: bool| {
                    (0..servers)
                        .filter(|&i| (mask >> i & 1 == 1) == inside)
                        .map(|i| self.target(i))
                        .collect::<Vec<_>>()
                };
                let groups = vec![side(true), side(false)];
                self.inject(FaultKind::Partition { groups }, line);
            }
            Choice::Heal => {
                x.cut = false;
                self.inject(FaultKind::Heal, line);
            }
        }
    }

    /// The node whose handler the queued event `seq` runs: a message's
    /// receiver, a timer's node, a client starting an operation.
    pub fn event_node(&self, seq: u64) -> Option<u32> {
        let e = self.queue.iter().find(|e| e.seq == seq)?;
        match self.slab.slot(e.slot).as_ref()? {
            Ev::Deliver { to, .. } => Some(*to),
            Ev::Timer { node, .. } => Some(*node),
            Ev::Issue { client } => Some(*client),
            _ => None,
        }
    }

    fn target(&self, i: u32) -> Target {
        Target::Node(self.cluster.name(NodeId(i)).to_string())
    }

    /// Applies a fault the explorer chose, now, as a scheduled one would be.
    fn inject(&mut self, kind: FaultKind, line: usize) {
        let fault = Fault {
            at: self.now,
            kind,
            line,
            when: None,
        };
        self.apply_fault(&fault);
        self.update_quiet();
    }

    /// Says what a choice does, for a person reading a counterexample:
    /// `n1 -> n2 AppendEntries`, `n3 timer 2`, `c1 starts its next
    /// operation`, `crash n2`.
    pub fn describe(&self, c: &Choice) -> String {
        let name = |i: &u32| self.cluster.name(NodeId(*i)).to_string();
        let event = |seq: u64| {
            let e = self.queue.iter().find(|e| e.seq == seq)?;
            let at = fmt_duration(e.time.max(self.now));
            Some(match self.slab.slot(e.slot).as_ref()? {
                Ev::Deliver { from, to, msg, .. } => {
                    // What the kernel will do with it instead, if it
                    // cannot be delivered.
                    let lost = if self.nodes[*to as usize].is_none() {
                        format!(" (dropped: {} is down)", name(to))
                    } else if self.nodes[*from as usize].is_none() {
                        format!(" (dropped: {} is down)", name(from))
                    } else if self.net.is_cut(*from as usize, *to as usize) {
                        " (dropped: the link is cut)".to_string()
                    } else {
                        String::new()
                    };
                    (
                        at,
                        format!("{} -> {} {}{lost}", name(from), name(to), msg.kind()),
                    )
                }
                Ev::Timer { node, timer, .. } => {
                    // A client's own timers (see `client.rs`) are named, not
                    // numbered: their ids are the top of the id space.
                    let what = match *timer {
                        crate::client::ATTEMPT_TIMER => "gives up waiting (timeout)".to_string(),
                        crate::client::BACKOFF_TIMER => "retries after its backoff".to_string(),
                        t => format!("timer {}", t.0),
                    };
                    (at, format!("{} {what}", name(node)))
                }
                Ev::Fault(i) => (
                    at,
                    format!("fault on line {}", self.scenario.faults[*i].line),
                ),
                Ev::Issue { client } => (at, format!("{} starts an operation", name(client))),
                _ => (at, "nemesis".to_string()),
            })
        };
        let servers = self.cluster.servers().len();
        match c {
            Choice::Step(s) => match event(*s) {
                Some((at, what)) => format!("{at}: {what}"),
                None => c.words(servers),
            },
            Choice::Drop(s) => match event(*s) {
                Some((at, what)) => format!("{at}: lost: {what}"),
                None => c.words(servers),
            },
            Choice::Duplicate(s) => match event(*s) {
                Some((at, what)) => format!("{}: twice: {what}", at),
                None => c.words(servers),
            },
            _ => format!("{}: {}", fmt_duration(self.now), c.words(servers)),
        }
    }

    // ----- replaying a [schedule] -----

    /// Takes the next step of the scenario's `[schedule]`. False once it is
    /// all taken, or a step could not be (see [`Sim::replay_error`]).
    pub(super) fn replay_step(&mut self) -> bool {
        let Some(schedule) = self.scenario.schedule.as_ref() else {
            return false;
        };
        let Some(x) = self.x.as_ref() else {
            return false;
        };
        let k = x.next_step;
        let Some((span, choice)) = schedule.steps.get(k) else {
            return false;
        };
        let line = self.scenario.source[..span.start.min(self.scenario.source.len())]
            .matches('\n')
            .count()
            + 1;
        if let Err(why) = self.choose(choice, line) {
            if let Some(x) = self.x.as_mut() {
                x.replay_error = Some(format!(
                    "{}:{line}: [schedule] step {} of {}: {why}; the scenario is not the one this schedule was explored with",
                    self.scenario.file,
                    k + 1,
                    schedule.steps.len()
                ));
            }
            return false;
        }
        if let Some(x) = self.x.as_mut() {
            x.next_step += 1;
        }
        true
    }

    /// Why the replay of the scenario's `[schedule]` stopped before its
    /// end, if it did.
    pub fn replay_error(&self) -> Option<&str> {
        self.x.as_ref()?.replay_error.as_deref()
    }

    /// While a `[schedule]` is replayed: notes the step that broke
    /// `invariant`, the first time.
    pub(super) fn note_broken(&mut self, invariant: &str) {
        if self.scenario.schedule.is_none() {
            return;
        }
        if let Some(x) = self.x.as_mut() {
            if !x.broke_at.iter().any(|(i, _)| i == invariant) {
                x.broke_at.push((invariant.to_string(), x.next_step + 1));
            }
        }
    }

    /// How the replay of the scenario's `[schedule]` went, if it has one.
    pub(super) fn replayed(&self) -> Option<Replayed> {
        let steps = self.scenario.schedule.as_ref()?.steps.len();
        let x = self.x.as_ref()?;
        Some(Replayed {
            steps,
            taken: x.next_step,
            error: x.replay_error.clone(),
            broke_at: x.broke_at.clone(),
        })
    }

    // ----- the history, as part of a state -----

    pub(super) fn note_invoke(&mut self, client: u32, key: &str, f: &dyn Debug) {
        if let Some(x) = self.x.as_mut() {
            let c = client as usize - self.cluster.servers().len();
            x.issued[c] += 1;
            x.history = mix(
                x.history,
                format_args!("I{client} {key} {f:?}@{}", self.now),
            );
        }
    }

    pub(super) fn note_complete(&mut self, idx: usize, what: &dyn Debug) {
        if let Some(x) = self.x.as_mut() {
            x.history = mix(x.history, format_args!("C{idx} {what:?}@{}", self.now));
        }
    }

    /// Whether client number `c` (0 for the first) has issued all the
    /// operations `[explore] ops` allows.
    pub(super) fn out_of_ops(&self, c: usize) -> bool {
        self.x.as_ref().is_some_and(|x| x.issued[c] >= x.ops)
    }
}
