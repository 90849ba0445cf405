//! Unit tests: drive replicas by hand and assert the exact effects they
//! record (Dynamo, SOSP 2007, §4.5 quorum, §4.6 hinted handoff, §4.4 versions).

use std::collections::BTreeMap;

use sim::client::{ClientConfig, RetryPolicy};
use sim::history::{OpFn, Outcome, Value};
use sim::node::{Cluster, Effect, NodeId, OpId, Request, TimerId};
use sim::testing::{sends, Effects, Harness, Net};
use sim::time::{ms, Nanos};

use super::server::{DEADLINE, HANDOFF, SLOPPY};
use super::version::{merge, resolve, VClock};
use super::*;

/// A few replicas (and a client) of one protocol, on a `sim::testing::Net`
/// at 1s: each test hands them messages by hand, and time moves for all of
/// them at once.
type Bench = Net<Quorum>;

fn bench(servers: usize, params: Params) -> Bench {
    Net::new(quorum(params, servers), Cluster::new(servers, 1))
        .seeded(1)
        .at(ms(1000))
}

fn server(b: &Bench, id: NodeId) -> &Server {
    b.node(id).as_server().expect("a server")
}

/// The client asks `coord` for operation `op`.
fn request(b: &mut Bench, coord: NodeId, op: u64, key: &str, f: OpFn) -> Effects<Msg> {
    let client = b.cluster().clients()[0];
    let key = key.into();
    b.inject(client, coord, Msg::Request { op, key, f })
}

/// The preference list of `key` now.
fn prefs(b: &Bench, key: &str) -> Vec<NodeId> {
    let q = &b.protocol;
    q.timeline.at(b.now()).preference_list(key, q.params.n)
}

/// The protocol for `servers` servers, with a client that does not retry.
fn quorum(params: Params, servers: usize) -> Quorum {
    let config = ClientConfig {
        timeout: ms(500),
        retry: RetryPolicy::None,
    };
    Quorum::new(params, servers, config).expect("valid params")
}

fn replies(effects: &[Effect<Msg>]) -> Vec<Answer> {
    sends(effects)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Msg::Reply { answer, .. } => Some(answer),
            _ => None,
        })
        .collect()
}

/// The request number of the first Put among `msgs`.
fn put_req(msgs: &[(NodeId, Msg)]) -> u64 {
    let put = |m: &Msg| matches!(m, Msg::Put { .. });
    req_of(msgs, put).expect("a Put was sent")
}

/// The request number of the first Get among `msgs`.
fn get_req(msgs: &[(NodeId, Msg)]) -> u64 {
    let get = |m: &Msg| matches!(m, Msg::Get { .. });
    req_of(msgs, get).expect("a Get was sent")
}

fn req_of(msgs: &[(NodeId, Msg)], kind: impl Fn(&Msg) -> bool) -> Option<u64> {
    msgs.iter().find_map(|(_, m)| match m {
        Msg::Put { req, .. } | Msg::Get { req, .. } if kind(m) => Some(*req),
        _ => None,
    })
}

fn sib(ts: Nanos, node: u32, clock: &[(u32, u64)], v: i64) -> Sibling {
    Sibling {
        ts: (ts, node),
        clock: clock.iter().copied().collect::<VClock>(),
        value: Value::Int(v),
        born_ns: ts,
    }
}

