//! Hand-made histories, one (or more) per anomaly, each beside a history that
//! must not show it.

use super::*;
use crate::metric::{check_declared, Metrics};

const P: &str = "t-0";

/// Builds a history one operation at a time; each takes one nanosecond.
#[derive(Default)]
struct H {
    ops: Vec<LogOp>,
    now: u64,
}

impl H {
    fn op(&mut self, process: ProcessId, f: LogFn, outcome: Outcome) -> &mut H {
        self.now += 10;
        let return_ns = (outcome != Outcome::Info).then_some(self.now + 1);
        self.ops.push(LogOp {
            process,
            f,
            outcome,
            call_ns: self.now,
            return_ns,
        });
        self
    }
    /// An acknowledged send of `value` to `P`, at `offset`.
    fn sent(&mut self, process: ProcessId, value: i64, offset: u64) -> &mut H {
        self.sent_to(process, P, value, Some(offset))
    }
    fn sent_to(&mut self, process: ProcessId, p: &str, value: i64, offset: Option<u64>) -> &mut H {
        let f = LogFn::Send {
            partition: p.to_string(),
            value,
            offset,
        };
        self.op(process, f, Outcome::Ok)
    }
    fn send_ended(&mut self, process: ProcessId, value: i64, outcome: Outcome) -> &mut H {
        let f = LogFn::Send {
            partition: P.to_string(),
            value,
            offset: None,
        };
        self.op(process, f, outcome)
    }
    /// An ok poll with no group of `(offset, value)` on `P`.
    fn polled(&mut self, process: ProcessId, msgs: &[(u64, i64)]) -> &mut H {
        self.polled_in(process, None, msgs)
    }
    fn polled_in(
        &mut self,
        process: ProcessId,
        group: Option<&str>,
        msgs: &[(u64, i64)],
    ) -> &mut H {
        let messages = msgs
            .iter()
            .map(|&(offset, value)| Message {
                partition: P.to_string(),
                offset,
                value,
            })
            .collect();
        let f = LogFn::Poll {
            group: group.map(str::to_string),
            messages,
        };
        self.op(process, f, Outcome::Ok)
    }
    fn committed(&mut self, process: ProcessId, group: &str, offset: u64) -> &mut H {
        let f = LogFn::Commit {
            group: group.to_string(),
            partition: P.to_string(),
            offset,
        };
        self.op(process, f, Outcome::Ok)
    }
    fn assigned(&mut self, process: ProcessId, partitions: &[&str]) -> &mut H {
        let f = LogFn::Assign {
            partitions: partitions.iter().map(|p| p.to_string()).collect(),
        };
        self.op(process, f, Outcome::Ok)
    }
    /// A dead letter by group `g` of `(offset, value)` on `P`, ending `outcome`.
    fn dead_lettered(
        &mut self,
        process: ProcessId,
        g: &str,
        msgs: &[(u64, i64)],
        outcome: Outcome,
    ) -> &mut H {
        let messages = msgs
            .iter()
            .map(|&(offset, value)| Message {
                partition: P.to_string(),
                offset,
                value,
            })
            .collect();
        let f = LogFn::DeadLetter {
            group: g.to_string(),
            messages,
        };
        self.op(process, f, outcome)
    }
    fn check(&self) -> LogReport {
        let h = LogHistory {
            ops: self.ops.clone(),
        };
        validate(&h).expect("a hand-made history is valid");
        check_log(&h)
    }
}

/// The kinds found, for a compact assertion.
fn kinds(r: &LogReport) -> Vec<&'static str> {
    r.counts.keys().map(|k| k.name()).collect()
}

#[test]
fn a_clean_history_has_no_anomaly_and_gives_exactly_once() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .polled(2, &[(0, 10), (1, 11)])
        .sent(1, 12, 2)
        .polled(2, &[(2, 12)])
        .check();
    assert!(r.counts.is_empty(), "{r}");
    assert!(r.is_valid());
    assert_eq!(r.guarantee, Guarantee::ExactlyOnce);
    assert_eq!(r.groups.len(), 1);
    let g = &r.groups[0];
    assert_eq!(g.group, "c2");
    assert_eq!((g.acknowledged, g.delivered, g.missing), (3, 3, 0));
    assert_eq!(g.lag_final, 0);
}

