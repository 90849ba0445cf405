//! A node's set timers: the generation of every timer set and not yet fired
//! or cancelled, by timer id.
//!
//! Nearly every node has a handful (a Raft server its election, heartbeat
//! and quorum timers; a client its attempt and backoff timers), set, moved
//! and cancelled at nearly every step: for those a short sorted list,
//! searched in place, costs far less than a tree map. A node with many (an
//! open-loop caller with one timeout per request) would make each of those
//! a long shift, so past [`SMALL`] timers they move to a map, and stay
//! there until none is left.
//!
//! Either way the timers read the same: in id order, one generation each,
//! shown as a map.

use std::collections::BTreeMap;
use std::fmt;

use crate::node::TimerId;

/// At most this many timers are kept in the sorted list.
const SMALL: usize = 16;

#[derive(Default)]
pub(super) struct Timers {
    /// Sorted by id; empty while `big` holds the timers.
    small: Vec<(TimerId, u64)>,
    /// Every timer, once there were more than [`SMALL`]; empty otherwise.
    big: BTreeMap<TimerId, u64>,
}

impl Timers {
    pub(super) fn new() -> Timers {
        Timers::default()
    }

    #[inline]
    fn find(&self, id: TimerId) -> Result<usize, usize> {
        // A short list: a scan beats a binary search.
        for (k, (t, _)) in self.small.iter().enumerate() {
            if *t >= id {
                return if *t == id { Ok(k) } else { Err(k) };
            }
        }
        Err(self.small.len())
    }

    /// The generation of timer `id`, if it is set.
    #[inline]
    pub(super) fn get(&self, id: &TimerId) -> Option<&u64> {
        if !self.big.is_empty() {
            return self.big.get(id);
        }
        self.find(*id).ok().map(|k| &self.small[k].1)
    }

    /// Sets timer `id` to generation `gen`; returns the generation it had.
    #[inline]
    pub(super) fn insert(&mut self, id: TimerId, gen: u64) -> Option<u64> {
        if !self.big.is_empty() {
            return self.big.insert(id, gen);
        }
        match self.find(id) {
            Ok(k) => Some(std::mem::replace(&mut self.small[k].1, gen)),
            Err(k) if self.small.len() < SMALL => {
                self.small.insert(k, (id, gen));
                None
            }
            Err(_) => {
                self.big.extend(self.small.drain(..));
                self.big.insert(id, gen)
            }
        }
    }

    /// Unsets timer `id`; returns the generation it had.
    #[inline]
    pub(super) fn remove(&mut self, id: &TimerId) -> Option<u64> {
        if !self.big.is_empty() {
            return self.big.remove(id);
        }
        let k = self.find(*id).ok()?;
        Some(self.small.remove(k).1)
    }

    pub(super) fn clear(&mut self) {
        self.small.clear();
        self.big.clear();
    }

    /// Whether the timers are past the short list (kept in a map).
    #[inline]
    pub(super) fn is_long(&self) -> bool {
        !self.big.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.small.len() + self.big.len()
    }

    /// The ids of the timers set, in order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &TimerId> {
        self.small.iter().map(|(t, _)| t).chain(self.big.keys())
    }

    /// (id, generation) of every timer set, in id order.
    fn iter(&self) -> impl Iterator<Item = (&TimerId, &u64)> {
        self.small
            .iter()
            .map(|(t, g)| (t, g))
            .chain(self.big.iter())
    }
}

/// A copy reuses the buffers of the one it replaces (a run's slots are
/// copied over at every choice of a search).
impl Clone for Timers {
    fn clone(&self) -> Self {
        Timers {
            small: self.small.clone(),
            big: self.big.clone(),
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.small.clone_from(&src.small);
        self.big.clone_from(&src.big);
    }
}

/// The same timers, however kept.
impl PartialEq for Timers {
    fn eq(&self, other: &Timers) -> bool {
        if self.big.is_empty() && other.big.is_empty() {
            // Both short lists, the common case (a copied run's slot is
            // compared at every copy): compared as slices.
            return self.small == other.small;
        }
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Timers {}

/// As a map of id to generation (as a `BTreeMap` shows).
impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Against a `BTreeMap`, through sets, cancels and clears, with few
    /// and with many timers (crossing from the list to the map and back).
    #[test]
    fn reads_as_a_map_however_many_timers() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut timers = Timers::new();
        let mut model = BTreeMap::new();
        let mut went_big = 0;
        for round in 0..40_000u64 {
            // Phases of few and of many distinct ids.
            let ids = if (round / 5_000) % 2 == 0 { 6 } else { 60 };
            let id = TimerId(rng.gen_range(0..ids));
            match rng.gen_range(0..100) {
                0..=54 => assert_eq!(timers.insert(id, round), model.insert(id, round)),
                55..=98 => assert_eq!(timers.remove(&id), model.remove(&id)),
                _ => {
                    timers.clear();
                    model.clear();
                }
            }
            went_big += usize::from(!timers.big.is_empty());
            assert!(timers.small.is_empty() || timers.big.is_empty());
            assert_eq!(timers.get(&id), model.get(&id));
            assert_eq!(timers.len(), model.len());
            assert!(timers.keys().eq(model.keys()));
            assert_eq!(format!("{timers:?}"), format!("{model:?}"));
        }
        assert!(went_big > 1_000, "the map was used ({went_big} steps)");
        // Equal contents are equal, however kept.
        let mut a = Timers::new();
        let mut b = Timers::new();
        for k in 0..20 {
            a.insert(TimerId(k), k);
        }
        for k in 0..20 {
            a.remove(&TimerId(k));
        }
        a.insert(TimerId(1), 1);
        b.insert(TimerId(1), 1);
        assert!(a == b);
        b.insert(TimerId(2), 2);
        assert!(a != b);
        // One kept in the map (it grew past the list and shrank), one in
        // the list: equal when they hold the same; a copy either way holds
        // the same.
        let mut c = Timers::new();
        for k in 0..20 {
            c.insert(TimerId(k), k);
        }
        for k in 3..20 {
            c.remove(&TimerId(k));
        }
        let mut d = Timers::new();
        for k in 0..3 {
            d.insert(TimerId(k), k);
        }
        assert!(!c.big.is_empty() && d.big.is_empty());
        assert!(c == d);
        assert!(d == c);
        d.insert(TimerId(2), 9);
        assert!(c != d);
        assert!(d != c);
        let mut e = d.clone();
        e.clone_from(&c);
        assert!(e == c && format!("{e:?}") == format!("{c:?}"));
        e.clone_from(&d);
        assert!(e == d && e.big.is_empty());
    }
}
