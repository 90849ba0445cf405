//! The group coordinator and sink, driven by hand: the assignment, the
//! generation fence, the idempotent sink, and what they record.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::check::log::LogFn;
use sim::history::Outcome;
use sim::node::{Clock, Cluster, Ctx, Disk, Effect, NodeId};
use sim::time::{ms, Nanos};

use super::{Config, Coordinator, Msg, Params};

const M1: NodeId = NodeId(5);
const M2: NodeId = NodeId(6);

fn config(f: impl FnOnce(&mut Params)) -> Arc<Config> {
    let mut p = Params {
        consumers: 2,
        partitions: 4,
        group: Some("g".into()),
        ..Params::default()
    };
    f(&mut p);
    Arc::new(p.check(7, ms(1000)).expect("valid parameters"))
}

/// Delivers `msg` from `from` at `now`; returns the messages sent.
fn deliver(c: &mut Coordinator, now: Nanos, from: NodeId, msg: Msg) -> Vec<(NodeId, Msg)> {
    let cluster = Cluster::new(7, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut disk = Disk::default();
    let mut effects = Vec::new();
    let mut ctx = Ctx::new(
        NodeId(0),
        now,
        Clock::default(),
        &mut rng,
        &mut disk,
        &cluster,
        &mut effects,
    );
    assert!(c.on_message(&mut ctx, from, &msg), "a group message");
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((to, msg)),
            _ => None,
        })
        .collect()
}

fn assignment_of(sent: &[(NodeId, Msg)], m: NodeId) -> Option<(u64, Vec<(u32, u64)>)> {
    sent.iter().rev().find_map(|(to, msg)| match msg {
        Msg::Assignment {
            generation,
            partitions,
        } if *to == m => Some((*generation, partitions.clone())),
        _ => None,
    })
}

fn commit(req: u64, generation: u64, partition: u32, offset: u64) -> Msg {
    Msg::CommitOffset {
        life: 0,
        req,
        generation,
        partition,
        offset,
        sent_at: 0,
    }
}

#[test]
fn a_join_rebalances_round_robin_and_hands_out_the_committed_offsets() {
    let mut c = Coordinator::new(config(|_| {}));
    let sent = deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    assert_eq!(
        assignment_of(&sent, M1),
        Some((1, vec![(0, 0), (1, 0), (2, 0), (3, 0)]))
    );
    let sent = deliver(&mut c, 1, M1, commit(1, 1, 2, 17));
    assert!(matches!(sent[0].1, Msg::GroupReply { req: 1, ok: true }));
    // M2's join makes the rebalance pending: M1 is told, keeps its
    // partitions and generation until it joins again.
    let sent = deliver(&mut c, 2, M2, Msg::JoinGroup { life: 0 });
    assert_eq!(
        sent,
        vec![(M1, Msg::RebalancePending { generation: 1 })],
        "nothing is assigned before M1 gave its partitions up"
    );
    let sent = deliver(&mut c, 3, M1, Msg::JoinGroup { life: 0 });
    assert_eq!(assignment_of(&sent, M1), Some((2, vec![(0, 0), (2, 17)])));
    assert_eq!(assignment_of(&sent, M2), Some((2, vec![(1, 0), (3, 0)])));
    assert_eq!(c.rebalances, 2);
}

#[test]
fn a_commit_from_an_old_generation_is_fenced_and_recorded_as_failed() {
    let mut c = Coordinator::new(config(|_| {}));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M1, commit(1, 1, 0, 10));
    deliver(&mut c, 2, M2, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 2, M1, Msg::JoinGroup { life: 0 });
    // M1 still thinks it is in generation 1, and partition 1 is now M2's.
    let sent = deliver(&mut c, 3, M1, commit(2, 1, 1, 5));
    assert!(matches!(sent[0].1, Msg::GroupReply { req: 2, ok: false }));
    assert_eq!(c.fenced, 1);
    assert_eq!(c.committed.get(&1), None);
    let last = c.records.last().unwrap();
    assert_eq!(last.outcome, Outcome::Fail);
    assert!(matches!(last.f, LogFn::Commit { offset: 5, .. }));
    // A retry of that request gets the same answer and is not counted again.
    let sent = deliver(&mut c, 4, M1, commit(2, 1, 1, 5));
    assert!(matches!(sent[0].1, Msg::GroupReply { req: 2, ok: false }));
    assert_eq!(c.fenced, 1);
}