#[test]
fn an_acknowledged_send_below_the_polled_offsets_that_no_poll_returned_is_lost() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .polled(2, &[(1, 11)])
        .check();
    assert_eq!(kinds(&r), ["lost"]);
    let a = r.examples_of(AnomalyKind::Lost).next().unwrap();
    assert_eq!((a.values.clone(), a.offsets.clone()), (vec![10], vec![0]));
    assert!(!r.is_valid());
    assert_eq!(r.guarantee, Guarantee::AtMostOnce);
    assert_eq!(r.groups[0].missing_lost, 1);
}

#[test]
fn a_truncated_log_that_hands_an_offset_out_again_loses_and_is_inconsistent() {
    // The old leader acknowledged 11 at offset 1 and died; the new leader
    // never had it and gave offset 1 to 12, another producer's. (Had c1
    // sent 12 as well, its sends would also be nonmonotonic.)
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(3, 12, 1)
        .polled(2, &[(0, 10), (1, 12)])
        .check();
    assert_eq!(kinds(&r), ["lost", "inconsistent-offset"]);
    let a = r
        .examples_of(AnomalyKind::InconsistentOffset)
        .next()
        .unwrap();
    assert_eq!(a.values, [11, 12]);
    assert_eq!(a.offsets, [1]);
}

#[test]
fn an_acknowledged_send_past_every_poll_is_unseen_not_lost() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .polled(2, &[(0, 10)])
        .check();
    assert_eq!(kinds(&r), ["unseen"]);
    // Unseen alone breaks no promise of the log ...
    assert!(r.is_valid());
    // ... and is no loss: the guarantee is judged on the delivered prefix.
    assert_eq!(r.guarantee, Guarantee::ExactlyOnce);
    assert_eq!((r.groups[0].missing, r.groups[0].missing_lost), (1, 0));
    assert_eq!(r.groups[0].lag_final, 1);
}

#[test]
fn a_value_written_at_two_offsets_is_a_duplicate_and_delivered_twice() {
    // A retry whose first attempt was written although its ack was lost.
    let r = H::default()
        .sent(1, 10, 1)
        .sent(1, 11, 2)
        .polled(2, &[(0, 10), (1, 10), (2, 11)])
        .check();
    assert_eq!(kinds(&r), ["duplicate", "duplicate-delivery"]);
    let a = r.examples_of(AnomalyKind::Duplicate).next().unwrap();
    assert_eq!(
        (a.values.clone(), a.offsets.clone()),
        (vec![10], vec![0, 1])
    );
    assert_eq!(r.guarantee, Guarantee::AtLeastOnce);
    assert_eq!(r.groups[0].extra_deliveries, 1);
}

#[test]
fn a_group_that_reads_a_partition_again_after_a_crash_delivers_twice_but_the_log_is_fine() {
    // c2 polls and crashes before it commits; c3 takes the partition over
    // from the last commit (none: offset 0).
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .polled_in(2, Some("g"), &[(0, 10), (1, 11)])
        .assigned(3, &[P])
        .polled_in(3, Some("g"), &[(0, 10), (1, 11)])
        .committed(3, "g", 2)
        .check();
    assert_eq!(kinds(&r), ["duplicate-delivery"]);
    assert!(r.is_valid());
    assert_eq!(r.count(AnomalyKind::DuplicateDelivery), 2);
    assert_eq!(r.guarantee, Guarantee::AtLeastOnce);
    let g = &r.groups[0];
    assert_eq!(
        (g.group.as_str(), g.duplicated, g.extra_deliveries),
        ("g", 2, 2)
    );
}

#[test]
fn a_group_that_committed_before_processing_and_crashed_skips_and_loses() {
    // c2 committed offset 2 and crashed before its poll completed; c3 starts
    // at the commit.
    let mut h = H::default();
    h.sent(1, 10, 0).sent(1, 11, 1).sent(1, 12, 2);
    h.polled_in(2, Some("g"), &[(0, 10)]);
    h.committed(2, "g", 2);
    h.op(
        2,
        LogFn::Poll {
            group: Some("g".into()),
            messages: Vec::new(),
        },
        Outcome::Info,
    );
    h.polled_in(3, Some("g"), &[(2, 12)]);
    let r = h.check();
    // Nobody polled 11: lost for the log as read, missing for the group.
    assert_eq!(kinds(&r), ["lost"]);
    assert_eq!(r.guarantee, Guarantee::AtMostOnce);
    assert_eq!((r.groups[0].missing, r.groups[0].missing_lost), (1, 1));
}

