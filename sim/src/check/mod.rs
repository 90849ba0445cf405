//! Consistency checkers: is a client history linearizable, and if not, how weak
//! was it?
//!
//! - [`check_linearizable`] runs the Wing-Gong/Lowe search (see [`linear`]) on
//!   every key independently against a [`Model`] and explains the first violation
//!   in terms a learner can follow.
//! - [`check_weak`] measures the weaker guarantees (stale reads, read-your-writes,
//!   monotonic reads, lost writes) that separate "eventually consistent" from
//!   "broken".
//! - [`parse`] reads external histories (Jepsen/Maelstrom EDN, porcupine's etcd
//!   logs and kv lines, chaoslab JSON Lines); [`svg`] draws one.
//! - [`txn`] finds transactional anomalies (G0, G1a/b/c, G-single, G2 ...)
//!   in list-append and rw-register histories, as Elle does.
//!
//! Everything here is deterministic: the search budget is a step count, and a
//! caller that wants a wall-clock deadline passes it in as a callback.

mod explain;
pub(crate) mod fxhash;
pub mod judge;
mod keywise;
pub mod linear;
pub mod log;
pub mod model;
pub mod parse;
pub mod svg;
pub mod synth;
pub mod txn;
pub mod weak;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::history::{History, Op, OpFn, Outcome, ProcessId, Value};
use explain::explain;
pub use explain::{client_name, describe_op};
pub use judge::{Judge, KvJudge, Linearizable, OpHead, RunHistory};
pub use linear::Budget;
use linear::{is_found_other, relevant, search_op, Exhausted, KeyOutcome, KeySearch, Meter};
pub use model::{Model, ModelKind, ValueModel};
pub use weak::{check_weak, WeakReport};

/// The answer of the linearizability search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Linearizable,
    NotLinearizable {
        explanation: Explanation,
    },
    /// The budget ran out (or the history uses operations the model does not
    /// know); nothing is claimed either way. `cause` says which limit, so a
    /// caller can name the flag that helps. Every message and the JSON
    /// (`"verdict": "undecided"`) call it undecided, as the run report does.
    #[serde(rename = "undecided")]
    Unknown {
        reason: String,
        cause: UnknownCause,
    },
}

/// Why a search left the verdict undecided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownCause {
    /// The step budget ran out (`Budget::max_steps`).
    Steps,
    /// The memo reached its memory cap (`Budget::max_memo_bytes`).
    Memory,
    /// The caller's wall-clock deadline passed (`Budget::expired`).
    Deadline,
    /// The history has operations the model does not know.
    Unsupported,
}

impl UnknownCause {
    pub fn name(self) -> &'static str {
        match self {
            UnknownCause::Steps => "steps",
            UnknownCause::Memory => "memory",
            UnknownCause::Deadline => "deadline",
            UnknownCause::Unsupported => "unsupported",
        }
    }
}

impl Verdict {
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable)
    }
    pub fn is_violation(&self) -> bool {
        matches!(self, Verdict::NotLinearizable { .. })
    }
}

/// One operation of the deepest linearizable prefix, and the state after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlacedOp {
    /// Index into `History::ops`.
    pub index: usize,
    pub process: ProcessId,
    /// The operation as a learner would write it: `p3 write 4`, `p1 read -> 3`.
    pub op: String,
    /// The key's value once this operation has taken effect.
    pub state_after: String,
}

/// Why a key's history is not linearizable, as far as the search got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub key: String,
    /// The model's name ([`Model::name`]).
    pub model: &'static str,
    /// The key's value before any operation.
    pub initial_state: String,
    /// The longest sequence of this key's operations the search could order
    /// consistently with both real time and the model.
    pub prefix: Vec<PlacedOp>,
    /// Index into `History::ops` of the operation that could not be placed: it
    /// returned before any consistent order could include it.
    pub blocked_index: usize,
    pub blocked_process: ProcessId,
    pub blocked_op: String,
    /// The values the key held at the points of the prefix where the blocked
    /// operation could have taken effect (after everything that finished before
    /// it began).
    pub could_have_seen: Vec<String>,
}