#[test]
fn a_write_is_acknowledged_only_after_w_replicas_acknowledge() {
    let mut b = bench(3, Params::default()); // N=3, W=2
    let prefs = prefs(&b, "k1");
    let coord = prefs[0];
    let fx = request(&mut b, coord, 7, "k1", OpFn::Write(Value::Int(5)));
    // The coordinator stores its own copy and sends one to each other replica.
    let msgs = sends(&fx);
    let targets: Vec<NodeId> = msgs.iter().map(|(to, _)| *to).collect();
    assert_eq!(targets, prefs[1..].to_vec());
    assert!(
        replies(&fx).is_empty(),
        "one acknowledgement (its own) is not W=2"
    );
    assert_eq!(resolve(&server(&b, coord).store()["k1"]), Value::Int(5));
    // The first replica stores its copy and acknowledges: W=2.
    let req = put_req(&msgs);
    let fx = b.deliver_from(coord, prefs[1]);
    assert_eq!(fx.sends(), vec![(coord, Msg::PutAck { req })]);
    assert_eq!(resolve(&server(&b, prefs[1]).store()["k1"]), Value::Int(5));
    let fx = b.deliver_from(prefs[1], coord);
    assert_eq!(replies(&fx), vec![Answer::Ok(None)]);
    // A third acknowledgement answers nobody twice.
    let fx = b.inject(prefs[2], coord, Msg::PutAck { req });
    assert!(replies(&fx).is_empty());
    b.assert_no_violations();
}

#[test]
fn a_strict_quorum_answers_unavailable_when_too_few_replicas_answer() {
    let mut b = bench(
        5,
        Params {
            w: 3,
            ..Params::default()
        },
    );
    let coord = prefs(&b, "k2")[0];
    let fx = request(&mut b, coord, 1, "k2", OpFn::Write(Value::Int(9)));
    let req = put_req(&sends(&fx));
    // Strict: no stand-in timer is even set.
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::SetTimer { id, .. } if *id == TimerId(SLOPPY + req))));
    b.advance(ms(200));
    let fx = b.fire(coord, TimerId(DEADLINE + req));
    assert_eq!(replies(&fx), vec![Answer::Unavailable]);
}

#[test]
fn a_read_returns_the_newest_of_r_replies() {
    let mut b = bench(3, Params::default()); // R=2
    let prefs = prefs(&b, "k3");
    let coord = prefs[0];
    let fx = request(&mut b, coord, 2, "k3", OpFn::Read);
    let req = get_req(&sends(&fx));
    let fx = b.inject(
        prefs[1],
        coord,
        Msg::GetReply {
            req,
            sibs: vec![sib(500, 2, &[], 4)],
        },
    );
    assert_eq!(replies(&fx), vec![Answer::Ok(Some(Value::Int(4)))]);
}

#[test]
fn blocking_read_repair_answers_only_after_the_stale_replica_acknowledges() {
    let mut b = bench(
        3,
        Params {
            read_repair: ReadRepair::Blocking,
            ..Params::default()
        },
    );
    let prefs = prefs(&b, "k3");
    let coord = prefs[0];
    // The coordinator holds version 4; the other replica has nothing: it is
    // stale, so the coordinator repairs it and waits before answering.
    b.inject(
        prefs[2],
        coord,
        Msg::put(99, "k3".into(), vec![sib(500, 2, &[], 4)], None),
    );
    let fx = request(&mut b, coord, 3, "k3", OpFn::Read);
    let req = get_req(&sends(&fx));
    let fx = b.inject(prefs[1], coord, Msg::GetReply { req, sibs: vec![] });
    assert!(replies(&fx).is_empty(), "the answer waits for the repair");
    let repaired: Vec<NodeId> = sends(&fx)
        .into_iter()
        .filter_map(|(to, m)| matches!(m, Msg::Put { repair: true, .. }).then_some(to))
        .collect();
    assert_eq!(repaired, vec![prefs[1]]);
    let fx = b.inject(prefs[1], coord, Msg::PutAck { req });
    assert_eq!(replies(&fx), vec![Answer::Ok(Some(Value::Int(4)))]);
}

#[test]
fn last_writer_wins_keeps_the_later_timestamp_and_drops_the_other() {
    let early = sib(100, 1, &[], 1);
    let late = sib(200, 2, &[], 2);
    assert_eq!(
        merge(
            std::slice::from_ref(&late),
            std::slice::from_ref(&early),
            Versioning::Lww
        ),
        vec![late.clone()]
    );
    assert_eq!(
        merge(&[early], std::slice::from_ref(&late), Versioning::Lww),
        vec![late]
    );
}

