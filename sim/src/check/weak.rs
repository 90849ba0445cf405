//! Weaker guarantees: how far from linearizable was a history?
//!
//! Linearizability is a yes/no answer. An eventually consistent store fails it
//! and so does a broken one; these measures tell them apart. They all rest on
//! one cautious notion of "older": value A is *definitely older* than a write W
//! when every write that could have produced A finished before W began. Every
//! measure gives the history the benefit of the doubt: when a value could have
//! come from several writes, the most recent one is assumed. A write invoked
//! after a read returned is not among them (no store can show a value before
//! it is written): a value written again later does not make an earlier read
//! of it current.
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
use super::model::{normalize, same_value};
use crate::history::{History, Op, OpFn, OpLog, Outcome, ProcessId, Value};

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
    /// Reads of a value no write invoked before the read returned (and no
    /// initial state) could have produced.
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

/// One key's writes, indexed so that each read costs about the size of its
/// value plus the writes it overlaps, not the size of the history.
#[derive(Default)]
struct KeyView {
    any_overwrite: bool,
    /// Register-style writes (write, cas) by the value they leave.
    by_value: BTreeMap<Value, Writes>,
    /// Deletes.
    deletes: Writes,
    /// Appends by argument (an appended integer `i` is keyed as `[i]`).
    appends_by_arg: BTreeMap<Value, Writes>,
    /// The lengths of appended arguments (list elements or string bytes).
    append_lens: BTreeSet<usize>,
    /// Completed overwrites (write, cas, delete): (call, ret, op index), by call.
    ok_overwrites: Vec<(i128, i128, usize)>,
    /// All overwrites that may have happened, by call, with the running maximum
    /// of their completion times.
    overwrite_calls: Vec<i128>,
    overwrite_max_ret: Vec<i128>,
    /// Completed appends: (ret, call, op index), by completion.
    ok_appends: Vec<(i128, i128, usize)>,
    /// Invocation times of the completed reads, sorted (for lost writes).
    read_calls: Vec<i128>,
}

/// The writes that leave one value: each one's span, so that a read asks
/// only about the writes invoked before it returned. Sorted by invocation in
/// [`KeyView::finish`], with the running maximum of their completions.
#[derive(Default)]
struct Writes {
    calls: Vec<i128>,
    max_ret: Vec<i128>,
}

impl Writes {
    fn push(&mut self, s: Span) {
        self.calls.push(s.call);
        self.max_ret.push(s.ret);
    }

    fn finish(&mut self) {
        let mut pairs: Vec<(i128, i128)> = self
            .calls
            .iter()
            .copied()
            .zip(self.max_ret.iter().copied())
            .collect();
        pairs.sort_unstable();
        let mut max = i128::MIN;
        self.calls = pairs.iter().map(|p| p.0).collect();
        self.max_ret = pairs
            .iter()
            .map(|p| {
                max = max.max(p.1);
                max
            })
            .collect();
    }

    /// Those invoked no later than `before` (an invocation at the very
    /// instant a read returns may still come first: times that tie
    /// overlap), summarised charitably as one span: from the earliest
    /// invocation to the latest completion among them.
    fn before(&self, before: i128) -> Option<Span> {
        let k = self.calls.partition_point(|&c| c <= before);
        (k > 0).then(|| Span {
            call: self.calls[0],
            ret: self.max_ret[k - 1],
        })
    }
}

fn widen_by(slot: &mut Option<Span>, s: Option<Span>) {
    if let Some(s) = s {
        widen(slot, s);
    }
}

fn widen(slot: &mut Option<Span>, s: Span) {
    *slot = Some(match *slot {
        None => s,
        Some(b) => Span {
            call: b.call.min(s.call),
            ret: b.ret.max(s.ret),
        },
    });
}

/// The key an appended argument is indexed by.
fn arg_key(x: &Value) -> Value {
    match x {
        Value::Int(i) => Value::List(vec![*i]),
        other => other.clone(),
    }
}

fn arg_len(x: &Value) -> usize {
    match x {
        Value::Int(_) => 1,
        Value::List(l) => l.len(),
        Value::Str(s) => s.len(),
        Value::Nil => 0,
    }
}

