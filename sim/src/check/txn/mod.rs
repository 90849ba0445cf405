//! Transactional anomalies, found the way Elle finds them.
//!
//! Kingsbury and Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
//! Observations" (VLDB 2020), check a history of transactions without searching
//! over orders: they *infer* dependencies between transactions from what the
//! reads returned, build Adya's direct serialization graph from them, and look
//! for cycles. Adya's anomalies (Adya, Liskov and O'Neil, ICDE 2000) then have a
//! name each:
//!
//! - **G0** (write cycle): a cycle of write-write (ww) edges only.
//! - **G1c** (circular information flow): a cycle of ww and write-read (wr)
//!   edges, at least one wr.
//! - **G-single** (read skew): a cycle with exactly one read-write (rw,
//!   anti-dependency) edge.
//! - **G2** (anti-dependency cycle, e.g. write skew): a cycle with two or more
//!   rw edges.
//!
//! and, without a cycle: **G1a** (aborted read: a transaction saw a value
//! written by one that failed), **G1b** (intermediate read: it saw a value
//! another transaction overwrote before committing), **internal** (a
//! transaction's read disagrees with its own earlier writes and reads),
//! **duplicate-elements** (a list-append read holds a value twice) and
//! **incompatible-order** (two reads of one list that are not prefixes of one
//! another: no single order of appends explains both).
//!
//! Two workloads make the inference possible, as in Elle:
//!
//! - **list-append** ([`TxnModel::ListAppend`]): micro-ops `[:append k v]` and
//!   `[:r k [v ...]]`, every appended value unique per key. A read returns the
//!   whole list, so it reveals the *version order* of its key: the longest read
//!   is the order, and every other read must be a prefix of it. From that order,
//!   ww (T appended the element right after U's), wr (T read a list whose last
//!   element U appended) and rw (T read a list that stops just before the
//!   element U appended) edges follow.
//! - **rw-register** ([`TxnModel::RwRegister`]): `[:w k v]` and `[:r k v]`,
//!   written values unique per key. A read names its writer (wr), but a
//!   register hides its history, so the version order is only inferred where
//!   it is sound: the initial `nil` comes before every write (a read of `nil`
//!   has an rw edge to every writer of the key), and a committed transaction
//!   that read `v` and then wrote `w` to the same key installed `w` after `v`
//!   (a ww edge from `v`'s writer, and rw edges from the other readers of
//!   `v`). That second rule assumes reads see committed versions, which every
//!   database that claims read committed or stronger promises; the G1 checks
//!   report where it did not hold. Other write orders are not guessed, so a
//!   register history can hide anomalies a list-append history would show.
//!
//! An inferred edge may stand for a path in Adya's graph (a ww edge between two
//! writes with others between them is the ww chain through them), never for a
//! dependency that did not exist, and a shortcut keeps the number of rw edges of
//! a cycle, so a cycle's name is the name of a real cycle.
//!
//! **What the verdict is relative to**: by default the graph holds only data
//! dependencies (ww, wr, rw), so "no anomaly" means the history is consistent
//! with *serializability* as far as the inferred dependencies show: a stale
//! read that serializability allows is not reported. `--consistency
//! strong-session-serializable` adds per-process orders and
//! `strict-serializable` real-time orders (see [`Consistency`]).
//! Failed (`:fail`) transactions are aborted and are not in the graph;
//! indeterminate (`:info`) ones are, with their writes and no reads.
//!
//! Cycle search: petgraph's strongly connected components, first of the ww
//! edges alone (G0), then of ww and wr (G1c), then of all edges, and in each
//! component a short cycle found by breadth-first search; each reported cycle
//! is named by the edges it actually has. Everything is deterministic (ordered
//! maps and vectors); the work is bounded (see [`CYCLE_TRIES_MAX`],
//! [`EXAMPLES_MAX`] and [`QUADRATIC_EDGES_MAX`]).

mod explain;
mod graph;
mod infer;
mod order;
mod read;
pub mod synth;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::history::{Outcome, ProcessId};

pub use infer::QUADRATIC_EDGES_MAX;
pub use read::{parse_txn_history, TxnFormat};

/// How many rw edges of one component the G-single search tries before it
/// settles for the first cycle it finds (named by its edges, so never
/// misnamed, but possibly a G2 where a G-single also exists).
pub const CYCLE_TRIES_MAX: usize = 256;

/// How many anomalies of each kind a report keeps explained; the counts are
/// always complete.
pub const EXAMPLES_MAX: usize = 100;

