//! The ring over time: which servers are on it after each membership change.

use sim::node::NodeId;
use sim::time::{fmt_duration, Nanos};

use crate::ring::Ring;

/// The ring over time: the ring from each membership change on.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub(super) epochs: Vec<(Nanos, Ring)>,
    /// What changed at each epoch after the first, for the report.
    pub(super) changes: Vec<String>,
}

impl Timeline {
    /// Builds the rings for `servers` servers and the membership changes.
    pub fn new(
        servers: usize,
        vnodes: u32,
        joins: &[(NodeId, Nanos)],
        leaves: &[(NodeId, Nanos)],
    ) -> Timeline {
        let mut times: Vec<Nanos> = joins.iter().chain(leaves).map(|(_, t)| *t).collect();
        times.sort_unstable();
        times.dedup();
        let members_at = |t: Nanos| {
            (0..servers as u32).map(NodeId).filter(move |n| {
                let joined = joins.iter().filter(|(j, _)| j == n).all(|(_, at)| *at <= t);
                let left = leaves.iter().any(|(l, at)| l == n && *at <= t);
                joined && !left
            })
        };
        let mut epochs = vec![(0, Ring::new(members_at(0), vnodes))];
        let mut changes = Vec::new();
        for t in times.into_iter().filter(|t| *t > 0) {
            let mut what: Vec<String> = joins
                .iter()
                .filter(|(_, at)| *at == t)
                .map(|(n, _)| format!("n{} joins", n.0 + 1))
                .collect();
            what.extend(
                leaves
                    .iter()
                    .filter(|(_, at)| *at == t)
                    .map(|(n, _)| format!("n{} leaves", n.0 + 1)),
            );
            changes.push(format!("at {}: {}", fmt_duration(t), what.join(", ")));
            epochs.push((t, Ring::new(members_at(t), vnodes)));
        }
        Timeline { epochs, changes }
    }

    /// The ring in force at time `t`.
    pub fn at(&self, t: Nanos) -> &Ring {
        let i = self.epochs.partition_point(|(at, _)| *at <= t);
        &self.epochs[i.saturating_sub(1)].1
    }
}
