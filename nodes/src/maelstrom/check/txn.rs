//! txn-list-append and txn-rw-register: Maelstrom judges these with Elle
//! at the consistency models the test names (`--consistency-models`,
//! strict-serializable by default). chaoslab's Elle checker
//! ([`sim::check::txn`]) finds the anomalies; this module turns the
//! clients' calls into its history and fails the run only on the
//! anomalies the named model forbids, as Elle's consistency-model table
//! has it (Maelstrom's rw-register checker reports exactly the forbidden
//! anomaly types and is valid when there are none):
//!
//! | model | forbids |
//! |---|---|
//! | read-uncommitted | G0, duplicate-elements |
//! | read-committed | the above, G1a, G1b, G1c, incompatible-order |
//! | serializable | the above, G-single, G2, internal |
//! | strong-session-serializable | the above, and their `-process` forms |
//! | strict-serializable | the above, and their `-realtime` forms |
//!
//! A transaction answered `txn_ok` committed, with its reads as the node
//! filled them in (a `null` read of a list is the empty list); one
//! answered with a definite error (`txn-conflict`, 30, above all) aborted;
//! one that timed out is indeterminate: its writes may have happened, its
//! reads are unknown. The graph holds the orders the model needs (real
//! time for strict serializability, each client's order for strong
//! session), so a stale read shows as `G-single-realtime`.

use sim::check::txn::{
    check_txn_against, AnomalyKind, Consistency, Mop, ReadValue, Txn, TxnHistory, TxnModel,
    TxnReport,
};
use sim::history::Outcome;
use sim::metric::Metrics;

use super::super::client::{Call, Reply};
use super::super::ops::{MaelOp, MopF, MopValue, TxnMop, WorkloadKind};
use super::malformed;

/// The consistency models a txn scenario may name, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TxnConsistency {
    ReadUncommitted,
    ReadCommitted,
    Serializable,
    StrongSessionSerializable,
    StrictSerializable,
}

