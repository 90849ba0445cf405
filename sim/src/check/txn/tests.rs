//! Hand-made histories, one per anomaly (Adya's and Elle's definitions), and
//! valid ones that must report nothing.

use super::*;
use crate::check::parse::Format;

/// An EDN history: transaction i is process i, invoked and completed
/// (`kind` :ok, :fail or :info) with `value`. No real-time order matters to
/// the checker, so serial lines stand for any interleaving.
fn edn(txns: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (kind, value)) in txns.iter().enumerate() {
        out.push_str(&format!(
            "{{:type :invoke, :f :txn, :value {value}, :process {i}, :time {}}}\n",
            i * 10
        ));
        out.push_str(&format!(
            "{{:type :{kind}, :f :txn, :value {value}, :process {i}, :time {}}}\n",
            i * 10 + 5
        ));
    }
    out
}

fn check(model: TxnModel, txns: &[(&str, &str)]) -> TxnReport {
    let h = parse_txn_history(&edn(txns), Format::Edn, model).expect("a valid history");
    validate(&h, model).expect("unique values");
    check_txn(&h, model)
}

fn kinds(r: &TxnReport) -> Vec<&'static str> {
    r.kinds().iter().map(|k| k.name()).collect()
}

const LA: TxnModel = TxnModel::ListAppend;
const RW: TxnModel = TxnModel::RwRegister;

