//! The event queue: keys ordered by (time, sequence) in a heap, the events
//! themselves in a slab (`slab`).

use std::cmp::Ordering;

use std::collections::BinaryHeap;

use super::{Ev, Msg, Sim};
use crate::node::TimerId;
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
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }

    #[inline]
    fn lt(&self, o: &Self) -> bool {
        o.key() < self.key()
    }

    #[inline]
    fn le(&self, o: &Self) -> bool {
        o.key() <= self.key()
    }
}
impl Entry {
    /// (time, seq) as one number, ordered as the pair is: one comparison
    /// without a branch, where the pair's is two with one (the heap's
    /// sifting compares keys at every level).
    #[inline]
    fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

impl Ord for Entry {
    // BinaryHeap is a max-heap: the earliest (time, seq) must compare greatest.
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        o.key().cmp(&self.key())
    }
}

/// A timer entry taken out of the queue because it was moved or cancelled
/// after it was queued (see [`Stale`]): its key and its event.
#[derive(Clone, Copy, Debug)]
pub(super) struct Skipped {
    pub(super) time: Nanos,
    pub(super) seq: u64,
    pub(super) node: u32,
    pub(super) timer: TimerId,
    pub(super) gen: u64,
}

/// Timer entries that can no longer fire, kept out of the queue.
///
/// A timer set again or cancelled leaves its old entry queued: in a busy
/// run most of the queue is such entries (every request's timeout,
/// cancelled when the answer comes; every follower's election timer, set
/// again at every heartbeat), and each made every push and pop dearer and
/// cost a pop of its own. The queue is compacted instead when they are at
/// least half of it: the stale entries leave it for `skipped`.
///
/// Nothing a run does may change by this. A stale entry, popped, does one
/// thing: it counts against `[meta] max_events` (`processed`) at its place
/// in the (time, seq) order (and sets the time, which the next event sets
/// again). So: a skipped entry whose key lies behind the last one popped is
/// counted then; and whenever `processed` plus every skipped entry could
/// reach `max_events`, every skipped entry not passed yet goes back into
/// the queue with its own key, for good, and the run goes on exactly as if
/// none had ever left. A driver that takes the queue out
/// ([`Sim::take_scheduled`]) gets them back the same way.
///
/// Most settings of a timer set again never enter the queue at all: they
/// wait for the timer's queued entry (see `deferred`), and those overtaken
/// while waiting join `skipped` directly.
#[derive(Clone, Default)]
pub(super) struct Stale {
    /// About how many queued timer entries are stale (only a hint of when
    /// to compact): counted up when a timer is moved or cancelled, down
    /// when a stale entry pops and when a cancelled timer's entry carries
    /// a new setting (see `deferred`).
    pub(super) queued: usize,
    pub(super) skipped: Vec<Skipped>,
    /// The key (time, seq) of the last entry popped.
    pub(super) last: (Nanos, u64),
    /// Set when the skipped entries went back for good: no more compaction.
    pub(super) exact: bool,
    /// The length of `skipped` at which a compaction, or an entry joining
    /// it ([`Sim::prune_skipped`]), first counts and forgets the entries
    /// passed (twice its length after the last count: a pass over
    /// `skipped` each time would cost more than the pops it saves). Entries passed but not counted yet still count in
    /// full against `max_events` (see [`Sim::tend_queue`]).
    prune_at: usize,
    /// How many times the queue was compacted (for the tests).
    pub(super) compactions: u64,
    /// How many timer settings waited for their timer's queued entry
    /// instead of being queued (see `deferred`; for the tests).
    pub(super) deferrals: u64,
    /// How many of those waited for the entry of a cancelled setting (for
    /// the tests).
    pub(super) revivals: u64,
}

/// Compaction starts at this many stale entries, and when they are at least
/// half of the queue: its cost, a pass over the queue, is then at most two
/// entries' worth per stale entry it removes.
const COMPACT_MIN: usize = 64;

impl<'s, P: Protocol> Sim<'s, P> {
    /// Queues an event; returns its slot.
    #[inline]
    pub(super) fn push(&mut self, time: Nanos, ev: Ev<Msg<P>>) -> u32 {
        self.seq += 1;
        self.push_keyed(time, self.seq, ev)
    }

