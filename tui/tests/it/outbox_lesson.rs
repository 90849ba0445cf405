//! docs/outbox.md makes claims about the dual-write and outbox scenarios;
//! the tests here run them at their own seeds, regenerate the lesson's
//! table, which must match the document word for word, and check each
//! claim the text makes beside it:
//!
//! ```sh
//! cargo test -p chaoslab --test it outbox_lesson -- --nocapture
//! ```
//!
//! prints the table.

use sim::metric::Value;
use sim::report::Report;

use crate::common::lessons::{self, count};

const DOC: &str = "outbox.md";

fn report(name: &str) -> Report {
    lessons::run("messaging", name, &lessons::text("messaging", name), None)
}

fn text(r: &Report, name: &str) -> String {
    match &lessons::figure(r, name).value {
        Value::Text(t) => t.clone(),
        v => panic!("{name:?} is {v:?}"),
    }
}

/// The scenarios of the table, in its order: the same five crashes each.
const SCENARIOS: [&str; 4] = [
    "dual-write-crash",
    "dual-write-publish-first",
    "outbox-no-dedup",
    "outbox-crash",
];

#[test]
fn the_table_of_the_four_runs_is_the_runs() {
    let mut table = String::from(
        "| scenario | committed | published | crashes between the writes | lost | phantom | duplicates published | applied twice | view divergence | effect |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for name in SCENARIOS {
        let r = report(name);
        assert!(r.passed, "{name} fails its hypothesis:\n{}", r.render());
        table.push_str(&format!(
            "| `{name}` | {} | {} | {} of {} | {} | {} | {} | {} | {} | {} |\n",
            count(&r, "orders committed"),
            count(&r, "events published"),
            count(&r, "crashes between the writes"),
            count(&r, "service crashes"),
            count(&r, "lost events"),
            count(&r, "phantom events"),
            count(&r, "duplicates published"),
            count(&r, "applied twice"),
            count(&r, "view divergence"),
            text(&r, "effect"),
        ));
    }
    lessons::assert_in_doc(DOC, "dual-write and outbox", &table);
}

#[test]
fn each_lost_event_is_a_crash_between_commit_and_publish() {
    // The lesson's claim: commit-then-publish loses exactly one event per
    // crash that lands between its two writes, and nothing else.
    let r = report("dual-write-crash");
    assert_eq!(
        count(&r, "lost events"),
        count(&r, "crashes between the writes"),
        "{}",
        r.render()
    );
    assert_eq!(count(&r, "duplicates published"), 0);
}

#[test]
fn phantoms_are_the_rollbacks_and_the_crashes_after_publish() {
    // Publish-then-commit: every rolled-back order and every order a crash
    // caught open has its event out, and its change never committed.
    let r = report("dual-write-publish-first");
    assert_eq!(
        count(&r, "phantom events"),
        count(&r, "orders rolled back") + count(&r, "crashes between the writes"),
        "{}",
        r.render()
    );
}

#[test]
fn offsets_alone_do_not_give_exactly_once_dedup_does() {
    // The same crashes publish the same duplicates in both outbox runs (the
    // consumer's setting cannot change what the service does), and the
    // consumer reads each offset once in both: only de-duplication
    // decides whether a duplicate takes effect.
    let plain = report("outbox-no-dedup");
    let dedup = report("outbox-crash");
    assert_eq!(
        count(&plain, "duplicates published"),
        count(&dedup, "duplicates published")
    );
    assert_eq!(
        count(&plain, "applied twice"),
        count(&plain, "duplicates published")
    );
    assert_eq!(count(&dedup, "applied twice"), 0);
    assert_eq!(
        count(&dedup, "repeats dropped"),
        count(&dedup, "duplicates published")
    );
    assert!(text(&dedup, "effect").starts_with("exactly-once"));
    assert!(text(&plain, "effect").starts_with("at-least-once"));
    let doc = lessons::doc(DOC);
    assert!(
        doc.contains("offsets alone do not give exactly-once"),
        "docs/{DOC} must say that offsets alone do not give exactly-once"
    );
}
