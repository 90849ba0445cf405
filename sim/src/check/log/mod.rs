//! The checker for log and queue histories: what a Kafka-like system did with
//! the messages its producers sent, read back from what its consumers polled.
//!
//! A partitioned log promises little, and the checker holds it to exactly that.
//! Each partition is a totally ordered, append-only sequence: a message sent to
//! it gets one offset, and every consumer that reads the partition reads the
//! same message at that offset, offsets in order. An acknowledged send is
//! durable: once the producer heard "ok, offset 17", offset 17 holds that
//! message forever. Nothing is promised across partitions.
//!
//! The history has four kinds of operation ([`LogFn`]): a *send* of one unique
//! integer to a partition (ok with the offset the broker gave it, fail, or info
//! when nobody knows), a *poll* (the messages a consumer received, each with
//! its partition and offset), an offset *commit* by a consumer group, and an
//! *assign* (the partitions a consumer reads changed: a rebalance); and a
//! *dead letter* (messages a consumer group could not process and wrote to a
//! dead letter queue instead: read, handled, never processed).
//!
//! The anomalies take the names the Jepsen Kafka test gives them, so a reader
//! who knows that test reads this one (the test's documentation, and
//! Maelstrom's kafka workload, describe the same model; this is our own code):
//!
//! - `lost`: an acknowledged send that no poll ever returned, although polls
//!   read its partition at or past its offset;
//! - `unseen`: an acknowledged send no poll returned, beyond the last offset
//!   polled on its partition (the consumers never got that far);
//! - `duplicate`: one value at several offsets (a producer retry that was
//!   written twice);
//! - `duplicate-delivery`: one value delivered more than once to one consumer
//!   group (a redelivery after a crash, or a duplicate in the log read twice);
//! - `poll-skip`: a consumer's next poll of a partition began past the
//!   message after the one its last poll ended on;
//! - `nonmonotonic-poll`: a consumer's next poll of a partition began at or
//!   before the message its last poll ended on;
//! - `nonmonotonic-send`: a producer's later send to a partition was
//!   acknowledged at an offset at or before its earlier one's;
//! - `internal`: inside one poll, two successive messages of a partition are
//!   not neighbours in the log (a gap, or a step back);
//!
//! and a few that Jepsen names otherwise or folds into its graph analysis:
//!
//! - `reorder`: the log holds two of one producer's messages to a partition in
//!   the opposite order to the one it sent them in (a per-partition order
//!   violation, seen in the log even where no send was acknowledged);
//! - `commit-backwards`: a consumer group's committed offset on a partition went
//!   back (a zombie consumer committing after a rebalance);
//! - `inconsistent-offset`: two different values at one offset (Jepsen's
//!   inconsistent offsets: a truncated log handed the offset out again);
//! - `aborted-read`: a poll returned a value whose send certainly failed
//!   (Jepsen's G1a).
//!
//! The *version order* of a partition is every offset any send or poll
//! reported, in order; "neighbours" and "skipped" are counted in it, not in
//! raw offsets, so a log whose offsets have gaps (transaction markers take
//! offsets in Kafka) is not blamed for them.
//!
//! From the same history the checker derives the *delivery guarantee the run
//! gave* each consumer group ([`Guarantee`]): no acknowledged message lost
//! and none delivered twice is an exactly-once effect; some delivered twice
//! but none lost is at-least-once; some lost but none twice is at-most-once;
//! both is no guarantee at all. *Lost* here means never delivered although a
//! later offset of its partition was: messages beyond a group's reach when
//! the history ends (unseen) are counted apart, and while there are any the
//! guarantee speaks only of the delivered prefix. A group answers for the
//! partitions its members were assigned, or, if the history has no
//! assignment at all, for every partition sent to. The numbers behind it are in [`GroupReport`],
//! with the group's lag over the run. A message counts as delivered when a
//! poll that completed `ok` listed it: a consumer records a poll as ok once
//! it has processed what it received, so a crash between receiving and
//! processing leaves the poll `info` and its messages undelivered.
//!
//! A dead-lettered message is neither delivered nor lost: the group read it
//! and decided, on purpose, not to process it. It counts where the group's
//! position is judged (a message after it is no `poll-skip`, and it is no
//! `lost` or `unseen` send) and is counted apart in delivery
//! (`dead-lettered`). A message that is never processed and never
//! dead-lettered (a poison message retried for ever) blocks its partition:
//! nothing after it is polled, so it and everything behind it are `unseen`.

