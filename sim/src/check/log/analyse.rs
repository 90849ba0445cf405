//! The anomalies of the log itself and of each client's view of it: the
//! version order of every partition, then one pass per anomaly family.

use std::collections::{BTreeMap, BTreeSet};

use super::{Anomaly, AnomalyKind, Found, LogFn, LogHistory, Message};
use crate::check::client_name;
use crate::history::{Outcome, ProcessId};

/// Every partition's version order: the offsets any `ok` send or poll
/// reported, in order, with the value the log holds at each.
pub(super) struct Versions {
    /// Per partition, `(offset, value)` in offset order. Where reports
    /// disagree (an `inconsistent-offset`), the value is the first one a poll
    /// read there, or failing that the first acknowledged one: what
    /// consumers actually found is the better guess at what the log holds.
    logs: BTreeMap<String, Vec<(u64, i64)>>,
    /// Per partition and offset, each value reported there and the first
    /// operation that reported it.
    reports: BTreeMap<(String, u64), BTreeMap<i64, usize>>,
}

impl Versions {
    pub(super) fn of(history: &LogHistory) -> Versions {
        let mut reports: BTreeMap<(String, u64), BTreeMap<i64, usize>> = BTreeMap::new();
        let mut polled_first: BTreeMap<(String, u64), i64> = BTreeMap::new();
        let mut sent_first: BTreeMap<(String, u64), i64> = BTreeMap::new();
        for (i, op) in history.ops.iter().enumerate() {
            if op.outcome != Outcome::Ok {
                continue;
            }
            match &op.f {
                LogFn::Send {
                    partition,
                    value,
                    offset: Some(o),
                } => {
                    let at = (partition.clone(), *o);
                    reports
                        .entry(at.clone())
                        .or_default()
                        .entry(*value)
                        .or_insert(i);
                    sent_first.entry(at).or_insert(*value);
                }
                LogFn::Poll { messages, .. } | LogFn::DeadLetter { messages, .. } => {
                    for m in messages {
                        let at = (m.partition.clone(), m.offset);
                        reports
                            .entry(at.clone())
                            .or_default()
                            .entry(m.value)
                            .or_insert(i);
                        polled_first.entry(at).or_insert(m.value);
                    }
                }
                _ => {}
            }
        }
        let mut logs: BTreeMap<String, Vec<(u64, i64)>> = BTreeMap::new();
        for at in reports.keys() {
            let value = polled_first
                .get(at)
                .or_else(|| sent_first.get(at))
                .copied()
                .expect("every reported offset was reported by a send or a poll");
            logs.entry(at.0.clone()).or_default().push((at.1, value));
        }
        Versions { logs, reports }
    }

    /// Where `offset` stands in `partition`'s version order.
    pub(super) fn rank(&self, partition: &str, offset: u64) -> Option<usize> {
        let log = self.logs.get(partition)?;
        log.binary_search_by_key(&offset, |e| e.0).ok()
    }

