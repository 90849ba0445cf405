//! Every history in shared/external-histories gets the verdict its
//! `verdicts.tsv` records (Knossos's, porcupine's, or one known by
//! construction), with the default budget: the checker decides what the
//! reference checkers decide, within the default steps and memory.
//!
//! The folder is found through `$CHAOSLAB_SHARED` or `<clone>/../shared`;
//! without it this test says it was skipped (see `shared_corpus`).

use crate::shared_corpus;

use sim::check::parse::{parse_history_counted, Format};
use sim::check::{check_linearizable, Budget, ModelKind, Verdict};

/// One line of verdicts.tsv.
struct Case {
    file: String,
    model: ModelKind,
    /// `Some(true)`: linearizable (exit 0); `Some(false)`: not (exit 1);
    /// `None`: unknown (exit 3).
    expected: Option<bool>,
}

fn cases(text: &str) -> Vec<Case> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(
                cols.len() >= 3,
                "verdicts.tsv:{}: fewer than 3 columns",
                n + 1
            );
            let model = ModelKind::from_name(cols[1].trim())
                .unwrap_or_else(|| panic!("verdicts.tsv:{}: unknown model {:?}", n + 1, cols[1]));
            let expected = match cols[2].trim() {
                "true" => Some(true),
                "false" => Some(false),
                "unknown" => None,
                other => panic!("verdicts.tsv:{}: unknown verdict {other:?}", n + 1),
            };
            Case {
                file: cols[0].to_string(),
                model,
                expected,
            }
        })
        .collect()
}

#[test]
fn every_external_history_gets_its_known_verdict_within_the_default_budget() {
    let Some(dir) = shared_corpus::shared("external-histories") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("verdicts.tsv")).expect("verdicts.tsv is readable");
    let cases = cases(&text);
    assert!(cases.len() >= 250, "only {} histories listed", cases.len());
    let mut wrong = Vec::new();
    let mut slowest = (0u64, String::new());
    for case in &cases {
        let path = dir.join(&case.file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                wrong.push(format!("{}: cannot read: {e}", case.file));
                continue;
            }
        };
        let parsed = match parse_history_counted(&text, Format::Auto, case.model) {
            Ok(p) => p,
            Err(e) => {
                wrong.push(format!("{}: does not parse: {e}", case.file));
                continue;
            }
        };
        let report = check_linearizable(&parsed.history, case.model, Budget::default());
        if report.steps > slowest.0 {
            slowest = (report.steps, case.file.clone());
        }
        let got = match &report.verdict {
            Verdict::Linearizable => Some(true),
            Verdict::NotLinearizable { .. } => Some(false),
            Verdict::Unknown { .. } => None,
        };
        if got != case.expected {
            let first_line = report.verdict.to_string();
            let first_line = first_line.lines().next().unwrap_or_default();
            wrong.push(format!(
                "{} (--model {}): expected {}, got {first_line} after {} step(s); reproduce with: chaoslab check {} --model {}",
                case.file,
                case.model,
                match case.expected {
                    Some(true) => "linearizable",
                    Some(false) => "NOT linearizable",
                    None => "unknown",
                },
                report.steps,
                path.display(),
                case.model
            ));
        }
    }
    eprintln!(
        "{} external histories checked; most steps: {} ({} steps)",
        cases.len(),
        slowest.1,
        slowest.0
    );
    assert!(
        wrong.is_empty(),
        "{} of {} external histories got the wrong verdict:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
