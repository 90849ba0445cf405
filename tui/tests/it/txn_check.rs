//! `chaoslab check --model list-append|rw-register` end to end: each
//! anomaly named from a hand-made history, valid histories passing, exit
//! codes, bad input, JSON.

use crate::common::chaoslab;

/// `chaoslab check tests/fixtures/txn/FILE --model MODEL FLAGS`.
fn check(file: &str, model: &str, flags: &[&str]) -> (i32, String, String) {
    let path = format!("tests/fixtures/txn/{file}");
    let mut args = vec!["check", path.as_str(), "--model", model];
    args.extend_from_slice(flags);
    chaoslab(&args)
}

#[test]
fn each_hand_made_anomaly_is_named_exactly_and_exits_1() {
    let cases = [
        ("g0.edn", "list-append", "G0"),
        ("g1a.edn", "list-append", "G1a"),
        ("g1b.edn", "list-append", "G1b"),
        ("g1c.edn", "list-append", "G1c"),
        ("g-single.edn", "list-append", "G-single"),
        ("g-single.jsonl", "list-append", "G-single"),
        ("g2.edn", "list-append", "G2"),
        ("internal.edn", "list-append", "internal"),
        (
            "incompatible-order.edn",
            "list-append",
            "incompatible-order",
        ),
        (
            "duplicate-elements.edn",
            "list-append",
            "duplicate-elements",
        ),
        ("g1a-rw-register.edn", "rw-register", "G1a"),
        ("g-single-rw-register.edn", "rw-register", "G-single"),
        ("g2-rw-register.edn", "rw-register", "G2"),
    ];
    for (file, model, kind) in cases {
        let (code, out, err) = check(file, model, &[]);
        assert_eq!(code, 1, "{file}: {out}{err}");
        assert!(
            out.contains(&format!("anomalies: {kind} x1\n")),
            "{file} should report exactly one {kind}:\n{out}"
        );
        assert!(
            err.contains(&format!(
                "anomalies found ({kind}): not serializable; reproduce with: chaoslab check tests/fixtures/txn/{file} --model {model}"
            )),
            "{file}: {err}"
        );
        // The JSON says the same.
        let (code, json, _) = check(file, model, &["--json"]);
        assert_eq!(code, 1);
        let v: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
        let counts = v["transactions"]["counts"].as_object().expect("counts");
        assert_eq!(counts.len(), 1, "{file}: {counts:?}");
        assert_eq!(counts[kind], 1, "{file}");
        assert_eq!(v["transactions"]["anomalies"][0]["kind"], kind);
    }
}

#[test]
fn a_cycle_is_spelled_out_with_keys_values_and_edge_kinds() {
    let (_, out, _) = check("g2.edn", "list-append", &[]);
    assert!(
        out.contains("T1 = process 0, line 5: [[:r x []] [:append y 1]]"),
        "{out}"
    );
    assert!(out.contains(
        "- T1 < T2 (rw): T1 read key x = [], which did not include 1, appended next by T2."
    ));
    assert!(out.contains(
        "- T2 < T1 (rw): T2 read key y = [], which did not include 1, appended next by T1."
    ));
    assert!(out.contains("Hence T1 < T2 < T1: a cycle (G2, 2 rw edge(s))"));
}

#[test]
fn valid_histories_exit_0() {
    for (file, model) in [
        ("valid-list-append.edn", "list-append"),
        ("valid-rw-register.edn", "rw-register"),
    ] {
        let (code, out, err) = check(file, model, &[]);
        assert_eq!(code, 0, "{file}: {out}{err}");
        assert!(out.contains("no anomalies: the history is consistent with serializability"));
        let (code, json, _) = check(file, model, &["--json"]);
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["transactions"]["anomalies"], serde_json::json!([]));
        assert_eq!(v["transactions"]["relative_to"], "serializable");
    }
}

#[test]
fn bad_input_exits_2_with_file_line_and_what_is_valid() {
    let (code, _, err) = check("bad-micro-op.edn", "list-append", &[]);
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "tests/fixtures/txn/bad-micro-op.edn:3: micro-op [:inc 1 1] is not a list-append micro-op; expected list-append micro-ops: [:append k v] or [:r k [v ...]]"
    );
    // The right file with the wrong workload.
    let (code, _, err) = check("g2-rw-register.edn", "list-append", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("g2-rw-register.edn:2: micro-op [:w :y 1] is not a list-append micro-op"),
        "{err}"
    );
    // A value written twice: the inference needs unique values.
    let (code, _, err) = check("duplicate-write.edn", "rw-register", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("duplicate-write.edn:5: value 1 is written to key x twice"),
        "{err}"
    );
    // An empty file proves nothing.
    let (code, _, err) = chaoslab(&[
        "check",
        "tests/fixtures/histories/empty.edn",
        "--model",
        "list-append",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("the history has no transactions"), "{err}");
    let (code, _, err) = chaoslab(&[
        "check",
        "tests/fixtures/txn/missing.edn",
        "--model",
        "rw-register",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, err) = check("g2.edn", "list-append", &["--svg", "/tmp/never.svg"]);
    assert_eq!(code, 2);
    assert!(err.contains("--svg draws single-object histories"), "{err}");
}

#[test]
fn an_unknown_model_lists_the_transactional_ones() {
    let (code, _, err) = check("g2.edn", "serializable", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("valid: register, cas-register, kv, list-append, rw-register"),
        "{err}"
    );
}

#[test]
fn the_single_object_models_are_unchanged_by_txn_files() {
    // A transaction history checked as a register is refused, not misread.
    let (code, _, err) = check("g2.edn", "register", &[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_stale_read_passes_serializable_and_fails_strict_serializable() {
    let (code, out, _) = check("stale-read.edn", "list-append", &[]);
    assert_eq!(code, 0, "{out}");
    let (code, out, err) = check(
        "stale-read.edn",
        "list-append",
        &["--consistency", "strict-serializable"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("anomalies: G-single-realtime x1"), "{out}");
    assert!(
        out.contains("T1 completed (at 200) before T2 was invoked (at 300)"),
        "{out}"
    );
    assert!(
        err.contains("not strict-serializable; reproduce with: chaoslab check tests/fixtures/txn/stale-read.edn --model list-append --consistency strict-serializable"),
        "{err}"
    );
}

#[test]
fn consistency_is_refused_for_single_object_models_and_unknown_names() {
    let (code, _, err) = chaoslab(&[
        "check",
        "tests/fixtures/txn/g2.edn",
        "--model",
        "register",
        "--consistency",
        "strict-serializable",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--consistency strict-serializable applies to transaction histories"),
        "{err}"
    );
    let (code, _, err) = check(
        "g2.edn",
        "list-append",
        &["--consistency", "snapshot-isolation"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("valid: serializable, strong-session-serializable, strict-serializable"),
        "{err}"
    );
}
