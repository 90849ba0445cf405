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

#[test]
fn histories_written_before_cas_observations_existed_still_read() {
    // single-normal.jsonl predates `found_other`: its cas misses are plain
    // `fail`s, read as "did not happen", and the field is not written back.
    let h = fixture("single-normal.jsonl");
    let fails = h
        .ops
        .iter()
        .filter(|o| o.outcome == sim::history::Outcome::Fail)
        .count();
    assert!(fails > 0);
    assert!(h.ops.iter().all(|o| !o.found_other));
    assert!(!h.to_jsonl().contains("found_other"));
    let mut marked = h.ops[0].clone();
    marked.found_other = true;
    let line = serde_json::to_string(&marked).expect("serialises");
    assert!(line.contains("\"found_other\":true"), "{line}");
}
