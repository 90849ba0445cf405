//! Kafka: Maelstrom's kafka workload is judged by Jepsen's kafka checker
//! (`jepsen.tests.kafka`), run with assign-style consumers and no
//! transactions. chaoslab's log checker ([`sim::check::log`]) finds the
//! same anomalies under the same names; this module turns the clients'
//! calls into its history and decides which anomalies fail the run, as
//! Maelstrom decides.
//!
//! The mapping: each key is a partition; a `send` is a send (acknowledged
//! with the offset of its `send_ok`, failed on a definite error, unknown
//! on a timeout); a `poll` is a poll by its client (each client is its
//! own consumer, with no group); a `list_committed_offsets` (the client
//! assigning itself keys) and the seek to offset 0 before the final polls
//! are assignments, after which the client's position may move anywhere.
//! Commits are not judged: Maelstrom's checker does not look at them
//! (each client commits its own position, so the committed offset of a
//! key may well go back when a slower client commits).
//!
//! What fails the run, as in Jepsen's checker with `:sub-via #{:assign}`
//! (every error type but `:int-send-skip` and G0, which cannot arise
//! here): `lost` (Jepsen's `:lost-write`), `unseen` once the final polls
//! are done (an acknowledged message no poll ever returned: Jepsen's
//! final `:unseen`), `duplicate`, `inconsistent-offset` (Jepsen's
//! `:inconsistent-offsets`), `poll-skip`, `nonmonotonic-poll`,
//! `nonmonotonic-send`, `internal` (Jepsen's `:int-poll-skip` and
//! `:int-nonmonotonic-poll`) and `aborted-read` (Jepsen's `:G1a`).
//! `nonmonotonic-send` is judged as Jepsen judges it: each client's
//! successive sends to a key that are acknowledged *or* timed out, and
//! whose message some poll or acknowledgement placed in the log, must sit
//! at rising offsets; so a send that timed out and landed after the
//! client's next one fails the run (the log checker's `reorder` is folded
//! into it here). Reported but allowed: `duplicate-delivery` (a client
//! that reassigns itself re-reads from the committed offset by design,
//! and the final polls read every key from offset 0). Not built: Jepsen's wr-cycle search
//! (G1c and its realtime variants), which only a node that returns a
//! message before it was sent could trip.

use std::collections::BTreeMap;

use sim::check::log::{
    check_log, Anomaly, AnomalyKind, LogFn, LogHistory, LogOp, LogReport, Message,
    EXAMPLES_PER_KIND,
};
use sim::history::Outcome;
use sim::metric::Metrics;

use super::super::client::{Call, Reply};
use super::super::ops::MaelOp;
use super::malformed;

/// The anomaly kinds that fail a kafka run, in report order.
pub const KAFKA_FAILURES: [AnomalyKind; 9] = [
    AnomalyKind::Lost,
    AnomalyKind::Unseen,
    AnomalyKind::Duplicate,
    AnomalyKind::InconsistentOffset,
    AnomalyKind::PollSkip,
    AnomalyKind::NonmonotonicPoll,
    AnomalyKind::NonmonotonicSend,
    AnomalyKind::Internal,
    AnomalyKind::AbortedRead,
];

/// The anomaly kinds reported and allowed.
pub const KAFKA_ALLOWED: [AnomalyKind; 1] = [AnomalyKind::DuplicateDelivery];

#[derive(Clone, Debug, PartialEq)]
pub struct KafkaReport {
    pub log: LogReport,
    pub polls: u64,
    pub commits_ok: u64,
    pub no_final_read: Vec<String>,
    pub malformed: Vec<String>,
}

impl KafkaReport {
    /// The kinds found that fail the run.
    pub fn failed(&self) -> Vec<AnomalyKind> {
        KAFKA_FAILURES
            .into_iter()
            .filter(|k| self.log.count(*k) > 0)
            .collect()
    }

