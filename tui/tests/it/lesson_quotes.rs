//! docs/quorum.md and docs/single.md quote the reports of their scenarios.
//! Each test here runs every scenario a lesson section names, at the
//! scenario's own seed, and checks that every line the section quotes in a
//! plain code block is a line of one of those reports, word for word. When a
//! scenario changes, the test names the quoted lines that no longer hold and
//! prints the reports to take them from:
//!
//! ```sh
//! cargo test -p chaoslab --test it lesson_quotes -- --nocapture
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sim::kernel::TraceMode;
use sim::report::Report;

use crate::common::figures;
use figures::Figures;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The scenario file a backquoted name in `topic`'s lesson refers to, if any:
/// `single/normal`, or `strict-partition` inside docs/quorum.md.
fn scenario_file(topic: &str, name: &str) -> Option<String> {
    let name = name.trim_end_matches(".toml");
    let rel = if name.contains('/') {
        format!("scenarios/{name}.toml")
    } else {
        format!("scenarios/{topic}/{name}.toml")
    };
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
        && root().join(&rel).is_file();
    ok.then_some(rel)
}

fn backquoted(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// One `##` section of a lesson: the scenarios it names and the lines it
/// quotes from their reports.
#[derive(Default)]
struct Section {
    heading: String,
    scenarios: Vec<String>,
    quoted: Vec<String>,
}

fn sections(topic: &str, lesson: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut in_block = false;
    let mut plain_block = false;
    for line in lesson.lines() {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            if in_block {
                in_block = false;
            } else {
                in_block = true;
                // Only plain blocks quote reports; ```sh and ```toml do not.
                plain_block = fence.trim().is_empty();
            }
            continue;
        }
        if !in_block && line.starts_with("## ") {
            out.push(Section {
                heading: line.to_string(),
                ..Section::default()
            });
        }
        let Some(section) = out.last_mut() else {
            continue;
        };
        if in_block {
            let quoted = line.trim();
            if plain_block && !quoted.is_empty() && quoted != "..." {
                section.quoted.push(quoted.to_string());
            }
        } else {
            for name in backquoted(line) {
                if let Some(file) = scenario_file(topic, name) {
                    if !section.scenarios.contains(&file) {
                        section.scenarios.push(file);
                    }
                }
            }
        }
    }
    out
}

fn render(file: &str) -> String {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let s = nodes::parse(file, &text).unwrap_or_else(|e| panic!("{e}"));
    let out = nodes::run(&s, s.meta.seed, TraceMode::Off).unwrap();
    Report::build(&s, &out).render()
}

/// Every quoted line of `docs/{topic}.md` against its section's reports;
/// returns how many lines were checked.
fn check_lesson(topic: &str, lesson_file: &str) -> usize {
    let lesson = std::fs::read_to_string(root().join(lesson_file)).unwrap();
    let mut reports: BTreeMap<String, String> = BTreeMap::new();
    let mut missing = Vec::new();
    let mut checked = 0;
    for section in sections(topic, &lesson) {
        if section.quoted.is_empty() {
            continue;
        }
        assert!(
            !section.scenarios.is_empty(),
            "{lesson_file}: section {:?} quotes a report but names no scenario in backquotes",
            section.heading
        );
        for file in &section.scenarios {
            reports.entry(file.clone()).or_insert_with(|| render(file));
        }
        for quoted in &section.quoted {
            checked += 1;
            let found = section
                .scenarios
                .iter()
                .any(|f| reports[f].lines().any(|l| l.trim() == quoted.as_str()));
            if !found {
                missing.push(format!(
                    "  {}\n    quotes: {quoted}\n    from: {}",
                    section.heading,
                    section.scenarios.join(", ")
                ));
            }
        }
    }
    if !missing.is_empty() {
        for (file, report) in &reports {
            println!("==== {file}\n{report}");
        }
        panic!(
            "{lesson_file} quotes lines its scenarios' reports no longer print (reports above with --nocapture):\n{}",
            missing.join("\n")
        );
    }
    checked
}

/// Checks the lesson's quotes and that at least `min` quoted lines were found
/// (fewer means the parser missed the report blocks).
fn check_lesson_quoting_at_least(topic: &str, lesson_file: &str, min: usize) {
    let n = check_lesson(topic, lesson_file);
    assert!(
        n >= min,
        "only {n} quoted lines found in {lesson_file}: is the parser broken?"
    );
}

#[test]
fn every_report_line_the_quorum_lesson_quotes_is_printed_by_its_scenario() {
    check_lesson_quoting_at_least("quorum", "docs/quorum.md", 40);
}

#[test]
fn every_report_line_the_single_server_lesson_quotes_is_printed_by_its_scenario() {
    check_lesson_quoting_at_least("single", "docs/single.md", 15);
}

#[test]
fn a_changed_figure_in_a_quote_is_caught() {
    let lesson = std::fs::read_to_string(root().join("docs/quorum.md")).unwrap();
    let secs = sections("quorum", &lesson);
    let strict = secs
        .iter()
        .find(|s| s.heading.contains("`strict-partition`"))
        .expect("the strict/sloppy section");
    assert_eq!(
        strict.scenarios,
        [
            "scenarios/quorum/strict-partition.toml",
            "scenarios/quorum/sloppy-partition.toml"
        ]
    );
    let report = render(&strict.scenarios[0]);
    let line = strict
        .quoted
        .iter()
        .find(|q| q.starts_with("coordinator"))
        .expect("a quoted coordinator line");
    assert!(report.lines().any(|l| l.trim() == line.as_str()));
    let altered = line.replacen("requests", "requests and more", 1);
    assert!(!report.lines().any(|l| l.trim() == altered.as_str()));
}

/// docs/quorum.md section 9 states what the same run does with the bug off
/// and with anti-entropy on; the figures it names are these runs'.
#[test]
fn hints_alone_leave_keys_apart_and_anti_entropy_brings_them_together() {
    let file = "scenarios/quorum/bug-hint-never-delivered.toml";
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let run = |src: &str| {
        let s = nodes::parse(file, src).unwrap_or_else(|e| panic!("{e}"));
        let out = nodes::run(&s, s.meta.seed, TraceMode::Off).unwrap();
        Report::build(&s, &out)
    };
    let lesson = std::fs::read_to_string(root().join("docs/quorum.md")).unwrap();
    let flat = lesson.split_whitespace().collect::<Vec<_>>().join(" ");

    let off = run(&text.replace(
        "hint_never_delivered = true",
        "hint_never_delivered = false",
    ));
    let f = Figures::of(&off);
    f.assert_note_has("repair", "20 hints handed back");
    let apart = "replicas disagreeing at the end";
    assert_eq!(f.count(apart), 3);
    assert!(
        f.note(apart).ends_with("0 hint(s) still held"),
        "{}",
        f.note(apart)
    );
    assert!(flat.contains("the hints go home (20 handed back, none left), yet 3 keys still differ"));

    let ae = run(&text.replace(
        "hint_never_delivered = true",
        "hint_never_delivered = true\nanti_entropy_interval = \"1s\"",
    ));
    let f = Figures::of(&ae);
    f.assert_note_has("repair", "12 keys repaired by anti-entropy");
    assert_eq!(f.count(apart), 0);
    f.assert_note_has(apart, "21 hint(s) still held");
    assert!(flat.contains("(12 keys repaired by anti-entropy, 0 keys differ)"));
    assert!(flat.contains("still sit on 21 undelivered hints"));
    assert!(
        ae.invariants
            .iter()
            .any(|i| i.name == "convergence" && i.violations > 0),
        "the convergence check counts the hints still held"
    );
}