/// The two transactional workloads the checker understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxnModel {
    ListAppend,
    RwRegister,
}

impl TxnModel {
    pub const ALL: [TxnModel; 2] = [TxnModel::ListAppend, TxnModel::RwRegister];

    pub fn name(self) -> &'static str {
        match self {
            TxnModel::ListAppend => "list-append",
            TxnModel::RwRegister => "rw-register",
        }
    }

    pub fn from_name(name: &str) -> Option<TxnModel> {
        match name {
            "list-append" | "txn-list-append" => Some(TxnModel::ListAppend),
            "rw-register" | "txn-rw-register" => Some(TxnModel::RwRegister),
            _ => None,
        }
    }

    /// The micro-ops of this workload, as a user would write them.
    pub fn micro_ops(self) -> &'static str {
        match self {
            TxnModel::ListAppend => "[:append k v] or [:r k [v ...]]",
            TxnModel::RwRegister => "[:w k v] or [:r k v]",
        }
    }
}

impl std::fmt::Display for TxnModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TxnModel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The consistency model a verdict is relative to: which orders join the
/// data dependencies in the graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Consistency {
    /// Data dependencies only.
    #[default]
    Serializable,
    /// Plus each process's order: a process sees its own earlier
    /// transactions.
    StrongSessionSerializable,
    /// Plus real time: a transaction that completed before another was
    /// invoked comes before it.
    StrictSerializable,
}

impl Consistency {
    pub const NAMES: &'static str =
        "serializable, strong-session-serializable, strict-serializable";

    pub fn name(self) -> &'static str {
        match self {
            Consistency::Serializable => "serializable",
            Consistency::StrongSessionSerializable => "strong-session-serializable",
            Consistency::StrictSerializable => "strict-serializable",
        }
    }

    pub fn from_name(name: &str) -> Option<Consistency> {
        match name {
            "serializable" => Some(Consistency::Serializable),
            "strong-session-serializable" | "strong-session" => {
                Some(Consistency::StrongSessionSerializable)
            }
            "strict-serializable" | "strict" => Some(Consistency::StrictSerializable),
            _ => None,
        }
    }
}

impl std::fmt::Display for Consistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a read returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadValue {
    /// Not known: the read of an invocation, or of a transaction that failed
    /// or whose outcome is indeterminate.
    Unknown,
    /// A list-append read (`nil` reads as the empty list).
    List(Vec<i64>),
    /// An rw-register read (`None` is `nil`, the initial state).
    Register(Option<i64>),
}

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mop {
    /// `[:append k v]` (list-append).
    Append { key: String, value: i64 },
    /// `[:w k v]` (rw-register).
    Write { key: String, value: i64 },
    /// `[:r k v]` (both workloads).
    Read { key: String, value: ReadValue },
}

impl Mop {
    pub fn key(&self) -> &str {
        match self {
            Mop::Append { key, .. } | Mop::Write { key, .. } | Mop::Read { key, .. } => key,
        }
    }
}

/// One transaction, from invocation to completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Txn {
    pub process: ProcessId,
    /// `Ok` committed, `Fail` definitely aborted, `Info` indeterminate.
    pub outcome: Outcome,
    /// The micro-ops in order, with the reads filled in when it committed.
    pub mops: Vec<Mop>,
    pub call_ns: u64,
    pub return_ns: Option<u64>,
    /// The line of the input it was read from (its completion's, or its
    /// invocation's when it never completed); 0 when it was not read from a
    /// file.
    pub line: usize,
}

/// A history of transactions, the checker's input. A chaoslab run records one
/// directly; [`parse_txn_history`] reads one from EDN or JSON Lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnHistory {
    pub txns: Vec<Txn>,
}

