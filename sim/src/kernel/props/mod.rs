//! Properties as the run goes: whether faults are in force (the quiet period
//! `eventually` properties are judged on), the truths each check reports,
//! and each property's verdict when the run ends (see `crate::protocol`).

use std::collections::BTreeSet;

use super::Sim;
use crate::protocol::{
    Findings, Kind, Property, PropertyVerdict, Protocol, Step, Violation, DECLARED_ROLES,
};
use crate::time::{fmt_duration, Nanos};

/// A property and how it came out.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Judged {
    pub property: Property,
    pub verdict: PropertyVerdict,
}

/// What the kernel keeps about the protocol's properties.
#[derive(Clone, Debug)]
pub(super) struct Watch {
    properties: Vec<Property>,
    /// Per property: for `eventually`, when it was first true in the current
    /// quiet period; for `sometimes`, when it was first true in the run.
    at: Vec<Option<Nanos>>,
    /// Per property: the truth the last check that reported it gave. A
    /// quiet period that begins with an `eventually` property's last truth
    /// `true` sees it hold at its first instant, though no step in the
    /// period reported it (a check need not repeat what did not change).
    last: Vec<bool>,
    /// When the current quiet period began (no fault in force), if the run
    /// is quiet now.
    quiet_since: Option<Nanos>,
    settle: Nanos,
    /// Property names a check misreported (a truth for a name not declared
    /// `eventually` or `sometimes`, or a violation of one that is):
    /// reported once each.
    undeclared: BTreeSet<&'static str>,
    /// The scratch the protocol's check fills, kept to reuse its memory;
    /// empty between checks.
    pub(super) scratch: Findings,
    /// By position in a check's truths: the index of the property reported
    /// there last time (see [`Watch::truth`]).
    hint: Vec<usize>,
}