/// What [`check_linearizable`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinearizabilityReport {
    /// The model's name ([`Model::name`]): `kv`, `bank`.
    pub model: &'static str,
    pub verdict: Verdict,
    /// Keys in the history, and keys the search finished (with either answer).
    pub keys_total: usize,
    pub keys_checked: usize,
    /// Operations in the history, and those the search had to order (failed
    /// operations, reads without a result and the pruned operations are left
    /// out).
    pub ops_total: usize,
    pub ops_searched: usize,
    /// Crashed (`Info`) writes whose effect no operation could observe, set
    /// aside before the search (see [`prune_unobserved`]).
    pub ops_pruned: usize,
    /// Search steps used, over all keys: the deterministic measure of effort.
    pub steps: u64,
    /// The most memory the search memos held at once, in bytes.
    pub memo_bytes_peak: u64,
}

/// Why a history cannot be checked against a model at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHistory {
    #[error("operation {index} ({op}) is not part of the {model} model; {hint}")]
    Unsupported {
        index: usize,
        op: String,
        model: ModelKind,
        hint: &'static str,
    },
    #[error("operation {index} ({op}) returned at {return_ns} ns, before it was invoked at {call_ns} ns")]
    ReturnBeforeCall {
        index: usize,
        op: String,
        call_ns: u64,
        return_ns: u64,
    },
    #[error("operation {index} ({op}) has outcome ok but return_ns is null; an operation that completed has a return time, one that never completed has outcome info")]
    OkWithoutReturn { index: usize, op: String },
    #[error("operation {index} ({op}) has found_other true, which {why}; found_other is only for a cas with outcome fail and a return_ns, one that found another value")]
    BadFoundOther {
        index: usize,
        op: String,
        why: &'static str,
    },
}

/// Checks that every operation is one the model knows, that times make sense,
/// that every `ok` operation has a return time, and that only a `fail` cas
/// with a return time says it found another value.
pub fn validate(history: &History, model: ModelKind) -> Result<(), InvalidHistory> {
    let m = model.model();
    for (index, op) in history.ops.iter().enumerate() {
        if !m.supports(&op.f) {
            let hint = match model {
                ModelKind::Register => {
                    "use --model cas-register for cas, --model kv for append and delete"
                }
                ModelKind::CasRegister => "use --model kv for append and delete",
                ModelKind::Kv => "the kv model knows read, write, cas, append and delete",
            };
            return Err(InvalidHistory::Unsupported {
                index,
                op: describe_op(op),
                model,
                hint,
            });
        }
        if op.outcome == Outcome::Ok && op.return_ns.is_none() {
            return Err(InvalidHistory::OkWithoutReturn {
                index,
                op: describe_op(op),
            });
        }
        if op.found_other {
            let why = if !matches!(op.f, OpFn::Cas { .. }) {
                Some("only a cas can have")
            } else if op.outcome != Outcome::Fail {
                Some("only an outcome fail can have")
            } else if op.return_ns.is_none() {
                Some("needs a return_ns (when the answer came)")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(InvalidHistory::BadFoundOther {
                    index,
                    op: describe_op(op),
                    why,
                });
            }
        }
        if let Some(r) = op.return_ns {
            if r < op.call_ns && op.outcome == Outcome::Ok {
                return Err(InvalidHistory::ReturnBeforeCall {
                    index,
                    op: describe_op(op),
                    call_ns: op.call_ns,
                    return_ns: r,
                });
            }
        }
    }
    Ok(())
}

/// Decides whether `history` is linearizable with respect to a built-in model,
/// checking each key on its own.
pub fn check_linearizable(
    history: &History,
    model: ModelKind,
    budget: Budget<'_>,
) -> LinearizabilityReport {
    let prune = |kept| prune_unobserved(history, kept);
    search(history, &model.model(), budget, Some(&prune), false)
}

