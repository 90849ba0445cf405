//! Client interaction (Raft §8): redirects, sessions that apply a command
//! once, ReadIndex and lease reads (dissertation §6.4), and the client.

use super::*;

/// Request `seq` of the test client `NodeId(1)`, first incarnation.
fn client_request(seq: u64, f: OpFn) -> Msg {
    Msg::ClientRequest {
        id: request_id(NodeId(1), 0, seq),
        key: "x".into(),
        f: Box::new(f),
    }
}

fn client_replies(effects: &[Effect<Msg>]) -> Vec<(u64, ClientResult)> {
    sends(effects)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Msg::ClientReply { id, result } => Some((id.seq, result)),
            _ => None,
        })
        .collect()
}

#[test]
fn raft_8_a_follower_redirects_a_client_to_the_leader_it_knows() {
    let c1 = NodeId(3);
    let mut s = solo(N2, 3, 1, Params::default());
    s.deliver(N1, append(1, 0, 0, vec![], 0));
    let effects = s.deliver(c1, client_request(1, OpFn::Read));
    assert_eq!(
        sends(&effects),
        vec![(
            c1,
            Msg::ClientReply {
                id: request_id(NodeId(1), 0, 1),
                result: ClientResult::NotLeader(Some(N1))
            }
        )]
    );
}

#[test]
fn raft_8_a_retried_command_is_applied_once() {
    let c1 = NodeId(1);
    let mut s = solo(N1, 1, 1, Params::default());
    s.fire(ELECTION_TIMER);
    assert_eq!(
        s.node.role(),
        Role::Leader,
        "a one-server cluster elects itself"
    );
    let append = OpFn::Append(Value::Int(5));
    let effects = s.deliver(c1, client_request(1, append.clone()));
    assert_eq!(client_replies(&effects), vec![(1, ClientResult::Ok(None))]);
    // The reply was lost; the client retries with the same sequence number.
    let effects = s.deliver(c1, client_request(1, append));
    assert_eq!(client_replies(&effects), vec![(1, ClientResult::Ok(None))]);
    assert_eq!(s.node.log().last_index(), 3, "both attempts are in the log");
    assert_eq!(s.node.kv().read("x"), Value::List(vec![5]), "applied once");

    let effects = s.deliver(c1, client_request(2, OpFn::Read));
    assert_eq!(
        client_replies(&effects),
        vec![(2, ClientResult::Ok(Some(Value::List(vec![5]))))]
    );
}

#[test]
fn raft_8_a_restarted_client_is_a_new_session_whose_writes_are_applied() {
    // Issue 22 item 1: a restarted client numbers its requests from 1 again.
    // Keyed by node and seq alone, its new write 1 would be taken for a retry
    // of its old write 1 and answered from the cache without being applied.
    let c1 = NodeId(1);
    let mut s = solo(N1, 1, 1, Params::default());
    s.fire(ELECTION_TIMER);
    let write = |incarnation, seq, v| Msg::ClientRequest {
        id: request_id(c1, incarnation, seq),
        key: "x".into(),
        f: Box::new(OpFn::Write(Value::Int(v))),
    };
    s.deliver(c1, write(0, 1, 10));
    s.deliver(c1, write(0, 2, 20));
    assert_eq!(s.node.kv().read("x"), Value::Int(20));

    // The client crashes and restarts: incarnation 1, seq 1 again.
    let effects = s.deliver(c1, write(1, 1, 30));
    assert_eq!(client_replies(&effects), vec![(1, ClientResult::Ok(None))]);
    assert_eq!(
        s.node.kv().read("x"),
        Value::Int(30),
        "the new session's write is applied"
    );

    // A retry of the old incarnation's last write, delayed in the network,
    // commits now: its process is gone, and it is not applied.
    let effects = s.deliver(c1, write(0, 2, 20));
    assert_eq!(client_replies(&effects), vec![], "nobody waits for it");
    assert_eq!(s.node.kv().read("x"), Value::Int(30));

    // The new session goes on as usual, retries included.
    s.deliver(c1, write(1, 2, 40));
    let effects = s.deliver(c1, write(1, 2, 40));
    assert_eq!(client_replies(&effects), vec![(2, ClientResult::Ok(None))]);
    assert_eq!(s.node.kv().read("x"), Value::Int(40));
}