    pub fn metrics(&self, out: &mut Metrics) {
        out.count("acknowledged", self.log.sends.acknowledged)
            .note(format!(
                "of {} sends ({} failed, {} unknown)",
                self.log.sends.total, self.log.sends.failed, self.log.sends.indeterminate
            ));
        let sends = &self.log.sends;
        if sends.total > 0 {
            let missed = sends.total.saturating_sub(sends.acknowledged);
            out.number(
                "sends not acknowledged",
                100.0 * missed as f64 / sends.total as f64,
            )
            .decimals(1)
            .note(format!(
                "percent: {missed} of {} sends failed or timed out",
                sends.total
            ));
        } else {
            out.none("sends not acknowledged", "no send was made");
        }
        out.count("polls", self.polls).note(format!(
            "{} answered, returning {} messages; {} commits answered",
            self.log.polls_ok, self.log.messages_polled, self.commits_ok
        ));
        for kind in KAFKA_FAILURES.into_iter().chain(KAFKA_ALLOWED) {
            let n = self.log.count(kind);
            let w = out.count(kind.name(), n);
            match self.log.examples_of(kind).next() {
                Some(a) => {
                    w.note(format!("e.g. {}", a.detail));
                }
                None if KAFKA_ALLOWED.contains(&kind) => {
                    w.note("allowed: Maelstrom's kafka checker does not fail a run for it");
                }
                None => {}
            }
        }
        out.count("nodes without final read", self.no_final_read.len() as u64)
            .note(if self.no_final_read.is_empty() {
                super::some(&self.no_final_read)
            } else {
                format!(
                    "{} (reported, not failed: Maelstrom's kafka checker judges unseen messages, not nodes)",
                    super::some(&self.no_final_read)
                )
            });
        out.count("malformed replies", self.malformed.len() as u64)
            .note(super::some(&self.malformed));
    }
}

/// The clients' calls as a log history, in order of invocation.
pub fn log_history(calls: &[Call]) -> LogHistory {
    let mut ops: Vec<LogOp> = Vec::new();
    for c in calls {
        let f = match (&c.op, &c.reply) {
            (MaelOp::Send { key, msg }, reply) => LogFn::Send {
                partition: key.clone(),
                value: *msg,
                offset: match (reply, c.outcome) {
                    (Reply::Offset(o), Outcome::Ok) => Some(*o),
                    _ => None,
                },
            },
            (MaelOp::Poll(_), Reply::Msgs(msgs)) if c.outcome == Outcome::Ok => LogFn::Poll {
                group: None,
                messages: msgs
                    .iter()
                    .flat_map(|(key, pairs)| {
                        pairs.iter().map(|&(offset, value)| Message {
                            partition: key.clone(),
                            offset,
                            value,
                        })
                    })
                    .collect(),
            },
            (MaelOp::Poll(_), _) if c.outcome != Outcome::Ok => LogFn::Poll {
                group: None,
                messages: Vec::new(),
            },
            (MaelOp::ListCommittedOffsets(keys) | MaelOp::SeekToStart(keys), _)
                if c.outcome == Outcome::Ok =>
            {
                LogFn::Assign {
                    partitions: keys.clone(),
                }
            }
            _ => continue,
        };
        ops.push(LogOp {
            process: c.process,
            f,
            outcome: c.outcome,
            call_ns: c.call_ns,
            return_ns: if c.outcome == Outcome::Ok {
                c.return_ns
            } else {
                None
            },
        });
    }
    // A seek is recorded at the instant of the poll that follows it: the
    // stable sort keeps it first.
    ops.sort_by_key(|op| op.call_ns);
    LogHistory { ops }
}

