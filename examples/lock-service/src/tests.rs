//! One node at a time: each test drives one node of the lock service with
//! `sim::testing::Harness` (built from its disk as a run builds it, and
//! rebuilt the same way after a crash), hands it a message, a timer or a
//! request, and asserts the exact effects it records, in order. One test
//! drives the whole service through the zombie's story with
//! `sim::testing::Net`, message by message.

use chaoslab::sim::client::{ClientConfig, RequestId, RetryPolicy, SessionId};
use chaoslab::sim::client::{ATTEMPT_TIMER, BACKOFF_TIMER};
use chaoslab::sim::history::{OpFn, Outcome, Value};
use chaoslab::sim::node::{Cluster, Disk, Effect, Node, NodeId, OpId, Request, TimerId};
use chaoslab::sim::protocol::{Findings, Protocol, Step, Violation};
use chaoslab::sim::testing::{Harness, Net};
use chaoslab::sim::time::{ms, Nanos};

use super::*;

const C1: NodeId = NodeId(2);
const C2: NodeId = NodeId(3);

/// Two servers (the lock server and the storage) and two clients.
fn cluster() -> Cluster {
    Cluster::new(2, 2)
}

/// The protocol with `params`, clients that give an attempt 100ms and do
/// not retry.
fn service_with(params: Params) -> LockService {
    let client = ClientConfig {
        timeout: ms(100),
        retry: RetryPolicy::None,
    };
    LockService::from_parts(params, client, &cluster())
}

fn service() -> LockService {
    service_with(Params::default())
}

/// Node `me` of the lock service with `params`, built by the protocol as a
/// run builds it (and rebuilt from what of its disk survives a restart), at
/// time 0 with perfect clocks.
fn node_with(me: NodeId, params: Params) -> Harness<LockNode> {
    Harness::build(cluster(), me, move |cluster, id, disk| {
        service_with(params.clone()).build(id, cluster, disk)
    })
}

fn node(me: NodeId) -> Harness<LockNode> {
    node_with(me, Params::default())
}

/// The lock server, having granted the lock to c1 (token 1) at time 0.
fn held_by_c1() -> Harness<LockNode> {
    let mut h = node(LOCK_SERVER);
    h.deliver(C1, acquire(C1, 1));
    h
}

fn rid(client: NodeId, seq: u64) -> RequestId {
    let session = SessionId {
        client,
        incarnation: 0,
    };
    RequestId { session, seq }
}

// The effects and messages the tests expect, by short names.

fn send(to: NodeId, msg: Msg) -> Effect<Msg> {
    Effect::Send { to, msg }
}

fn set(id: TimerId, after: Nanos) -> Effect<Msg> {
    Effect::SetTimer { id, after }
}

fn cancel(id: TimerId) -> Effect<Msg> {
    Effect::CancelTimer { id }
}

fn note(note: &'static str) -> Effect<Msg> {
    Effect::Note { note }
}

/// A client operation completed: `served` unless it timed out (`Info`).
fn complete(op: u64, outcome: Outcome, output: Option<Value>) -> Effect<Msg> {
    Effect::Complete {
        op: OpId(op),
        served: outcome != Outcome::Info,
        outcome,
        output,
        found_other: false,
    }
}

/// What a client does when an attempt ends: both of the client core's
/// timers go.
fn attempt_over() -> [Effect<Msg>; 2] {
    [cancel(ATTEMPT_TIMER), cancel(BACKOFF_TIMER)]
}

/// What the lock server does when it grants the lock to `client`'s request
/// `seq`: a lease timer, a note, and the grant of `token` for a whole
/// (default) lease.
fn grants(client: NodeId, seq: u64, token: Token) -> [Effect<Msg>; 3] {
    let lease = ms(500);
    [
        set(LEASE_TIMER, lease),
        note("granted"),
        send(client, grant(client, seq, token, lease)),
    ]
}

fn acquire(client: NodeId, seq: u64) -> Msg {
    Msg::Acquire {
        id: rid(client, seq),
    }
}

fn grant(client: NodeId, seq: u64, token: Token, lease: Nanos) -> Msg {
    let id = rid(client, seq);
    Msg::Grant { id, token, lease }
}

fn write(client: NodeId, seq: u64, token: Token, f: OpFn) -> Msg {
    let (id, key) = (rid(client, seq), "k0".to_string());
    Msg::Write { id, token, key, f }
}

fn put(client: NodeId, seq: u64, token: Token, v: i64) -> Msg {
    write(client, seq, token, OpFn::Write(Value::Int(v)))
}

fn reply(client: NodeId, seq: u64, result: WriteResult) -> Msg {
    let id = rid(client, seq);
    Msg::WriteReply { id, result }
}

