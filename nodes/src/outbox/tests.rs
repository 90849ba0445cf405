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

/// A report of protocol "outbox" on seed 1 with `system` and `extra`.
fn run(system: &str, extra: &str) -> Result<String, String> {
    use sim::kernel::TraceMode;
    use sim::report::Report;
    let c = crate::builtin();
    let src = format!(
        "[meta]\nname = \"outbox/t\"\nduration = \"3s\"\n\n[system]\nprotocol = \"outbox\"\n{system}\n\
         [topology]\nservers = 3\n\n[network]\nlatency = {{ dist = \"uniform\", min = \"1ms\", max = \"3ms\" }}\n\n\
         [workload]\nstop = \"2s\"\n\n{extra}"
    );
    let s = c.parse("t.toml", &src).map_err(|e| e.to_string())?;
    Ok(Report::build(&s, &c.run(&s, 1, TraceMode::Off).unwrap()).render())
}

fn figure(report: &str, name: &str) -> u64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in\n{report}"));
    line[name.len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line}"))
}

#[test]
fn a_window_shorter_than_the_round_trip_loses_nothing() {
    // The broker's round trip is 2 to 6ms; the relay marks after 1ms, so
    // every acknowledgement comes late and is taken when it comes.
    let crash = "[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"n1\"\n\n\
                 [[faults]]\nat = \"1.1s\"\naction = \"restart\"\ntarget = \"n1\"\n";
    let r = run(
        "publish = \"outbox\"\ndedup = true\npublish_delay = \"1ms\"\nrelay_interval = \"5ms\"\n",
        crash,
    )
    .unwrap();
    let committed = figure(&r, "orders committed");
    assert!(committed > 100, "{r}");
    assert_eq!(figure(&r, "lost events"), 0, "{r}");
    assert_eq!(figure(&r, "pending outbox rows"), 0, "{r}");
    assert_eq!(figure(&r, "view divergence"), 0, "{r}");
    // Republished only around the crash, not forever.
    assert!(figure(&r, "events published") < committed + 50, "{r}");
}

#[test]
fn publish_delay_and_relay_retry_out_of_bounds_are_refused() {
    for (system, field) in [
        ("publish_delay = \"0s\"\n", "publish_delay"),
        ("publish_delay = \"2m\"\n", "publish_delay"),
        ("relay_retry = \"0s\"\n", "relay_retry"),
    ] {
        let e = run(system, "").unwrap_err();
        assert!(e.contains(field), "{system}: {e}");
    }
}

#[test]
fn a_crash_of_the_broker_or_consumer_is_refused() {
    let crash =
        |t: &str| format!("[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"{t}\"\n");
    for t in ["n2", "n3", "random", "broker"] {
        let e = run("", &crash(t)).unwrap_err();
        assert!(e.contains("can crash only n1"), "{t}: {e}");
    }
    let nemesis =
        "[nemesis]\ninterval = \"500ms\"\nfault_duration = \"100ms\"\nkinds = [\"crash\"]\n";
    let e = run("", nemesis).unwrap_err();
    assert!(
        e.contains("[nemesis]") && e.contains("can crash only n1"),
        "{e}"
    );
    assert!(run("", &crash("n1")).is_ok());
}