#[test]
fn list_append_g0_write_cycle() {
    // x is appended by T1 then T2, y by T2 then T1: the writes interleave.
    let r = check(
        LA,
        &[
            ("ok", "[[:append x 1] [:append y 2]]"),
            ("ok", "[[:append x 2] [:append y 1]]"),
            ("ok", "[[:r x [1 2]] [:r y [1 2]]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G0"]);
    let a = &r.anomalies[0];
    assert_eq!(a.cycle.len(), 2);
    assert!(a.cycle.iter().all(|s| s.kind == "ww"));
    assert!(
        a.explanation
            .contains("T1 appended 1 to key x, and T2 appended 2 right after it"),
        "{}",
        a.explanation
    );
    assert!(a
        .explanation
        .contains("T2 appended 1 to key y, and T1 appended 2 right after it"));
}

#[test]
fn list_append_g1c_circular_information_flow() {
    let r = check(
        LA,
        &[
            ("ok", "[[:append x 1] [:r y [1]]]"),
            ("ok", "[[:append y 1] [:r x [1]]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G1c"]);
    assert!(r.anomalies[0].cycle.iter().all(|s| s.kind == "wr"));
}

#[test]
fn list_append_g_single_read_skew() {
    // T2 sees T1's append to y but not its append to x.
    let r = check(
        LA,
        &[
            ("ok", "[[:append x 1] [:append y 1]]"),
            ("ok", "[[:r x []] [:r y [1]]]"),
            ("ok", "[[:r x [1]]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G-single"]);
    let a = &r.anomalies[0];
    let mut edges: Vec<&str> = a.cycle.iter().map(|s| s.kind).collect();
    edges.sort_unstable();
    assert_eq!(edges, ["rw", "wr"]);
    assert!(
        a.explanation
            .contains("T2 read key x = [], which did not include 1, appended next by T1"),
        "{}",
        a.explanation
    );
}

#[test]
fn list_append_g2_write_skew() {
    // Each reads the key the other appends to, before the other's append.
    let r = check(
        LA,
        &[
            ("ok", "[[:r x []] [:append y 1]]"),
            ("ok", "[[:r y []] [:append x 1]]"),
            ("ok", "[[:r x [1]] [:r y [1]]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G2"]);
    assert!(r.anomalies[0].cycle.iter().all(|s| s.kind == "rw"));
}

#[test]
fn list_append_g1a_aborted_read() {
    let r = check(LA, &[("fail", "[[:append x 1]]"), ("ok", "[[:r x [1]]]")]);
    assert_eq!(kinds(&r), ["G1a"]);
    assert!(r.anomalies[0].explanation.contains("failed (aborted)"));
}

#[test]
fn list_append_g1b_intermediate_read() {
    let r = check(
        LA,
        &[
            ("ok", "[[:append x 1] [:append x 2]]"),
            ("ok", "[[:r x [1]]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G1b"]);
}

#[test]
fn list_append_internal_inconsistency() {
    let r = check(LA, &[("ok", "[[:append x 1] [:r x []]]")]);
    assert_eq!(kinds(&r), ["internal"]);
    let r = check(
        LA,
        &[
            ("ok", "[[:r x []] [:append x 1] [:r x [2 1]]]"),
            ("ok", "[[:append x 2]]"),
        ],
    );
    assert!(kinds(&r).contains(&"internal"), "{:?}", kinds(&r));
}

#[test]
fn list_append_incompatible_order() {
    let r = check(
        LA,
        &[
            ("ok", "[[:append x 1]]"),
            ("ok", "[[:append x 2]]"),
            ("ok", "[[:r x [1 2]]]"),
            ("ok", "[[:r x [2 1]]]"),
        ],
    );
    assert_eq!(kinds(&r), ["incompatible-order"]);
}

#[test]
fn list_append_duplicate_elements() {
    let r = check(LA, &[("ok", "[[:append x 1]]"), ("ok", "[[:r x [1 1]]]")]);
    assert_eq!(kinds(&r), ["duplicate-elements"]);
}

#[test]
fn list_append_serial_history_is_valid() {
    let r = check(
        LA,
        &[
            ("ok", "[[:append x 1] [:r x [1]]]"),
            ("ok", "[[:r x [1]] [:append x 2] [:r x [1 2]]]"),
            ("ok", "[[:r x [1 2]] [:append y 5]]"),
            ("ok", "[[:r y [5]] [:r z nil]]"),
        ],
    );
    assert!(r.is_valid(), "{:?}", r.anomalies);
    assert_eq!((r.edges.ww, r.edges.wr), (1, 3));
}

#[test]
fn list_append_concurrent_history_with_aborts_and_unknowns_is_valid() {
    let r = check(
        LA,
        &[
            ("info", "[[:append x 1]]"),
            ("fail", "[[:append x 2]]"),
            ("ok", "[[:r x []]]"),
            ("ok", "[[:append x 3] [:append y 1]]"),
            ("ok", "[[:r y []] [:r x []]]"),
            ("ok", "[[:r x [3]] [:r y [1]]]"),
            ("info", "[[:append y 2] [:r y nil]]"),
            ("ok", "[[:r y [1 2]]]"),
        ],
    );
    assert!(r.is_valid(), "{:?}", r.anomalies);
    assert_eq!((r.committed, r.aborted, r.indeterminate), (5, 1, 2));
}

#[test]
fn rw_register_g0_through_overwrites() {
    // Each read the other's write and then wrote over it.
    let r = check(
        RW,
        &[
            ("ok", "[[:w x 1] [:r y 2] [:w y 3]]"),
            ("ok", "[[:r x 1] [:w x 2] [:w y 2]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G0"]);
}

#[test]
fn rw_register_g1c() {
    let r = check(
        RW,
        &[("ok", "[[:w x 1] [:r y 1]]"), ("ok", "[[:w y 1] [:r x 1]]")],
    );
    assert_eq!(kinds(&r), ["G1c"]);
}

#[test]
fn rw_register_g_single() {
    let r = check(
        RW,
        &[
            ("ok", "[[:w x 1] [:w y 1]]"),
            ("ok", "[[:r x nil] [:r y 1]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G-single"]);
    assert!(r.anomalies[0]
        .explanation
        .contains("T2 read key x = nil, the initial state, which T1's write of 1 comes after"));
}

#[test]
fn rw_register_g2_write_skew() {
    let r = check(
        RW,
        &[
            ("ok", "[[:r x nil] [:w y 1]]"),
            ("ok", "[[:r y nil] [:w x 1]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G2"]);
}

#[test]
fn rw_register_lost_update_is_g_single_not_g2() {
    // T2 and T3 both read x = 1 and both write x: whichever wrote second
    // overwrote a version it never read. In either order that is one ww and
    // one rw edge: G-single (Elle's lost update), not G2.
    let r = check(
        RW,
        &[
            ("ok", "[[:w x 1]]"),
            ("ok", "[[:r x 1] [:w x 2]]"),
            ("ok", "[[:r x 1] [:w x 3]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G-single"]);
    assert!(r.anomalies[0].explanation.contains("a lost update"));
    // The same from the initial state.
    let r = check(
        RW,
        &[
            ("ok", "[[:r x nil] [:w x 2]]"),
            ("ok", "[[:r x nil] [:w x 3]]"),
        ],
    );
    assert_eq!(kinds(&r), ["G-single"]);
    // One of them alone, or one that read the other's write, is fine.
    let r = check(
        RW,
        &[
            ("ok", "[[:r x nil] [:w x 2]]"),
            ("ok", "[[:r x 2] [:w x 3]]"),
        ],
    );
    assert!(kinds(&r).is_empty(), "{:?}", kinds(&r));
}

#[test]
fn rw_register_g1a_g1b_internal() {
    let r = check(RW, &[("fail", "[[:w x 1]]"), ("ok", "[[:r x 1]]")]);
    assert_eq!(kinds(&r), ["G1a"]);
    let r = check(RW, &[("ok", "[[:w x 1] [:w x 2]]"), ("ok", "[[:r x 1]]")]);
    assert_eq!(kinds(&r), ["G1b"]);
    let r = check(RW, &[("ok", "[[:w x 1] [:r x 2]]"), ("ok", "[[:w x 2]]")]);
    assert!(kinds(&r).contains(&"internal"), "{:?}", kinds(&r));
    let r = check(RW, &[("ok", "[[:r x nil] [:r x 3]]"), ("ok", "[[:w x 3]]")]);
    assert!(kinds(&r).contains(&"internal"), "{:?}", kinds(&r));
}

#[test]
fn rw_register_valid_histories() {
    let r = check(
        RW,
        &[
            ("ok", "[[:r x nil] [:w x 1]]"),
            ("ok", "[[:r x 1] [:w x 2]]"),
            ("ok", "[[:r x 2] [:w x 3] [:r x 3]]"),
            ("info", "[[:w y 1]]"),
            ("fail", "[[:w y 2]]"),
            ("ok", "[[:r y nil]]"),
            ("ok", "[[:r y 1] [:r x 3]]"),
        ],
    );
    assert!(r.is_valid(), "{:?}", r.anomalies);
}

#[test]
fn a_micro_op_of_the_other_workload_is_bad_input_with_its_line() {
    let e = parse_txn_history(&edn(&[("ok", "[[:w x 1]]")]), Format::Edn, LA).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(
        e.problem.contains("[:w x 1] is not a list-append micro-op"),
        "{e}"
    );
    assert!(e.expected.contains("[:append k v]"));
    let e = parse_txn_history(
        "{:type :invoke, :f :read, :value nil, :process 0}\n",
        Format::Edn,
        LA,
    )
    .unwrap_err();
    assert!(e.problem.contains("is not :txn"), "{e}");
}

#[test]
fn a_value_appended_twice_is_bad_input() {
    let h = parse_txn_history(
        &edn(&[("ok", "[[:append x 1]]"), ("ok", "[[:append x 1]]")]),
        Format::Edn,
        LA,
    )
    .unwrap();
    let e = validate(&h, LA).unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.problem.contains("appended to key x twice"), "{e}");
}

#[test]
fn a_completion_that_is_not_its_invocation_is_bad_input() {
    let text = "{:type :invoke, :f :txn, :value [[:append 1 2]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:append 1 3]], :process 0}\n";
    let e = parse_txn_history(text, Format::Edn, LA).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.problem.contains("not the one invoked at line 1"), "{e}");
}

#[test]
fn nemesis_events_are_skipped_and_open_invocations_are_indeterminate() {
    let text = "{:type :info, :f :start-partition, :value nil, :process :nemesis}\n\
                {:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 3, :time 7}\n";
    let h = parse_txn_history(text, Format::Auto, LA).unwrap();
    assert_eq!(h.txns.len(), 1);
    assert_eq!(h.txns[0].outcome, crate::history::Outcome::Info);
    assert_eq!(h.txns[0].call_ns, 7);
    assert_eq!(
        h.txns[0].mops[1],
        Mop::Read {
            key: "1".into(),
            value: ReadValue::Unknown
        }
    );
}

#[test]
fn json_lines_round_trip() {
    for model in TxnModel::ALL {
        let h = synth::serializable_history(model, 7, 200, 5, 4);
        let text = h.to_jsonl();
        let back = parse_txn_history(&text, Format::Auto, model).unwrap();
        assert_eq!(back.txns.len(), h.txns.len());
        for (a, b) in back.txns.iter().zip(&h.txns) {
            assert_eq!(
                (a.process, a.outcome, &a.mops),
                (b.process, b.outcome, &b.mops)
            );
        }
        assert_eq!(check_txn(&back, model), check_txn(&h, model));
    }
}

#[test]
fn json_lines_errors_name_the_line_and_field() {
    let text = "{\"process\":0,\"outcome\":\"ok\",\"txn\":[[\"append\",\"x\",1]]}\n\
                {\"process\":1,\"outcome\":\"done\",\"txn\":[]}\n";
    let e = parse_txn_history(text, Format::Jsonl, LA).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.problem.contains("\"outcome\""), "{e}");
}

#[test]
fn generated_serializable_histories_have_no_anomaly() {
    for model in TxnModel::ALL {
        for seed in 0..5 {
            let h = synth::serializable_history(model, seed, 2_000, 20, 8);
            validate(&h, model).unwrap();
            let r = check_txn(&h, model);
            assert!(
                r.is_valid(),
                "{model} seed {seed}: {:?}",
                r.anomalies.first()
            );
            assert!(r.edges.wr > 0 && r.edges.rw > 0);
        }
    }
}

#[test]
fn a_lost_append_in_a_generated_history_is_found() {
    // Drop one committed append from every later read: the readers missed a
    // write that an earlier reader saw, which no serial order explains.
    let mut h = synth::serializable_history(LA, 3, 500, 3, 4);
    let (t, key, value) = h
        .txns
        .iter()
        .enumerate()
        .find_map(|(t, txn)| match (&txn.outcome, txn.mops.first()) {
            (crate::history::Outcome::Ok, Some(Mop::Append { key, value })) if t > 50 => {
                Some((t, key.clone(), *value))
            }
            _ => None,
        })
        .unwrap();
    for txn in &mut h.txns[t + 20..] {
        for m in &mut txn.mops {
            if let Mop::Read {
                key: k,
                value: ReadValue::List(l),
            } = m
            {
                if *k == key {
                    l.retain(|v| *v != value);
                }
            }
        }
    }
    let r = check_txn(&h, LA);
    assert!(!r.is_valid());
}

#[test]
fn reports_are_deterministic() {
    let text = edn(&[
        ("ok", "[[:r x []] [:append y 1]]"),
        ("ok", "[[:r y []] [:append x 1]]"),
        ("ok", "[[:r x [1]] [:r y [1]]]"),
    ]);
    let a = parse_txn_history(&text, Format::Edn, LA).unwrap();
    let r1 = serde_json::to_string(&check_txn(&a, LA)).unwrap();
    let r2 = serde_json::to_string(&check_txn(&a, LA)).unwrap();
    assert_eq!(r1, r2);
}

#[test]
fn nothing_follows_an_indeterminate_transaction_in_its_process() {
    // P0's write is :info (it may take effect later), then P0 reads nil: no
    // anomaly, even in session order; the same write committed would be.
    for (kind, anomaly) in [("info", false), ("ok", true)] {
        let text = format!(
            "{{:type :invoke, :f :txn, :value [[:w 1 1]], :process 0}}\n\
             {{:type :{kind}, :f :txn, :value [[:w 1 1]], :process 0}}\n\
             {{:type :invoke, :f :txn, :value [[:r 1 nil]], :process 0}}\n\
             {{:type :ok, :f :txn, :value [[:r 1 nil]], :process 0}}\n"
        );
        let h = parse_txn_history(&text, Format::Edn, RW).unwrap();
        let r = check_txn_against(&h, RW, Consistency::StrongSessionSerializable);
        assert_eq!(!r.is_valid(), anomaly, "{kind}: {:?}", kinds(&r));
    }
}

fn check_against(model: TxnModel, c: Consistency, txns: &[(&str, &str)]) -> TxnReport {
    let h = parse_txn_history(&edn(txns), Format::Edn, model).expect("a valid history");
    check_txn_against(&h, model, c)
}

#[test]
fn a_stale_read_is_serializable_but_not_strict_or_session() {
    // One process appends, completes, then reads the list without its
    // append: serializable (the read goes first), not once order counts.
    let txns = [
        ("ok", "[[:append x 1]]"),
        ("ok", "[[:r x []]]"),
        ("ok", "[[:r x [1]]]"),
    ];
    assert!(check_against(LA, Consistency::Serializable, &txns).is_valid());
    let r = check_against(LA, Consistency::StrictSerializable, &txns);
    assert_eq!(kinds(&r), ["G-single-realtime"]);
    assert_eq!(r.relative_to, "strict-serializable");
    assert!(
        r.anomalies[0]
            .explanation
            .contains("T1 completed (at 5) before T2 was invoked (at 10)"),
        "{}",
        r.anomalies[0].explanation
    );
    // The helper gives each transaction its own process: no session order.
    assert!(check_against(LA, Consistency::StrongSessionSerializable, &txns).is_valid());
    let text = "{:type :invoke, :f :txn, :value [[:append x 1]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:append x 1]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:r x nil]], :process 0}\n\
                {:type :ok, :f :txn, :value [[:r x []]], :process 0}\n\
                {:type :invoke, :f :txn, :value [[:r x nil]], :process 1}\n\
                {:type :ok, :f :txn, :value [[:r x [1]]], :process 1}\n";
    let h = parse_txn_history(text, Format::Edn, LA).unwrap();
    let r = check_txn_against(&h, LA, Consistency::StrongSessionSerializable);
    assert_eq!(kinds(&r), ["G-single-process"]);
    assert!(r.anomalies[0]
        .explanation
        .contains("process 0 ran T1 and then T2"));
}

#[test]
fn overlapping_transactions_are_not_ordered_by_real_time() {
    // T2 is invoked before T1 completes: it may miss T1's append.
    let text = "{:type :invoke, :f :txn, :value [[:append x 1]], :process 0, :time 0}\n\
                {:type :invoke, :f :txn, :value [[:r x nil]], :process 1, :time 1}\n\
                {:type :ok, :f :txn, :value [[:append x 1]], :process 0, :time 2}\n\
                {:type :ok, :f :txn, :value [[:r x []]], :process 1, :time 3}\n\
                {:type :invoke, :f :txn, :value [[:r x nil]], :process 0, :time 4}\n\
                {:type :ok, :f :txn, :value [[:r x [1]]], :process 0, :time 5}\n";
    let h = parse_txn_history(text, Format::Edn, LA).unwrap();
    let r = check_txn_against(&h, LA, Consistency::StrictSerializable);
    assert!(r.is_valid(), "{:?}", r.anomalies);
    assert_eq!(r.edges.realtime, 2);
}

#[test]
fn generated_serial_histories_are_strict_serializable() {
    for model in TxnModel::ALL {
        let h = synth::serializable_history(model, 11, 2_000, 20, 8);
        let r = check_txn_against(&h, model, Consistency::StrictSerializable);
        assert!(r.is_valid(), "{model}: {:?}", r.anomalies.first());
        // Serial: each one completes before the next begins, and the
        // reduction keeps one edge to each (fewer past the aborted ones).
        assert!(r.edges.realtime < h.txns.len(), "{}", r.edges.realtime);
    }
}