/// The last `n` elements (or bytes) of `v`, as an append-argument key.
fn suffix(v: &Value, n: usize) -> Option<Value> {
    match v {
        Value::List(l) if n > 0 && n <= l.len() => Some(Value::List(l[l.len() - n..].to_vec())),
        Value::Str(s) if n > 0 && n <= s.len() && s.is_char_boundary(s.len() - n) => {
            Some(Value::Str(s[s.len() - n..].to_string()))
        }
        _ => None,
    }
}

/// What a read value contains, for asking "is this append in it?".
enum Contents {
    /// The sorted elements of a list.
    Elems(Vec<i64>),
    /// The appended strings a string value splits into, peeled from its end.
    Pieces(BTreeSet<String>),
    Nothing,
}

impl Contents {
    fn has(&self, arg: &Value) -> bool {
        match (self, arg) {
            (_, Value::Nil) => true,
            (Contents::Elems(e), Value::Int(i)) => e.binary_search(i).is_ok(),
            (Contents::Elems(e), Value::List(a)) => a.iter().all(|i| e.binary_search(i).is_ok()),
            (Contents::Pieces(p), Value::Str(a)) => a.is_empty() || p.contains(a),
            _ => false,
        }
    }
}

impl KeyView {
    fn add(&mut self, i: usize, op: &Op) {
        let s = span(op);
        match &op.f {
            OpFn::Read => {
                if op.outcome == Outcome::Ok && op.output.is_some() {
                    self.read_calls.push(s.call);
                }
                return;
            }
            OpFn::Write(x) | OpFn::Cas { new: x, .. } => {
                self.by_value.entry(normalize(x)).or_default().push(s);
            }
            OpFn::Delete => self.deletes.push(s),
            OpFn::Append(x) => {
                self.appends_by_arg.entry(arg_key(x)).or_default().push(s);
                self.append_lens.insert(arg_len(x));
                if op.outcome == Outcome::Ok {
                    self.ok_appends.push((s.ret, s.call, i));
                }
            }
        }
        if is_overwrite(&op.f) {
            self.any_overwrite = true;
            self.overwrite_calls.push(s.call);
            self.overwrite_max_ret.push(s.ret);
            if op.outcome == Outcome::Ok {
                self.ok_overwrites.push((s.call, s.ret, i));
            }
        }
    }

    fn finish(&mut self) {
        for w in self
            .by_value
            .values_mut()
            .chain(self.appends_by_arg.values_mut())
        {
            w.finish();
        }
        self.deletes.finish();
        self.ok_overwrites.sort_unstable();
        self.ok_appends.sort_unstable();
        self.read_calls.sort_unstable();
        let mut pairs: Vec<(i128, i128)> = self
            .overwrite_calls
            .iter()
            .copied()
            .zip(self.overwrite_max_ret.iter().copied())
            .collect();
        pairs.sort_unstable();
        let mut max = i128::MIN;
        self.overwrite_calls = pairs.iter().map(|p| p.0).collect();
        self.overwrite_max_ret = pairs
            .iter()
            .map(|p| {
                max = max.max(p.1);
                max
            })
            .collect();
    }

    /// The writes that could have produced `v` for a read that returned at
    /// `ret` (those invoked before it), summarised charitably as one span:
    /// from the earliest invocation to the latest completion among them
    /// (None if nothing could have).
    fn source(&self, v: &Value, ret: i128) -> Option<Span> {
        let mut best: Option<Span> = None;
        if is_empty(v) {
            widen(&mut best, INITIAL);
            widen_by(&mut best, self.deletes.before(ret));
            widen_by(
                &mut best,
                self.by_value.get(&Value::Nil).and_then(|w| w.before(ret)),
            );
            return best;
        }
        widen_by(
            &mut best,
            self.by_value.get(&normalize(v)).and_then(|w| w.before(ret)),
        );
        for &n in &self.append_lens {
            if let Some(w) = suffix(v, n).and_then(|k| self.appends_by_arg.get(&k)) {
                widen_by(&mut best, w.before(ret));
            }
        }
        best
    }

