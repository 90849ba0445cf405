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
fn every_crash_between_commit_and_publish_loses_its_event() {
    // The lesson's claim: commit-then-publish loses one event per crash
    // that lands between its two writes, and a crash just after a publish
    // may lose one more (the kernel drops what a crashed node had in
    // flight, as a crashed machine's send buffer is gone); it never
    // duplicates.
    let r = report("dual-write-crash");
    let between = count(&r, "crashes between the writes");
    let lost = count(&r, "lost events");
    assert!(between >= 1, "{}", r.render());
    assert!(
        (between..=count(&r, "service crashes")).contains(&lost),
        "{}",
        r.render()
    );
    assert_eq!(count(&r, "duplicates published"), 0);
}

#[test]
fn phantoms_are_the_rollbacks_and_the_crashes_after_publish() {
    // Publish-then-commit: every rolled-back order has its event out, and
    // so has an order a crash caught open, unless the crash also dropped
    // its publish still in flight.
    let r = report("dual-write-publish-first");
    let rolled_back = count(&r, "orders rolled back");
    let phantom = count(&r, "phantom events");
    assert!(
        (rolled_back..=rolled_back + count(&r, "crashes between the writes")).contains(&phantom),
        "{}",
        r.render()
    );
    assert_eq!(count(&r, "lost events"), 0);
    // The lesson's numbers, exactly: the rollbacks, and the open orders
    // the crashes caught.
    assert_eq!(rolled_back, 13, "{}", r.render());
    assert_eq!(phantom - rolled_back, 4, "{}", r.render());
    let doc = lessons::doc(DOC);
    assert!(doc.contains(&format!("{phantom} orders that\n  do not exist: the {rolled_back} the validation rule rolled back")), "docs/{DOC} must give {phantom} phantoms and {rolled_back} rollbacks");
    assert!(doc.contains("the orders four of the five crashes caught open"));
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

#[test]
fn the_sweep_sentence_is_the_sweep() {
    // How many of the 1000 crashes of seeds 1..200 land between the two
    // writes, per design, and every seed holds its hypothesis.
    let mut window = Vec::new();
    let mut lost_more = 0;
    for name in [
        "dual-write-crash",
        "dual-write-publish-first",
        "outbox-crash",
        "outbox-no-dedup",
    ] {
        let text = lessons::text("messaging", name);
        let mut landed = 0;
        for seed in 1..=200 {
            let r = lessons::run("messaging", name, &text, Some(seed));
            assert!(r.passed, "{name} fails at seed {seed}:\n{}", r.render());
            assert_eq!(count(&r, "service crashes"), 5);
            landed += count(&r, "crashes between the writes");
            if name == "dual-write-crash"
                && count(&r, "lost events") > count(&r, "crashes between the writes")
            {
                lost_more += 1;
            }
        }
        window.push(landed);
    }
    // The two outbox runs differ only in the consumer: the same crashes.
    assert_eq!(window[2], window[3]);
    let sentence = format!(
        "Over seeds 1 to 200 (five crashes each, 1000 in all), {} crashes landed between the two writes with commit-then-publish, {} with publish-then-commit and {} with the outbox; each of the four scenarios holds its hypothesis on 200 of the 200 seeds.",
        window[0], window[1], window[2]
    );
    println!("{sentence}");
    let more = format!("on {lost_more} seeds of the 200.");
    assert!(
        lessons::doc(DOC).contains(&more),
        "docs/{DOC} must say the dual write lost more events than crashes in its window {more}"
    );
    assert!(
        lessons::doc(DOC).contains(&sentence),
        "docs/{DOC} must say, as the sweep gives it:\n{sentence}"
    );
}

/// The CQRS scenarios of the lesson's second table, in its order.
const CQRS: [&str; 4] = [
    "cqrs-read-model-lag",
    "cqrs-wait-for-version",
    "cqrs-rebuild",
    "cqrs-rebuild-bug",
];

#[test]
fn the_cqrs_table_is_the_runs() {
    let mut table = String::from(
        "| scenario | reads | read-your-writes misses | versions behind max | read model lag max | read latency p50 | rebuild |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for name in CQRS {
        let r = report(name);
        assert!(r.passed, "{name} fails its hypothesis:\n{}", r.render());
        // Nothing is lost on this network: no client gives up, none waits.
        for f in ["writes timed out", "reads timed out", "open at the end"] {
            assert_eq!(count(&r, f), 0, "{name}: {f}\n{}", r.render());
        }
        // No miss, no figure: the model was never behind a read.
        let behind = match r.metrics.iter().find(|m| m.name == "versions behind max") {
            Some(m) => match m.value {
                Value::Count(n) => n.to_string(),
                ref v => panic!("versions behind max is {v:?}"),
            },
            None => "-".to_string(),
        };
        table.push_str(&format!(
            "| `{name}` | {} | {} | {behind} | {} | {} | {} |\n",
            count(&r, "reads"),
            count(&r, "read-your-writes misses"),
            sim::time::fmt_duration(lessons::duration(&r, "read model lag max")),
            sim::time::fmt_duration(lessons::duration(&r, "read latency p50")),
            text(&r, "rebuild"),
        ));
    }
    lessons::assert_in_doc(DOC, "CQRS", &table);
}

#[test]
fn waiting_for_the_version_trades_misses_for_latency() {
    let lag = report("cqrs-read-model-lag");
    let wait = report("cqrs-wait-for-version");
    assert!(count(&lag, "read-your-writes misses") > 0);
    assert_eq!(count(&wait, "read-your-writes misses"), 0);
    assert!(
        lessons::duration(&wait, "read latency p50")
            > 5 * lessons::duration(&lag, "read latency p50"),
        "{}",
        wait.render()
    );
}

#[test]
fn a_rebuild_equals_the_live_model_unless_the_projection_reads_the_clock() {
    let ok = report("cqrs-rebuild");
    let bug = report("cqrs-rebuild-bug");
    assert!(text(&ok, "rebuild").starts_with("equal"));
    assert_eq!(count(&ok, "rebuild differences"), 0);
    assert!(text(&bug, "rebuild").starts_with("differs"));
    // Every key written differs: the scenario's 10 keys.
    assert_eq!(count(&bug, "rebuild differences"), 10, "{}", bug.render());
    assert!(lessons::text("messaging", "cqrs-rebuild-bug").contains("keys = 10"));
    assert!(lessons::doc(DOC).contains("differ on every key written (10 of 10)"));
}

#[test]
fn the_outbox_runs_drain_and_nothing_is_left_under_way() {
    // The lesson says the four are 0 in every scenario: orders stop at 5s
    // and the runs drain until 7s.
    for name in SCENARIOS {
        let r = report(name);
        for f in [
            "pending outbox rows",
            "between the writes at the end",
            "open published orders",
            "unconsumed events",
        ] {
            assert_eq!(count(&r, f), 0, "{name}: {f}\n{}", r.render());
        }
    }
}

#[test]
fn the_cqrs_scenarios_hold_on_every_seed() {
    // The lesson says each holds its hypothesis on 200 of seeds 1..200.
    for name in CQRS {
        let text = lessons::text("messaging", name);
        let passed = (1..=200)
            .filter(|&seed| lessons::run("messaging", name, &text, Some(seed)).passed)
            .count();
        assert_eq!(passed, 200, "{name} holds on {passed} of 200 seeds");
    }
    assert!(lessons::doc(DOC).contains(
        "Each of the four scenarios holds its hypothesis on 200 of the 200 seeds\n1 to 200"
    ));
}
