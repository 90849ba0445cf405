//! One node at a time: each test hands a node a message or a timer in a
//! hand-built context and asserts the exact effects it records.

use chaoslab::sim::client::{ClientConfig, RequestId, RetryPolicy, SessionId, ATTEMPT_TIMER};
use chaoslab::sim::history::{OpFn, Value};
use chaoslab::sim::node::{Clock, Cluster, Ctx, Disk, Effect, Node, NodeId, OpId, Request};
use chaoslab::sim::protocol::{Protocol, Violation};
use chaoslab::sim::time::{ms, Nanos};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

const C1: NodeId = NodeId(2);
const C2: NodeId = NodeId(3);

fn cluster() -> Cluster {
    Cluster::new(2, 2)
}

/// Runs `f` on `node` as node `me` at true time `now` (perfect clocks:
/// the monotonic clock reads `now`), and returns the effects, each as its
/// `Debug` line.
fn step<N>(
    node: &mut N,
    me: NodeId,
    now: Nanos,
    disk: &mut Disk,
    f: impl FnOnce(&mut N, &mut Ctx<Msg>),
) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cluster = cluster();
    let mut effects: Vec<Effect<Msg>> = Vec::new();
    let mut ctx = Ctx::new(
        me,
        now,
        Clock::default(),
        &mut rng,
        disk,
        &cluster,
        &mut effects,
    );
    f(node, &mut ctx);
    effects.iter().map(|e| format!("{e:?}")).collect()
}

fn rid(client: NodeId, seq: u64) -> RequestId {
    RequestId {
        session: SessionId {
            client,
            incarnation: 0,
        },
        seq,
    }
}

fn service() -> LockService {
    service_with(Params::default())
}

fn service_with(params: Params) -> LockService {
    LockService::from_parts(
        params,
        ClientConfig {
            timeout: ms(100),
            retry: RetryPolicy::None,
        },
        &cluster(),
    )
}

// ----- the lock server -----

#[test]
fn a_free_lock_is_granted_with_token_1_synced_before_it_is_sent() {
    let mut disk = Disk::default();
    let mut s = LockServer::recover(ms(500), &disk);
    let fx = step(&mut s, LOCK_SERVER, ms(10), &mut disk, |s, ctx| {
        s.on_message(ctx, C1, Msg::Acquire { id: rid(C1, 1) })
    });
    assert_eq!(
        fx,
        [
            "SetTimer { id: TimerId(1), after: 500000000 }",
            "Note { note: \"granted\" }",
            "Send { to: NodeId(2), msg: Grant { id: 2.0#1, token: 1, lease: 500000000 } }",
        ]
    );
    assert_eq!(disk.get::<Token>(TOKEN_KEY), Some(&1));
    assert_eq!(disk.counters(), (1, 1), "one write, synced");
    assert_eq!(
        s.holder().map(|h| (h.client, h.token, h.expires)),
        Some((C1, 1, ms(510)))
    );
}

#[test]
fn a_held_lock_queues_the_next_client_and_a_release_hands_it_token_2() {
    let mut disk = Disk::default();
    let mut s = LockServer::recover(ms(500), &disk);
    step(&mut s, LOCK_SERVER, 0, &mut disk, |s, ctx| {
        s.on_message(ctx, C1, Msg::Acquire { id: rid(C1, 1) })
    });
    let fx = step(&mut s, LOCK_SERVER, ms(5), &mut disk, |s, ctx| {
        s.on_message(ctx, C2, Msg::Acquire { id: rid(C2, 1) })
    });
    assert!(fx.is_empty(), "c2 waits: {fx:?}");
    assert_eq!(s.queue_len(), 1);
    // A release under another token (an old holder's) changes nothing.
    let fx = step(&mut s, LOCK_SERVER, ms(6), &mut disk, |s, ctx| {
        s.on_message(ctx, C2, Msg::Release { token: 7 })
    });
    assert!(fx.is_empty());
    let fx = step(&mut s, LOCK_SERVER, ms(60), &mut disk, |s, ctx| {
        s.on_message(ctx, C1, Msg::Release { token: 1 })
    });
    assert_eq!(
        fx,
        [
            "CancelTimer { id: TimerId(1) }",
            "Note { note: \"released\" }",
            "SetTimer { id: TimerId(1), after: 500000000 }",
            "Note { note: \"granted\" }",
            "Send { to: NodeId(3), msg: Grant { id: 3.0#1, token: 2, lease: 500000000 } }",
        ]
    );
}

