//! One namespace's values by index: a vector while the indexes run without
//! a gap (a log), a map after the first gap.

use std::collections::BTreeMap;

/// The values of one namespace, by index. A log is written at 1, 2, 3 ...
/// and cut at either end (a truncated tail, a compacted prefix): while its
/// indexes run without a gap it is one vector from its first index (a
/// write at the end is a push, a sync's look-up an offset, and dropping it
/// walks memory in order); the first gap makes it a map, for good.
#[derive(Debug)]
pub(super) enum Space<V> {
    /// Indexes `first`, `first + 1`, ... `first + vals.len() - 1`.
    Run {
        first: u64,
        vals: Vec<V>,
    },
    Map(BTreeMap<u64, V>),
}

impl<V: Clone> Clone for Space<V> {
    fn clone(&self) -> Self {
        match self {
            Space::Run { first, vals } => Space::Run {
                first: *first,
                vals: vals.clone(),
            },
            Space::Map(m) => Space::Map(m.clone()),
        }
    }

    /// Reuses this space's memory when both are of one shape (the explorer
    /// copies every disk at every choice it makes).
    fn clone_from(&mut self, src: &Self) {
        match (self, src) {
            (Space::Run { first, vals }, Space::Run { first: f, vals: v }) => {
                *first = *f;
                vals.clone_from(v);
            }
            (Space::Map(m), Space::Map(src)) => m.clone_from(src),
            (me, src) => *me = src.clone(),
        }
    }
}

impl<V> Default for Space<V> {
    fn default() -> Self {
        Space::Run {
            first: 0,
            vals: Vec::new(),
        }
    }
}

impl<V> Space<V> {
    pub(super) fn get(&self, i: u64) -> Option<&V> {
        match self {
            Space::Run { first, vals } => vals.get(usize::try_from(i.checked_sub(*first)?).ok()?),
            Space::Map(m) => m.get(&i),
        }
    }

    pub(super) fn insert(&mut self, i: u64, v: V) {
        match self {
            // A run never holds index u64::MAX: its end, `first` plus its
            // length, is then always a u64.
            Space::Run { .. } if i == u64::MAX => {
                self.make_map().insert(i, v);
            }
            Space::Run { first, vals } => {
                if vals.is_empty() {
                    *first = i;
                    vals.push(v);
                    return;
                }
                let end = *first + vals.len() as u64;
                if i == end {
                    vals.push(v);
                } else if i >= *first && i < end {
                    vals[(i - *first) as usize] = v;
                } else {
                    self.make_map().insert(i, v);
                }
            }
            Space::Map(m) => {
                m.insert(i, v);
            }
        }
    }

    /// Makes this a map (a gap appeared) and returns it.
    #[cold]
    fn make_map(&mut self) -> &mut BTreeMap<u64, V> {
        if let Space::Run { first, vals } = self {
            let first = *first;
            let m = std::mem::take(vals)
                .into_iter()
                .enumerate()
                .map(|(k, v)| (first + k as u64, v))
                .collect();
            *self = Space::Map(m);
        }
        match self {
            Space::Map(m) => m,
            Space::Run { .. } => unreachable!("just made a map"),
        }
    }

