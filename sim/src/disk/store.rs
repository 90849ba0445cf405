//! One namespace of a disk: its values, all of one type, durable by index,
//! and the writes not synced yet (see [`Typed`]).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

use super::space::Space;
use super::Stored;

/// A value of any type, boxed: what a namespace written with values of
/// more than one type holds ([`Typed<Dyn>`]). Private, so no node can
/// write one itself.
#[derive(Clone)]
pub(super) struct Dyn(pub(super) Box<dyn Stored>);

impl fmt::Debug for Dyn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (*self.0).show(f)
    }
}

/// One namespace's values, each a `V` held as it is (not boxed: a log of
/// Raft entries is a vector of entries, a write a push, with no allocation
/// of its own).
pub(super) struct Typed<V> {
    durable: Space<V>,
    /// The writes since the last sync, oldest first: a write is a push, a
    /// sync applies them in order, a read takes the newest for its index.
    /// An index written and then deleted before it was ever synced leaves
    /// no entry (there is nothing on the platter to delete).
    pending: Vec<(u64, Option<V>)>,
    /// The length of `pending` at which a write first folds it to one entry
    /// per index: a disk that is never synced (a node that does not, or a
    /// lying disk, whose writes are never synced away) keeps as many
    /// pending writes as indexes, not as writes.
    fold_at: usize,
}

impl<V> Default for Typed<V> {
    fn default() -> Self {
        Typed {
            durable: Space::default(),
            pending: Vec::new(),
            fold_at: 0,
        }
    }
}

impl<V: Clone> Clone for Typed<V> {
    fn clone(&self) -> Self {
        Typed {
            durable: self.durable.clone(),
            pending: self.pending.clone(),
            fold_at: self.fold_at,
        }
    }

    /// Every field, by name: one added later fails to compile here.
    fn clone_from(&mut self, src: &Self) {
        let Typed {
            durable,
            pending,
            fold_at,
        } = src;
        self.durable.clone_from(durable);
        self.pending.clone_from(pending);
        self.fold_at = *fold_at;
    }
}

impl<V> Typed<V> {
    /// Writes `v` at `i`, pending until the next sync.
    #[inline]
    pub(super) fn put(&mut self, i: u64, v: V) {
        self.fold_if_long();
        self.pending.push((i, Some(v)));
    }

    /// The newest value at `i`, pending or durable.
    pub(super) fn get(&self, i: u64) -> Option<&V> {
        match self.pending.iter().rev().find(|w| w.0 == i) {
            Some((_, v)) => v.as_ref(),
            None => self.durable.get(i),
        }
    }

    /// Where in `pending` the newest write of each index is, in index order.
    fn newest_pending_at(&self) -> Vec<usize> {
        let p = &self.pending;
        let mut at: Vec<usize> = (0..p.len()).collect();
        // By index, and the newest write of an index first.
        at.sort_unstable_by(|&a, &b| p[a].0.cmp(&p[b].0).then(b.cmp(&a)));
        at.dedup_by(|later, first| p[*later].0 == p[*first].0);
        at
    }

    /// Writes not synced for long (a node that never syncs, or a lying
    /// disk, whose writes stay pending for good): once they have doubled
    /// since the last fold, keeps only the newest write of each index (what
    /// every read, a crash and a later honest sync see is unchanged), so
    /// that they stay about as many as the indexes written.
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

    /// Moves every value to a box, for a namespace that is about to hold a
    /// value of another type too. Pending writes keep their order.
    fn boxed(self) -> Typed<Dyn>
    where
        V: Stored,
    {
        let dyn_of = |v: V| Dyn(Box::new(v));
        let durable = match self.durable {
            Space::Run { first, vals } => Space::Run {
                first,
                vals: vals.into_iter().map(dyn_of).collect(),
            },
            Space::Map(m) => Space::Map(m.into_iter().map(|(i, v)| (i, dyn_of(v))).collect()),
        };
        Typed {
            durable,
            pending: self
                .pending
                .into_iter()
                .map(|(i, v)| (i, v.map(dyn_of)))
                .collect(),
            fold_at: self.fold_at,
        }
    }
}