/// The anomalies the checker names, with Elle's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    G0,
    G1a,
    G1b,
    G1c,
    GSingle,
    G2,
    /// The cycle kinds again, for cycles that need the process order.
    G0Process,
    G1cProcess,
    GSingleProcess,
    G2Process,
    /// The cycle kinds again, for cycles that need the real-time order.
    G0Realtime,
    G1cRealtime,
    GSingleRealtime,
    G2Realtime,
    Internal,
    DuplicateElements,
    IncompatibleOrder,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 17] = [
        AnomalyKind::G0,
        AnomalyKind::G1a,
        AnomalyKind::G1b,
        AnomalyKind::G1c,
        AnomalyKind::GSingle,
        AnomalyKind::G2,
        AnomalyKind::G0Process,
        AnomalyKind::G1cProcess,
        AnomalyKind::GSingleProcess,
        AnomalyKind::G2Process,
        AnomalyKind::G0Realtime,
        AnomalyKind::G1cRealtime,
        AnomalyKind::GSingleRealtime,
        AnomalyKind::G2Realtime,
        AnomalyKind::Internal,
        AnomalyKind::DuplicateElements,
        AnomalyKind::IncompatibleOrder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "G0",
            AnomalyKind::G1a => "G1a",
            AnomalyKind::G1b => "G1b",
            AnomalyKind::G1c => "G1c",
            AnomalyKind::GSingle => "G-single",
            AnomalyKind::G2 => "G2",
            AnomalyKind::G0Process => "G0-process",
            AnomalyKind::G1cProcess => "G1c-process",
            AnomalyKind::GSingleProcess => "G-single-process",
            AnomalyKind::G2Process => "G2-process",
            AnomalyKind::G0Realtime => "G0-realtime",
            AnomalyKind::G1cRealtime => "G1c-realtime",
            AnomalyKind::GSingleRealtime => "G-single-realtime",
            AnomalyKind::G2Realtime => "G2-realtime",
            AnomalyKind::Internal => "internal",
            AnomalyKind::DuplicateElements => "duplicate-elements",
            AnomalyKind::IncompatibleOrder => "incompatible-order",
        }
    }

    /// One line on what it means.
    pub fn meaning(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "write cycle: transactions' writes interleave in an order no serial execution gives",
            AnomalyKind::G1a => "aborted read: a committed transaction saw a write of one that failed",
            AnomalyKind::G1b => "intermediate read: a transaction saw a write that its writer overwrote before committing",
            AnomalyKind::G1c => "circular information flow: a cycle of write and read dependencies",
            AnomalyKind::GSingle => "read skew: a cycle with exactly one anti-dependency (a read that missed a write)",
            AnomalyKind::G2 => "anti-dependency cycle (e.g. write skew): a cycle with two or more reads that missed writes",
            AnomalyKind::G0Process => "G0 once each process's own order counts",
            AnomalyKind::G1cProcess => "G1c once each process's own order counts",
            AnomalyKind::GSingleProcess => "G-single once each process's own order counts (e.g. a process did not see its own earlier write)",
            AnomalyKind::G2Process => "G2 once each process's own order counts",
            AnomalyKind::G0Realtime => "G0 once real time counts",
            AnomalyKind::G1cRealtime => "G1c once real time counts",
            AnomalyKind::GSingleRealtime => "G-single once real time counts (e.g. a stale read: a transaction missed one that had completed before it began)",
            AnomalyKind::G2Realtime => "G2 once real time counts",
            AnomalyKind::Internal => "a transaction's read disagrees with its own earlier writes or reads",
            AnomalyKind::DuplicateElements => "a read of a list holds the same appended value twice",
            AnomalyKind::IncompatibleOrder => "two reads of one list disagree on the order of its elements",
        }
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for AnomalyKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A transaction as a report names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxnRef {
    /// `T<n>`: the n-th transaction of the history, from 1.
    pub name: String,
    pub process: ProcessId,
    /// The input line (0 when not read from a file).
    pub line: usize,
    /// The transaction, in EDN.
    pub txn: String,
}

/// One edge of a reported cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CycleStep {
    pub from: String,
    pub to: String,
    /// `ww`, `wr` or `rw`.
    pub kind: &'static str,
    /// Why the edge is there: the keys and values that justify it.
    pub because: String,
}

/// One anomaly, explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The transactions involved (for a cycle, in cycle order).
    pub txns: Vec<TxnRef>,
    /// For G0, G1c, G-single and G2: the cycle, one edge per step; the last
    /// step returns to the first transaction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<CycleStep>,
    /// The whole story in words.
    pub explanation: String,
}

/// How many inferred edges of each kind the graph holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EdgeCounts {
    pub ww: usize,
    pub wr: usize,
    pub rw: usize,
    /// Per-process order edges (strong session serializability only).
    pub process: usize,
    /// Real-time order edges, transitively reduced (strict serializability
    /// only).
    pub realtime: usize,
}