#[test]
fn an_expired_lease_frees_the_lock_whatever_the_holder_believes() {
    let mut disk = Disk::default();
    let mut s = LockServer::recover(ms(500), &disk);
    step(&mut s, LOCK_SERVER, 0, &mut disk, |s, ctx| {
        s.on_message(ctx, C1, Msg::Acquire { id: rid(C1, 1) })
    });
    step(&mut s, LOCK_SERVER, ms(1), &mut disk, |s, ctx| {
        s.on_message(ctx, C2, Msg::Acquire { id: rid(C2, 1) })
    });
    let fx = step(&mut s, LOCK_SERVER, ms(500), &mut disk, |s, ctx| {
        s.on_timer(ctx, LEASE_TIMER)
    });
    assert_eq!(
        fx,
        [
            "Note { note: \"lease-expired\" }",
            "SetTimer { id: TimerId(1), after: 500000000 }",
            "Note { note: \"granted\" }",
            "Send { to: NodeId(3), msg: Grant { id: 3.0#1, token: 2, lease: 500000000 } }",
        ]
    );
    assert_eq!(s.expired, 1);
}

#[test]
fn a_lease_timer_that_fires_early_waits_for_the_rest_of_the_lease() {
    let mut disk = Disk::default();
    let mut s = LockServer::recover(ms(500), &disk);
    step(&mut s, LOCK_SERVER, 0, &mut disk, |s, ctx| {
        s.on_message(ctx, C1, Msg::Acquire { id: rid(C1, 1) })
    });
    let fx = step(&mut s, LOCK_SERVER, ms(400), &mut disk, |s, ctx| {
        s.on_timer(ctx, LEASE_TIMER)
    });
    assert_eq!(fx, ["SetTimer { id: TimerId(1), after: 100000000 }"]);
    assert!(s.holder().is_some());
}

#[test]
fn a_retried_acquire_of_the_holder_gets_the_same_token_and_what_is_left_of_the_lease() {
    let mut disk = Disk::default();
    let mut s = LockServer::recover(ms(500), &disk);
    step(&mut s, LOCK_SERVER, 0, &mut disk, |s, ctx| {
        s.on_message(ctx, C1, Msg::Acquire { id: rid(C1, 1) })
    });
    let fx = step(&mut s, LOCK_SERVER, ms(100), &mut disk, |s, ctx| {
        s.on_message(ctx, C1, Msg::Acquire { id: rid(C1, 1) })
    });
    assert_eq!(
        fx,
        ["Send { to: NodeId(2), msg: Grant { id: 2.0#1, token: 1, lease: 400000000 } }"]
    );
    assert_eq!(s.last_token(), 1);
}

#[test]
fn a_restarted_lock_server_continues_its_tokens_after_one_lease_of_quiet() {
    let mut disk = Disk::default();
    disk.put(TOKEN_KEY, 5u64);
    disk.sync();
    let mut s = LockServer::recover(ms(500), &disk);
    let fx = step(&mut s, LOCK_SERVER, ms(1000), &mut disk, |s, ctx| {
        s.on_start(ctx)
    });
    assert_eq!(fx, ["SetTimer { id: TimerId(2), after: 500000000 }"]);
    let fx = step(&mut s, LOCK_SERVER, ms(1100), &mut disk, |s, ctx| {
        s.on_message(ctx, C1, Msg::Acquire { id: rid(C1, 3) })
    });
    assert!(
        fx.is_empty(),
        "a holder of its last life may still be writing"
    );
    let fx = step(&mut s, LOCK_SERVER, ms(1500), &mut disk, |s, ctx| {
        s.on_timer(ctx, GRACE_TIMER)
    });
    assert_eq!(
        fx,
        [
            "SetTimer { id: TimerId(1), after: 500000000 }",
            "Note { note: \"granted\" }",
            "Send { to: NodeId(2), msg: Grant { id: 2.0#3, token: 6, lease: 500000000 } }",
        ]
    );
}

// ----- the storage -----