#[test]
fn a_consumer_whose_next_poll_starts_past_the_next_message_skips() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(1, 12, 2)
        .polled(2, &[(0, 10)])
        .polled(3, &[(1, 11)])
        .polled(2, &[(2, 12)])
        .check();
    assert_eq!(kinds(&r), ["poll-skip"]);
    let a = r.examples_of(AnomalyKind::PollSkip).next().unwrap();
    assert!(
        a.detail.contains("skipped 1 message(s) [11]"),
        "{}",
        a.detail
    );
    // Two consumers, each its own group: c2 never got 11.
    assert_eq!(r.guarantee, Guarantee::AtMostOnce);
}

#[test]
fn a_consumer_whose_next_poll_goes_back_is_nonmonotonic() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .polled(2, &[(0, 10), (1, 11)])
        .polled(2, &[(1, 11)])
        .check();
    assert_eq!(kinds(&r), ["duplicate-delivery", "nonmonotonic-poll"]);
}

#[test]
fn an_assignment_that_drops_a_partition_forgets_where_the_consumer_was() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .polled_in(2, Some("g"), &[(0, 10), (1, 11)])
        .assigned(2, &["t-1"])
        .assigned(2, &[P])
        .polled_in(2, Some("g"), &[(1, 11)])
        .check();
    // No nonmonotonic-poll: the consumer was handed the partition afresh.
    // Reading 11 again is still a second delivery to the group.
    assert_eq!(kinds(&r), ["duplicate-delivery"]);
}

#[test]
fn a_later_send_acknowledged_at_an_earlier_offset_is_nonmonotonic_and_reordered() {
    // c1 sent 10 then 11 with two requests in flight; 10's first attempt was
    // lost and its retry landed after 11.
    let r = H::default()
        .sent(1, 10, 1)
        .sent(1, 11, 0)
        .polled(2, &[(0, 11), (1, 10)])
        .check();
    assert_eq!(kinds(&r), ["nonmonotonic-send", "reorder"]);
    let a = r.examples_of(AnomalyKind::NonmonotonicSend).next().unwrap();
    assert_eq!(a.offsets, [1, 0]);
    assert_eq!(r.guarantee, Guarantee::ExactlyOnce);
}

#[test]
fn sends_in_order_from_two_producers_interleaved_are_not_reordered() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(3, 20, 1)
        .sent(1, 11, 2)
        .sent(3, 21, 3)
        .polled(2, &[(0, 10), (1, 20), (2, 11), (3, 21)])
        .check();
    assert!(r.counts.is_empty(), "{r}");
}

#[test]
fn a_reorder_shows_in_the_log_even_with_no_offsets_acknowledged() {
    // acks = 0: the producer is told nothing but "sent".
    let r = H::default()
        .sent_to(1, P, 10, None)
        .sent_to(1, P, 11, None)
        .polled(2, &[(0, 11), (1, 10)])
        .check();
    assert_eq!(kinds(&r), ["reorder"]);
}

#[test]
fn a_poll_whose_messages_are_not_neighbours_is_internal() {
    let gap = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(1, 12, 2)
        .polled(2, &[(0, 10), (2, 12)])
        .check();
    assert_eq!(kinds(&gap), ["lost", "internal"]);
    let a = gap.examples_of(AnomalyKind::Internal).next().unwrap();
    assert!(a.detail.contains("a gap, skipping [11]"), "{}", a.detail);

    let back = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .polled(2, &[(1, 11), (0, 10)])
        .check();
    assert_eq!(kinds(&back), ["internal"]);
    let a = back.examples_of(AnomalyKind::Internal).next().unwrap();
    assert!(a.detail.contains("a step back"), "{}", a.detail);
}

#[test]
fn offsets_with_gaps_no_one_reported_are_not_a_skip() {
    // Offsets 1 and 3 hold transaction markers no client sees.
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 2)
        .sent(1, 12, 4)
        .polled(2, &[(0, 10), (2, 11)])
        .polled(2, &[(4, 12)])
        .check();
    assert!(r.counts.is_empty(), "{r}");
}