mod analyse;
mod delivery;
mod render;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::history::{Outcome, ProcessId};

pub use delivery::{GroupReport, Guarantee, LagPoint};
pub use render::FIGURES;

/// One message as a poll returned it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The topic-partition (`orders-0`): each is its own log.
    pub partition: String,
    pub offset: u64,
    /// The message: a unique integer per send, so a value names its send.
    pub value: i64,
}

/// What a log operation asked for, and for a completed one what it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum LogFn {
    /// Append `value` to `partition`. `offset` is where an `ok` send was
    /// written (`None` when the producer was not told: `acks = 0`).
    Send {
        partition: String,
        value: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
    },
    /// Receive the next messages of the partitions the consumer reads.
    /// `group` is its consumer group; a consumer with none is a group of one,
    /// named after its process. `messages` is what an `ok` poll returned.
    Poll {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        #[serde(default)]
        messages: Vec<Message>,
    },
    /// Record, for `group`, that `partition` is consumed up to (and not
    /// including) `offset`: a consumer that takes the partition over starts there.
    Commit {
        group: String,
        partition: String,
        offset: u64,
    },
    /// The consumer now reads these partitions (a rebalance or a manual
    /// assignment). Where it left off on a partition it no longer reads is
    /// forgotten: the next consumer starts from the committed offset.
    Assign { partitions: Vec<String> },
    /// `group` gave these messages up: processing each failed as many times
    /// as the consumer allows, and it wrote them to a dead letter queue and
    /// moved on. They were read at these offsets and handled, but their
    /// effect never happened: the checker counts them neither delivered nor
    /// lost, but dead-lettered.
    DeadLetter {
        group: String,
        #[serde(default)]
        messages: Vec<Message>,
    },
}

impl LogFn {
    /// The messages the operation read from the log, at their offsets: a
    /// poll's, or a dead letter's. Both count alike wherever a consumer's
    /// position in the log is judged (the version order, lost and unseen,
    /// skips and steps back); only delivery tells them apart.
    pub fn read(&self) -> Option<&[Message]> {
        match self {
            LogFn::Poll { messages, .. } | LogFn::DeadLetter { messages, .. } => Some(messages),
            _ => None,
        }
    }
}

/// One operation of a log history, from invocation to completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOp {
    pub process: ProcessId,
    #[serde(flatten)]
    pub f: LogFn,
    pub outcome: Outcome,
    pub call_ns: u64,
    /// `None` when it never completed (`info`).
    pub return_ns: Option<u64>,
}

/// A log history: operations in order of invocation. A producer may have
/// several sends open at once; their order here is the order it sent them in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHistory {
    pub ops: Vec<LogOp>,
}

/// Why a log history cannot be checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLogHistory {
    #[error("operation {index} completed ok but has no return_ns; an operation that never completed has outcome info")]
    OkWithoutReturn { index: usize },
    #[error("operation {index} returned at {return_ns} ns, before it was invoked at {call_ns} ns")]
    ReturnBeforeCall {
        index: usize,
        call_ns: u64,
        return_ns: u64,
    },
    #[error(
        "operation {index} is a {outcome:?} send with an offset; only an ok send was given one"
    )]
    OffsetWithoutOk { index: usize, outcome: Outcome },
    #[error("operation {index} is a {outcome:?} poll or dead letter with messages; only an ok one carries any")]
    MessagesWithoutOk { index: usize, outcome: Outcome },
}