#[test]
fn vector_clocks_keep_concurrent_writes_as_siblings_and_replace_what_they_descend_from() {
    let a = sib(0, 0, &[(0, 1)], 1);
    let b = sib(0, 1, &[(1, 1)], 2);
    let both = merge(&[a], &[b], Versioning::Vector);
    assert_eq!(both.len(), 2, "concurrent: both kept");
    assert_eq!(
        resolve(&both),
        Value::Int(2),
        "the client merge takes the largest"
    );
    let c = sib(0, 0, &[(0, 2), (1, 1)], 3);
    assert_eq!(
        merge(&both, std::slice::from_ref(&c), Versioning::Vector),
        vec![c]
    );
}

#[test]
fn a_sloppy_write_goes_to_a_stand_in_whose_hint_is_handed_back_after_heal() {
    let mut b = bench(
        5,
        Params {
            sloppy: true,
            w: 2,
            ..Params::default()
        },
    );
    let prefs = prefs(&b, "k4");
    let walk = b.protocol.timeline.at(b.now()).walk("k4");
    let coord = prefs[0];
    let fx = request(&mut b, coord, 3, "k4", OpFn::Write(Value::Int(11)));
    let req = put_req(&sends(&fx));
    // Neither other replica answers (partitioned away): stand-ins are asked,
    // each carrying a hint naming the replica it stands in for.
    b.advance(ms(30));
    let fx = b.fire(coord, TimerId(SLOPPY + req));
    let hinted: Vec<(NodeId, Option<NodeId>)> = sends(&fx)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Msg::Put { hint_for, .. } => Some((to, hint_for)),
            _ => None,
        })
        .collect();
    assert_eq!(
        hinted,
        vec![(walk[3], Some(prefs[1])), (walk[4], Some(prefs[2]))]
    );
    // The first stand-in stores the hint, not the key.
    let stand_in = walk[3];
    let sibs = server(&b, coord).store()["k4"].clone();
    b.inject(
        coord,
        stand_in,
        Msg::Put {
            req,
            key: "k4".into(),
            sibs: sibs.clone(),
            hint_for: Some(prefs[1]),
            repair: false,
        },
    );
    assert!(!server(&b, stand_in).store().contains_key("k4"));
    assert_eq!(server(&b, stand_in).hints().len(), 1);
    // Its acknowledgement makes W=2.
    let fx = b.inject(stand_in, coord, Msg::PutAck { req });
    assert_eq!(replies(&fx), vec![Answer::Ok(None)]);
    // After the heal, handoff sends the hint to its replica; the ack drops it.
    let fx = b.fire(stand_in, HANDOFF);
    let (to, msg) = sends(&fx).into_iter().next().expect("a handoff");
    assert_eq!(to, prefs[1]);
    let Msg::Put {
        req: hreq,
        hint_for: None,
        ..
    } = msg.clone()
    else {
        panic!("a plain Put to the replica, got {msg:?}");
    };
    b.inject(stand_in, prefs[1], msg);
    assert_eq!(resolve(&server(&b, prefs[1]).store()["k4"]), Value::Int(11));
    b.inject(prefs[1], stand_in, Msg::PutAck { req: hreq });
    assert!(server(&b, stand_in).hints().is_empty());
}

#[test]
fn with_the_bug_hints_are_never_handed_back() {
    let mut b = bench(
        5,
        Params {
            sloppy: true,
            hint_never_delivered: true,
            ..Params::default()
        },
    );
    let prefs = prefs(&b, "k4");
    b.inject(
        NodeId(0),
        NodeId(4),
        Msg::Put {
            req: 1,
            key: "k4".into(),
            sibs: vec![sib(5, 0, &[], 3)],
            hint_for: Some(prefs[0]),
            repair: false,
        },
    );
    let fx = b.fire(NodeId(4), HANDOFF);
    assert!(sends(&fx).is_empty());
}

