//! A state's hash, for `chaoslab explore` (see `explore`): two runs with
//! the same hash are taken for the same state.
//!
//! What the kernel owns (times, timers, clocks, budgets) goes in as
//! fixed-size bytes; what the protocol owns (its nodes, messages and
//! checker) goes in as the protocol feeds it ([`StateHash`]): by default
//! what its `Debug` shows, or, for a protocol that opts in, its `Hash`
//! (much faster: formatting was most of a hash's cost). The bytes are
//! hashed with XXH3, the same 64 bits on every machine.

use std::fmt::{self, Debug, Write as _};
use std::hash::Hasher;

use super::{Ev, Sim};
use crate::node::Node;
use crate::protocol::Protocol;
use crate::time::Nanos;

/// How a protocol's own parts go into a state's hash (`chaoslab explore`):
/// its nodes, its messages and its checker state. Two states whose parts
/// feed the same bytes are the same state, so a part must feed everything
/// that decides what the run can still do and what its checks will say,
/// and nothing else (no cache, no id that differs between runs reaching
/// the same state). The registry implements it for every declared
/// protocol (`sim::registry::Declared`), from the methods of `Spec`.
pub trait StateHash: Protocol {
    fn hash_node(node: &Self::Node, h: &mut StateHasher<'_>);
    fn hash_message(msg: &<Self::Node as Node>::Msg, h: &mut StateHasher<'_>);
    fn hash_checker(&self, h: &mut StateHasher<'_>);
}

/// What a state's part is fed into: a [`Hasher`] that collects bytes
/// (numbers little-endian and fixed-size, `usize` as 64 bits, so the bytes
/// are the same on every machine), hashed in one call when the part ends.
/// Feed it either `Hash` values (`value.hash(h)`, whose bytes tell values
/// apart: a string ends with a mark, a `Vec` starts with its length) or one
/// [`StateHasher::debug`], or separate parts with [`StateHasher::part`].
pub struct StateHasher<'b> {
    buf: &'b mut Vec<u8>,
}

impl Hasher for StateHasher<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    #[inline]
    fn write_u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn write_u128(&mut self, v: u128) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    #[inline]
    fn write_i8(&mut self, v: i8) {
        self.write_u8(v as u8);
    }
    #[inline]
    fn write_i16(&mut self, v: i16) {
        self.write_u16(v as u16);
    }
    #[inline]
    fn write_i32(&mut self, v: i32) {
        self.write_u32(v as u32);
    }
    #[inline]
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
    #[inline]
    fn write_i128(&mut self, v: i128) {
        self.write_u128(v as u128);
    }
    #[inline]
    fn write_isize(&mut self, v: isize) {
        self.write_u64(v as i64 as u64);
    }
    /// The hash of the whole buffer this part is fed into, the enclosing
    /// state's bytes included: a `Hash` impl should feed its fields, not
    /// call this (its value depends on what was fed before the part).
    fn finish(&self) -> u64 {
        hash_bytes(self.buf)
    }
}

impl StateHasher<'_> {
    /// Feeds what `value` shows (`Debug`): the way of every protocol that
    /// does not feed its parts itself.
    pub fn debug(&mut self, value: &dyn Debug) {
        let _ = write!(HashWriter(self.buf), "{value:?}");
    }

