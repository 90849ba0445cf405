//! Inferring dependencies from what the reads returned, and the anomalies
//! that need no cycle (G1a, G1b, internal, duplicate-elements,
//! incompatible-order).

use std::collections::{BTreeMap, BTreeSet};

use crate::history::Outcome;

use super::explain::{list_edn, reg_edn, txn_name, txn_ref};
use super::graph::{DepGraph, Kind, Why};
use super::{Anomaly, AnomalyKind, Mop, ReadValue, TxnHistory, EXAMPLES_MAX};

/// The anomalies found so far: every one counted, at most [`EXAMPLES_MAX`]
/// of each kind kept.
#[derive(Default)]
pub(super) struct Found {
    counts: BTreeMap<AnomalyKind, usize>,
    kept: Vec<Anomaly>,
    /// Limits the inference reached.
    pub(super) notes: Vec<String>,
}

impl Found {
    /// Counts one anomaly of `kind`, and builds it (its explanation) only
    /// when it is among the first [`EXAMPLES_MAX`] of its kind.
    pub(super) fn push_with(&mut self, kind: AnomalyKind, make: impl FnOnce() -> Anomaly) {
        let n = self.counts.entry(kind).or_insert(0);
        *n += 1;
        if *n <= EXAMPLES_MAX {
            self.kept.push(make());
        }
    }

    pub(super) fn finish(mut self) -> (BTreeMap<AnomalyKind, usize>, Vec<Anomaly>, Vec<String>) {
        // Stable: within a kind, the order they were found in.
        self.kept.sort_by_key(|a| a.kind);
        (self.counts, self.kept, self.notes)
    }
}

/// Keys interned as small numbers, in order of first appearance.
#[derive(Default)]
pub(super) struct Keys {
    ids: BTreeMap<String, u32>,
    pub(super) names: Vec<String>,
}

impl Keys {
    fn id(&mut self, key: &str) -> u32 {
        if let Some(&i) = self.ids.get(key) {
            return i;
        }
        let i = self.names.len() as u32;
        self.ids.insert(key.to_string(), i);
        self.names.push(key.to_string());
        i
    }
}

fn simple(h: &TxnHistory, kind: AnomalyKind, txns: &[usize], explanation: String) -> Anomaly {
    Anomaly {
        kind,
        txns: txns.iter().map(|&t| txn_ref(h, t)).collect(),
        cycle: Vec::new(),
        explanation,
    }
}

fn excluded(h: &TxnHistory) -> Vec<bool> {
    h.txns.iter().map(|t| t.outcome == Outcome::Fail).collect()
}

/// A read of a list by a committed transaction.
struct ListRead {
    txn: u32,
    mop: u32,
    /// Read before the transaction appended to the key itself: it shows the
    /// state others left.
    external: bool,
}

