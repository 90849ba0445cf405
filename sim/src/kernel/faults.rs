//! Faults: what a target means, and carrying out a fault (the scenario's or
//! the nemesis's) on nodes, links and clocks.

use rand::seq::SliceRandom;

use super::output::describe_latency;
use super::triggers::Seen;
use super::{Ev, Sim};
use crate::node::{Node, NodeId};
use crate::protocol::Protocol;
use crate::scenario::{Fault, FaultKind, Target};
use crate::time::fmt_duration;
use crate::trace::TraceEvent;

impl<'s, P: Protocol> Sim<'s, P> {
    /// The nodes a target means right now. A role means the first server
    /// reporting it, else (for any role but "client") the first client
    /// reporting it; `minority-of-`, `random` and `all` mean servers only.
    pub(super) fn resolve(&mut self, t: &Target) -> Vec<u32> {
        let servers = self.cluster.servers().len() as u32;
        match t {
            Target::Node(name) => self
                .cluster
                .by_name(name)
                .map(|id| vec![id.0])
                .unwrap_or_default(),
            // The first server in that role; failing that, unless the role
            // is "client" (every client's, which has always meant a server
            // reporting it), the first client in it: a lock-service client
            // reports "holder" while it holds the lock. Servers come first,
            // so a role both report keeps meaning a server.
            Target::Role(role) => {
                let clients = if role == "client" {
                    servers..servers
                } else {
                    servers..self.nodes.len() as u32
                };
                (0..servers)
                    .chain(clients)
                    .find(|&i| {
                        self.nodes[i as usize]
                            .as_ref()
                            .is_some_and(|n| n.role() == role)
                    })
                    .map(|i| vec![i])
                    .unwrap_or_default()
            }
            // A minority of the servers, the role's node first: servers only,
            // as `random` and `all` are (a client's role is no group's).
            Target::MinorityOf(role) => {
                let Some(&first) = self
                    .resolve(&Target::Role(role.clone()))
                    .first()
                    .filter(|&&i| i < servers)
                else {
                    return Vec::new();
                };
                let size = (servers as usize - 1) / 2;
                let mut group = vec![first];
                group.extend(
                    (0..servers)
                        .filter(|&i| i != first)
                        .take(size.saturating_sub(1)),
                );
                group
            }
            Target::Region(r) => self
                .scenario
                .topology
                .regions
                .get(r)
                .map(|m| {
                    m.iter()
                        .filter_map(|n| self.cluster.by_name(n.get_ref()).map(|id| id.0))
                        .collect()
                })
                .unwrap_or_default(),
            // A live server, never a client; `all` is every server.
            Target::Random => {
                let live: Vec<u32> = (0..servers)
                    .filter(|&i| self.nodes[i as usize].is_some())
                    .collect();
                live.choose(&mut *self.fault_rng)
                    .map(|&i| vec![i])
                    .unwrap_or_default()
            }
            Target::Downed => (0..self.nodes.len() as u32)
                .filter(|&i| self.nodes[i as usize].is_none() || self.slots[i as usize].paused)
                .collect(),
            Target::All => (0..servers).collect(),
            Target::Rest => Vec::new(), // resolved by the partition itself
            // A service (Maelstrom's lin-kv) never fails: a trigger it
            // fired means no node.
            Target::TriggerNode => self
                .firing
                .0
                .into_iter()
                .filter(|&i| !self.cluster.is_service(NodeId(i)))
                .collect(),
            Target::TriggerTo => self
                .firing
                .1
                .into_iter()
                .filter(|&i| !self.cluster.is_service(NodeId(i)))
                .collect(),
        }
    }

    fn names(&self, ids: &[u32]) -> String {
        let v: Vec<&str> = ids.iter().map(|&i| self.cluster.name(NodeId(i))).collect();
        format!("{{{}}}", v.join(","))
    }