#[test]
fn a_committed_offset_that_goes_back_is_flagged_once() {
    let r = H::default()
        .committed(2, "g", 5)
        .committed(3, "g", 3)
        .committed(2, "g", 4)
        .check();
    assert_eq!(kinds(&r), ["commit-backwards"]);
    assert_eq!(r.count(AnomalyKind::CommitBackwards), 1);
    let a = r.examples_of(AnomalyKind::CommitBackwards).next().unwrap();
    assert_eq!(a.offsets, [5, 3]);
}

#[test]
fn a_polled_value_whose_send_failed_is_an_aborted_read() {
    let r = H::default()
        .send_ended(1, 10, Outcome::Fail)
        .polled(2, &[(0, 10)])
        .check();
    assert_eq!(kinds(&r), ["aborted-read"]);
    // A send nobody knows the fate of may well have been written.
    let r = H::default()
        .send_ended(1, 10, Outcome::Info)
        .polled(2, &[(0, 10)])
        .check();
    assert!(r.counts.is_empty(), "{r}");
    assert_eq!(r.guarantee, Guarantee::Undetermined);
}

#[test]
fn missing_and_duplicated_together_is_no_guarantee() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(1, 12, 2)
        .polled_in(2, Some("g"), &[(1, 11), (2, 12)])
        .assigned(3, &[P])
        .polled_in(3, Some("g"), &[(2, 12)])
        .check();
    assert_eq!(r.guarantee, Guarantee::None);
    assert!(
        r.evidence.starts_with("no guarantee: 1 of 3"),
        "{}",
        r.evidence
    );
}

#[test]
fn the_guarantee_follows_missing_and_duplicated_counts() {
    use Guarantee::*;
    assert_eq!(Guarantee::of(0, 0, 0), Undetermined);
    assert_eq!(Guarantee::of(5, 0, 0), ExactlyOnce);
    assert_eq!(Guarantee::of(5, 0, 2), AtLeastOnce);
    assert_eq!(Guarantee::of(5, 1, 0), AtMostOnce);
    assert_eq!(Guarantee::of(5, 1, 2), None);
}

#[test]
fn lag_rises_with_acknowledged_sends_and_falls_with_commits() {
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(1, 12, 2)
        .polled_in(2, Some("g"), &[(0, 10), (1, 11), (2, 12)])
        .committed(2, "g", 3)
        .check();
    let g = &r.groups[0];
    let lags: Vec<u64> = g.lag.iter().map(|p| p.lag).collect();
    // The group commits, so a poll alone does not move it.
    assert_eq!(lags, [1, 2, 3, 0]);
    assert_eq!((g.lag_max, g.lag_final), (3, 0));
    assert_eq!(g.lag_max_at_ns, r.groups[0].lag[2].at_ns);
}

#[test]
fn a_group_answers_for_the_partitions_it_was_assigned() {
    let r = H::default()
        .assigned(2, &[P])
        .sent(1, 10, 0)
        .sent_to(1, "t-1", 20, Some(0))
        .polled(2, &[(0, 10)])
        .check();
    assert_eq!(r.groups[0].partitions, [P]);
    assert_eq!(r.groups[0].acknowledged, 1);
    assert_eq!(r.guarantee, Guarantee::ExactlyOnce);
    // The other partition's message is unseen all the same.
    assert_eq!(kinds(&r), ["unseen"]);
}

#[test]
fn with_no_assignment_a_partition_no_one_read_still_counts() {
    // c2 never says what it reads and never reads t-1: half the acknowledged
    // messages never arrive, which must not pass for exactly-once.
    let r = H::default()
        .sent(1, 10, 0)
        .sent_to(1, "t-1", 20, Some(0))
        .sent(1, 11, 1)
        .sent_to(1, "t-1", 21, Some(1))
        .polled(2, &[(0, 10), (1, 11)])
        .check();
    let g = &r.groups[0];
    assert_eq!(g.partitions, [P, "t-1"]);
    assert_eq!((g.acknowledged, g.delivered), (4, 2));
    assert_eq!((g.missing, g.missing_lost, g.missing_unseen), (2, 0, 2));
    assert!(
        r.evidence
            .contains("judged on the delivered prefix only: 2 acknowledged deliveries"),
        "{}",
        r.evidence
    );
    // The unread partition keeps the group behind.
    assert_eq!(g.lag_final, 2);
}

