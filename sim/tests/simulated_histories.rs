//! Histories recorded by the simulator itself (see tests/fixtures/README.md).

use sim::check::{check_linearizable, check_weak, Budget, ModelKind, Verdict};
use sim::history::History;

fn fixture(name: &str) -> History {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture is readable");
    History::from_jsonl(&text).unwrap_or_else(|(line, e)| panic!("{path}:{line}: {e}"))
}

#[test]
fn one_server_without_faults_is_linearizable_and_clean() {
    let h = fixture("single-normal.jsonl");
    let report = check_linearizable(&h, ModelKind::Kv, Budget::default());
    assert_eq!(report.verdict, Verdict::Linearizable, "{report}");
    assert!(check_weak(&h).is_clean(), "{}", check_weak(&h));
}

#[test]
fn a_crash_that_drops_unsynced_writes_is_caught_with_reads_far_behind() {
    let h = fixture("single-crash-unsynced.jsonl");
    let report = check_linearizable(&h, ModelKind::Kv, Budget::default());
    assert!(report.verdict.is_violation(), "{report}");
    let weak = check_weak(&h);
    assert!(
        weak.stale_reads > 0 && weak.versions_behind_max >= 10,
        "{weak}"
    );
    assert!(!weak.read_your_writes.is_empty(), "{weak}");
}
