//! The host and the harness, driven by hand through `Ctx`: the effects a
//! node's handlers turn into.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::node::{Clock, Cluster, Ctx, Disk, Effect, NodeId};
use sim::time::ms;

use super::reference::Broadcast;
use super::*;

/// Runs `f` on a context for node `me` of a 3-server, 1-client cluster and
/// returns the effects.
fn with_ctx(me: u32, f: impl FnOnce(&mut Ctx<Envelope>)) -> Vec<Effect<Envelope>> {
    let cluster = Cluster::new(3, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut disk = Disk::default();
    let mut effects = Vec::new();
    let mut ctx = Ctx::new(
        NodeId(me),
        0,
        Clock::default(),
        &mut rng,
        &mut disk,
        &cluster,
        &mut effects,
    );
    f(&mut ctx);
    effects
}

fn sends(effects: &[Effect<Envelope>]) -> Vec<(NodeId, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((*to, msg.to_line())),
            _ => None,
        })
        .collect()
}

fn harness(topology: bool) -> Arc<Harness> {
    let node_ids: Vec<String> = (1..=3).map(|i| format!("n{i}")).collect();
    let topology = topology.then(|| {
        node_ids
            .iter()
            .map(|n| (n.clone(), vec!["n2".to_string()]))
            .collect()
    });
    Arc::new(Harness { node_ids, topology })
}

#[test]
fn the_harness_sends_init_then_topology_and_nothing_of_it_travels() {
    let mut s = Server::new(Box::new(Broadcast::new(ms(100), false)), harness(true));
    let effects = with_ctx(0, |ctx| s.on_start(ctx));
    assert!(s.init_ok, "the node answered init");
    assert!(
        s.topology_ok,
        "and then the topology the harness sent after init_ok"
    );
    assert!(
        sends(&effects).is_empty(),
        "init_ok and topology_ok go to the harness, not the network"
    );
}

#[test]
fn without_a_topology_init_is_all() {
    let mut s = Server::new(Box::new(Broadcast::new(ms(100), false)), harness(false));
    with_ctx(0, |ctx| s.on_start(ctx));
    assert!(s.init_ok);
    assert!(!s.topology_ok);
}

#[test]
fn a_node_s_envelopes_are_routed_by_name_and_counted() {
    let mut s = Server::new(Box::new(Broadcast::new(ms(100), true)), harness(true));
    with_ctx(0, |ctx| s.on_start(ctx));
    let req = Envelope::new(
        "c1",
        "n1",
        Body::new("broadcast").with_msg_id(5).with("message", 42),
    );
    let effects = with_ctx(0, |ctx| s.on_message(ctx, NodeId(3), req));
    assert_eq!(
        sends(&effects),
        vec![
            (
                NodeId(1),
                r#"{"src":"n1","dest":"n2","body":{"type":"gossip","messages":[42]}}"#.to_string()
            ),
            (
                NodeId(3),
                r#"{"src":"n1","dest":"c1","body":{"type":"broadcast_ok","in_reply_to":5}}"#
                    .to_string()
            ),
        ],
        "the topology made n2 n1's only neighbour; the reply goes to the client"
    );
    assert_eq!(
        s.server_msgs, 1,
        "only the gossip counts as a server message"
    );
}

#[test]
fn an_envelope_to_a_name_nobody_has_is_counted_not_sent() {
    #[derive(Clone, Debug)]
    struct Lost;
    impl MaelNode for Lost {
        fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
            if Init::answer(out, &msg).is_none() {
                out.send("n0", Body::new("hello"));
            }
        }
        fn clone_node(&self) -> Box<dyn MaelNode> {
            Box::new(self.clone())
        }
    }
    let mut s = Server::new(Box::new(Lost), harness(false));
    with_ctx(0, |ctx| s.on_start(ctx));
    let effects = with_ctx(0, |ctx| {
        s.on_message(ctx, NodeId(3), Envelope::new("c1", "n1", Body::new("x")))
    });
    assert!(sends(&effects).is_empty());
    assert_eq!(s.unroutable, 1);
}