#[test]
fn messages_past_the_consumers_reach_are_unseen_and_do_not_make_at_most_once() {
    // A fault-free run cut off while the consumer was behind: 12 was
    // acknowledged after the last poll.
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .polled(2, &[(0, 10), (1, 11)])
        .sent(1, 12, 2)
        .check();
    assert_eq!(kinds(&r), ["unseen"]);
    assert_eq!(r.guarantee, Guarantee::ExactlyOnce);
    assert_eq!(
        (r.groups[0].missing_lost, r.groups[0].missing_unseen),
        (0, 1)
    );
    assert!(
        r.evidence.contains("judged on the delivered prefix only"),
        "{}",
        r.evidence
    );
    // Nothing delivered at all: nothing to judge.
    let r = H::default().sent(1, 10, 0).polled(2, &[]).check();
    assert_eq!(r.guarantee, Guarantee::Undetermined, "{}", r.evidence);
}

#[test]
fn counts_are_exact_and_examples_bounded() {
    let mut h = H::default();
    for v in 0..20 {
        h.sent(1, v, v as u64);
    }
    h.polled(2, &[(20, 99)]);
    let r = h.check();
    assert_eq!(r.count(AnomalyKind::Lost), 20);
    assert_eq!(r.examples_of(AnomalyKind::Lost).count(), EXAMPLES_PER_KIND);
}

#[test]
fn invalid_histories_are_refused_with_the_reason() {
    let mut h = H::default();
    h.send_ended(1, 10, Outcome::Fail);
    h.ops[0].f = LogFn::Send {
        partition: P.into(),
        value: 10,
        offset: Some(3),
    };
    let e = validate(&LogHistory { ops: h.ops.clone() }).unwrap_err();
    assert_eq!(
        e.to_string(),
        "operation 0 is a Fail send with an offset; only an ok send was given one"
    );
    h.ops[0].outcome = Outcome::Ok;
    h.ops[0].return_ns = None;
    let e = validate(&LogHistory { ops: h.ops }).unwrap_err();
    assert!(matches!(e, InvalidLogHistory::OkWithoutReturn { index: 0 }));
}

#[test]
fn an_operation_reads_and_writes_as_one_flat_json_object() {
    let op = LogOp {
        process: 1,
        f: LogFn::Send {
            partition: P.into(),
            value: 10,
            offset: Some(0),
        },
        outcome: Outcome::Ok,
        call_ns: 5,
        return_ns: Some(9),
    };
    let json = serde_json::to_string(&op).unwrap();
    assert_eq!(
        json,
        r#"{"process":1,"f":"send","partition":"t-0","value":10,"offset":0,"outcome":"ok","call_ns":5,"return_ns":9}"#
    );
    assert_eq!(serde_json::from_str::<LogOp>(&json).unwrap(), op);
}

#[test]
fn the_figures_are_declared_and_every_count_is_reported_even_at_zero() {
    let r = H::default().sent(1, 10, 0).polled(2, &[(0, 10)]).check();
    let mut out = Metrics::new();
    r.metrics(&mut out);
    check_declared(&out, render::FIGURES).unwrap();
    let lost = out.iter().find(|m| m.name == "lost").unwrap();
    assert_eq!(lost.value.as_count(), Some(0));
    let g = out.iter().find(|m| m.name == "delivery guarantee").unwrap();
    assert_eq!(
        g.value,
        crate::metric::Value::Text("exactly-once effect".into())
    );
}

#[test]
fn a_dead_lettered_message_is_handled_not_lost_and_the_next_poll_is_no_skip() {
    // Offset 1 is a poison message: the group gives it up to its dead
    // letter queue and goes on from offset 2.
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(1, 12, 2)
        .polled_in(2, Some("g"), &[(0, 10)])
        .dead_lettered(2, "g", &[(1, 11)], Outcome::Ok)
        .polled_in(2, Some("g"), &[(2, 12)])
        .committed(2, "g", 3)
        .check();
    assert!(r.counts.is_empty(), "{r}");
    assert_eq!(r.dead_lettered, Some(1));
    let g = &r.groups[0];
    assert_eq!(
        (g.acknowledged, g.delivered, g.dead_lettered, g.missing),
        (3, 2, 1, 0)
    );
    assert_eq!(r.guarantee, Guarantee::ExactlyOnce);
    assert!(
        r.evidence
            .contains("1 acknowledged message(s) were dead-lettered"),
        "{}",
        r.evidence
    );
    let mut out = Metrics::new();
    r.metrics(&mut out);
    check_declared(&out, render::FIGURES).unwrap();
    let dead = out.iter().find(|m| m.name == "dead-lettered").unwrap();
    assert_eq!(dead.value.as_count(), Some(1));
}

