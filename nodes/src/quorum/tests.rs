//! Unit tests: drive replicas by hand and assert the exact effects they
//! record (Dynamo, SOSP 2007, §4.5 quorum, §4.6 hinted handoff, §4.4 versions).

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::client::{ClientConfig, RetryPolicy};
use sim::history::{OpFn, Outcome, Value};
use sim::node::{Clock, Cluster, Ctx, Disk, Effect, NodeId, OpId, Request, TimerId};
use sim::time::{ms, Nanos};

use super::server::{DEADLINE, HANDOFF, SLOPPY};
use super::version::{merge, resolve, VClock};
use super::*;

/// A few replicas and a clock, driven by hand.
struct Bench {
    cluster: Cluster,
    servers: Vec<Server>,
    disks: Vec<Disk>,
    rng: ChaCha8Rng,
    now: Nanos,
    params: Arc<Params>,
    timeline: Arc<Timeline>,
}

impl Bench {
    fn new(servers: usize, params: Params) -> Bench {
        let q = Quorum::new(
            params,
            servers,
            ClientConfig {
                timeout: ms(500),
                retry: RetryPolicy::None,
            },
        )
        .expect("valid params");
        let disks: Vec<Disk> = (0..servers).map(|_| Disk::default()).collect();
        let list: Vec<Server> = (0..servers)
            .map(|i| {
                Server::recover(
                    NodeId(i as u32),
                    q.params.clone(),
                    q.timeline.clone(),
                    &disks[i],
                )
            })
            .collect();
        Bench {
            cluster: Cluster::new(servers, 1),
            servers: list,
            disks,
            rng: ChaCha8Rng::seed_from_u64(1),
            now: ms(1000),
            params: q.params,
            timeline: q.timeline,
        }
    }

    fn client(&self) -> NodeId {
        self.cluster.clients()[0]
    }

    /// Runs one handler on server `id` and returns what it recorded.
    fn on(&mut self, id: NodeId, f: impl FnOnce(&mut Server, &mut Ctx<Msg>)) -> Vec<Effect<Msg>> {
        let mut effects = Vec::new();
        let i = id.index();
        let mut ctx = Ctx::new(
            id,
            self.now,
            Clock::default(),
            &mut self.rng,
            &mut self.disks[i],
            &self.cluster,
            &mut effects,
        );
        f(&mut self.servers[i], &mut ctx);
        effects
    }

    fn prefs(&self, key: &str) -> Vec<NodeId> {
        self.timeline
            .at(self.now)
            .preference_list(key, self.params.n)
    }
}

fn sends(effects: &[Effect<Msg>]) -> Vec<(NodeId, Msg)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
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

fn put_req(msgs: &[(NodeId, Msg)]) -> u64 {
    msgs.iter()
        .find_map(|(_, m)| match m {
            Msg::Put { req, .. } => Some(*req),
            _ => None,
        })
        .expect("a Put was sent")
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
    let mut b = Bench::new(3, Params::default()); // N=3, W=2
    let prefs = b.prefs("k1");
    let coord = prefs[0];
    let client = b.client();
    let fx = b.on(coord, |s, ctx| {
        s.on_message(
            ctx,
            client,
            Msg::Request {
                op: 7,
                key: "k1".into(),
                f: OpFn::Write(Value::Int(5)),
            },
        )
    });
    // The coordinator stores its own copy and sends one to each other replica.
    let msgs = sends(&fx);
    let targets: Vec<NodeId> = msgs.iter().map(|(to, _)| *to).collect();
    assert_eq!(targets, prefs[1..].to_vec());
    assert!(
        replies(&fx).is_empty(),
        "one acknowledgement (its own) is not W=2"
    );
    assert_eq!(
        resolve(&b.servers[coord.index()].store()["k1"]),
        Value::Int(5)
    );
    let req = put_req(&msgs);
    let fx = b.on(coord, |s, ctx| {
        s.on_message(ctx, prefs[1], Msg::PutAck { req })
    });
    assert_eq!(replies(&fx), vec![Answer::Ok(None)]);
    // A third acknowledgement answers nobody twice.
    let fx = b.on(coord, |s, ctx| {
        s.on_message(ctx, prefs[2], Msg::PutAck { req })
    });
    assert!(replies(&fx).is_empty());
}

