//! Stepping: the run's first events, one event at a time (for the kernel's
//! own loop and for other drivers), and each node's handlers and effects.

use super::triggers::Seen;
use super::{Counters, Ev, Msg, Sim};
use crate::history::Outcome;
use crate::network::Net;
use crate::node::{Clock, Cluster, Ctx, Effect, Node, NodeId, Status, TimerId};
use crate::protocol::{Protocol, Step, Violation};
use crate::time::Nanos;
use crate::trace::{TraceEvent, TraceRecord};

impl<'s, P: Protocol> Sim<'s, P> {
    /// Schedules the run's first events and starts every node. Called by the
    /// first [`Sim::advance`]; calling it again does nothing. (Inlined: it
    /// is called at every step, and the test is all it does then.)
    #[inline]
    pub(super) fn begin(&mut self) {
        if !self.started {
            self.start_run();
        }
    }

    #[cold]
    #[inline(never)]
    fn start_run(&mut self) {
        self.started = true;
        let sc = self.scenario;
        for (i, f) in sc.faults.iter().enumerate() {
            if f.when.is_none() {
                self.push(f.at, Ev::Fault(i));
            }
        }
        if let Some(nem) = &sc.nemesis {
            let first = nem.start.saturating_add(self.nemesis_gap(nem.interval));
            self.push(first, Ev::NemesisTick);
            if let Some(stop) = nem.stop {
                self.push(stop, Ev::NemesisStop);
            }
        }
        // Quiet from the start unless a nemesis will run: its faults come
        // at random, so only its stop can begin the quiet period.
        self.update_quiet();
        for i in 0..self.nodes.len() {
            self.start_node(i as u32);
        }
        for c in 0..self.clients.len() {
            if self.out_of_ops(c) {
                // Exploring with `ops = 0`: this client asks nothing.
                continue;
            }
            let client = (self.cluster.servers().len() + c) as u32;
            let at = sc.workload.start.saturating_add(self.think_time());
            self.push(at, Ev::Issue { client });
        }
    }

    /// Processes the next event. Returns false once the run is over (the queue
    /// is empty or the next event lies past the scenario's duration); virtual
    /// time then stands at the duration.
    pub fn advance(&mut self) -> bool {
        self.begin();
        if self.scenario.schedule.is_some() && self.x.is_some() {
            // An explored run: its choices are the schedule's.
            // It ends where the schedule does (or where a step could not
            // be taken: see `Sim::replay_error`). When nothing more could
            // happen before the duration, the run is over, as the explorer
            // judged it: time stands at the duration.
            if self.replay_step() {
                return true;
            }
            if self.replay_error().is_none() && self.is_over() {
                self.end_at(self.scenario.meta.duration);
            }
            return false;
        }
        let end = self.scenario.meta.duration;
        self.tend_queue();
        if self.processed >= self.scenario.meta.max_events {
            if self.stopped_early.is_none() {
                self.stopped_early = Some(self.now);
            }
            return false;
        }
        self.processed += 1;
        match self.queue.peek() {
            Some(top) if top.time <= end => {
                let entry = self.queue.pop().expect("peeked");
                self.now = entry.time;
                self.stale.last = (entry.time, entry.seq);
                let ev = self.slab.take(entry.slot);
                self.step(ev);
                true
            }
            _ => {
                self.now = end;
                false
            }
        }
    }

    // ----- for other drivers -----
    //
    // A driver with its own clock and event loop (madsim, real sockets) shares
    // everything else with the kernel: the nodes, the network model (cuts,
    // clogs, loss, per-link latency), the faults, the workload, the trace, the
    // fingerprint and the history. It starts the run, takes what the run
    // scheduled, and steps each event back in when its own clock says so.

    /// Starts the run (schedules the faults, the nemesis and the workload, and
    /// starts every node) without processing any event.
    pub fn start(&mut self) {
        self.begin();
    }

    /// Moves every event scheduled so far out of the kernel's queue, in
    /// (time, sequence) order, each with the virtual time it is due at.
    pub fn take_scheduled(&mut self, out: &mut Vec<(Nanos, Ev<Msg<P>>)>) {
        // Every entry in the queue, each timer setting with its own (see
        // `deferred`): from here this driver, not the kernel, pops them.
        if !self.stale.exact {
            self.unskip();
        }
        while let Some(entry) = self.queue.pop() {
            out.push((entry.time, self.slab.take(entry.slot)));
        }
    }

