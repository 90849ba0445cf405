//! A node's disk: values by key, pending until synced, lost on a crash
//! unless synced (see [`Disk`]).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

/// A storage key: a namespace and an index, so a log can be kept one entry per
/// key (`("log", 7)`) and single values under index 0 (`("term", 0)`).
pub type DiskKey = (&'static str, u64);

/// A namespace as the disk's maps order it: exactly as its text orders,
/// but the very string of the other (a node writes its log under one
/// `"log"` literal) is equal without reading its bytes.
#[derive(Clone, Copy, Debug)]
struct Ns(&'static str);

impl Ord for Ns {
    #[inline]
    fn cmp(&self, other: &Ns) -> std::cmp::Ordering {
        let (a, b) = (self.0, other.0);
        if a.as_ptr() == b.as_ptr() && a.len() == b.len() {
            std::cmp::Ordering::Equal
        } else {
            a.cmp(b)
        }
    }
}

impl PartialOrd for Ns {
    #[inline]
    fn partial_cmp(&self, other: &Ns) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ns {
    #[inline]
    fn eq(&self, other: &Ns) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Ns {}

/// Values by namespace, then by index: the order of the [`DiskKey`] tuples.
/// A long log is one space of integer keys, not a map whose every key
/// compares the namespace first (that comparison was most of the cost of a
/// write and a sync).
type Spaces<V> = BTreeMap<Ns, Space<V>>;

/// The values of one namespace, by index. A log is written at 1, 2, 3 ...
/// and cut at either end (a truncated tail, a compacted prefix): while its
/// indexes run without a gap it is one vector from its first index (a
/// write at the end is a push, a sync's look-up an offset, and dropping it
/// walks memory in order); the first gap makes it a map, for good.
#[derive(Clone, Debug)]
enum Space<V> {
    /// Indexes `first`, `first + 1`, ... `first + vals.len() - 1`.
    Run {
        first: u64,
        vals: Vec<V>,
    },
    Map(BTreeMap<u64, V>),
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
    fn get(&self, i: u64) -> Option<&V> {
        match self {
            Space::Run { first, vals } => vals.get(usize::try_from(i.checked_sub(*first)?).ok()?),
            Space::Map(m) => m.get(&i),
        }
    }

    fn insert(&mut self, i: u64, v: V) {
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
    fn remove_range(&mut self, a: u64, b: u64) {
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

    fn len(&self) -> usize {
        match self {
            Space::Run { vals, .. } => vals.len(),
            Space::Map(m) => m.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn iter(&self) -> SpaceIter<'_, V> {
        match self {
            Space::Run { first, vals } => SpaceIter::Run(*first, vals.iter()),
            Space::Map(m) => SpaceIter::Map(m.iter()),
        }
    }
}

enum SpaceIter<'a, V> {
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

/// What a disk holds: any value that can be copied (the explorer forks a
/// run, disks and all) and shown (a state's hash is made from what it shows).
pub trait Stored: Any + Send {
    fn clone_box(&self) -> Box<dyn Stored>;
    fn as_any(&self) -> &dyn Any;
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: Any + Send + Clone + fmt::Debug> Stored for T {
    fn clone_box(&self) -> Box<dyn Stored> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Clone for Box<dyn Stored> {
    fn clone(&self) -> Self {
        (**self).clone_box()
    }
}

impl fmt::Debug for dyn Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.show(f)
    }
}

/// One write not synced yet: its namespace, its index, and the value
/// (`None`: a delete).
type Pending = (Ns, u64, Option<Box<dyn Stored>>);

/// A node's disk. Writes are pending until [`Disk::sync`]; a crash loses every
/// pending write. With the `fsync-loss` fault, `sync` lies: it returns and
/// persists nothing, as a disk with a volatile write cache does.
#[derive(Default)]
pub struct Disk {
    durable: Spaces<Box<dyn Stored>>,
    /// The writes since the last sync, oldest first: a write is a push, a
    /// sync applies them in order, a read takes the newest for its key. A
    /// key written and then deleted before it was ever synced leaves no
    /// entry (there is nothing on the platter to delete).
    pending: Vec<Pending>,
    /// The length of `pending` at which a write first folds it to one entry
    /// per key: a disk that is never synced (a node that does not, or a
    /// lying disk, whose writes are never synced away) keeps as many
    /// pending writes as keys, not as writes.
    fold_at: usize,
    pub(crate) fsync_lies: bool,
    writes: u64,
    syncs: u64,
}

impl Clone for Disk {
    fn clone(&self) -> Self {
        Disk {
            durable: self.durable.clone(),
            pending: self.pending.clone(),
            fold_at: self.fold_at,
            fsync_lies: self.fsync_lies,
            writes: self.writes,
            syncs: self.syncs,
        }
    }

    /// Leaves an empty map as it is when the source's is empty too (the
    /// explorer copies every disk at every choice it makes, and nearly
    /// every disk of a small exploration is empty). Every field, by name:
    /// one added later fails to compile here.
    fn clone_from(&mut self, src: &Self) {
        let Disk {
            durable,
            pending,
            fold_at,
            fsync_lies,
            writes,
            syncs,
        } = src;
        crate::kernel::copy_map(&mut self.durable, durable);
        self.pending.clone_from(pending);
        self.fold_at = *fold_at;
        self.fsync_lies = *fsync_lies;
        self.writes = *writes;
        self.syncs = *syncs;
    }
}

impl fmt::Debug for Disk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Disk")
            .field(
                "durable_keys",
                &self.durable.values().map(Space::len).sum::<usize>(),
            )
            .field("pending_keys", &self.newest_pending_at().len())
            .field("fsync_lies", &self.fsync_lies)
            .finish()
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

/// Whether a pending write is to `key`.
#[inline]
fn is_key(w: &Pending, ns: Ns, i: u64) -> bool {
    w.1 == i && w.0 == ns
}

impl Disk {
    /// Writes a value; it is lost on a crash until the next `sync`.
    pub fn put<T: Any + Send + Clone + fmt::Debug>(&mut self, key: DiskKey, value: T) {
        self.writes += 1;
        self.fold_if_long();
        self.pending.push((Ns(key.0), key.1, Some(Box::new(value))));
    }

    /// Deletes a key; the delete too is lost on a crash until the next `sync`.
    pub fn delete(&mut self, key: DiskKey) {
        self.writes += 1;
        if self.durable_value(key).is_some() {
            self.fold_if_long();
            self.pending.push((Ns(key.0), key.1, None));
        } else {
            // Never synced: nothing on the platter to delete.
            let ns = Ns(key.0);
            self.pending.retain(|w| !is_key(w, ns, key.1));
        }
    }

    fn durable_value(&self, key: DiskKey) -> Option<&dyn Stored> {
        self.durable
            .get(&Ns(key.0))
            .and_then(|m| m.get(key.1))
            .map(|v| &**v)
    }

    /// The newest pending write to `key`, if any.
    fn pending_value(&self, key: DiskKey) -> Option<&Option<Box<dyn Stored>>> {
        let ns = Ns(key.0);
        self.pending
            .iter()
            .rev()
            .find(|w| is_key(w, ns, key.1))
            .map(|w| &w.2)
    }

    /// Where in `pending` the newest write of each key is, in key order.
    fn newest_pending_at(&self) -> Vec<usize> {
        let p = &self.pending;
        let mut at: Vec<usize> = (0..p.len()).collect();
        // By key, and the newest write of a key first.
        at.sort_unstable_by(|&a, &b| (p[a].0, p[a].1).cmp(&(p[b].0, p[b].1)).then(b.cmp(&a)));
        at.dedup_by(|later, first| is_key(&p[*later], p[*first].0, p[*first].1));
        at
    }

    /// The newest pending write of each key, in key order.
    fn newest_pending(&self) -> impl Iterator<Item = &Pending> {
        self.newest_pending_at()
            .into_iter()
            .map(|i| &self.pending[i])
    }

    /// Reads the newest value, pending or durable. A value of another type than
    /// the one written reads as `None`.
    pub fn get<T: Any>(&self, key: DiskKey) -> Option<&T> {
        match self.pending_value(key) {
            Some(Some(v)) => (**v).as_any().downcast_ref(),
            Some(None) => None,
            None => self
                .durable_value(key)
                .and_then(|v| v.as_any().downcast_ref()),
        }
    }

    /// Every index stored in namespace `ns`, in order, newest values.
    pub fn indexes(&self, ns: &'static str) -> Vec<u64> {
        let pending: BTreeMap<u64, bool> = self
            .newest_pending()
            .filter(|w| w.0 == Ns(ns))
            .map(|w| (w.1, w.2.is_some()))
            .collect();
        let mut out: Vec<u64> = self
            .durable
            .get(&Ns(ns))
            .into_iter()
            .flat_map(Space::iter)
            .filter(|(i, _)| pending.get(i) != Some(&false))
            .map(|(i, _)| i)
            .collect();
        out.extend(
            pending
                .iter()
                .filter(|(i, live)| **live && self.durable_value((ns, **i)).is_none())
                .map(|(i, _)| *i),
        );
        out.sort_unstable();
        out
    }

    /// Makes every pending write durable (unless the disk lies about fsync).
    pub fn sync(&mut self) {
        self.syncs += 1;
        if self.fsync_lies {
            return;
        }
        // In the order written; deletes of consecutive indexes in one
        // namespace are removed as one range (a log truncated after a
        // checkpoint deletes thousands at once).
        let mut run: Option<(Ns, u64, u64)> = None;
        let durable = &mut self.durable;
        let flush = |durable: &mut Spaces<Box<dyn Stored>>, run: &mut Option<(Ns, u64, u64)>| {
            if let Some((ns, a, b)) = run.take() {
                if let Some(m) = durable.get_mut(&ns) {
                    m.remove_range(a, b);
                }
            }
        };
        for (ns, i, v) in self.pending.drain(..) {
            match v {
                Some(v) => {
                    flush(durable, &mut run);
                    durable.entry(ns).or_default().insert(i, v);
                }
                None => match &mut run {
                    Some((rns, _, last)) if *rns == ns && last.checked_add(1) == Some(i) => {
                        *last = i
                    }
                    _ => {
                        flush(durable, &mut run);
                        run = Some((ns, i, i));
                    }
                },
            }
        }
        flush(durable, &mut run);
    }

    /// Writes not synced for long (a node that never syncs, or a lying
    /// disk, whose writes stay pending for good): once they have doubled
    /// since the last fold, keeps only the newest write of each key (what
    /// every read, a crash and a later honest sync see is unchanged), so
    /// that they stay about as many as the keys written.
    #[inline]
    fn fold_if_long(&mut self) {
        if self.pending.len() >= self.fold_at.max(64) {
            self.fold();
        }
    }

    #[cold]
    fn fold(&mut self) {
        let mut keep = vec![false; self.pending.len()];
        for at in self.newest_pending_at() {
            keep[at] = true;
        }
        let mut k = 0;
        self.pending.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        self.fold_at = 2 * self.pending.len();
    }

    /// Writes and syncs so far (for the report).
    pub fn counters(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// Whether nothing is stored or pending (a state's hash marks such a
    /// disk instead of showing it).
    pub fn is_blank(&self) -> bool {
        self.durable.values().all(Space::is_empty) && self.pending.is_empty()
    }

    /// Shows every value held, durable then pending (the newest write of
    /// each key), in key order: what a state's hash is made from (the
    /// counters are not part of the state).
    pub fn show_contents(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (ns, m) in &self.durable {
            for (i, v) in m.iter() {
                write!(f, "D{}:{i}=", ns.0)?;
                v.show(f)?;
            }
        }
        for (ns, i, v) in self.newest_pending() {
            write!(f, "P{}:{i}=", ns.0)?;
            match v {
                Some(v) => v.show(f)?,
                None => f.write_str("-")?,
            }
        }
        write!(f, "L{}", self.fsync_lies)
    }

    /// What a crash does to the disk: pending writes vanish.
    pub(crate) fn crash(&mut self) {
        self.pending.clear();
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

    /// The last index there is works as any other: written, read, synced,
    /// deleted, beside index 0 (a run of deletes ending at it once
    /// overflowed).
    #[test]
    fn the_last_index_is_an_index_like_any_other() {
        let mut d = Disk::default();
        d.put(("x", u64::MAX), 1u64);
        d.put(("x", 0), 2u64);
        d.put(("x", u64::MAX - 1), 3u64);
        d.sync();
        assert_eq!(d.get::<u64>(("x", u64::MAX)), Some(&1));
        assert_eq!(d.get::<u64>(("x", 0)), Some(&2));
        d.delete(("x", u64::MAX - 1));
        d.delete(("x", u64::MAX));
        d.delete(("x", 0));
        d.sync();
        for i in [0, u64::MAX - 1, u64::MAX] {
            assert_eq!(d.get::<u64>(("x", i)), None, "index {i}");
        }
    }

    #[test]
    fn a_crash_loses_unsynced_writes_only() {
        let mut d = Disk::default();
        d.put(("term", 0), 3u64);
        d.sync();
        d.put(("term", 0), 4u64);
        d.put(("log", 1), "x".to_string());
        assert_eq!(d.get::<u64>(("term", 0)), Some(&4));
        d.crash();
        assert_eq!(d.get::<u64>(("term", 0)), Some(&3));
        assert_eq!(d.get::<String>(("log", 1)), None);
    }

    #[test]
    fn a_lying_fsync_persists_nothing() {
        let mut d = Disk {
            fsync_lies: true,
            ..Default::default()
        };
        d.put(("vote", 0), 2u32);
        d.sync();
        d.crash();
        assert_eq!(d.get::<u32>(("vote", 0)), None);
    }

    #[test]
    fn a_namespace_is_its_text_wherever_the_string_lives() {
        // Namespaces compare by address first: the same text elsewhere in
        // memory must still be the same namespace.
        let elsewhere: &'static str = Box::leak(String::from("log").into_boxed_str());
        let mut d = Disk::default();
        d.put(("log", 1), 7u8);
        d.sync();
        d.put((elsewhere, 2), 8u8);
        assert_eq!(d.get::<u8>((elsewhere, 1)), Some(&7));
        assert_eq!(d.get::<u8>(("log", 2)), Some(&8));
        assert_eq!(d.indexes(elsewhere), vec![1, 2]);
    }

    /// What a sync of many writes leaves: the same as writing and syncing
    /// them one at a time, whatever mix of writes and deletes (runs at the
    /// start, the end and the middle of the log, and gaps).
    #[test]
    fn a_sync_of_many_writes_leaves_what_syncing_each_would() {
        let shown = |d: &Disk| {
            struct S<'a>(&'a Disk);
            impl fmt::Display for S<'_> {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    self.0.show_contents(f)
                }
            }
            S(d).to_string()
        };
        let rounds: &[&[(u64, bool)]] = &[
            // Truncate a prefix, keep the rest, append more.
            &[(1, false), (2, false), (3, false), (11, true), (12, true)],
            // Truncate a suffix and a middle run, with a gap in the run.
            &[(4, false), (5, false), (7, false), (9, false), (10, false)],
            // Delete everything left, then write over.
            &[(6, false), (8, false), (11, false), (12, false), (20, true)],
            &[(20, false), (21, true), (22, true), (23, true)],
            &[(22, false)],
            // Delete all that is left (the last run empties the map).
            &[(21, false), (23, false)],
        ];
        let mut batched = Disk::default();
        let mut single = Disk::default();
        for i in 1..=10u64 {
            batched.put(("log", i), i);
            single.put(("log", i), i);
        }
        batched.put(("term", 0), 1u64);
        single.put(("term", 0), 1u64);
        batched.sync();
        single.sync();
        for round in rounds {
            for &(i, write) in *round {
                if write {
                    batched.put(("log", i), i * 100);
                } else {
                    batched.delete(("log", i));
                }
            }
            batched.sync();
            for &(i, write) in *round {
                if write {
                    single.put(("log", i), i * 100);
                } else {
                    single.delete(("log", i));
                }
                single.sync();
            }
            assert_eq!(shown(&batched), shown(&single));
            assert_eq!(batched.indexes("log"), single.indexes("log"));
            assert_eq!(batched.is_blank(), single.is_blank());
        }
        assert_eq!(batched.indexes("log"), Vec::<u64>::new());
        assert_eq!(batched.get::<u64>(("log", 23)), None);
        assert_eq!(batched.get::<u64>(("term", 0)), Some(&1));
    }

    #[test]
    fn indexes_merge_pending_and_durable_and_honour_deletes() {
        let mut d = Disk::default();
        d.put(("log", 1), 1u8);
        d.put(("log", 2), 2u8);
        d.sync();
        d.put(("log", 3), 3u8);
        d.delete(("log", 2));
        assert_eq!(d.indexes("log"), vec![1, 3]);
    }

    /// Writes and deletes of one key within one sync land in the order made.
    #[test]
    fn writes_to_one_key_between_syncs_land_in_order() {
        let mut d = Disk::default();
        d.put(("log", 1), 1u8);
        d.put(("log", 2), 2u8);
        d.sync();
        d.delete(("log", 1));
        d.put(("log", 1), 10u8);
        d.put(("log", 2), 20u8);
        d.delete(("log", 2));
        d.put(("log", 3), 3u8);
        d.delete(("log", 3));
        assert_eq!(d.get::<u8>(("log", 1)), Some(&10));
        assert_eq!(d.get::<u8>(("log", 2)), None);
        assert_eq!(d.indexes("log"), vec![1]);
        d.sync();
        d.crash();
        assert_eq!(d.get::<u8>(("log", 1)), Some(&10));
        assert_eq!(d.get::<u8>(("log", 2)), None);
        assert_eq!(d.get::<u8>(("log", 3)), None);
        assert_eq!(d.indexes("log"), vec![1]);
    }

    /// A disk never synced keeps as many pending writes as keys, however
    /// often they are overwritten, and reads the newest of each.
    #[test]
    fn a_disk_never_synced_folds_its_pending_writes_invisibly() {
        let mut d = Disk::default();
        for round in 0..1000u64 {
            d.put(("term", 0), round);
            d.put(("vote", 0), round + 1);
        }
        assert!(d.pending.len() <= 64, "folded: {}", d.pending.len());
        assert_eq!(d.get::<u64>(("term", 0)), Some(&999));
        assert_eq!(d.get::<u64>(("vote", 0)), Some(&1000));
        d.sync();
        d.crash();
        assert_eq!(d.get::<u64>(("term", 0)), Some(&999));
        assert!(d.pending.is_empty());
    }

    /// A lying disk keeps its writes pending for good, folded to one per
    /// key: reads, what it shows and a crash are as if nothing were folded.
    #[test]
    fn a_lying_disk_folds_its_pending_writes_invisibly() {
        let mut d = Disk {
            fsync_lies: true,
            ..Default::default()
        };
        for round in 0..50u64 {
            for i in 0..10u64 {
                d.put(("log", i), round * 100 + i);
            }
            d.put(("term", 0), round);
            d.sync();
        }
        assert!(d.pending.len() < 100, "folded: {}", d.pending.len());
        assert_eq!(d.get::<u64>(("log", 3)), Some(&4903));
        assert_eq!(d.get::<u64>(("term", 0)), Some(&49));
        assert_eq!(d.indexes("log"), (0..10).collect::<Vec<_>>());
        d.crash();
        assert!(d.is_blank());
    }
}
