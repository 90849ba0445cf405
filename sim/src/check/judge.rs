//! How a protocol's history is judged, and a run's history with its
//! operation type erased so that the report, the CLI and the TUI need not know
//! it.

use std::any::Any;
use std::fmt;

use super::keywise::check_keywise;
use super::weak::check_weak_log;
use super::{check_linearizable, check_linearizable_with, check_weak, prune_unobserved};
use super::{Budget, Model, ModelKind};
use super::{LinearizabilityReport, WeakReport};
use crate::history::{History, Op, OpFn, OpLog, Outcome, ProcessId, Value};
use crate::kernel::OpMeta;
use crate::workload::Operation;

/// The checks a history of `F` operations gets: the linearizability search
/// against the protocol's model, and the weaker key-value guarantees when they
/// apply.
pub trait Judge<F: Operation> {
    fn linearizability(&self, history: &History<F>, budget: Budget<'_>) -> LinearizabilityReport;

    /// Stale reads, lost writes, read-your-writes, monotonic reads: `None`
    /// where they mean nothing (a bank has no keys to read stale).
    fn weak(&self, _history: &History<F>) -> Option<WeakReport> {
        None
    }

    /// [`Judge::linearizability`] of a run's own history. By default the
    /// whole history is decoded first; a judge that can search one key at a
    /// time (see `check::keywise`) holds far less.
    fn linearizability_of_log(&self, log: &OpLog<F>, budget: Budget<'_>) -> LinearizabilityReport {
        self.linearizability(&log.to_history(), budget)
    }

    /// [`Judge::weak`] of a run's own history, decoded.
    fn weak_of_log(&self, log: &OpLog<F>) -> Option<WeakReport> {
        self.weak(&log.to_history())
    }
}

/// A key-value store: every key an independent register with get, put, cas,
/// append and delete, and the weaker guarantees measured too.
pub struct KvJudge;

impl Judge<OpFn> for KvJudge {
    fn linearizability(&self, history: &History, budget: Budget<'_>) -> LinearizabilityReport {
        check_linearizable(history, ModelKind::Kv, budget)
    }

    fn weak(&self, history: &History) -> Option<WeakReport> {
        Some(check_weak(history))
    }

    fn linearizability_of_log(&self, log: &OpLog, budget: Budget<'_>) -> LinearizabilityReport {
        let prune = |history: &History, kept| prune_unobserved(history, kept);
        check_keywise(log, &ModelKind::Kv.model(), budget, Some(&prune), false)
            .unwrap_or_else(|| self.linearizability(&log.to_history(), budget))
    }

    fn weak_of_log(&self, log: &OpLog) -> Option<WeakReport> {
        Some(check_weak_log(log))
    }
}

/// The linearizability search against any [`Model`], with no weaker checks.
pub struct Linearizable<M>(pub M);

impl<M: Model> Judge<M::Op> for Linearizable<M> {
    fn linearizability(
        &self,
        history: &History<M::Op>,
        budget: Budget<'_>,
    ) -> LinearizabilityReport {
        check_linearizable_with(history, &self.0, budget)
    }

    fn linearizability_of_log(
        &self,
        log: &OpLog<M::Op>,
        budget: Budget<'_>,
    ) -> LinearizabilityReport {
        check_keywise(log, &self.0, budget, None, true)
            .unwrap_or_else(|| self.linearizability(&log.to_history(), budget))
    }

    fn weak_of_log(&self, _log: &OpLog<M::Op>) -> Option<WeakReport> {
        None
    }
}

/// What the report needs of one operation, whatever its type.
#[derive(Clone, Debug)]
pub struct OpHead<'h> {
    pub process: ProcessId,
    pub key: &'h str,
    pub output: Option<Value>,
    pub outcome: Outcome,
    pub call_ns: u64,
    pub return_ns: Option<u64>,
    pub found_other: bool,
}

impl<'h, F> From<&'h Op<F>> for OpHead<'h> {
    fn from(op: &'h Op<F>) -> Self {
        OpHead {
            process: op.process,
            key: &op.key,
            output: op.output.clone(),
            outcome: op.outcome,
            call_ns: op.call_ns,
            return_ns: op.return_ns,
            found_other: op.found_other,
        }
    }
}