#[test]
fn a_strict_quorum_answers_unavailable_when_too_few_replicas_answer() {
    let mut b = Bench::new(
        5,
        Params {
            w: 3,
            ..Params::default()
        },
    );
    let coord = b.prefs("k2")[0];
    let client = b.client();
    let fx = b.on(coord, |s, ctx| {
        s.on_message(
            ctx,
            client,
            Msg::Request {
                op: 1,
                key: "k2".into(),
                f: OpFn::Write(Value::Int(9)),
            },
        )
    });
    let req = put_req(&sends(&fx));
    // Strict: no stand-in timer is even set.
    assert!(!fx
        .iter()
        .any(|e| matches!(e, Effect::SetTimer { id, .. } if *id == TimerId(SLOPPY + req))));
    b.now += ms(200);
    let fx = b.on(coord, |s, ctx| s.on_timer(ctx, TimerId(DEADLINE + req)));
    assert_eq!(replies(&fx), vec![Answer::Unavailable]);
}

#[test]
fn a_read_returns_the_newest_of_r_replies() {
    let mut b = Bench::new(3, Params::default()); // R=2
    let prefs = b.prefs("k3");
    let coord = prefs[0];
    let client = b.client();
    let fx = b.on(coord, |s, ctx| {
        s.on_message(
            ctx,
            client,
            Msg::Request {
                op: 2,
                key: "k3".into(),
                f: OpFn::Read,
            },
        )
    });
    let req = sends(&fx)
        .iter()
        .find_map(|(_, m)| match m {
            Msg::Get { req, .. } => Some(*req),
            _ => None,
        })
        .unwrap();
    let fx = b.on(coord, |s, ctx| {
        s.on_message(
            ctx,
            prefs[1],
            Msg::GetReply {
                req,
                sibs: vec![sib(500, 2, &[], 4)],
            },
        )
    });
    assert_eq!(replies(&fx), vec![Answer::Ok(Some(Value::Int(4)))]);
}

#[test]
fn blocking_read_repair_answers_only_after_the_stale_replica_acknowledges() {
    let mut b = Bench::new(
        3,
        Params {
            read_repair: ReadRepair::Blocking,
            ..Params::default()
        },
    );
    let prefs = b.prefs("k3");
    let coord = prefs[0];
    let client = b.client();
    // The coordinator holds version 4; the other replica has nothing: it is
    // stale, so the coordinator repairs it and waits before answering.
    b.on(coord, |s, ctx| {
        s.on_message(
            ctx,
            prefs[2],
            Msg::Put {
                req: 99,
                key: "k3".into(),
                sibs: vec![sib(500, 2, &[], 4)],
                hint_for: None,
                repair: false,
            },
        )
    });
    let fx = b.on(coord, |s, ctx| {
        s.on_message(
            ctx,
            client,
            Msg::Request {
                op: 3,
                key: "k3".into(),
                f: OpFn::Read,
            },
        )
    });
    let req = sends(&fx)
        .iter()
        .find_map(|(_, m)| match m {
            Msg::Get { req, .. } => Some(*req),
            _ => None,
        })
        .unwrap();
    let fx = b.on(coord, |s, ctx| {
        s.on_message(ctx, prefs[1], Msg::GetReply { req, sibs: vec![] })
    });
    assert!(replies(&fx).is_empty(), "the answer waits for the repair");
    let repaired: Vec<NodeId> = sends(&fx)
        .into_iter()
        .filter_map(|(to, m)| matches!(m, Msg::Put { repair: true, .. }).then_some(to))
        .collect();
    assert_eq!(repaired, vec![prefs[1]]);
    let fx = b.on(coord, |s, ctx| {
        s.on_message(ctx, prefs[1], Msg::PutAck { req })
    });
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
    let mut b = Bench::new(
        5,
        Params {
            sloppy: true,
            w: 2,
            ..Params::default()
        },
    );
    let prefs = b.prefs("k4");
    let walk = b.timeline.at(b.now).walk("k4");
    let coord = prefs[0];
    let client = b.client();
    let fx = b.on(coord, |s, ctx| {
        s.on_message(
            ctx,
            client,
            Msg::Request {
                op: 3,
                key: "k4".into(),
                f: OpFn::Write(Value::Int(11)),
            },
        )
    });
    let req = put_req(&sends(&fx));
    // Neither other replica answers (partitioned away): stand-ins are asked,
    // each carrying a hint naming the replica it stands in for.
    b.now += ms(30);
    let fx = b.on(coord, |s, ctx| s.on_timer(ctx, TimerId(SLOPPY + req)));
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
    let sibs = b.servers[coord.index()].store()["k4"].clone();
    b.on(stand_in, |s, ctx| {
        s.on_message(
            ctx,
            coord,
            Msg::Put {
                req,
                key: "k4".into(),
                sibs: sibs.clone(),
                hint_for: Some(prefs[1]),
                repair: false,
            },
        )
    });
    assert!(!b.servers[stand_in.index()].store().contains_key("k4"));
    assert_eq!(b.servers[stand_in.index()].hints().len(), 1);
    // Its acknowledgement makes W=2.
    let fx = b.on(coord, |s, ctx| {
        s.on_message(ctx, stand_in, Msg::PutAck { req })
    });
    assert_eq!(replies(&fx), vec![Answer::Ok(None)]);
    // After the heal, handoff sends the hint to its replica; the ack drops it.
    let fx = b.on(stand_in, |s, ctx| s.on_timer(ctx, HANDOFF));
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
    b.on(prefs[1], |s, ctx| s.on_message(ctx, stand_in, msg));
    assert_eq!(
        resolve(&b.servers[prefs[1].index()].store()["k4"]),
        Value::Int(11)
    );
    b.on(stand_in, |s, ctx| {
        s.on_message(ctx, prefs[1], Msg::PutAck { req: hreq })
    });
    assert!(b.servers[stand_in.index()].hints().is_empty());
}

