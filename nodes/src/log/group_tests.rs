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
    let sent = deliver(&mut c, 2, M2, Msg::JoinGroup { life: 0 });
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
    let mut c = Coordinator::new(config(|p| p.fence_zombies = false));
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 1, M2, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 2, M2, commit(1, 2, 1, 40));
    let sent = deliver(&mut c, 3, M1, commit(1, 1, 1, 20));
    assert!(matches!(sent[0].1, Msg::GroupReply { req: 1, ok: true }));
    assert_eq!(c.committed.get(&1), Some(&20));
    assert_eq!(c.fenced, 0);
}

#[test]
fn a_member_silent_past_its_session_is_counted_out() {
    let cfg = config(|_| {});
    let mut c = Coordinator::new(cfg.clone());
    deliver(&mut c, 0, M1, Msg::JoinGroup { life: 0 });
    deliver(&mut c, 0, M2, Msg::JoinGroup { life: 0 });
    deliver(
        &mut c,
        cfg.session_timeout,
        M2,
        Msg::GroupHeartbeat {
            life: 0,
            generation: 2,
        },
    );
    let cluster = Cluster::new(7, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut disk = Disk::default();
    let mut effects = Vec::new();
    let mut ctx = Ctx::new(
        NodeId(0),
        cfg.session_timeout + 1,
        Clock::default(),
        &mut rng,
        &mut disk,
        &cluster,
        &mut effects,
    );
    c.tick(&mut ctx);
    assert_eq!(c.generation, 3);
    let all: Vec<u32> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                to,
                msg: Msg::Assignment { partitions, .. },
            } if *to == M2 => Some(partitions.iter().map(|p| p.0).collect::<Vec<_>>()),
            _ => None,
        })
        .next()
        .expect("M2 is told its new partitions");
    assert_eq!(all, vec![0, 1, 2, 3]);
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
    let mut c = Coordinator::new(config(|p| p.dedup = true));
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
