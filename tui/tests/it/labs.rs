//! The Maelstrom labs (`scenarios/labs/`, docs/labs.md): the table of
//! figures the lesson prints is regenerated from the runs and must match
//! it word for word, each bug flag breaks what its reference node keeps,
//! and a bad `[system]` field is refused with what would be valid.
//!
//! ```sh
//! cargo test -p chaoslab --test it labs:: -- --nocapture
//! ```
//!
//! prints the table.

use std::path::Path;

use sim::kernel::TraceMode;
use sim::report::Report;
use sim::time::fmt_duration;

use crate::common::chaoslab;
use crate::common::figures::Figures;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn source(name: &str) -> (String, String) {
    let file = format!("scenarios/labs/{name}.toml");
    let text = std::fs::read_to_string(root().join(&file)).unwrap();
    (file, text)
}

fn run_text(file: &str, text: &str) -> Report {
    let s = nodes::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
    let out = nodes::run(&s, s.meta.seed, TraceMode::Off).unwrap();
    Report::build(&s, &out)
}

fn report(name: &str) -> Report {
    let (file, text) = source(name);
    run_text(&file, &text)
}

/// The scenarios of the lesson's table, in its order.
const SCENARIOS: [&str; 9] = [
    "echo",
    "unique-ids-partition",
    "bug-unique-ids-counter-only",
    "broadcast-partition",
    "bug-broadcast-no-retry",
    "g-set-partition",
    "g-counter-partition",
    "pn-counter-partition",
    "bug-g-counter-sum-merge",
];

/// The figure that shows each workload's failures, for the table.
fn anomalies(f: &Figures, workload: &str) -> String {
    let n = |name: &str| f.count(name);
    match workload {
        "echo" => format!("echo mismatches {}", n("echo mismatches")),
        "unique-ids" => format!("duplicate ids {}", n("duplicate ids")),
        "broadcast" | "g-set" => format!("lost {}, unexpected {}", n("lost"), n("unexpected")),
        _ => format!(
            "final reads out of bounds {}",
            n("final reads out of bounds")
        ),
    }
}

#[test]
fn the_table_of_the_lab_scenarios_is_the_runs() {
    let mut table = String::from(
        "| scenario | verdict | operations ok | anomalies | messages per op | stable latency p50 / max |\n\
         |---|---|---|---|---|---|\n",
    );
    for name in SCENARIOS {
        let r = report(name);
        assert!(r.passed, "{name} fails its hypothesis:\n{}", r.render());
        let f = Figures::of(&r);
        let setting = f.get("maelstrom").value.clone();
        let workload = format!("{setting:?}");
        let workload = [
            "unique-ids",
            "broadcast",
            "g-set",
            "g-counter",
            "pn-counter",
            "echo",
        ]
        .into_iter()
        .find(|w| workload.contains(w))
        .unwrap();
        let verdict = match &f.get("verdict").value {
            sim::metric::Value::Text(t) => t.clone(),
            v => panic!("verdict is {v:?}"),
        };
        let latency = if matches!(workload, "broadcast" | "g-set") {
            format!(
                "{} / {}",
                fmt_duration(f.duration("stable latency p50")),
                fmt_duration(f.duration("stable latency max"))
            )
        } else {
            "-".to_string()
        };
        table.push_str(&format!(
            "| `{name}` | {verdict} | {}/{} | {} | {:.2} | {latency} |\n",
            r.ops.ok,
            r.ops.total,
            anomalies(&f, workload),
            f.number("messages per op"),
        ));
    }
    println!("{table}");
    let lesson = std::fs::read_to_string(root().join("docs/labs.md")).unwrap();
    assert!(
        lesson.contains(&table),
        "docs/labs.md must hold this table as printed:\n{table}"
    );
}

#[test]
fn each_bug_flag_breaks_what_its_reference_node_keeps() {
    // The same scenario, the flag the only difference: the reference
    // passes the checker, the flagged node fails the criterion named.
    for (name, bug, criterion) in [
        ("broadcast-partition", "no-retry", "lost"),
        ("unique-ids-partition", "counter-only", "duplicate ids"),
        (
            "g-counter-partition",
            "sum-merge",
            "final reads out of bounds",
        ),
    ] {
        let (file, text) = source(name);
        let good = Figures::of(&run_text(&file, &text));
        assert_eq!(good.count("criteria failed"), 0, "{name}");
        assert_eq!(good.count(criterion), 0, "{name}");
        let flagged = text.replace(
            "node = \"reference\"\n",
            &format!("node = \"reference\"\nbug = \"{bug}\"\n"),
        );
        let bad = Figures::of(&run_text(&file, &flagged));
        assert!(bad.count(criterion) > 0, "{name} with {bug}");
        assert!(bad.count("criteria failed") >= 1, "{name} with {bug}");
    }
}

#[test]
fn broadcast_without_retries_is_faster_and_loses_what_retries_deliver_late() {
    // Retries trade latency for delivery: the reference node delivers the
    // partition's messages seconds late, the no-retry node never.
    let r = report("bug-broadcast-no-retry");
    let f = Figures::of(&r);
    assert!(f.count("lost") >= 10, "{}", r.render());
    let good = Figures::of(&report("broadcast-partition"));
    assert_eq!(good.count("lost"), 0);
    assert!(
        good.duration("stable latency max") > f.duration("stable latency max"),
        "retries deliver the partition's messages late; without them they are never delivered"
    );
}

#[test]
fn a_bad_maelstrom_field_is_refused_with_what_would_be_valid() {
    let dir = std::env::temp_dir().join(format!("chaoslab-labs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_, text) = source("broadcast-partition");
    for (from, to, says) in [
        (
            "workload = \"broadcast\"",
            "workload = \"kafka\"",
            "workload = \"kafka\" is not a workload chaoslab runs; it must be one of \"echo\", \"unique-ids\", \"broadcast\"",
        ),
        (
            "node = \"reference\"",
            "node = \"mine\"",
            "the only node implementation so far is \"reference\"",
        ),
        (
            "topology = \"grid\"",
            "topology = \"star\"",
            "must be \"grid\", \"line\" or \"total\"",
        ),
        (
            "stop = \"8s\"",
            "stop = \"11s\"",
            "must last at least",
        ),
    ] {
        let file = dir.join("bad.toml");
        std::fs::write(&file, text.replace(from, to)).unwrap();
        let (code, _, err) = chaoslab(&["run", file.to_str().unwrap()]);
        assert_eq!(code, 2, "{to}: {err}");
        assert!(err.contains(says), "{to}: {err}");
        assert!(err.contains("bad.toml"), "the error names the file: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
