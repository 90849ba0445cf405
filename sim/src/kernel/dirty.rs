//! Parts of a run that note when they change, so that a run the explorer
//! made a copy of can be made that copy again by copying back only what
//! changed since (see [`Sim::restore_into`]).
//!
//! A part is read through `Deref` and changed only through `DerefMut` (or,
//! for the per-node tables, `IndexMut`), which marks it: no
//! change can go unmarked, as nothing else gives a `&mut` to what it holds.
//! A mark may be set by a `&mut` that changed nothing; that costs a copy,
//! never a wrong state. (A part's `Cell` caches, such as a node's kept
//! hash, change through `&`: they are caches of what the part holds, the
//! same in the copy and the original.)
//!
//! [`Sim::restore_into`]: super::Sim::restore_into

use std::ops::{Deref, DerefMut, Index, IndexMut};

/// One part of a run, with a mark set by every `&mut` access.
#[derive(Default)]
pub(super) struct Tracked<T> {
    value: T,
    dirty: bool,
}

impl<T> Tracked<T> {
    pub(super) fn new(value: T) -> Self {
        Tracked {
            value,
            dirty: false,
        }
    }

    /// Makes this `src` again with `copy` when `full` or when it changed
    /// since it last was; clears the mark.
    pub(super) fn sync(&mut self, src: &Self, full: bool, copy: impl FnOnce(&mut T, &T)) {
        if full || self.dirty {
            copy(&mut self.value, &src.value);
        }
        self.dirty = false;
    }

    /// Makes it `value`, unmarked (a copy made elsewhere).
    pub(super) fn set(&mut self, value: T) {
        self.value = value;
        self.dirty = false;
    }

    pub(super) fn into_inner(self) -> T {
        self.value
    }

    /// Whether it was changed since it was last copied.
    pub(super) fn is_dirty(&self) -> bool {
        self.dirty
    }
}

/// A copy is unmarked: it is what it was copied from.
impl<T: Clone> Clone for Tracked<T> {
    fn clone(&self) -> Self {
        Tracked::new(self.value.clone())
    }
}

impl<T> Deref for Tracked<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Tracked<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.dirty = true;
        &mut self.value
    }
}

/// A table with one entry per node (the nodes, their slots), each with its
/// own mark: a step changes one node or two of them.
pub(super) struct PerNode<T> {
    items: Vec<T>,
    dirty: Vec<bool>,
}

impl<T> PerNode<T> {
    pub(super) fn new(items: Vec<T>) -> Self {
        let dirty = vec![false; items.len()];
        PerNode { items, dirty }
    }

    /// Marks in both tables every entry marked in either: a node and its
    /// slot are copied together (the slot keeps the node's hash, which
    /// the node's copy would leave stale).
    pub(super) fn mark_with<U>(&mut self, other: &mut PerNode<U>) {
        for (a, b) in self.dirty.iter_mut().zip(&mut other.dirty) {
            let both = *a || *b;
            *a = both;
            *b = both;
        }
    }

    /// Makes this `src` again: every entry with `copy` when `full` (or the
    /// tables differ in length), else only the marked ones; clears the
    /// marks.
    pub(super) fn sync(&mut self, src: &Self, full: bool, mut copy: impl FnMut(&mut T, &T))
    where
        T: Clone,
    {
        if full || self.items.len() != src.items.len() {
            self.items.truncate(src.items.len());
            for (d, s) in self.items.iter_mut().zip(&src.items) {
                copy(d, s);
            }
            let have = self.items.len();
            self.items.extend(src.items[have..].iter().cloned());
            self.dirty.clear();
            self.dirty.resize(self.items.len(), false);
            return;
        }
        for ((d, s), dirty) in self.items.iter_mut().zip(&src.items).zip(&mut self.dirty) {
            if *dirty {
                copy(d, s);
                *dirty = false;
            }
        }
    }
}

impl<T: Clone> Clone for PerNode<T> {
    fn clone(&self) -> Self {
        PerNode::new(self.items.clone())
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
    fn index_mut(&mut self, i: usize) -> &mut T {
        self.dirty[i] = true;
        &mut self.items[i]
    }
}