/// Whether two names are equal: at once when they are the same string in
/// memory (a property's name and the constant a check reports it by
/// usually are), else by their text.
#[inline]
pub(super) fn same_str(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// The always-property a truth about an undeclared property violates.
const DECLARED_PROPERTIES: &str = "declared-properties";

impl Watch {
    /// What of it is part of an explored state: the last truths, when the
    /// quiet period began, and whether each property was seen.
    /// As bytes, fixed-size (the property count is the protocol's).
    pub(in crate::kernel) fn shape(&self, buf: &mut Vec<u8>) {
        buf.extend(self.last.iter().map(|&l| u8::from(l)));
        super::state_hash::opt_bytes(self.quiet_since, buf);
        buf.extend(self.at.iter().map(|a| u8::from(a.is_some())));
    }

    /// Makes this a copy of `src`, reusing its memory (see
    /// `Sim::fork_into`). Every field, by name.
    pub(in crate::kernel) fn copy_from(&mut self, src: &Watch) {
        let Watch {
            properties,
            at,
            last,
            quiet_since,
            settle,
            undeclared,
            scratch,
            hint,
        } = src;
        self.properties.clone_from(properties);
        self.at.clone_from(at);
        self.last.clone_from(last);
        self.quiet_since = *quiet_since;
        self.settle = *settle;
        if self.undeclared != *undeclared {
            self.undeclared.clone_from(undeclared);
        }
        self.scratch.clone_from(scratch);
        self.hint.clone_from(hint);
    }

    pub(super) fn new(properties: Vec<Property>, settle: Nanos) -> Watch {
        Watch {
            at: vec![None; properties.len()],
            last: vec![false; properties.len()],
            properties,
            quiet_since: None,
            settle,
            undeclared: BTreeSet::new(),
            scratch: Findings::new(),
            hint: Vec::new(),
        }
    }

    /// The run is quiet from `now` (`true`), or a fault is in force (`false`).
    /// An `eventually` property that held in the quiet period a fault ends
    /// has not held after that fault; one whose last reported truth is
    /// `true` when a quiet period begins holds at that instant.
    pub(super) fn set_quiet(&mut self, quiet: bool, now: Nanos) {
        match (quiet, self.quiet_since) {
            (true, None) => {
                self.quiet_since = Some(now);
                for (i, p) in self.properties.iter().enumerate() {
                    if p.kind == Kind::Eventually && self.last[i] {
                        self.at[i] = Some(now);
                    }
                }
            }
            (false, Some(_)) => {
                self.quiet_since = None;
                for (p, at) in self.properties.iter().zip(self.at.iter_mut()) {
                    if p.kind == Kind::Eventually {
                        *at = None;
                    }
                }
            }
            _ => {}
        }
    }

    /// Records the truth `holds` of property `name` at `now`. A name that is
    /// not a declared `eventually` or `sometimes` property is a bug of the
    /// protocol: the violation returned says so (once per name).
    /// `k` is the truth's position in the check's findings: a check reports
    /// the same properties in the same order at every step, so the property
    /// found for position `k` last time is tried first, and the names are
    /// compared in full only when it is not that one.
    #[inline]
    fn truth(
        &mut self,
        k: usize,
        name: &'static str,
        holds: bool,
        now: Nanos,
    ) -> Option<Violation> {
        let Some(i) = self.declared_index(k, name) else {
            return self.undeclared_truth(name);
        };
        self.last[i] = holds;
        if !holds || self.at[i].is_some() {
            return None;
        }
        match self.properties[i].kind {
            Kind::Eventually if self.quiet_since.is_some() => self.at[i] = Some(now),
            Kind::Sometimes => self.at[i] = Some(now),
            _ => {}
        }
        None
    }

    /// The violation a truth about `name`, which is not a declared
    /// `eventually` or `sometimes` property, gives (once per name).
    #[cold]
    #[inline(never)]
    fn undeclared_truth(&mut self, name: &'static str) -> Option<Violation> {
        self.undeclared.insert(name).then(|| Violation {
            invariant: DECLARED_PROPERTIES,
            detail: format!(
                "the check reported whether {name:?} holds, which the protocol does not declare as an eventually or sometimes property"
            ),
        })
    }

    /// The index of the first declared `eventually` or `sometimes` property
    /// named `name`, reported at position `k` of a check's truths.
    #[inline]
    fn declared_index(&mut self, k: usize, name: &'static str) -> Option<usize> {
        if let Some(&i) = self.hint.get(k) {
            // The hint is always such a first index, for the name it was
            // found for: the same name gives the same answer.
            if same_str(self.properties[i].name, name) {
                return Some(i);
            }
        }
        self.find_declared(k, name)
    }

    /// [`Watch::declared_index`] without the hint, which it then sets.
    #[cold]
    #[inline(never)]
    fn find_declared(&mut self, k: usize, name: &'static str) -> Option<usize> {
        let i = self
            .properties
            .iter()
            .position(|p| p.name == name && p.kind != Kind::Always)?;
        if self.hint.len() <= k {
            self.hint.resize(k + 1, i);
        }
        self.hint[k] = i;
        Some(i)
    }

    /// Whether `v` names an `eventually` or `sometimes` property, which a
    /// check cannot report violated (only whether it holds): then
    /// `Some(the declared-properties violation)`, once per name, or
    /// `Some(None)` after that. `None`: `v` stands.
    fn misreported(&mut self, v: &Violation) -> Option<Option<Violation>> {
        let p = self
            .properties
            .iter()
            .find(|p| p.name == v.invariant && p.kind != Kind::Always)?;
        Some(self.undeclared.insert(p.name).then(|| Violation {
            invariant: DECLARED_PROPERTIES,
            detail: format!(
                "the check reported {:?} violated ({}), but it is {} {} property, judged by whether it holds (Findings::holds), not violated at a step",
                p.name,
                v.detail,
                if p.kind == Kind::Sometimes { "a" } else { "an" },
                p.kind.name()
            ),
        }))
    }

    /// Every declared property's verdict at the end of the run (`end`),
    /// then any always-property violated without being declared.
    pub(super) fn verdicts(&self, end: Nanos, violations: &[(Nanos, Violation)]) -> Vec<Judged> {
        let first = |name: &str| violations.iter().find(|(_, v)| v.invariant == name);
        let mut out: Vec<Judged> = self
            .properties
            .iter()
            .zip(&self.at)
            .map(|(p, at)| Judged {
                property: *p,
                verdict: match p.kind {
                    Kind::Always => match first(p.name) {
                        Some((_, v)) => PropertyVerdict::Violated {
                            detail: v.detail.clone(),
                        },
                        None => PropertyVerdict::Held { at: None },
                    },
                    Kind::Sometimes => match at {
                        Some(t) => PropertyVerdict::Seen { at: *t },
                        None => PropertyVerdict::NotSeen,
                    },
                    Kind::Eventually => self.eventually(*at, end),
                },
            })
            .collect();
        for (_, v) in violations {
            if !out.iter().any(|j| j.property.name == v.invariant) {
                out.push(Judged {
                    property: if v.invariant == DECLARED_ROLES.name {
                        DECLARED_ROLES
                    } else {
                        Property::always(v.invariant, "")
                    },
                    verdict: PropertyVerdict::Violated {
                        detail: v.detail.clone(),
                    },
                });
            }
        }
        out
    }

    fn eventually(&self, at: Option<Nanos>, end: Nanos) -> PropertyVerdict {
        let Some(since) = self.quiet_since else {
            return PropertyVerdict::Undecided {
                reason: "a fault was still in force when the run ended, so there was no quiet time to judge it".into(),
            };
        };
        if let Some(t) = at {
            return PropertyVerdict::Held { at: Some(t) };
        }
        let quiet = end.saturating_sub(since);
        if quiet >= self.settle {
            PropertyVerdict::Violated {
                detail: format!(
                    "never true in the {} of quiet time from {} to the end (settle time {})",
                    fmt_duration(quiet),
                    fmt_duration(since),
                    fmt_duration(self.settle)
                ),
            }
        } else {
            PropertyVerdict::Undecided {
                reason: format!(
                    "only {} of quiet time after the last fault healed at {}, less than the settle time {}",
                    fmt_duration(quiet),
                    fmt_duration(since),
                    fmt_duration(self.settle)
                ),
            }
        }
    }
}

impl<P: Protocol> Sim<'_, P> {
    /// Whether a fault is in force now: a node down or paused, a link cut
    /// or clogged, a link whose latency, loss or duplication differs from
    /// the scenario's network (a latency spike never undone can keep a
    /// correct system from ever settling, as raised loss can), or a
    /// nemesis that has not stopped. Clock changes are conditions the
    /// system must live with (the settle time allows for them), not faults
    /// in force.
    pub(super) fn fault_in_force(&self) -> bool {
        if self.scenario.nemesis.is_some() && !self.nemesis_stopped {
            return true;
        }
        if self.nodes.iter().any(Option::is_none) || self.slots.iter().any(|s| s.paused) {
            return true;
        }
        if self.net.any_cut() {
            return true;
        }
        let n = self.net.size();
        (0..n).any(|a| {
            (0..n).any(|b| {
                let (l, base) = (self.net.link(a, b), self.base_net.link(a, b));
                l.clogged
                    || l.loss != base.loss
                    || l.duplicate != base.duplicate
                    || l.latency != base.latency
            })
        })
    }

    /// Looks again at whether the run is quiet (after a step that applied
    /// a fault).
    pub(super) fn update_quiet(&mut self) {
        let quiet = !self.fault_in_force();
        self.watch.set_quiet(quiet, self.now);
    }

    /// Runs the protocol's check after node `i` stepped, and records what it
    /// found. The scratch is empty before every check (it starts empty and
    /// is emptied after any check that filled it), so a check that found
    /// nothing, the common case, costs no more than the call.
    pub(super) fn check_properties(&mut self, i: u32) {
        let step = Step {
            now: self.now,
            stepped: crate::node::NodeId(i),
            nodes: &self.nodes,
        };
        // Unmarked (see `dirty`): the scratch is empty again after
        // `record_findings`, which marks the watch when it was filled.
        self.protocol
            .check(step, &mut self.watch.unmarked_mut().scratch);
        self.record_findings();
    }

    /// Runs the protocol's end-of-run check ([`Protocol::at_end`]) and
    /// records what it found, as after a step.
    pub(super) fn check_at_end(&mut self) {
        self.protocol
            .at_end(self.now, &self.nodes, &mut self.watch.scratch);
        self.record_findings();
    }

    /// Records what the last check left in the scratch, and empties it.
    /// (Inlined: after nearly every step the scratch is empty, and the test
    /// is all it does.)
    #[inline]
    fn record_findings(&mut self) {
        if !self.watch.scratch.is_empty() {
            self.record_found();
        }
    }

    #[inline(never)]
    fn record_found(&mut self) {
        for k in 0..self.watch.scratch.truths().len() {
            let (name, holds) = self.watch.scratch.truths()[k];
            if let Some(v) = self.watch.truth(k, name, holds, self.now) {
                self.violation(v);
            }
        }
        if !self.watch.scratch.violations().is_empty() {
            let mut violations = std::mem::take(self.watch.scratch.violations_mut());
            for v in violations.drain(..) {
                match self.watch.misreported(&v) {
                    Some(Some(bug)) => self.violation(bug),
                    Some(None) => {}
                    None => self.violation(v),
                }
            }
            // Give the emptied vector back, to reuse its memory.
            *self.watch.scratch.violations_mut() = violations;
        }
        self.watch.scratch.clear();
    }

    /// Every property's verdict as the run stands now.
    pub(super) fn judged(&self) -> Vec<Judged> {
        self.watch.verdicts(self.now, &self.violations)
    }
}

#[cfg(test)]
mod tests;
