//! lin-kv: every key must be linearizable, as Maelstrom's checker (Jepsen's
//! linearizable-register test, one independent register per key, checked
//! by Knossos) demands.
//!
//! The clients' calls become a key-value history (`sim::history`): a
//! `read` answered `read_ok` is a read of `Value::Int`, a `write` a
//! write, a `cas` a compare-and-set, each on its own key; a call that
//! timed out, whose client crashed, or that got an indefinite error
//! (timeout, crash) stays open, since it may have taken effect; a definite
//! error (key-does-not-exist, precondition-failed,
//! temporarily-unavailable ...) is a failure that took no effect, and
//! constrains nothing, as Maelstrom counts it. chaoslab's linearizability
//! search (`sim::check`, per key, with a step budget) then gives one of
//! three answers: linearizable; not linearizable, with the counterexample
//! (the longest consistent order of the key's operations and the one that
//! cannot follow it); or undecided, when the budget runs out, which is
//! never counted as a failure.

use std::collections::BTreeMap;

use sim::check::{check_linearizable, Budget, ModelKind, Verdict};
use sim::history::{History, Op, Outcome, Value};
use sim::metric::Metrics;

use super::super::client::{Call, Reply};
use super::super::ops::MaelOp;
use super::{malformed, some};

/// What the linearizability search said of the history.
#[derive(Clone, Debug, PartialEq)]
pub enum LinKvVerdict {
    Linearizable,
    /// The key and the counterexample, as the run report prints it.
    NotLinearizable {
        key: String,
        explanation: String,
    },
    /// The search's budget ran out: nothing is claimed.
    Undecided(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinKvReport {
    pub reads: u64,
    pub writes: u64,
    pub cas: u64,
    pub ok: u64,
    /// Ok calls by kind: reads (each returned a value), writes, cas.
    pub ok_reads: u64,
    pub ok_writes: u64,
    pub ok_cas: u64,
    /// Reads and writes refused with a definite error.
    pub refused_reads: u64,
    pub refused_writes: u64,
    /// Definite errors, by code.
    pub errors: BTreeMap<i64, u64>,
    /// Calls with no answer, or an indefinite one: they may have taken
    /// effect.
    pub indefinite: u64,
    pub verdict: LinKvVerdict,
    pub malformed: Vec<String>,
}

impl LinKvReport {
    /// Maelstrom's criteria: linearizable (or undecided: never a failure),
    /// every reply well formed, and each operation type ok at least once.
    pub fn valid(&self) -> bool {
        !matches!(self.verdict, LinKvVerdict::NotLinearizable { .. })
            && self.malformed.is_empty()
            && self.never_ok().is_empty()
    }

    /// Jepsen's `stats` criterion, which Maelstrom composes into every
    /// test's checker: each operation type the clients invoked must have
    /// succeeded at least once (a node that refuses every read and cas
    /// leaves only its writes, trivially linearizable). One line per type
    /// that never did. Applied to reads and writes, not cas: the workload's
    /// cas picks `from` at random, so even a correct store refuses every
    /// cas of a short run on about 1% of seeds (5 of 500 in lin-kv part 1),
    /// a false alarm Maelstrom's longer runs do not meet. And only where
    /// the node answered: a type refused with a definite error at least
    /// once and never ok. A type whose requests all went unanswered (or
    /// answered indefinitely) says nothing against the node's safety: it
    /// is unavailability, which the report counts apart (`unanswered`),
    /// and an undecided matter is never a failure.
    pub fn never_ok(&self) -> Vec<&'static str> {
        [
            (self.refused_reads, self.ok_reads, "no read ever succeeded"),
            (
                self.refused_writes,
                self.ok_writes,
                "no write ever succeeded",
            ),
        ]
        .into_iter()
        .filter(|&(refused, ok, _)| refused > 0 && ok == 0)
        .map(|(_, _, what)| what)
        .collect()
    }

    pub fn requests(&self) -> u64 {
        self.reads + self.writes + self.cas
    }

    pub fn metrics(&self, out: &mut Metrics) {
        out.count("requests", self.requests()).note(format!(
            "{} reads, {} writes, {} cas",
            self.reads, self.writes, self.cas
        ));
        let never = self.never_ok();
        out.count("operation types never ok", never.len() as u64)
            .note(if never.is_empty() {
                format!(
                    "ok: {} reads, {} writes, {} cas (Jepsen's stats criterion: reads and writes must each succeed once)",
                    self.ok_reads, self.ok_writes, self.ok_cas
                )
            } else {
                never.join("; ")
            });
        let failed: u64 = self.errors.values().sum();
        out.count("definite errors", failed).note(if failed == 0 {
            "no request was refused".to_string()
        } else {
            some(self.errors.iter().map(|(code, n)| {
                let name = crate::maelstrom::wire::ErrorCode::from_code(*code).name();
                format!("{n} x {code} {name}")
            }))
        });
        out.count("unanswered", self.indefinite)
            .note("timed out, crashed or an indefinite error: may have taken effect");
        let (text, note) = match &self.verdict {
            LinKvVerdict::Linearizable => (
                "linearizable".to_string(),
                "every key's operations have one order consistent with real time".to_string(),
            ),
            LinKvVerdict::NotLinearizable { key, explanation } => (
                format!("not linearizable (key {key})"),
                explanation
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            ),
            LinKvVerdict::Undecided(why) => {
                ("undecided".to_string(), format!("{why} (not a failure)"))
            }
        };
        out.text("linearizability", text).note(note);
        out.count("malformed replies", self.malformed.len() as u64)
            .note(some(&self.malformed));
    }
}

/// The key-value history of the lin-kv calls, in order of invocation.
pub fn kv_history(calls: &[Call]) -> History {
    let mut ops: Vec<Op> = calls
        .iter()
        .filter_map(|c| {
            let (key, f) = c.op.kv_fn()?;
            let output = match (&c.reply, c.outcome) {
                (Reply::Value(v), Outcome::Ok) => Some(Value::Int(*v)),
                (Reply::None, Outcome::Ok) if matches!(c.op, MaelOp::KvRead { .. }) => {
                    Some(Value::Nil)
                }
                _ => None,
            };
            Some(Op {
                process: c.process,
                key: key.to_string(),
                f,
                output,
                outcome: c.outcome,
                call_ns: c.call_ns,
                return_ns: if c.outcome == Outcome::Info {
                    None
                } else {
                    c.return_ns
                },
                found_other: false,
            })
        })
        .collect();
    ops.sort_by_key(|op| (op.call_ns, op.process));
    History { ops }
}

/// Checks `calls` within `budget` (see the module documentation).
pub fn check_linkv(calls: &[Call], budget: Budget<'_>) -> LinKvReport {
    let mut r = LinKvReport {
        reads: 0,
        writes: 0,
        cas: 0,
        ok: 0,
        ok_reads: 0,
        ok_writes: 0,
        ok_cas: 0,
        refused_reads: 0,
        refused_writes: 0,
        errors: BTreeMap::new(),
        indefinite: 0,
        verdict: LinKvVerdict::Linearizable,
        malformed: malformed(calls),
    };
    for c in calls {
        match c.op {
            MaelOp::KvRead { .. } => r.reads += 1,
            MaelOp::KvWrite { .. } => r.writes += 1,
            MaelOp::KvCas { .. } => r.cas += 1,
            _ => continue,
        }
        match (c.outcome, &c.reply) {
            (Outcome::Ok, _) => {
                r.ok += 1;
                match c.op {
                    MaelOp::KvRead { .. } => r.ok_reads += 1,
                    MaelOp::KvWrite { .. } => r.ok_writes += 1,
                    _ => r.ok_cas += 1,
                }
            }
            (Outcome::Fail, Reply::Error(code, _)) => {
                match c.op {
                    MaelOp::KvRead { .. } => r.refused_reads += 1,
                    MaelOp::KvWrite { .. } => r.refused_writes += 1,
                    _ => {}
                }
                *r.errors.entry(code.code()).or_default() += 1
            }
            _ => r.indefinite += 1,
        }
    }
    let history = kv_history(calls);
    let report = check_linearizable(&history, ModelKind::Kv, budget);
    r.verdict = match report.verdict {
        Verdict::Linearizable => LinKvVerdict::Linearizable,
        Verdict::NotLinearizable { explanation } => LinKvVerdict::NotLinearizable {
            key: explanation.key.clone(),
            explanation: explanation.to_string(),
        },
        Verdict::Unknown { reason, .. } => LinKvVerdict::Undecided(reason),
    };
    r
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::maelstrom::wire::ErrorCode;

    fn read(p: u64, key: i64, v: i64, at: u64) -> Call {
        ok(p, "n1", MaelOp::KvRead { key }, Reply::Value(v), at)
    }
    fn write(p: u64, key: i64, value: i64, at: u64) -> Call {
        ok(p, "n1", MaelOp::KvWrite { key, value }, Reply::None, at)
    }
    fn cas(p: u64, key: i64, from: i64, to: i64, at: u64) -> Call {
        ok(p, "n2", MaelOp::KvCas { key, from, to }, Reply::None, at)
    }
    fn check(calls: &[Call]) -> LinKvReport {
        check_linkv(calls, Budget::default())
    }

    #[test]
    fn a_history_in_real_time_order_is_linearizable() {
        let calls = vec![
            write(1, 0, 3, 0),
            read(2, 0, 3, 5),
            cas(1, 0, 3, 4, 10),
            read(3, 0, 4, 15),
            write(2, 1, 1, 20),
            read(1, 1, 1, 25),
        ];
        let r = check(&calls);
        assert_eq!(r.verdict, LinKvVerdict::Linearizable, "{r:?}");
        assert!(r.valid());
        assert_eq!((r.reads, r.writes, r.cas, r.ok), (3, 2, 1, 6));
    }

    #[test]
    fn a_stale_read_is_not_linearizable() {
        // c1 wrote 3 and then 4, each acknowledged before c2 read: c2's read
        // of 3 began after the write of 4 ended.
        let calls = vec![write(1, 0, 3, 0), write(1, 0, 4, 5), read(2, 0, 3, 10)];
        let r = check(&calls);
        let LinKvVerdict::NotLinearizable { key, explanation } = &r.verdict else {
            panic!("{r:?}")
        };
        assert_eq!(key, "0");
        assert!(explanation.contains("cannot be placed"), "{explanation}");
        assert!(!r.valid());
    }

    #[test]
    fn a_lost_write_is_not_linearizable() {
        // The write of 2 was acknowledged; later reads see the older 1.
        let calls = vec![
            write(1, 0, 1, 0),
            write(2, 0, 2, 5),
            read(3, 0, 1, 10),
            read(1, 0, 1, 15),
        ];
        assert!(!check(&calls).valid());
    }

    #[test]
    fn a_cas_that_should_have_failed_is_not_linearizable() {
        // The key held 3 and nothing else wrote it: a cas from 2 that
        // succeeded is impossible.
        let calls = vec![write(1, 0, 3, 0), cas(2, 0, 2, 4, 5), read(1, 0, 4, 10)];
        let r = check(&calls);
        assert!(
            matches!(r.verdict, LinKvVerdict::NotLinearizable { .. }),
            "{r:?}"
        );
    }

    #[test]
    fn an_indefinite_write_may_or_may_not_have_happened() {
        // A write that timed out may take effect at any later time: a read
        // of it, or of the value before, is fine.
        let lost = ended(write(1, 0, 7, 5), Outcome::Info, Reply::None);
        for seen in [1, 7] {
            let calls = vec![write(2, 0, 1, 0), lost.clone(), read(3, 0, seen, 20)];
            assert!(check(&calls).valid(), "read {seen}");
        }
    }

    #[test]
    fn a_definite_error_took_no_effect_and_is_counted() {
        // A cas refused with precondition-failed wrote nothing: a read of
        // its `to` is impossible.
        let refused = ended(
            cas(1, 0, 9, 5, 5),
            Outcome::Fail,
            Reply::Error(ErrorCode::PreconditionFailed, "current value 1".into()),
        );
        let calls = vec![write(2, 0, 1, 0), refused.clone(), read(3, 0, 1, 20)];
        let r = check(&calls);
        assert!(r.valid(), "{r:?}");
        assert_eq!(r.errors, BTreeMap::from([(22, 1)]));
        let calls = vec![write(2, 0, 1, 0), refused, read(3, 0, 5, 20)];
        assert!(!check(&calls).valid());
    }

    #[test]
    fn a_read_refused_every_time_fails_but_an_unanswered_one_does_not() {
        // A node that stores nothing: writes ok, every read refused with
        // key-does-not-exist. Linearizable, and invalid by Jepsen's stats.
        let refused = |p: u64, at: u64| {
            ended(
                read(p, 0, 0, at),
                Outcome::Fail,
                Reply::Error(ErrorCode::KeyDoesNotExist, "not found".into()),
            )
        };
        let calls = vec![write(1, 0, 1, 0), refused(2, 20), refused(3, 40)];
        let r = check(&calls);
        assert_eq!(r.verdict, LinKvVerdict::Linearizable);
        assert_eq!(r.never_ok(), vec!["no read ever succeeded"]);
        assert!(!r.valid());
        // The same reads unanswered: nothing against the node's safety.
        let calls = vec![
            write(1, 0, 1, 0),
            ended(read(2, 0, 0, 20), Outcome::Info, Reply::None),
        ];
        let r = check(&calls);
        assert!(r.never_ok().is_empty() && r.valid(), "{r:?}");
    }

    #[test]
    fn a_search_out_of_budget_is_undecided_and_not_a_failure() {
        // Many concurrent writes of one key, all open, then reads: the
        // search needs more than the few steps it is given.
        let mut calls: Vec<Call> = (0..12)
            .map(|p| ended(write(p, 0, p as i64, 0), Outcome::Info, Reply::None))
            .collect();
        calls.extend((0..12).map(|p| read(20 + p, 0, (11 - p) as i64, 100 + p)));
        let r = check_linkv(&calls, Budget::steps(10));
        assert!(
            matches!(r.verdict, LinKvVerdict::Undecided(_)),
            "{:?}",
            r.verdict
        );
        assert!(r.valid(), "undecided is never a failure");
        // With the default budget it is decided: linearizable, the open
        // writes taking effect in the order the reads saw them.
        assert_eq!(check(&calls).verdict, LinKvVerdict::Linearizable);
    }

    #[test]
    fn a_malformed_reply_fails() {
        let bad = ended(
            read(1, 0, 0, 0),
            Outcome::Info,
            Reply::Malformed("read_ok without \"value\"".into()),
        );
        let r = check(&[bad]);
        assert!(!r.valid());
        assert_eq!(r.indefinite, 1);
    }
    /// Maelstrom's client reads nil from a `read_ok` with a null value; a
    /// key never written holds nil, so that read is linearizable, and a
    /// nil read after a write that surely finished is not.
    #[test]
    fn a_null_read_reads_nil() {
        use crate::maelstrom::client::read_reply;
        use crate::maelstrom::wire::{Body, Envelope};
        use crate::maelstrom::WorkloadKind;
        let reply = Envelope::new(
            "n1",
            "c1",
            Body::new("read_ok").with("value", serde_json::Value::Null),
        );
        let op = MaelOp::KvRead { key: 0 };
        let (outcome, reply) = read_reply(WorkloadKind::LinKv, &op, &reply);
        assert_eq!(outcome, Outcome::Ok);
        let nil = ok(1, "n1", op.clone(), reply.clone(), 0);
        assert_eq!(check(&[nil]).verdict, LinKvVerdict::Linearizable);
        let late = ok(1, "n1", op, reply, 20);
        let calls = vec![write(2, 0, 3, 0), late];
        assert!(matches!(
            check(&calls).verdict,
            LinKvVerdict::NotLinearizable { .. }
        ));
    }

    /// Maelstrom's lin-kv client counts only codes 1, 10, 11, 20, 21 and
    /// 22 as "did not happen": a write answered with an abort (14) may
    /// have taken effect, so a later read of its value is no anomaly.
    #[test]
    fn an_abort_leaves_a_lin_kv_write_open() {
        use crate::maelstrom::client::read_reply;
        use crate::maelstrom::wire::{Body, Envelope};
        use crate::maelstrom::WorkloadKind;
        let op = MaelOp::KvWrite { key: 0, value: 7 };
        let abort = Envelope::new("n1", "c1", Body::new("error").with("code", 14));
        let (outcome, reply) = read_reply(WorkloadKind::LinKv, &op, &abort);
        assert_eq!(outcome, Outcome::Info);
        let w = ended(ok(1, "n1", op, Reply::None, 0), outcome, reply);
        let calls = vec![w, read(2, 0, 7, 20)];
        assert_eq!(check(&calls).verdict, LinKvVerdict::Linearizable);
        // A definite code still means the write did not happen.
        let op = MaelOp::KvWrite { key: 0, value: 7 };
        let pre = Envelope::new("n1", "c1", Body::new("error").with("code", 22));
        let (outcome, _) = read_reply(WorkloadKind::LinKv, &op, &pre);
        assert_eq!(outcome, Outcome::Fail);
    }
}