#[test]
fn a_client_records_an_unavailable_write_as_unknown_not_failed() {
    let q = quorum(Params::default(), 3);
    let client = QuorumNode::Client(Client::new(q.params, q.timeline, q.client));
    let cluster = Cluster::new(3, 1);
    let mut c = Harness::new(cluster.clone(), cluster.clients()[0], client).seeded(1);
    let write = OpFn::Write(Value::Int(1));
    c.request(Request {
        id: OpId(1),
        key: "k1".into(),
        f: write,
    });
    let unavailable = Msg::Reply {
        op: 1,
        answer: Answer::Unavailable,
    };
    let fx = c.deliver(NodeId(0), unavailable);
    let outcome = fx
        .completions()
        .iter()
        .map(|c| (c.outcome, c.served))
        .next();
    assert_eq!(outcome, Some((Outcome::Info, false)));
}

#[test]
fn membership_is_a_function_of_time() {
    let joins = vec![Change {
        node: "n6".into(),
        at: ms(8000),
    }];
    let q = quorum(
        Params {
            joins,
            ..Params::default()
        },
        6,
    );
    assert_eq!(q.timeline.at(ms(7999)).members().len(), 5);
    assert_eq!(q.timeline.at(ms(8000)).members().len(), 6);
    let moved: BTreeMap<bool, usize> =
        (0..1000)
            .map(|i| format!("k{i}"))
            .fold(BTreeMap::new(), |mut m, k| {
                let before = q.timeline.at(0).preference_list(&k, 1);
                let after = q.timeline.at(ms(9000)).preference_list(&k, 1);
                *m.entry(before != after).or_default() += 1;
                m
            });
    // Every key that moved now belongs to the new node.
    assert!(moved[&true] > 100 && moved[&true] < 300, "{moved:?}");
}

#[test]
fn anti_entropy_sends_only_the_leaves_that_differ_and_both_sides_end_with_the_merge() {
    let mut b = bench(
        3,
        Params {
            anti_entropy_interval: Some(ms(1000)),
            ..Params::default()
        },
    );
    // With N=3 on three servers every server replicates every key.
    let (x, y) = (NodeId(0), NodeId(1));
    for i in 0..20 {
        let key = format!("k{i}");
        for n in [x, y] {
            b.inject(
                NodeId(2),
                n,
                Msg::Put {
                    req: 1,
                    key: key.clone(),
                    sibs: vec![sib(10, 2, &[], i)],
                    hint_for: None,
                    repair: false,
                },
            );
        }
    }
    // x alone has a newer k7.
    b.inject(
        NodeId(2),
        x,
        Msg::Put {
            req: 2,
            key: "k7".into(),
            sibs: vec![sib(20, 2, &[], 77)],
            hint_for: None,
            repair: false,
        },
    );
    let tree = Msg::Tree {
        leaves: server(&b, x).merkle_leaves(b.now(), y),
    };
    let fx = b.inject(x, y, tree);
    let (to, msg) = sends(&fx)
        .into_iter()
        .next()
        .expect("the leaves that differ");
    assert_eq!(to, x);
    let Msg::Leaves {
        leaves,
        data,
        reply,
    } = msg.clone()
    else {
        panic!("expected Leaves, got {msg:?}");
    };
    assert!(reply);
    assert_eq!(leaves.len(), 1, "one key differs, so one leaf");
    assert!(data.iter().any(|(k, _)| k == "k7"));
    assert!(data.len() < 20, "only the differing leaf's keys travel");
    let fx = b.inject(y, x, msg);
    let (_, back) = sends(&fx)
        .into_iter()
        .next()
        .expect("x answers with its side");
    b.inject(x, y, back);
    assert_eq!(resolve(&server(&b, y).store()["k7"]), Value::Int(77));
    assert_eq!(
        server(&b, x).merkle_leaves(b.now(), y),
        server(&b, y).merkle_leaves(b.now(), x)
    );
}