/// Checks what the analysis relies on: every `ok` operation has a return
/// time no earlier than its call, and only `ok` sends and polls carry results.
pub fn validate(history: &LogHistory) -> Result<(), InvalidLogHistory> {
    for (index, op) in history.ops.iter().enumerate() {
        if op.outcome == Outcome::Ok && op.return_ns.is_none() {
            return Err(InvalidLogHistory::OkWithoutReturn { index });
        }
        if let Some(r) = op.return_ns {
            if r < op.call_ns {
                return Err(InvalidLogHistory::ReturnBeforeCall {
                    index,
                    call_ns: op.call_ns,
                    return_ns: r,
                });
            }
        }
        match &op.f {
            LogFn::Send {
                offset: Some(_), ..
            } if op.outcome != Outcome::Ok => {
                return Err(InvalidLogHistory::OffsetWithoutOk {
                    index,
                    outcome: op.outcome,
                })
            }
            f if op.outcome != Outcome::Ok && f.read().is_some_and(|m| !m.is_empty()) => {
                return Err(InvalidLogHistory::MessagesWithoutOk {
                    index,
                    outcome: op.outcome,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// The kinds of anomaly, in the order the report lists them. The module
/// documentation defines each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    Lost,
    Unseen,
    Duplicate,
    DuplicateDelivery,
    PollSkip,
    NonmonotonicPoll,
    NonmonotonicSend,
    Internal,
    Reorder,
    CommitBackwards,
    InconsistentOffset,
    AbortedRead,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 12] = [
        AnomalyKind::Lost,
        AnomalyKind::Unseen,
        AnomalyKind::Duplicate,
        AnomalyKind::DuplicateDelivery,
        AnomalyKind::PollSkip,
        AnomalyKind::NonmonotonicPoll,
        AnomalyKind::NonmonotonicSend,
        AnomalyKind::Internal,
        AnomalyKind::Reorder,
        AnomalyKind::CommitBackwards,
        AnomalyKind::InconsistentOffset,
        AnomalyKind::AbortedRead,
    ];

    /// The name the report, `--json` and `[expect.measure]` use.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::Lost => "lost",
            AnomalyKind::Unseen => "unseen",
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::DuplicateDelivery => "duplicate-delivery",
            AnomalyKind::PollSkip => "poll-skip",
            AnomalyKind::NonmonotonicPoll => "nonmonotonic-poll",
            AnomalyKind::NonmonotonicSend => "nonmonotonic-send",
            AnomalyKind::Internal => "internal",
            AnomalyKind::Reorder => "reorder",
            AnomalyKind::CommitBackwards => "commit-backwards",
            AnomalyKind::InconsistentOffset => "inconsistent-offset",
            AnomalyKind::AbortedRead => "aborted-read",
        }
    }

    /// Whether the kind breaks what a partitioned log promises. `unseen` does
    /// not by itself (the consumers may just not have caught up), nor does a
    /// duplicate delivery (at-least-once consumers redeliver by design); the
    /// delivery guarantee accounts for both.
    pub fn is_violation(self) -> bool {
        !matches!(self, AnomalyKind::Unseen | AnomalyKind::DuplicateDelivery)
    }
}

/// One anomaly: what, where, which values and offsets, and which operations
/// (indices into [`LogHistory::ops`]) show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub partition: Option<String>,
    pub values: Vec<i64>,
    pub offsets: Vec<u64>,
    pub ops: Vec<usize>,
    /// The anomaly in a sentence.
    pub detail: String,
}

/// How many anomalies of one kind the report keeps as examples; the counts
/// are always exact.
pub const EXAMPLES_PER_KIND: usize = 8;

/// How many sends there were, by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SendCounts {
    pub total: u64,
    pub acknowledged: u64,
    pub failed: u64,
    pub indeterminate: u64,
}