#[test]
fn raft_8_a_cas_with_the_wrong_expected_value_fails() {
    let c1 = NodeId(1);
    let mut s = solo(N1, 1, 1, Params::default());
    s.fire(ELECTION_TIMER);
    s.deliver(c1, client_request(1, OpFn::Write(Value::Int(1))));
    let cas = |e, n| OpFn::Cas {
        expected: Value::Int(e),
        new: Value::Int(n),
    };
    let effects = s.deliver(c1, client_request(2, cas(7, 2)));
    assert_eq!(
        client_replies(&effects),
        vec![(2, ClientResult::CasMismatch)]
    );
    let effects = s.deliver(c1, client_request(3, cas(1, 2)));
    assert_eq!(client_replies(&effects), vec![(3, ClientResult::Ok(None))]);
    assert_eq!(s.node.kv().read("x"), Value::Int(2));
}

#[test]
fn dissertation_6_4_a_read_index_read_waits_for_a_heartbeat_round_from_a_majority() {
    let c1 = NodeId(3);
    let params = Params {
        read_mode: ReadMode::ReadIndex,
        ..Params::default()
    };
    let mut s = solo(N1, 3, 1, params);
    win_term_1(&mut s);
    s.deliver(N2, ok_reply(1, 1));
    assert_eq!(s.node.commit_index(), 1);
    let effects = s.deliver(c1, client_request(1, OpFn::Read));
    assert!(
        client_replies(&effects).is_empty(),
        "not before leadership is confirmed"
    );
    let round = sends(&effects)
        .iter()
        .find_map(|(_, m)| match m {
            Msg::AppendEntries { round, .. } => Some(*round),
            _ => None,
        })
        .unwrap();
    assert_eq!(s.node.log().last_index(), 1, "the read is not in the log");
    let effects = s.deliver(N3, ack(1, 1, round));
    assert_eq!(
        client_replies(&effects),
        vec![(1, ClientResult::Ok(Some(Value::Nil)))]
    );
}

#[test]
fn dissertation_6_4_1_a_lease_read_is_answered_alone_while_the_lease_holds() {
    let c1 = NodeId(3);
    let mut s = lease_leader();
    // The lease: 150ms from the round's start, times (1 - 0.1) / (1 + 0.1)
    // for drift: about 122.7ms.
    s.now = ms(100);
    let effects = s.deliver(c1, client_request(1, OpFn::Read));
    assert_eq!(
        client_replies(&effects),
        vec![(1, ClientResult::Ok(Some(Value::Nil)))]
    );
    assert!(sends(&effects).len() == 1, "no heartbeat round needed");
    s.now = ms(140);
    let effects = s.deliver(c1, client_request(2, OpFn::Read));
    assert!(
        client_replies(&effects).is_empty(),
        "140ms later the lease is over"
    );
}

/// Lease reads, everything else the default.
fn lease_params() -> Params {
    Params {
        read_mode: ReadMode::Lease,
        ..Params::default()
    }
}

/// A leader whose lease is confirmed at 0 (round 1 acknowledged).
fn lease_leader() -> Solo {
    let params = lease_params();
    let mut s = solo(N1, 3, 1, params);
    win_term_1(&mut s);
    s.deliver(N2, ack(1, 1, 1));
    s
}

#[test]
fn dissertation_6_4_1_a_wall_clock_stepped_back_does_not_stretch_the_lease() {
    // Issue 22: the lease was an absolute deadline on the wall clock, so an
    // NTP step back of 1s at 50ms kept it "valid" for another second while
    // the followers, whose promise ends after 150ms, elect a new leader. The
    // lease is elapsed time on the monotonic clock, which never steps.
    let c1 = NodeId(3);
    let mut s = lease_leader();
    s.now = ms(50);
    s.clock = s.clock.set(ms(50), Some(-(ms(1_000) as i64)), None);
    let effects = s.deliver(c1, client_request(1, OpFn::Read));
    assert_eq!(
        client_replies(&effects),
        vec![(1, ClientResult::Ok(Some(Value::Nil)))],
        "inside the lease the step changes nothing"
    );
    s.now = ms(140);
    let effects = s.deliver(c1, client_request(2, OpFn::Read));
    assert!(
        client_replies(&effects).is_empty(),
        "the lease ended 140ms after it began, whatever the wall clock says"
    );
}

#[test]
fn dissertation_6_4_1_the_lease_margin_covers_a_slow_leader_and_fast_followers() {
    // With max_clock_drift = 0.5 a leader whose clock runs 50% slow and a
    // follower whose clock runs 50% fast are both within the bound. The
    // follower's promise lasts 150ms by its clock, 100ms of real time; the
    // lease, 150ms x 0.5 / 1.5 = 50ms by the leader's slow clock, lasts
    // 100ms of real time too, so it ends no later than the promise.
    let c1 = NodeId(3);
    let params = Params {
        read_mode: ReadMode::Lease,
        max_clock_drift: 0.5,
        ..Params::default()
    };
    let mut s = solo(N1, 3, 1, params);
    s.clock = Clock::default().set(0, None, Some(-0.5));
    win_term_1(&mut s);
    s.deliver(N2, ack(1, 1, 1));
    s.now = ms(99);
    let effects = s.deliver(c1, client_request(1, OpFn::Read));
    assert_eq!(client_replies(&effects).len(), 1, "99ms real: inside");
    s.now = ms(101);
    let effects = s.deliver(c1, client_request(2, OpFn::Read));
    assert!(client_replies(&effects).is_empty(), "101ms real: over");
}

