//! The orders a model stronger than serializability adds to the graph: each
//! process's own order (strong session serializability) and real time
//! (strict serializability). Failed transactions take no part: they did not
//! happen.

use std::collections::{BTreeMap, BTreeSet};

use crate::history::Outcome;

use super::graph::{DepGraph, Kind, Why};
use super::TxnHistory;

/// An edge from each committed transaction of a process to every later one
/// up to and including its next committed one. An indeterminate (`:info`)
/// transaction follows its process's last committed one, and nothing
/// follows it: it may have taken effect after its process moved on.
pub(super) fn process_edges(h: &TxnHistory, g: &mut DepGraph) {
    let mut last: BTreeMap<u64, u32> = BTreeMap::new();
    for (t, txn) in h.txns.iter().enumerate() {
        if txn.outcome == Outcome::Fail {
            continue;
        }
        if let Some(&prev) = last.get(&txn.process) {
            let why = Why::SameProcess {
                process: txn.process,
            };
            g.add(prev, t as u32, Kind::Process, why);
        }
        if txn.outcome == Outcome::Ok {
            last.insert(txn.process, t as u32);
        }
    }
}

/// Real-time edges, transitively reduced: a transaction invoked after others
/// completed gets an edge from each of the *frontier*, the completed
/// transactions no later-completed one already follows; a transaction that
/// completes removes its own predecessors from the frontier (they reach
/// anything after it through it). Edges: at most the frontier's size per
/// transaction, which is about the concurrency. Invocations at the instant of
/// a completion are not ordered after it.
pub(super) fn realtime_edges(h: &TxnHistory, g: &mut DepGraph) {
    // (time, 0 = invocation / 1 = completion, transaction).
    let mut events: Vec<(u64, u8, u32)> = Vec::new();
    for (t, txn) in h.txns.iter().enumerate() {
        if txn.outcome == Outcome::Fail {
            continue;
        }
        events.push((txn.call_ns, 0, t as u32));
        if let (Outcome::Ok, Some(done)) = (txn.outcome, txn.return_ns) {
            events.push((done, 1, t as u32));
        }
    }
    events.sort_unstable();
    let mut frontier: BTreeSet<u32> = BTreeSet::new();
    let mut preds: Vec<Vec<u32>> = vec![Vec::new(); h.txns.len()];
    for (_, what, t) in events {
        let tu = t as usize;
        if what == 0 {
            for &p in &frontier {
                let why = Why::CompletedBefore {
                    done: h.txns[p as usize].return_ns.unwrap_or(0),
                    invoked: h.txns[tu].call_ns,
                };
                g.add(p, t, Kind::Realtime, why);
            }
            preds[tu] = frontier.iter().copied().collect();
        } else {
            for p in std::mem::take(&mut preds[tu]) {
                frontier.remove(&p);
            }
            frontier.insert(t);
        }
    }
}