    /// Removes every index from `a` to `b` (inclusive).
    pub(super) fn remove_range(&mut self, a: u64, b: u64) {
        match self {
            Space::Run { first, vals } => {
                let Some(last) = (*first + vals.len() as u64).checked_sub(1) else {
                    return;
                };
                let (lo, hi) = (a.max(*first), b.min(last));
                if vals.is_empty() || lo > hi {
                    // Nothing of the range is here.
                } else if hi == last {
                    vals.truncate((lo - *first) as usize);
                } else if lo == *first {
                    vals.drain(..=(hi - *first) as usize);
                    *first = hi + 1;
                } else {
                    remove_range(self.make_map(), lo, hi);
                }
            }
            Space::Map(m) => remove_range(m, a, b),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Space::Run { vals, .. } => vals.len(),
            Space::Map(m) => m.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn iter(&self) -> SpaceIter<'_, V> {
        match self {
            Space::Run { first, vals } => SpaceIter::Run(*first, vals.iter()),
            Space::Map(m) => SpaceIter::Map(m.iter()),
        }
    }
}

pub(super) enum SpaceIter<'a, V> {
    Run(u64, std::slice::Iter<'a, V>),
    Map(std::collections::btree_map::Iter<'a, u64, V>),
}

impl<'a, V> Iterator for SpaceIter<'a, V> {
    type Item = (u64, &'a V);
    fn next(&mut self) -> Option<(u64, &'a V)> {
        match self {
            SpaceIter::Run(i, it) => {
                let v = it.next()?;
                *i += 1;
                Some((*i - 1, v))
            }
            SpaceIter::Map(it) => it.next().map(|(i, v)| (*i, v)),
        }
    }
}

/// Removes every index from `a` to `b` (inclusive) from `m`. A range that
/// reaches either end of the map is split off whole instead of removed
/// entry by entry (each removal rebalances the tree).
fn remove_range<V>(m: &mut BTreeMap<u64, V>, a: u64, b: u64) {
    let (Some((&first, _)), Some((&last, _))) = (m.first_key_value(), m.last_key_value()) else {
        return;
    };
    if a <= first && b >= last {
        m.clear();
    } else if a <= first {
        // b < last: the indexes after b stay.
        let rest = m.split_off(&(b + 1));
        *m = rest;
    } else if b >= last {
        // a > first: the indexes before a stay.
        drop(m.split_off(&a));
    } else {
        for i in a..=b {
            m.remove(&i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A space answers as a map of its indexes would, whatever writes and
    /// removals it meets (runs that grow, are cut at either end or in the
    /// middle, and gaps that make it a map).
    #[test]
    fn a_space_holds_what_a_map_would() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut maps = 0;
        for _ in 0..200 {
            let mut space: Space<u64> = Space::default();
            let mut map: BTreeMap<u64, u64> = BTreeMap::new();
            let mut next = rng.gen_range(0..5u64);
            // Half the spaces only ever append and cut their ends, as a log.
            let anywhere = rng.gen_bool(0.5);
            for step in 0..60u64 {
                match rng.gen_range(0..10) {
                    // Mostly appends, as a log writes.
                    0..=5 => {
                        space.insert(next, step);
                        map.insert(next, step);
                        next += 1;
                    }
                    6 if anywhere => {
                        let i = rng.gen_range(0..next + 3);
                        space.insert(i, step);
                        map.insert(i, step);
                    }
                    6 => {}
                    7 if anywhere => {
                        // The last index there is, which a run never holds.
                        let i = u64::MAX - rng.gen_range(0..2);
                        space.insert(i, step);
                        map.insert(i, step);
                    }
                    _ if anywhere => {
                        let a = rng.gen_range(0..next + 2);
                        let b = if rng.gen_bool(0.1) {
                            u64::MAX
                        } else {
                            a + rng.gen_range(0..6)
                        };
                        space.remove_range(a, b);
                        map.retain(|i, _| *i < a || *i > b);
                    }
                    _ => {
                        // A truncated tail or a compacted prefix.
                        let (lo, hi) = (map.keys().next().copied(), map.keys().last().copied());
                        let (a, b) = match (lo, hi, rng.gen_bool(0.5)) {
                            (Some(lo), Some(hi), true) => (rng.gen_range(lo..=hi), hi + 1),
                            (Some(lo), Some(hi), false) => (0, rng.gen_range(lo..=hi)),
                            _ => continue,
                        };
                        space.remove_range(a, b);
                        map.retain(|i, _| *i < a || *i > b);
                    }
                }
                let listed: Vec<(u64, u64)> = space.iter().map(|(i, v)| (i, *v)).collect();
                let want: Vec<(u64, u64)> = map.iter().map(|(i, v)| (*i, *v)).collect();
                assert_eq!(listed, want);
                assert_eq!(space.len(), map.len());
                for i in (0..next + 3).chain([u64::MAX - 1, u64::MAX]) {
                    assert_eq!(space.get(i), map.get(&i), "index {i}");
                }
            }
            maps += usize::from(matches!(space, Space::Map(_)));
        }
        assert!(maps > 0 && maps < 200, "both shapes were met: {maps} maps");
    }
}
