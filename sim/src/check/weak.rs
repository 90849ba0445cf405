//! Weaker guarantees: how far from linearizable was a history?
//!
//! Linearizability is a yes/no answer. An eventually consistent store fails it
//! and so does a broken one; these measures tell them apart. They all rest on
//! one cautious notion of "older": value A is *definitely older* than a write W
//! when every write that could have produced A finished before W began. Every
//! measure gives the history the benefit of the doubt: when a value could have
//! come from several writes, the most recent one is assumed.
//!
//! - **stale read**: a read returned a value definitely older than a write that
//!   had completed before the read began. Counted with how far behind it was, in
//!   versions (how many such newer writes it missed) and in time (how long the
//!   oldest missed write had been acknowledged when the read started).
//! - **read-your-writes** violation: the newer write the read missed was the
//!   reading client's own.
//! - **monotonic-reads** violation: a client read a value definitely older than
//!   what the same client had read before on that key.
//! - **lost write**: an acknowledged write that no later read can explain: some
//!   reads began after it completed, and every one of them saw something
//!   definitely older (for appends: the element is missing).
//!
//! Appends are handled by content: a read that lacks an element whose append
//! completed before the read began missed that append, unless an overwrite
//! (write, cas, delete) could have come in between.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::describe_op;
use super::model::same_value;
use crate::history::{History, Op, OpFn, Outcome, ProcessId, Value};

/// A read that returned an old value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaleRead {
    /// Index into `History::ops`.
    pub index: usize,
    pub process: ProcessId,
    pub key: String,
    pub read: String,
    /// How many completed writes the read missed.
    pub versions_behind: usize,
    /// How long the first write it missed had been acknowledged when it began.
    pub staleness_ns: u64,
}

/// Violations by one client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientViolations {
    pub process: ProcessId,
    pub count: usize,
    /// Index into `History::ops` of the first violating read.
    pub first_index: usize,
}

/// What [`check_weak`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WeakReport {
    /// Completed reads with a value.
    pub reads: usize,
    pub stale_reads: usize,
    pub staleness_ns_max: u64,
    pub staleness_ns_mean: u64,
    pub versions_behind_max: usize,
    /// The first stale reads, in history order (at most [`WeakReport::EXAMPLES`]).
    pub stale_examples: Vec<StaleRead>,
    pub read_your_writes: Vec<ClientViolations>,
    pub monotonic_reads: Vec<ClientViolations>,
    /// Acknowledged writes that no later read can explain (indices into `ops`).
    pub lost_writes: Vec<usize>,
    /// Reads of a value no write (and no initial state) could have produced.
    pub unexplained_reads: Vec<usize>,
}

impl WeakReport {
    pub const EXAMPLES: usize = 10;

    pub fn read_your_writes_total(&self) -> usize {
        self.read_your_writes.iter().map(|c| c.count).sum()
    }
    pub fn monotonic_reads_total(&self) -> usize {
        self.monotonic_reads.iter().map(|c| c.count).sum()
    }
    /// No anomaly of any kind.
    pub fn is_clean(&self) -> bool {
        self.stale_reads == 0
            && self.read_your_writes.is_empty()
            && self.monotonic_reads.is_empty()
            && self.lost_writes.is_empty()
            && self.unexplained_reads.is_empty()
    }
}

/// A write's interval; the initial state is a write that finished before time.
#[derive(Clone, Copy)]
struct Span {
    call: i128,
    ret: i128,
}

const NEVER: i128 = i128::MAX;
const INITIAL: Span = Span { call: -1, ret: -1 };

fn span(op: &Op) -> Span {
    let ret = match (op.outcome, op.return_ns) {
        (Outcome::Ok, Some(r)) => i128::from(r),
        _ => NEVER,
    };
    Span {
        call: i128::from(op.call_ns),
        ret,
    }
}

fn is_overwrite(f: &OpFn) -> bool {
    matches!(f, OpFn::Write(_) | OpFn::Cas { .. } | OpFn::Delete)
}

fn is_empty(v: &Value) -> bool {
    same_value(v, &Value::Nil)
}

/// Whether `v` contains the element(s) appended by `arg`.
fn contains(v: &Value, arg: &Value) -> bool {
    match (v, arg) {
        (_, Value::Nil) => true,
        (Value::List(l), Value::Int(i)) => l.contains(i),
        (Value::List(l), Value::List(a)) => a.iter().all(|i| l.contains(i)),
        (Value::Str(s), Value::Str(a)) => s.contains(a.as_str()),
        (v, a) => v == a,
    }
}