/// What [`check_log`] found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogReport {
    pub sends: SendCounts,
    /// Polls that completed, and the messages they returned.
    pub polls_ok: u64,
    pub messages_polled: u64,
    /// Distinct values the completed dead letters gave up (a message given
    /// up twice, by a stalled member and its replacement, counts once, as
    /// in the delivery evidence); `None` when the history has no dead
    /// letter at all (no dead letter queue in play).
    pub dead_lettered: Option<u64>,
    /// Per kind, how many anomalies the history has (kinds with none are absent).
    pub counts: BTreeMap<AnomalyKind, u64>,
    /// The first [`EXAMPLES_PER_KIND`] anomalies of each kind, by kind.
    pub examples: Vec<Anomaly>,
    /// Delivery and lag per consumer group, by name.
    pub groups: Vec<GroupReport>,
    /// The guarantee the run gave, all groups together: the weakest
    /// combination of what the groups saw (one group losing and another
    /// duplicating is no guarantee).
    pub guarantee: Guarantee,
    /// The guarantee in a sentence, with the numbers behind it.
    pub evidence: String,
}

impl LogReport {
    /// How many anomalies of `kind` the history has.
    pub fn count(&self, kind: AnomalyKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// Whether the history breaks what a partitioned log promises (see
    /// [`AnomalyKind::is_violation`]).
    pub fn is_valid(&self) -> bool {
        self.counts.keys().all(|k| !k.is_violation())
    }

    /// The examples of `kind`.
    pub fn examples_of(&self, kind: AnomalyKind) -> impl Iterator<Item = &Anomaly> + '_ {
        self.examples.iter().filter(move |a| a.kind == kind)
    }
}

/// Collects anomalies: exact counts, a bounded list of examples per kind.
#[derive(Default)]
pub(crate) struct Found {
    counts: BTreeMap<AnomalyKind, u64>,
    examples: BTreeMap<AnomalyKind, Vec<Anomaly>>,
}

impl Found {
    pub(crate) fn push(&mut self, a: Anomaly) {
        *self.counts.entry(a.kind).or_insert(0) += 1;
        let list = self.examples.entry(a.kind).or_default();
        if list.len() < EXAMPLES_PER_KIND {
            list.push(a);
        }
    }
}

/// Checks a log history: the anomalies, and the delivery guarantee each
/// consumer group got, with its lag. The history must be valid (see
/// [`validate`]); the result is a pure function of it.
pub fn check_log(history: &LogHistory) -> LogReport {
    let mut sends = SendCounts::default();
    let mut polls_ok = 0;
    let mut messages_polled = 0;
    let mut dead_lettered: Option<BTreeSet<i64>> = None;
    for op in &history.ops {
        match &op.f {
            LogFn::Send { .. } => {
                sends.total += 1;
                match op.outcome {
                    Outcome::Ok => sends.acknowledged += 1,
                    Outcome::Fail => sends.failed += 1,
                    Outcome::Info => sends.indeterminate += 1,
                }
            }
            LogFn::Poll { messages, .. } if op.outcome == Outcome::Ok => {
                polls_ok += 1;
                messages_polled += messages.len() as u64;
            }
            LogFn::DeadLetter { messages, .. } => {
                let values = dead_lettered.get_or_insert_with(BTreeSet::new);
                if op.outcome == Outcome::Ok {
                    values.extend(messages.iter().map(|m| m.value));
                }
            }
            _ => {}
        }
    }
    let versions = analyse::Versions::of(history);
    let mut found = Found::default();
    analyse::find_all(history, &versions, &mut found);
    let groups = delivery::groups(history, &mut found);
    let (guarantee, evidence) = delivery::overall(&groups, sends.acknowledged);
    LogReport {
        sends,
        polls_ok,
        messages_polled,
        dead_lettered: dead_lettered.map(|v| v.len() as u64),
        counts: found.counts,
        examples: found.examples.into_values().flatten().collect(),
        groups,
        guarantee,
        evidence,
    }
}