    pub(super) fn note_fault(&mut self, action: &'static str, description: String, line: usize) {
        self.counters.faults += 1;
        self.fp.u64(0x46 ^ (self.now << 8));
        self.fp.bytes(description.as_bytes());
        if self.unfired > 0 && !self.recutting {
            // A crash, restart, pause or resume describes itself by its node.
            let node = matches!(action, "crash" | "restart" | "pause" | "resume")
                .then(|| self.cluster.by_name(&description).map(|id| id.0))
                .flatten();
            self.record(|_| TraceEvent::Fault {
                action,
                description: description.clone(),
                line,
            });
            self.observe(Seen::Fault {
                action,
                node,
                description: &description,
            });
            return;
        }
        self.record(|_| TraceEvent::Fault {
            action,
            description,
            line,
        });
    }

    /// Does `act` to each node `t` means now; says so when it means none.
    fn on_each(
        &mut self,
        t: &Target,
        action: &'static str,
        line: usize,
        act: fn(&mut Self, u32, usize),
    ) {
        let ids = self.resolve(t);
        if ids.is_empty() {
            self.note_fault(
                action,
                format!("{action} {t}: no node matched, skipped"),
                line,
            );
        }
        for i in ids {
            act(self, i, line);
        }
    }

    pub(super) fn apply_fault(&mut self, fault: &Fault) {
        let line = fault.line;
        match &fault.kind {
            FaultKind::Partition { groups } => {
                let n = self.nodes.len();
                let servers = self.cluster.servers().len();
                let mut group_of: Vec<Option<usize>> = vec![None; n];
                let mut rest_group = None;
                for (g, members) in groups.iter().enumerate() {
                    for t in members {
                        if *t == Target::Rest {
                            rest_group = Some(g);
                        }
                        for i in self.resolve(t) {
                            if group_of[i as usize].is_none() {
                                group_of[i as usize] = Some(g);
                            }
                        }
                    }
                }
                if let Some(g) = rest_group {
                    for slot in group_of.iter_mut().take(servers) {
                        if slot.is_none() {
                            *slot = Some(g);
                        }
                    }
                }
                self.cut_groups(&group_of);
                let desc = (0..groups.len())
                    .map(|g| {
                        let ids: Vec<u32> = (0..n as u32)
                            .filter(|&i| group_of[i as usize] == Some(g))
                            .collect();
                        self.names(&ids)
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                self.note_fault("partition", desc, line);
            }
            FaultKind::PartitionOneWay { from, to } => {
                let from: Vec<u32> = from.iter().flat_map(|t| self.resolve(t)).collect();
                let mut to: Vec<u32> = to.iter().flat_map(|t| self.resolve(t)).collect();
                if to.is_empty() {
                    // "rest": every server not in `from`.
                    to = (0..self.cluster.servers().len() as u32)
                        .filter(|i| !from.contains(i))
                        .collect();
                }
                for &a in &from {
                    for &b in &to {
                        if a != b {
                            self.cut_link(a, b);
                        }
                    }
                }
                self.partition_changed();
                let desc = format!("{} -/-> {}", self.names(&from), self.names(&to));
                self.note_fault("partition", desc, line);
            }
            FaultKind::Heal => {
                self.net.heal();
                self.cut_by.clear();
                self.partition_changed();
                self.note_fault("heal", "every partition healed".into(), line);
            }
            FaultKind::Crash(t) => self.on_each(t, "crash", line, Self::crash),
            FaultKind::Restart(t) => self.on_each(t, "restart", line, Self::restart),
            FaultKind::Pause(t) => self.on_each(t, "pause", line, Self::pause),
            FaultKind::Resume(t) => self.on_each(t, "resume", line, Self::resume),
            FaultKind::Clog { a, b, one_way } | FaultKind::Unclog { a, b, one_way } => {
                let clog = matches!(fault.kind, FaultKind::Clog { .. });
                let xs = self.resolve(a);
                let ys = if *b == Target::All {
                    (0..self.nodes.len() as u32).collect()
                } else {
                    self.resolve(b)
                };
                for &x in &xs {
                    for &y in &ys {
                        if x != y {
                            self.set_clog(x, y, clog);
                            if !one_way {
                                self.set_clog(y, x, clog);
                            }
                        }
                    }
                }
                let arrow = if *one_way { "->" } else { "<->" };
                let desc = format!(
                    "{} {arrow} {}",
                    self.names(&xs),
                    if *b == Target::All {
                        "*".into()
                    } else {
                        self.names(&ys)
                    }
                );
                self.note_fault(if clog { "clog" } else { "unclog" }, desc, line);
            }
            FaultKind::Latency {
                scope,
                latency,
                one_way,
            } => {
                let what = describe_latency(latency);
                self.on_links(scope, *one_way, "latency", what, line, |s, x, y| {
                    s.net.link_mut(x, y).latency = latency.clone();
                });
            }
            FaultKind::Loss {
                scope,
                probability,
                one_way,
            } => {
                let what = format!("loss {probability}");
                self.on_links(scope, *one_way, "loss", what, line, |s, x, y| {
                    let key = (x as u32, y as u32);
                    match s.nemesis_fault {
                        Some(g) => {
                            let before = s
                                .loss_by
                                .get(&key)
                                .map_or(s.net.link(x, y).loss, |&(_, b)| b);
                            s.loss_by.insert(key, (g, before));
                        }
                        None => {
                            s.loss_by.remove(&key);
                        }
                    }
                    s.net.link_mut(x, y).loss = *probability;
                });
            }
            FaultKind::Clock {
                target,
                offset_ns,
                drift,
            } => {
                let ids = self.resolve(target);
                let by = self.nemesis_fault;
                for &i in &ids {
                    let slot = &mut self.slots[i as usize];
                    // From this instant on: a drift changes the rate without
                    // stepping either clock; an offset steps the wall clock
                    // only. See `sim::node::Clock`.
                    slot.clock = slot.clock.set(self.now, *offset_ns, *drift);
                    match by {
                        // The nemesis's skew: undone by its own undo (or the
                        // stop) back to what the scenario's faults made it.
                        Some(g) => slot.clock_by = Some(g),
                        // A scenario's fault (or an undo) changes the clock
                        // the scenario means the node to have. Once it sets
                        // both fields nothing of the nemesis's is left; a
                        // field it leaves out may still be the nemesis's, and
                        // the nemesis's undo will still put that right.
                        None => {
                            slot.scenario_clock =
                                slot.scenario_clock.set(self.now, *offset_ns, *drift);
                            if offset_ns.is_some() && drift.is_some() {
                                slot.clock_by = None;
                            }
                        }
                    }
                }
                let mut desc = format!("{} clock", self.names(&ids));
                if let Some(o) = offset_ns {
                    desc.push_str(&format!(
                        " offset {}{}",
                        if *o < 0 { "-" } else { "+" },
                        fmt_duration(o.unsigned_abs())
                    ));
                }
                if let Some(d) = drift {
                    desc.push_str(&format!(" drift {d}"));
                }
                self.note_fault("clock", desc, line);
            }
            FaultKind::FsyncLoss(t) | FaultKind::FsyncOk(t) => {
                let lies = matches!(fault.kind, FaultKind::FsyncLoss(_));
                let ids = self.resolve(t);
                for &i in &ids {
                    self.slots[i as usize].disk.fsync_lies = lies;
                }
                let desc = format!(
                    "{} fsync {}",
                    self.names(&ids),
                    if lies {
                        "lies (unsynced and synced writes lost on crash)"
                    } else {
                        "honest again"
                    }
                );
                self.note_fault(if lies { "fsync-loss" } else { "fsync-ok" }, desc, line);
            }
        }
    }

    fn crash(&mut self, i: u32, line: usize) {
        let idx = i as usize;
        let Some(last) = self.nodes[idx].take() else {
            // Already down: a `[[faults]]` crash takes the node over, so the
            // nemesis's restart no longer cuts short what the scenario wants.
            if self.nemesis_fault.is_none() {
                self.slots[idx].crashed_by = None;
            }
            return;
        };
        self.protocol.crashed(NodeId(i), &last);
        drop(last);
        let by = self.nemesis_fault;
        let slot = &mut self.slots[idx];
        slot.shown.set(None);
        slot.disk.crash();
        slot.timers.clear();
        slot.held.clear();
        slot.paused = false;
        slot.paused_by = None;
        slot.crashed_by = by;
        self.forget_deferred(i);
        let name = self.cluster.name_arc(NodeId(i));
        self.note_fault("crash", name.to_string(), line);
        let old = std::mem::replace(&mut self.slots[idx].role, "crashed");
        self.record(|_| TraceEvent::Role {
            node: name,
            from: old,
            to: "crashed",
        });
        self.observe(Seen::Role {
            node: i,
            role: "crashed",
        });
        // A crashed client's open operation has an unknown outcome.
        if self.cluster.is_client(NodeId(i)) {
            let c = idx - self.cluster.servers().len();
            if let Some(op) = self.clients[c].open.take() {
                self.history.give_up(op, self.now);
                let next = self.now.saturating_add(self.think_time());
                self.push(next, Ev::Issue { client: i });
            }
        }
    }

    fn restart(&mut self, i: u32, line: usize) {
        let idx = i as usize;
        if self.nodes[idx].is_some() {
            if self.slots[idx].paused {
                self.resume(i, line);
            }
            return;
        }
        self.slots[idx].incarnation += 1;
        self.slots[idx].crashed_by = None;
        let node = self
            .protocol
            .build(NodeId(i), &self.cluster, &self.slots[idx].disk);
        self.nodes[idx] = Some(node);
        self.slots[idx].shown.set(None);
        let name = self.cluster.name(NodeId(i)).to_string();
        self.note_fault("restart", name, line);
        // Its first step's check runs while the crash still counts as in
        // force; the watch keeps what it reported, so a quiet period the
        // restart begins (after this step) starts from that truth, not from
        // one reported before the restart.
        self.start_node(i);
        // A client's next operation that waited for it (exploring: see
        // `issue`) can start now.
        for ev in std::mem::take(&mut self.slots[idx].held) {
            self.push(self.now, ev);
        }
    }

    fn pause(&mut self, i: u32, line: usize) {
        let idx = i as usize;
        if self.nodes[idx].is_none() {
            return;
        }
        if self.slots[idx].paused {
            // Already paused: a `[[faults]]` pause takes the node over, so
            // the nemesis's resume no longer cuts it short.
            if self.nemesis_fault.is_none() {
                self.slots[idx].paused_by = None;
            }
            return;
        }
        self.slots[idx].paused = true;
        // Only the nemesis's own pause is its to undo.
        self.slots[idx].paused_by = self.nemesis_fault;
        let name = self.cluster.name(NodeId(i)).to_string();
        self.note_fault("pause", name, line);
    }

    fn resume(&mut self, i: u32, line: usize) {
        let idx = i as usize;
        if !self.slots[idx].paused {
            return;
        }
        self.slots[idx].paused = false;
        self.slots[idx].paused_by = None;
        let name = self.cluster.name(NodeId(i)).to_string();
        self.note_fault("resume", name, line);
        // What a real process sees when it runs again: its event loop first
        // looks at the clock, so every timer that came due during the pause
        // fires (in the order it came due), and only then does it read the
        // messages and requests that queued up meanwhile (in arrival order). A
        // request that arrived during the pause is handled by a node that has
        // already noticed the time that passed (its lease ran out, its
        // election timeout fired), never by one that acts on stale beliefs.
        let (timers, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.slots[idx].held)
            .into_iter()
            .partition(|ev| matches!(ev, Ev::Timer { .. }));
        for ev in timers.into_iter().chain(rest) {
            self.push(self.now, ev);
        }
    }
}
