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
    report_at(name, None)
}

/// The report of scenario `name` at `seed` (none: the scenario's own).
fn report_at(name: &str, seed: Option<u64>) -> Report {
    let file = format!("scenarios/messaging/{name}.toml");
    let text = std::fs::read_to_string(root().join(&file)).unwrap();
    let s = nodes::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
    let out = nodes::run(&s, seed.unwrap_or(s.meta.seed), TraceMode::Off).unwrap();
    Report::build(&s, &out)
}

/// How many of seeds 1..=200 give each value of figure `figure`.
fn over_seeds(name: &str, figure: &str) -> std::collections::BTreeMap<u64, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for seed in 1..=200 {
        *counts
            .entry(count(&report_at(name, Some(seed)), figure))
            .or_insert(0) += 1;
    }
    counts
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

/// The consumer-group scenarios of the lesson's group table, in its order.
const GROUP_SCENARIOS: [&str; 6] = [
    "group-commit-before",
    "group-commit-after",
    "group-dedup",
    "group-atomic",
    "group-zombie-fenced",
    "group-zombie-unfenced",
];

fn group_table() -> String {
    let mut table = String::from(
        "| scenario | rebalances | fenced commits | lost | delivered twice | repeats dropped | commit-backwards | delivery guarantee |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for name in GROUP_SCENARIOS {
        let r = report(name);
        assert!(r.passed, "{name} fails its hypothesis:\n{}", r.render());
        table.push_str(&format!(
            "| `{name}` | {} | {} | {} | {} | {} | {} | {} |\n",
            count(&r, "rebalances"),
            count(&r, "fenced commits"),
            count(&r, "lost"),
            count(&r, "delivered twice"),
            count(&r, "repeats dropped"),
            count(&r, "commit-backwards"),
            text(&r, "delivery guarantee"),
        ));
    }
    table
}

#[test]
fn the_table_of_the_group_scenarios_is_the_runs() {
    let table = group_table();
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/messaging.md must hold this table as printed:\n{table}"
    );
}

#[test]
fn the_commit_point_decides_the_guarantee_the_checker_names() {
    let before = report("group-commit-before");
    let after = report("group-commit-after");
    let dedup = report("group-dedup");
    let atomic = report("group-atomic");
    assert_eq!(text(&before, "delivery guarantee"), "at-most-once");
    assert!(count(&before, "lost") > 0);
    assert_eq!(text(&after, "delivery guarantee"), "at-least-once");
    assert!(count(&after, "delivered twice") > 0);
    for r in [&dedup, &atomic] {
        assert_eq!(text(r, "delivery guarantee"), "exactly-once effect");
        assert_eq!(count(r, "lost"), 0);
        assert_eq!(count(r, "unseen"), 0);
    }
    // The lesson says the idempotent sink drops exactly what commit-after
    // repeated: the same seed, the same redeliveries, their effects dropped.
    assert_eq!(
        count(&dedup, "repeats dropped"),
        count(&after, "delivered twice")
    );
    assert_eq!(count(&atomic, "repeats dropped"), 0);
}

#[test]
fn the_fence_keeps_the_zombie_from_moving_the_offset_back() {
    let fenced = report("group-zombie-fenced");
    let unfenced = report("group-zombie-unfenced");
    assert!(count(&fenced, "fenced commits") >= 1);
    assert_eq!(count(&fenced, "commit-backwards"), 0);
    assert_eq!(count(&unfenced, "fenced commits"), 0);
    assert!(count(&unfenced, "commit-backwards") >= 1);
    // The lesson: at seed 1 the rebalance after the zombie's wake-up hands
    // out the moved-back offset, and the owner repeats those messages.
    assert_eq!(count(&fenced, "delivered twice"), 20);
    assert_eq!(count(&unfenced, "delivered twice"), 40);
}

#[test]
fn the_moved_back_offset_is_read_on_171_of_200_seeds_and_overtaken_on_seed_4() {
    let twice = over_seeds("group-zombie-unfenced", "delivered twice");
    let repeated_more: u64 = twice.range(40..).map(|(_, n)| n).sum();
    assert_eq!(repeated_more, 171, "{twice:?}");
    assert_eq!(twice.get(&20), Some(&29), "{twice:?}");
    let seed4 = report_at("group-zombie-unfenced", Some(4));
    assert!(count(&seed4, "commit-backwards") >= 1);
    assert_eq!(count(&seed4, "delivered twice"), 20);
    let text = lesson();
    assert!(
        text.contains("Of seeds 1 to 200 that happens on 171; on the other 29 (seed 4 is\none)")
    );
}