    /// Processes one event at virtual time `now` (never before the last
    /// step's time). False, with nothing done, once `[meta] max_events` events
    /// have been processed: the run is then over.
    pub fn step_at(&mut self, now: Nanos, ev: Ev<Msg<P>>) -> bool {
        self.begin();
        if self.processed >= self.scenario.meta.max_events {
            if self.stopped_early.is_none() {
                self.stopped_early = Some(self.now);
            }
            return false;
        }
        self.processed += 1;
        self.now = self.now.max(now);
        self.step(ev);
        true
    }

    /// Runs `f` on node `i` at virtual time `now` (never before the last
    /// step's time), as one step whose effects are carried out like a
    /// handler's: for a driver whose nodes act on their own, such as a
    /// process that prints a message unprompted. The kernel itself never
    /// calls it, so a kernel run is unchanged by it. False, with nothing
    /// done, if the node is down or `[meta] max_events` events have been
    /// processed (the run is then over).
    pub fn step_node_at(
        &mut self,
        now: Nanos,
        i: usize,
        f: impl FnOnce(&mut P::Node, &mut Ctx<Msg<P>>),
    ) -> bool {
        self.begin();
        if self.nodes[i].is_none() {
            return false;
        }
        if self.processed >= self.scenario.meta.max_events {
            if self.stopped_early.is_none() {
                self.stopped_early = Some(self.now);
            }
            return false;
        }
        self.processed += 1;
        self.counters.events += 1;
        self.now = self.now.max(now);
        self.fp.u64(0x4f ^ (self.now << 8));
        self.fp.u64(i as u64);
        self.run_handler(i as u32, f);
        self.after_step(false);
        true
    }

    /// The scenario's `[meta] duration`.
    pub fn scenario_duration(&self) -> Nanos {
        self.scenario.meta.duration
    }

    /// The run ends at virtual time `end` (the scenario's duration).
    pub fn end_at(&mut self, end: Nanos) {
        self.now = self.now.max(end);
    }

    /// Whether node `i` is up (not crashed), and whether it is paused.
    pub fn node_up(&self, i: usize) -> (bool, bool) {
        (self.nodes[i].is_some(), self.slots[i].paused)
    }

    /// When the run was stopped by `[meta] max_events`, if it was.
    pub fn stopped_early(&self) -> Option<Nanos> {
        self.stopped_early
    }

    /// Virtual time now.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Each node's status now (`None` for a crashed node).
    pub fn statuses(&self) -> Vec<Option<Status>> {
        self.nodes
            .iter()
            .map(|n| n.as_ref().map(|n| n.status()))
            .collect()
    }

    /// Whether node `i` is paused, and its clock (for the TUI's topology).
    pub fn node_state(&self, i: usize) -> (bool, Clock, bool) {
        let s = &self.slots[i];
        (s.paused, s.clock, s.disk.fsync_lies)
    }