#[test]
fn with_the_bug_hints_are_never_handed_back() {
    let mut b = Bench::new(
        5,
        Params {
            sloppy: true,
            hint_never_delivered: true,
            ..Params::default()
        },
    );
    let prefs = b.prefs("k4");
    b.on(NodeId(4), |s, ctx| {
        s.on_message(
            ctx,
            NodeId(0),
            Msg::Put {
                req: 1,
                key: "k4".into(),
                sibs: vec![sib(5, 0, &[], 3)],
                hint_for: Some(prefs[0]),
                repair: false,
            },
        )
    });
    let fx = b.on(NodeId(4), |s, ctx| s.on_timer(ctx, HANDOFF));
    assert!(sends(&fx).is_empty());
}

#[test]
fn a_client_records_an_unavailable_write_as_unknown_not_failed() {
    let q = Quorum::new(
        Params::default(),
        3,
        ClientConfig {
            timeout: ms(500),
            retry: RetryPolicy::None,
        },
    )
    .unwrap();
    let cluster = Cluster::new(3, 1);
    let mut client = Client::new(q.params.clone(), q.timeline.clone(), q.client.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut disk = Disk::default();
    let mut effects = Vec::new();
    let mut ctx = Ctx::new(
        cluster.clients()[0],
        0,
        Clock::default(),
        &mut rng,
        &mut disk,
        &cluster,
        &mut effects,
    );
    client.on_request(
        &mut ctx,
        Request {
            id: OpId(1),
            key: "k1".into(),
            f: OpFn::Write(Value::Int(1)),
        },
    );
    client.on_message(
        &mut ctx,
        Msg::Reply {
            op: 1,
            answer: Answer::Unavailable,
        },
    );
    let outcome = effects.iter().find_map(|e| match e {
        Effect::Complete {
            outcome, served, ..
        } => Some((*outcome, *served)),
        _ => None,
    });
    assert_eq!(outcome, Some((Outcome::Info, false)));
}

#[test]
fn membership_is_a_function_of_time() {
    let q = Quorum::new(
        Params {
            joins: vec![Change {
                node: "n6".into(),
                at: ms(8000),
            }],
            ..Params::default()
        },
        6,
        ClientConfig {
            timeout: ms(500),
            retry: RetryPolicy::None,
        },
    )
    .unwrap();
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
    let mut b = Bench::new(
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
            b.on(n, |s, ctx| {
                s.on_message(
                    ctx,
                    NodeId(2),
                    Msg::Put {
                        req: 1,
                        key: key.clone(),
                        sibs: vec![sib(10, 2, &[], i)],
                        hint_for: None,
                        repair: false,
                    },
                )
            });
        }
    }
    // x alone has a newer k7.
    b.on(x, |s, ctx| {
        s.on_message(
            ctx,
            NodeId(2),
            Msg::Put {
                req: 2,
                key: "k7".into(),
                sibs: vec![sib(20, 2, &[], 77)],
                hint_for: None,
                repair: false,
            },
        )
    });
    let tree = Msg::Tree {
        leaves: b.servers[x.index()].merkle_leaves(b.now, y),
    };
    let fx = b.on(y, |s, ctx| s.on_message(ctx, x, tree));
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
    let fx = b.on(x, |s, ctx| s.on_message(ctx, y, msg));
    let (_, back) = sends(&fx)
        .into_iter()
        .next()
        .expect("x answers with its side");
    b.on(y, |s, ctx| s.on_message(ctx, x, back));
    assert_eq!(resolve(&b.servers[y.index()].store()["k7"]), Value::Int(77));
    assert_eq!(
        b.servers[x.index()].merkle_leaves(b.now, y),
        b.servers[y.index()].merkle_leaves(b.now, x)
    );
}
