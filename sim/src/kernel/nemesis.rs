//! The nemesis: random faults, each with its undo, and the stop that undoes
//! what is still its doing.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution, Exp};

use super::{Ev, Sim};
use crate::node::NodeId;
use crate::protocol::Protocol;
use crate::scenario::{Fault, FaultKind, Scope, Target};
use crate::time::Nanos;

impl<'s, P: Protocol> Sim<'s, P> {
    pub(super) fn nemesis_gap(&mut self, interval: Nanos) -> Nanos {
        let e = Exp::new(1.0 / interval as f64).expect("interval checked positive");
        e.sample(&mut *self.fault_rng) as Nanos
    }

    pub(super) fn nemesis_tick(&mut self) {
        let Some(nem) = self.scenario.nemesis.as_ref() else {
            return;
        };
        if self.nemesis_stopped {
            return;
        }
        let servers = self.cluster.servers().len() as u32;
        let max_down = nem.max_down.unwrap_or((servers - 1) / 2) as usize;
        let kinds: Vec<&str> = nem.kinds.iter().map(|k| k.get_ref().as_str()).collect();
        let kind = *kinds
            .choose(&mut *self.fault_rng)
            .expect("at least one kind");
        let live: Vec<u32> = (0..servers)
            .filter(|&i| self.nodes[i as usize].is_some() && !self.slots[i as usize].paused)
            .collect();
        let down = servers as usize - live.len();
        let lasting = {
            let d = nem.fault_duration as f64;
            self.fault_rng.gen_range(0.5 * d..=1.5 * d) as Nanos
        };
        let node = |s: &Self, i: u32| Target::Node(s.cluster.name(NodeId(i)).to_string());
        // Each fault and the fault that undoes it, as ordinary schedule entries.
        let pair = match kind {
            // Not while a partition of the scenario's is in force, so the
            // lesson's partition is the one in force while it lasts.
            "partition" if servers > 1 && !self.scenario_cut() => {
                let mut order: Vec<u32> = (0..servers).collect();
                order.shuffle(&mut *self.fault_rng);
                let minority = self.fault_rng.gen_range(1..=(servers as usize / 2).max(1));
                let mut a: Vec<u32> = order[..minority].to_vec();
                let mut b: Vec<u32> = order[minority..].to_vec();
                a.sort_unstable();
                b.sort_unstable();
                let groups = vec![
                    a.iter().map(|&i| node(self, i)).collect(),
                    b.iter().map(|&i| node(self, i)).collect(),
                ];
                Some((FaultKind::Partition { groups }, FaultKind::Heal))
            }
            "crash" if down < max_down && !live.is_empty() => {
                let &i = live.choose(&mut *self.fault_rng).expect("non-empty");
                Some(self.take_down(i, FaultKind::Crash, FaultKind::Restart))
            }
            // A client process dies and comes back as a new process (a new
            // session, see `client`): its open operation ends `info`, and the
            // servers must tell its new requests from its old ones. Clients
            // do not count against `max_down`, which is about servers.
            "client-crash" => {
                let up: Vec<u32> = self
                    .cluster
                    .clients()
                    .iter()
                    .map(|c| c.0)
                    // A client the scenario paused is left alone: a restart
                    // could not give it its pause back.
                    .filter(|&i| self.nodes[i as usize].is_some() && !self.slots[i as usize].paused)
                    .collect();
                up.choose(&mut *self.fault_rng)
                    .map(|&i| self.take_down(i, FaultKind::Crash, FaultKind::Restart))
            }
            "pause" if down < max_down && !live.is_empty() => {
                let &i = live.choose(&mut *self.fault_rng).expect("non-empty");
                Some(self.take_down(i, FaultKind::Pause, FaultKind::Resume))
            }
            "clog" if servers > 1 => {
                let a = self.fault_rng.gen_range(0..servers);
                let mut b = self.fault_rng.gen_range(0..servers - 1);
                if b >= a {
                    b += 1;
                }
                let (a, b) = (node(self, a), node(self, b));
                Some((
                    FaultKind::Clog {
                        a: a.clone(),
                        b: b.clone(),
                        one_way: false,
                    },
                    FaultKind::Unclog {
                        a,
                        b,
                        one_way: false,
                    },
                ))
            }
            "loss" => {
                let p = (self.fault_rng.gen_range(0.1..0.5) * 100.0f64).round() / 100.0;
                let base = *self.scenario.network.loss.get_ref();
                Some((
                    FaultKind::Loss {
                        scope: Scope::Everywhere,
                        probability: p,
                        one_way: false,
                    },
                    FaultKind::Loss {
                        scope: Scope::Everywhere,
                        probability: base,
                        one_way: false,
                    },
                ))
            }
            "clock" => {
                let i = self.fault_rng.gen_range(0..servers);
                let offset_ns = self.fault_rng.gen_range(-500i64..=500) * 1_000_000;
                let drift = (self.fault_rng.gen_range(-0.05f64..=0.05) * 1000.0).round() / 1000.0;
                Some((
                    FaultKind::Clock {
                        target: node(self, i),
                        offset_ns: Some(offset_ns),
                        drift: Some(drift),
                    },
                    FaultKind::Clock {
                        target: node(self, i),
                        offset_ns: Some(0),
                        drift: Some(0.0),
                    },
                ))
            }
            _ => None,
        };
        if let Some((fault, undo)) = pair {
            self.nemesis_gen += 1;
            let gen = self.nemesis_gen;
            self.nemesis_fault = Some(gen);
            self.nemesis_apply(fault);
            self.nemesis_fault = None;
            self.push(
                self.now.saturating_add(lasting),
                Ev::NemesisUndo {
                    undo: Box::new(undo),
                    gen,
                },
            );
        }
        let next = self
            .now
            .saturating_add(self.nemesis_gap(nem.interval).max(1));
        if nem.stop.is_none_or(|s| next < s) {
            self.push(next, Ev::NemesisTick);
        }
    }