fn server(h: &Harness<LockNode>) -> &LockServer {
    h.node.as_lock_server().expect("a lock server")
}

fn storage(h: &Harness<LockNode>) -> &Storage {
    h.node.as_storage().expect("a storage")
}

fn client(h: &Harness<LockNode>) -> &Client {
    h.node.as_client().expect("a client")
}

// ----- the lock server -----

#[test]
fn a_free_lock_is_granted_with_token_1_synced_before_it_is_sent() {
    let mut h = node(LOCK_SERVER);
    h.advance(ms(10));
    let fx = h.deliver(C1, acquire(C1, 1));
    assert_eq!(fx.0, grants(C1, 1, 1));
    assert_eq!(h.disk.get::<Token>(TOKEN_KEY), Some(&1));
    assert_eq!(h.disk.counters(), (1, 1), "one write, synced");
    let holder = server(&h).holder().map(|h| (h.client, h.token, h.expires));
    assert_eq!(holder, Some((C1, 1, ms(510))));
}

#[test]
fn a_held_lock_queues_the_next_client_and_a_release_hands_it_token_2() {
    let mut h = held_by_c1();
    h.advance(ms(5));
    let fx = h.deliver(C2, acquire(C2, 1));
    assert_eq!(fx.0, [], "c2 waits");
    assert_eq!(server(&h).queue_len(), 1);
    // A release under another token (an old holder's) changes nothing.
    h.advance(ms(1));
    assert_eq!(h.deliver(C2, Msg::Release { token: 7 }).0, []);
    h.advance(ms(54));
    let fx = h.deliver(C1, Msg::Release { token: 1 });
    let [a, b, c] = grants(C2, 1, 2);
    assert_eq!(fx.0, [cancel(LEASE_TIMER), note("released"), a, b, c]);
}

#[test]
fn an_expired_lease_frees_the_lock_whatever_the_holder_believes() {
    let mut h = held_by_c1();
    h.advance(ms(1));
    h.deliver(C2, acquire(C2, 1));
    h.advance(ms(499));
    let fx = h.fire(LEASE_TIMER);
    let [a, b, c] = grants(C2, 1, 2);
    assert_eq!(fx.0, [note("lease-expired"), a, b, c]);
    assert_eq!(server(&h).expired, 1);
}

#[test]
fn a_lease_timer_that_fires_early_waits_for_the_rest_of_the_lease() {
    let mut h = held_by_c1();
    h.advance(ms(400));
    assert_eq!(h.fire(LEASE_TIMER).0, [set(LEASE_TIMER, ms(100))]);
    assert!(server(&h).holder().is_some());
}

#[test]
fn a_retried_acquire_of_the_holder_gets_the_same_token_and_what_is_left_of_the_lease() {
    let mut h = held_by_c1();
    h.advance(ms(100));
    let fx = h.deliver(C1, acquire(C1, 1));
    assert_eq!(fx.0, [send(C1, grant(C1, 1, 1, ms(400)))]);
    assert_eq!(server(&h).last_token(), 1);
}

#[test]
fn a_restarted_lock_server_continues_its_tokens_after_one_lease_of_quiet() {
    let mut h = node(LOCK_SERVER);
    // Five grants, then a crash: only the synced last token survives.
    for seq in 1..=5 {
        h.deliver(C1, acquire(C1, seq));
        h.deliver(C1, Msg::Release { token: seq });
    }
    h.restart();
    assert_eq!((server(&h).last_token(), server(&h).holder()), (5, None));
    h.advance(ms(1000));
    assert_eq!(h.start().0, [set(GRACE_TIMER, ms(500))]);
    h.advance(ms(100));
    let fx = h.deliver(C1, acquire(C1, 6));
    assert_eq!(fx.0, [], "a holder of its last life may still be writing");
    h.advance(ms(400));
    let fx = h.fire(GRACE_TIMER);
    assert_eq!(fx.0, grants(C1, 6, 6));
}

// ----- the storage -----

fn unfenced() -> Params {
    Params {
        fencing: false,
        ..Params::default()
    }
}

#[test]
fn with_fencing_the_storage_refuses_a_token_older_than_one_it_accepted() {
    let mut h = node(STORAGE);
    let fx = h.deliver(C2, put(C2, 1, 4, 40));
    assert_eq!(fx.0, [send(C2, reply(C2, 1, WriteResult::Applied))]);
    let fx = h.deliver(C1, put(C1, 1, 3, 30));
    let stale = WriteResult::Stale { highest: 4 };
    assert_eq!(
        fx.0,
        [note("stale-token-rejected"), send(C1, reply(C1, 1, stale))]
    );
    let st = storage(&h);
    assert_eq!(st.get("k0"), Value::Int(40));
    assert_eq!((st.highest(), st.rejected), (4, 1));
}

