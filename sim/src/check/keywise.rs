//! The linearizability check of a run's own history, one key at a time.
//!
//! [`super::search`] gives the keys turns (each round twice the steps of the
//! last) so that one hopeless key cannot hide a violation on another; but
//! then every key's search, memo and operations are held at once, and a run
//! of two million operations on a hundred keys needs a gigabyte to check.
//! Here each key's operations are decoded from the run's compact log, searched
//! to the end, and dropped before the next key's.
//!
//! The answer must be the one the turns give, so this path only answers when
//! it can vouch for that: when every key is linearizable within the budget.
//! Each key's search does not depend on the others, so the steps are the
//! same sum; the memory the turns would have held at once is replayed from
//! each key's record of its memo's growth (when, in its own steps, it was
//! counted), round by round, which gives the same peak and tells whether the
//! memory budget would have run out. Anything else (a violation, a budget
//! spent, an operation the model does not know) returns `None`, and the
//! caller runs the turns on the whole history, which explains it.

use super::linear::{relevant, search_op, KeyOutcome, KeySearch, Meter};
use super::{Budget, LinearizabilityReport, Model, Verdict, CAPS};
use crate::history::{History, OpLog};

/// Sets aside, from one key's relevant operations (indices into that key's
/// own history), those the search need not order.
pub(crate) type KeyPrune<'a, F> = &'a dyn Fn(&History<F>, Vec<usize>) -> Vec<usize>;

/// One stage of one key's search, as its turns would replay it.
struct Stage {
    /// Steps it took to finish.
    steps: u64,
    /// (its steps then, its memo's bytes as counted) each time it was counted.
    counted: Vec<(u64, u64)>,
    /// Its memo's bytes when it finished.
    bytes_at_end: u64,
}

/// The report [`super::search`] would give `log`, when every key is
/// linearizable; `None` when this path cannot vouch for the answer.
pub(crate) fn check_keywise<M: Model>(
    log: &OpLog<M::Op>,
    model: &M,
    budget: Budget<'_>,
    prune: Option<KeyPrune<'_, M::Op>>,
    info_last: bool,
) -> Option<LinearizabilityReport> {
    // A deadline is polled as the turns poll it, which one key at a time
    // cannot reproduce: the turns answer.
    if budget.expired.is_some() {
        return None;
    }
    let max_steps = budget.max_steps;
    let keys = log.by_key();
    let mut report = LinearizabilityReport {
        model: model.name(),
        verdict: Verdict::Linearizable,
        keys_total: keys.len(),
        keys_checked: 0,
        ops_total: log.len(),
        ops_searched: 0,
        ops_pruned: 0,
        steps: 0,
        memo_bytes_peak: 0,
    };
    let max_memo_bytes = budget.max_memo_bytes;
    let mut meter = Meter {
        budget,
        steps: 0,
        memo_bytes: 0,
        memo_bytes_peak: 0,
        memo_log: Some(Vec::new()),
    };
    // Per key, its stages in order.
    let mut stages: Vec<Vec<Stage>> = Vec::with_capacity(keys.len());
    for (_, indices) in &keys {
        let history = History {
            ops: indices.iter().map(|&i| log.op(i)).collect(),
        };
        if history.ops.iter().any(|op| !model.supports(&op.f)) {
            return None;
        }
        let mut kept: Vec<usize> = (0..history.ops.len())
            .filter(|&i| relevant(&history.ops[i]))
            .collect();
        if let Some(prune) = prune {
            let before = kept.len();
            kept = prune(&history, kept);
            report.ops_pruned += before - kept.len();
        }
        report.ops_searched += kept.len();
        let unknown = kept
            .iter()
            .filter(|&&i| search_op(&history.ops[i]).ret.is_none())
            .count();
        let mut stage = if info_last && unknown > 0 {
            0
        } else {
            CAPS.len() - 1
        };
        let mut key_stages = Vec::new();
        loop {
            let ops = kept.iter().map(|&i| search_op(&history.ops[i])).collect();
            let mut search = KeySearch::new(model, ops).capped(CAPS[stage]);
            if let Some(log) = meter.memo_log.as_mut() {
                log.clear();
            }
            // Never past the budget: the sum of every key's steps over it
            // means the turns run out of steps somewhere, which they report
            // (so a run the search cannot decide costs at most one budget
            // here, and one in the turns).
            let left = max_steps.saturating_sub(meter.steps).saturating_add(1);
            let outcome = search.run(left, &mut meter);
            // This key's memo is freed before the next key's starts.
            meter.memo_bytes = 0;
            key_stages.push(Stage {
                steps: search.steps,
                counted: meter
                    .memo_log
                    .as_mut()
                    .map(std::mem::take)
                    .unwrap_or_default(),
                bytes_at_end: search.memo_bytes_now(),
            });
            match outcome {
                Some(KeyOutcome::Linearizable) => break,
                Some(KeyOutcome::Violation { .. }) if CAPS[stage] < unknown => stage += 1,
                _ => return None,
            }
        }
        report.keys_checked += 1;
        stages.push(key_stages);
    }
    report.steps = meter.steps;
    report.memo_bytes_peak = in_turns_memo_peak(&stages, max_memo_bytes)?;
    Some(report)
}