#[test]
fn a_message_dead_lettered_twice_counts_once_and_the_evidence_counts_only_deliveries() {
    // A stalled member (2) and its replacement (3) both give offset 1 up
    // (the dead letter queue is at-least-once); offset 2 is processed
    // twice. The figure counts one dead-lettered value, as the evidence
    // does, and the at-least-once sentence counts the 2 deliveries only.
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(1, 12, 2)
        .polled_in(2, Some("g"), &[(0, 10)])
        .dead_lettered(2, "g", &[(1, 11)], Outcome::Ok)
        .polled_in(2, Some("g"), &[(2, 12)])
        .dead_lettered(3, "g", &[(1, 11)], Outcome::Ok)
        .polled_in(3, Some("g"), &[(2, 12)])
        .check();
    assert_eq!(r.dead_lettered, Some(1), "{r}");
    assert_eq!(r.guarantee, Guarantee::AtLeastOnce, "{r}");
    assert!(
        r.evidence.contains("none of the 2 acknowledged deliveries")
            && r.evidence
                .contains("1 acknowledged message(s) were dead-lettered"),
        "{}",
        r.evidence
    );
    let mut out = Metrics::new();
    r.metrics(&mut out);
    let dead = out.iter().find(|m| m.name == "dead-lettered").unwrap();
    assert_eq!(dead.value.as_count(), Some(1));
}

#[test]
fn the_same_history_without_the_dead_letter_skips_and_loses() {
    // What the dead letter stands for: without it, the message the group
    // went past is lost and its next poll skipped it.
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(1, 12, 2)
        .polled_in(2, Some("g"), &[(0, 10)])
        .polled_in(2, Some("g"), &[(2, 12)])
        .check();
    assert_eq!(kinds(&r), ["lost", "poll-skip"]);
    assert_eq!(r.dead_lettered, None);
    let mut out = Metrics::new();
    r.metrics(&mut out);
    assert!(out.iter().all(|m| m.name != "dead-lettered"));
}

#[test]
fn a_poison_message_never_processed_nor_dead_lettered_blocks_its_partition_and_is_unseen() {
    // The group retries offset 1 for ever: nothing at or after it is
    // polled, so it and what follows are unseen, not lost. An unfinished
    // dead letter (the write's answer never came) hands nothing over.
    let r = H::default()
        .sent(1, 10, 0)
        .sent(1, 11, 1)
        .sent(1, 12, 2)
        .polled_in(2, Some("g"), &[(0, 10)])
        .dead_lettered(2, "g", &[], Outcome::Info)
        .check();
    assert_eq!(kinds(&r), ["unseen"]);
    assert_eq!(r.count(AnomalyKind::Unseen), 2);
    assert_eq!(r.dead_lettered, Some(0));
    assert_eq!(r.groups[0].missing_unseen, 2);
}

#[test]
fn a_dead_letter_with_messages_must_have_completed() {
    let mut h = H::default();
    h.dead_lettered(2, "g", &[(0, 10)], Outcome::Info);
    let e = validate(&LogHistory { ops: h.ops }).unwrap_err();
    assert!(
        matches!(e, InvalidLogHistory::MessagesWithoutOk { index: 0, .. }),
        "{e}"
    );
}

#[test]
fn a_dead_letter_reads_and_writes_as_json() {
    let op = LogOp {
        process: 2,
        f: LogFn::DeadLetter {
            group: "g".into(),
            messages: vec![Message {
                partition: P.into(),
                offset: 1,
                value: 11,
            }],
        },
        outcome: Outcome::Ok,
        call_ns: 5,
        return_ns: Some(9),
    };
    let json = serde_json::to_string(&op).unwrap();
    assert_eq!(
        json,
        r#"{"process":2,"f":"dead_letter","group":"g","messages":[{"partition":"t-0","offset":1,"value":11}],"outcome":"ok","call_ns":5,"return_ns":9}"#
    );
    assert_eq!(serde_json::from_str::<LogOp>(&json).unwrap(), op);
}
