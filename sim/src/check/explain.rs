//! Explaining a violation in terms a learner can follow, and how reports
//! write operations, clients and verdicts.

use std::fmt;

use super::linear::is_found_other;
use super::{Explanation, LinearizabilityReport, Model, PlacedOp, Verdict};
use crate::history::{History, Op, OpFn, Outcome, ProcessId};
use crate::workload::Operation;

#[allow(clippy::too_many_arguments)]
pub(super) fn explain<M: Model>(
    history: &History<M::Op>,
    kind: &'static str,
    model: &M,
    key: &str,
    kept: &[usize],
    prefix: &[(usize, M::State)],
    blocked: usize,
    init: &M::State,
) -> Explanation {
    let blocked_op = &history.ops[kept[blocked]];
    let placed: Vec<PlacedOp> = prefix
        .iter()
        .map(|(i, s)| {
            let op = &history.ops[kept[*i]];
            PlacedOp {
                index: kept[*i],
                process: op.process,
                op: describe_op(op),
                state_after: model.describe_for(s, &op.f),
            }
        })
        .collect();
    // The blocked operation must come after every prefix operation that returned
    // before it was invoked (a cas observation too); from there on, it could
    // have seen any later state.
    let first = prefix
        .iter()
        .rposition(|(i, _)| {
            let op = &history.ops[kept[*i]];
            (op.outcome == Outcome::Ok || is_found_other(op))
                && op.return_ns.is_some_and(|r| r < blocked_op.call_ns)
        })
        .map_or(0, |p| p + 1);
    let mut seen: Vec<String> = Vec::new();
    let candidates = std::iter::once(init)
        .chain(prefix.iter().map(|(_, s)| s))
        .skip(first);
    for s in candidates {
        let d = model.describe_for(s, &blocked_op.f);
        if !seen.contains(&d) {
            seen.push(d);
        }
    }
    Explanation {
        key: key.to_string(),
        model: kind,
        initial_state: model.describe(init),
        prefix: placed,
        blocked_index: kept[blocked],
        blocked_process: blocked_op.process,
        blocked_op: describe_op(blocked_op),
        could_have_seen: seen,
    }
}

/// An operation as a learner would write it: `c3 write 4`, `c1 read -> 3`,
/// `c2 cas 1 -> 4 (info)`, `c2 cas 1 -> 4 (found another value)`.
///
/// Clients are named as in the trace and the TUI: client `c3` is process 3.
/// In an external history, `c3` is the history's (Jepsen's) process 3.
pub fn describe_op<F: Operation>(op: &Op<F>) -> String {
    let body = op.f.describe_done(op.output.as_ref());
    let outcome = match op.outcome {
        Outcome::Ok => "",
        Outcome::Fail if op.found_other && matches!(op.f.as_kv(), Some(OpFn::Cas { .. })) => {
            " (found another value)"
        }
        Outcome::Fail => " (fail)",
        Outcome::Info => " (info)",
    };
    format!("{} {body}{outcome}", client_name(op.process))
}

/// The name of a client in every report: `c3` for process 3.
pub fn client_name(process: ProcessId) -> String {
    format!("c{process}")
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.key.is_empty() {
            "the register".to_string()
        } else {
            format!("key {:?}", self.key)
        };
        writeln!(f, "{key} ({} model) is not linearizable.", self.model)?;
        writeln!(
            f,
            "The longest order of its operations consistent with real time and the model has {} operation(s), starting from {}:",
            self.prefix.len(),
            self.initial_state
        )?;
        const SHOWN: usize = 12;
        if self.prefix.len() > SHOWN {
            writeln!(
                f,
                "  ... {} earlier operation(s) ...",
                self.prefix.len() - SHOWN
            )?;
        }
        for p in self
            .prefix
            .iter()
            .skip(self.prefix.len().saturating_sub(SHOWN))
        {
            writeln!(
                f,
                "  #{:<6} {:<28} => {}",
                p.index,
                clip(&p.op),
                clip(&p.state_after)
            )?;
        }
        writeln!(
            f,
            "Then #{} `{}` cannot be placed:",
            self.blocked_index,
            clip(&self.blocked_op)
        )?;
        let seen: Vec<String> = self.could_have_seen.iter().map(|s| clip(s)).collect();
        write!(
            f,
            "  it returned before any consistent order could include it; where it could have taken effect, the value was {}.",
            seen.join(" or ")
        )
    }
}

/// Long values (a string grown by hundreds of appends) keep their end, which
/// is where they differ.
fn clip(s: &str) -> String {
    const MAX: usize = 48;
    let n = s.chars().count();
    if n <= MAX {
        s.to_string()
    } else {
        let tail: String = s.chars().skip(n - (MAX - 3)).collect();
        format!("...{tail}")
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Linearizable => write!(f, "linearizable"),
            Verdict::NotLinearizable { explanation } => {
                write!(f, "NOT linearizable\n{explanation}")
            }
            Verdict::Unknown { reason, .. } => write!(f, "undecided: {reason}"),
        }
    }
}

impl fmt::Display for LinearizabilityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "linearizability ({} model): {} of {} key(s) checked, {} of {} operation(s) searched",
            self.model, self.keys_checked, self.keys_total, self.ops_searched, self.ops_total
        )?;
        if self.ops_pruned > 0 {
            write!(
                f,
                " ({} crashed write(s) nobody could observe set aside)",
                self.ops_pruned
            )?;
        }
        writeln!(f, ", {} step(s)", self.steps)?;
        write!(f, "verdict: {}", self.verdict)
    }
}