#[test]
fn without_fencing_a_zombie_commit_moves_the_offset_back() {
    let mut c = Coordinator::new(config(|p| p.fence_zombies = Some(false)));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M2, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 2, M2, commit(1, 2, 1, 40));
    let sent = deliver(&mut c, 3, M1, commit(1, 1, 1, 20));
    assert!(matches!(sent[0].1, Msg::GroupReply { req: 1, ok: true }));
    assert_eq!(c.committed.get(&1), Some(&20));
    assert_eq!(c.fenced, 0);
}

/// Runs the coordinator's tick at `now`; returns the messages sent.
fn tick(c: &mut Coordinator, now: Nanos) -> Vec<(NodeId, Msg)> {
    let cluster = Cluster::new(7, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut disk = Disk::default();
    let mut effects = Vec::new();
    let mut ctx = Ctx::new(
        NodeId(0),
        now,
        Clock::default(),
        &mut rng,
        &mut disk,
        &cluster,
        &mut effects,
    );
    c.tick(&mut ctx);
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((to, msg)),
            _ => None,
        })
        .collect()
}

fn heartbeat(life: u64, generation: u64) -> Msg {
    Msg::GroupHeartbeat { life, generation }
}

#[test]
fn a_member_silent_past_its_session_is_counted_out() {
    let cfg = config(|_| {});
    let mut c = Coordinator::new(cfg.clone());
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 0, M2, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, cfg.session_timeout, M2, heartbeat(0, 2));
    let sent = tick(&mut c, cfg.session_timeout + 1);
    assert_eq!(sent, vec![(M2, Msg::RebalancePending { generation: 2 })]);
    let sent = deliver(
        &mut c,
        cfg.session_timeout + 2,
        M2,
        Msg::JoinGroup { life: 0 },
    );
    assert_eq!(c.generation, 3);
    assert_eq!(
        assignment_of(&sent, M2),
        Some((3, vec![(0, 0), (1, 0), (2, 0), (3, 0)]))
    );
}

#[test]
fn a_member_finishes_and_commits_its_batch_before_its_partitions_move() {
    let mut c = Coordinator::new(config(|_| {}));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M2, Msg::JoinGroup { life: 0 });
    // While the rebalance is pending, M1's commit under generation 1 for
    // a partition about to be M2's is accepted...
    let sent = deliver(&mut c, 2, M1, commit(1, 1, 1, 30));
    assert!(matches!(sent[0].1, Msg::GroupReply { req: 1, ok: true }));
    // ...a heartbeat is answered that a rebalance is pending...
    let sent = deliver(&mut c, 3, M1, heartbeat(0, 1));
    assert_eq!(sent, vec![(M1, Msg::RebalancePending { generation: 1 })]);
    // ...and the new owner starts where M1 stopped.
    let sent = deliver(&mut c, 4, M1, Msg::JoinGroup { life: 0 });
    assert_eq!(assignment_of(&sent, M2), Some((2, vec![(1, 30), (3, 0)])));
}

#[test]
fn a_member_that_does_not_join_again_in_time_is_counted_out() {
    let cfg = config(|_| {});
    let mut c = Coordinator::new(cfg.clone());
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M2, Msg::JoinGroup { life: 0 });
    // M1 keeps heartbeating but never joins again (its batch is stuck).
    deliver(&mut c, cfg.session_timeout / 2, M1, heartbeat(0, 1));
    deliver(&mut c, cfg.session_timeout / 2, M2, heartbeat(0, 0));
    assert!(tick(&mut c, cfg.session_timeout).is_empty());
    let sent = tick(&mut c, cfg.session_timeout + 1);
    assert_eq!(
        assignment_of(&sent, M2),
        Some((2, vec![(0, 0), (1, 0), (2, 0), (3, 0)]))
    );
    assert_eq!(assignment_of(&sent, M1), None);
}

