//! What the quorum store checks as the run goes: that the replicas converge
//! by `converge_by`, and when they last disagreed.

use std::collections::BTreeMap;

use sim::node::NodeId;
use sim::protocol::{NodeTable, Property, Violation};
use sim::time::{fmt_duration, Nanos};

use super::{Quorum, QuorumNode, Server, Sibling};
use crate::ring::Ring;

/// The properties checked as the run goes.
pub const PROPERTIES: &[Property] = &[
    Property::always(
        "repair-never-older",
        "a read repair never replaces a value with an older one",
    ),
    Property::always(
        "convergence",
        "from converge_by on, the live replicas of every key agree and no hint is left",
    ),
];

/// How often (virtual time) the convergence check looks at the replicas.
const CHECK_EVERY: Nanos = 50_000_000;

/// Watches the replicas: when they last disagreed, and whether they agree by
/// `converge_by`.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    pub(super) next_check: Nanos,
    pub(super) last_divergent: Option<Nanos>,
    pub(super) judged: bool,
    /// (keys whose replicas differ, hints left) at the last check.
    pub(super) last: (usize, usize),
}

/// Keys whose live replicas (on the ring at `now`) hold different versions,
/// and hints still held anywhere.
pub fn divergence(ring: &Ring, n: usize, nodes: &NodeTable<QuorumNode>) -> (Vec<String>, usize) {
    let servers: BTreeMap<NodeId, &Server> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((NodeId(i as u32), s.as_ref()?.as_server()?)))
        .collect();
    let mut keys: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut hints = 0;
    for s in servers.values() {
        keys.extend(s.store().keys().map(|k| k.as_str()));
        keys.extend(s.hints().keys().map(|(_, k)| k.as_str()));
        hints += s.hints().len();
    }
    let empty: Vec<Sibling> = Vec::new();
    let differ = keys
        .into_iter()
        .filter(|k| {
            let mut seen: Option<&Vec<Sibling>> = None;
            for p in ring.preference_list(k, n) {
                let Some(s) = servers.get(&p) else { continue };
                let v = s.store().get(*k).unwrap_or(&empty);
                match seen {
                    None => seen = Some(v),
                    Some(prev) if prev != v => return true,
                    Some(_) => {}
                }
            }
            false
        })
        .map(str::to_string)
        .collect();
    (differ, hints)
}

impl Quorum {
    /// Looks at the replicas every `CHECK_EVERY`, and judges convergence once
    /// at `converge_by`.
    pub(super) fn watch(
        &mut self,
        now: Nanos,
        nodes: &NodeTable<QuorumNode>,
        out: &mut Vec<Violation>,
    ) {
        if now < self.checker.next_check {
            return;
        }
        self.checker.next_check = now + CHECK_EVERY;
        let (differ, hints) = divergence(self.timeline.at(now), self.params.n, nodes);
        self.checker.last = (differ.len(), hints);
        if !differ.is_empty() || hints > 0 {
            self.checker.last_divergent = Some(now);
        }
        if let Some(by) = self.params.converge_by {
            if now >= by && !self.checker.judged {
                self.checker.judged = true;
                if !differ.is_empty() || hints > 0 {
                    out.push(Violation {
                        invariant: "convergence",
                        detail: format!(
                            "at {}: replicas of {} key(s) still differ ({}) and {hints} hint(s) are undelivered",
                            fmt_duration(now),
                            differ.len(),
                            differ.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
            }
        }
    }
}