    /// The values strictly between ranks `lo` and `hi` of `partition`.
    fn between(&self, partition: &str, lo: usize, hi: usize) -> Vec<i64> {
        match self.logs.get(partition) {
            Some(log) if lo + 1 < hi => {
                log[lo + 1..hi.min(log.len())].iter().map(|e| e.1).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Finds every anomaly but the consumer groups' duplicate deliveries (see
/// `delivery`).
pub(super) fn find_all(history: &LogHistory, versions: &Versions, found: &mut Found) {
    inconsistent_offsets(versions, found);
    duplicates(history, found);
    lost_and_unseen(history, found);
    internal(history, versions, found);
    polls_per_consumer(history, versions, found);
    sends_per_producer(history, versions, found);
    commits_backwards(history, found);
}

fn inconsistent_offsets(versions: &Versions, found: &mut Found) {
    for ((partition, offset), values) in &versions.reports {
        if values.len() > 1 {
            let vals: Vec<i64> = values.keys().copied().collect();
            found.push(Anomaly {
                kind: AnomalyKind::InconsistentOffset,
                partition: Some(partition.clone()),
                values: vals.clone(),
                offsets: vec![*offset],
                ops: values.values().copied().collect(),
                detail: format!("{partition} offset {offset} was reported holding {vals:?}"),
            });
        }
    }
}

/// A value at more than one place, over every `ok` send and poll.
fn duplicates(history: &LogHistory, found: &mut Found) {
    let mut places: BTreeMap<i64, BTreeMap<(String, u64), usize>> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        if op.outcome != Outcome::Ok {
            continue;
        }
        for (partition, offset, value) in reported(&op.f) {
            places
                .entry(value)
                .or_default()
                .entry((partition.to_string(), offset))
                .or_insert(i);
        }
    }
    for (value, at) in places {
        if at.len() < 2 {
            continue;
        }
        let partitions: BTreeSet<&String> = at.keys().map(|k| &k.0).collect();
        let offsets: Vec<u64> = at.keys().map(|k| k.1).collect();
        let shown: Vec<String> = at.keys().map(|(p, o)| format!("{p}@{o}")).collect();
        found.push(Anomaly {
            kind: AnomalyKind::Duplicate,
            partition: (partitions.len() == 1).then(|| at.keys().next().expect("two").0.clone()),
            values: vec![value],
            offsets,
            ops: at.values().copied().collect(),
            detail: format!(
                "value {value} is in the log {} times: {}",
                at.len(),
                shown.join(", ")
            ),
        });
    }
}

/// The `(partition, offset, value)` triples an operation reports.
fn reported(f: &LogFn) -> Vec<(&str, u64, i64)> {
    match f {
        LogFn::Send {
            partition,
            value,
            offset: Some(o),
        } => vec![(partition.as_str(), *o, *value)],
        LogFn::Poll { messages, .. } | LogFn::DeadLetter { messages, .. } => messages
            .iter()
            .map(|m| (m.partition.as_str(), m.offset, m.value))
            .collect(),
        _ => Vec::new(),
    }
}

/// Acknowledged sends no poll returned: `lost` below the highest offset
/// polled on the partition, `unseen` above it (and when the producer was
/// given no offset, as with `acks = 0`: nobody can say where it would be).
/// And the other way round: values polled whose send failed. A
/// dead-lettered message was read and handled: it counts as polled here.
fn lost_and_unseen(history: &LogHistory, found: &mut Found) {
    let mut polled: BTreeSet<i64> = BTreeSet::new();
    let mut highest: BTreeMap<&str, u64> = BTreeMap::new();
    let mut polled_by: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        if let (Some(messages), Outcome::Ok) = (op.f.read(), op.outcome) {
            for m in messages {
                polled.insert(m.value);
                polled_by.entry(m.value).or_insert(i);
                let h = highest.entry(m.partition.as_str()).or_insert(0);
                *h = (*h).max(m.offset);
            }
        }
    }
    for (i, op) in history.ops.iter().enumerate() {
        let LogFn::Send {
            partition,
            value,
            offset,
        } = &op.f
        else {
            continue;
        };
        match op.outcome {
            Outcome::Ok if !polled.contains(value) => {
                let top = highest.get(partition.as_str()).copied();
                let (kind, detail) = match (offset, top) {
                    (Some(o), Some(h)) if h >= *o => (
                        AnomalyKind::Lost,
                        format!(
                            "{} sent {value} to {partition}, acknowledged at offset {o}; polls read {partition} up to offset {h} but never returned {value}",
                            client_name(op.process)
                        ),
                    ),
                    (Some(o), _) => (
                        AnomalyKind::Unseen,
                        format!(
                            "{} sent {value} to {partition}, acknowledged at offset {o}; no poll got that far",
                            client_name(op.process)
                        ),
                    ),
                    (None, _) => (
                        AnomalyKind::Unseen,
                        format!(
                            "{} sent {value} to {partition} (ok, with no offset); no poll returned it",
                            client_name(op.process)
                        ),
                    ),
                };
                found.push(Anomaly {
                    kind,
                    partition: Some(partition.clone()),
                    values: vec![*value],
                    offsets: offset.iter().copied().collect(),
                    ops: vec![i],
                    detail,
                });
            }
            Outcome::Fail if polled.contains(value) => found.push(Anomaly {
                kind: AnomalyKind::AbortedRead,
                partition: Some(partition.clone()),
                values: vec![*value],
                offsets: Vec::new(),
                ops: vec![i, polled_by[value]],
                detail: format!(
                    "{} was told its send of {value} to {partition} failed, yet a poll returned {value}",
                    client_name(op.process)
                ),
            }),
            _ => {}
        }
    }
}

/// Inside one poll, each partition's messages must be neighbours in the
/// version order, in order.
fn internal(history: &LogHistory, versions: &Versions, found: &mut Found) {
    for (i, op) in history.ops.iter().enumerate() {
        let (Some(messages), Outcome::Ok) = (op.f.read(), op.outcome) else {
            continue;
        };
        let mut last: BTreeMap<&str, (&Message, usize)> = BTreeMap::new();
        for m in messages {
            let r = versions
                .rank(&m.partition, m.offset)
                .expect("every polled offset is in the version order");
            if let Some((prev, pr)) = last.get(m.partition.as_str()) {
                let (ok, what) = step(*pr, r);
                if !ok {
                    let skipped = versions.between(&m.partition, *pr, r);
                    found.push(Anomaly {
                        kind: AnomalyKind::Internal,
                        partition: Some(m.partition.clone()),
                        values: vec![prev.value, m.value],
                        offsets: vec![prev.offset, m.offset],
                        ops: vec![i],
                        detail: format!(
                            "one poll by {} read {} offset {} then offset {}: {what}{}",
                            client_name(op.process),
                            m.partition,
                            prev.offset,
                            m.offset,
                            skipped_note(&skipped)
                        ),
                    });
                }
            }
            last.insert(m.partition.as_str(), (m, r));
        }
    }
}

/// Whether rank `to` follows rank `from` as the next message should, and if
/// not, what went wrong.
fn step(from: usize, to: usize) -> (bool, &'static str) {
    if to == from + 1 {
        (true, "")
    } else if to <= from {
        (false, "a step back")
    } else {
        (false, "a gap")
    }
}

fn skipped_note(skipped: &[i64]) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        format!(", skipping {skipped:?}")
    }
}