fn write(client: NodeId, seq: u64, token: Token, v: i64) -> Msg {
    Msg::Write {
        id: rid(client, seq),
        token,
        key: "k0".into(),
        f: OpFn::Write(Value::Int(v)),
    }
}

#[test]
fn with_fencing_the_storage_refuses_a_token_older_than_one_it_accepted() {
    let mut disk = Disk::default();
    let mut st = Storage::recover(true, &disk);
    let fx = step(&mut st, STORAGE, ms(1), &mut disk, |st, ctx| {
        st.on_message(ctx, C2, write(C2, 1, 4, 40))
    });
    assert_eq!(
        fx,
        ["Send { to: NodeId(3), msg: WriteReply { id: 3.0#1, result: Applied } }"]
    );
    let fx = step(&mut st, STORAGE, ms(2), &mut disk, |st, ctx| {
        st.on_message(ctx, C1, write(C1, 1, 3, 30))
    });
    assert_eq!(
        fx,
        [
            "Note { note: \"stale-token-rejected\" }",
            "Send { to: NodeId(2), msg: WriteReply { id: 2.0#1, result: Stale { highest: 4 } } }",
        ]
    );
    assert_eq!(st.get("k0"), Value::Int(40));
    assert_eq!((st.highest(), st.rejected), (4, 1));
}

#[test]
fn without_fencing_the_storage_takes_the_older_token_over_the_newer_write() {
    let mut disk = Disk::default();
    let mut st = Storage::recover(false, &disk);
    step(&mut st, STORAGE, ms(1), &mut disk, |st, ctx| {
        st.on_message(ctx, C2, write(C2, 1, 4, 40))
    });
    let fx = step(&mut st, STORAGE, ms(2), &mut disk, |st, ctx| {
        st.on_message(ctx, C1, write(C1, 1, 3, 30))
    });
    assert_eq!(
        fx,
        ["Send { to: NodeId(2), msg: WriteReply { id: 2.0#1, result: Applied } }"]
    );
    assert_eq!(st.get("k0"), Value::Int(30));
    assert_eq!(st.highest(), 4, "the highest token is still remembered");
}

#[test]
fn a_retried_write_is_answered_from_the_session_table_not_applied_again() {
    let mut disk = Disk::default();
    let mut st = Storage::recover(true, &disk);
    let append = |seq| Msg::Write {
        id: rid(C1, seq),
        token: 1,
        key: "k0".into(),
        f: OpFn::Append(Value::Int(9)),
    };
    step(&mut st, STORAGE, ms(1), &mut disk, |st, ctx| {
        st.on_message(ctx, C1, append(1))
    });
    // The storage restarts from its synced state, then the retry arrives.
    let mut st = Storage::recover(true, &disk);
    let fx = step(&mut st, STORAGE, ms(2), &mut disk, |st, ctx| {
        st.on_message(ctx, C1, append(1))
    });
    assert_eq!(
        fx,
        ["Send { to: NodeId(2), msg: WriteReply { id: 2.0#1, result: Applied } }"]
    );
    assert_eq!(st.get("k0"), Value::List(vec![9]));
    assert!(
        st.accepted.is_empty(),
        "nothing applied in this incarnation"
    );
}

// ----- the client -----

fn client() -> Client {
    Client::new(
        ClientConfig {
            timeout: ms(100),
            retry: RetryPolicy::None,
        },
        ms(50),
    )
}

fn put(op: u64, v: i64) -> Request {
    Request {
        id: OpId(op),
        key: "k1".into(),
        f: OpFn::Write(Value::Int(v)),
    }
}