#[test]
fn without_fencing_the_storage_takes_the_older_token_over_the_newer_write() {
    let mut h = node_with(STORAGE, unfenced());
    h.deliver(C2, put(C2, 1, 4, 40));
    let fx = h.deliver(C1, put(C1, 1, 3, 30));
    assert_eq!(fx.0, [send(C1, reply(C1, 1, WriteResult::Applied))]);
    assert_eq!(storage(&h).get("k0"), Value::Int(30));
    assert_eq!(storage(&h).highest(), 4, "the highest token is remembered");
}

#[test]
fn a_retried_write_is_answered_from_the_session_table_not_applied_again() {
    let mut h = node(STORAGE);
    let append = write(C1, 1, 1, OpFn::Append(Value::Int(9)));
    h.deliver(C1, append.clone());
    // The storage restarts from its synced state, then the retry arrives.
    h.restart();
    let fx = h.deliver(C1, append);
    assert_eq!(fx.0, [send(C1, reply(C1, 1, WriteResult::Applied))]);
    assert_eq!(storage(&h).get("k0"), Value::List(vec![9]));
    let accepted = &storage(&h).accepted;
    assert!(accepted.is_empty(), "nothing applied in this incarnation");
}

// ----- the client -----

fn request(op: u64, key: &str, f: OpFn) -> Request {
    Request {
        id: OpId(op),
        key: key.into(),
        f,
    }
}

/// A client that asked for the lock to write 7 to `k1`, and got it under
/// token 3.
fn holder() -> Harness<LockNode> {
    let mut h = node(C1);
    h.request(request(0, "k1", OpFn::Write(Value::Int(7))));
    h.advance(ms(1));
    h.deliver(LOCK_SERVER, grant(C1, 1, 3, ms(500)));
    h
}

#[test]
fn a_write_takes_the_lock_works_writes_under_the_token_and_releases() {
    let mut h = node(C1);
    let fx = h.request(request(0, "k1", OpFn::Write(Value::Int(7))));
    assert_eq!(
        fx.0,
        [
            set(ATTEMPT_TIMER, ms(100)),
            send(LOCK_SERVER, acquire(C1, 1))
        ]
    );
    assert_eq!(h.node.role(), "client");
    h.advance(ms(2));
    let fx = h.deliver(LOCK_SERVER, grant(C1, 1, 3, ms(500)));
    let [a, b] = attempt_over();
    assert_eq!(fx.0, [a, b, set(WORK_TIMER, ms(50))]);
    assert_eq!(h.node.role(), "holder");
    h.advance(ms(50));
    let fx = h.fire(WORK_TIMER);
    let (id, key, f) = (rid(C1, 1), "k1".to_string(), OpFn::Write(Value::Int(7)));
    let write = Msg::Write {
        id,
        token: 3,
        key,
        f,
    };
    assert_eq!(fx.0, [set(ATTEMPT_TIMER, ms(100)), send(STORAGE, write)]);
    h.advance(ms(2));
    let fx = h.deliver(STORAGE, reply(C1, 1, WriteResult::Applied));
    let [a, b] = attempt_over();
    assert_eq!(
        fx.0,
        [
            a,
            b,
            complete(0, Outcome::Ok, None),
            send(LOCK_SERVER, Msg::Release { token: 3 }),
        ]
    );
    assert_eq!((h.node.role(), client(&h).phase()), ("client", Phase::Idle));
}

#[test]
fn a_fenced_write_fails_for_certain_and_the_lock_is_released() {
    let mut h = holder();
    // A long pause: the work timer fires late, and the client writes anyway.
    h.advance(ms(2000));
    h.fire(WORK_TIMER);
    h.advance(ms(2));
    let fx = h.deliver(STORAGE, reply(C1, 1, WriteResult::Stale { highest: 4 }));
    let [a, b] = attempt_over();
    assert_eq!(
        fx.0,
        [
            note("fenced"),
            a,
            b,
            complete(0, Outcome::Fail, None),
            send(LOCK_SERVER, Msg::Release { token: 3 }),
        ]
    );
    assert_eq!(client(&h).fenced, 1);
}

#[test]
fn a_duplicate_of_the_grant_a_client_works_under_is_kept() {
    let mut h = holder();
    let fx = h.deliver(LOCK_SERVER, grant(C1, 1, 3, ms(500)));
    assert_eq!(fx.0, [], "no release of its own token");
    assert_eq!(client(&h).phase(), Phase::Working { token: 3 });
}

