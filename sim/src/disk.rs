//! A node's disk: values by key, pending until synced, lost on a crash
//! unless synced (see [`Disk`]).

use std::any::Any;
use std::fmt;

mod space;
mod store;

use store::{Dyn, Store, Typed};

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

/// The bit of namespace `k` in `Disk::dirty` (every bit past the 64th).
#[inline]
fn dirty_bit(k: usize) -> u64 {
    1u64.checked_shl(k as u32).unwrap_or(u64::MAX)
}

/// A node's disk. Writes are pending until [`Disk::sync`]; a crash loses every
/// pending write. With the `fsync-loss` fault, `sync` lies: it returns and
/// persists nothing, as a disk with a volatile write cache does.
///
/// Each namespace keeps its values as the type they were written with
/// (`store`): a log of a million entries is a vector of entries, not of
/// boxes. A namespace given a value of a second type boxes every value it
/// holds, and reads as before; one that holds nothing takes the type of
/// the next value written.
#[derive(Default)]
pub struct Disk {
    /// By namespace, in the namespaces' order.
    spaces: Vec<(Ns, Box<dyn Store>)>,
    /// Bit `k`: namespace `k` may have pending writes (one past the 64th
    /// always may): a sync passes over the others (a Raft server writes
    /// its log at nearly every sync, its term and vote seldom).
    dirty: u64,
    pub(crate) fsync_lies: bool,
    writes: u64,
    syncs: u64,
}

impl Clone for Disk {
    fn clone(&self) -> Self {
        Disk {
            spaces: self.spaces.clone(),
            dirty: self.dirty,
            fsync_lies: self.fsync_lies,
            writes: self.writes,
            syncs: self.syncs,
        }
    }

    /// Reuses every namespace's memory when both disks hold the same
    /// namespaces (the explorer copies every disk at every choice it
    /// makes, and nearly every disk of a small exploration is empty). Every
    /// field, by name: one added later fails to compile here.
    fn clone_from(&mut self, src: &Self) {
        let Disk {
            spaces,
            dirty,
            fsync_lies,
            writes,
            syncs,
        } = src;
        let same = self.spaces.len() == spaces.len()
            && self
                .spaces
                .iter()
                .zip(spaces)
                .all(|((a, _), (b, _))| a == b);
        if same {
            for ((_, d), (_, s)) in self.spaces.iter_mut().zip(spaces) {
                d.clone_from(s);
            }
        } else {
            self.spaces.clone_from(spaces);
        }
        self.dirty = *dirty;
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
                &self
                    .spaces
                    .iter()
                    .map(|(_, s)| s.durable_len())
                    .sum::<usize>(),
            )
            .field(
                "pending_keys",
                &self
                    .spaces
                    .iter()
                    .map(|(_, s)| s.pending_keys())
                    .sum::<usize>(),
            )
            .field("fsync_lies", &self.fsync_lies)
            .finish()
    }
}

impl Disk {
    /// Where namespace `ns` is in `spaces`, or where it would go. A node
    /// names a namespace with one literal, so the very string is looked
    /// for first, without reading any text.
    #[inline]
    fn find(&self, ns: Ns) -> Result<usize, usize> {
        match self
            .spaces
            .iter()
            .position(|(n, _)| n.0.as_ptr() == ns.0.as_ptr() && n.0.len() == ns.0.len())
        {
            Some(k) => Ok(k),
            None => self.spaces.binary_search_by(|(n, _)| n.cmp(&ns)),
        }
    }

    fn store(&self, ns: &'static str) -> Option<&dyn Store> {
        let k = self.find(Ns(ns)).ok()?;
        Some(&*self.spaces[k].1)
    }

    /// Writes a value; it is lost on a crash until the next `sync`.
    #[inline]
    pub fn put<T: Any + Send + Clone + fmt::Debug>(&mut self, key: DiskKey, value: T) {
        self.writes += 1;
        let k = match self.find(Ns(key.0)) {
            Ok(k) => k,
            Err(k) => {
                let fresh: Box<dyn Store> = Box::<Typed<T>>::default();
                self.spaces.insert(k, (Ns(key.0), fresh));
                // The namespaces after it moved up one.
                self.dirty = u64::MAX;
                k
            }
        };
        self.dirty |= dirty_bit(k);
        let store = &mut self.spaces[k].1;
        match store.as_any_mut().downcast_mut::<Typed<T>>() {
            Some(typed) => typed.put(key.1, value),
            None => Self::put_other(store, key.1, value),
        }
    }

    /// A write of a value of another type than the namespace holds.
    #[cold]
    fn put_other<T: Any + Send + Clone + fmt::Debug>(store: &mut Box<dyn Store>, i: u64, v: T) {
        if store.is_blank() {
            // Nothing is held: the namespace takes the new type.
            let mut typed = Typed::<T>::default();
            typed.put(i, v);
            *store = Box::new(typed);
            return;
        }
        if !store.as_any().is::<Typed<Dyn>>() {
            let empty: Box<dyn Store> = Box::new(Typed::<Dyn>::default());
            let typed = std::mem::replace(store, empty);
            *store = Box::new(typed.into_dyn());
        }
        store
            .as_any_mut()
            .downcast_mut::<Typed<Dyn>>()
            .expect("just made a boxed namespace")
            .put(i, Dyn(Box::new(v)));
    }