/// Whether `v` ends with what `arg` appends (so that append could have made it).
fn ends_with(v: &Value, arg: &Value) -> bool {
    match (v, arg) {
        (Value::List(l), Value::Int(i)) => l.last() == Some(i),
        (Value::List(l), Value::List(a)) => !a.is_empty() && l.ends_with(a),
        (Value::Str(s), Value::Str(a)) => !a.is_empty() && s.ends_with(a.as_str()),
        _ => false,
    }
}

/// The value a write leaves behind, for a register-style write.
fn written(f: &OpFn) -> Option<&Value> {
    match f {
        OpFn::Write(v) => Some(v),
        OpFn::Cas { new, .. } => Some(new),
        _ => None,
    }
}

/// Whether `v` is a strict prefix of `w` (an older state of an append-only key).
fn strict_prefix(v: &Value, w: &Value) -> bool {
    match (v, w) {
        (Value::List(a), Value::List(b)) => a.len() < b.len() && b.starts_with(a),
        (Value::Str(a), Value::Str(b)) => a.len() < b.len() && b.starts_with(a.as_str()),
        (a, b) => is_empty(a) && !is_empty(b),
    }
}

struct KeyView<'h> {
    /// (index, op) of writes that may have taken effect, history order.
    writes: Vec<(usize, &'h Op)>,
    any_overwrite: bool,
}

impl KeyView<'_> {
    /// The writes that could have produced `v`, summarised charitably as one
    /// span: from the earliest invocation to the latest completion among them
    /// (None if nothing could have).
    fn source(&self, v: &Value) -> Option<Span> {
        let mut best: Option<Span> = if is_empty(v) { Some(INITIAL) } else { None };
        for (_, w) in &self.writes {
            let could = match &w.f {
                OpFn::Write(x) | OpFn::Cas { new: x, .. } => same_value(x, v),
                OpFn::Delete => is_empty(v),
                OpFn::Append(x) => ends_with(v, x) || (is_empty(v) && is_empty(x)),
                OpFn::Read => false,
            };
            if could {
                let s = span(w);
                best = Some(match best {
                    None => s,
                    Some(b) => Span {
                        call: b.call.min(s.call),
                        ret: b.ret.max(s.ret),
                    },
                });
            }
        }
        best
    }

    /// The completed writes a read of `v` over `[call, ret]` definitely missed.
    fn missed(&self, v: &Value, src: Span, read: Span) -> Vec<usize> {
        let mut out = Vec::new();
        for &(i, w) in &self.writes {
            let s = span(w);
            if w.outcome != Outcome::Ok || s.ret >= read.call {
                continue;
            }
            let missed = match &w.f {
                OpFn::Append(x) => {
                    !contains(v, x)
                        && !self.writes.iter().any(|(_, o)| {
                            // An overwrite that may fall between the append and the read.
                            is_overwrite(&o.f) && span(o).ret > s.call && span(o).call < read.ret
                        })
                }
                f => {
                    let differs = match written(f) {
                        Some(x) => !same_value(x, v),
                        None => !is_empty(v),
                    };
                    differs && src.ret < s.call
                }
            };
            if missed {
                out.push(i);
            }
        }
        out
    }
}