/// Jepsen's `:nonmonotonic-send`: per client and key, its sends in the
/// order it made them, those acknowledged or timed out (not those that
/// failed) whose message is known to sit at some offset (its
/// acknowledgement, else the lowest offset a poll returned it at); each
/// must sit after the one before. Replaces the log checker's
/// `nonmonotonic-send` (acknowledged sends only) and `reorder` in `log`.
fn jepsen_nonmonotonic_sends(history: &LogHistory, log: &mut LogReport) {
    let mut at: BTreeMap<(&str, i64), u64> = BTreeMap::new();
    for op in &history.ops {
        if op.outcome != Outcome::Ok {
            continue;
        }
        match &op.f {
            LogFn::Send {
                partition,
                value,
                offset: Some(o),
            } => {
                let e = at.entry((partition.as_str(), *value)).or_insert(*o);
                *e = (*e).min(*o);
            }
            LogFn::Poll { messages, .. } => {
                for m in messages {
                    let e = at
                        .entry((m.partition.as_str(), m.value))
                        .or_insert(m.offset);
                    *e = (*e).min(m.offset);
                }
            }
            _ => {}
        }
    }
    let mut found: Vec<Anomaly> = Vec::new();
    let mut count = 0u64;
    let mut last: BTreeMap<(u64, &str), (u64, i64, usize)> = BTreeMap::new();
    for (i, op) in history.ops.iter().enumerate() {
        let LogFn::Send {
            partition,
            value,
            offset,
        } = &op.f
        else {
            continue;
        };
        if op.outcome == Outcome::Fail {
            continue;
        }
        let placed = match (op.outcome, offset) {
            (Outcome::Ok, Some(o)) => Some(*o),
            _ => at.get(&(partition.as_str(), *value)).copied(),
        };
        let Some(o) = placed else { continue };
        let key = (op.process, partition.as_str());
        if let Some(&(po, pv, pi)) = last.get(&key) {
            if o <= po {
                count += 1;
                if found.len() < EXAMPLES_PER_KIND {
                    let how = |j: usize| {
                        if history.ops[j].outcome == Outcome::Ok {
                            "acknowledged"
                        } else {
                            "timed out, found"
                        }
                    };
                    found.push(Anomaly {
                        kind: AnomalyKind::NonmonotonicSend,
                        partition: Some(partition.clone()),
                        values: vec![pv, *value],
                        offsets: vec![po, o],
                        ops: vec![pi, i],
                        detail: format!(
                            "c{} sent {pv} then {value} to key {partition}; they sit at offsets {po} ({}) then {o} ({})",
                            op.process,
                            how(pi),
                            how(i)
                        ),
                    });
                }
            }
        }
        last.insert(key, (o, *value, i));
    }
    log.counts.remove(&AnomalyKind::Reorder);
    log.counts.remove(&AnomalyKind::NonmonotonicSend);
    if count > 0 {
        log.counts.insert(AnomalyKind::NonmonotonicSend, count);
    }
    log.examples
        .retain(|a| !matches!(a.kind, AnomalyKind::Reorder | AnomalyKind::NonmonotonicSend));
    log.examples.extend(found);
}