/// A run's history, its operation type erased, with the checks its protocol
/// chose.
pub struct RunHistory {
    inner: Box<dyn Erased>,
}

trait Erased {
    fn len(&self) -> usize;
    fn head(&self, i: usize) -> OpHead<'_>;
    fn meta(&self, i: usize) -> OpMeta;
    fn jsonl_line(&self, i: usize) -> String;
    fn judge(&self, budget: Budget<'_>) -> (LinearizabilityReport, Option<WeakReport>);
    /// The whole history, decoded, as a `History<F>`.
    fn history(&self) -> Box<dyn Any>;
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn Any) -> bool;
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

struct Typed<F: 'static> {
    log: OpLog<F>,
    judge: Box<dyn Judge<F>>,
}

impl<F: Operation> Erased for Typed<F> {
    fn len(&self) -> usize {
        self.log.len()
    }
    fn head(&self, i: usize) -> OpHead<'_> {
        OpHead {
            process: self.log.process(i),
            key: self.log.key(i),
            output: self.log.output(i),
            outcome: self.log.outcome(i),
            call_ns: self.log.call_ns(i),
            return_ns: self.log.return_ns(i),
            found_other: self.log.found_other(i),
        }
    }
    fn meta(&self, i: usize) -> OpMeta {
        self.log.meta(i)
    }
    fn jsonl_line(&self, i: usize) -> String {
        serde_json::to_string(&self.log.op(i)).expect("an Op serialises")
    }
    fn judge(&self, budget: Budget<'_>) -> (LinearizabilityReport, Option<WeakReport>) {
        // One after the other: the search's memory is freed before the
        // weaker checks decode the history.
        let linearizability = self.judge.linearizability_of_log(&self.log, budget);
        (linearizability, self.judge.weak_of_log(&self.log))
    }
    fn history(&self) -> Box<dyn Any> {
        Box::new(self.log.to_history())
    }
    fn as_any(&self) -> &dyn Any {
        &self.log
    }
    fn same(&self, other: &dyn Any) -> bool {
        other
            .downcast_ref::<OpLog<F>>()
            .is_some_and(|h| *h == self.log)
    }
    fn debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.log, f)
    }
}

impl RunHistory {
    pub fn new<F: Operation>(log: OpLog<F>, judge: Box<dyn Judge<F>>) -> RunHistory {
        RunHistory {
            inner: Box::new(Typed { log, judge }),
        }
    }

    /// Operations, in order of invocation.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Operation `i` as the report reads it.
    pub fn op(&self, i: usize) -> OpHead<'_> {
        self.inner.head(i)
    }

    pub fn ops(&self) -> impl Iterator<Item = OpHead<'_>> + '_ {
        (0..self.len()).map(|i| self.op(i))
    }

    /// What the kernel knows of operation `i` beyond the operation itself.
    pub fn meta(&self, i: usize) -> OpMeta {
        self.inner.meta(i)
    }

    pub fn metas(&self) -> impl Iterator<Item = OpMeta> + '_ {
        (0..self.len()).map(|i| self.meta(i))
    }

    /// The whole history, decoded, if its operations are `F`s (`OpFn` for a
    /// key-value protocol). It is built on each call: the run keeps it compact.
    pub fn typed<F: 'static>(&self) -> Option<History<F>> {
        self.inner.history().downcast().ok().map(|h| *h)
    }

    /// The key-value history, for a key-value protocol.
    pub fn kv(&self) -> Option<History> {
        self.typed()
    }

    /// One JSON object per operation, as [`History::to_jsonl`] writes them.
    pub fn jsonl_lines(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.len()).map(|i| self.inner.jsonl_line(i))
    }

    /// The checks the protocol chose, within `budget`.
    pub fn judge(&self, budget: Budget<'_>) -> (LinearizabilityReport, Option<WeakReport>) {
        self.inner.judge(budget)
    }
}

impl PartialEq for RunHistory {
    fn eq(&self, other: &RunHistory) -> bool {
        self.inner.same(other.inner.as_any())
    }
}

impl fmt::Debug for RunHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.debug(f)
    }
}
