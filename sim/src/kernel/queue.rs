//! The event queue: keys ordered by (time, sequence) in a heap, the events
//! themselves in a slab.

use super::{Ev, Msg, Sim};
use crate::protocol::Protocol;
use crate::time::Nanos;

/// A queue key: the heap holds only these small keys, ordered by (time, seq);
/// the events themselves wait in a slab so that sifting never moves a message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Entry {
    pub(super) time: Nanos,
    pub(super) seq: u64,
    pub(super) slot: u32,
}

impl Entry {
    /// Whether this entry comes before `o`: earlier, or at the same instant
    /// and scheduled first. Sequence numbers are unique, so no two entries tie
    /// and any correct heap pops them in one and the same order.
    #[inline]
    fn before(&self, o: &Entry) -> bool {
        (self.time, self.seq) < (o.time, o.seq)
    }
}

/// How many children a heap node has: four halves the depth of a binary
/// heap, and the four sit side by side in memory.
const ARITY: usize = 4;

/// The event queue's keys in a 4-ary min-heap, earliest (time, seq) first.
/// A run spends much of its time here (a queue of thousands of entries, most
/// of them timers that were cancelled or set again, which still fire as no-ops),
/// so it is shallower than `std`'s binary heap.
#[derive(Default)]
pub(super) struct Queue {
    heap: Vec<Entry>,
}

impl Queue {
    #[inline]
    pub(super) fn peek(&self) -> Option<&Entry> {
        self.heap.first()
    }

    pub(super) fn push(&mut self, e: Entry) {
        let mut i = self.heap.len();
        self.heap.push(e);
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if !e.before(&self.heap[parent]) {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = e;
    }

    pub(super) fn pop(&mut self) -> Option<Entry> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last);
        }
        let top = self.heap[0];
        // The hole at the root goes down along the earliest children to a
        // leaf, and `last` (which came from the bottom, so belongs low) goes
        // up from there: fewer comparisons than stopping on the way down.
        let n = self.heap.len();
        let mut hole = 0;
        loop {
            let first = hole * ARITY + 1;
            if first >= n {
                break;
            }
            let mut best = first;
            for c in first + 1..(first + ARITY).min(n) {
                if self.heap[c].before(&self.heap[best]) {
                    best = c;
                }
            }
            self.heap[hole] = self.heap[best];
            hole = best;
        }
        while hole > 0 {
            let parent = (hole - 1) / ARITY;
            if !last.before(&self.heap[parent]) {
                break;
            }
            self.heap[hole] = self.heap[parent];
            hole = parent;
        }
        self.heap[hole] = last;
        Some(top)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_pops_by_time_then_sequence_whatever_the_push_order() {
        // A small deterministic shuffle of (time, seq) keys, times repeating.
        let mut keys: Vec<(Nanos, u64)> = (0..2000u64).map(|s| ((s * 7919) % 37, s)).collect();
        let mut x = 12345u64;
        for i in (1..keys.len()).rev() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            keys.swap(i, (x >> 33) as usize % (i + 1));
        }
        let mut q = Queue::default();
        let mut popped = Vec::new();
        for (k, &(time, seq)) in keys.iter().enumerate() {
            q.push(Entry {
                time,
                seq,
                slot: k as u32,
            });
            // Interleave pops with pushes, as a run does.
            if k % 3 == 0 {
                popped.push(q.pop().expect("just pushed"));
            }
        }
        while let Some(e) = q.pop() {
            popped.push(e);
        }
        assert_eq!(popped.len(), keys.len());
        assert!(q.peek().is_none());
        // Every pop is the earliest of what the queue held then: checked
        // against a sorted model of the same pushes and pops.
        let mut model: Vec<(Nanos, u64)> = Vec::new();
        let mut it = popped.iter();
        for (k, &key) in keys.iter().enumerate() {
            model.push(key);
            if k % 3 == 0 {
                model.sort_unstable();
                let want = model.remove(0);
                let got = it.next().expect("popped");
                assert_eq!((got.time, got.seq), want);
            }
        }
        model.sort_unstable();
        for want in model {
            let got = it.next().expect("popped");
            assert_eq!((got.time, got.seq), want);
        }
    }
}
