//! Timers set again before they fire, without a queue entry per setting.
//!
//! A Raft follower sets its election timer again at every heartbeat; each
//! setting used to queue a new entry and leave the old one stale (see
//! [`Stale`](super::queue::Stale)): half of a Raft run's queue entries were
//! such settings, each a push, a slot and later a pop or a compaction.
//!
//! Here a timer set again to a time no earlier than its queued entry's does
//! not queue a new entry. The entry already queued (the *carrier*) stays;
//! the new setting waits beside the timer, with the key (time, sequence)
//! it would have had. When the carrier pops, the setting still waiting is
//! queued with that very key. So every event pops at the place in the
//! (time, seq) order it would have had with an entry per setting, and no
//! run can tell the difference:
//!
//! - the carrier's pop stands for the stale entry a queue with an entry per
//!   setting would pop there (it counts against `[meta] max_events`, as
//!   that one did);
//! - a waiting setting overtaken by another (set again, or cancelled, or
//!   its node crashed) would have been a stale entry in the queue: it goes
//!   to the skipped entries (`Stale::skipped`) with its key, which count
//!   against `max_events` as the run passes them;
//! - a setting to a time earlier than the carrier's is queued at once (the
//!   carrier would pop too late to carry it), and the carrier is then an
//!   ordinary stale entry.
//!
//! A cancelled timer's entry, stale from the cancel, carries the timer's
//! next setting just the same: a client cancels its request timeout at
//! every answer and sets it again at its next request, so a single-server
//! run queued a timeout entry per request and compacted them out again by
//! the thousand. The entry stops carrying when it pops or is compacted out
//! of the queue (`Sim::left_queue`).
//!
//! A node whose timers are past the short list of `timers` (an open-loop
//! caller with one timeout per request) does not defer: each of its
//! settings is queued, as before, so that what waits is always found in a
//! list of a few. Its timers stay in the long form until none is set (see
//! `timers`), and it defers again only then.
//!
//! Only a run whose queue the kernel pops in order defers: not an explored
//! run (the explorer reads and reorders the queue), nor one driven from
//! outside ([`Sim::take_scheduled`]), nor one near `max_events` (the
//! skipped entries go back into the queue for good: `Stale::exact`). When a
//! run stops deferring, every waiting setting is queued with its key.

use super::{Ev, Sim};
use crate::node::TimerId;
use crate::protocol::Protocol;
use crate::time::Nanos;

/// At most this many deferrals per node: each set, cancel and stale pop
/// searches them (a node that sets and cancels timers of many ids, one per
/// request, keeps a record for each cancelled one until its entry pops).
const MAX_DEFERRALS: usize = 16;

/// A timer's queued entry, and the setting that waits for it to pop. The
/// entry is the timer's live one, or the stale one of a setting since
/// cancelled (until it pops or the queue is compacted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Deferral {
    pub(super) timer: TimerId,
    /// The generation of the timer's queued entry.
    carrier: u64,
    /// The time of that entry: a setting that waits for it is never due
    /// before it. (An entry held by a pause is queued again at the resume,
    /// later than this; a setting made after the resume is due no earlier
    /// than the resume, so still after that entry.)
    at: Nanos,
    /// The setting that waits: its (time, seq) and generation.
    waiting: Option<(Nanos, u64, u64)>,
}

impl<'s, P: Protocol> Sim<'s, P> {
    /// Whether timers set again wait for their queued entry (see the module).
    #[inline]
    fn defers(&self) -> bool {
        !self.stale.exact && self.x.is_none()
    }