#[test]
fn a_write_takes_the_lock_works_writes_under_the_token_and_releases() {
    let mut disk = Disk::default();
    let mut c = client();
    let fx = step(&mut c, C1, 0, &mut disk, |c, ctx| {
        c.on_request(ctx, put(0, 7))
    });
    assert_eq!(
        fx,
        [
            "SetTimer { id: TimerId(18446744073709551615), after: 100000000 }",
            "Send { to: NodeId(0), msg: Acquire { id: 2.0#1 } }",
        ]
    );
    assert_eq!(c.role(), "client");
    let fx = step(&mut c, C1, ms(2), &mut disk, |c, ctx| {
        c.on_message(
            ctx,
            LOCK_SERVER,
            Msg::Grant {
                id: rid(C1, 1),
                token: 3,
                lease: ms(500),
            },
        )
    });
    assert_eq!(
        fx,
        [
            "CancelTimer { id: TimerId(18446744073709551615) }",
            "CancelTimer { id: TimerId(18446744073709551614) }",
            "SetTimer { id: TimerId(1), after: 50000000 }",
        ]
    );
    assert_eq!(c.role(), "holder");
    let fx = step(&mut c, C1, ms(52), &mut disk, |c, ctx| {
        c.on_timer(ctx, WORK_TIMER)
    });
    assert_eq!(
        fx,
        [
            "SetTimer { id: TimerId(18446744073709551615), after: 100000000 }",
            "Send { to: NodeId(1), msg: Write { id: 2.0#1, token: 3, key: \"k1\", f: Write(Int(7)) } }",
        ]
    );
    let fx = step(&mut c, C1, ms(54), &mut disk, |c, ctx| {
        c.on_message(
            ctx,
            STORAGE,
            Msg::WriteReply {
                id: rid(C1, 1),
                result: WriteResult::Applied,
            },
        )
    });
    assert_eq!(
        fx,
        [
            "CancelTimer { id: TimerId(18446744073709551615) }",
            "CancelTimer { id: TimerId(18446744073709551614) }",
            "Complete { op: OpId(0), outcome: Ok, output: None, served: true, found_other: false }",
            "Send { to: NodeId(0), msg: Release { token: 3 } }",
        ]
    );
    assert_eq!((c.role(), c.phase()), ("client", Phase::Idle));
}

#[test]
fn a_fenced_write_fails_for_certain_and_the_lock_is_released() {
    let mut disk = Disk::default();
    let mut c = client();
    step(&mut c, C1, 0, &mut disk, |c, ctx| {
        c.on_request(ctx, put(0, 7))
    });
    step(&mut c, C1, ms(1), &mut disk, |c, ctx| {
        c.on_message(
            ctx,
            LOCK_SERVER,
            Msg::Grant {
                id: rid(C1, 1),
                token: 3,
                lease: ms(500),
            },
        )
    });
    // A long pause: the work timer fires late, and the client writes anyway.
    step(&mut c, C1, ms(2000), &mut disk, |c, ctx| {
        c.on_timer(ctx, WORK_TIMER)
    });
    let fx = step(&mut c, C1, ms(2002), &mut disk, |c, ctx| {
        c.on_message(
            ctx,
            STORAGE,
            Msg::WriteReply {
                id: rid(C1, 1),
                result: WriteResult::Stale { highest: 4 },
            },
        )
    });
    assert_eq!(
        fx,
        [
            "Note { note: \"fenced\" }",
            "CancelTimer { id: TimerId(18446744073709551615) }",
            "CancelTimer { id: TimerId(18446744073709551614) }",
            "Complete { op: OpId(0), outcome: Fail, output: None, served: true, found_other: false }",
            "Send { to: NodeId(0), msg: Release { token: 3 } }",
        ]
    );
    assert_eq!(c.fenced, 1);
}

#[test]
fn a_grant_that_comes_after_the_client_gave_up_is_handed_straight_back() {
    let mut disk = Disk::default();
    let mut c = client();
    step(&mut c, C1, 0, &mut disk, |c, ctx| {
        c.on_request(ctx, put(0, 7))
    });
    let fx = step(&mut c, C1, ms(100), &mut disk, |c, ctx| {
        c.on_timer(ctx, ATTEMPT_TIMER)
    });
    assert_eq!(
        fx,
        [
            "CancelTimer { id: TimerId(18446744073709551615) }",
            "CancelTimer { id: TimerId(18446744073709551614) }",
            "Complete { op: OpId(0), outcome: Info, output: None, served: false, found_other: false }",
        ]
    );
    let fx = step(&mut c, C1, ms(150), &mut disk, |c, ctx| {
        c.on_message(
            ctx,
            LOCK_SERVER,
            Msg::Grant {
                id: rid(C1, 1),
                token: 9,
                lease: ms(500),
            },
        )
    });
    assert_eq!(fx, ["Send { to: NodeId(0), msg: Release { token: 9 } }"]);
    assert_eq!(c.role(), "client");
}