    /// Deletes a key; the delete too is lost on a crash until the next `sync`.
    pub fn delete(&mut self, key: DiskKey) {
        self.writes += 1;
        if let Ok(k) = self.find(Ns(key.0)) {
            self.dirty |= dirty_bit(k);
            self.spaces[k].1.delete(key.1);
        }
    }

    /// Reads the newest value, pending or durable. A value of another type than
    /// the one written reads as `None`.
    pub fn get<T: Any>(&self, key: DiskKey) -> Option<&T> {
        let any = self.store(key.0)?.as_any();
        if let Some(typed) = any.downcast_ref::<Typed<T>>() {
            return typed.get(key.1);
        }
        any.downcast_ref::<Typed<Dyn>>()?
            .get(key.1)
            // `*`: a `Box<dyn Stored>` is a `Stored` itself, and would
            // answer as the box.
            .and_then(|v| (*v.0).as_any().downcast_ref())
    }

    /// Every index stored in namespace `ns`, in order, newest values.
    pub fn indexes(&self, ns: &'static str) -> Vec<u64> {
        self.store(ns).map(Store::indexes).unwrap_or_default()
    }

    /// Makes every pending write durable (unless the disk lies about fsync).
    pub fn sync(&mut self) {
        self.syncs += 1;
        if self.fsync_lies {
            return;
        }
        for (k, (_, s)) in self.spaces.iter_mut().enumerate() {
            if self.dirty & dirty_bit(k) != 0 {
                s.sync();
            }
        }
        self.dirty = 0;
    }

    /// Writes and syncs so far (for the report).
    pub fn counters(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// Whether nothing is stored or pending (a state's hash marks such a
    /// disk instead of showing it).
    pub fn is_blank(&self) -> bool {
        self.spaces.iter().all(|(_, s)| s.is_blank())
    }

    /// Shows every value held, durable then pending (the newest write of
    /// each key), in key order: what a state's hash is made from (the
    /// counters are not part of the state).
    pub fn show_contents(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (ns, s) in &self.spaces {
            s.show_durable(ns.0, f)?;
        }
        for (ns, s) in &self.spaces {
            s.show_pending(ns.0, f)?;
        }
        write!(f, "L{}", self.fsync_lies)
    }

    /// What a crash does to the disk: pending writes vanish.
    pub(crate) fn crash(&mut self) {
        for (_, s) in &mut self.spaces {
            s.crash();
        }
    }

    /// How many pending writes are kept, all namespaces together.
    #[cfg(test)]
    fn pending_len(&self) -> usize {
        self.spaces.iter().map(|(_, s)| s.pending_len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a disk shows (`Disk::show_contents`), as a string.
    fn shown(d: &Disk) -> String {
        struct S<'a>(&'a Disk);
        impl fmt::Display for S<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.show_contents(f)
            }
        }
        S(d).to_string()
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
        // Each namespace folds at 64 writes.
        assert!(d.pending_len() <= 2 * 64, "folded: {}", d.pending_len());
        assert_eq!(d.get::<u64>(("term", 0)), Some(&999));
        assert_eq!(d.get::<u64>(("vote", 0)), Some(&1000));
        d.sync();
        d.crash();
        assert_eq!(d.get::<u64>(("term", 0)), Some(&999));
        assert!(d.pending_len() == 0);
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
        assert!(d.pending_len() < 100, "folded: {}", d.pending_len());
        assert_eq!(d.get::<u64>(("log", 3)), Some(&4903));
        assert_eq!(d.get::<u64>(("term", 0)), Some(&49));
        assert_eq!(d.indexes("log"), (0..10).collect::<Vec<_>>());
        d.crash();
        assert!(d.is_blank());
    }