/// Each consumer's successive polls of a partition: the next starts on the
/// message after the one the last ended on. An `assign` starts the
/// consumer afresh (as in Jepsen's Kafka test): where it reads next depends
/// on the new assignment (a committed offset, or the start of a restarted
/// consumer's log), not on its last poll.
fn polls_per_consumer(history: &LogHistory, versions: &Versions, found: &mut Found) {
    // Per consumer and partition: the offset and rank its last poll ended
    // on, and that poll.
    let mut last: BTreeMap<(ProcessId, String), (u64, usize, usize)> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        if op.outcome != Outcome::Ok {
            continue;
        }
        match &op.f {
            LogFn::Assign { .. } => {
                last.retain(|(p, _), _| *p != op.process);
            }
            // A dead letter is a read like a poll: the message after a
            // dead-lettered one is the next to read, not a skip.
            LogFn::Poll { messages, .. } | LogFn::DeadLetter { messages, .. } => {
                // Each partition's first and last message in this poll.
                let mut span: BTreeMap<&str, (&Message, &Message)> = BTreeMap::new();
                for m in messages {
                    span.entry(m.partition.as_str())
                        .and_modify(|s| s.1 = m)
                        .or_insert((m, m));
                }
                for (partition, (first, end)) in span {
                    let key = (op.process, partition.to_string());
                    let r = versions
                        .rank(partition, first.offset)
                        .expect("every polled offset is in the version order");
                    if let Some(&(lo, lr, li)) = last.get(&key) {
                        let (ok, _) = step(lr, r);
                        if !ok {
                            let (kind, what) = if r <= lr {
                                (AnomalyKind::NonmonotonicPoll, "went back to".to_string())
                            } else {
                                let skipped = versions.between(partition, lr, r);
                                (
                                    AnomalyKind::PollSkip,
                                    format!("skipped {} message(s) {skipped:?} to", skipped.len()),
                                )
                            };
                            found.push(Anomaly {
                                kind,
                                partition: Some(partition.to_string()),
                                values: vec![first.value],
                                offsets: vec![lo, first.offset],
                                ops: vec![li, i],
                                detail: format!(
                                    "{} last read {partition} offset {lo}; its next poll {what} offset {}",
                                    client_name(op.process),
                                    first.offset
                                ),
                            });
                        }
                    }
                    let er = versions
                        .rank(partition, end.offset)
                        .expect("every polled offset is in the version order");
                    last.insert(key, (end.offset, er, i));
                }
            }
            _ => {}
        }
    }
}