    /// The network as it is now: cuts, clogs, latencies.
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// The trace so far (empty unless the mode is [`TraceMode::Record`]).
    ///
    /// [`TraceMode::Record`]: super::TraceMode::Record
    pub fn trace(&self) -> &[TraceRecord] {
        self.trace.as_ref().map_or(&[], |sink| sink.kept())
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(super) fn step(&mut self, ev: Ev<Msg<P>>) {
        if !matches!(ev, Ev::Timer { .. }) {
            self.counters.events += 1;
        }
        let fault = matches!(
            ev,
            Ev::Fault(_) | Ev::NemesisTick | Ev::NemesisUndo { .. } | Ev::NemesisStop
        );
        match ev {
            Ev::Deliver { from, to, id, msg } => self.deliver(from, to, id, msg),
            Ev::Timer { node, timer, gen } => self.fire_timer(node, timer, gen),
            Ev::Fault(i) => self.apply_indexed(i),
            Ev::NemesisTick => self.nemesis_tick(),
            Ev::NemesisUndo { undo, gen } => self.nemesis_undo(*undo, gen),
            Ev::NemesisStop => self.nemesis_stop(),
            Ev::Issue { client } => self.issue(client),
        }
        self.after_step(fault);
    }

    /// The end of every step: the triggered faults it made due, and the
    /// quiet period a fault may have begun or ended.
    fn after_step(&mut self, fault: bool) {
        // Triggered faults without a delay fire right after the step whose
        // event matched them, in the order they matched; a fault they cause
        // may fire further triggers.
        let mut k = 0;
        while k < self.due_now.len() {
            self.apply_indexed(self.due_now[k]);
            k += 1;
        }
        // A fault may have begun or ended the quiet period that
        // `eventually` properties are judged on.
        if fault || k > 0 {
            self.update_quiet();
        }
        self.due_now.clear();
    }

    pub(super) fn start_node(&mut self, i: u32) {
        self.run_handler(i, |node, ctx| node.on_start(ctx));
    }

    /// Runs one handler of node `i` and carries out its effects.
    pub(super) fn run_handler(&mut self, i: u32, f: impl FnOnce(&mut P::Node, &mut Ctx<Msg<P>>)) {
        let idx = i as usize;
        let mut effects = std::mem::take(&mut self.effects);
        {
            let Some(node) = self.nodes[idx].as_mut() else {
                self.effects = effects;
                return;
            };
            let slot = &mut self.slots[idx];
            slot.shown.set(None);
            let mut ctx = Ctx::new(
                NodeId(i),
                self.now,
                slot.clock,
                &mut slot.rng,
                &mut slot.disk,
                &self.cluster,
                &mut effects,
            )
            .with_incarnation(slot.incarnation);
            f(node, &mut ctx);
        }
        for effect in effects.drain(..) {
            self.apply_effect(i, effect);
        }
        self.effects = effects;

        let role = self.nodes[idx].as_ref().map_or("crashed", |n| n.role());
        let old = self.slots[idx].role;
        // Roles are static names: nearly always the very string of the
        // last step, which is told without reading the text.
        if !super::props::same_str(role, old) {
            self.slots[idx].role = role;
            self.fp.u64(0x52);
            self.fp.bytes(role.as_bytes());
            self.record(|c| TraceEvent::Role {
                node: c.name_arc(NodeId(i)),
                from: old,
                to: role,
            });
            self.observe(Seen::Role { node: i, role });
        }
        self.check_properties(i);
        if !self.searching() {
            self.protocol.observe(Step {
                now: self.now,
                stepped: NodeId(i),
                nodes: &self.nodes,
            });
        }
    }

    pub(super) fn violation(&mut self, v: Violation) {
        self.fp.u64(0x56);
        self.fp.bytes(v.invariant.as_bytes());
        let (inv, detail) = (v.invariant, v.detail.clone());
        self.record(|_| TraceEvent::Violation {
            invariant: inv,
            detail,
        });
        if self.x.is_some() {
            self.note_broken(v.invariant);
        }
        self.violations.push((self.now, v));
    }

    fn apply_effect(&mut self, i: u32, effect: Effect<Msg<P>>) {
        match effect {
            Effect::Send { to, msg } => self.send(i, to.0, msg),
            Effect::SetTimer { id, after } => self.set_timer(i, id, after),
            Effect::CancelTimer { id } => self.cancel_timer(i, id),
            Effect::Complete {
                op,
                outcome,
                output,
                served,
                found_other,
            } => {
                if found_other && outcome == Outcome::Fail {
                    self.history.set_found_other(op.0 as usize);
                }
                self.complete(i, op, outcome, output, served);
            }
            Effect::Violation { invariant, detail } => {
                self.violation(Violation { invariant, detail })
            }
            Effect::Note { note } => {
                self.record(|c| TraceEvent::Note {
                    node: c.name_arc(NodeId(i)),
                    note,
                });
                self.observe(Seen::Note { node: i, note });
            }
        }
    }

    fn fire_timer(&mut self, i: u32, timer: TimerId, gen: u64) {
        let slot = &mut self.slots[i as usize];
        if slot.timers.get(&timer) != Some(&gen) {
            // Moved, cancelled, or set before a crash; or the entry that a
            // setting waited for (see `deferred`).
            if !self.carried(i, timer, gen) {
                self.stale.queued = self.stale.queued.saturating_sub(1);
            }
            return;
        }
        if slot.paused {
            slot.held.push(Ev::Timer {
                node: i,
                timer,
                gen,
            });
            return;
        }
        slot.timers.remove(&timer);
        self.fired(i, timer);
        self.counters.events += 1;
        self.counters.timers_fired += 1;
        self.fp.u64(0x54 ^ (self.now << 8));
        self.fp.u64(((i as u64) << 32) ^ timer.0);
        self.record(|c| TraceEvent::Timer {
            node: c.name_arc(NodeId(i)),
            timer: timer.0,
        });
        self.run_handler(i, |node, ctx| node.on_timer(ctx, timer));
    }
}