    /// Queues an event with the key (time, seq) it was given earlier (a
    /// timer setting that waited: see `deferred`); returns its slot.
    #[inline]
    pub(super) fn push_keyed(&mut self, time: Nanos, seq: u64, ev: Ev<Msg<P>>) -> u32 {
        // Exploring: a client's next operation may start any time later
        // (unless `[explore] issue = "earliest"`); anything else (but a
        // message: see `schedule_delivery`) when due.
        let any_time = self.x.as_ref().is_some_and(|x| x.issue_any_time);
        let latest = if any_time && matches!(ev, Ev::Issue { .. }) {
            Nanos::MAX
        } else {
            time
        };
        let slot = self.slab.insert(ev);
        self.queue.push(Entry { time, seq, slot });
        if self.x.is_some() {
            self.note_latest(slot, latest);
        }
        slot
    }

    /// Before a pop: compacts the queue if stale entries are half of it, and
    /// puts the skipped entries back once `max_events` comes in reach.
    #[inline]
    pub(super) fn tend_queue(&mut self) {
        // Two comparisons on the common path: few stale entries, none
        // skipped (a run without timers never gets further).
        if self.stale.queued >= COMPACT_MIN
            && !self.stale.exact
            && self.stale.queued * 2 >= self.queue.len()
        {
            self.compact();
        }
        if !self.stale.skipped.is_empty()
            && self.processed + self.stale.skipped.len() as u64 >= self.scenario.meta.max_events
        {
            self.unskip();
        }
    }

    /// After an entry joined `skipped` (a timer setting overtaken while it
    /// waited: see `deferred`): once `skipped` has doubled since it was
    /// last pruned, counts and forgets the entries passed, so that a run
    /// that seldom compacts keeps as many as are still ahead, not every one
    /// ever skipped.
    #[inline]
    pub(super) fn prune_skipped(&mut self) {
        if self.stale.skipped.len() >= self.stale.prune_at {
            self.count_passed();
            self.stale.prune_at = (2 * self.stale.skipped.len()).max(COMPACT_MIN);
        }
    }

    /// Counts the skipped entries the run has passed (keys behind the last
    /// popped) as processed, and forgets them.
    fn count_passed(&mut self) {
        let last = self.stale.last;
        let before = self.stale.skipped.len();
        self.stale.skipped.retain(|s| (s.time, s.seq) > last);
        self.processed += (before - self.stale.skipped.len()) as u64;
    }

    /// Moves every stale timer entry from the queue to `skipped`.
    #[cold]
    #[inline(never)]
    fn compact(&mut self) {
        self.prune_skipped();
        let mut entries = std::mem::take(&mut self.queue).into_vec();
        let mut k = 0;
        while k < entries.len() {
            let e = entries[k];
            if let Some(Ev::Timer { node, timer, gen }) = self.slab.slot(e.slot) {
                let (node, timer, gen) = (*node, *timer, *gen);
                if !self.timer_entry_live(node, timer, gen) {
                    self.slab.take(e.slot);
                    self.left_queue(node, timer, gen);
                    self.stale.skipped.push(Skipped {
                        time: e.time,
                        seq: e.seq,
                        node,
                        timer,
                        gen,
                    });
                    entries.swap_remove(k);
                    continue;
                }
            }
            k += 1;
        }
        self.queue = BinaryHeap::from(entries);
        self.stale.queued = 0;
        self.stale.compactions += 1;
    }