/// The list-append inference. Returns the graph (to finish) and the key table.
pub(super) fn list_append(h: &TxnHistory, found: &mut Found) -> (DepGraph, Keys) {
    let mut keys = Keys::default();
    // (key, value) -> the transaction that appended it (the first, if twice).
    let mut writer: BTreeMap<(u32, i64), u32> = BTreeMap::new();
    // (transaction, key) -> the last value it appended to that key.
    let mut last_append: BTreeMap<(u32, u32), i64> = BTreeMap::new();
    let mut reads: BTreeMap<u32, Vec<ListRead>> = BTreeMap::new();
    for (t, txn) in h.txns.iter().enumerate() {
        let t32 = t as u32;
        // Per key: the list as this transaction last read it (if it did),
        // and the values it appended since.
        let mut known: BTreeMap<u32, (Option<&[i64]>, Vec<i64>)> = BTreeMap::new();
        for (m, mop) in txn.mops.iter().enumerate() {
            let k = keys.id(mop.key());
            match mop {
                Mop::Append { value, .. } => {
                    writer.entry((k, *value)).or_insert(t32);
                    last_append.insert((t32, k), *value);
                    known.entry(k).or_default().1.push(*value);
                }
                Mop::Read {
                    value: ReadValue::List(list),
                    ..
                } if txn.outcome == Outcome::Ok => {
                    let (base, own) = known.entry(k).or_default();
                    let consistent = match base {
                        Some(b) => {
                            list.len() == b.len() + own.len()
                                && list.starts_with(b)
                                && list.ends_with(own)
                        }
                        None => list.ends_with(own),
                    };
                    if !consistent {
                        found.push_with(AnomalyKind::Internal, || {
                            let what = match base {
                                Some(b) => format!(
                                    "which is not {}, what its own earlier read and appends make it",
                                    list_edn(&[*b, own.as_slice()].concat())
                                ),
                                None => format!(
                                    "which does not end with its own appends {}",
                                    list_edn(own)
                                ),
                            };
                            simple(
                                h,
                                AnomalyKind::Internal,
                                &[t],
                                format!(
                                    "{} read key {} = {}, {what}",
                                    txn_name(t),
                                    mop.key(),
                                    list_edn(list)
                                ),
                            )
                        });
                    }
                    let external = base.is_none() && own.is_empty();
                    *base = Some(list.as_slice());
                    own.clear();
                    reads.entry(k).or_default().push(ListRead {
                        txn: t32,
                        mop: m as u32,
                        external,
                    });
                }
                _ => {}
            }
        }
    }
    let list_of = |r: &ListRead| match &h.txns[r.txn as usize].mops[r.mop as usize] {
        Mop::Read {
            value: ReadValue::List(l),
            ..
        } => l.as_slice(),
        _ => &[],
    };
    let mut g = DepGraph::new(h.txns.len(), excluded(h));
    for (&k, key_reads) in &reads {
        let key = &keys.names[k as usize];
        let failed = |v: &i64| {
            writer
                .get(&(k, *v))
                .is_some_and(|&w| h.txns[w as usize].outcome == Outcome::Fail)
        };
        // The version order: the longest read, which every other read must
        // be a prefix of. Where trouble starts in it (a value seen twice, a
        // value of a failed transaction) is found once: a prefix of it holds
        // that trouble exactly when it is longer than that position.
        let longest = key_reads
            .iter()
            .max_by_key(|r| (list_of(r).len(), std::cmp::Reverse((r.txn, r.mop))))
            .expect("a key with reads");
        let order = list_of(longest);
        let first_dup = |list: &[i64]| {
            let mut seen = BTreeSet::new();
            list.iter().position(|v| !seen.insert(*v))
        };
        let order_dup = first_dup(order);
        let order_failed = order.iter().position(failed);
        let mut usable = true;
        let mut incompatible = None;
        for r in key_reads {
            let list = list_of(r);
            let reader = r.txn as usize;
            let (dup, aborted) = if order.starts_with(list) {
                (
                    order_dup.filter(|&p| p < list.len()),
                    order_failed.filter(|&p| p < list.len()),
                )
            } else {
                incompatible.get_or_insert(r);
                (first_dup(list), list.iter().position(failed))
            };
            // duplicate-elements: the order of a list with a value twice is
            // not an order of appends.
            if let Some(p) = dup {
                usable = false;
                found.push_with(AnomalyKind::DuplicateElements, || {
                    simple(
                        h,
                        AnomalyKind::DuplicateElements,
                        &[reader],
                        format!(
                            "{} read key {key} = {}, which holds {} more than once; it was appended once",
                            txn_name(reader),
                            list_edn(list),
                            list[p]
                        ),
                    )
                });
            }
            // G1a: it saw the append of a transaction that failed.
            if let Some(p) = aborted {
                let v = list[p];
                let w = writer[&(k, v)] as usize;
                found.push_with(AnomalyKind::G1a, || {
                    simple(
                        h,
                        AnomalyKind::G1a,
                        &[w, reader],
                        format!(
                            "{} appended {v} to key {key} and failed (aborted), yet {} read key {key} = {}, which includes it",
                            txn_name(w),
                            txn_name(reader),
                            list_edn(list)
                        ),
                    )
                });
            }
            // G1b: the last element it saw was not its writer's last append.
            if let Some(&v) = list.last() {
                if let Some(&w) = writer.get(&(k, v)) {
                    let last = last_append.get(&(w, k)).copied();
                    if w as usize != reader
                        && h.txns[w as usize].outcome != Outcome::Fail
                        && last != Some(v)
                    {
                        found.push_with(AnomalyKind::G1b, || {
                            simple(
                                h,
                                AnomalyKind::G1b,
                                &[w as usize, reader],
                                format!(
                                    "{} appended {v} and then {} to key {key}, yet {} read key {key} = {}, which ends with the intermediate {v}",
                                    txn_name(w as usize),
                                    last.unwrap_or(v),
                                    txn_name(reader),
                                    list_edn(list)
                                ),
                            )
                        });
                    }
                }
            }
        }
        if let Some(r) = incompatible {
            usable = false;
            found.push_with(AnomalyKind::IncompatibleOrder, || {
                simple(
                    h,
                    AnomalyKind::IncompatibleOrder,
                    &[longest.txn as usize, r.txn as usize],
                    format!(
                        "{} read key {key} = {} and {} read key {key} = {}: neither is a prefix of the other, so no order of appends gives both",
                        txn_name(longest.txn as usize),
                        list_edn(order),
                        txn_name(r.txn as usize),
                        list_edn(list_of(r))
                    ),
                )
            });
        }
        if !usable {
            continue;
        }
        // ww: consecutive elements of the order.
        for pair in order.windows(2) {
            if let (Some(&a), Some(&b)) = (writer.get(&(k, pair[0])), writer.get(&(k, pair[1]))) {
                let why = Why::AppendedAfter {
                    key: k,
                    before: pair[0],
                    after: pair[1],
                };
                g.add(a, b, Kind::Ww, why);
            }
        }
        for r in key_reads.iter().filter(|r| r.external) {
            let list = list_of(r);
            // wr: the writer of the last element read.
            if let Some(&v) = list.last() {
                if let Some(&w) = writer.get(&(k, v)) {
                    let why = Why::ReadAppended {
                        key: k,
                        value: v,
                        read: (r.txn, r.mop),
                    };
                    g.add(w, r.txn, Kind::Wr, why);
                }
            }
            // rw: the writer of the element right after what it read.
            if let Some(&next) = order.get(list.len()) {
                if let Some(&w) = writer.get(&(k, next)) {
                    let why = Why::ReadMissed {
                        key: k,
                        read: (r.txn, r.mop),
                        next,
                    };
                    g.add(r.txn, w, Kind::Rw, why);
                }
            }
        }
    }
    (g, keys)
}

