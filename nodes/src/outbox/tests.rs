//! The checker on hand-made histories (whole runs: tui's `it` binary, `whole_runs::outbox`).

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

#[test]
fn what_is_under_way_at_the_end_is_neither_lost_nor_phantom() {
    use super::check::Unfinished;
    // Order 2 is an outbox row the relay has not published, order 3 sits
    // between its two writes: both committed, neither lost.
    let orders = map(&[(1, 10), (2, 20), (3, 30)]);
    let log = [ev(1, 10)];
    let pending = Unfinished {
        outbox_rows: [2].into_iter().collect(),
        between: Some(3),
        open: None,
    };
    let t = Tally::of_run(&orders, &log, &map(&[(1, 1)]), &map(&[(1, 10)]), &pending);
    assert_eq!((t.lost, t.pending_rows, t.between_at_end), (0, 1, 1));
    assert!(t.verdict().starts_with("undecided"), "{}", t.verdict());
    // Publish-then-commit: order 4 is published and its transaction open.
    let log = [ev(1, 10), ev(4, 40)];
    let open = Unfinished {
        open: Some(4),
        ..Unfinished::default()
    };
    let orders = map(&[(1, 10)]);
    let view = map(&[(1, 10), (4, 40)]);
    let t = Tally::of_run(&orders, &log, &map(&[(1, 1), (4, 1)]), &view, &open);
    assert_eq!((t.phantom, t.open_published), (0, 1));
    assert!(t.verdict().starts_with("undecided"), "{}", t.verdict());
    // A failure seen stands whatever is unfinished.
    let orders = map(&[(1, 10), (5, 50)]);
    let t = Tally::of_run(&orders, &log, &map(&[(1, 1), (4, 1)]), &view, &open);
    assert_eq!(t.lost, 1);
    assert!(t.verdict().starts_with("at-most-once"), "{}", t.verdict());
}

#[test]
fn an_event_in_the_log_never_applied_is_unconsumed_not_a_catch_all() {
    // The network dropped the delivery of event 2: it is in the log, the
    // view never had it. Nothing lost, phantom or doubled.
    let orders = map(&[(1, 10), (2, 20)]);
    let log = [ev(1, 10), ev(2, 20)];
    let t = Tally::of(&orders, &log, &map(&[(1, 1)]), &map(&[(1, 10)]));
    assert_eq!((t.lost, t.phantom, t.unconsumed, t.divergent), (0, 0, 1, 1));
    assert!(t.verdict().contains("never applied"), "{}", t.verdict());
    assert!(!t
        .verdict()
        .contains("lost, phantom or applied twice together"));
}