    /// The nemesis takes node `i` down with `down` and means to bring it back
    /// with `up`: the pair of faults, with the node noted as the nemesis's.
    fn take_down(
        &mut self,
        i: u32,
        down: fn(Target) -> FaultKind,
        up: fn(Target) -> FaultKind,
    ) -> (FaultKind, FaultKind) {
        self.nemesis_down.push(i);
        let node = Target::Node(self.cluster.name(NodeId(i)).to_string());
        (down(node.clone()), up(node))
    }

    /// Applies a fault the nemesis chose (or one of its undos), and logs it
    /// as a concrete schedule entry.
    fn nemesis_apply(&mut self, kind: FaultKind) {
        let fault = Fault {
            at: self.now,
            kind,
            line: 0,
            when: None,
        };
        self.apply_fault(&fault);
        self.nemesis_log.push(fault);
    }

    /// The undo of nemesis fault `gen`, as concrete faults: only what is
    /// still that fault's doing. What another nemesis fault or a `[[faults]]`
    /// entry changed since is no longer its to undo; what it undoes goes back
    /// to what was there before the nemesis touched it.
    fn nemesis_undos(&mut self, undo: &FaultKind, gen: u64) -> Vec<FaultKind> {
        let name = |s: &Self, i: u32| Target::Node(s.cluster.name(NodeId(i)).to_string());
        let mut out = Vec::new();
        match undo {
            // The links this fault cut and still owns; see `nemesis_undo`.
            FaultKind::Heal => {}
            FaultKind::Restart(t) => {
                for i in self.resolve(t) {
                    if self.nodes[i as usize].is_none()
                        && self.slots[i as usize].crashed_by == Some(gen)
                    {
                        out.push(FaultKind::Restart(name(self, i)));
                    }
                }
            }
            FaultKind::Resume(t) => {
                for i in self.resolve(t) {
                    let slot = &self.slots[i as usize];
                    if slot.paused && slot.paused_by == Some(gen) {
                        out.push(FaultKind::Resume(name(self, i)));
                    }
                }
            }
            FaultKind::Unclog { a, b, .. } => {
                let (a, b) = (self.resolve(a), self.resolve(b));
                for (&x, &y) in a.iter().zip(&b) {
                    let forth = self.clogged_by.get(&(x, y)) == Some(&gen);
                    let back = self.clogged_by.get(&(y, x)) == Some(&gen);
                    // A direction a `[[faults]]` entry clogged since stays.
                    if forth || back {
                        let (from, to) = if forth { (x, y) } else { (y, x) };
                        out.push(FaultKind::Unclog {
                            a: name(self, from),
                            b: name(self, to),
                            one_way: !(forth && back),
                        });
                    }
                }
            }
            FaultKind::Loss { .. } => {
                let owned: Vec<((u32, u32), f64)> = self
                    .loss_by
                    .iter()
                    .filter(|(_, &(g, _))| g == gen)
                    .map(|(&k, &(_, before))| (k, before))
                    .collect();
                out.extend(self.loss_restores(&owned));
            }
            FaultKind::Clock { target, .. } => {
                for i in self.resolve(target) {
                    if self.slots[i as usize].clock_by == Some(gen) {
                        out.push(self.clock_restore(i));
                    }
                }
            }
            other => out.push(other.clone()),
        }
        out
    }

    /// The clock fault that puts node `i`'s clock back to what the scenario's
    /// own clock faults made it: its wall clock reads what it would read had
    /// the nemesis never touched it, at the scenario's drift.
    fn clock_restore(&self, i: u32) -> FaultKind {
        let c = self.slots[i as usize].scenario_clock;
        FaultKind::Clock {
            target: Target::Node(self.cluster.name(NodeId(i)).to_string()),
            offset_ns: Some(c.offset_at(self.now)),
            drift: Some(c.drift),
        }
    }

