//! What the lesson tests share: the repository's files, a bundled scenario
//! run to its report, its figures read typed, and the check that a lesson
//! holds a table word for word (`use crate::common::lessons;`).

// Each lesson test uses the helpers it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sim::kernel::TraceMode;
use sim::metric::{Metric, Value};
use sim::report::Report;

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The text of `scenarios/{folder}/{name}.toml`.
pub fn text(folder: &str, name: &str) -> String {
    let path = root().join(format!("scenarios/{folder}/{name}.toml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `text` as `scenarios/{folder}/{name}.toml` on `seed` (`None`: the
/// scenario's own) with tracing off, and builds its report.
pub fn run(folder: &str, name: &str, text: &str, seed: Option<u64>) -> Report {
    let s = nodes::parse(&format!("scenarios/{folder}/{name}.toml"), text)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = nodes::run(&s, seed.unwrap_or(s.meta.seed), TraceMode::Off).unwrap();
    Report::build(&s, &out)
}

/// The figure `name`; panics with the whole report if there is none.
pub fn figure<'r>(r: &'r Report, name: &str) -> &'r Metric {
    r.metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no figure {name:?} in\n{}", r.render()))
}

/// A figure that is a plain number (a count, a rate, a ratio, a number, a
/// duration in nanoseconds).
pub fn scalar(r: &Report, name: &str) -> f64 {
    figure(r, name)
        .value
        .scalar()
        .unwrap_or_else(|| panic!("{name:?} is {:?}", figure(r, name).value))
}

pub fn count(r: &Report, name: &str) -> u64 {
    match figure(r, name).value {
        Value::Count(n) => n,
        ref v => panic!("{name:?} is {v:?}"),
    }
}

pub fn duration(r: &Report, name: &str) -> u64 {
    match figure(r, name).value {
        Value::Duration(d) => d,
        ref v => panic!("{name:?} is {v:?}"),
    }
}

pub fn ratio(r: &Report, name: &str) -> f64 {
    match figure(r, name).value {
        Value::Ratio(x) => x,
        ref v => panic!("{name:?} is {v:?}"),
    }
}

pub fn number(r: &Report, name: &str) -> f64 {
    match figure(r, name).value {
        Value::Number(x) => x,
        ref v => panic!("{name:?} is {v:?}"),
    }
}

/// The text of `docs/{doc}`.
pub fn doc(doc: &str) -> String {
    std::fs::read_to_string(root().join("docs").join(doc)).unwrap()
}

/// Prints `table` and asserts `docs/{doc}` holds it word for word.
pub fn assert_in_doc(doc: &str, what: &str, table: &str) {
    println!("{table}");
    assert!(
        self::doc(doc).contains(table),
        "docs/{doc} does not hold the {what} table as the runs give it:\n{table}"
    );
}

/// The resilience lesson: `scenarios/resilience/` and docs/resilience.md,
/// which four lesson tests read.
pub mod resilience {
    use sim::report::Report;

    /// The text of `scenarios/resilience/{name}.toml`.
    pub fn text(name: &str) -> String {
        super::text("resilience", name)
    }

    /// Runs `text` as `scenarios/resilience/{name}.toml` on its own seed.
    pub fn report(name: &str, text: &str) -> Report {
        super::run("resilience", name, text, None)
    }

    /// Runs `text` as `scenarios/resilience/{name}.toml` on `seed`.
    pub fn report_on(name: &str, text: &str, seed: u64) -> Report {
        super::run("resilience", name, text, Some(seed))
    }

    /// Prints `table` and asserts docs/resilience.md holds it word for word.
    pub fn in_lesson(what: &str, table: &str) {
        super::assert_in_doc("resilience.md", what, table)
    }
}