#[test]
fn commit_before_loses_only_what_the_crashes_hit() {
    // Two crashes, batches of 10: a crash that lands in a committed batch
    // loses it, a rebalance alone loses nothing. So the loss is 10 or 20.
    let lost = over_seeds("group-commit-before", "lost");
    assert_eq!(
        lost,
        std::collections::BTreeMap::from([(10, 12), (20, 188)]),
        "the lesson's split of seeds 1 to 200"
    );
    assert!(lesson()
        .contains("of seeds 1 to 200, 188 lose 20 (both\n  crashes hit a batch) and 12 lose 10."));
}

#[test]
fn the_backpressure_table_is_the_run_and_the_buffer_stays_bounded() {
    let r = report("group-backpressure");
    assert!(r.passed, "{}", r.render());
    let peak = count(&r, "buffer peak");
    let lag = count(&r, "consumer lag max");
    assert!(peak <= 50 && lag >= 10 * peak, "{}", r.render());
    let table = format!(
        "| scenario | max_buffered | buffer peak | consumer lag max | lost | delivered twice |\n\
         |---|---|---|---|---|---|\n\
         | `group-backpressure` | 50 | {peak} | {lag} | {} | {} |\n",
        count(&r, "lost"),
        count(&r, "delivered twice"),
    );
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/messaging.md must hold this table as printed:\n{table}"
    );
}

/// The report of scenario `name` at its own seed, with `edit` applied to
/// its text first (the lesson's "the same, but ..." runs).
fn report_edited(name: &str, edit: impl Fn(&str) -> String) -> Report {
    let file = format!("scenarios/messaging/{name}.toml");
    let text = edit(&std::fs::read_to_string(root().join(&file)).unwrap());
    let s = nodes::parse(&file, &text).unwrap_or_else(|e| panic!("{e}"));
    let out = nodes::run(&s, s.meta.seed, TraceMode::Off).unwrap();
    Report::build(&s, &out)
}

/// A figure reported only in some runs: its count, or "-".
fn count_or_dash(r: &Report, name: &str) -> String {
    match r.metrics.iter().find(|m| m.name == name).map(|m| &m.value) {
        Some(Value::Count(n)) => n.to_string(),
        _ => "-".into(),
    }
}

/// The poison-message scenarios of the lesson's table, in its order.
const POISON_SCENARIOS: [&str; 3] = ["poison-no-dlq", "poison-dlq", "poison-skip"];

#[test]
fn the_table_of_the_poison_scenarios_is_the_runs() {
    let mut table = String::from(
        "| scenario | poison attempts | blocked partitions | dead-lettered | dlq size | lost | unseen | internal | poll-skip | consumer lag max |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for name in POISON_SCENARIOS {
        let r = report(name);
        assert!(r.passed, "{name} fails its hypothesis:\n{}", r.render());
        table.push_str(&format!(
            "| `{name}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            count(&r, "poison attempts"),
            count(&r, "blocked partitions"),
            count_or_dash(&r, "dead-lettered"),
            count_or_dash(&r, "dlq size"),
            count(&r, "lost"),
            count(&r, "unseen"),
            count(&r, "internal"),
            count(&r, "poll-skip"),
            count(&r, "consumer lag max"),
        ));
    }
    println!("{table}");
    assert!(
        lesson().contains(&table),
        "docs/messaging.md must hold this table as printed:\n{table}"
    );
}

#[test]
fn the_dead_letter_queue_holds_exactly_the_poison_messages() {
    let r = report("poison-dlq");
    assert_eq!(count(&r, "dlq mismatch"), 0);
    assert_eq!(count(&r, "dlq size"), count(&r, "dead-lettered"));
    // Three attempts each, then the queue.
    assert_eq!(count(&r, "poison attempts"), 3 * count(&r, "dead-lettered"));
    assert_eq!(text(&r, "delivery guarantee"), "exactly-once effect");
}

