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