/// Each producer's sends to a partition, in the order it sent them: their
/// acknowledged offsets must rise (`nonmonotonic-send`), and the log must
/// hold them in that order (`reorder`).
fn sends_per_producer(history: &LogHistory, versions: &Versions, found: &mut Found) {
    // Where each value first sits in its partition's version order.
    let mut first_rank: BTreeMap<(&str, i64), usize> = BTreeMap::new();
    for (partition, log) in &versions.logs {
        for (r, &(_, v)) in log.iter().enumerate() {
            first_rank.entry((partition.as_str(), v)).or_insert(r);
        }
    }
    // Per producer and partition: its last acknowledged send (offset, rank,
    // value, op), and its last send found in the log (rank, value, op).
    let mut acked: BTreeMap<(ProcessId, &str), (u64, usize, i64, usize)> = BTreeMap::new();
    let mut in_log: BTreeMap<(ProcessId, &str), (usize, i64, usize)> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        let LogFn::Send {
            partition,
            value,
            offset,
        } = &op.f
        else {
            continue;
        };
        let key = (op.process, partition.as_str());
        if let (Outcome::Ok, Some(o)) = (op.outcome, offset) {
            let r = versions
                .rank(partition, *o)
                .expect("every acknowledged offset is in the version order");
            if let Some(&(po, pr, pv, pi)) = acked.get(&key) {
                if r <= pr {
                    found.push(Anomaly {
                        kind: AnomalyKind::NonmonotonicSend,
                        partition: Some(partition.clone()),
                        values: vec![pv, *value],
                        offsets: vec![po, *o],
                        ops: vec![pi, i],
                        detail: format!(
                            "{} sent {pv} then {value} to {partition}; they were acknowledged at offsets {po} then {o}",
                            client_name(op.process)
                        ),
                    });
                }
            }
            acked.insert(key, (*o, r, *value, i));
        }
        if op.outcome == Outcome::Fail {
            continue;
        }
        let Some(&r) = first_rank.get(&(partition.as_str(), *value)) else {
            continue;
        };
        if let Some(&(pr, pv, pi)) = in_log.get(&key) {
            if r < pr {
                found.push(Anomaly {
                    kind: AnomalyKind::Reorder,
                    partition: Some(partition.clone()),
                    values: vec![pv, *value],
                    offsets: Vec::new(),
                    ops: vec![pi, i],
                    detail: format!(
                        "{} sent {pv} before {value} to {partition}, but the log holds {value} first",
                        client_name(op.process)
                    ),
                });
            }
        }
        in_log.insert(key, (r, *value, i));
    }
}

/// A group's committed offset on a partition, commit after commit in the
/// order they completed, must never go back.
fn commits_backwards(history: &LogHistory, found: &mut Found) {
    let mut commits: Vec<(u64, usize)> = history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, op)| matches!(op.f, LogFn::Commit { .. }) && op.outcome == Outcome::Ok)
        .map(|(i, op)| (op.return_ns.expect("validated: ok has a return"), i))
        .collect();
    commits.sort();
    let mut last: BTreeMap<(&str, &str), (u64, usize)> = BTreeMap::new();
    for (_, i) in commits {
        let op = &history.ops[i];
        let LogFn::Commit {
            group,
            partition,
            offset,
        } = &op.f
        else {
            unreachable!("only commits were kept");
        };
        let key = (group.as_str(), partition.as_str());
        if let Some(&(prev, pi)) = last.get(&key) {
            if *offset < prev {
                found.push(Anomaly {
                    kind: AnomalyKind::CommitBackwards,
                    partition: Some(partition.clone()),
                    values: Vec::new(),
                    offsets: vec![prev, *offset],
                    ops: vec![pi, i],
                    detail: format!(
                        "group {group} had committed {partition} up to offset {prev}; then {} committed {offset}",
                        client_name(op.process)
                    ),
                });
            }
        }
        // The broker holds the last commit, even one that went back.
        last.insert(key, (*offset, i));
    }
}
