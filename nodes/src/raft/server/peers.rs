//! A leader's small per-peer tables: what it knows of each follower's log,
//! which peers it heard from, and when its recent heartbeat rounds began.
//!
//! Each was a `BTreeMap` or `BTreeSet`, and each is read or changed at every
//! AppendEntries reply. A cluster has a handful of servers and a leader a
//! handful of rounds in flight, so a short list kept in key order and
//! searched in place does the same work for less (a tree walk, an iterator
//! over tree nodes and a node allocated after each clear cost more than the
//! Raft handler around them). Each shows (`Debug`) exactly as the map or set
//! it replaces, in the same key order: traces and explored states' hashes
//! see no difference.

use std::collections::VecDeque;
use std::fmt;

use sim::node::NodeId;
use sim::time::Nanos;

use super::Progress;

/// What the leader knows of each peer's log, in the order of the peers' ids.
#[derive(Clone, Default)]
pub(super) struct ProgressTable(Vec<(NodeId, Progress)>);

impl ProgressTable {
    /// A table for `peers` (in any order), each starting at `progress`.
    pub(super) fn new(peers: &[NodeId], progress: Progress) -> Self {
        let mut table: Vec<(NodeId, Progress)> = peers.iter().map(|p| (*p, progress)).collect();
        table.sort_unstable_by_key(|(id, _)| *id);
        table.dedup_by_key(|(id, _)| *id);
        ProgressTable(table)
    }

    pub(super) fn get(&self, peer: NodeId) -> Option<&Progress> {
        self.0.iter().find(|(id, _)| *id == peer).map(|(_, p)| p)
    }

    pub(super) fn get_mut(&mut self, peer: NodeId) -> Option<&mut Progress> {
        self.0
            .iter_mut()
            .find(|(id, _)| *id == peer)
            .map(|(_, p)| p)
    }

    /// Every peer's progress, in the order of their ids.
    pub(super) fn values(&self) -> impl Iterator<Item = &Progress> + '_ {
        self.0.iter().map(|(_, p)| p)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

/// Shown as the `BTreeMap<NodeId, Progress>` it replaces.
impl fmt::Debug for ProgressTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

/// A set of peers, in the order of their ids.
#[derive(Clone, Default)]
pub(super) struct PeerSet(Vec<NodeId>);

impl PeerSet {
    pub(super) fn insert(&mut self, peer: NodeId) {
        // Nearly always there already: one pass finds it or its place.
        match self.0.iter().position(|id| *id >= peer) {
            Some(i) if self.0[i] == peer => {}
            Some(i) => self.0.insert(i, peer),
            None => self.0.push(peer),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

/// Shown as the `BTreeSet<NodeId>` it replaces.
impl fmt::Debug for PeerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.iter()).finish()
    }
}

/// When each recent heartbeat round began, by round, lowest first. Rounds
/// are numbered upwards and only the oldest are forgotten, so a queue in
/// round order is the map's order.
#[derive(Clone, Default)]
pub(super) struct RoundStarts(VecDeque<(u64, Nanos)>);

impl RoundStarts {
    /// Records round `round` (above every round recorded) as begun at `at`.
    pub(super) fn insert(&mut self, round: u64, at: Nanos) {
        match self.0.back_mut() {
            Some(last) if last.0 == round => last.1 = at,
            Some(last) if last.0 > round => self.insert_out_of_order(round, at),
            _ => self.0.push_back((round, at)),
        }
    }

    /// What a map would do with a round not above every round recorded
    /// (never, while round numbers only go up; kept exact all the same).
    #[cold]
    fn insert_out_of_order(&mut self, round: u64, at: Nanos) {
        let i = self.0.partition_point(|(r, _)| *r < round);
        match self.0.get_mut(i) {
            Some(slot) if slot.0 == round => slot.1 = at,
            _ => self.0.insert(i, (round, at)),
        }
    }

    pub(super) fn get(&self, round: u64) -> Option<Nanos> {
        let i = self.0.partition_point(|(r, _)| *r < round);
        self.0
            .get(i)
            .filter(|(r, _)| *r == round)
            .map(|(_, at)| *at)
    }

    /// Forgets every round before `round`.
    pub(super) fn forget_before(&mut self, round: u64) {
        while self.0.front().is_some_and(|(r, _)| *r < round) {
            self.0.pop_front();
        }
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

/// Shown as the `BTreeMap<u64, Nanos>` it replaces.
impl fmt::Debug for RoundStarts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn progress(next: u64) -> Progress {
        Progress {
            next,
            matched: next / 2,
            acked_round: next % 3,
        }
    }

    #[test]
    fn the_tables_show_and_answer_as_the_maps_and_sets_they_replace() {
        let peers = [NodeId(4), NodeId(0), NodeId(2), NodeId(1)];
        let mut table = ProgressTable::new(&peers, progress(1));
        let mut map: BTreeMap<NodeId, Progress> = peers.iter().map(|p| (*p, progress(1))).collect();
        for (k, p) in peers.iter().enumerate() {
            *table.get_mut(*p).unwrap() = progress(k as u64 + 5);
            *map.get_mut(p).unwrap() = progress(k as u64 + 5);
        }
        assert_eq!(format!("{table:?}"), format!("{map:?}"));
        assert_eq!(format!("{table:#?}"), format!("{map:#?}"));
        assert!(table.values().eq(map.values()));
        assert_eq!(table.get(NodeId(3)), None);
        assert_eq!(table.len(), map.len());

        let mut set = PeerSet::default();
        let mut model = BTreeSet::new();
        for p in [3, 1, 3, 0, 7, 1, 5] {
            set.insert(NodeId(p));
            model.insert(NodeId(p));
            assert_eq!(format!("{set:?}"), format!("{model:?}"));
            assert_eq!(set.len(), model.len());
        }
        assert_eq!(format!("{set:#?}"), format!("{model:#?}"));

        let mut rounds = RoundStarts::default();
        let mut model = BTreeMap::new();
        for (r, at) in [(1, 10), (2, 20), (3, 30), (3, 31), (7, 70), (5, 50), (0, 1)] {
            rounds.insert(r, at);
            model.insert(r, at);
            assert_eq!(format!("{rounds:?}"), format!("{model:?}"));
        }
        for r in 0..9 {
            assert_eq!(rounds.get(r), model.get(&r).copied());
        }
        rounds.forget_before(3);
        model.retain(|r, _| *r >= 3);
        assert_eq!(format!("{rounds:#?}"), format!("{model:#?}"));
    }
}
