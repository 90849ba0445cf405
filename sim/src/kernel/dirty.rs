//! Parts of a run that note when they change, so that a run can be made a
//! copy of another by copying only the parts in which the two may differ
//! (see [`Sim::fork_into`]).
//!
//! A part is read through `Deref` and changed only through `DerefMut` (or,
//! for the per-node tables, `IndexMut`), which marks it: no change can go
//! unmarked, as nothing else gives a `&mut` to what it holds. A mark may
//! be set by a `&mut` that changed nothing; that costs a copy, never a
//! wrong state. (A part's `Cell` caches, such as a node's kept hash,
//! change through `&`: they are caches of what the part holds, the same in
//! the copy and the original.)
//!
//! Each part also has a version: a number given to what it holds when it
//! was made or sealed ([`Tracked::seal`]), and carried by every copy of it
//! made while it was unmarked. No two contents get the same number (the
//! numbers come from one counter for the whole process), so two unmarked
//! parts with the same version hold the same value, whichever runs they
//! are in: a copy between them is skipped. A marked part may hold anything,
//! so it is always copied, and a copy of it gets a new number. This is
//! what lets a run be made a copy of a sibling's run (two runs copied from
//! one parent, each with one choice taken since) by copying only what the
//! two choices changed: the explorer's scratch run, going from one state's
//! children to the next state's (see `explore::bfs`). The versions decide
//! only what is copied and which kept hash of a part is used again
//! ([`PerNode::kept_hash`]), never what a run does or what a hash is.
//!
//! [`Sim::fork_into`]: super::Sim::fork_into

use std::cell::Cell;
use std::ops::{Deref, DerefMut, Index, IndexMut};
use std::sync::atomic::{AtomicU64, Ordering};

/// The next version: unique in the process, never 0. Each thread takes a
/// block of numbers from one counter for the whole process and gives them
/// out in turn: no two threads share a number, and runs on parallel
/// threads (a sweep's) do not contend for the counter at every queued
/// event. Only equality of numbers means anything: their order, and which
/// thread took which block, change nothing a run does.
pub(super) fn fresh() -> u64 {
    const BLOCK: u64 = 1 << 16;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        /// The next number of this thread's block, and the block's end.
        static MINE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    MINE.with(|mine| {
        let (mut next, mut end) = mine.get();
        if next == end {
            next = NEXT.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        mine.set((next + 1, end));
        next
    })
}

/// One part of a run, with a mark set by every `&mut` access.
pub(super) struct Tracked<T> {
    value: T,
    dirty: bool,
    version: u64,
}

impl<T: Default> Default for Tracked<T> {
    fn default() -> Self {
        Tracked::new(T::default())
    }
}

impl<T> Tracked<T> {
    pub(super) fn new(value: T) -> Self {
        Tracked {
            value,
            dirty: false,
            version: fresh(),
        }
    }

    /// The version a copy of this part gets: its own while unmarked, a new
    /// one while marked (its value is then not the one its version names).
    #[inline]
    fn copied_version(&self) -> u64 {
        if self.dirty {
            fresh()
        } else {
            self.version
        }
    }

    /// Whether this part may differ from `src`: either is marked, or their
    /// versions differ.
    #[inline]
    pub(super) fn differs(&self, src: &Self) -> bool {
        self.dirty || src.dirty || self.version != src.version
    }

    /// Makes this `src` again with `copy` when the two may differ; clears
    /// the mark.
    pub(super) fn sync(&mut self, src: &Self, copy: impl FnOnce(&mut T, &T)) {
        if self.differs(src) {
            copy(&mut self.value, &src.value);
            self.version = src.copied_version();
        }
        self.dirty = false;
    }

    /// Makes it `value`, a copy of `src` made elsewhere, unmarked.
    pub(super) fn set_copy(&mut self, value: T, src: &Self) {
        self.value = value;
        self.version = src.copied_version();
        self.dirty = false;
    }

    /// Gives a marked part a new version and clears its mark: what it holds
    /// is then named by its version, and copies of it (and copies of those)
    /// are known equal to it while unchanged.
    pub(super) fn seal(&mut self) {
        if self.dirty {
            self.version = fresh();
            self.dirty = false;
        }
    }

    /// Whether this part is known to hold what `other` holds: both
    /// unmarked, with one version.
    pub(super) fn same_version(&self, other: &Self) -> bool {
        !self.differs(other)
    }

    /// A `&mut` that does not mark the part: only for a change undone
    /// before the part is next read, copied, sealed or hashed (the check's
    /// scratch, empty before every check and emptied, through a marking
    /// `&mut`, after one that filled it).
    pub(super) fn unmarked_mut(&mut self) -> &mut T {
        &mut self.value
    }

    pub(super) fn into_inner(self) -> T {
        self.value
    }
}

/// A copy is unmarked: it is what it was copied from.
impl<T: Clone> Clone for Tracked<T> {
    fn clone(&self) -> Self {
        Tracked {
            value: self.value.clone(),
            dirty: false,
            version: self.copied_version(),
        }
    }
}

impl<T> Deref for Tracked<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Tracked<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.dirty = true;
        &mut self.value
    }
}

/// A table with one entry per node (the nodes, their slots), each with its
/// own mark and version: a step changes one node or two of them.
pub(super) struct PerNode<T> {
    items: Vec<T>,
    dirty: Vec<bool>,
    versions: Vec<u64>,
    /// By entry: a hash of it (see [`PerNode::kept_hash`]) with the version
    /// it was taken at (0, which no content gets: none).
    kept: Vec<Cell<(u64, u64)>>,
}