    /// The disk answers as a plain model does (every write kept in order
    /// until a sync applies it, a crash drops it): reads of either type,
    /// indexes, blankness and what it shows, through random writes of two
    /// value types into shared namespaces, deletes, syncs, lying syncs,
    /// crashes and copies over other disks.
    #[test]
    fn a_disk_answers_as_a_model_of_ordered_writes_does() {
        use rand::{Rng, SeedableRng};
        use std::collections::BTreeMap;

        #[derive(Clone, Debug, PartialEq)]
        enum Val {
            N(u64),
            S(String),
        }
        /// What the model shows for a value: the value's own `Debug`.
        fn val_shown(v: &Val) -> String {
            match v {
                Val::N(n) => format!("{n:?}"),
                Val::S(s) => format!("{s:?}"),
            }
        }
        #[derive(Clone, Default)]
        struct Model {
            durable: BTreeMap<(&'static str, u64), Val>,
            pending: Vec<((&'static str, u64), Option<Val>)>,
            lies: bool,
        }
        impl Model {
            fn newest(&self, key: (&'static str, u64)) -> Option<Option<&Val>> {
                let w = self.pending.iter().rev().find(|w| w.0 == key)?;
                Some(w.1.as_ref())
            }
            fn get(&self, key: (&'static str, u64)) -> Option<&Val> {
                self.newest(key).unwrap_or_else(|| self.durable.get(&key))
            }
            fn show(&self) -> String {
                let mut out = String::new();
                for ((ns, i), v) in &self.durable {
                    out += &format!("D{ns}:{i}={}", val_shown(v));
                }
                let keys: std::collections::BTreeSet<_> =
                    self.pending.iter().map(|w| w.0).collect();
                for (ns, i) in keys {
                    let v = self.newest((ns, i)).expect("pending");
                    out += &format!("P{ns}:{i}={}", v.map_or("-".to_string(), val_shown));
                }
                out + &format!("L{}", self.lies)
            }
            fn indexes(&self, ns: &'static str) -> Vec<u64> {
                let mut all: Vec<u64> = self
                    .durable
                    .keys()
                    .chain(self.pending.iter().map(|w| &w.0))
                    .filter(|k| k.0 == ns)
                    .map(|k| k.1)
                    .collect();
                all.sort_unstable();
                all.dedup();
                all.retain(|i| self.get((ns, *i)).is_some());
                all
            }
        }
        // "log" twice, at two addresses: one namespace.
        let elsewhere: &'static str = Box::leak(String::from("log").into_boxed_str());
        let names: [&'static str; 4] = ["log", "term", "x", elsewhere];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut mixed, mut copies) = (0, 0);
        for _ in 0..300 {
            let (mut d, mut m) = (Disk::default(), Model::default());
            // Some disks keep one type in a namespace, some mix two.
            let mix = rng.gen_bool(0.5);
            let mut older: Option<(Disk, Model)> = None;
            for step in 0..80u64 {
                let ns = names[rng.gen_range(0..names.len())];
                let i = if rng.gen_bool(0.05) {
                    u64::MAX
                } else {
                    rng.gen_range(0..12u64)
                };
                match rng.gen_range(0..20) {
                    0..=8 => {
                        if mix && rng.gen_bool(0.3) {
                            d.put((ns, i), format!("s{step}"));
                            m.pending.push(((ns, i), Some(Val::S(format!("s{step}")))));
                        } else {
                            d.put((ns, i), step);
                            m.pending.push(((ns, i), Some(Val::N(step))));
                        }
                    }
                    9..=12 => {
                        d.delete((ns, i));
                        if m.durable.contains_key(&(ns, i)) {
                            m.pending.push(((ns, i), None));
                        } else {
                            m.pending.retain(|w| w.0 != (ns, i));
                        }
                    }
                    13..=15 => {
                        d.sync();
                        if !m.lies {
                            for (k, v) in m.pending.drain(..) {
                                match v {
                                    Some(v) => m.durable.insert(k, v),
                                    None => m.durable.remove(&k),
                                };
                            }
                        }
                    }
                    16 => {
                        d.crash();
                        m.pending.clear();
                    }
                    17 => {
                        d.fsync_lies = !d.fsync_lies;
                        m.lies = !m.lies;
                    }
                    18 => older = Some((d.clone(), m.clone())),
                    _ => {
                        // A copy made over another disk reuses its memory
                        // and is the disk it copied.
                        if let Some((mut o, om)) = older.take() {
                            o.clone_from(&d);
                            assert_eq!(shown(&o), shown(&d));
                            older = Some((d, m));
                            d = o;
                            m = older.as_ref().expect("just set").1.clone();
                            let _ = om;
                            copies += 1;
                        }
                    }
                }
                assert_eq!(shown(&d), m.show(), "step {step}");
                assert_eq!(d.is_blank(), m.durable.is_empty() && m.pending.is_empty());
                let pending_keys: std::collections::BTreeSet<_> =
                    m.pending.iter().map(|w| w.0).collect();
                assert_eq!(
                    format!("{d:?}"),
                    format!(
                        "Disk {{ durable_keys: {}, pending_keys: {}, fsync_lies: {} }}",
                        m.durable.len(),
                        pending_keys.len(),
                        m.lies
                    )
                );
                for ns in names {
                    assert_eq!(d.indexes(ns), m.indexes(ns), "{ns}, step {step}");
                    for i in (0..12).chain([u64::MAX]) {
                        let want = m.get((ns, i));
                        let n = want.and_then(|v| match v {
                            Val::N(n) => Some(*n),
                            Val::S(_) => None,
                        });
                        let s = want.and_then(|v| match v {
                            Val::S(s) => Some(s.clone()),
                            Val::N(_) => None,
                        });
                        assert_eq!(d.get::<u64>((ns, i)).copied(), n, "{ns}:{i}, step {step}");
                        assert_eq!(
                            d.get::<String>((ns, i)).cloned(),
                            s,
                            "{ns}:{i}, step {step}"
                        );
                        assert_eq!(d.get::<u8>((ns, i)), None);
                    }
                }
            }
            mixed += usize::from(d.spaces.iter().any(|(_, s)| s.as_any().is::<Typed<Dyn>>()));
        }
        assert!(mixed > 10, "namespaces boxed for mixed types: {mixed}");
        assert!(copies > 100, "copies over another disk: {copies}");
    }
}