/// Measures stale reads, read-your-writes, monotonic reads and lost writes.
pub fn check_weak(history: &History) -> WeakReport {
    let mut by_key: BTreeMap<&str, KeyView<'_>> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        let view = by_key.entry(op.key.as_str()).or_insert(KeyView {
            writes: Vec::new(),
            any_overwrite: false,
        });
        if !matches!(op.f, OpFn::Read) && op.outcome != Outcome::Fail {
            view.any_overwrite |= is_overwrite(&op.f);
            view.writes.push((i, op));
        }
    }

    let mut report = WeakReport::default();
    let mut staleness_sum: u128 = 0;
    let mut ryw: BTreeMap<ProcessId, ClientViolations> = BTreeMap::new();
    let mut mono: BTreeMap<ProcessId, ClientViolations> = BTreeMap::new();
    // For lost writes: per write, (later reads, later reads that missed it).
    let mut later: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    // Per (client, key): the last read's value and its source.
    let mut last_read: BTreeMap<(ProcessId, &str), (&Value, Option<Span>, Span)> = BTreeMap::new();

    for (i, op) in history.ops.iter().enumerate() {
        let (OpFn::Read, Outcome::Ok, Some(v)) = (&op.f, op.outcome, op.output.as_ref()) else {
            continue;
        };
        report.reads += 1;
        let view = &by_key[op.key.as_str()];
        let read = span(op);
        let src = view.source(v);
        if src.is_none() {
            report.unexplained_reads.push(i);
        }
        let missed = view.missed(v, src.unwrap_or(INITIAL), read);

        if !missed.is_empty() {
            report.stale_reads += 1;
            let first_ack = missed
                .iter()
                .filter_map(|&w| history.ops[w].return_ns)
                .min()
                .unwrap_or(op.call_ns);
            let staleness_ns = op.call_ns.saturating_sub(first_ack);
            staleness_sum += u128::from(staleness_ns);
            report.staleness_ns_max = report.staleness_ns_max.max(staleness_ns);
            report.versions_behind_max = report.versions_behind_max.max(missed.len());
            if report.stale_examples.len() < WeakReport::EXAMPLES {
                report.stale_examples.push(StaleRead {
                    index: i,
                    process: op.process,
                    key: op.key.clone(),
                    read: describe_op(op),
                    versions_behind: missed.len(),
                    staleness_ns,
                });
            }
            if missed.iter().any(|&w| history.ops[w].process == op.process) {
                bump(&mut ryw, op.process, i);
            }
        }

        // Lost writes: count this read against every earlier-completed write.
        let missed: BTreeSet<usize> = missed.into_iter().collect();
        for &(w, wop) in &view.writes {
            if wop.outcome == Outcome::Ok && span(wop).ret < read.call {
                let e = later.entry(w).or_insert((0, 0));
                e.0 += 1;
                if missed.contains(&w) {
                    e.1 += 1;
                }
            }
        }

        // Monotonic reads: compare with this client's previous read of the key.
        let slot = (op.process, op.key.as_str());
        if let Some(&(prev_v, prev_src, prev_read)) = last_read.get(&slot) {
            if prev_read.ret < read.call {
                let went_back = if view.any_overwrite {
                    // Definitely older: every write that could have produced it
                    // finished before any write that could have produced the
                    // previous value began.
                    match (src, prev_src) {
                        (Some(now), Some(before)) => {
                            !same_value(v, prev_v) && now.ret < before.call
                        }
                        _ => false,
                    }
                } else {
                    strict_prefix(v, prev_v)
                };
                if went_back {
                    bump(&mut mono, op.process, i);
                }
            }
        }
        last_read.insert(slot, (v, src, read));
    }

    if report.stale_reads > 0 {
        report.staleness_ns_mean = (staleness_sum / report.stale_reads as u128) as u64;
    }
    report.read_your_writes = ryw.into_values().collect();
    report.monotonic_reads = mono.into_values().collect();
    report.lost_writes = later
        .into_iter()
        .filter(|(_, (n, m))| *n > 0 && n == m)
        .map(|(w, _)| w)
        .collect();
    report
}

fn bump(map: &mut BTreeMap<ProcessId, ClientViolations>, process: ProcessId, index: usize) {
    map.entry(process)
        .or_insert(ClientViolations {
            process,
            count: 0,
            first_index: index,
        })
        .count += 1;
}

/// A duration in the most readable unit. (External histories without a clock
/// count time in lines, which then read as nanoseconds.)
fn ms(ns: u64) -> String {
    if ns < 10_000 {
        format!("{ns} ns")
    } else {
        format!("{:.3} ms", ns as f64 / 1e6)
    }
}