/// As [`check_linearizable`], with any [`Model`] over its own operations.
/// No operation is pruned: what is sound to prune depends on the model.
///
/// Each key is searched first placing none of its `info` operations, which
/// may never have taken effect: if the rest is linearizable, so is the whole
/// history, and the search never tries the combinations of operations nobody
/// knows the fate of (a bank whose coordinator was down leaves a hundred).
/// If that fails, it is searched placing at most one, two, then three, and
/// only then in full, which alone can answer "violation"; all within the
/// same budget.
pub fn check_linearizable_with<M: Model>(
    history: &History<M::Op>,
    model: &M,
    budget: Budget<'_>,
) -> LinearizabilityReport {
    search(history, model, budget, None, true)
}

/// Sets aside, from one key's relevant operations, those the search need not
/// order ([`prune_unobserved`] for the built-in models).
type Prune<'a> = &'a dyn Fn(Vec<usize>) -> Vec<usize>;

fn search<M: Model>(
    history: &History<M::Op>,
    model: &M,
    budget: Budget<'_>,
    prune: Option<Prune<'_>>,
    info_last: bool,
) -> LinearizabilityReport {
    let kind = model.name();
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        by_key.entry(op.key.as_str()).or_default().push(i);
    }
    let mut report = LinearizabilityReport {
        model: kind,
        verdict: Verdict::Linearizable,
        keys_total: by_key.len(),
        keys_checked: 0,
        ops_total: history.ops.len(),
        ops_searched: 0,
        ops_pruned: 0,
        steps: 0,
        memo_bytes_peak: 0,
    };
    if let Some((index, op)) = history
        .ops
        .iter()
        .enumerate()
        .find(|(_, op)| !model.supports(&op.f))
    {
        report.verdict = Verdict::Unknown {
            reason: format!(
                "operation {index} ({}) is not part of the {} model",
                describe_op(op),
                model.name()
            ),
            cause: UnknownCause::Unsupported,
        };
        return report;
    }

    let mut meter = Meter {
        budget,
        steps: 0,
        memo_bytes: 0,
        memo_bytes_peak: 0,
        memo_log: None,
    };
    let mut pending = Vec::new();
    for (key, indices) in &by_key {
        let mut kept: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| relevant(&history.ops[i]))
            .collect();
        if let Some(prune) = prune {
            let before = kept.len();
            kept = prune(kept);
            report.ops_pruned += before - kept.len();
        }
        report.ops_searched += kept.len();
        let unknown = kept
            .iter()
            .any(|&i| search_op(&history.ops[i]).ret.is_none());
        let stage = if info_last && unknown {
            0
        } else {
            CAPS.len() - 1
        };
        let search = key_search(history, model, &kept, stage);
        pending.push((*key, kept, stage, search));
    }
    // Keys take turns, each round with twice the steps of the last, so one key
    // with a huge search space cannot hide a violation on another.
    let mut slice: u64 = 4096;
    let mut unknown: Option<(String, UnknownCause)> = None;
    'rounds: while !pending.is_empty() {
        let mut unfinished = Vec::new();
        for (key, kept, stage, mut search) in pending {
            let outcome = search.run(slice, &mut meter);
            if outcome.is_some() {
                let held = meter.memo_bytes - search.memo_bytes() + search.memo_bytes_now();
                meter.memo_bytes_peak = meter.memo_bytes_peak.max(held);
                // This key's memo is about to be freed.
                meter.memo_bytes = meter.memo_bytes.saturating_sub(search.memo_bytes());
            }
            match outcome {
                None => unfinished.push((key, kept, stage, search)),
                Some(KeyOutcome::Linearizable) => report.keys_checked += 1,
                // Not with this few unknown operations placed: try more. A
                // stage whose cap covers every unknown operation of the key
                // is the full search, and its answer stands.
                Some(KeyOutcome::Violation { .. }) if CAPS[stage] < unknown_ops(history, &kept) => {
                    let search = key_search(history, model, &kept, stage + 1);
                    unfinished.push((key, kept, stage + 1, search));
                }
                Some(KeyOutcome::Violation {
                    prefix,
                    blocked,
                    init,
                }) => {
                    report.keys_checked += 1;
                    let explanation =
                        explain(history, kind, model, key, &kept, &prefix, blocked, &init);
                    report.verdict = Verdict::NotLinearizable { explanation };
                    report.steps = meter.steps;
                    report.memo_bytes_peak = meter.memo_bytes_peak;
                    return report;
                }
                Some(KeyOutcome::Unknown(why)) => {
                    let (why, cause) = match why {
                        Exhausted::Steps => (
                            format!(
                                "the search budget of {} steps ran out",
                                meter.budget.max_steps
                            ),
                            UnknownCause::Steps,
                        ),
                        Exhausted::Deadline => {
                            ("the time limit passed".to_string(), UnknownCause::Deadline)
                        }
                        Exhausted::Memory => (
                            format!(
                                "the search memo reached its limit of {}",
                                show_bytes(meter.budget.max_memo_bytes)
                            ),
                            UnknownCause::Memory,
                        ),
                    };
                    unknown = Some((
                        format!(
                            "{why} while checking key {key:?} ({} operations, {} step(s) on it)",
                            kept.len(),
                            search.steps
                        ),
                        cause,
                    ));
                    // The budget is shared: nothing is left for the other keys.
                    break 'rounds;
                }
            }
        }
        pending = unfinished;
        slice = slice.saturating_mul(2);
    }
    report.steps = meter.steps.min(meter.budget.max_steps);
    report.memo_bytes_peak = meter.memo_bytes_peak;
    if let Some((reason, cause)) = unknown {
        report.verdict = Verdict::Unknown { reason, cause };
    }
    report
}