impl<T> PerNode<T> {
    pub(super) fn new(items: Vec<T>) -> Self {
        let dirty = vec![false; items.len()];
        let versions = items.iter().map(|_| fresh()).collect();
        let kept = items.iter().map(|_| Cell::new((0, 0))).collect();
        PerNode {
            items,
            dirty,
            versions,
            kept,
        }
    }

    /// `hash` of entry `i`, kept with the entry's version while it is
    /// unmarked: an unmarked entry of one version holds one value (see the
    /// module's doc), so its hash is taken once per version, not once per
    /// state (a step changes one node or two). A marked entry's hash is
    /// taken afresh each time and not kept. `hash` must depend on the
    /// entry's value alone, and be the same function at every call on one
    /// table (the pairs are kept by version, not by function). In a debug
    /// build a kept hash is taken again and compared, so every test that
    /// explores checks the cache against the value.
    #[inline]
    pub(super) fn kept_hash(&self, i: usize, hash: impl FnOnce(&T) -> u64) -> u64 {
        if self.dirty[i] {
            return hash(&self.items[i]);
        }
        let (version, h) = self.kept[i].get();
        if version == self.versions[i] {
            debug_assert_eq!(
                h,
                hash(&self.items[i]),
                "entry {i}: the hash kept for version {version} is not its value's"
            );
            return h;
        }
        let h = hash(&self.items[i]);
        self.kept[i].set((self.versions[i], h));
        h
    }

    #[inline]
    fn copied_version(&self, i: usize) -> u64 {
        if self.dirty[i] {
            fresh()
        } else {
            self.versions[i]
        }
    }

    /// Marks in both tables every entry that may differ from its source's
    /// in either: a node and its slot are copied together (the slot keeps
    /// the node's hash, which the node's copy would leave stale).
    pub(super) fn mark_with<U>(
        &mut self,
        src: &Self,
        other: &mut PerNode<U>,
        other_src: &PerNode<U>,
    ) {
        if self.items.len() != src.items.len() || other.items.len() != other_src.items.len() {
            // Copied whole (see `sync`).
            return;
        }
        // By iterators, not indices: this runs at every copy, and the
        // bounds checks of eight tables were much of its cost.
        let mine =
            (self.dirty.iter_mut().zip(&self.versions)).zip(src.dirty.iter().zip(&src.versions));
        let theirs = (other.dirty.iter_mut().zip(&other.versions))
            .zip(other_src.dirty.iter().zip(&other_src.versions));
        for (((d, v), (sd, sv)), ((od, ov), (osd, osv))) in mine.zip(theirs) {
            if *d || *sd || v != sv || *od || *osd || ov != osv {
                *d = true;
                *od = true;
            }
        }
    }

    /// Makes this `src` again: every entry with `copy` when the tables
    /// differ in length, else only those that may differ; clears the marks.
    pub(super) fn sync(&mut self, src: &Self, mut copy: impl FnMut(&mut T, &T))
    where
        T: Clone,
    {
        if self.items.len() != src.items.len() {
            self.items.truncate(src.items.len());
            for (d, s) in self.items.iter_mut().zip(&src.items) {
                copy(d, s);
            }
            let have = self.items.len();
            self.items.extend(src.items[have..].iter().cloned());
            self.versions = (0..src.items.len())
                .map(|i| src.copied_version(i))
                .collect();
            self.dirty.clear();
            self.dirty.resize(self.items.len(), false);
            self.kept.clone_from(&src.kept);
            return;
        }
        // By iterators, as `mark_with`: entry by entry, whether the entries may
        // differ (either marked, or of two versions), and the copy's version.
        let dst = (self.items.iter_mut().zip(&mut self.dirty))
            .zip(self.versions.iter_mut().zip(&self.kept));
        let from = (src.items.iter().zip(&src.dirty)).zip(src.versions.iter().zip(&src.kept));
        for (((d, dirty), (version, kept)), ((s, src_dirty), (src_version, src_kept))) in
            dst.zip(from)
        {
            if *dirty || *src_dirty || *version != *src_version {
                copy(d, s);
                *version = if *src_dirty { fresh() } else { *src_version };
                *dirty = false;
                // Kept by version, so either hash is right for the copy
                // when it was taken at the copy's version: the source's if
                // it was, else this table's own (taken at this version
                // before a step marked the entry; it is then found again
                // when the entry is copied back).
                if src_kept.get().0 == *version {
                    kept.set(src_kept.get());
                }
            }
        }
    }

    /// Gives every marked entry a new version and clears its mark (see
    /// [`Tracked::seal`]).
    pub(super) fn seal(&mut self) {
        for (d, v) in self.dirty.iter_mut().zip(&mut self.versions) {
            if *d {
                *v = fresh();
                *d = false;
            }
        }
    }
}

impl<T: Clone> Clone for PerNode<T> {
    fn clone(&self) -> Self {
        PerNode {
            items: self.items.clone(),
            dirty: vec![false; self.items.len()],
            versions: (0..self.items.len())
                .map(|i| self.copied_version(i))
                .collect(),
            kept: self.kept.clone(),
        }
    }
}

impl<T> Deref for PerNode<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> Index<usize> for PerNode<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.items[i]
    }
}

impl<T> IndexMut<usize> for PerNode<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        self.dirty[i] = true;
        &mut self.items[i]
    }
}

#[cfg(test)]
mod tests {
    use super::fresh;

    /// Threads taking numbers at once, each past the end of a block, get
    /// numbers no other thread gets, and never 0.
    #[test]
    fn versions_are_unique_across_threads() {
        let taken: Vec<Vec<u64>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..3)
                .map(|_| scope.spawn(|| (0..100_000).map(|_| fresh()).collect::<Vec<u64>>()))
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("a thread"))
                .collect()
        });
        let mut all: Vec<u64> = taken.concat();
        assert!(all.iter().all(|&v| v != 0));
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n, "a number was given twice");
    }
}