impl fmt::Display for WeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "weaker guarantees over {} completed read(s):",
            self.reads
        )?;
        if self.stale_reads == 0 {
            writeln!(f, "  stale reads: none")?;
        } else {
            writeln!(
                f,
                "  stale reads: {} (up to {} version(s) behind; staleness max {}, mean {})",
                self.stale_reads,
                self.versions_behind_max,
                ms(self.staleness_ns_max),
                ms(self.staleness_ns_mean)
            )?;
            for s in &self.stale_examples {
                writeln!(
                    f,
                    "    #{} {} on {:?}: {} version(s) behind, {} stale",
                    s.index,
                    s.read,
                    s.key,
                    s.versions_behind,
                    ms(s.staleness_ns)
                )?;
            }
        }
        let clients = |v: &[ClientViolations]| {
            v.iter()
                .map(|c| format!("p{}: {} (first #{})", c.process, c.count, c.first_index))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.read_your_writes.is_empty() {
            writeln!(f, "  read-your-writes: held for every client")?;
        } else {
            writeln!(
                f,
                "  read-your-writes violations: {}",
                clients(&self.read_your_writes)
            )?;
        }
        if self.monotonic_reads.is_empty() {
            writeln!(f, "  monotonic reads: held for every client")?;
        } else {
            writeln!(
                f,
                "  monotonic-reads violations: {}",
                clients(&self.monotonic_reads)
            )?;
        }
        let list = |v: &[usize]| {
            v.iter()
                .take(Self::EXAMPLES)
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if self.lost_writes.is_empty() {
            writeln!(f, "  lost writes: none")?;
        } else {
            writeln!(
                f,
                "  lost writes: {} ({})",
                self.lost_writes.len(),
                list(&self.lost_writes)
            )?;
        }
        if self.unexplained_reads.is_empty() {
            write!(f, "  reads of values nobody wrote: none")
        } else {
            write!(
                f,
                "  reads of values nobody wrote: {} ({})",
                self.unexplained_reads.len(),
                list(&self.unexplained_reads)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(p: u64, f: OpFn, out: Option<Value>, call: u64, ret: u64) -> Op {
        Op {
            process: p,
            key: "k".into(),
            f,
            output: out,
            outcome: Outcome::Ok,
            call_ns: call,
            return_ns: Some(ret),
        }
    }
    fn w(p: u64, v: i64, call: u64, ret: u64) -> Op {
        op(p, OpFn::Write(Value::Int(v)), None, call, ret)
    }
    fn r(p: u64, v: i64, call: u64, ret: u64) -> Op {
        op(p, OpFn::Read, Some(Value::Int(v)), call, ret)
    }

    #[test]
    fn a_fresh_history_is_clean() {
        let h = History {
            ops: vec![
                w(0, 1, 0, 10),
                r(1, 1, 20, 30),
                w(0, 2, 40, 50),
                r(1, 2, 60, 70),
            ],
        };
        let rep = check_weak(&h);
        assert!(rep.is_clean(), "{rep}");
        assert_eq!(rep.reads, 2);
    }

    #[test]
    fn a_read_two_versions_behind_is_stale_by_versions_and_time() {
        let h = History {
            ops: vec![
                w(0, 1, 0, 10),
                w(0, 2, 20, 30),
                w(0, 3, 40, 50),
                r(1, 1, 100, 110),
            ],
        };
        let rep = check_weak(&h);
        assert_eq!(rep.stale_reads, 1);
        assert_eq!(rep.stale_examples[0].versions_behind, 2);
        assert_eq!(rep.stale_examples[0].staleness_ns, 70);
        assert!(rep.read_your_writes.is_empty());
        // Write 2 and 3 were each missed by the only later read: lost.
        assert_eq!(rep.lost_writes, vec![1, 2]);
    }

    #[test]
    fn missing_your_own_write_breaks_read_your_writes() {
        let h = History {
            ops: vec![w(0, 1, 0, 10), w(1, 2, 20, 30), r(1, 1, 40, 50)],
        };
        let rep = check_weak(&h);
        assert_eq!(
            rep.read_your_writes,
            vec![ClientViolations {
                process: 1,
                count: 1,
                first_index: 2
            }]
        );
    }

    #[test]
    fn reading_backwards_breaks_monotonic_reads() {
        let h = History {
            ops: vec![
                w(0, 1, 0, 10),
                w(0, 2, 20, 30),
                r(1, 2, 40, 50),
                r(1, 1, 60, 70),
            ],
        };
        let rep = check_weak(&h);
        assert_eq!(rep.monotonic_reads.len(), 1);
        assert_eq!(rep.monotonic_reads[0].first_index, 3);
    }

    #[test]
    fn concurrent_writes_give_the_benefit_of_the_doubt() {
        // Write 1 and write 2 overlap: either order is possible, no read is stale.
        let h = History {
            ops: vec![
                w(0, 1, 0, 30),
                w(1, 2, 10, 20),
                r(2, 1, 40, 50),
                r(3, 2, 40, 50),
            ],
        };
        assert!(check_weak(&h).is_clean());
    }

    #[test]
    fn a_value_written_twice_is_judged_by_its_earliest_and_latest_writes() {
        // 1 is written again at the end: reading 2 and then 1 may be the second 1.
        let h = History {
            ops: vec![
                w(0, 1, 0, 10),
                w(0, 2, 20, 30),
                r(1, 2, 40, 50),
                r(1, 1, 60, 70),
                w(2, 1, 55, 65),
            ],
        };
        assert!(check_weak(&h).monotonic_reads.is_empty());
    }

    #[test]
    fn an_append_missing_from_every_later_read_is_lost() {
        let a = |p, x, c, rt| op(p, OpFn::Append(Value::Int(x)), None, c, rt);
        let rl = |p, l: Vec<i64>, c, rt| op(p, OpFn::Read, Some(Value::List(l)), c, rt);
        let h = History {
            ops: vec![
                a(0, 1, 0, 10),
                a(1, 2, 20, 30),
                rl(2, vec![1], 40, 50),
                rl(2, vec![1, 3], 60, 70),
            ],
        };
        let rep = check_weak(&h);
        assert_eq!(rep.lost_writes, vec![1]);
        assert_eq!(rep.stale_reads, 2);
        assert_eq!(rep.unexplained_reads, vec![3]);
    }
}