/// How many `info` operations each stage of a key's search may place (see
/// [`check_linearizable_with`]); only the last stage can answer "violation".
pub(crate) const CAPS: [usize; 5] = [0, 1, 2, 3, usize::MAX];

/// How many of the operations `kept` never returned (`info`).
fn unknown_ops<F: crate::workload::Operation>(history: &History<F>, kept: &[usize]) -> usize {
    kept.iter()
        .filter(|&&i| search_op(&history.ops[i]).ret.is_none())
        .count()
}

fn key_search<'h, 'm, M: Model>(
    history: &'h History<M::Op>,
    model: &'m M,
    kept: &[usize],
    stage: usize,
) -> KeySearch<'h, 'm, M> {
    let ops: Vec<_> = kept.iter().map(|&i| search_op(&history.ops[i])).collect();
    KeySearch::new(model, ops).capped(CAPS[stage])
}

/// `1073741824` as "1 GiB", `536870912` as "512 MiB".
pub fn show_bytes(b: u64) -> String {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    if b >= GIB && b % GIB == 0 {
        format!("{} GiB", b / GIB)
    } else if b >= MIB {
        format!("{} MiB", b / MIB)
    } else if b >= 1 << 10 {
        format!("{} KiB", b >> 10)
    } else {
        format!("{b} bytes")
    }
}