/// The most memory the memos would have held at once had the keys taken
/// turns as [`super::search`] gives them; `None` if that passes `max`, where
/// the turns would have stopped undecided.
fn in_turns_memo_peak(stages: &[Vec<Stage>], max: u64) -> Option<u64> {
    struct Turn {
        key: usize,
        stage: usize,
        /// Steps the stage has taken, and how many of its counts are in.
        steps: u64,
        counts_in: usize,
        /// Its memo's bytes as last counted.
        counted: u64,
    }
    let mut pending: Vec<Turn> = (0..stages.len())
        .map(|key| Turn {
            key,
            stage: 0,
            steps: 0,
            counts_in: 0,
            counted: 0,
        })
        .collect();
    let (mut held, mut peak) = (0u64, 0u64);
    let mut slice: u64 = 4096;
    while !pending.is_empty() {
        let mut unfinished = Vec::with_capacity(pending.len());
        for mut turn in pending {
            let stage = &stages[turn.key][turn.stage];
            let limit = turn.steps.saturating_add(slice);
            while let Some(&(at, bytes)) = stage.counted.get(turn.counts_in) {
                if at > limit {
                    break;
                }
                held += bytes.saturating_sub(turn.counted);
                peak = peak.max(held);
                turn.counted = bytes;
                turn.counts_in += 1;
                if held > max {
                    return None;
                }
            }
            if stage.steps > limit {
                turn.steps = limit;
                unfinished.push(turn);
                continue;
            }
            peak = peak.max(held - turn.counted + stage.bytes_at_end);
            held = held.saturating_sub(turn.counted);
            if turn.stage + 1 < stages[turn.key].len() {
                unfinished.push(Turn {
                    key: turn.key,
                    stage: turn.stage + 1,
                    steps: 0,
                    counts_in: 0,
                    counted: 0,
                });
            }
        }
        pending = unfinished;
        slice = slice.saturating_mul(2);
    }
    Some(peak)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_linearizable, check_weak, prune_unobserved, weak, ModelKind};
    use crate::history::{Invocation, Outcome, Value};
    use crate::node::NodeId;

    /// `history` recorded as a run records it.
    fn logged(history: &History) -> OpLog {
        let mut log = OpLog::new();
        for op in &history.ops {
            let i = log.push(
                &op.key,
                &op.f,
                Invocation {
                    process: op.process,
                    client: NodeId(0),
                    call_ns: op.call_ns,
                    in_partition: false,
                    cut_off: false,
                },
            );
            if op.found_other {
                log.set_found_other(i);
            }
            if let Some(r) = op.return_ns {
                log.complete(i, op.outcome, op.output.clone(), r, true);
            }
            assert_eq!(log.op(i), *op, "operation {i} is recorded as it was");
        }
        log
    }

    fn kv_keywise(log: &OpLog, budget: Budget<'_>) -> Option<LinearizabilityReport> {
        let prune = |h: &History, kept| prune_unobserved(h, kept);
        check_keywise(log, &ModelKind::Kv.model(), budget, Some(&prune), false)
    }

    #[test]
    fn one_key_at_a_time_gives_the_report_of_the_turns_memo_peak_included() {
        let history = crate::check::synth::linearizable_kv_history(7, 20_000, 40, 8);
        let log = logged(&history);
        let turns = check_linearizable(&history, ModelKind::Kv, Budget::default());
        assert!(turns.verdict.is_linearizable());
        assert!(turns.memo_bytes_peak > 0);
        let keywise = kv_keywise(&log, Budget::default()).expect("every key is linearizable");
        assert_eq!(keywise, turns);
    }

    #[test]
    fn a_budget_the_turns_would_spend_leaves_the_answer_to_the_turns() {
        let history = crate::check::synth::linearizable_kv_history(7, 20_000, 40, 8);
        let log = logged(&history);
        let full = check_linearizable(&history, ModelKind::Kv, Budget::default());
        // Steps: the same sum either way.
        assert!(kv_keywise(&log, Budget::steps(full.steps - 1)).is_none());
        // Memory: where the turns would hold more than the budget at once,
        // this path must not answer; where they would not, it answers as they do.
        // (A memo is counted every 1024 entries: keys with many operations.)
        let history = crate::check::synth::linearizable_kv_history(7, 60_000, 4, 8);
        let log = logged(&history);
        let full = check_linearizable(&history, ModelKind::Kv, Budget::default());
        let mut refused = 0;
        for share in [2, 3, 4, 8, 16, 64] {
            let budget = Budget {
                max_memo_bytes: full.memo_bytes_peak / share,
                ..Budget::default()
            };
            let turns = check_linearizable(&history, ModelKind::Kv, budget);
            match kv_keywise(&log, budget) {
                Some(keywise) => assert_eq!(keywise, turns, "1/{share} of the peak"),
                None => {
                    assert!(!turns.verdict.is_linearizable(), "1/{share} of the peak");
                    refused += 1;
                }
            }
        }
        assert!(refused > 0, "some budget was too small for the turns");
    }

    #[test]
    fn a_violation_leaves_the_answer_to_the_turns() {
        let mut history = crate::check::synth::linearizable_kv_history(3, 2_000, 10, 4);
        // A read that returned a value nobody wrote.
        let read = history
            .ops
            .iter_mut()
            .rfind(|op| op.outcome == Outcome::Ok && op.output.is_some())
            .expect("a completed read");
        read.output = Some(Value::Int(-12345));
        let log = logged(&history);
        assert!(kv_keywise(&log, Budget::default()).is_none());
        assert_eq!(weak::check_weak_log(&log), check_weak(&history));
        assert!(!check_weak(&history).is_clean());
    }

    #[test]
    fn the_weak_checks_one_key_at_a_time_match_the_whole_history() {
        let mut history = crate::check::synth::linearizable_kv_history(11, 5_000, 20, 6);
        // Stale reads: some reads return the value their key held before.
        let mut last: std::collections::BTreeMap<String, Value> = Default::default();
        for (n, op) in history.ops.iter_mut().enumerate() {
            if let (crate::history::OpFn::Read, Some(out)) = (&op.f, op.output.as_mut()) {
                if n % 7 == 0 {
                    if let Some(v) = last.get(&op.key) {
                        *out = v.clone();
                    }
                }
                last.insert(op.key.clone(), out.clone());
            }
        }
        let whole = check_weak(&history);
        assert!(whole.stale_reads > 0, "{whole:?}");
        assert_eq!(weak::check_weak_log(&logged(&history)), whole);
    }
}