    /// Puts every skipped entry not passed yet back into the queue, with its
    /// own key, and stops compacting: from here the queue is exactly what it
    /// would have been.
    #[cold]
    #[inline(never)]
    pub(super) fn unskip(&mut self) {
        self.stale.exact = true;
        self.queue_deferred();
        self.count_passed();
        for s in std::mem::take(&mut self.stale.skipped) {
            let slot = self.slab.insert(Ev::Timer {
                node: s.node,
                timer: s.timer,
                gen: s.gen,
            });
            self.queue.push(Entry {
                time: s.time,
                seq: s.seq,
                slot,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;
    use serde::Deserialize;

    use crate::kernel::{Sim, TraceMode};
    use crate::node::{Cluster, Ctx, Disk, Node, NodeId, Request, Status, TimerId};
    use crate::protocol::{Findings, Protocol, Step};
    use crate::registry::{Catalog, ParamError, Register, Spec};
    use crate::scenario::Scenario;
    use crate::time::ms;

    #[derive(Clone, Debug)]
    struct Ping;

    impl crate::node::Message for Ping {
        fn kind(&self) -> &'static str {
            "Ping"
        }
    }

    const JITTER: TimerId = TimerId(1);
    const STEADY: TimerId = TimerId(2);
    const TICK: TimerId = TimerId(3);
    const WAIT: TimerId = TimerId(4);

    /// A node that leaves stale timer entries behind all the time: every
    /// ping it receives moves its jitter timer, and now and then cancels
    /// its steady timer and sets it again (as election timers and request
    /// timeouts do); every tick cancels a long wait and starts it again.
    /// Node n1, at its 300th tick, sets twenty more timers at once, each
    /// set again at every ping it gets: from then on it has more timers
    /// than the short list holds (see `timers`), and its settings stop
    /// waiting (see `deferred`).
    #[derive(Clone, Debug)]
    struct Jitterer {
        id: NodeId,
        ticks: u32,
    }

    /// The twenty timers n1 sets late (ids 100 to 119).
    fn many(id: TimerId) -> bool {
        (100..120).contains(&id.0)
    }

    impl Node for Jitterer {
        type Msg = Ping;
        type Op = crate::history::OpFn;
        fn on_start(&mut self, ctx: &mut Ctx<Ping>) {
            ctx.set_timer(JITTER, ms(5));
            ctx.set_timer(STEADY, ms(20));
            ctx.set_timer(TICK, ms(3));
        }
        fn on_message(&mut self, ctx: &mut Ctx<Ping>, _: NodeId, _: Ping) {
            let after = ms(ctx.rng().gen_range(5..50));
            ctx.set_timer(JITTER, after);
            if self.id == NodeId(0) && self.ticks >= 300 {
                let k = ctx.rng().gen_range(100..120);
                let after = ms(ctx.rng().gen_range(5..90));
                ctx.set_timer(TimerId(k), after);
            }
            if ctx.rng().gen_bool(0.3) {
                ctx.cancel_timer(STEADY);
                if ctx.rng().gen_bool(0.5) {
                    ctx.set_timer(STEADY, ms(20));
                }
            }
        }
        fn on_timer(&mut self, ctx: &mut Ctx<Ping>, timer: TimerId) {
            if many(timer) {
                return;
            }
            if timer == TICK {
                self.ticks += 1;
                if self.id == NodeId(0) && self.ticks == 300 {
                    for k in 100..120 {
                        ctx.set_timer(TimerId(k), ms(k));
                    }
                }
            }
            let n = ctx.cluster().servers().len() as u32;
            for _ in 0..3 {
                let to = NodeId(ctx.rng().gen_range(0..n));
                ctx.send(to, Ping);
            }
            let after = match timer {
                JITTER => ms(7),
                STEADY => ms(20),
                WAIT => ms(400),
                _ => ms(3),
            };
            ctx.set_timer(timer, after);
            if timer == TICK {
                ctx.cancel_timer(WAIT);
                ctx.set_timer(WAIT, ms(400));
            }
        }
        fn on_request(&mut self, ctx: &mut Ctx<Ping>, req: Request) {
            ctx.complete(req.id, crate::history::Outcome::Fail, None);
        }
        fn role(&self) -> &'static str {
            "server"
        }
        fn status(&self) -> Status {
            Status {
                role: "server",
                fields: Vec::new(),
            }
        }
    }

    #[derive(Clone, Debug)]
    struct Jitter;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoParams {}

    impl Protocol for Jitter {
        type Node = Jitterer;
        fn build(&self, id: NodeId, _: &Cluster, _: &Disk) -> Jitterer {
            Jitterer { id, ticks: 0 }
        }
        fn check(&mut self, _: Step<'_, Jitterer>, _: &mut Findings) {}
    }

    impl Spec for Jitter {
        const NAME: &'static str = "jitter";
        type Params = NoParams;
        const ROLES: &'static [&'static str] = &["server"];
        fn new(_: NoParams, _: &Scenario) -> Result<Self, ParamError> {
            Ok(Jitter)
        }
    }

    /// The jitter scenario; with `ties`, every latency is 1ms, so that many
    /// events fall due at one time and only their sequence orders them.
    fn scenario(max_events: Option<u64>, ties: bool) -> Scenario {
        let mut c = Catalog::new();
        c.add::<Jitter>();
        let max = max_events.map_or(String::new(), |m| format!("max_events = {m}\n"));
        let latency = if ties {
            "{ dist = \"constant\", value = \"1ms\" }"
        } else {
            "{ dist = \"uniform\", min = \"1ms\", max = \"3ms\" }"
        };
        let src = format!(
            "[meta]\nname = \"jitter\"\nduration = \"10s\"\n{max}\n[system]\nprotocol = \"jitter\"\n\n\
             [topology]\nservers = 4\nclients = 0\n\n\
             [network]\nlatency = {latency}\n\n\
             [[faults]]\nat = \"1s\"\naction = \"pause\"\ntarget = \"n2\"\n\n\
             [[faults]]\nat = \"1200ms\"\naction = \"resume\"\ntarget = \"n2\"\n\n\
             [[faults]]\nat = \"2s\"\naction = \"crash\"\ntarget = \"n3\"\n\n\
             [[faults]]\nat = \"2300ms\"\naction = \"restart\"\ntarget = \"n3\"\n"
        );
        c.parse("jitter.toml", &src).unwrap()
    }

    /// Everything a run shows that stale entries could change; and how
    /// many times the queue was compacted plus how many settings waited.
    fn outcome(s: &Scenario, compact: bool) -> (String, String, u64, Option<u64>, (u64, u64, u64)) {
        let mut sim = Sim::new(s, Jitter, 3, TraceMode::Off);
        sim.stale.exact = !compact;
        while sim.advance() {}
        let compactions = (
            sim.stale.compactions,
            sim.stale.deferrals,
            sim.stale.revivals,
        );
        let out = sim.finish();
        (
            out.fingerprint,
            format!("{:?}", out.counters),
            out.end_ns,
            out.stopped_early,
            compactions,
        )
    }

    /// Taking stale timer entries out of the queue, and letting a timer set
    /// again wait for its queued entry (see `deferred`), changes nothing a
    /// run shows, however `[meta] max_events` cuts it (through a pause and
    /// a crash): the same fingerprint, counters, end time and stopping time
    /// as a run that queues every setting and pops every entry.
    #[test]
    fn compacting_stale_timers_changes_no_run_whatever_max_events_stops_it() {
        for ties in [false, true] {
            let full = outcome(&scenario(None, ties), false);
            let events: u64 = full
                .1
                .split("events: ")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(events > 20_000, "the run is long enough: {events} events");
            let (mut compacted, mut waited, mut revived) = (0, 0, 0);
            for max in [
                None,
                Some(1),
                Some(2),
                Some(97),
                Some(1000),
                Some(4321),
                Some(10_007),
                Some(20_000),
                Some(events),
                Some(events + 500),
            ] {
                let s = scenario(max, ties);
                let (with, without) = (outcome(&s, true), outcome(&s, false));
                assert_eq!(without.4, (0, 0, 0));
                compacted += with.4 .0;
                waited += with.4 .1;
                revived += with.4 .2;
                assert_eq!(
                    (&with.0, &with.1, with.2, with.3),
                    (&without.0, &without.1, without.2, without.3),
                    "max_events {max:?}, ties {ties}"
                );
            }
            assert!(
                compacted > 100,
                "the queue was compacted ({compacted} times)"
            );
            assert!(waited > 10_000, "settings waited ({waited} times)");
            assert!(
                revived > 1_000,
                "settings waited for a cancelled setting's entry ({revived} times)"
            );
        }
    }
}
