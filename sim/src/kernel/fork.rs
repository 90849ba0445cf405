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
            workload: self.workload.fork()?,
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
    /// network...) was much of a search's cost. `dst` must be a run of the
    /// same scenario (a fork of the same search's root). False, leaving
    /// `dst` as it was, where [`Sim::fork`] would give `None`.
    pub fn fork_into(&self, dst: &mut Self) -> bool
    where
        P: Clone,
        P::Node: Clone,
    {
        if self.trace.is_some() {
            return false;
        }
        let Some(workload) = self.workload.fork() else {
            return false;
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
        dst.protocol.clone_from(protocol);
        dst.seed = *seed;
        dst.now = *now;
        dst.seq = *seq;
        dst.queue.clone_from(queue);
        // By name, as every part here: a field added to the slab (another
        // per-slot cache) fails to compile until it is copied.
        let super::queue::Slab { items, shown, free } = slab;
        dst.slab.items.clone_from(items);
        dst.slab.shown.clone_from(shown);
        dst.slab.free.clone_from(free);
        dst.cluster.clone_from(cluster);
        dst.nodes.clone_from(nodes);
        dst.slots.truncate(slots.len());
        for (d, s) in dst.slots.iter_mut().zip(slots) {
            d.copy_from(s);
        }
        let have = dst.slots.len();
        dst.slots.extend(slots[have..].iter().cloned());
        dst.net.clone_from(net);
        // The scenario's network, set when the run was built and never
        // changed: the same in every run of the search, so not copied. A
        // run of another scenario (not how the explorer calls this) gets
        // it copied.
        if !same_scenario {
            dst.base_net.clone_from(base_net);
        }
        debug_assert!(dst.base_net.same_as(base_net));
        dst.clogged.clone_from(clogged);
        dst.net_rng.clone_from(net_rng);
        dst.fault_rng.clone_from(fault_rng);
        dst.work_rng.clone_from(work_rng);
        dst.workload = workload;
        dst.think = *think;
        dst.clients.clone_from(clients);
        dst.next_msg = *next_msg;
        dst.next_timer_gen = *next_timer_gen;
        dst.effects.clear();
        dst.history.clone_from(history);
        dst.completed_op = None;
        dst.violations.clone_from(violations);
        dst.watch.copy_from(watch);
        dst.partition_since = *partition_since;
        dst.partition_windows.clone_from(partition_windows);
        dst.counters.clone_from(counters);
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
        dst.nemesis_log.clone_from(nemesis_log);
        dst.processed = *processed;
        dst.stale.clone_from(stale);
        dst.stopped_early = *stopped_early;
        dst.triggers.clone_from(triggers);
        dst.unfired = *unfired;
        dst.due_now.clone_from(due_now);
        dst.fired_by.clone_from(fired_by);
        dst.firing = *firing;
        match (&mut dst.x, x) {
            (Some(d), Some(s)) => d.copy_from(s),
            (d, s) => d.clone_from(s),
        }
        true
    }
}

/// Makes `dst` a copy of `src`, leaving it as it is when both are empty (a
/// map's copy allocates and frees even then; most runs of a search have
/// no nemesis and write no disk, and so these maps empty).
pub(crate) fn copy_map<K: Clone + Ord, V: Clone>(
    dst: &mut std::collections::BTreeMap<K, V>,
    src: &std::collections::BTreeMap<K, V>,
) {
    if !(dst.is_empty() && src.is_empty()) {
        dst.clone_from(src);
    }
}