#[test]
fn each_skipped_poison_message_is_lost_and_leaves_one_internal_gap_or_poll_skip() {
    let r = report("poison-skip");
    assert_eq!(count(&r, "lost"), count(&r, "poison attempts"));
    assert_eq!(
        count(&r, "internal") + count(&r, "poll-skip"),
        count(&r, "lost"),
        "{}",
        r.render()
    );
    assert_eq!(text(&r, "delivery guarantee"), "at-most-once");
}

#[test]
fn without_a_dead_letter_queue_the_poison_message_and_all_behind_it_are_unseen() {
    let r = report("poison-no-dlq");
    assert_eq!(count(&r, "lost"), 0);
    assert_eq!(count(&r, "unseen"), count(&r, "never delivered"));
    assert!(count(&r, "unseen") >= 200, "{}", r.render());
}

/// The rebalance-storm scenario, then the same with a longer session
/// timeout, then the same with no stall.
fn storm_runs() -> [(&'static str, &'static str, Report); 3] {
    let long = report_edited("group-rebalance-storm", |t| {
        t.replace(
            "send_rate = 200\n",
            "send_rate = 200\nsession_timeout = \"1s\"\n",
        )
    });
    let none = report_edited("group-rebalance-storm", |t| {
        let (head, rest) = t.split_once("[[faults]]").unwrap();
        format!("{head}{}", &rest[rest.find("[expect]").unwrap()..])
    });
    [
        (
            "`group-rebalance-storm`",
            "300ms",
            report("group-rebalance-storm"),
        ),
        ("the same, `session_timeout = \"1s\"`", "1s", long),
        ("the same, no stall", "300ms", none),
    ]
}

#[test]
fn the_rebalance_storm_table_is_the_runs() {
    let mut table = String::from(
        "| run | session_timeout | rebalances | fenced commits | delivered twice | consumer lag max |\n\
         |---|---|---|---|---|---|\n",
    );
    let runs = storm_runs();
    for (name, session, r) in &runs {
        assert_eq!(count(r, "lost"), 0, "{name}");
        table.push_str(&format!(
            "| {name} | {session} | {} | {} | {} | {} |\n",
            count(r, "rebalances"),
            count(r, "fenced commits"),
            count(r, "delivered twice"),
            count(r, "consumer lag max"),
        ));
    }
    println!("{table}");
    assert!(runs[0].2.passed, "{}", runs[0].2.render());
    // The lesson's reading: the storm repeats work that the long session
    // does not, and the long session lets the stalled partition wait.
    assert!(count(&runs[0].2, "rebalances") >= 4 * count(&runs[1].2, "rebalances"));
    assert_eq!(count(&runs[1].2, "delivered twice"), 0);
    assert!(count(&runs[1].2, "consumer lag max") > count(&runs[0].2, "consumer lag max"));
    assert!(count(&runs[0].2, "consumer lag max") > 3 * count(&runs[2].2, "consumer lag max"));
    assert!(
        lesson().contains(&table),
        "docs/messaging.md must hold this table as printed:\n{table}"
    );
}

#[test]
fn every_jepsen_anomaly_is_shown_by_a_scenario_that_expects_it() {
    let rows = [
        ("lost", "acks1-leader-crash"),
        ("unseen", "poison-no-dlq"),
        ("duplicate", "retries-duplicate"),
        ("duplicate-delivery", "group-commit-after"),
        ("poll-skip", "poison-skip"),
        ("nonmonotonic-poll", "unclean-election"),
        ("nonmonotonic-send", "retries-duplicate"),
        ("internal", "poison-skip"),
    ];
    let mut table = String::from("| anomaly | scenario |\n|---|---|\n");
    for (anomaly, name) in rows {
        let r = report(name);
        assert!(r.passed, "{name}:\n{}", r.render());
        assert!(count(&r, anomaly) >= 1, "{name} shows no {anomaly}");
        // The hypothesis itself asks for it (or, for duplicate-delivery,
        // for what it counts: messages delivered twice).
        let file = std::fs::read_to_string(root().join(format!("scenarios/messaging/{name}.toml")))
            .unwrap();
        let wanted = if anomaly == "duplicate-delivery" {
            "delivered twice"
        } else {
            anomaly
        };
        assert!(
            file.contains(&format!("[expect.measure.\"{wanted}\"]\nmin = ")),
            "{name} does not expect {wanted}"
        );
        table.push_str(&format!("| `{anomaly}` | `{name}` |\n"));
    }
    assert!(
        lesson().contains(&table),
        "docs/messaging.md must hold:\n{table}"
    );
}
