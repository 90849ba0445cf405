//! A state's hash, for `chaoslab explore` (see `explore`): two runs with
//! the same hash are taken for the same state.

use std::fmt::{self, Debug, Write as _};
use std::hash::Hasher;

use super::{Ev, Sim};
use crate::protocol::Protocol;
use crate::time::Nanos;

/// A `fmt::Write` that collects what a state's parts show (`Debug`) into a
/// buffer, hashed in one call at the end: feeding a hasher each small piece
/// as it is written cost more than the formatting itself.
pub(super) struct HashWriter<'b>(&'b mut Vec<u8>);

impl fmt::Write for HashWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A hasher whose output is the same on every machine and every run: the
/// standard library's SipHash with its fixed keys.
pub(super) fn hasher() -> std::hash::DefaultHasher {
    std::hash::DefaultHasher::new()
}

thread_local! {
    /// The buffer a state is shown into before it is hashed, kept between
    /// hashes so that hashing allocates nothing once it has grown.
    static SHOWN: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The hash of bytes, as [`hasher`] gives it.
fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = hasher();
    h.write(b);
    h.finish()
}

/// The hash `cache` keeps, or, when it keeps none, the hash of what `show`
/// writes (written after the end of `buf`, then cut off again), which it
/// then keeps.
fn shown_hash(
    cache: &std::cell::Cell<Option<u64>>,
    buf: &mut Vec<u8>,
    show: impl FnOnce(&mut HashWriter<'_>) -> fmt::Result,
) -> u64 {
    if let Some(h) = cache.get() {
        return h;
    }
    let start = buf.len();
    let _ = show(&mut HashWriter(buf));
    let h = hash_bytes(&buf[start..]);
    buf.truncate(start);
    cache.set(Some(h));
    h
}

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
    pub fn state_hash(&self) -> u64
    where
        P: Debug,
        P::Node: Debug,
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
        P: Debug,
        P::Node: Debug,
    {
        let now = self.now;
        buf.clear();
        buf.push(b'@');
        buf.extend_from_slice(&now.to_le_bytes());
        for (i, (n, s)) in self.nodes.iter().zip(&self.slots).enumerate() {
            // A node as the hash of what it shows, kept in its slot until
            // it changes: a step changes one node or two, and showing the
            // others again was most of a hash's cost. Numbers go in as
            // bytes, fixed-size: formatting them cost more than hashing.
            buf.push(b'#');
            buf.extend_from_slice(&(i as u32).to_le_bytes());
            match n {
                Some(n) => {
                    let h = shown_hash(&s.shown, buf, |w| write!(w, "{n:?}"));
                    buf.push(b'n');
                    buf.extend_from_slice(&h.to_le_bytes());
                }
                None => buf.push(b'd'),
            }
            // An empty disk (nearly every disk, in a small exploration) as
            // a mark, and the clock as its fields' bytes (a perfect clock,
            // nearly every clock unless the scenario skews them, as a
            // mark): formatting was most of a hash's cost.
            buf.push(b'|');
            if s.disk.is_blank() {
                buf.push(b'e');
                buf.push(u8::from(s.disk.fsync_lies));
            } else {
                let _ = write!(HashWriter(buf), "{}", DiskShow(&s.disk));
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
            for ev in &s.held {
                let _ = write!(HashWriter(buf), "H{}", EvShow(ev));
            }
        }
        {
            // The network is nearly always as the scenario set it (only
            // faults change it), and showing its n² links is most of the
            // cost of a hash: a network equal to the base one (the same in
            // every state of a search) is written as a mark instead.
            if same_net(&self.net, &self.base_net) {
                buf.extend_from_slice(b"net=base");
            } else {
                let _ = write!(HashWriter(buf), "{:?}", self.net);
            }
            for (from, to, _, msg) in &self.clogged {
                let _ = write!(HashWriter(buf), "K{from}>{to}{msg:?}");
            }
            // What the kernel owns goes in as fixed-size bytes (numbers
            // little-endian, `None` and `Some` as tags): only the
            // protocol's own types are shown (`Debug`).
            buf.push(b'|');
            for c in &self.clients {
                opt_bytes(c.open.map(|o| o as u64), buf);
            }
            buf.push(b'|');
            let _ = write!(HashWriter(buf), "{:?}", self.protocol);
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
            if let Some(x) = &self.x {
                buf.push(b'x');
                x.shape(buf);
            }
        }
        // The queued events, as a set: each hashed alone (shown after the
        // rest, then cut off again), then the sorted hashes.
        let state = buf.len();
        let mut pending: Vec<u64> = self
            .queue
            .iter()
            .filter(|e| self.live(e))
            .map(|e| {
                let latest = self.latest_of(e);
                let ev = self.slab.items[e.slot as usize].as_ref().expect("queued");
                // What the event shows is hashed once, when first needed,
                // and kept with it; its times are relative to now.
                let shown = shown_hash(&self.slab.shown[e.slot as usize], buf, |w| {
                    write!(w, "{}", EvShow(ev))
                });
                let mut h = hasher();
                h.write_u64(shown);
                h.write_u64(e.time.saturating_sub(now));
                h.write_u64(if latest == Nanos::MAX {
                    Nanos::MAX
                } else {
                    latest.saturating_sub(now)
                });
                h.finish()
            })
            .collect();
        pending.sort_unstable();
        let mut h = hasher();
        h.write(&buf[..state]);
        for p in pending {
            h.write_u64(p);
        }
        h.finish()
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

/// Whether two networks are the same: every link's settings and cut, and
/// their FIFO order.
fn same_net(a: &crate::network::Net, b: &crate::network::Net) -> bool {
    let n = a.size();
    n == b.size()
        && a.fifo == b.fifo
        && (0..n).all(|f| {
            (0..n).all(|t| a.link(f, t) == b.link(f, t) && a.is_cut(f, t) == b.is_cut(f, t))
        })
}

/// An event as a state's hash sees it: no message id, no timer generation.
struct EvShow<'a, M>(&'a Ev<M>);

impl<M: Debug> fmt::Display for EvShow<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ev::Deliver { from, to, msg, .. } => write!(f, "D{from}>{to}{msg:?}"),
            Ev::Timer { node, timer, .. } => write!(f, "T{node}:{}", timer.0),
            Ev::Fault(i) => write!(f, "F{i}"),
            Ev::Issue { client } => write!(f, "I{client}"),
            Ev::NemesisTick => f.write_str("NT"),
            Ev::NemesisUndo { undo, .. } => write!(f, "NU{undo:?}"),
            Ev::NemesisStop => f.write_str("NS"),
        }
    }
}

struct DiskShow<'a>(&'a crate::node::Disk);

impl fmt::Display for DiskShow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.show_contents(f)
    }
}
