//! Copies of a run, for `chaoslab explore` (see `explore`): a fork, to
//! explore another choice from, and a copy over a run no longer needed
//! (`fork_into`), which reuses its memory.

use super::Sim;
use crate::protocol::Protocol;

impl<'s, P: Protocol> Sim<'s, P> {
    /// A copy of the run as it stands, to explore another choice from.
    /// `None` when the run records a trace (a search runs without one) or
    /// the protocol's workload cannot be copied ([`Workload::fork`]).
    ///
    /// [`Workload::fork`]: crate::workload::Workload::fork
    pub fn fork(&self) -> Option<Self>
    where
        P: Clone,
        P::Node: Clone,
    {
        if self.trace.is_some() {
            return None;
        }
        Some(Sim {
            scenario: self.scenario,
            protocol: self.protocol.clone(),
            seed: self.seed,
            now: self.now,
            seq: self.seq,
            queue: self.queue.clone(),
            slab: self.slab.clone(),
            cluster: self.cluster.clone(),
            nodes: self.nodes.clone(),
            slots: self.slots.clone(),
            net: self.net.clone(),
            base_net: self.base_net.clone(),
            clogged: self.clogged.clone(),
            net_rng: self.net_rng.clone(),
            fault_rng: self.fault_rng.clone(),
            work_rng: self.work_rng.clone(),
            workload: super::Tracked::new(self.workload.fork()?),
            think: self.think,
            clients: self.clients.clone(),
            next_msg: self.next_msg,
            next_timer_gen: self.next_timer_gen,
            effects: Vec::new(),
            history: self.history.clone(),
            completed_op: None,
            violations: self.violations.clone(),
            watch: self.watch.clone(),
            partition_since: self.partition_since,
            partition_windows: self.partition_windows.clone(),
            counters: self.counters.clone(),
            fp: self.fp,
            trace: None,
            nemesis_stopped: self.nemesis_stopped,
            recutting: self.recutting,
            nemesis_down: self.nemesis_down.clone(),
            nemesis_gen: self.nemesis_gen,
            nemesis_fault: self.nemesis_fault,
            cut_by: self.cut_by.clone(),
            clogged_by: self.clogged_by.clone(),
            loss_by: self.loss_by.clone(),
            started: self.started,
            nemesis_log: self.nemesis_log.clone(),
            processed: self.processed,
            stale: self.stale.clone(),
            stopped_early: self.stopped_early,
            triggers: self.triggers.clone(),
            unfired: self.unfired,
            due_now: self.due_now.clone(),
            fired_by: self.fired_by.clone(),
            firing: self.firing,
            x: self.x.clone(),
        })
    }

    /// Makes `dst` a copy of this run, as [`Sim::fork`] would, reusing
    /// `dst`'s memory: the explorer forks a run at every choice, and
    /// allocating a whole run each time (queue, slab, nodes, slots,
    /// network...) was much of a search's cost. Only the parts in which
    /// `dst` may differ from this run are copied (see `dirty`: a part
    /// changed in either since it was sealed, or of another version), so a
    /// copy over a run copied from the same run, or from a sibling of it,
    /// copies only what changed since. `dst` must be a run of the same
    /// scenario (a fork of the same search's root). False, leaving `dst` as
    /// it was, where [`Sim::fork`] would give `None`.
    pub fn fork_into(&self, dst: &mut Self) -> bool
    where
        P: Clone,
        P::Node: Clone,
    {
        self.copy_over(dst)
    }

    /// Seals the run's parts (see `dirty`): each changed part gets a new
    /// version, so that the runs copied from this one know which of their
    /// parts are still its. The explorer seals a run it copies from.
    pub fn seal(&mut self) {
        self.protocol.seal();
        self.nodes.seal();
        self.slots.seal();
        self.net.seal();
        self.clogged.seal();
        self.net_rng.seal();
        self.fault_rng.seal();
        self.work_rng.seal();
        self.workload.seal();
        self.clients.seal();
        self.history.seal();
        self.violations.seal();
        self.watch.seal();
        self.partition_windows.seal();
        self.counters.seal();
        self.nemesis_log.seal();
        self.x.seal();
    }

