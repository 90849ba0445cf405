//! The event queue: keys ordered by (time, sequence) in a heap, the events
//! themselves in a slab.

use std::cmp::Ordering;

use super::{Ev, Msg, Sim};
use crate::protocol::Protocol;
use crate::time::Nanos;

/// A queue key: the heap holds only these small keys, ordered by (time, seq);
/// the events themselves wait in a slab so that sifting never moves a message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) time: Nanos,
    pub(super) seq: u64,
    pub(super) slot: u32,
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    // BinaryHeap is a max-heap: the earliest (time, seq) must compare greatest.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

/// Events waiting in the queue, by slot; freed slots are reused.
pub(super) struct Slab<M> {
    pub(super) items: Vec<Option<Ev<M>>>,
    pub(super) free: Vec<u32>,
}

impl<M> Slab<M> {
    pub(super) fn insert(&mut self, ev: Ev<M>) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = Some(ev);
                i
            }
            None => {
                self.items.push(Some(ev));
                (self.items.len() - 1) as u32
            }
        }
    }

    pub(super) fn take(&mut self, i: u32) -> Ev<M> {
        self.free.push(i);
        self.items[i as usize]
            .take()
            .expect("a queued slot holds its event")
    }
}

impl<'s, P: Protocol> Sim<'s, P> {
    pub(super) fn push(&mut self, time: Nanos, ev: Ev<Msg<P>>) {
        self.seq += 1;
        let slot = self.slab.insert(ev);
        self.queue.push(Entry {
            time,
            seq: self.seq,
            slot,
        });
    }
}
