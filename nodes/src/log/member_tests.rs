//! A group member driven by hand through a poison message: the messages
//! before it are processed, it is tried `max_attempts` times, then written
//! to the dead letter partition and committed past; without a dead letter
//! queue it is tried for ever and nothing after it is committed.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::check::log::LogFn;
use sim::node::{Clock, Cluster, Ctx, Disk, Effect, NodeId};
use sim::time::{ms, Nanos};

use super::member::{POLL, PROCESS};
use super::{Config, Entry, Member, Msg, Params, Record, Refusal, CONTROLLER};

const ME: NodeId = NodeId(5);
const LEADER: NodeId = NodeId(1);
const DLQ_LEADER: NodeId = NodeId(3);

fn config(dlq: bool) -> Arc<Config> {
    let p = Params {
        consumers: 2,
        partitions: 2,
        group: Some("g".into()),
        processing_time: Some(ms(5)),
        poison_every: Some(3),
        dlq: Some(dlq),
        max_attempts: dlq.then_some(2),
        min_insync_replicas: 2,
        ..Params::default()
    };
    Arc::new(p.check(7, ms(1000)).expect("valid parameters"))
}

/// Runs `f` on the member at `now`; returns the messages it sent.
fn step(
    m: &mut Member,
    now: Nanos,
    f: impl FnOnce(&mut Member, &mut Ctx<Msg>),
) -> Vec<(NodeId, Msg)> {
    let cluster = Cluster::new(7, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut disk = Disk::default();
    let mut effects = Vec::new();
    let mut ctx = Ctx::new(
        ME,
        now,
        Clock::default(),
        &mut rng,
        &mut disk,
        &cluster,
        &mut effects,
    );
    f(m, &mut ctx);
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((to, msg)),
            _ => None,
        })
        .collect()
}

/// The request number of the last message of the kind `pick` finds.
fn last<T>(sent: &[(NodeId, Msg)], pick: impl Fn(&NodeId, &Msg) -> Option<T>) -> Option<T> {
    sent.iter().rev().find_map(|(to, msg)| pick(to, msg))
}

fn entry(value: i64) -> Entry {
    Entry {
        value,
        epoch: 1,
        producer: 0,
        seq: None,
    }
}

/// A member owning partition 0, which holds the producer's messages 0 to 3
/// (message 2, its third, is poison): returns the member once the two
/// before the poison one are processed and committed.
fn member_before_the_poison(dlq: bool) -> Member {
    let c = config(dlq);
    let mut m = Member::new(c.clone());
    let base = 1_000_000_000;
    assert!(c.is_poison(base + 2) && !c.is_poison(base + 1));
    step(&mut m, 0, |m, ctx| {
        for (p, leader) in [(0, LEADER), (1, LEADER), (2, DLQ_LEADER)] {
            let msg = Msg::LeaderAndIsr {
                partition: p,
                leader: Some(leader),
                epoch: 1,
                isr: vec![leader],
            };
            m.on_message(ctx, CONTROLLER, msg);
        }
        m.on_message(
            ctx,
            CONTROLLER,
            Msg::Assignment {
                generation: 1,
                partitions: vec![(0, 0)],
            },
        );
    });
    let entries = (0..4).map(|i| entry(base + i)).collect();
    let reply = Msg::FetchReply {
        partition: 0,
        offset: 0,
        entries,
        hw: 4,
        diverged: None,
    };
    step(&mut m, ms(1), |m, ctx| m.on_message(ctx, LEADER, reply));
    // The batch stops before the poison message: offsets 0 and 1.
    let sent = step(&mut m, ms(11), |m, ctx| m.on_timer(ctx, PROCESS));
    let (req, messages) = last(&sent, |_, msg| match msg {
        Msg::Apply { req, messages, .. } => Some((*req, messages.clone())),
        _ => None,
    })
    .expect("the batch's effect is written");
    assert_eq!(messages, vec![(0, base), (1, base + 1)]);
    let sent = step(&mut m, ms(12), |m, ctx| {
        m.on_message(ctx, CONTROLLER, Msg::GroupReply { req, ok: true })
    });
    let (req, offset) = last(&sent, |_, msg| match msg {
        Msg::CommitOffset { req, offset, .. } => Some((*req, *offset)),
        _ => None,
    })
    .expect("and committed");
    assert_eq!(offset, 2);
    step(&mut m, ms(13), |m, ctx| {
        m.on_message(ctx, CONTROLLER, Msg::GroupReply { req, ok: true })
    });
    m
}