#[test]
fn a_read_goes_straight_to_storage_without_the_lock() {
    let mut disk = Disk::default();
    let mut c = client();
    let get = Request {
        id: OpId(4),
        key: "k2".into(),
        f: OpFn::Read,
    };
    let fx = step(&mut c, C1, 0, &mut disk, |c, ctx| c.on_request(ctx, get));
    assert_eq!(
        fx[1],
        "Send { to: NodeId(1), msg: Read { id: 2.0#1, key: \"k2\" } }"
    );
    let fx = step(&mut c, C1, ms(3), &mut disk, |c, ctx| {
        c.on_message(
            ctx,
            STORAGE,
            Msg::ReadReply {
                id: rid(C1, 1),
                value: Value::Int(5),
            },
        )
    });
    assert_eq!(
        fx[2],
        "Complete { op: OpId(4), outcome: Ok, output: Some(Int(5)), served: true, found_other: false }"
    );
}

// ----- the invariants -----

/// A table of the four nodes as the checks see them.
fn table(server: LockServer, storage: Storage) -> Vec<Option<LockNode>> {
    vec![
        Some(LockNode::LockServer(server)),
        Some(LockNode::Storage(storage)),
        None,
        None,
    ]
}

fn check(p: &mut LockService, nodes: &[Option<LockNode>]) -> Vec<Violation> {
    let mut out = Vec::new();
    p.check(0, LOCK_SERVER, nodes, &mut out);
    out
}

fn granted(tokens: &[(Token, NodeId)]) -> LockServer {
    let mut s = LockServer::recover(ms(500), &Disk::default());
    s.grants = tokens
        .iter()
        .map(|&(token, client)| Granted {
            token,
            client,
            at: ms(token * 100),
        })
        .collect();
    s
}

fn accepted(fencing: bool, writes: &[(Token, NodeId)]) -> Storage {
    let mut st = Storage::recover(fencing, &Disk::default());
    st.accepted = writes
        .iter()
        .enumerate()
        .map(|(i, &(token, client))| Accepted {
            token,
            client,
            key: "k0".into(),
            at: ms(1000 + i as u64),
        })
        .collect();
    st
}

#[test]
fn an_older_holders_write_after_a_newer_holders_breaks_mutual_exclusion() {
    let mut p = service_with(Params {
        fencing: false,
        ..Params::default()
    });
    let ok = table(
        granted(&[(1, C1), (2, C2)]),
        accepted(false, &[(1, C1), (2, C2)]),
    );
    assert_eq!(check(&mut p, &ok), []);
    let zombie = table(
        granted(&[(1, C1), (2, C2)]),
        accepted(false, &[(1, C1), (2, C2), (1, C1)]),
    );
    let v = check(&mut p, &zombie);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].invariant, MUTUAL_EXCLUSION);
    assert_eq!(
        v[0].detail,
        "the storage accepted c1's write to k0 under token 1 at 1.002s, after accepting c2's write to k0 under token 2 at 1.001s: a holder whose lease had run out wrote after a newer holder"
    );
    assert_eq!(p.checker().zombie_writes, 1);
}

#[test]
fn a_reissued_token_breaks_token_monotonicity_across_a_restart() {
    let mut p = service();
    assert_eq!(
        check(
            &mut p,
            &table(granted(&[(1, C1), (2, C2)]), accepted(true, &[]))
        ),
        []
    );
    // The lock server crashed (the checks see it down) and came back having
    // lost its last token: it grants 2 again.
    let mut down = table(granted(&[]), accepted(true, &[]));
    down[0] = None;
    assert_eq!(check(&mut p, &down), []);
    let v = check(&mut p, &table(granted(&[(2, C1)]), accepted(true, &[])));
    assert_eq!(
        v,
        [Violation {
            invariant: TOKEN_MONOTONICITY,
            detail: "the lock server granted token 2 to c1 at 200ms, after granting token 2".into()
        }]
    );
}

#[test]
fn the_node_table_dispatches_to_each_kind_of_node() {
    let p = service();
    let c = cluster();
    let disk = Disk::default();
    let roles: Vec<&str> = (0..4)
        .map(|i| p.build(NodeId(i), &c, &disk).role())
        .collect();
    assert_eq!(roles, ["lock-server", "storage", "client", "client"]);
}