    /// The appended pieces `v` is made of.
    fn contents(&self, v: &Value) -> Contents {
        match v {
            Value::List(l) => {
                let mut e = l.clone();
                e.sort_unstable();
                Contents::Elems(e)
            }
            Value::Str(s) => {
                // Peel known appended strings off the end; what remains came from
                // a put.
                let mut pieces = BTreeSet::new();
                let mut rest = s.as_str();
                'peel: while !rest.is_empty() {
                    for &n in &self.append_lens {
                        if n > 0 && n <= rest.len() && rest.is_char_boundary(rest.len() - n) {
                            let piece = &rest[rest.len() - n..];
                            if self
                                .appends_by_arg
                                .contains_key(&Value::Str(piece.to_string()))
                            {
                                pieces.insert(piece.to_string());
                                rest = &rest[..rest.len() - n];
                                continue 'peel;
                            }
                        }
                    }
                    break;
                }
                Contents::Pieces(pieces)
            }
            _ => Contents::Nothing,
        }
    }

    /// Whether an overwrite may fall between time `after` and time `before`.
    fn overwrite_between(&self, after: i128, before: i128) -> bool {
        let k = self.overwrite_calls.partition_point(|&c| c < before);
        k > 0 && self.overwrite_max_ret[k - 1] > after
    }

    /// The completed writes a read of `v` over `read` definitely missed, given
    /// the charitable span `src` of the writes that could have produced `v`.
    fn missed(&self, history: &History, v: &Value, src: Span, read: Span) -> Vec<usize> {
        let mut out = Vec::new();
        // Overwrites invoked after every possible source completed, and completed
        // before the read began (so invoked before it too).
        let lo = self.ok_overwrites.partition_point(|o| o.0 <= src.ret);
        for &(call, ret, i) in &self.ok_overwrites[lo..] {
            if call >= read.call {
                break;
            }
            if ret >= read.call {
                continue;
            }
            let op = &history.ops[i];
            let differs = match written(&op.f) {
                Some(x) => !same_value(x, v),
                None => !is_empty(v),
            };
            if differs {
                out.push(i);
            }
        }
        // Appends completed before the read began, missing from what it saw.
        let done = self.ok_appends.partition_point(|a| a.0 < read.call);
        if done > 0 {
            let contents = self.contents(v);
            for &(_, call, i) in &self.ok_appends[..done] {
                let OpFn::Append(x) = &history.ops[i].f else {
                    continue;
                };
                if !contents.has(x) && !self.overwrite_between(call, read.ret) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// How many completed reads began after time `t`.
    fn reads_after(&self, t: i128) -> usize {
        self.read_calls.len() - self.read_calls.partition_point(|&c| c <= t)
    }
}

/// Measures stale reads, read-your-writes, monotonic reads and lost writes.
pub fn check_weak(history: &History) -> WeakReport {
    let (mut report, staleness_sum) = weak_parts(history);
    if report.stale_reads > 0 {
        report.staleness_ns_mean = (staleness_sum / report.stale_reads as u128) as u64;
    }
    report
}

/// [`check_weak`] of a run's own history, decoding one key at a time: every
/// measure is about one key (a client's reads of it, the writes to it), so
/// each key is measured on its own and the results merged in history order.
pub fn check_weak_log(log: &OpLog) -> WeakReport {
    let mut report = WeakReport::default();
    let mut staleness_sum: u128 = 0;
    let mut ryw: BTreeMap<ProcessId, ClientViolations> = BTreeMap::new();
    let mut mono: BTreeMap<ProcessId, ClientViolations> = BTreeMap::new();
    let merge = |into: &mut BTreeMap<ProcessId, ClientViolations>, c: ClientViolations| {
        let slot = into.entry(c.process).or_insert(ClientViolations {
            process: c.process,
            count: 0,
            first_index: c.first_index,
        });
        slot.count += c.count;
        slot.first_index = slot.first_index.min(c.first_index);
    };
    for (_, indices) in log.by_key() {
        let history = History {
            ops: indices.iter().map(|&i| log.op(i)).collect(),
        };
        let (key, sum) = weak_parts(&history);
        let global = |i: usize| indices[i];
        report.reads += key.reads;
        report.stale_reads += key.stale_reads;
        staleness_sum += sum;
        report.staleness_ns_max = report.staleness_ns_max.max(key.staleness_ns_max);
        report.versions_behind_max = report.versions_behind_max.max(key.versions_behind_max);
        report
            .stale_examples
            .extend(key.stale_examples.into_iter().map(|mut e| {
                e.index = global(e.index);
                e
            }));
        for mut c in key.read_your_writes {
            c.first_index = global(c.first_index);
            merge(&mut ryw, c);
        }
        for mut c in key.monotonic_reads {
            c.first_index = global(c.first_index);
            merge(&mut mono, c);
        }
        report
            .lost_writes
            .extend(key.lost_writes.into_iter().map(global));
        report
            .unexplained_reads
            .extend(key.unexplained_reads.into_iter().map(global));
    }
    report.stale_examples.sort_unstable_by_key(|e| e.index);
    report.stale_examples.truncate(WeakReport::EXAMPLES);
    report.lost_writes.sort_unstable();
    report.unexplained_reads.sort_unstable();
    report.read_your_writes = ryw.into_values().collect();
    report.monotonic_reads = mono.into_values().collect();
    if report.stale_reads > 0 {
        report.staleness_ns_mean = (staleness_sum / report.stale_reads as u128) as u64;
    }
    report
}

/// Everything [`check_weak`] reports but the mean staleness, and the sum of
/// the stalenesses it is the mean of.
fn weak_parts(history: &History) -> (WeakReport, u128) {
    let mut by_key: BTreeMap<&str, KeyView> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        if op.outcome != Outcome::Fail {
            by_key.entry(op.key.as_str()).or_default().add(i, op);
        }
    }
    for view in by_key.values_mut() {
        view.finish();
    }

    let mut report = WeakReport::default();
    let mut staleness_sum: u128 = 0;
    let mut ryw: BTreeMap<ProcessId, ClientViolations> = BTreeMap::new();
    let mut mono: BTreeMap<ProcessId, ClientViolations> = BTreeMap::new();
    // For lost writes: per write, how many later reads missed it.
    let mut missed_by: BTreeMap<usize, usize> = BTreeMap::new();
    // Per (client, key): the last read's value and its source.
    let mut last_read: BTreeMap<(ProcessId, &str), (&Value, Option<Span>, Span)> = BTreeMap::new();

    for (i, op) in history.ops.iter().enumerate() {
        let (OpFn::Read, Outcome::Ok, Some(v)) = (&op.f, op.outcome, op.output.as_ref()) else {
            continue;
        };
        report.reads += 1;
        let view = &by_key[op.key.as_str()];
        let read = span(op);
        let src = view.source(v, read.ret);
        if src.is_none() {
            report.unexplained_reads.push(i);
        }
        let missed = view.missed(history, v, src.unwrap_or(INITIAL), read);

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
        for &w in &missed {
            *missed_by.entry(w).or_insert(0) += 1;
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

    report.read_your_writes = ryw.into_values().collect();
    report.monotonic_reads = mono.into_values().collect();
    // Lost: every read that began after the write completed missed it.
    report.lost_writes = missed_by
        .into_iter()
        .filter(|&(w, m)| {
            let op = &history.ops[w];
            m > 0 && m == by_key[op.key.as_str()].reads_after(span(op).ret)
        })
        .map(|(w, _)| w)
        .collect();
    (report, staleness_sum)
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
                .map(|c| {
                    format!(
                        "{}: {} (first #{})",
                        super::client_name(c.process),
                        c.count,
                        c.first_index
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            f,
            "  {}",
            either(
                &self.read_your_writes,
                "read-your-writes: held for every client",
                |v| format!("read-your-writes violations: {}", clients(v))
            )
        )?;
        writeln!(
            f,
            "  {}",
            either(
                &self.monotonic_reads,
                "monotonic reads: held for every client",
                |v| format!("monotonic-reads violations: {}", clients(v))
            )
        )?;
        let list = |v: &[usize]| {
            v.iter()
                .take(Self::EXAMPLES)
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(
            f,
            "  {}",
            either(&self.lost_writes, "lost writes: none", |v| {
                format!("lost writes: {} ({})", v.len(), list(v))
            })
        )?;
        write!(
            f,
            "  {}",
            either(
                &self.unexplained_reads,
                "reads no write invoked before them could have produced: none",
                |v| {
                    format!(
                        "reads no write invoked before them could have produced: {} ({})",
                        v.len(),
                        list(v)
                    )
                }
            )
        )
    }
}

/// `none` when `items` is empty, else what `some` says of them.
fn either<T>(items: &[T], none: &str, some: impl FnOnce(&[T]) -> String) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        some(items)
    }
}