    /// Feeds what `f` feeds as one part: the hash of its bytes, so that it
    /// cannot run into what is fed after it.
    pub fn part(&mut self, f: impl FnOnce(&mut StateHasher<'_>)) {
        let h = part_hash(self.buf, f);
        self.write_u64(h);
    }
}

/// The hash of what `f` feeds, written after the end of `buf` and cut off
/// again.
fn part_hash(buf: &mut Vec<u8>, f: impl FnOnce(&mut StateHasher<'_>)) -> u64 {
    let start = buf.len();
    f(&mut StateHasher { buf });
    let h = hash_bytes(&buf[start..]);
    buf.truncate(start);
    h
}

/// A `fmt::Write` that collects what a state's parts show (`Debug`) into a
/// buffer, hashed in one call at the end: feeding a hasher each small piece
/// as it is written cost more than the formatting itself.
struct HashWriter<'b>(&'b mut Vec<u8>);

impl fmt::Write for HashWriter<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

thread_local! {
    /// The buffer a state is shown into before it is hashed, kept between
    /// hashes so that hashing allocates nothing once it has grown.
    static SHOWN: std::cell::RefCell<Vec<u8>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Three numbers mixed into one well-spread 64-bit hash (a queued event:
/// what it feeds, its earliest and latest times), the same on every
/// machine: each folded in by a full 64x64->128-bit multiply whose halves
/// are xored (as wyhash does), so that every bit of the inputs reaches
/// every bit of the result. The sums of such hashes stand for the queue
/// (see `hash_into`), so a weak mix (a plain xor or sum of the inputs)
/// would let two different queues sum alike.
fn mix3(a: u64, b: u64, c: u64) -> u64 {
    fn fold(x: u64, y: u64) -> u64 {
        let p = u128::from(x).wrapping_mul(u128::from(y));
        (p as u64) ^ ((p >> 64) as u64)
    }
    const K: [u64; 4] = [
        0xa076_1d64_78bd_642f,
        0xe703_7ed1_a0b4_28db,
        0x8ebc_6af0_9c88_c6e3,
        0x5899_65cc_7537_4cc3,
    ];
    let h = fold(a ^ K[0], b ^ K[1]);
    let h = fold(h ^ c ^ K[2], h ^ K[3]);
    fold(h ^ K[0], a.rotate_left(29) ^ K[3])
}

/// The hash of bytes: XXH3, 64 bits, the same on every machine and every
/// run.
fn hash_bytes(b: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(b)
}

/// The hash `cache` keeps, or, when it keeps none, the hash of what `feed`
/// feeds (see [`part_hash`]), which it then keeps. In a debug build a kept
/// hash is taken again and compared (as `PerNode::kept_hash` does), so every
/// test that explores checks the caches of nodes and queued events, which
/// copies carry from run to run, against their values.
fn kept_hash(
    cache: &std::cell::Cell<Option<u64>>,
    buf: &mut Vec<u8>,
    feed: impl FnOnce(&mut StateHasher<'_>),
) -> u64 {
    if let Some(h) = cache.get() {
        if cfg!(debug_assertions) {
            let fresh = part_hash(buf, feed);
            assert_eq!(h, fresh, "a kept hash is not its value's");
        }
        return h;
    }
    let h = part_hash(buf, feed);
    cache.set(Some(h));
    h
}

/// `h` mixed with what `parts` shows.
pub(super) fn mix(h: u64, parts: fmt::Arguments<'_>) -> u64 {
    let mut buf = h.to_le_bytes().to_vec();
    let _ = HashWriter(&mut buf).write_fmt(parts);
    hash_bytes(&buf)
}

impl<'s, P: Protocol> Sim<'s, P> {
    // ----- a state's hash -----

    /// A hash of everything that decides what the run can still do and what
    /// its checks will say: the time; each node's state, disk, clock and
    /// timers; the queued events; the network's cuts and clogs; the history
    /// so far, with when each operation began and ended; the explorer's
    /// budget; the triggers and who fired them; the quiet period; the
    /// protocol's checker. Two runs with the same hash are taken for the
    /// same state. Message ids and sequence numbers are left out, so that
    /// runs reaching a state by different orders meet. The time is in: a
    /// protocol may compare times it keeps (a lock held since, a clock's
    /// drift), so the same state later is not the same state.
    ///
    /// The workload (which values a client writes next, what each client
    /// last saw of each key: `KvWorkload`'s `next_value` and `last_seen`)
    /// is left out, and need not be in: a workload is changed only by its
    /// `next` (called once per operation issued, each recorded in the
    /// explorer's history hash with its client, key and operation, values
    /// included, in order) and its `completed` (called once per operation
    /// completed `Ok`, recorded there with its outcome and output), and
    /// draws only from the workload stream, whose position is in. Two runs
    /// whose history hashes agree made the same calls in the same order,
    /// so their workloads agree too.
    pub fn state_hash(&self) -> u64
    where
        P: StateHash,
    {
        SHOWN.with(|shown| {
            // A hash taken while another is being taken (a `Debug` that
            // hashes a state) gets a buffer of its own.
            match shown.try_borrow_mut() {
                Ok(mut buf) => self.hash_into(&mut buf),
                Err(_) => self.hash_into(&mut Vec::new()),
            }
        })
    }

    fn hash_into(&self, buf: &mut Vec<u8>) -> u64
    where
        P: StateHash,
    {
        let now = self.now;
        buf.clear();
        buf.push(b'@');
        buf.extend_from_slice(&now.to_le_bytes());
        for (i, (n, s)) in self.nodes.iter().zip(self.slots.iter()).enumerate() {
            // A node as the hash of what it feeds, kept with the node's
            // version (see `PerNode::kept_hash`), and in its slot until it
            // changes: a step changes one node or two, and feeding the
            // others again was most of a hash's cost. The version outlives
            // the slot's cache: a node copied back over the explorer's
            // scratch run (its sibling stepped it) keeps its hash.
            buf.push(b'#');
            buf.extend_from_slice(&(i as u32).to_le_bytes());
            match n {
                Some(_) => {
                    // Through the slot's `shown` cache too: it is cleared
                    // before every change to the node (`run_handler`, crash,
                    // restart) and copied with it, so it names this value.
                    let h = self.nodes.kept_hash(i, |n| {
                        let n = n.as_ref().expect("a live node");
                        kept_hash(&s.shown, buf, |h| P::hash_node(n, h))
                    });
                    buf.push(b'n');
                    buf.extend_from_slice(&h.to_le_bytes());
                }
                None => buf.push(b'd'),
            }
            // The slot (what the kernel keeps of the node) as the hash of
            // its bytes, kept with the slot's version (see
            // `PerNode::kept_hash`): a step changes one slot or two, and
            // writing the others' bytes again was much of a hash's cost.
            let kernel = self
                .slots
                .kept_hash(i, |s| part_hash(buf, |h| slot_bytes::<P>(s, h.buf)));
            buf.push(b'|');
            buf.extend_from_slice(&kernel.to_le_bytes());
        }
        {
            // The network is nearly always as the scenario set it (only
            // faults change it), and showing its n² links is most of the
            // cost of a hash: a network equal to the base one (the same in
            // every state of a search) is written as a mark instead.
            // Known the same (one version, see `dirty`) without comparing
            // them in nearly every state.
            if self.net.same_version(&self.base_net) || self.net.same_as(&self.base_net) {
                buf.extend_from_slice(b"net=base");
            } else {
                let net = &*self.net;
                let h = part_hash(buf, |h| h.debug(net));
                buf.push(b'N');
                buf.extend_from_slice(&h.to_le_bytes());
            }
            buf.extend_from_slice(&(self.clogged.len() as u32).to_le_bytes());
            for (from, to, _, msg) in self.clogged.iter() {
                buf.push(b'K');
                buf.extend_from_slice(&from.to_le_bytes());
                buf.extend_from_slice(&to.to_le_bytes());
                let h = part_hash(buf, |h| P::hash_message(msg, h));
                buf.extend_from_slice(&h.to_le_bytes());
            }
            // What the kernel owns goes in as fixed-size bytes (numbers
            // little-endian, `None` and `Some` as tags): only the
            // protocol's own parts are fed by the protocol.
            buf.push(b'|');
            for c in self.clients.iter() {
                opt_bytes(c.open.map(|o| o as u64), buf);
            }
            buf.push(b'|');
            let h = part_hash(buf, |h| self.protocol.hash_checker(h));
            buf.extend_from_slice(&h.to_le_bytes());
            buf.push(b'|');
            self.watch.shape(buf);
            buf.push(u8::from(self.partition_since.is_some()));
            buf.extend_from_slice(&self.work_rng.get_word_pos().to_le_bytes());
            buf.extend_from_slice(&(self.triggers.len() as u32).to_le_bytes());
            for t in &self.triggers {
                buf.extend_from_slice(&t.1.to_le_bytes());
                buf.push(u8::from(t.2));
            }
            for (a, b) in self.fired_by.iter().chain(std::iter::once(&self.firing)) {
                opt_bytes(a.map(u64::from), buf);
                opt_bytes(b.map(u64::from), buf);
            }
            if let Some(x) = &*self.x {
                buf.push(b'x');
                x.shape(buf);
            }
        }
        // The queued events, as a multiset: each event's hash, mixed with
        // its times relative to now, summed (wrapping). A sum, not a xor:
        // two equal events queued add their hash twice (a xor would cancel
        // them, and merge two queued copies of a message with none), and
        // a sum of well-mixed 64-bit hashes does not collide by the
        // events' order or by any structure (only by chance, as the state
        // hash itself). It replaced the sorted list of the hashes: the
        // same equivalence (two queues give one sum when they hold the
        // same events), without the sort.
        let mut events = 0u64;
        let mut count = 0u32;
        for e in self.queue.iter().filter(|e| self.live(e)) {
            let latest = self.latest_of(e);
            let ev = self.slab.slot(e.slot).as_ref().expect("queued");
            // What the event feeds is hashed once, when first needed,
            // and kept with it; its times are relative to now.
            let fed = kept_hash(self.slab.shown(e.slot), buf, |h| ev_bytes::<P>(ev, h));
            let latest = if latest == Nanos::MAX {
                Nanos::MAX
            } else {
                latest.saturating_sub(now)
            };
            events = events.wrapping_add(mix3(fed, e.time.saturating_sub(now), latest));
            count += 1;
        }
        buf.extend_from_slice(&count.to_le_bytes());
        buf.extend_from_slice(&events.to_le_bytes());
        hash_bytes(buf)
    }
}

/// A node's slot as bytes: its disk, clock, pause, incarnation, random
/// stream's position, timers and held events. What the slot caches
/// (`shown`, the node's hash) is not in: it is no part of the state.
fn slot_bytes<P: StateHash>(s: &super::Slot<super::Msg<P>>, buf: &mut Vec<u8>) {
    // An empty disk (nearly every disk, in a small exploration) as a mark,
    // and the clock as its fields' bytes (a perfect clock, nearly every
    // clock unless the scenario skews them, as a mark): formatting was
    // most of a hash's cost.
    if s.disk.is_blank() {
        buf.push(b'e');
        buf.push(u8::from(s.disk.fsync_lies));
    } else {
        let h = part_hash(buf, |h| {
            let _ = write!(HashWriter(h.buf), "{}", DiskShow(&s.disk));
        });
        buf.push(b'w');
        buf.extend_from_slice(&h.to_le_bytes());
    }
    buf.push(b'|');
    clock_bytes(&s.clock, buf);
    buf.push(b'|');
    buf.push(u8::from(s.paused));
    buf.extend_from_slice(&s.incarnation.to_le_bytes());
    buf.extend_from_slice(&s.rng.get_word_pos().to_le_bytes());
    // In timer order, as the map keeps them, after their count.
    buf.extend_from_slice(&(s.timers.len() as u32).to_le_bytes());
    for t in s.timers.keys() {
        buf.extend_from_slice(&t.0.to_le_bytes());
    }
    buf.extend_from_slice(&(s.held.len() as u32).to_le_bytes());
    for ev in &s.held {
        let h = part_hash(buf, |h| ev_bytes::<P>(ev, h));
        buf.extend_from_slice(&h.to_le_bytes());
    }
}

/// A clock as bytes: a perfect clock as a mark, any other as its fields.
fn clock_bytes(c: &crate::node::Clock, buf: &mut Vec<u8>) {
    if *c == crate::node::Clock::default() {
        buf.push(b'p');
    } else {
        // Every field, by name: one added later fails to compile here.
        let crate::node::Clock {
            offset_ns,
            drift,
            since,
            mono_at_since,
        } = c;
        buf.push(b'c');
        buf.extend_from_slice(&offset_ns.to_le_bytes());
        buf.extend_from_slice(&drift.to_bits().to_le_bytes());
        buf.extend_from_slice(&since.to_le_bytes());
        buf.extend_from_slice(&mono_at_since.to_le_bytes());
    }
}

/// An optional number as bytes: a tag, then (when `Some`) the number.
pub(super) fn opt_bytes(v: Option<u64>, buf: &mut Vec<u8>) {
    match v {
        None => buf.push(0),
        Some(v) => {
            buf.push(1);
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
}

struct DiskShow<'a>(&'a crate::node::Disk);

impl fmt::Display for DiskShow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.show_contents(f)
    }
}

/// What an event feeds into a state's hash: its kind and what it carries,
/// with no message id and no timer generation.
fn ev_bytes<P: StateHash>(ev: &Ev<<P::Node as Node>::Msg>, h: &mut StateHasher<'_>) {
    match ev {
        Ev::Deliver { from, to, msg, .. } => {
            h.write_u8(b'D');
            h.write_u32(*from);
            h.write_u32(*to);
            P::hash_message(msg, h);
        }
        Ev::Timer { node, timer, .. } => {
            h.write_u8(b'T');
            h.write_u32(*node);
            h.write_u64(timer.0);
        }
        Ev::Fault(i) => {
            h.write_u8(b'F');
            h.write_usize(*i);
        }
        Ev::Issue { client } => {
            h.write_u8(b'I');
            h.write_u32(*client);
        }
        Ev::NemesisTick => h.write_u8(b't'),
        Ev::NemesisUndo { undo, .. } => {
            h.write_u8(b'u');
            h.debug(undo);
        }
        Ev::NemesisStop => h.write_u8(b's'),
    }
}