#[test]
fn a_delayed_heartbeat_of_a_former_life_changes_nothing() {
    let mut c = Coordinator::new(config(|_| {}));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 1 });
    let sent = deliver(&mut c, 1, M1, heartbeat(0, 0));
    assert!(sent.is_empty(), "{sent:?}");
    let sent = deliver(&mut c, 1, M1, Msg::JoinGroup { life: 0 });
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(c.rebalances, 1);
}

fn apply(req: u64, generation: u64, messages: Vec<(u64, i64)>, commit: Option<u64>) -> Msg {
    Msg::Apply {
        life: 0,
        req,
        generation,
        partition: 0,
        messages,
        commit,
        sent_at: 0,
    }
}

#[test]
fn the_idempotent_sink_drops_a_repeat_and_records_only_new_effects() {
    let mut c = Coordinator::new(config(|p| p.dedup = Some(true)));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M1, apply(1, 1, vec![(0, 10), (1, 11)], None));
    deliver(&mut c, 2, M1, apply(2, 1, vec![(1, 11), (2, 12)], None));
    assert_eq!(c.dropped_repeats, 1);
    let effects: Vec<Vec<i64>> = c
        .records
        .iter()
        .filter_map(|r| match &r.f {
            LogFn::Poll { messages, .. } => Some(messages.iter().map(|m| m.value).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(effects, vec![vec![10, 11], vec![12]]);
}

#[test]
fn an_atomic_write_from_an_old_generation_applies_nothing() {
    let mut c = Coordinator::new(config(|_| {}));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M1, apply(1, 1, vec![(0, 10)], Some(1)));
    assert_eq!(c.committed.get(&0), Some(&1));
    deliver(&mut c, 2, M2, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 2, M1, Msg::JoinGroup { life: 0 });
    let sent = deliver(&mut c, 3, M1, apply(2, 1, vec![(1, 11)], Some(2)));
    assert!(matches!(sent[0].1, Msg::GroupReply { req: 2, ok: false }));
    assert_eq!(c.committed.get(&0), Some(&1));
    let polls = c
        .records
        .iter()
        .filter(|r| matches!(r.f, LogFn::Poll { .. }))
        .count();
    assert_eq!(polls, 1, "only the first write took effect");
}

fn polls(c: &Coordinator) -> usize {
    c.records
        .iter()
        .filter(|r| matches!(r.f, LogFn::Poll { .. }))
        .count()
}

#[test]
fn a_late_copy_of_an_older_request_is_dropped_not_done_again() {
    // The member resent req 1, took the first copy's answer, moved on to
    // req 2; the resent copy of req 1 arrives after req 2.
    let mut c = Coordinator::new(config(|_| {}));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M1, apply(1, 1, vec![(0, 10)], Some(1)));
    deliver(&mut c, 2, M1, apply(2, 1, vec![(1, 11)], Some(2)));
    assert_eq!(c.committed.get(&0), Some(&2));
    let sent = deliver(&mut c, 3, M1, apply(1, 1, vec![(0, 10)], Some(1)));
    assert!(sent.is_empty(), "a stale copy gets no answer: {sent:?}");
    assert_eq!(c.committed.get(&0), Some(&2), "the offset does not go back");
    assert_eq!(polls(&c), 2, "the batch took effect once");
    // The same for a plain commit.
    deliver(&mut c, 4, M1, commit(3, 1, 0, 5));
    deliver(&mut c, 5, M1, commit(4, 1, 0, 6));
    deliver(&mut c, 6, M1, commit(3, 1, 0, 5));
    assert_eq!(c.committed.get(&0), Some(&6));
}

#[test]
fn an_atomic_write_applies_only_from_the_committed_offset() {
    let mut c = Coordinator::new(config(|_| {}));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M1, apply(1, 1, vec![(0, 10), (1, 11)], Some(2)));
    // A batch that starts behind the committed offset (it was done
    // already) is refused, whatever its request number.
    let sent = deliver(&mut c, 2, M1, apply(2, 1, vec![(1, 11)], Some(2)));
    assert!(matches!(sent[0].1, Msg::GroupReply { req: 2, ok: false }));
    assert_eq!(polls(&c), 1);
    assert_eq!(c.committed.get(&0), Some(&2));
}