/// Sets aside the crashed (`Info`) operations of one key whose effect no
/// operation can observe, for the built-in value models. `kept` holds indices
/// of the key's relevant operations; the result is the subset still to search.
///
/// An `Info` write of `v` (a delete writes nil, a cas its new value) may be
/// left out when, counting only operations that could be linearized after the
/// write was invoked (those that returned after it was invoked, or never):
///
/// - no read returned `v`;
/// - no successful or crashed cas expected `v`;
/// - no cas that found another value expected anything but `v`;
/// - and the key has no append at all (for keys with appends, see
///   [`prune_unobserved_appends`]).
///
/// Why: take any valid order that places the write. Until the next write,
/// delete or successful cas, the key holds `v`, and nothing placed there can
/// need `v`: no read returns it, no successful cas expects it, no crashed cas
/// expects it (so each crashed cas there was a no-op, and can be left out, as
/// any crashed operation can). A cas that found another value placed there
/// needs the key to differ from its expected value; with the write left out the
/// key holds the previous value instead, which may be exactly that expected
/// value, hence the third rule (one whose expected value is `v` cannot be
/// placed there at all). An append there would turn `v` into a value that
/// a later read can see, hence the fourth. So the same order without the write
/// is valid, and the history is linearizable with the write iff without it.
/// Leaving an operation out can only remove evidence from the rules above, so
/// the rule is applied until nothing changes.
///
/// Only a crashed cas is both a write and evidence (it expects a value), and
/// its evidence is "forever", whatever the times; everything else that counts
/// as evidence is never left out. So the work is near-linear: each write is
/// judged once on the fixed evidence, and one that only a crashed cas still
/// needs waits until the last crashed cas expecting its value is left out.
pub fn prune_unobserved(history: &History, kept: Vec<usize>) -> Vec<usize> {
    use model::normalize;
    const FOREVER: u64 = u64::MAX;
    let ops = &history.ops;
    if kept.iter().any(|&i| matches!(ops[i].f, OpFn::Append(_))) {
        return prune_unobserved_appends(history, kept);
    }
    let written = |op: &Op| -> Option<Value> {
        if op.outcome != Outcome::Info {
            return None;
        }
        match &op.f {
            OpFn::Write(v) => Some(normalize(v)),
            OpFn::Delete => Some(Value::Nil),
            OpFn::Cas { new, .. } => Some(normalize(new)),
            _ => None,
        }
    };
    // The expected value of a crashed cas: evidence until it is left out.
    let crashed_expects = |op: &Op| -> Option<Value> {
        match (&op.f, op.outcome) {
            (OpFn::Cas { expected, .. }, Outcome::Info) => Some(normalize(expected)),
            _ => None,
        }
    };
    // Per value: the latest return of a completed operation that needs it
    // there (a read that returned it, a successful cas that expected it).
    let mut needs: BTreeMap<Value, u64> = BTreeMap::new();
    // Per value: how many crashed cas still kept expect it.
    let mut crashed_needs: BTreeMap<Value, usize> = BTreeMap::new();
    // Cas observations: the latest return, its expected value, and the latest
    // return of one expecting any other value. Never left out.
    let mut found: Vec<(u64, Value)> = Vec::new();
    for &i in &kept {
        let op = &ops[i];
        let ret = op.return_ns.unwrap_or(FOREVER).max(op.call_ns);
        let need = match (&op.f, op.outcome) {
            (OpFn::Read, Outcome::Ok) => op.output.as_ref().map(normalize),
            (OpFn::Cas { expected, .. }, Outcome::Fail) if is_found_other(op) => {
                found.push((ret, normalize(expected)));
                None
            }
            (OpFn::Cas { expected, .. }, Outcome::Ok) => Some(normalize(expected)),
            _ => None,
        };
        if let Some(v) = need {
            let slot = needs.entry(v).or_insert(0);
            *slot = (*slot).max(ret);
        }
        if let Some(e) = crashed_expects(op) {
            *crashed_needs.entry(e).or_insert(0) += 1;
        }
    }
    found.sort_unstable_by_key(|f| std::cmp::Reverse(f.0));
    let latest = found.first().cloned();
    let latest_other = latest
        .as_ref()
        .and_then(|(_, e)| found.iter().find(|(_, x)| x != e).map(|(r, _)| *r));

    // Positions in `kept` of the crashed writes that nothing but a crashed
    // cas may need, by the value they write.
    let mut waiting: BTreeMap<Value, Vec<usize>> = BTreeMap::new();
    let mut out = vec![false; kept.len()];
    let mut work: Vec<usize> = Vec::new();
    for (pos, &i) in kept.iter().enumerate() {
        let op = &ops[i];
        let Some(v) = written(op) else {
            continue;
        };
        let t = op.call_ns;
        // Values are normalised, so equal values are the same key here.
        if needs.get(&v).is_some_and(|&r| r >= t) {
            continue;
        }
        // A cas observation that could come after it and that the write of
        // `v` could satisfy.
        let observed_after = match &latest {
            Some((r, e)) if *e != v => *r >= t,
            Some(_) => latest_other.is_some_and(|r| r >= t),
            None => false,
        };
        if observed_after {
            continue;
        }
        if crashed_needs.get(&v).is_some_and(|&n| n > 0) {
            waiting.entry(v).or_default().push(pos);
        } else {
            work.push(pos);
        }
    }
    while let Some(pos) = work.pop() {
        if out[pos] {
            continue;
        }
        out[pos] = true;
        let Some(e) = crashed_expects(&ops[kept[pos]]) else {
            continue;
        };
        let Some(n) = crashed_needs.get_mut(&e) else {
            continue;
        };
        *n -= 1;
        if *n == 0 {
            work.extend(waiting.remove(&e).unwrap_or_default());
        }
    }
    kept.into_iter()
        .zip(out)
        .filter_map(|(i, gone)| (!gone).then_some(i))
        .collect()
}