#[test]
fn a_poison_message_is_tried_max_attempts_times_then_dead_lettered_and_committed_past() {
    let mut m = member_before_the_poison(true);
    let first = step(&mut m, ms(20), |m, ctx| m.on_timer(ctx, PROCESS));
    assert!(
        first
            .iter()
            .all(|(_, msg)| !matches!(msg, Msg::Produce { .. })),
        "one failure is retried"
    );
    let sent = step(&mut m, ms(30), |m, ctx| m.on_timer(ctx, PROCESS));
    assert_eq!(m.poison_attempts, 2);
    let (to, req, partition, value) = last(&sent, |to, msg| match msg {
        Msg::Produce {
            req,
            partition,
            entry,
        } => Some((*to, *req, *partition, entry.value)),
        _ => None,
    })
    .expect("after max_attempts the message goes to the dead letter partition");
    assert_eq!((to, partition, value), (DLQ_LEADER, 2, 1_000_000_002));
    // Nothing moves on until the brokers hold it.
    let sent = step(&mut m, ms(31), |m, ctx| {
        m.on_message(ctx, DLQ_LEADER, Msg::ProduceReply { req, result: Ok(0) })
    });
    let offset = last(&sent, |_, msg| match msg {
        Msg::CommitOffset { offset, .. } => Some(*offset),
        _ => None,
    });
    assert_eq!(
        offset,
        Some(3),
        "the member commits past the poison message"
    );
    assert_eq!(m.dead_lettered, 1);
    let dead: Vec<&LogFn> = m
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Done {
                f: f @ LogFn::DeadLetter { .. },
                ..
            } => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(dead.len(), 1);
    let LogFn::DeadLetter { messages, .. } = dead[0] else {
        unreachable!()
    };
    assert_eq!((messages[0].offset, messages[0].value), (2, 1_000_000_002));
}

/// The dead letter the member sends, if any: (to, request, partition, value).
fn produced(sent: &[(NodeId, Msg)]) -> Option<(NodeId, u64, u32, i64)> {
    last(sent, |to, msg| match msg {
        Msg::Produce {
            req,
            partition,
            entry,
        } => Some((*to, *req, *partition, entry.value)),
        _ => None,
    })
}

fn committed_offset(sent: &[(NodeId, Msg)]) -> Option<u64> {
    last(sent, |_, msg| match msg {
        Msg::CommitOffset { offset, .. } => Some(*offset),
        _ => None,
    })
}

