//! The checker on hand-made histories, and the service's two writes.

use std::collections::BTreeMap;

use super::check::Tally;
use super::Event;

fn ev(id: u64, amount: i64) -> Event {
    Event {
        id,
        order: id,
        amount,
    }
}

fn map<V: Copy>(pairs: &[(u64, V)]) -> BTreeMap<u64, V> {
    pairs.iter().copied().collect()
}

#[test]
fn a_clean_history_is_exactly_once() {
    let orders = map(&[(1, 10), (2, 20)]);
    let log = [ev(1, 10), ev(2, 20)];
    let t = Tally::of(&orders, &log, &map(&[(1, 1), (2, 1)]), &orders);
    assert_eq!(
        t,
        Tally {
            committed: 2,
            published: 2,
            ..Tally::default()
        }
    );
    assert!(t.verdict().starts_with("exactly-once"));
}

#[test]
fn a_committed_order_without_an_event_is_lost() {
    // Commit-then-publish, crashed between the two: order 2 has no event.
    let orders = map(&[(1, 10), (2, 20)]);
    let log = [ev(1, 10)];
    let view = map(&[(1, 10)]);
    let t = Tally::of(&orders, &log, &map(&[(1, 1)]), &view);
    assert_eq!((t.lost, t.phantom, t.divergent), (1, 0, 1));
    assert!(t.verdict().starts_with("at-most-once"));
}

#[test]
fn an_event_whose_order_rolled_back_is_a_phantom() {
    let orders = map(&[(1, 10)]);
    let log = [ev(1, 10), ev(2, 20)];
    let view = map(&[(1, 10), (2, 20)]);
    let t = Tally::of(&orders, &log, &map(&[(1, 1), (2, 1)]), &view);
    assert_eq!((t.lost, t.phantom, t.divergent), (0, 1, 1));
    assert!(t.verdict().starts_with("phantom"));
}

#[test]
fn a_republished_event_is_a_duplicate_and_doubles_the_view_unless_dropped() {
    let orders = map(&[(1, 10)]);
    let log = [ev(1, 10), ev(1, 10)];
    // Without dedup the consumer applies both copies.
    let twice = Tally::of(&orders, &log, &map(&[(1, 2)]), &map(&[(1, 20)]));
    assert_eq!(
        (
            twice.duplicates_published,
            twice.applied_twice,
            twice.divergent
        ),
        (1, 1, 1)
    );
    assert!(twice.verdict().starts_with("at-least-once"));
    // With dedup it drops the second: published twice, applied once.
    let once = Tally::of(&orders, &log, &map(&[(1, 1)]), &map(&[(1, 10)]));
    assert_eq!(
        (
            once.duplicates_published,
            once.applied_twice,
            once.divergent
        ),
        (1, 0, 0)
    );
    assert!(once.verdict().starts_with("exactly-once"));
}
