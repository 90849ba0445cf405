//! Anomalies in words, Elle-style: the transactions, then each edge of the
//! cycle with the keys and values that justify it.

use super::graph::{tally, DepGraph, Kind, Step, Why};
use super::infer::Keys;
use super::{Anomaly, AnomalyKind, CycleStep, Mop, ReadValue, TxnHistory, TxnRef};

/// `T<n>`, the n-th transaction, from 1.
pub(super) fn txn_name(t: usize) -> String {
    format!("T{}", t + 1)
}

/// Lists longer than this are shown by their ends and their length.
const LIST_SHOWN_MAX: usize = 16;

pub(super) fn list_edn(list: &[i64]) -> String {
    let show = |l: &[i64]| l.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
    if list.len() <= LIST_SHOWN_MAX {
        return format!("[{}]", show(list));
    }
    let half = LIST_SHOWN_MAX / 2;
    format!(
        "[{} ... {}] ({} elements)",
        show(&list[..half]),
        show(&list[list.len() - half..]),
        list.len()
    )
}

pub(super) fn reg_edn(v: Option<i64>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

pub(super) fn mop_edn(mop: &Mop) -> String {
    match mop {
        Mop::Append { key, value } => format!("[:append {key} {value}]"),
        Mop::Write { key, value } => format!("[:w {key} {value}]"),
        Mop::Read { key, value } => {
            let v = match value {
                ReadValue::Unknown => "nil".to_string(),
                ReadValue::List(l) => list_edn(l),
                ReadValue::Register(v) => reg_edn(*v),
            };
            format!("[:r {key} {v}]")
        }
    }
}

pub(super) fn txn_ref(h: &TxnHistory, t: usize) -> TxnRef {
    let txn = &h.txns[t];
    let mops: Vec<String> = txn.mops.iter().map(mop_edn).collect();
    TxnRef {
        name: txn_name(t),
        process: txn.process,
        line: txn.line,
        txn: format!("[{}]", mops.join(" ")),
    }
}

fn read_list(h: &TxnHistory, (t, m): (u32, u32)) -> String {
    match &h.txns[t as usize].mops[m as usize] {
        Mop::Read {
            value: ReadValue::List(l),
            ..
        } => list_edn(l),
        other => mop_edn(other),
    }
}

/// Why the edge `step` exists, in words.
fn because(h: &TxnHistory, keys: &Keys, step: Step, why: &Why) -> String {
    let (a, b) = (txn_name(step.from as usize), txn_name(step.to as usize));
    let key = |k: &u32| keys.names[*k as usize].as_str();
    match why {
        Why::AppendedAfter {
            key: k,
            before,
            after,
        } => format!(
            "{a} appended {before} to key {}, and {b} appended {after} right after it",
            key(k)
        ),
        Why::ReadAppended {
            key: k,
            value,
            read,
        } => format!(
            "{a} appended {value} to key {}, and {b} read key {} = {}, which ends with it",
            key(k),
            key(k),
            read_list(h, *read)
        ),
        Why::ReadMissed { key: k, read, next } => format!(
            "{a} read key {} = {}, which did not include {next}, appended next by {b}",
            key(k),
            read_list(h, *read)
        ),
        Why::ReadWritten { key: k, value } => {
            format!("{a} wrote {value} to key {}, and {b} read it", key(k))
        }
        Why::WroteOver {
            key: k,
            read,
            wrote,
        } => format!(
            "{b} read key {} = {read}, written by {a}, and then wrote {wrote} over it",
            key(k)
        ),
        Why::ReadBefore {
            key: k,
            read: None,
            wrote,
        } => format!(
            "{a} read key {} = nil, the initial state, which {b}'s write of {wrote} comes after",
            key(k)
        ),
        Why::ReadBefore {
            key: k,
            read: Some(v),
            wrote,
        } => format!(
            "{a} read key {} = {v}, which {b} read and then overwrote with {wrote}",
            key(k)
        ),
        Why::SameProcess { process } => {
            format!("process {process} ran {a} and then {b}")
        }
        Why::CompletedBefore { done, invoked } => {
            format!("{a} completed (at {done}) before {b} was invoked (at {invoked})")
        }
    }
}

/// A cycle's name, from the edges it has.
pub(super) fn cycle_kind(cycle: &[Step]) -> AnomalyKind {
    use AnomalyKind::*;
    let t = tally(cycle);
    let names = if t.realtime > 0 {
        [G0Realtime, G1cRealtime, GSingleRealtime, G2Realtime]
    } else if t.process > 0 {
        [G0Process, G1cProcess, GSingleProcess, G2Process]
    } else {
        [G0, G1c, GSingle, G2]
    };
    match (t.wr, t.rw) {
        (0, 0) => names[0],
        (_, 0) => names[1],
        (_, 1) => names[2],
        _ => names[3],
    }
}

/// The anomaly a cycle is: named by the edges it has.
pub(super) fn cycle_anomaly(
    h: &TxnHistory,
    graph: &DepGraph,
    keys: &Keys,
    cycle: &[Step],
) -> Anomaly {
    let kind = cycle_kind(cycle);
    let steps: Vec<CycleStep> = cycle
        .iter()
        .map(|&s| CycleStep {
            from: txn_name(s.from as usize),
            to: txn_name(s.to as usize),
            kind: s.kind.name(),
            because: because(h, keys, s, graph.why(s)),
        })
        .collect();
    let mut explanation = String::from("Let:\n");
    for s in cycle {
        let r = txn_ref(h, s.from as usize);
        let at = if r.line > 0 {
            format!(", line {}", r.line)
        } else {
            String::new()
        };
        explanation.push_str(&format!(
            "  {} = process {}{at}: {}\n",
            r.name, r.process, r.txn
        ));
    }
    explanation.push_str("Then:\n");
    for (s, step) in cycle.iter().zip(&steps) {
        explanation.push_str(&format!(
            "  - {} < {} ({}): {}.\n",
            step.from,
            step.to,
            s.kind.name(),
            step.because
        ));
    }
    let rws = cycle.iter().filter(|s| s.kind == Kind::Rw).count();
    let order = steps
        .iter()
        .map(|s| s.from.as_str())
        .chain(steps.first().map(|s| s.from.as_str()))
        .collect::<Vec<_>>()
        .join(" < ");
    explanation.push_str(&format!(
        "Hence {order}: a cycle ({kind}, {rws} rw edge(s)), which no serial order{} allows.",
        match kind {
            k if k.name().ends_with("-realtime") => " consistent with real time",
            k if k.name().ends_with("-process") => " consistent with each process's order",
            _ => "",
        }
    ));
    Anomaly {
        kind,
        txns: cycle.iter().map(|s| txn_ref(h, s.from as usize)).collect(),
        cycle: steps,
        explanation,
    }
}