/// The checker's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxnReport {
    pub model: TxnModel,
    /// The consistency model "no anomaly" is relative to.
    pub relative_to: &'static str,
    pub txns: usize,
    pub committed: usize,
    pub aborted: usize,
    pub indeterminate: usize,
    pub edges: EdgeCounts,
    /// Every anomaly kind found, with how many.
    pub counts: BTreeMap<AnomalyKind, usize>,
    /// The anomalies, explained, in kind order, at most [`EXAMPLES_MAX`] of
    /// each kind.
    pub anomalies: Vec<Anomaly>,
    /// Limits the inference reached (see [`QUADRATIC_EDGES_MAX`]); empty
    /// when none was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl TxnReport {
    /// True when no anomaly was found.
    pub fn is_valid(&self) -> bool {
        self.counts.is_empty()
    }

    /// The kinds found, in order.
    pub fn kinds(&self) -> Vec<AnomalyKind> {
        self.counts.keys().copied().collect()
    }
}

/// Checks a transaction history of `model`'s workload for Elle's anomalies.
/// The history should have passed [`validate`]; a history that did not (a
/// value written twice to one key) is still checked, each value credited to
/// its first writer.
pub fn check_txn(history: &TxnHistory, model: TxnModel) -> TxnReport {
    check_txn_against(history, model, Consistency::Serializable)
}

/// As [`check_txn`], against a stronger `consistency`: its order (per
/// process, or real time) joins the graph, and cycles that need it are
/// reported with its suffix (`G-single-realtime`).
pub fn check_txn_against(
    history: &TxnHistory,
    model: TxnModel,
    consistency: Consistency,
) -> TxnReport {
    let mut found = infer::Found::default();
    let (mut graph, keys) = match model {
        TxnModel::ListAppend => infer::list_append(history, &mut found),
        TxnModel::RwRegister => infer::rw_register(history, &mut found),
    };
    match consistency {
        Consistency::Serializable => {}
        Consistency::StrongSessionSerializable => order::process_edges(history, &mut graph),
        Consistency::StrictSerializable => order::realtime_edges(history, &mut graph),
    }
    graph.finish();
    let edges = graph.counts();
    for cycle in graph.cycles() {
        found.push_with(explain::cycle_kind(&cycle), || {
            explain::cycle_anomaly(history, &graph, &keys, &cycle)
        });
    }
    let count = |o: Outcome| history.txns.iter().filter(|t| t.outcome == o).count();
    let (counts, anomalies, notes) = found.finish();
    TxnReport {
        model,
        relative_to: consistency.name(),
        txns: history.txns.len(),
        committed: count(Outcome::Ok),
        aborted: count(Outcome::Fail),
        indeterminate: count(Outcome::Info),
        edges,
        counts,
        anomalies,
        notes,
    }
}

/// A history the checker cannot reason about: a micro-op of the other
/// workload, or a value written twice to one key (Elle's inference needs each
/// written value to name its one writer).
pub fn validate(
    history: &TxnHistory,
    model: TxnModel,
) -> Result<(), crate::check::parse::ParseError> {
    let mut writers: BTreeMap<(&str, i64), usize> = BTreeMap::new();
    for (i, t) in history.txns.iter().enumerate() {
        for mop in &t.mops {
            let (key, value, verb) = match (mop, model) {
                (Mop::Append { key, value }, TxnModel::ListAppend) => (key, *value, "appended"),
                (Mop::Write { key, value }, TxnModel::RwRegister) => (key, *value, "written"),
                (Mop::Read { value, .. }, _) => {
                    let fits = match (value, model) {
                        (ReadValue::Unknown, _) => true,
                        (ReadValue::List(_), m) => m == TxnModel::ListAppend,
                        (ReadValue::Register(_), m) => m == TxnModel::RwRegister,
                    };
                    if fits {
                        continue;
                    }
                    return Err(bad(
                        t,
                        format!(
                            "{} reads a value of the other workload",
                            explain::txn_name(i)
                        ),
                        model,
                    ));
                }
                _ => {
                    return Err(bad(
                        t,
                        format!(
                            "micro-op {} is not a {} micro-op",
                            explain::mop_edn(mop),
                            model
                        ),
                        model,
                    ))
                }
            };
            if let Some(first) = writers.insert((key, value), i) {
                {
                    let first_line = history.txns[first].line;
                    return Err(crate::check::parse::ParseError {
                        line: t.line,
                        problem: format!(
                            "value {value} is {verb} to key {key} twice (by {} at line {first_line} and {} here)",
                            explain::txn_name(first),
                            explain::txn_name(i)
                        ),
                        expected: "every value written to a key once, so that a read names its writer (Elle's inference needs unique values)".into(),
                    });
                }
            }
        }
    }
    Ok(())
}

fn bad(t: &Txn, problem: String, model: TxnModel) -> crate::check::parse::ParseError {
    crate::check::parse::ParseError {
        line: t.line,
        problem,
        expected: format!("{} micro-ops: {}", model, model.micro_ops()),
    }
}