    /// Sets timer `id` of node `i` to fire `after` from now.
    pub(super) fn set_timer(&mut self, i: u32, id: TimerId, after: Nanos) {
        self.next_timer_gen += 1;
        let gen = self.next_timer_gen;
        let time = self.now.saturating_add(after);
        let ev = Ev::Timer {
            node: i,
            timer: id,
            gen,
        };
        let slot = &mut self.slots[i as usize];
        let was_set = slot.timers.insert(id, gen).is_some();
        if slot.timers.is_long() && !slot.deferred.is_empty() {
            // Past the short list: this node's settings stop waiting.
            self.queue_deferred_of(i as usize);
        }
        if !self.defers() || self.slots[i as usize].timers.is_long() {
            // A set moves the timer: the entry queued for its old
            // generation goes stale.
            if was_set {
                self.stale.queued += 1;
            }
            self.push(time, ev);
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let slot = &mut self.slots[i as usize];
        let k = slot.deferred.iter().position(|d| d.timer == id);
        if let Some(k) = k {
            // The timer's entry is queued: live if the timer is set, stale
            // if it was cancelled since.
            let d = &mut slot.deferred[k];
            // The setting it replaces, if it waited, would have been a stale
            // entry in the queue: it is counted as one.
            if let Some(waiting) = d.waiting.take() {
                self.overtaken(i, id, waiting);
            }
            let d = &mut self.slots[i as usize].deferred[k];
            if d.at <= time {
                // The carrier pops first (at this time, by its smaller seq).
                d.waiting = Some((time, seq, gen));
                self.stale.deferrals += 1;
                if !was_set {
                    // A cancelled timer's entry, stale since, carries again.
                    self.stale.queued = self.stale.queued.saturating_sub(1);
                    self.stale.revivals += 1;
                }
                return;
            }
            // Due before the carrier: queued now; the carrier is stale (it
            // was counted so at the cancel if the timer was not set).
            *d = Deferral {
                timer: id,
                carrier: gen,
                at: time,
                waiting: None,
            };
            if was_set {
                self.stale.queued += 1;
            }
        } else {
            // No entry of this timer's is queued to carry it (or none that
            // is known: set while the node had many timers, or before the
            // run stopped deferring; the entry of the old generation is
            // stale): queued now, and it carries what follows, while the
            // node's deferrals are few.
            if was_set {
                self.stale.queued += 1;
            }
            let slot = &mut self.slots[i as usize];
            if slot.deferred.len() < MAX_DEFERRALS {
                slot.deferred.push(Deferral {
                    timer: id,
                    carrier: gen,
                    at: time,
                    waiting: None,
                });
            }
        }
        self.push_keyed(time, seq, ev);
    }

    /// Cancels timer `id` of node `i`. Its queued entry, stale now, may
    /// still carry the timer's next setting (a client cancels its request
    /// timeout at every answer and sets it again at its next request).
    pub(super) fn cancel_timer(&mut self, i: u32, id: TimerId) {
        let slot = &mut self.slots[i as usize];
        if slot.timers.remove(&id).is_none() {
            return;
        }
        self.stale.queued += 1;
        if let Some(d) = slot.deferred.iter_mut().find(|d| d.timer == id) {
            if let Some(waiting) = d.waiting.take() {
                self.overtaken(i, id, waiting);
            }
        }
    }

    /// A timer entry of node `i` whose generation is no longer the timer's
    /// popped: if it carries a waiting setting, that setting is queued with
    /// its key. True if it did (the entry was a carrier, not counted stale).
    pub(super) fn carried(&mut self, i: u32, timer: TimerId, gen: u64) -> bool {
        let Some(k) = self.carrier_at(i, timer, gen) else {
            return false;
        };
        let d = &mut self.slots[i as usize].deferred[k];
        let Some((time, seq, gen)) = d.waiting.take() else {
            // A cancelled timer's entry that nothing waited for: stale.
            self.slots[i as usize].deferred.swap_remove(k);
            return false;
        };
        d.carrier = gen;
        d.at = time;
        self.push_keyed(
            time,
            seq,
            Ev::Timer {
                node: i,
                timer,
                gen,
            },
        );
        true
    }

    /// Whether a queued timer entry still matters: its timer's generation,
    /// or a carrier of a waiting setting.
    pub(super) fn timer_entry_live(&self, i: u32, timer: TimerId, gen: u64) -> bool {
        let slot = &self.slots[i as usize];
        slot.timers.get(&timer) == Some(&gen)
            || slot
                .deferred
                .iter()
                .any(|d| d.timer == timer && d.carrier == gen && d.waiting.is_some())
    }

    /// A stale entry of timer `timer` of node `i` (generation `gen`) left
    /// the queue (see `Sim::compact`): it carries nothing any more. (Only
    /// an entry nothing waits for is taken out: see `timer_entry_live`.)
    pub(super) fn left_queue(&mut self, i: u32, timer: TimerId, gen: u64) {
        if let Some(k) = self.carrier_at(i, timer, gen) {
            self.slots[i as usize].deferred.swap_remove(k);
        }
    }

    /// Where among node `i`'s deferrals the one whose carrier is timer
    /// `timer`'s entry of generation `gen` is, if that entry carries.
    fn carrier_at(&self, i: u32, timer: TimerId, gen: u64) -> Option<usize> {
        self.slots[i as usize]
            .deferred
            .iter()
            .position(|d| d.timer == timer && d.carrier == gen)
    }

    /// Timer `timer` of node `i` fired (its entry popped, live): it carries
    /// nothing any more.
    pub(super) fn fired(&mut self, i: u32, timer: TimerId) {
        let slot = &mut self.slots[i as usize];
        if let Some(k) = slot.deferred.iter().position(|d| d.timer == timer) {
            slot.deferred.swap_remove(k);
        }
    }

    /// Node `i` crashed: its timers are gone, and what waited would have
    /// been stale entries in the queue.
    pub(super) fn forget_deferred(&mut self, i: u32) {
        for d in std::mem::take(&mut self.slots[i as usize].deferred) {
            if let Some(waiting) = d.waiting {
                self.overtaken(i, d.timer, waiting);
            }
        }
    }

    /// A waiting setting `(time, seq, gen)` of timer `timer` of node `i`
    /// was overtaken (set again, cancelled, crashed): with an entry per
    /// setting it would be a stale entry in the queue, so it is counted as
    /// one, among the skipped entries.
    fn overtaken(&mut self, i: u32, timer: TimerId, (time, seq, gen): (Nanos, u64, u64)) {
        self.stale.skipped.push(super::queue::Skipped {
            time,
            seq,
            node: i,
            timer,
            gen,
        });
        self.prune_skipped();
    }

    /// Queues every waiting setting with its key: from here each setting
    /// has its own entry, as if none had waited.
    pub(super) fn queue_deferred(&mut self) {
        for i in 0..self.slots.len() {
            if !self.slots[i].deferred.is_empty() {
                self.queue_deferred_of(i);
            }
        }
    }

    /// Queues every waiting setting of node `i` with its key, and forgets
    /// its deferrals (the entries they waited for are stale ones now).
    fn queue_deferred_of(&mut self, i: usize) {
        let deferred = std::mem::take(&mut self.slots[i].deferred);
        for d in deferred {
            if let Some((time, seq, gen)) = d.waiting {
                self.push_keyed(
                    time,
                    seq,
                    Ev::Timer {
                        node: i as u32,
                        timer: d.timer,
                        gen,
                    },
                );
                self.stale.queued += 1;
            }
        }
    }
}