#[test]
fn a_client_reads_replies_by_in_reply_to_and_types() {
    let msg = |body: Body| Envelope::new("n1", "c1", body.replying_to(Some(1)));
    let read = |b: Body, kind| client_read(kind, &MaelOp::Read, &msg(b));
    assert_eq!(
        read(
            Body::new("read_ok").with("messages", vec![3, 1]),
            WorkloadKind::Broadcast
        ),
        (sim::history::Outcome::Ok, Reply::Elements(vec![3, 1]))
    );
    assert_eq!(
        read(
            Body::new("read_ok").with("value", 9),
            WorkloadKind::GCounter
        ),
        (sim::history::Outcome::Ok, Reply::Count(9))
    );
    let (outcome, reply) = read(Body::new("read_ok"), WorkloadKind::Broadcast);
    assert_eq!(outcome, sim::history::Outcome::Info);
    assert!(
        matches!(reply, Reply::Malformed(ref w) if w.contains("messages")),
        "{reply:?}"
    );
    assert_eq!(
        read(
            Body::error(ErrorCode::TemporarilyUnavailable, "later"),
            WorkloadKind::GSet
        ),
        (
            sim::history::Outcome::Fail,
            Reply::Error(ErrorCode::TemporarilyUnavailable, "later".into())
        ),
        "a definite error: the operation did not happen"
    );
    let (outcome, _) = read(Body::error(ErrorCode::Crash, "boom"), WorkloadKind::GSet);
    assert_eq!(outcome, sim::history::Outcome::Info, "crash is indefinite");
}

fn client_read(kind: WorkloadKind, op: &MaelOp, msg: &Envelope) -> (sim::history::Outcome, Reply) {
    client::read_reply(kind, op, msg)
}

#[test]
fn a_node_may_answer_init_from_a_timer() {
    // A node that defers its init_ok to a timer: the harness must hear it
    // there as from a handler, and go on to the topology.
    #[derive(Clone, Debug, Default)]
    struct Slow(Option<Envelope>);
    impl MaelNode for Slow {
        fn on_message(&mut self, out: &mut Out<'_>, msg: Envelope) {
            if msg.body.kind == "init" {
                self.0 = Some(msg);
                out.set_timer(1, ms(10));
            } else if msg.body.kind == "topology" {
                out.reply(&msg, Body::new("topology_ok"));
            }
        }
        fn on_timer(&mut self, out: &mut Out<'_>, _timer: u64) {
            if let Some(init) = self.0.take() {
                Init::answer(out, &init);
            }
        }
        fn clone_node(&self) -> Box<dyn MaelNode> {
            Box::new(self.clone())
        }
    }
    let mut s = Server::new(Box::new(Slow::default()), harness(true));
    with_ctx(0, |ctx| s.on_start(ctx));
    assert!(!s.init_ok, "not yet: the node waits for its timer");
    let effects = with_ctx(0, |ctx| s.on_timer(ctx, sim::node::TimerId(1)));
    assert!(s.init_ok && s.topology_ok);
    assert!(sends(&effects).is_empty(), "nothing of it travels");
}

#[test]
fn a_late_gossip_ok_still_strikes_what_it_acknowledges() {
    // On links slower than the gossip period the acknowledgement of a
    // batch arrives after the next round: it must still count, or the
    // node resends its whole history forever.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut ids = 0u64;
    let mut b = Broadcast::new(ms(100), false);
    let mut at = |mono: u64, b: &mut Broadcast, f: &mut dyn FnMut(&mut Broadcast, &mut Out<'_>)| {
        let mut out = Out::new("n1", ms(mono), &mut rng, &mut ids);
        f(b, &mut out);
        out.sent().to_vec()
    };
    let init = Body::new("init")
        .with_msg_id(1)
        .with("node_id", "n1")
        .with("node_ids", vec!["n1", "n2"]);
    at(0, &mut b, &mut |b, out| {
        b.on_message(out, Envelope::new("c0", "n1", init.clone()))
    });
    let req = Body::new("broadcast").with_msg_id(1).with("message", 7);
    at(1, &mut b, &mut |b, out| {
        b.on_message(out, Envelope::new("c1", "n1", req.clone()))
    });
    let first = at(100, &mut b, &mut |b, out| b.on_timer(out, 1));
    assert_eq!(first.len(), 1, "{first:?}");
    let first_id = first[0].body.msg_id.unwrap();
    let second = at(200, &mut b, &mut |b, out| b.on_timer(out, 1));
    assert_eq!(second.len(), 1, "not yet acknowledged: sent again");
    // The first round's acknowledgement, late.
    let ack = Body::new("gossip_ok").replying_to(Some(first_id));
    at(250, &mut b, &mut |b, out| {
        b.on_message(out, Envelope::new("n2", "n1", ack.clone()))
    });
    let third = at(300, &mut b, &mut |b, out| b.on_timer(out, 1));
    assert!(
        third.is_empty(),
        "acknowledged, nothing left to send: {third:?}"
    );
}