#[test]
fn dissertation_6_4_1_a_wall_clock_stepped_forward_does_not_end_a_followers_promise() {
    // The follower's side of the lease: no vote for anyone within
    // election_timeout_min of hearing from the leader, by its monotonic
    // clock. A wall clock stepped 1s forward must not end the promise early.
    let params = lease_params();
    let mut s = solo(N2, 3, 0, params);
    s.now = ms(1_000);
    s.deliver(
        N1,
        Msg::AppendEntries {
            term: 1,
            prev_index: 0,
            prev_term: 0,
            entries: Entries::default(),
            commit: 0,
            round: 1,
        },
    );
    s.now = ms(1_010);
    s.clock = s.clock.set(ms(1_010), Some(ms(1_000) as i64), None);
    s.now = ms(1_020);
    let effects = s.deliver(N3, vote_request(2, 0, 0));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::RequestVoteReply { granted: false, .. }
    ));
}

// ---- The client ----

/// The client of `servers` servers, retrying three times 10ms apart.
fn client_node(servers: usize) -> Harness<RaftNode> {
    let cluster = Cluster::new(servers, 1);
    let config = ClientConfig {
        timeout: ms(100),
        retry: RetryPolicy::Fixed {
            delay: ms(10),
            attempts: 3,
        },
    };
    let id = cluster.clients()[0];
    let client = Client::new(id, cluster.servers(), config);
    Harness::new(cluster, id, RaftNode::Client(client)).seeded(1)
}

fn client_of(h: &Harness<RaftNode>) -> &Client {
    h.node.as_client().expect("the client")
}

#[test]
fn raft_8_a_client_follows_the_leader_hint_and_retries_with_the_same_sequence_number() {
    let mut c = client_node(3);
    let req = Request {
        id: OpId(7),
        key: "k".into(),
        f: OpFn::Write(Value::Int(1)),
    };
    let effects = c.request(req);
    let (first, msg) = sends(&effects).remove(0);
    assert_eq!(msg, client_request_on("k", 1, OpFn::Write(Value::Int(1))));

    // "Not the leader; n3 is."
    let effects = c.deliver(
        first,
        Msg::ClientReply {
            id: request_id(NodeId(3), 0, 1),
            result: ClientResult::NotLeader(Some(N3)),
        },
    );
    assert_eq!(sends(&effects)[0].0, N3);
    assert_eq!(client_of(&c).leader(), Some(N3));

    // The attempt times out: the retry keeps sequence number 1, so the
    // session table applies the write once even if both attempts land.
    c.fire(sim::client::ATTEMPT_TIMER);
    let effects = c.fire(sim::client::BACKOFF_TIMER);
    let (to, msg) = sends(&effects).remove(0);
    assert_ne!(to, N3, "a silent leader is abandoned for the next server");
    assert_eq!(msg, client_request_on("k", 1, OpFn::Write(Value::Int(1))));

    // An answer completes the operation once; a late duplicate is ignored.
    let ok = Msg::ClientReply {
        id: request_id(NodeId(3), 0, 1),
        result: ClientResult::Ok(None),
    };
    let effects = c.deliver(to, ok.clone());
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Complete {
            op: OpId(7),
            outcome: Outcome::Ok,
            ..
        }
    )));
    let effects = c.deliver(N3, ok);
    assert!(effects.is_empty());
    assert!(!client_of(&c).busy());
}

/// Request `seq` of the client of `client_node` (`NodeId(3)`).
fn client_request_on(key: &str, seq: u64, f: OpFn) -> Msg {
    Msg::ClientRequest {
        id: request_id(NodeId(3), 0, seq),
        key: key.into(),
        f: Box::new(f),
    }
}

#[test]
fn dissertation_6_4_1_with_leases_a_restarted_server_waits_an_election_timeout_before_voting() {
    let params = lease_params();
    let mut s = solo(N2, 3, 0, params);
    s.now = ms(1_000);
    s.start();
    s.now = ms(1_100);
    let effects = s.deliver(N3, vote_request(1, 0, 0));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::RequestVoteReply { granted: false, .. }
    ));
    s.now = ms(1_151);
    let effects = s.deliver(N3, vote_request(1, 0, 0));
    assert_eq!(sends(&effects), vec![(N3, granted(1))]);
}