impl TxnConsistency {
    pub const ALL: [TxnConsistency; 5] = [
        TxnConsistency::ReadUncommitted,
        TxnConsistency::ReadCommitted,
        TxnConsistency::Serializable,
        TxnConsistency::StrongSessionSerializable,
        TxnConsistency::StrictSerializable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TxnConsistency::ReadUncommitted => "read-uncommitted",
            TxnConsistency::ReadCommitted => "read-committed",
            TxnConsistency::Serializable => "serializable",
            TxnConsistency::StrongSessionSerializable => "strong-session-serializable",
            TxnConsistency::StrictSerializable => "strict-serializable",
        }
    }

    pub fn from_name(name: &str) -> Option<TxnConsistency> {
        TxnConsistency::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The orders the checker's graph must hold for this model.
    fn graph(self) -> Consistency {
        match self {
            TxnConsistency::StrictSerializable => Consistency::StrictSerializable,
            TxnConsistency::StrongSessionSerializable => Consistency::StrongSessionSerializable,
            _ => Consistency::Serializable,
        }
    }

    /// Whether the model forbids anomaly `kind` (Elle's table, see the
    /// module documentation).
    pub fn forbids(self, kind: AnomalyKind) -> bool {
        use AnomalyKind::*;
        let level = match kind {
            G0 | DuplicateElements => TxnConsistency::ReadUncommitted,
            G1a | G1b | G1c | IncompatibleOrder => TxnConsistency::ReadCommitted,
            GSingle | G2 | Internal => TxnConsistency::Serializable,
            G0Process | G1cProcess | GSingleProcess | G2Process => {
                TxnConsistency::StrongSessionSerializable
            }
            G0Realtime | G1cRealtime | GSingleRealtime | G2Realtime => {
                TxnConsistency::StrictSerializable
            }
        };
        self >= level
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TxnCheck {
    pub consistency: TxnConsistency,
    pub report: TxnReport,
    pub malformed: Vec<String>,
}

impl TxnCheck {
    /// The anomaly kinds found that the model forbids.
    pub fn forbidden(&self) -> Vec<AnomalyKind> {
        self.report
            .kinds()
            .into_iter()
            .filter(|k| self.consistency.forbids(*k))
            .collect()
    }

    /// The anomaly kinds found that the model allows.
    pub fn allowed(&self) -> Vec<AnomalyKind> {
        self.report
            .kinds()
            .into_iter()
            .filter(|k| !self.consistency.forbids(*k))
            .collect()
    }

    pub fn metrics(&self, out: &mut Metrics) {
        let r = &self.report;
        out.text("consistency model", self.consistency.name())
            .note("the run fails on the anomalies this model forbids (Elle's table)");
        out.count("committed", r.committed as u64).note(format!(
            "of {} transactions ({} aborted, {} indeterminate)",
            r.txns, r.aborted, r.indeterminate
        ));
        if r.txns > 0 {
            let missed = r.txns.saturating_sub(r.committed);
            out.number(
                "transactions not committed",
                100.0 * missed as f64 / r.txns as f64,
            )
            .decimals(1)
            .note(format!(
                "percent: {missed} of {} transactions aborted or timed out",
                r.txns
            ));
        } else {
            out.none("transactions not committed", "no transaction was made");
        }
        let forbidden = self.forbidden();
        let note = if !forbidden.is_empty() {
            let kinds: Vec<String> = forbidden
                .iter()
                .map(|k| format!("{k} x{}", r.counts[k]))
                .collect();
            kinds.join(", ")
        } else if !r.notes.is_empty() {
            format!(
                "none in the edges inferred, but some were left out: undecided ({})",
                r.notes.join("; ")
            )
        } else {
            format!(
                "the history is consistent with {} as far as the inferred dependencies show ({} ww, {} wr, {} rw edges)",
                self.consistency.name(),
                r.edges.ww,
                r.edges.wr,
                r.edges.rw
            )
        };
        out.count(
            "forbidden anomalies",
            forbidden.iter().map(|k| r.counts[k] as u64).sum(),
        )
        .note(note);
        let allowed = self.allowed();
        out.count(
            "allowed anomalies",
            allowed.iter().map(|k| r.counts[k] as u64).sum(),
        )
        .note(if allowed.is_empty() {
            "none".to_string()
        } else {
            let kinds: Vec<String> = allowed
                .iter()
                .map(|k| format!("{k} x{}", r.counts[k]))
                .collect();
            format!(
                "{}: found, and allowed by {}",
                kinds.join(", "),
                self.consistency.name()
            )
        });
        for kind in AnomalyKind::ALL {
            let n = r.counts.get(&kind).copied().unwrap_or(0) as u64;
            let w = out.count(kind.name(), n);
            if let Some(a) = r.anomalies.iter().find(|a| a.kind == kind) {
                w.note(a.explanation.replace('\n', " "));
            }
        }
        out.count("malformed replies", self.malformed.len() as u64)
            .note(super::some(&self.malformed));
    }
}

fn key(k: i64) -> String {
    k.to_string()
}

/// One micro-op as the Elle checker takes it: `done` is the answered
/// transaction's (reads filled in), `None` for a transaction that was
/// not answered (its reads are unknown).
fn mop(m: &TxnMop, done: bool, list: bool) -> Mop {
    match (m.f, &m.value) {
        (MopF::Append, MopValue::Int(v)) => Mop::Append {
            key: key(m.key),
            value: *v,
        },
        (MopF::Write, MopValue::Int(v)) => Mop::Write {
            key: key(m.key),
            value: *v,
        },
        (_, value) => Mop::Read {
            key: key(m.key),
            value: match (done, value, list) {
                (false, _, _) => ReadValue::Unknown,
                (true, MopValue::Null, true) => ReadValue::List(Vec::new()),
                (true, MopValue::Null, false) => ReadValue::Register(None),
                (true, MopValue::List(xs), _) => ReadValue::List(xs.clone()),
                (true, MopValue::Int(v), _) => ReadValue::Register(Some(*v)),
            },
        },
    }
}

/// The clients' transactions as the Elle checker's history.
pub fn txn_history(kind: WorkloadKind, calls: &[Call]) -> TxnHistory {
    let list = kind == WorkloadKind::TxnListAppend;
    let mut txns: Vec<Txn> = calls
        .iter()
        .filter_map(|c| {
            let MaelOp::Txn(sent) = &c.op else {
                return None;
            };
            let mops = match (&c.reply, c.outcome) {
                (Reply::Txn(done), Outcome::Ok) => {
                    done.iter().map(|m| mop(m, true, list)).collect()
                }
                _ => sent.iter().map(|m| mop(m, false, list)).collect(),
            };
            Some(Txn {
                process: c.process,
                outcome: c.outcome,
                mops,
                call_ns: c.call_ns,
                return_ns: if c.outcome == Outcome::Info {
                    None
                } else {
                    c.return_ns
                },
                line: 0,
            })
        })
        .collect();
    txns.sort_by_key(|t| t.call_ns);
    TxnHistory { txns }
}

pub fn check_txn_calls(
    kind: WorkloadKind,
    consistency: TxnConsistency,
    calls: &[Call],
) -> TxnCheck {
    let model = if kind == WorkloadKind::TxnListAppend {
        TxnModel::ListAppend
    } else {
        TxnModel::RwRegister
    };
    let history = txn_history(kind, calls);
    TxnCheck {
        consistency,
        report: check_txn_against(&history, model, consistency.graph()),
        malformed: malformed(calls),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::maelstrom::ErrorCode;

    fn r(k: i64, v: MopValue) -> TxnMop {
        TxnMop {
            f: MopF::Read,
            key: k,
            value: v,
        }
    }

    fn w(f: MopF, k: i64, v: i64) -> TxnMop {
        TxnMop {
            f,
            key: k,
            value: MopValue::Int(v),
        }
    }

    fn list(xs: &[i64]) -> MopValue {
        MopValue::List(xs.to_vec())
    }

    /// A committed transaction: `done` as the node answered, the request
    /// the same with its reads null.
    fn txn(p: u64, done: Vec<TxnMop>, at: u64) -> Call {
        let sent = done
            .iter()
            .map(|m| match m.f {
                MopF::Read => r(m.key, MopValue::Null),
                _ => m.clone(),
            })
            .collect();
        ok(p, "n1", MaelOp::Txn(sent), Reply::Txn(done), at)
    }

    fn aborted(c: Call) -> Call {
        ended(
            c,
            Outcome::Fail,
            Reply::Error(ErrorCode::TxnConflict, "conflict".into()),
        )
    }

    fn kinds(kind: WorkloadKind, model: TxnConsistency, calls: &[Call]) -> Vec<&'static str> {
        check_txn_calls(kind, model, calls)
            .forbidden()
            .iter()
            .map(|k| k.name())
            .collect()
    }

    const LA: WorkloadKind = WorkloadKind::TxnListAppend;
    const RW: WorkloadKind = WorkloadKind::TxnRwRegister;
    use super::MopF::{Append, Write};
    use super::TxnConsistency::*;

    #[test]
    fn serial_list_append_transactions_pass_strict_serializability() {
        let calls = vec![
            txn(1, vec![w(Append, 1, 1), r(1, list(&[1]))], 0),
            txn(2, vec![r(1, list(&[1])), w(Append, 1, 2)], 2),
            txn(1, vec![r(1, list(&[1, 2])), w(Append, 2, 3)], 4),
            aborted(txn(2, vec![w(Append, 2, 4)], 6)),
            txn(2, vec![r(2, list(&[3])), r(1, list(&[1, 2]))], 8),
        ];
        let c = check_txn_calls(LA, StrictSerializable, &calls);
        assert!(c.report.is_valid(), "{:?}", c.report.counts);
        assert_eq!((c.report.committed, c.report.aborted), (4, 1));
    }

    #[test]
    fn serial_rw_register_transactions_pass_strict_serializability() {
        let calls = vec![
            txn(1, vec![r(1, MopValue::Null), w(Write, 1, 1)], 0),
            txn(2, vec![r(1, MopValue::Int(1)), w(Write, 1, 2)], 2),
            txn(1, vec![r(1, MopValue::Int(2)), w(Write, 2, 3)], 4),
        ];
        let c = check_txn_calls(RW, StrictSerializable, &calls);
        assert!(c.report.is_valid(), "{:?}", c.report.counts);
    }

    #[test]
    fn reading_an_aborted_append_is_g1a_forbidden_from_read_committed_up() {
        let calls = vec![
            aborted(txn(1, vec![w(Append, 1, 1)], 0)),
            txn(2, vec![r(1, list(&[1]))], 2),
        ];
        assert_eq!(kinds(LA, ReadCommitted, &calls), vec!["G1a"]);
        assert!(kinds(LA, ReadUncommitted, &calls).is_empty());
    }

    #[test]
    fn reading_an_intermediate_write_is_g1b() {
        let calls = vec![
            txn(1, vec![w(Write, 1, 1), w(Write, 1, 2)], 0),
            txn(2, vec![r(1, MopValue::Int(1))], 2),
        ];
        assert_eq!(kinds(RW, ReadCommitted, &calls), vec!["G1b"]);
        assert!(kinds(RW, ReadUncommitted, &calls).is_empty());
    }

    #[test]
    fn appends_in_opposite_orders_on_two_keys_are_g0_forbidden_even_read_uncommitted() {
        let calls = vec![
            txn(1, vec![w(Append, 1, 1), w(Append, 2, 1)], 0),
            txn(2, vec![w(Append, 1, 2), w(Append, 2, 2)], 0),
            txn(3, vec![r(1, list(&[1, 2])), r(2, list(&[2, 1]))], 5),
        ];
        let found = kinds(LA, ReadUncommitted, &calls);
        assert!(found.contains(&"G0"), "{found:?}");
    }

    #[test]
    fn two_transactions_reading_each_others_writes_are_g1c() {
        let calls = vec![
            txn(1, vec![w(Append, 1, 1), r(2, list(&[2]))], 0),
            txn(2, vec![w(Append, 2, 2), r(1, list(&[1]))], 0),
        ];
        assert_eq!(kinds(LA, ReadCommitted, &calls), vec!["G1c"]);
    }

    #[test]
    fn a_read_skew_is_g_single_allowed_by_read_committed() {
        // T2 sees T1's write to key 1 but not its write to key 2.
        let calls = vec![
            txn(1, vec![w(Append, 1, 1), w(Append, 2, 2)], 0),
            txn(2, vec![r(1, list(&[1])), r(2, list(&[]))], 0),
            txn(3, vec![r(2, list(&[2]))], 5),
        ];
        assert_eq!(kinds(LA, Serializable, &calls), vec!["G-single"]);
        assert!(kinds(LA, ReadCommitted, &calls).is_empty());
        let c = check_txn_calls(LA, ReadCommitted, &calls);
        assert_eq!(c.allowed(), vec![AnomalyKind::GSingle]);
    }

    #[test]
    fn a_read_that_misses_its_own_write_is_internal() {
        let calls = vec![txn(1, vec![w(Append, 1, 1), r(1, list(&[]))], 0)];
        assert_eq!(kinds(LA, Serializable, &calls), vec!["internal"]);
        assert!(kinds(LA, ReadCommitted, &calls).is_empty());
        let calls = vec![txn(1, vec![w(Write, 1, 1), r(1, MopValue::Int(7))], 0)];
        assert!(kinds(RW, Serializable, &calls).contains(&"internal"));
    }

    #[test]
    fn a_stale_read_is_g_single_realtime_only_under_strict_serializability() {
        // T1 wrote 1 and was answered; T2 began after and read nothing.
        let calls = vec![
            txn(1, vec![r(1, MopValue::Null), w(Write, 1, 1)], 0),
            txn(2, vec![r(1, MopValue::Null)], 10),
        ];
        assert_eq!(
            kinds(RW, StrictSerializable, &calls),
            vec!["G-single-realtime"]
        );
        assert!(kinds(RW, Serializable, &calls).is_empty());
    }

    #[test]
    fn reading_an_intermediate_append_is_g1b() {
        let calls = vec![
            txn(1, vec![w(Append, 1, 1), w(Append, 1, 2)], 0),
            txn(2, vec![r(1, list(&[1]))], 2),
        ];
        let found = kinds(LA, ReadCommitted, &calls);
        assert!(found.contains(&"G1b"), "{found:?}");
        assert!(kinds(LA, ReadUncommitted, &calls).is_empty());
    }

    #[test]
    fn reading_an_aborted_register_write_is_g1a() {
        let calls = vec![
            aborted(txn(1, vec![w(Write, 1, 1)], 0)),
            txn(2, vec![r(1, MopValue::Int(1))], 2),
        ];
        assert_eq!(kinds(RW, ReadCommitted, &calls), vec!["G1a"]);
        assert!(kinds(RW, ReadUncommitted, &calls).is_empty());
    }

    #[test]
    fn registers_read_from_each_other_are_g1c() {
        let calls = vec![
            txn(1, vec![w(Write, 1, 1), r(2, MopValue::Int(2))], 0),
            txn(2, vec![w(Write, 2, 2), r(1, MopValue::Int(1))], 0),
        ];
        let found = kinds(RW, ReadCommitted, &calls);
        assert!(found.contains(&"G1c"), "{found:?}");
        assert!(kinds(RW, ReadUncommitted, &calls).is_empty());
    }

    #[test]
    fn a_register_read_skew_is_g_single_without_real_time() {
        // Concurrent: T2 sees T1's write to key 1, not its write to key 2.
        let calls = vec![
            txn(
                1,
                vec![
                    r(1, MopValue::Null),
                    w(Write, 1, 1),
                    r(2, MopValue::Null),
                    w(Write, 2, 2),
                ],
                0,
            ),
            txn(2, vec![r(1, MopValue::Int(1)), r(2, MopValue::Null)], 0),
        ];
        let found = kinds(RW, Serializable, &calls);
        assert!(found.contains(&"G-single"), "{found:?}");
        assert!(kinds(RW, ReadCommitted, &calls).is_empty());
    }

    #[test]
    fn a_timed_out_transaction_s_writes_may_be_read() {
        let mut t1 = txn(1, vec![w(Append, 1, 1)], 0);
        t1.outcome = Outcome::Info;
        t1.reply = Reply::None;
        t1.return_ns = None;
        let calls = vec![t1, txn(2, vec![r(1, list(&[1]))], 5)];
        assert!(kinds(LA, StrictSerializable, &calls).is_empty());
    }

    #[test]
    fn every_model_name_reads_back() {
        for c in TxnConsistency::ALL {
            assert_eq!(TxnConsistency::from_name(c.name()), Some(c));
        }
        assert!(TxnConsistency::from_name("linearizable").is_none());
    }
}