    /// Loss faults that give these directed links back the loss they had:
    /// one fault for the whole network when that is what it amounts to.
    fn loss_restores(&self, links: &[((u32, u32), f64)]) -> Vec<FaultKind> {
        let n = self.nodes.len();
        if links.is_empty() {
            return Vec::new();
        }
        let first = links[0].1;
        if links.len() == n * (n - 1) && links.iter().all(|&(_, b)| b == first) {
            return vec![FaultKind::Loss {
                scope: Scope::Everywhere,
                probability: first,
                one_way: false,
            }];
        }
        let name = |i: u32| Target::Node(self.cluster.name(NodeId(i)).to_string());
        links
            .iter()
            .map(|&((x, y), before)| FaultKind::Loss {
                scope: Scope::Link(name(x), name(y)),
                probability: before,
                one_way: true,
            })
            .collect()
    }

    /// Applies what `heal_links` made: the heal, seen by triggers as any heal,
    /// then the re-cuts of what stays cut, which no trigger sees.
    fn apply_heal(&mut self, heal: Vec<FaultKind>) {
        for (i, u) in heal.into_iter().enumerate() {
            self.recutting = i > 0;
            self.nemesis_apply(u);
        }
        self.recutting = false;
    }

    pub(super) fn nemesis_undo(&mut self, undo: FaultKind, gen: u64) {
        // After the stop, the stop has undone all there was: an undo still
        // in the queue must not touch what the scenario did since.
        if self.nemesis_stopped {
            return;
        }
        let (heal, keep) = if matches!(undo, FaultKind::Heal) {
            self.heal_links(|g| g == gen)
        } else {
            (Vec::new(), Vec::new())
        };
        self.apply_heal(heal);
        for u in self.nemesis_undos(&undo, gen) {
            self.nemesis_apply(u);
        }
        // The re-cut links that stay are still the other nemesis faults'.
        self.cut_by.extend(keep);
        // A node no longer down by the nemesis's hand (this undo brought it
        // back, or something else did) is not the stop's to bring back.
        let slots = &self.slots;
        self.nemesis_down.retain(|&d| {
            slots[d as usize].crashed_by.is_some() || slots[d as usize].paused_by.is_some()
        });
    }

    /// The quiet phase begins: undo everything the nemesis did that is still
    /// its doing, back to what the scenario made it.
    pub(super) fn nemesis_stop(&mut self) {
        self.nemesis_stopped = true;
        let (heal, _) = self.heal_links(|_| true);
        let mut undo = Vec::new();
        let clogged: Vec<(u32, u32)> = self.clogged_by.keys().copied().collect();
        for &(x, y) in &clogged {
            // Both directions in one fault, listed once.
            let both = clogged.contains(&(y, x));
            if both && y < x {
                continue;
            }
            let (a, b) = (self.cluster.name(NodeId(x)), self.cluster.name(NodeId(y)));
            undo.push(FaultKind::Unclog {
                a: Target::Node(a.to_string()),
                b: Target::Node(b.to_string()),
                one_way: !both,
            });
        }
        let lossy: Vec<((u32, u32), f64)> =
            self.loss_by.iter().map(|(&k, &(_, b))| (k, b)).collect();
        undo.extend(self.loss_restores(&lossy));
        // Clocks: only where the nemesis's skew is still in the clock, back
        // to what the scenario's own clock faults made it.
        for i in 0..self.cluster.servers().len() as u32 {
            if self.slots[i as usize].clock_by.is_some() {
                undo.push(self.clock_restore(i));
            }
        }
        // Nodes down by the nemesis's hand, in the order it took them down;
        // a node the scenario crashed or paused stays as the scenario left it.
        let mut down = std::mem::take(&mut self.nemesis_down);
        down.extend(0..self.nodes.len() as u32);
        let mut seen = std::collections::BTreeSet::new();
        for i in down {
            if !seen.insert(i) {
                continue;
            }
            let target = Target::Node(self.cluster.name(NodeId(i)).to_string());
            let slot = &self.slots[i as usize];
            if self.nodes[i as usize].is_none() && slot.crashed_by.is_some() {
                undo.push(FaultKind::Restart(target));
            } else if slot.paused && slot.paused_by.is_some() {
                undo.push(FaultKind::Resume(target));
            }
        }
        self.note_fault(
            "nemesis-stop",
            "nemesis stopped: every fault it left in force is undone; the quiet phase begins"
                .into(),
            0,
        );
        self.apply_heal(heal);
        for u in undo {
            self.nemesis_apply(u);
        }
    }
}