/// Crashed appends of an element no read ever returned, set aside on a key
/// with appends (the other half of [`prune_unobserved`]). An `info` append of
/// the number `e` is left out when, counting only operations that could be
/// linearized after it was invoked:
///
/// - no read returned a list holding `e`;
/// - there is no cas on the key;
/// - and every append on the key appends a number (a string append replaces a
///   list, or extends a string, so it would tell the two states apart).
///
/// Why: take any valid order that places the append. Appending a number makes
/// a list ending in `e`, whatever the key held, and numbers appended after it
/// keep `e` in the list, so until the next write or delete the key holds a
/// list with `e` in it. No read placed there returned one, so no completed
/// read is placed there; no cas is either. What is placed there are appends,
/// which fit any state, and reads with no answer, which fit any state too. The
/// first write or delete after it (if any) leaves the key the same with or
/// without the append. So the same order without the append is valid, and the
/// history is linearizable with it iff without it. Leaving one out changes no
/// rule for another, so all of them go at once.
fn prune_unobserved_appends(history: &History, kept: Vec<usize>) -> Vec<usize> {
    const FOREVER: u64 = u64::MAX;
    let ops = &history.ops;
    let ret = |op: &Op| op.return_ns.unwrap_or(FOREVER).max(op.call_ns);
    let mut latest_cas: Option<u64> = None;
    // Per element: the latest return of a read whose list held it.
    let mut seen: BTreeMap<i64, u64> = BTreeMap::new();
    for &i in &kept {
        let op = &ops[i];
        match (&op.f, op.outcome, &op.output) {
            (OpFn::Append(Value::Int(_)), _, _) => {}
            (OpFn::Append(_), _, _) => return kept,
            (OpFn::Cas { .. }, outcome, _) => {
                // A cas that did not complete may take effect at any time
                // after its call, whatever return time the history records.
                let r = if outcome == Outcome::Ok {
                    ret(op)
                } else {
                    FOREVER
                };
                latest_cas = Some(latest_cas.map_or(r, |l| l.max(r)));
            }
            (OpFn::Read, Outcome::Ok, Some(Value::List(l))) => {
                for &e in l {
                    let slot = seen.entry(e).or_insert(0);
                    *slot = (*slot).max(ret(op));
                }
            }
            _ => {}
        }
    }
    kept.into_iter()
        .filter(|&i| {
            let op = &ops[i];
            let (OpFn::Append(Value::Int(e)), Outcome::Info) = (&op.f, op.outcome) else {
                return true;
            };
            let t = op.call_ns;
            latest_cas.is_some_and(|r| r >= t) || seen.get(e).is_some_and(|&r| r >= t)
        })
        .collect()
}