    /// Makes `dst` a copy of this run, copying only the parts that may
    /// differ (see [`Sim::fork_into`]).
    fn copy_over(&self, dst: &mut Self) -> bool
    where
        P: Clone,
        P::Node: Clone,
    {
        if self.trace.is_some() {
            return false;
        }
        let workload = if dst.workload.differs(&self.workload) {
            match self.workload.fork() {
                Some(w) => Some(w),
                None => return false,
            }
        } else {
            None
        };
        // Every field, by name: a field added to `Sim` must be copied here
        // too, or this does not compile.
        let Sim {
            scenario,
            protocol,
            seed,
            now,
            seq,
            queue,
            slab,
            cluster,
            nodes,
            slots,
            net,
            base_net,
            clogged,
            net_rng,
            fault_rng,
            work_rng,
            workload: _,
            think,
            clients,
            next_msg,
            next_timer_gen,
            effects: _,
            history,
            completed_op: _,
            violations,
            watch,
            partition_since,
            partition_windows,
            counters,
            fp,
            trace: _,
            nemesis_stopped,
            recutting,
            nemesis_down,
            nemesis_gen,
            nemesis_fault,
            cut_by,
            clogged_by,
            loss_by,
            started,
            nemesis_log,
            processed,
            stale,
            stopped_early,
            triggers,
            unfired,
            due_now,
            fired_by,
            firing,
            x,
        } = self;
        let same_scenario = std::ptr::eq(dst.scenario, *scenario);
        dst.scenario = scenario;
        dst.protocol.sync(protocol, |d, s| d.clone_from(s));
        dst.seed = *seed;
        dst.now = *now;
        dst.seq = *seq;
        dst.queue.clone_from(queue);
        // Only the slots whose events differ (see `slab`).
        dst.slab.copy_from(slab);
        dst.cluster.clone_from(cluster);
        dst.nodes.mark_with(nodes, &mut dst.slots, slots);
        dst.nodes.sync(nodes, |d, s| d.clone_from(s));
        dst.slots.sync(slots, |d, s| d.copy_from(s));
        dst.net.sync(net, |d, s| d.clone_from(s));
        // The scenario's network, set when the run was built and never
        // changed: the same in every run of the search, so not copied. A
        // run of another scenario (not how the explorer calls this) gets
        // it copied.
        if !same_scenario {
            dst.base_net.clone_from(base_net);
        }
        debug_assert!(dst.base_net.same_as(base_net));
        dst.clogged.sync(clogged, |d, s| d.clone_from(s));
        dst.net_rng.sync(net_rng, |d, s| d.clone_from(s));
        dst.fault_rng.sync(fault_rng, |d, s| d.clone_from(s));
        dst.work_rng.sync(work_rng, |d, s| d.clone_from(s));
        // Forked above when it is to be copied (a workload is copied by
        // its own `fork`, into a box of its own).
        if let Some(w) = workload {
            dst.workload.set_copy(w, &self.workload);
        }
        dst.think = *think;
        dst.clients.sync(clients, |d, s| d.clone_from(s));
        dst.next_msg = *next_msg;
        dst.next_timer_gen = *next_timer_gen;
        dst.effects.clear();
        dst.history.sync(history, |d, s| d.clone_from(s));
        dst.completed_op = None;
        dst.violations.sync(violations, |d, s| d.clone_from(s));
        dst.watch.sync(watch, |d, s| d.copy_from(s));
        dst.partition_since = *partition_since;
        dst.partition_windows
            .sync(partition_windows, |d, s| d.clone_from(s));
        dst.counters.sync(counters, |d, s| d.clone_from(s));
        dst.fp = *fp;
        dst.trace = None;
        dst.nemesis_stopped = *nemesis_stopped;
        dst.recutting = *recutting;
        dst.nemesis_down.clone_from(nemesis_down);
        dst.nemesis_gen = *nemesis_gen;
        dst.nemesis_fault = *nemesis_fault;
        copy_map(&mut dst.cut_by, cut_by);
        copy_map(&mut dst.clogged_by, clogged_by);
        copy_map(&mut dst.loss_by, loss_by);
        dst.started = *started;
        dst.nemesis_log.sync(nemesis_log, |d, s| d.clone_from(s));
        dst.processed = *processed;
        dst.stale.clone_from(stale);
        dst.stopped_early = *stopped_early;
        dst.triggers.clone_from(triggers);
        dst.unfired = *unfired;
        dst.due_now.clone_from(due_now);
        dst.fired_by.clone_from(fired_by);
        dst.firing = *firing;
        dst.x.sync(x, |d, s| match (d, s) {
            (Some(d), Some(s)) => d.copy_from(s),
            (d, s) => d.clone_from(s),
        });
        true
    }
}

/// Makes `dst` a copy of `src`, leaving it as it is when both are empty (a
/// map's copy allocates and frees even then; most runs of a search have
/// no nemesis and write no disk, and so these maps empty).
fn copy_map<K: Clone + Ord, V: Clone>(
    dst: &mut std::collections::BTreeMap<K, V>,
    src: &std::collections::BTreeMap<K, V>,
) {
    if !(dst.is_empty() && src.is_empty()) {
        dst.clone_from(src);
    }
}

impl<P: Protocol> Sim<'_, P> {
    /// What a copy must agree on with its original, beyond the state's
    /// hash: the kernel's own counters, ids and random streams, each queued
    /// event's time, number and slot, each node's slot. The tests check
    /// with it that a run restored by [`Sim::fork_into`] is the run it
    /// was copied from (the explorer does not call it: it formats the
    /// whole run).
    pub fn copy_digest(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let rng = |r: &rand_chacha::ChaCha8Rng| (r.get_seed(), r.get_stream(), r.get_word_pos());
        let _ = write!(
            out,
            "{} {} {} {} {} {:?} {:?} {:?} {:?} {:?}",
            self.now,
            self.seq,
            self.next_msg,
            self.next_timer_gen,
            self.processed,
            *self.counters,
            self.fp,
            rng(&self.net_rng),
            rng(&self.fault_rng),
            rng(&self.work_rng),
        );
        let mut queue: Vec<_> = self.queue.iter().map(|e| (e.seq, e.time, e.slot)).collect();
        queue.sort_unstable();
        let _ = write!(out, " q{queue:?} free{:?}", self.slab.free());
        for (n, s) in self.nodes.iter().zip(self.slots.iter()) {
            let _ = write!(
                out,
                " [{} {:?} {:?} {:?} {} {:?} {:?} {:?} {:?} {} {} {} {:?} {}]",
                n.is_some(),
                rng(&s.rng),
                s.clock,
                s.scenario_clock,
                s.paused,
                s.paused_by,
                s.crashed_by,
                s.timers,
                s.deferred,
                s.held.len(),
                s.role,
                s.incarnation,
                s.disk.is_blank(),
                s.disk.fsync_lies,
            );
        }
        let _ = write!(
            out,
            " {:?} {} {:?} {} {:?} {:?} {:?} {:?} {:?}",
            *self.net,
            self.clogged.len(),
            self.clients.iter().map(|c| c.open).collect::<Vec<_>>(),
            self.history.len(),
            *self.violations,
            *self.partition_windows,
            self.triggers,
            self.fired_by,
            *self.x,
        );
        out
    }
}
