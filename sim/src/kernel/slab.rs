//! The queue's slab: the queued events themselves, by slot (the heap in
//! `queue` holds only their keys), each with a number naming what it holds,
//! so that a copy of a run copies only the slots in which it differs (see
//! [`Slab::copy_from`]).

use std::cell::Cell;

use super::dirty::fresh;
use super::Ev;

/// Events waiting in the queue, by slot; freed slots are reused.
///
/// A slot's event never changes while it is queued: it is put in by
/// [`Slab::insert`] and taken out by [`Slab::take`], the only ways to
/// change a slot (the fields are private; everything else reads). Each
/// insert gives the slot a new number (from the process-wide counter of
/// `dirty`'s versions, so no two events ever get one number), each take
/// sets it to 0, and a copy of the slab keeps the numbers. Two slots with
/// one number thus hold the same event (two empty slots both hold 0),
/// whichever runs they are in: a copy skips them. The numbers decide only
/// what is copied, never what a run does or what a hash is.
#[derive(Clone)]
pub(super) struct Slab<M> {
    /// By slot: its event, with its number and its kept hash (one table,
    /// not three: a copy walks them together).
    slots: Vec<Held<M>>,
    free: Vec<u32>,
}

/// One slot of the slab.
#[derive(Clone)]
struct Held<M> {
    ev: Option<Ev<M>>,
    /// The number of the event it holds (0: none).
    id: u64,
    /// The hash of what its event shows, for `Sim::state_hash` (an event
    /// waits through many states, and is shown once).
    shown: Cell<Option<u64>>,
}

impl<M> Slab<M> {
    pub(super) fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    #[inline]
    pub(super) fn insert(&mut self, ev: Ev<M>) -> u32 {
        match self.free.pop() {
            Some(i) => {
                // Filled in place: a free slot holds no event, so there is
                // nothing to drop (an assignment of the whole slot would
                // test for one, and copy the slot twice).
                let held = &mut self.slots[i as usize];
                let old = held.ev.replace(ev);
                debug_assert!(old.is_none(), "a free slot holds no event");
                std::mem::forget(old);
                held.id = fresh();
                held.shown.set(None);
                i
            }
            None => {
                self.slots.push(Held {
                    ev: Some(ev),
                    id: fresh(),
                    shown: Cell::new(None),
                });
                (self.slots.len() - 1) as u32
            }
        }
    }

    #[inline]
    pub(super) fn take(&mut self, i: u32) -> Ev<M> {
        self.free.push(i);
        let held = &mut self.slots[i as usize];
        held.id = 0;
        held.ev.take().expect("a queued slot holds its event")
    }

    /// What slot `i` holds.
    #[inline]
    pub(super) fn slot(&self, i: u32) -> &Option<Ev<M>> {
        &self.slots[i as usize].ev
    }

    /// The hash kept for what slot `i` shows (see `Sim::state_hash`).
    #[inline]
    pub(super) fn shown(&self, i: u32) -> &Cell<Option<u64>> {
        &self.slots[i as usize].shown
    }

    /// The free slots, in the order they will be reused.
    pub(super) fn free(&self) -> &[u32] {
        &self.free
    }

    /// Makes this a copy of `src`, reusing its memory, and copying only the
    /// events of the slots whose numbers differ (see [`Slab`]): a copy over
    /// a sibling's run copies only the slots its step took or filled.
    pub(super) fn copy_from(&mut self, src: &Self)
    where
        M: Clone,
    {
        // Every field, by name: one added later fails to compile here.
        let Slab { slots, free } = src;
        self.slots.truncate(slots.len());
        let have = self.slots.len();
        for (d, s) in self.slots.iter_mut().zip(slots) {
            if d.id != s.id {
                d.ev.clone_from(&s.ev);
                d.id = s.id;
                d.shown.set(s.shown.get());
            } else if d.shown.get().is_none() {
                // One event: either kept hash is its hash.
                d.shown.set(s.shown.get());
            }
        }
        self.slots.extend(slots[have..].iter().cloned());
        self.free.clone_from(free);
        debug_assert!(self.slots.iter().all(|h| (h.id == 0) == h.ev.is_none()));
    }
}
