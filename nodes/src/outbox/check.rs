//! The outbox checker: what the database committed against what the broker
//! holds and what the consumer applied.

use std::collections::{BTreeMap, BTreeSet};

use super::Event;

/// What a run did with its events, counted at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Orders the database holds.
    pub committed: u64,
    /// Entries in the broker's log (copies included).
    pub published: u64,
    /// Committed orders with no event in the log.
    pub lost: u64,
    /// Distinct events in the log whose order the database does not hold
    /// (rolled back, or never committed).
    pub phantom: u64,
    /// Copies in the log beyond the first of each event.
    pub duplicates_published: u64,
    /// Applications by the consumer beyond the first of each event.
    pub applied_twice: u64,
    /// Orders whose amount in the view differs from the database's (a
    /// missing, phantom or doubled order), over both.
    pub divergent: u64,
    /// Committed orders whose event is not in the log yet but still on its
    /// way at the end: rows of the outbox table the relay has not got into
    /// the log. Not lost: the run ended before the relay drained them.
    pub pending_rows: u64,
    /// A committed order between its two writes at the end (commit done,
    /// publish not yet): not lost, the run ended inside the window.
    pub between_at_end: u64,
    /// Events in the log whose transaction is still open at the end
    /// (publish-then-commit): not phantom, it may yet commit.
    pub open_published: u64,
    /// Distinct events in the log the consumer never applied: a delivery
    /// still in transit at the end, or one the network dropped (the
    /// consumer does not fetch a gap in its offsets again).
    pub unconsumed: u64,
}

/// What was still under way at the end of a run: the checker leaves these
/// out of lost and phantom and counts them apart.
#[derive(Clone, Debug, Default)]
pub struct Unfinished {
    /// Order ids in the outbox table.
    pub outbox_rows: BTreeSet<u64>,
    /// The order committed and not yet published (commit-then-publish).
    pub between: Option<u64>,
    /// The order published and not yet committed (publish-then-commit).
    pub open: Option<u64>,
}

impl Tally {
    /// Compares the database `orders` (id -> amount), the broker's `log`,
    /// and the consumer's `applied` counts (event id -> times) and `view`
    /// (order id -> amount).
    pub fn of(
        orders: &BTreeMap<u64, i64>,
        log: &[Event],
        applied: &BTreeMap<u64, u32>,
        view: &BTreeMap<u64, i64>,
    ) -> Tally {
        Tally::of_run(orders, log, applied, view, &Unfinished::default())
    }

    /// As [`Tally::of`], with what was `unfinished` at the end kept out of
    /// lost and phantom.
    pub fn of_run(
        orders: &BTreeMap<u64, i64>,
        log: &[Event],
        applied: &BTreeMap<u64, u32>,
        view: &BTreeMap<u64, i64>,
        unfinished: &Unfinished,
    ) -> Tally {
        let mut copies: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for e in log {
            copies.entry(e.id).or_insert((e.order, 0)).1 += 1;
        }
        let published_orders: BTreeSet<u64> = copies.values().map(|&(o, _)| o).collect();
        let keys: BTreeSet<u64> = orders.keys().chain(view.keys()).copied().collect();
        let unpublished = |o: &u64| orders.contains_key(o) && !published_orders.contains(o);
        let pending_rows = unfinished
            .outbox_rows
            .iter()
            .filter(|o| unpublished(o))
            .count() as u64;
        let between = unfinished.between.filter(|o| unpublished(o));
        let open = unfinished
            .open
            .filter(|o| published_orders.contains(o) && !orders.contains_key(o));
        Tally {
            committed: orders.len() as u64,
            published: log.len() as u64,
            lost: orders
                .keys()
                .filter(|o| {
                    !published_orders.contains(o)
                        && !unfinished.outbox_rows.contains(o)
                        && between != Some(**o)
                })
                .count() as u64,
            phantom: copies
                .values()
                .filter(|(o, _)| !orders.contains_key(o) && open != Some(*o))
                .count() as u64,
            duplicates_published: copies.values().map(|&(_, n)| n - 1).sum(),
            applied_twice: applied
                .values()
                .map(|&n| u64::from(n.saturating_sub(1)))
                .sum(),
            divergent: keys
                .iter()
                .filter(|k| {
                    orders.get(k).copied().unwrap_or(0) != view.get(k).copied().unwrap_or(0)
                })
                .count() as u64,
            pending_rows,
            between_at_end: u64::from(between.is_some()),
            open_published: u64::from(open.is_some()),
            unconsumed: copies.keys().filter(|id| !applied.contains_key(id)).count() as u64,
        }
    }

    /// Items still under way at the end: the run did not drain.
    pub fn undrained(&self) -> u64 {
        self.pending_rows + self.between_at_end + self.open_published + self.unconsumed
    }

    /// The guarantee the run gave, in words, from the counts. A failure
    /// seen (lost, phantom, applied twice) stands whatever is unfinished;
    /// without one, items still under way leave the check undecided rather
    /// than failed.
    pub fn verdict(&self) -> &'static str {
        match (self.lost > 0, self.phantom > 0, self.applied_twice > 0) {
            (false, false, false) if self.divergent == 0 && self.undrained() == 0 => {
                "exactly-once effect: every committed change applied once, nothing else"
            }
            (false, false, false) if self.pending_rows + self.between_at_end + self.open_published > 0 => {
                "undecided: the run did not drain (events still pending at the end); nothing lost, phantom or applied twice so far"
            }
            (false, false, false) if self.unconsumed > 0 => {
                "undecided: events in the log never applied (in transit at the end, or a delivery the network lost: the consumer does not fetch gaps); nothing lost, phantom or applied twice"
            }
            (false, false, false) => {
                "none: the view diverges from the database with nothing lost, phantom or applied twice"
            }
            (false, false, true) => "at-least-once: no change lost, some applied twice",
            (true, false, false) => "at-most-once: committed changes lost",
            (false, true, false) => "phantom events: changes that never committed were applied",
            (true, true, _) => "none: changes lost and phantom events",
            (true, false, true) => "none: changes lost and others applied twice",
            (false, true, true) => "none: phantom events and changes applied twice",
        }
    }
}
