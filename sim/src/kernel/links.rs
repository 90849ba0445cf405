//! Links: the scopes a fault names, cuts and who owns them, clogs.

use super::{LinkOwners, Sim};
use crate::node::NodeId;
use crate::protocol::Protocol;
use crate::scenario::{FaultKind, Scope, Target};

impl<'s, P: Protocol> Sim<'s, P> {
    /// Changes every link `scope` means with `set`, and notes the fault
    /// `action` as "WHAT on N links: SCOPE".
    pub(super) fn on_links(
        &mut self,
        scope: &Scope,
        one_way: bool,
        action: &'static str,
        what: String,
        line: usize,
        mut set: impl FnMut(&mut Self, usize, usize),
    ) {
        let links = self.scope_links(scope, one_way);
        for &(x, y) in &links {
            set(self, x, y);
        }
        let desc = describe_links(what, links.len(), scope);
        self.note_fault(action, desc, line);
    }

    fn scope_links(&mut self, scope: &Scope, one_way: bool) -> Vec<(usize, usize)> {
        let n = self.nodes.len();
        let mut out = Vec::new();
        let both = |out: &mut Vec<(usize, usize)>, a: usize, b: usize| {
            if a != b {
                out.push((a, b));
                if !one_way {
                    out.push((b, a));
                }
            }
        };
        match scope {
            Scope::Everywhere => {
                for a in 0..n {
                    for b in 0..n {
                        if a != b {
                            out.push((a, b));
                        }
                    }
                }
            }
            Scope::Node(t) => {
                for x in self.resolve(t) {
                    for y in 0..n {
                        both(&mut out, x as usize, y);
                    }
                }
            }
            Scope::Link(a, b) => {
                let xs = self.resolve(a);
                let ys = if *b == Target::All {
                    (0..n as u32).collect()
                } else {
                    self.resolve(b)
                };
                for &x in &xs {
                    for &y in &ys {
                        both(&mut out, x as usize, y as usize);
                    }
                }
            }
            Scope::Region(r) => {
                for x in self.resolve(&Target::Region(r.clone())) {
                    for y in 0..n {
                        both(&mut out, x as usize, y);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    pub(super) fn cut_groups(&mut self, group_of: &[Option<usize>]) {
        let n = group_of.len();
        for a in 0..n {
            for b in 0..n {
                if let (Some(x), Some(y)) = (group_of[a], group_of[b]) {
                    if x != y {
                        self.cut_link(a as u32, b as u32);
                    }
                }
            }
        }
        self.partition_changed();
    }

    /// Cuts one directed link. The nemesis owns a link it cuts unless the
    /// scenario had already cut it (a later nemesis fault takes a link over
    /// from an earlier one); a cut by the scenario takes the link over.
    pub(super) fn cut_link(&mut self, a: u32, b: u32) {
        let was_cut = self.net.is_cut(a as usize, b as usize);
        self.net.set_cut(a as usize, b as usize, true);
        match self.nemesis_fault {
            Some(g) => {
                if !was_cut || self.cut_by.contains_key(&(a, b)) {
                    self.cut_by.insert((a, b), g);
                }
            }
            None => {
                self.cut_by.remove(&(a, b));
            }
        }
    }

    /// Is a link cut that no nemesis fault owns (a partition of the
    /// scenario's)?
    pub(super) fn scenario_cut(&self) -> bool {
        let n = self.nodes.len() as u32;
        (0..n).any(|a| {
            (0..n).any(|b| {
                self.net.is_cut(a as usize, b as usize) && !self.cut_by.contains_key(&(a, b))
            })
        })
    }

    /// Heals the links `gone` selects among those the nemesis cut, as
    /// concrete faults: a heal, then a one-way partition per node for every
    /// cut link that stays. The owners of the nemesis's links that stay are
    /// returned, to be given back once the faults are applied.
    pub(super) fn heal_links(&self, gone: impl Fn(u64) -> bool) -> (Vec<FaultKind>, LinkOwners) {
        let n = self.nodes.len() as u32;
        let mut out = Vec::new();
        let mut keep = Vec::new();
        if !self.cut_by.values().any(|&g| gone(g)) {
            return (out, keep);
        }
        out.push(FaultKind::Heal);
        let name = |i: u32| Target::Node(self.cluster.name(NodeId(i)).to_string());
        for a in 0..n {
            let mut to = Vec::new();
            for b in 0..n {
                if !self.net.is_cut(a as usize, b as usize) {
                    continue;
                }
                match self.cut_by.get(&(a, b)) {
                    Some(&g) if gone(g) => continue,
                    Some(&g) => keep.push(((a, b), g)),
                    None => {}
                }
                to.push(name(b));
            }
            if !to.is_empty() {
                out.push(FaultKind::PartitionOneWay {
                    from: vec![name(a)],
                    to,
                });
            }
        }
        (out, keep)
    }

    pub(super) fn partition_changed(&mut self) {
        let cut = self.net.any_cut();
        match (cut, self.partition_since) {
            (true, None) => self.partition_since = Some(self.now),
            (false, Some(start)) => {
                self.partition_windows.push((start, self.now));
                self.partition_since = None;
            }
            _ => {}
        }
    }

    pub(super) fn set_clog(&mut self, x: u32, y: u32, clog: bool) {
        let was_clogged = self.net.link(x as usize, y as usize).clogged;
        self.net.link_mut(x as usize, y as usize).clogged = clog;
        match self.nemesis_fault {
            // A link the scenario clogged stays the scenario's: the
            // nemesis's undo must not unclog it.
            Some(_) if clog && was_clogged && !self.clogged_by.contains_key(&(x, y)) => {}
            Some(g) if clog => {
                self.clogged_by.insert((x, y), g);
            }
            _ => {
                self.clogged_by.remove(&(x, y));
            }
        }
        if !clog {
            // Release what the link held, in the order it was sent.
            let mut released = Vec::new();
            let mut kept = Vec::new();
            for m in std::mem::take(&mut *self.clogged) {
                if m.0 == x && m.1 == y {
                    released.push(m);
                } else {
                    kept.push(m);
                }
            }
            *self.clogged = kept;
            for (from, to, id, msg) in released {
                self.schedule_delivery(from, to, id, msg);
            }
        }
    }
}

/// "WHAT on N links: SCOPE", for a fault that changed `links` links.
fn describe_links(what: String, links: usize, scope: &Scope) -> String {
    let scope = match scope {
        Scope::Everywhere => "everywhere".into(),
        Scope::Link(a, b) => format!("link {a}-{b}"),
        Scope::Region(r) => format!("region {r}"),
        Scope::Node(t) => format!("node {t}"),
    };
    format!("{what} on {links} links: {scope}")
}
