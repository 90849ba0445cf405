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
        let mut copies: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for e in log {
            copies.entry(e.id).or_insert((e.order, 0)).1 += 1;
        }
        let published_orders: BTreeSet<u64> = copies.values().map(|&(o, _)| o).collect();
        let keys: BTreeSet<u64> = orders.keys().chain(view.keys()).copied().collect();
        Tally {
            committed: orders.len() as u64,
            published: log.len() as u64,
            lost: orders
                .keys()
                .filter(|o| !published_orders.contains(o))
                .count() as u64,
            phantom: copies
                .values()
                .filter(|(o, _)| !orders.contains_key(o))
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
        }
    }

    /// The guarantee the run gave, in words, from the counts.
    pub fn verdict(&self) -> &'static str {
        match (self.lost > 0, self.phantom > 0, self.applied_twice > 0) {
            (false, false, false) if self.divergent == 0 => {
                "exactly-once effect: every committed change applied once, nothing else"
            }
            (false, false, true) => "at-least-once: no change lost, some applied twice",
            (true, false, false) => "at-most-once: committed changes lost",
            (false, true, false) => "phantom events: changes that never committed were applied",
            _ => "none: changes lost, phantom or applied twice together",
        }
    }
}
