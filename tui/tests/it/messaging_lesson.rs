//! docs/messaging.md makes claims about the messaging scenarios; the tests
//! here run them at their own seeds, regenerate the lesson's table, which
//! must match the document word for word, and check each claim the text
//! makes beside it:
//!
//! ```sh
//! cargo test -p chaoslab --test it messaging_lesson -- --nocapture
//! ```
//!
//! prints the table.

use std::path::Path;

use sim::kernel::TraceMode;
use sim::metric::Value;
use sim::report::Report;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn report(name: &str) -> Report {
    let file = format!("scenarios/messaging/{name}.toml");
    let text = std::fs::read_to_string(root().join(&file)).unwrap();
    let s = nodes::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
    let out = nodes::run(&s, s.meta.seed, TraceMode::Off).unwrap();
    Report::build(&s, &out)
}

fn value<'r>(r: &'r Report, name: &str) -> &'r Value {
    &r.metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no figure {name:?} in\n{}", r.render()))
        .value
}

fn count(r: &Report, name: &str) -> u64 {
    match value(r, name) {
        Value::Count(n) => *n,
        v => panic!("{name:?} is {v:?}"),
    }
}

fn text(r: &Report, name: &str) -> String {
    match value(r, name) {
        Value::Text(t) => t.clone(),
        v => panic!("{name:?} is {v:?}"),
    }
}

fn lesson() -> String {
    std::fs::read_to_string(root().join("docs/messaging.md")).unwrap()
}

/// The scenarios of the table, in its order.
const SCENARIOS: [&str; 5] = [
    "acks1-leader-crash",
    "acks-all-min-isr2",
    "unclean-election",
    "retries-duplicate",
    "idempotent-producer",
];

#[test]
fn the_table_of_the_five_scenarios_is_the_runs() {
    let mut table = String::from(
        "| scenario | acknowledged | lost | inconsistent-offset | duplicate | reorder | delivery guarantee |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for name in SCENARIOS {
        let r = report(name);
        assert!(r.passed, "{name} fails its hypothesis:\n{}", r.render());
        table.push_str(&format!(
            "| `{name}` | {} | {} | {} | {} | {} | {} |\n",
            count(&r, "acknowledged sends"),
            count(&r, "lost"),
            count(&r, "inconsistent-offset"),
            count(&r, "duplicate"),
            count(&r, "reorder"),
            text(&r, "delivery guarantee"),
        ));
    }
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/messaging.md must hold this table as printed:\n{table}"
    );
}

#[test]
fn acks_all_loses_nothing_but_still_duplicates_without_idempotence() {
    // The lesson's point: durability and exactly-once are different
    // promises; acks = "all" gives the first and not the second.
    let r = report("acks-all-min-isr2");
    assert_eq!(count(&r, "lost"), 0);
    assert_eq!(count(&r, "never delivered"), 0);
    assert!(count(&r, "duplicate") > 0, "{}", r.render());
    assert_eq!(text(&r, "delivery guarantee"), "at-least-once");
}

#[test]
fn the_unclean_election_rewrites_offsets_the_consumer_had_read() {
    let r = report("unclean-election");
    assert_eq!(count(&r, "unclean elections"), 1);
    assert!(count(&r, "inconsistent-offset") > count(&r, "lost"));
    // The consumer goes back to re-read the replaced offsets rather than
    // jumping past the new leader's messages: it skips nothing, so what is
    // lost is only what the old leader alone had, and little of it.
    assert_eq!(count(&r, "poll-skip"), 0);
    assert!(count(&r, "nonmonotonic-poll") >= 1, "{}", r.render());
    assert!((1..=5).contains(&count(&r, "lost")), "{}", r.render());
}
