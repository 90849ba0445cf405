//! Properties as the run goes: whether faults are in force (the quiet period
//! `eventually` properties are judged on), the truths each check reports,
//! and each property's verdict when the run ends (see `crate::protocol`).

use std::collections::BTreeSet;

use super::Sim;
use crate::protocol::{
    Findings, Kind, Property, PropertyVerdict, Protocol, Violation, DECLARED_ROLES,
};
use crate::time::{fmt_duration, Nanos};

/// A property and how it came out.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Judged {
    pub property: Property,
    pub verdict: PropertyVerdict,
}

/// What the kernel keeps about the protocol's properties.
pub(super) struct Watch {
    properties: Vec<Property>,
    /// Per property: for `eventually`, when it was first true in the current
    /// quiet period; for `sometimes`, when it was first true in the run.
    at: Vec<Option<Nanos>>,
    /// When the current quiet period began (no fault in force), if the run
    /// is quiet now.
    quiet_since: Option<Nanos>,
    settle: Nanos,
    /// Property names a check reported a truth for without declaring them
    /// `eventually` or `sometimes`: reported once each.
    undeclared: BTreeSet<&'static str>,
    /// The scratch the protocol's check fills, kept to reuse its memory.
    pub(super) scratch: Findings,
}

/// The always-property a truth about an undeclared property violates.
const DECLARED_PROPERTIES: &str = "declared-properties";

impl Watch {
    pub(super) fn new(properties: Vec<Property>, settle: Nanos) -> Watch {
        Watch {
            at: vec![None; properties.len()],
            properties,
            quiet_since: None,
            settle,
            undeclared: BTreeSet::new(),
            scratch: Findings::new(),
        }
    }

    /// The run is quiet from `now` (`true`), or a fault is in force (`false`).
    /// An `eventually` property that held in the quiet period a fault ends
    /// has not held after that fault.
    pub(super) fn set_quiet(&mut self, quiet: bool, now: Nanos) {
        match (quiet, self.quiet_since) {
            (true, None) => self.quiet_since = Some(now),
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
    fn truth(&mut self, name: &'static str, holds: bool, now: Nanos) -> Option<Violation> {
        let Some(i) = self
            .properties
            .iter()
            .position(|p| p.name == name && p.kind != Kind::Always)
        else {
            return self.undeclared.insert(name).then(|| Violation {
                invariant: DECLARED_PROPERTIES,
                detail: format!(
                    "the check reported whether {name:?} holds, which the protocol does not declare as an eventually or sometimes property"
                ),
            });
        };
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
    /// Whether a fault is in force now: a node down or paused, a link cut,
    /// clogged or losing more than the scenario's network does, or a
    /// nemesis that has not stopped. Latency and clock changes are
    /// conditions the system must live with, not faults in force.
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
                let l = self.net.link(a, b);
                l.clogged || l.loss > self.base_net.link(a, b).loss
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
    /// found.
    pub(super) fn check_properties(&mut self, i: u32) {
        let mut found = std::mem::take(&mut self.watch.scratch);
        found.clear();
        self.protocol
            .check(self.now, crate::node::NodeId(i), &self.nodes, &mut found);
        for &(name, holds) in found.truths() {
            if let Some(v) = self.watch.truth(name, holds, self.now) {
                self.violation(v);
            }
        }
        for v in found.violations_mut().drain(..) {
            self.violation(v);
        }
        self.watch.scratch = found;
    }

    /// Every property's verdict as the run stands now.
    pub(super) fn judged(&self) -> Vec<Judged> {
        self.watch.verdicts(self.now, &self.violations)
    }
}