#[test]
fn a_refused_dead_letter_is_not_committed_past_and_goes_to_the_new_leader_when_overdue() {
    let mut m = member_before_the_poison(true);
    step(&mut m, ms(20), |m, ctx| m.on_timer(ctx, PROCESS));
    let sent = step(&mut m, ms(30), |m, ctx| m.on_timer(ctx, PROCESS));
    let (to, req, _, _) = produced(&sent).expect("dead-lettered after 2 attempts");
    assert_eq!(to, DLQ_LEADER);
    // Too few replicas in sync: the dead letter is not held, so nothing
    // is recorded and nothing committed.
    let sent = step(&mut m, ms(31), |m, ctx| {
        let result = Err(Refusal::NotEnoughReplicas);
        m.on_message(ctx, DLQ_LEADER, Msg::ProduceReply { req, result })
    });
    assert_eq!(committed_offset(&sent), None);
    assert_eq!(m.dead_lettered, 0);
    // The dead letter partition's leader changes; before the request is
    // overdue the member waits, after it sends again, to the new leader.
    let new_leader = NodeId(2);
    let sent = step(&mut m, ms(40), |m, ctx| {
        let msg = Msg::LeaderAndIsr {
            partition: 2,
            leader: Some(new_leader),
            epoch: 2,
            isr: vec![new_leader],
        };
        m.on_message(ctx, CONTROLLER, msg);
        m.on_timer(ctx, POLL)
    });
    assert_eq!(produced(&sent), None, "not overdue yet");
    let sent = step(&mut m, ms(131), |m, ctx| m.on_timer(ctx, POLL));
    assert_eq!(
        produced(&sent),
        Some((new_leader, req, 2, 1_000_000_002)),
        "the same request, to the new leader"
    );
    assert_eq!(committed_offset(&sent), None);
    // A late answer from the old leader to an older request changes
    // nothing; the new leader's acknowledgement commits past the message.
    let sent = step(&mut m, ms(132), |m, ctx| {
        let stale = Msg::ProduceReply {
            req: req - 1,
            result: Ok(0),
        };
        m.on_message(ctx, DLQ_LEADER, stale);
        m.on_message(ctx, new_leader, Msg::ProduceReply { req, result: Ok(0) })
    });
    assert_eq!(committed_offset(&sent), Some(3));
    assert_eq!(m.dead_lettered, 1);
}

#[test]
fn without_a_dead_letter_queue_a_poison_message_is_retried_for_ever() {
    let mut m = member_before_the_poison(false);
    for i in 0..50 {
        let sent = step(&mut m, ms(20 + 5 * i), |m, ctx| m.on_timer(ctx, PROCESS));
        assert!(
            sent.iter().all(|(_, msg)| !matches!(
                msg,
                Msg::Produce { .. } | Msg::CommitOffset { .. } | Msg::Apply { .. }
            )),
            "attempt {i}: nothing is written or committed"
        );
    }
    assert_eq!(m.poison_attempts, 50);
    assert_eq!(m.dead_lettered, 0);
}

#[test]
fn the_dead_letter_fields_are_checked_with_their_names() {
    let base = Params {
        consumers: 2,
        partitions: 2,
        group: Some("g".into()),
        ..Params::default()
    };
    let p = Params {
        max_attempts: Some(3),
        ..base.clone()
    };
    let (field, msg) = p.check(7, 1).unwrap_err();
    assert_eq!(field, "max_attempts");
    assert!(msg.contains("add dlq = true"), "{msg}");
    let p = Params {
        dlq: Some(true),
        max_attempts: Some(0),
        ..base.clone()
    };
    assert_eq!(p.check(7, 1).unwrap_err().0, "max_attempts");
    // A dead letter on one broker only is lost with it: refused.
    for (replication_factor, min_insync_replicas) in [(3, 1), (1, 1)] {
        let p = Params {
            dlq: Some(true),
            replication_factor,
            min_insync_replicas,
            ..base.clone()
        };
        let (field, msg) = p.check(7, 1).unwrap_err();
        assert_eq!(field, "dlq");
        assert!(
            msg.contains("min_insync_replicas >= 2") && msg.contains("survive a broker crash"),
            "{msg}"
        );
    }
    let p = Params {
        poison_every: Some(10),
        group: None,
        ..base.clone()
    };
    let (field, msg) = p.check(7, 1).unwrap_err();
    assert_eq!(field, "poison_every");
    assert!(msg.contains("no group is set"), "{msg}");
    let c = Params {
        dlq: Some(true),
        min_insync_replicas: 2,
        ..base
    }
    .check(7, 1)
    .unwrap();
    assert_eq!(
        (c.log_partitions(), c.dlq_partition(), c.max_attempts),
        (3, Some(2), 3)
    );
}