#[test]
fn a_grant_that_comes_after_the_client_gave_up_is_handed_straight_back() {
    let mut h = node(C1);
    h.request(request(0, "k1", OpFn::Write(Value::Int(7))));
    h.advance(ms(100));
    let fx = h.fire(ATTEMPT_TIMER);
    let [a, b] = attempt_over();
    assert_eq!(fx.0, [a, b, complete(0, Outcome::Info, None)]);
    h.advance(ms(50));
    let fx = h.deliver(LOCK_SERVER, grant(C1, 1, 9, ms(500)));
    assert_eq!(fx.0, [send(LOCK_SERVER, Msg::Release { token: 9 })]);
    assert_eq!(h.node.role(), "client");
}

#[test]
fn a_read_goes_straight_to_storage_without_the_lock() {
    let mut h = node(C1);
    let fx = h.request(request(4, "k2", OpFn::Read));
    let (id, key) = (rid(C1, 1), "k2".to_string());
    assert_eq!(
        fx.0,
        [
            set(ATTEMPT_TIMER, ms(100)),
            send(STORAGE, Msg::Read { id, key })
        ]
    );
    h.advance(ms(3));
    let value = Value::Int(5);
    let fx = h.deliver(STORAGE, Msg::ReadReply { id, value });
    let [a, b] = attempt_over();
    assert_eq!(fx.0, [a, b, complete(4, Outcome::Ok, Some(Value::Int(5)))]);
}

// ----- the whole service, by hand -----

/// The zombie's story, every message delivered and every timer fired by
/// hand on a `Net` of the four nodes: c1 takes the lock to write 1 to `k1`
/// and pauses before it writes (its work timer does not fire); its lease
/// runs out; c2 takes the lock and writes 2; then c1 wakes and writes under
/// its old token. The protocol's checks run after every step.
fn zombie(params: Params) -> Net<LockService> {
    let mut net = Net::new(service_with(params), cluster());
    net.start_all();
    net.request(C1, request(1, "k1", OpFn::Write(Value::Int(1))));
    net.deliver_all();
    assert_eq!(net.node(C1).role(), "holder");
    net.advance(ms(600));
    let fx = net.fire(LOCK_SERVER, LEASE_TIMER);
    assert_eq!(fx.notes(), ["lease-expired"]);
    net.request(C2, request(2, "k1", OpFn::Write(Value::Int(2))));
    net.deliver_all();
    net.fire(C2, WORK_TIMER);
    net.deliver_all();
    let done = |net: &Net<LockService>, op| net.completion(OpId(op)).map(|c| c.outcome);
    assert_eq!(done(&net, 2), Some(Outcome::Ok));
    net.advance(ms(1));
    net.fire(C1, WORK_TIMER);
    assert_eq!(net.in_flight().len(), 1, "c1's write, under token 1");
    net.deliver_all();
    net
}

#[test]
fn a_zombie_driven_by_hand_is_fenced_off_and_without_fencing_overwrites_the_new_holder() {
    let fenced = zombie(Params::default());
    fenced.assert_no_violations();
    let c1 = fenced.completion(OpId(1)).map(|c| c.outcome);
    assert_eq!(c1, Some(Outcome::Fail), "refused for certain");
    assert_eq!(fenced.effects(C1).notes(), ["fenced"]);

    let zombie = zombie(unfenced());
    let found: Vec<(NodeId, &str)> = (zombie.violations().iter())
        .map(|f| (f.node, f.violation.invariant))
        .collect();
    assert_eq!(found, [(STORAGE, MUTUAL_EXCLUSION)]);
    let c1 = zombie.completion(OpId(1)).map(|c| c.outcome);
    assert_eq!(c1, Some(Outcome::Ok), "the zombie's write landed");
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
    let mut out = Findings::new();
    let step = Step {
        now: 0,
        stepped: LOCK_SERVER,
        nodes,
    };
    p.check(step, &mut out);
    out.violations().to_vec()
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
    let mut p = service_with(unfenced());
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

// ----- the node enum -----

#[test]
fn each_node_reports_its_role_and_the_metrics_are_the_declared_ones() {
    let p = service();
    let (c, disk) = (cluster(), Disk::default());
    let nodes: Vec<Option<LockNode>> = (0..4)
        .map(|i| Some(p.build(NodeId(i), &c, &disk)))
        .collect();
    let roles: Vec<&str> = nodes.iter().flatten().map(|n| n.role()).collect();
    assert_eq!(roles, ["lock-server", "storage", "client", "client"]);
    let mut metrics = chaoslab::sim::metric::Metrics::new();
    p.metrics(&nodes, &mut metrics);
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    let declared: Vec<&str> = METRICS.iter().map(|f| f.name).collect();
    assert_eq!(names, declared);
    chaoslab::sim::metric::check_declared(&metrics, METRICS).unwrap();
}