/// A namespace of any value type, as the disk keeps it: what a disk does
/// without knowing the type (sync, crash, delete, show). Reads and writes
/// find the type by downcasting ([`Store::as_any`]).
pub(super) trait Store: Send {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn clone_box(&self) -> Box<dyn Store>;
    /// Makes `dst` a copy of this, reusing its memory if it is of this type.
    fn clone_to(&self, dst: &mut Box<dyn Store>);
    /// This namespace with every value boxed (itself if it is already).
    fn into_dyn(self: Box<Self>) -> Typed<Dyn>;
    fn delete(&mut self, i: u64);
    fn sync(&mut self);
    /// Pending writes vanish.
    fn crash(&mut self);
    /// Every index with a value, newest values, in order.
    fn indexes(&self) -> Vec<u64>;
    /// Nothing durable, nothing pending.
    fn is_blank(&self) -> bool;
    fn durable_len(&self) -> usize;
    /// How many indexes have a pending write.
    fn pending_keys(&self) -> usize;
    /// How many pending writes are kept (for the tests).
    #[cfg(test)]
    fn pending_len(&self) -> usize;
    /// Shows every durable value, `D{ns}:{index}={value}`, in index order.
    fn show_durable(&self, ns: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// Shows the newest pending write of each index, `P{ns}:{index}=` and
    /// the value or `-` for a delete, in index order.
    fn show_pending(&self, ns: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl Clone for Box<dyn Store> {
    fn clone(&self) -> Self {
        (**self).clone_box()
    }

    fn clone_from(&mut self, src: &Self) {
        (**src).clone_to(self)
    }
}

impl<V: Stored + Clone + fmt::Debug> Store for Typed<V> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn clone_box(&self) -> Box<dyn Store> {
        Box::new(self.clone())
    }

    fn clone_to(&self, dst: &mut Box<dyn Store>) {
        match dst.as_any_mut().downcast_mut::<Typed<V>>() {
            Some(d) => d.clone_from(self),
            None => *dst = self.clone_box(),
        }
    }

    fn into_dyn(self: Box<Self>) -> Typed<Dyn> {
        let any: Box<dyn Any> = self;
        match any.downcast::<Typed<Dyn>>() {
            Ok(already) => *already,
            Err(any) => any
                .downcast::<Typed<V>>()
                .map(|t| t.boxed())
                .unwrap_or_else(|_| unreachable!("a store is its own type")),
        }
    }

    fn delete(&mut self, i: u64) {
        if self.durable.get(i).is_some() {
            self.fold_if_long();
            self.pending.push((i, None));
        } else {
            // Never synced: nothing on the platter to delete.
            self.pending.retain(|w| w.0 != i);
        }
    }

    /// In the order written; deletes of consecutive indexes are removed as
    /// one range (a log truncated after a checkpoint deletes thousands at
    /// once).
    fn sync(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut run: Option<(u64, u64)> = None;
        let durable = &mut self.durable;
        let flush = |durable: &mut Space<V>, run: &mut Option<(u64, u64)>| {
            if let Some((a, b)) = run.take() {
                durable.remove_range(a, b);
            }
        };
        for (i, v) in self.pending.drain(..) {
            match v {
                Some(v) => {
                    flush(durable, &mut run);
                    durable.insert(i, v);
                }
                None => match &mut run {
                    Some((_, last)) if last.checked_add(1) == Some(i) => *last = i,
                    _ => {
                        flush(durable, &mut run);
                        run = Some((i, i));
                    }
                },
            }
        }
        flush(durable, &mut run);
    }

    fn crash(&mut self) {
        self.pending.clear();
    }

    fn indexes(&self) -> Vec<u64> {
        let pending: BTreeMap<u64, bool> = self
            .newest_pending_at()
            .into_iter()
            .map(|at| (self.pending[at].0, self.pending[at].1.is_some()))
            .collect();
        let mut out: Vec<u64> = self
            .durable
            .iter()
            .map(|(i, _)| i)
            .filter(|i| pending.get(i) != Some(&false))
            .collect();
        out.extend(
            pending
                .iter()
                .filter(|(i, live)| **live && self.durable.get(**i).is_none())
                .map(|(i, _)| *i),
        );
        out.sort_unstable();
        out
    }

    fn is_blank(&self) -> bool {
        self.durable.is_empty() && self.pending.is_empty()
    }

    fn durable_len(&self) -> usize {
        self.durable.len()
    }

    fn pending_keys(&self) -> usize {
        self.newest_pending_at().len()
    }

    #[cfg(test)]
    fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn show_durable(&self, ns: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.durable.iter() {
            write!(f, "D{ns}:{i}=")?;
            fmt::Debug::fmt(v, f)?;
        }
        Ok(())
    }

    fn show_pending(&self, ns: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for at in self.newest_pending_at() {
            let (i, v) = &self.pending[at];
            write!(f, "P{ns}:{i}=")?;
            match v {
                Some(v) => fmt::Debug::fmt(v, f)?,
                None => f.write_str("-")?,
            }
        }
        Ok(())
    }
}