/// How many rw edges the rw-register rules that pair every reader of a
/// version with every later writer may add in all.
pub const QUADRATIC_EDGES_MAX: usize = 4_000_000;

/// Takes one edge from the budget; false (and a note, once) when it is spent.
fn spend(left: &mut usize, found: &mut Found) -> bool {
    if *left == 0 {
        if found.notes.is_empty() {
            found.notes.push(format!(
                "inference truncated: the rw-register rules pairing readers of a version with its later writers reached {QUADRATIC_EDGES_MAX} edges; the rest were left out, so anomalies that need them are not reported"
            ));
        }
        return false;
    }
    *left -= 1;
    true
}

/// The rw-register inference. Returns the graph (to finish) and the key table.
pub(super) fn rw_register(h: &TxnHistory, found: &mut Found) -> (DepGraph, Keys) {
    let mut keys = Keys::default();
    let mut writer: BTreeMap<(u32, i64), u32> = BTreeMap::new();
    let mut last_write: BTreeMap<(u32, u32), i64> = BTreeMap::new();
    // key -> the transactions that write it (failed ones too; the graph
    // leaves those out).
    let mut writers_of: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    // (key, value read) -> the committed transactions whose first access to
    // the key was that read.
    let mut readers: BTreeMap<(u32, Option<i64>), Vec<u32>> = BTreeMap::new();
    // Write-follows-read: (key, value read, transaction, its last write).
    let mut overwrites: Vec<(u32, Option<i64>, u32, i64)> = Vec::new();
    for (t, txn) in h.txns.iter().enumerate() {
        let t32 = t as u32;
        // Per key: the value this transaction knows the key holds, and the
        // value of its first (external) read, if it read before writing.
        let mut known: BTreeMap<u32, Option<i64>> = BTreeMap::new();
        let mut first_read: BTreeMap<u32, Option<i64>> = BTreeMap::new();
        for mop in &txn.mops {
            let k = keys.id(mop.key());
            match mop {
                Mop::Write { value, .. } => {
                    writer.entry((k, *value)).or_insert(t32);
                    last_write.insert((t32, k), *value);
                    let ws = writers_of.entry(k).or_default();
                    if ws.last() != Some(&t32) {
                        ws.push(t32);
                    }
                    known.insert(k, Some(*value));
                }
                Mop::Read {
                    value: ReadValue::Register(v),
                    ..
                } if txn.outcome == Outcome::Ok => match known.get(&k) {
                    Some(expected) if expected != v => {
                        let wrote = last_write.contains_key(&(t32, k));
                        found.push_with(AnomalyKind::Internal, || {
                            simple(
                                h,
                                AnomalyKind::Internal,
                                &[t],
                                format!(
                                    "{} read key {} = {} after it {} {}",
                                    txn_name(t),
                                    mop.key(),
                                    reg_edn(*v),
                                    if wrote { "wrote" } else { "read" },
                                    reg_edn(*expected)
                                ),
                            )
                        });
                        known.insert(k, *v);
                    }
                    Some(_) => {}
                    None => {
                        known.insert(k, *v);
                        first_read.insert(k, *v);
                        readers.entry((k, *v)).or_default().push(t32);
                    }
                },
                _ => {}
            }
        }
        for (&k, &read) in &first_read {
            if let Some(&wrote) = last_write.get(&(t32, k)) {
                overwrites.push((k, read, t32, wrote));
            }
        }
    }
    // Committed transactions that read the same version of a key and then
    // both wrote it: whichever wrote second overwrote a version it never
    // read. In either version order that is one ww edge and one rw edge
    // between them, a G-single (Elle's lost update); the order is unknown,
    // so it is named here, and no rw edge is drawn between them (one each
    // way would make a cycle of two rw edges, misnamed G2).
    let mut lost: BTreeMap<(u32, Option<i64>), Vec<u32>> = BTreeMap::new();
    for &(k, read, t, _) in &overwrites {
        lost.entry((k, read)).or_default().push(t);
    }
    let overwrote_same = |k: u32, read: Option<i64>, a: u32, b: u32| {
        lost.get(&(k, read))
            .is_some_and(|ts| ts.contains(&a) && ts.contains(&b))
    };
    for (&(k, read), ts) in &lost {
        if ts.len() < 2 {
            continue;
        }
        let key = &keys.names[k as usize];
        let txns: Vec<usize> = ts.iter().map(|&t| t as usize).collect();
        found.push_with(AnomalyKind::GSingle, || {
            simple(
                h,
                AnomalyKind::GSingle,
                &txns,
                format!(
                    "{} all read key {key} = {} and then wrote it: whichever wrote later overwrote a version it never read (a lost update: one ww and one rw edge between two of them, in either order)",
                    txns.iter().map(|&t| txn_name(t)).collect::<Vec<_>>().join(", "),
                    reg_edn(read)
                ),
            )
        });
    }
    let mut g = DepGraph::new(h.txns.len(), excluded(h));
    // The two rules that give one edge per (reader, writer) pair can grow
    // quadratically (every transaction reading nil from a key that every
    // other one writes); past the budget their edges are left out, which can
    // only hide anomalies, never invent one, and the report says so.
    let mut quadratic_left = QUADRATIC_EDGES_MAX;
    for (&(k, v), rs) in &readers {
        let key = &keys.names[k as usize];
        let Some(v) = v else {
            // nil, the initial state, comes before every write of the key.
            for &r in rs {
                for &w in writers_of.get(&k).map(Vec::as_slice).unwrap_or(&[]) {
                    if overwrote_same(k, None, r, w) {
                        continue;
                    }
                    if !spend(&mut quadratic_left, found) {
                        break;
                    }
                    let wrote = last_write[&(w, k)];
                    let why = Why::ReadBefore {
                        key: k,
                        read: None,
                        wrote,
                    };
                    g.add(r, w, Kind::Rw, why);
                }
            }
            continue;
        };
        let Some(&w) = writer.get(&(k, v)) else {
            continue;
        };
        let wu = w as usize;
        let last = last_write.get(&(w, k)).copied();
        for &r in rs {
            if r == w {
                continue;
            }
            if h.txns[wu].outcome == Outcome::Fail {
                found.push_with(AnomalyKind::G1a, || simple(
                    h,
                    AnomalyKind::G1a,
                    &[wu, r as usize],
                    format!(
                        "{} wrote {v} to key {key} and failed (aborted), yet {} read key {key} = {v}",
                        txn_name(wu),
                        txn_name(r as usize)
                    ),
                ));
            } else if last != Some(v) {
                found.push_with(AnomalyKind::G1b, || simple(
                    h,
                    AnomalyKind::G1b,
                    &[wu, r as usize],
                    format!(
                        "{} wrote {v} and then {} to key {key}, yet {} read key {key} = {v}, the intermediate value",
                        txn_name(wu),
                        last.unwrap_or(v),
                        txn_name(r as usize)
                    ),
                ));
            }
            g.add(w, r, Kind::Wr, Why::ReadWritten { key: k, value: v });
        }
    }
    // A committed transaction that read v and then wrote w installed w after v.
    for &(k, read, t, wrote) in &overwrites {
        if let Some(v) = read {
            if let Some(&w) = writer.get(&(k, v)) {
                g.add(
                    w,
                    t,
                    Kind::Ww,
                    Why::WroteOver {
                        key: k,
                        read: v,
                        wrote,
                    },
                );
            }
            for &r in readers.get(&(k, read)).map(Vec::as_slice).unwrap_or(&[]) {
                if overwrote_same(k, read, r, t) {
                    continue;
                }
                if !spend(&mut quadratic_left, found) {
                    break;
                }
                g.add(
                    r,
                    t,
                    Kind::Rw,
                    Why::ReadBefore {
                        key: k,
                        read,
                        wrote,
                    },
                );
            }
        }
    }
    (g, keys)
}