pub fn check_kafka(calls: &[Call], nodes: &[String]) -> KafkaReport {
    let history = log_history(calls);
    let mut log = check_log(&history);
    jepsen_nonmonotonic_sends(&history, &mut log);
    let polls = calls
        .iter()
        .filter(|c| matches!(c.op, MaelOp::Poll(_)))
        .count() as u64;
    let commits_ok = calls
        .iter()
        .filter(|c| matches!(c.op, MaelOp::CommitOffsets(_)) && c.ok())
        .count() as u64;
    let no_final_read = nodes
        .iter()
        .filter(|n| {
            !calls
                .iter()
                .any(|c| c.final_read && c.ok() && &c.node == *n && matches!(c.op, MaelOp::Poll(_)))
        })
        .cloned()
        .collect();
    KafkaReport {
        log,
        polls,
        commits_ok,
        no_final_read,
        malformed: malformed(calls),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::fixtures::*;
    use super::*;

    fn send(p: u64, key: &str, msg: i64, offset: u64, at: u64) -> Call {
        ok(
            p,
            "n1",
            MaelOp::Send {
                key: key.into(),
                msg,
            },
            Reply::Offset(offset),
            at,
        )
    }

    fn poll(p: u64, key: &str, from: u64, got: &[(u64, i64)], at: u64) -> Call {
        let asked = BTreeMap::from([(key.to_string(), from)]);
        let msgs = BTreeMap::from([(key.to_string(), got.to_vec())]);
        ok(p, "n1", MaelOp::Poll(asked), Reply::Msgs(msgs), at)
    }

    fn final_poll(p: u64, node: &str, key: &str, got: &[(u64, i64)], at: u64) -> Vec<Call> {
        let mut seek = ok(
            p,
            node,
            MaelOp::SeekToStart(vec![key.into()]),
            Reply::None,
            at,
        );
        seek.final_read = true;
        let mut c = poll(p, key, 0, got, at);
        c.node = node.to_string();
        c.final_read = true;
        vec![seek, c]
    }

    fn good() -> Vec<Call> {
        let mut calls = vec![
            send(1, "0", 10, 0, 0),
            send(2, "0", 11, 1, 2),
            poll(1, "0", 0, &[(0, 10)], 4),
            send(1, "0", 12, 2, 6),
            poll(1, "0", 1, &[(1, 11), (2, 12)], 8),
        ];
        calls.extend(final_poll(1, "n1", "0", &[(0, 10), (1, 11), (2, 12)], 20));
        calls
    }

    fn failed(calls: &[Call]) -> Vec<&'static str> {
        check_kafka(calls, &nodes(1))
            .failed()
            .iter()
            .map(|k| k.name())
            .collect()
    }

    #[test]
    fn a_log_every_poll_reads_in_order_passes() {
        let r = check_kafka(&good(), &nodes(1));
        assert!(r.failed().is_empty(), "{:?}", r.log);
        assert_eq!(r.log.sends.acknowledged, 3);
        assert!(r.no_final_read.is_empty());
    }

    #[test]
    fn an_acknowledged_message_polls_passed_over_is_lost() {
        let mut calls = good();
        calls.truncate(5);
        calls.push(send(3, "0", 13, 3, 9));
        calls.push(send(3, "0", 14, 4, 10));
        // The final poll reads offsets 0, 1, 2 and 4, never 3.
        calls.extend(final_poll(
            1,
            "n1",
            "0",
            &[(0, 10), (1, 11), (2, 12), (4, 14)],
            20,
        ));
        assert_eq!(failed(&calls), vec!["lost", "internal"]);
    }

    #[test]
    fn an_acknowledged_message_no_poll_reached_is_unseen_and_fails() {
        let mut calls = good();
        calls.push(send(2, "0", 13, 3, 10));
        assert_eq!(failed(&calls), vec!["unseen"]);
    }

    #[test]
    fn two_messages_at_one_offset_and_one_message_at_two_fail() {
        let mut calls = good();
        // Another node gave offset 1 out again.
        calls.push(send(3, "0", 20, 1, 9));
        assert!(
            failed(&calls).contains(&"inconsistent-offset"),
            "{:?}",
            failed(&calls)
        );
        let mut calls = good();
        calls.push(poll(3, "0", 0, &[(0, 10), (1, 11), (2, 12), (3, 11)], 9));
        assert!(
            failed(&calls).contains(&"duplicate"),
            "{:?}",
            failed(&calls)
        );
    }

    #[test]
    fn a_later_send_at_a_lower_offset_is_nonmonotonic() {
        let calls = vec![
            send(1, "0", 10, 1, 0),
            send(1, "0", 11, 0, 2),
            poll(2, "0", 0, &[(0, 11), (1, 10)], 4),
        ];
        let f = failed(&calls);
        assert!(f.contains(&"nonmonotonic-send"), "{f:?}");
    }

    #[test]
    fn polls_that_go_back_skip_or_have_gaps_fail() {
        let mut calls = good();
        // Client 1 polls offset 0 again after reading up to 2.
        calls.insert(5, poll(1, "0", 0, &[(0, 10)], 9));
        assert!(failed(&calls).contains(&"nonmonotonic-poll"));
        let mut calls = good();
        // A single poll that jumps from offset 0 to 2.
        calls.insert(3, poll(2, "0", 0, &[(0, 10), (2, 12)], 7));
        assert!(failed(&calls).contains(&"internal"));
        let mut calls = good();
        calls[4] = poll(1, "0", 2, &[(2, 12)], 8);
        assert!(failed(&calls).contains(&"poll-skip"));
    }

    #[test]
    fn a_reassignment_lets_the_position_move_back() {
        let mut calls = good();
        calls.insert(
            5,
            ok(
                1,
                "n1",
                MaelOp::ListCommittedOffsets(vec!["0".into()]),
                Reply::Offsets(BTreeMap::from([("0".to_string(), 0)])),
                9,
            ),
        );
        calls.insert(6, poll(1, "0", 0, &[(0, 10)], 10));
        let r = check_kafka(&calls, &nodes(1));
        assert!(r.failed().is_empty(), "{:?}", r.failed());
        assert!(r.log.count(AnomalyKind::DuplicateDelivery) > 0);
    }

    #[test]
    fn a_polled_message_whose_send_failed_is_an_aborted_read() {
        let mut calls = good();
        calls.push(ended(
            send(2, "0", 13, 0, 10),
            Outcome::Fail,
            Reply::Error(
                crate::maelstrom::ErrorCode::TemporarilyUnavailable,
                String::new(),
            ),
        ));
        calls.push(poll(2, "0", 3, &[(3, 13)], 12));
        assert!(
            failed(&calls).contains(&"aborted-read"),
            "{:?}",
            failed(&calls)
        );
    }

    #[test]
    fn a_node_no_final_poll_reached_is_reported_not_failed() {
        let r = check_kafka(&good(), &nodes(2));
        assert_eq!(r.no_final_read, vec!["n2".to_string()]);
        let checked = super::super::Checked::Kafka(r);
        assert!(checked.valid(), "{:?}", checked.failures());
    }

    #[test]
    fn a_send_that_timed_out_and_landed_after_the_next_is_nonmonotonic() {
        let mut calls = good();
        let mut late = send(2, "0", 13, 0, 7);
        late.outcome = Outcome::Info;
        late.reply = Reply::None;
        late.return_ns = None;
        calls.insert(3, late);
        calls.push(send(2, "0", 14, 3, 9));
        let last_final = calls.len() - 2;
        if let Reply::Msgs(m) = &mut calls[last_final].reply {
            m.get_mut("0").unwrap().extend([(3, 14), (4, 13)]);
        }
        // As Jepsen's checker (and so Maelstrom) judges it: the timed-out
        // 13 sits at offset 4, after 14 at offset 3.
        let r = check_kafka(&calls, &nodes(1));
        assert_eq!(r.failed(), vec![AnomalyKind::NonmonotonicSend]);
        assert_eq!(r.log.count(AnomalyKind::NonmonotonicSend), 1);
        assert_eq!(r.log.count(AnomalyKind::Reorder), 0);
        let e = r
            .log
            .examples_of(AnomalyKind::NonmonotonicSend)
            .next()
            .unwrap();
        assert_eq!(e.values, vec![13, 14]);
        assert!(e.detail.contains("timed out"), "{}", e.detail);
        // The same late landing with no later send by that client is fine.
        calls.retain(|c| !matches!(c.op, MaelOp::Send { msg: 14, .. }));
        if let Reply::Msgs(m) = &mut calls[last_final].reply {
            let log = m.get_mut("0").unwrap();
            log.retain(|p| p.1 != 14);
            log.last_mut().unwrap().0 = 3;
        }
        let r = check_kafka(&calls, &nodes(1));
        assert!(r.failed().is_empty(), "{:?}", r.failed());
    }
}
