//! Every history in shared/reference-histories gets its known verdict.
//!
//! The folder is found through `$CHAOSLAB_SHARED` or `<clone>/../shared` (see
//! `shared_corpus`); without it these tests say they were skipped.

use crate::shared_corpus;

use std::path::PathBuf;

use sim::check::parse::{parse_history, Format};
use sim::check::{check_linearizable, Budget, ModelKind, Verdict};

fn corpus() -> PathBuf {
    shared_corpus::shared("reference-histories/porcupine")
        .expect("checked by the test before it reads a file")
}

fn present() -> bool {
    shared_corpus::shared("reference-histories/porcupine").is_some()
}

/// (file relative to the corpus, expected linearizable) from verdicts.tsv.
fn verdicts() -> Vec<(String, bool)> {
    let text =
        std::fs::read_to_string(corpus().join("verdicts.tsv")).expect("verdicts.tsv is readable");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            let file = cols.next().expect("a file column").to_string();
            let verdict = cols.next().expect("a verdict column").trim() == "true";
            (file, verdict)
        })
        .collect()
}

fn check_file(file: &str) -> Verdict {
    let text = std::fs::read_to_string(corpus().join(file)).expect("history is readable");
    let model = if file.starts_with("kv/") {
        ModelKind::Kv
    } else {
        ModelKind::CasRegister
    };
    let history =
        parse_history(&text, Format::Auto, model).unwrap_or_else(|e| panic!("{file}: {e}"));
    check_linearizable(&history, model, Budget::default()).verdict
}

#[test]
fn verdicts_file_lists_all_102_etcd_runs_and_6_kv_histories() {
    if !present() {
        return;
    }
    let v = verdicts();
    assert_eq!(
        v.iter().filter(|(f, _)| f.starts_with("jepsen/")).count(),
        102
    );
    assert_eq!(v.iter().filter(|(f, _)| f.starts_with("kv/")).count(), 6);
}

#[test]
fn every_etcd_history_gets_its_known_verdict() {
    if !present() {
        return;
    }
    let mut wrong = Vec::new();
    for (file, expected) in verdicts()
        .into_iter()
        .filter(|(f, _)| f.starts_with("jepsen/"))
    {
        let verdict = check_file(&file);
        let ok = if expected {
            verdict.is_linearizable()
        } else {
            verdict.is_violation()
        };
        if !ok {
            wrong.push(format!(
                "{file}: expected linearizable={expected}, got {verdict}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong verdict(s):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_kv_history_gets_its_known_verdict() {
    if !present() {
        return;
    }
    for (file, expected) in verdicts().into_iter().filter(|(f, _)| f.starts_with("kv/")) {
        let verdict = check_file(&file);
        let ok = if expected {
            verdict.is_linearizable()
        } else {
            verdict.is_violation()
        };
        assert!(
            ok,
            "{file}: expected linearizable={expected}, got {verdict}"
        );
    }
}

#[test]
fn linearizable_reference_histories_show_no_weaker_anomaly() {
    if !present() {
        return;
    }
    for (file, expected) in verdicts() {
        if !expected {
            continue;
        }
        let text = std::fs::read_to_string(corpus().join(&file)).expect("history is readable");
        let model = if file.starts_with("kv/") {
            ModelKind::Kv
        } else {
            ModelKind::CasRegister
        };
        let history = parse_history(&text, Format::Auto, model).expect("parses");
        let weak = sim::check::check_weak(&history);
        assert!(weak.is_clean(), "{file}:\n{weak}");
    }
}

#[test]
fn the_empty_etcd_run_parses_to_an_empty_linearizable_history() {
    if !present() {
        return;
    }
    assert_eq!(check_file("jepsen/etcd_095.log"), Verdict::Linearizable);
}