#[test]
fn kafka_and_txn_replies_are_read_and_checked_against_their_request() {
    use sim::history::Outcome;
    use std::collections::BTreeMap;
    let msg = |body: Body| Envelope::new("n1", "c1", body.replying_to(Some(1)));
    let asked = MaelOp::Poll(BTreeMap::from([("1".to_string(), 2)]));
    let poll = |msgs: serde_json::Value| {
        client_read(
            WorkloadKind::Kafka,
            &asked,
            &msg(Body::new("poll_ok").with("msgs", msgs)),
        )
    };
    assert_eq!(
        poll(serde_json::json!({"1": [[2, 9], [3, 5]]})),
        (
            Outcome::Ok,
            Reply::Msgs(BTreeMap::from([("1".to_string(), vec![(2, 9), (3, 5)])]))
        )
    );
    for (bad, says) in [
        (serde_json::json!({"2": [[0, 1]]}), "did not ask for"),
        (
            serde_json::json!({"1": [[1, 1]]}),
            "before the offset asked for",
        ),
        (
            serde_json::json!({"1": [2, 9]}),
            "not an [offset, msg] pair",
        ),
    ] {
        let (outcome, reply) = poll(bad);
        assert_eq!(outcome, Outcome::Info);
        assert!(
            matches!(&reply, Reply::Malformed(w) if w.contains(says)),
            "{reply:?}"
        );
    }
    let send = MaelOp::Send {
        key: "1".into(),
        msg: 4,
    };
    assert_eq!(
        client_read(
            WorkloadKind::Kafka,
            &send,
            &msg(Body::new("send_ok").with("offset", 7))
        ),
        (Outcome::Ok, Reply::Offset(7))
    );
    // An offset past i64::MAX (Maelstrom's offsets are longs) is
    // malformed: never a panic or a wrap in the client's `offset + 1`.
    for huge in [u64::MAX, i64::MAX as u64 + 1] {
        let (outcome, reply) = poll(serde_json::json!({ "1": [[huge, 9]] }));
        assert_eq!(outcome, Outcome::Info);
        assert!(
            matches!(&reply, Reply::Malformed(w) if w.contains("offset from 0 to")),
            "{reply:?}"
        );
        let (outcome, reply) = client_read(
            WorkloadKind::Kafka,
            &send,
            &msg(Body::new("send_ok").with("offset", huge)),
        );
        assert_eq!(outcome, Outcome::Info);
        assert!(
            matches!(&reply, Reply::Malformed(w) if w.contains("from 0 to")),
            "{reply:?}"
        );
        let (outcome, reply) = client_read(
            WorkloadKind::Kafka,
            &MaelOp::ListCommittedOffsets(vec!["1".into()]),
            &msg(Body::new("list_committed_offsets_ok")
                .with("offsets", serde_json::json!({ "1": huge }))),
        );
        assert_eq!(outcome, Outcome::Info);
        assert!(
            matches!(&reply, Reply::Malformed(w) if w.contains("from 0 to")),
            "{reply:?}"
        );
    }
    assert_eq!(
        poll(serde_json::json!({ "1": [[i64::MAX as u64, 9]] })).0,
        Outcome::Ok,
        "i64::MAX itself is an offset"
    );
    let txn = MaelOp::Txn(vec![
        ops::TxnMop {
            f: ops::MopF::Read,
            key: 1,
            value: ops::MopValue::Null,
        },
        ops::TxnMop {
            f: ops::MopF::Write,
            key: 1,
            value: ops::MopValue::Int(5),
        },
    ]);
    let answer = |t: serde_json::Value| {
        client_read(
            WorkloadKind::TxnRwRegister,
            &txn,
            &msg(Body::new("txn_ok").with("txn", t)),
        )
    };
    let (outcome, _) = answer(serde_json::json!([["r", 1, 3], ["w", 1, 5]]));
    assert_eq!(outcome, Outcome::Ok);
    for (bad, says) in [
        (
            serde_json::json!([["r", 1, 3], ["w", 1, 6]]),
            "the value the request wrote",
        ),
        (
            serde_json::json!([["r", 1, [3]], ["w", 1, 5]]),
            "null or an integer",
        ),
        (serde_json::json!([["r", 1, 3]]), "has 1 micro-ops"),
    ] {
        let (outcome, reply) = answer(bad);
        assert_eq!(outcome, Outcome::Info);
        assert!(
            matches!(&reply, Reply::Malformed(w) if w.contains(says)),
            "{reply:?}"
        );
    }
    let (outcome, reply) = client_read(
        WorkloadKind::TxnRwRegister,
        &txn,
        &msg(Body::error(ErrorCode::TxnConflict, "conflict")),
    );
    assert_eq!(
        outcome,
        Outcome::Fail,
        "txn-conflict is a definite abort: {reply:?}"
    );
}
