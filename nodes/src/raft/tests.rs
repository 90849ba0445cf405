//! Unit tests: drive servers by hand and assert the exact effects they record,
//! citing the section of the Raft paper each one checks. The `Net` harness at
//! the end delivers messages and fires timers between a few nodes in a
//! deterministic loop, for whole-cluster behaviour without the kernel.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::client::{ClientConfig, RequestId, RetryPolicy, SessionId};
use sim::history::{OpFn, Outcome, Value};
use sim::node::{Clock, Cluster, Ctx, Disk, Effect, Node, NodeId, OpId, Request, TimerId};
use sim::protocol::{Protocol, Violation};
use sim::testing::{sends, Handlers, Harness};
use sim::time::{ms, Nanos};

use super::server::{ELECTION_TIMER, HEARTBEAT_TIMER};
use super::*;

const N1: NodeId = NodeId(0);
const N2: NodeId = NodeId(1);
const N3: NodeId = NodeId(2);

/// A server driven by hand: the harness rebuilds it from its disk on restart.
type Solo = Harness<Server>;

impl Handlers<Msg> for Server {
    fn handle_start(&mut self, ctx: &mut Ctx<Msg>) {
        self.on_start(ctx)
    }
    fn handle_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        self.on_message(ctx, from, msg)
    }
    fn handle_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        self.on_timer(ctx, timer)
    }
}

/// Server `id` of `servers` (and `clients` clients), on an empty disk.
fn solo(id: NodeId, servers: usize, clients: usize, params: Params) -> Solo {
    solo_on(id, servers, clients, params, Disk::default())
}

fn solo_on(id: NodeId, servers: usize, clients: usize, params: Params, disk: Disk) -> Solo {
    let cluster = Cluster::new(servers, clients);
    Harness::build_on(cluster, id, disk, move |cluster, id, disk| {
        Server::from_disk(id, cluster.servers(), params.clone(), disk)
    })
}

/// A server whose disk already holds `term` and a log with these terms.
fn with_log(id: NodeId, servers: usize, params: Params, term: u64, terms: &[u64]) -> Solo {
    let mut disk = Disk::default();
    disk.put(("term", 0), term);
    for (i, t) in terms.iter().enumerate() {
        disk.put(("log", i as u64 + 1), entry(*t, i as u64 + 1));
    }
    disk.sync();
    solo_on(id, servers, 0, params, disk)
}

fn entry(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        command: Command::Client {
            id: request_id(NodeId(99), 0, index),
            key: "k".into(),
            f: OpFn::Write(Value::Int(index as i64)),
        }
        .into(),
    }
}

fn vote_request(term: u64, last_index: u64, last_term: u64) -> Msg {
    Msg::RequestVote {
        term,
        last_index,
        last_term,
        pre_vote: false,
    }
}

fn granted(term: u64) -> Msg {
    Msg::RequestVoteReply {
        term,
        granted: true,
        pre_vote: false,
    }
}

/// AppendEntries of heartbeat round 0.
fn append(term: u64, prev_index: u64, prev_term: u64, entries: Vec<Entry>, commit: u64) -> Msg {
    Msg::AppendEntries {
        term,
        prev_index,
        prev_term,
        entries,
        commit,
        round: 0,
    }
}

fn ok_reply(term: u64, match_index: u64) -> Msg {
    ack(term, match_index, 0)
}

/// A successful AppendEntriesReply acknowledging heartbeat round `round`.
fn ack(term: u64, match_index: u64, round: u64) -> Msg {
    Msg::AppendEntriesReply {
        term,
        success: true,
        match_index,
        rejected: 0,
        conflict_term: None,
        conflict_index: 0,
        round,
    }
}

/// n1 times out and wins term 1 with n2's vote.
fn win_term_1(s: &mut Solo) {
    s.fire(ELECTION_TIMER);
    s.deliver(N2, granted(1));
}

fn log_terms(s: &Server) -> Vec<u64> {
    (1..=s.log().last_index())
        .map(|i| s.log().term_at(i).unwrap())
        .collect()
}

// ---- §5.2 Leader election ----

#[test]
fn raft_5_2_a_follower_starts_with_a_randomized_election_timer() {
    let mut s = solo(N1, 3, 0, Params::default());
    let effects = s.start();
    assert_eq!(effects.len(), 1);
    let Effect::SetTimer { id, after } = effects[0] else {
        panic!("{effects:?}")
    };
    assert_eq!(id, ELECTION_TIMER);
    assert!((ms(150)..=ms(300)).contains(&after), "{after}");
    assert_eq!(s.node.role(), Role::Follower);
}

#[test]
fn raft_5_2_a_follower_that_times_out_becomes_candidate_and_requests_votes() {
    let mut s = solo(N1, 3, 0, Params::default());
    let effects = s.fire(ELECTION_TIMER);
    assert_eq!(s.node.role(), Role::Candidate);
    assert_eq!(s.node.term(), 1);
    assert_eq!(s.node.vote(), Some(N1));
    // The new term and the self-vote are durable before any request leaves.
    assert_eq!(s.disk.get::<u64>(("term", 0)), Some(&1));
    assert_eq!(s.disk.get::<Option<NodeId>>(("vote", 0)), Some(&Some(N1)));
    assert_eq!(s.syncs(), 1);
    assert_eq!(
        sends(&effects),
        vec![(N2, vote_request(1, 0, 0)), (N3, vote_request(1, 0, 0))]
    );
    assert!(effects.timer(ELECTION_TIMER).is_some());
}

#[test]
fn raft_5_2_a_candidate_with_a_majority_of_votes_becomes_leader_and_appends_a_noop() {
    let mut s = solo(N1, 3, 0, Params::default());
    s.fire(ELECTION_TIMER);
    let effects = s.deliver(N2, granted(1));
    assert_eq!(s.node.role(), Role::Leader);
    assert_eq!(s.node.leader(), Some(N1));
    // §8: the leader's first entry is a no-op of its own term.
    assert_eq!(*s.node.log().get(1).unwrap().command, Command::Noop);
    let out = sends(&effects);
    assert_eq!(out.len(), 2);
    for (_, m) in &out {
        assert!(
            matches!(m, Msg::AppendEntries { term: 1, prev_index: 0, entries, .. } if entries.len() == 1)
        );
    }
    assert!(effects.timer(HEARTBEAT_TIMER).is_some());
}

#[test]
fn raft_5_2_a_vote_is_granted_once_per_term_and_synced_before_the_reply() {
    let mut s = solo(N2, 3, 0, Params::default());
    let before = s.syncs();
    let effects = s.deliver(N1, vote_request(1, 0, 0));
    assert_eq!(sends(&effects), vec![(N1, granted(1))]);
    assert_eq!(s.disk.get::<Option<NodeId>>(("vote", 0)), Some(&Some(N1)));
    assert_eq!(s.disk.get::<u64>(("term", 0)), Some(&1));
    assert_eq!(s.syncs(), before + 1, "the vote is synced before the reply");

    // Another candidate of the same term is refused.
    let effects = s.deliver(N3, vote_request(1, 0, 0));
    assert_eq!(
        sends(&effects),
        vec![(
            N3,
            Msg::RequestVoteReply {
                term: 1,
                granted: false,
                pre_vote: false
            }
        )]
    );
    // The same candidate asking again (a retransmission) gets the same answer.
    let effects = s.deliver(N1, vote_request(1, 0, 0));
    assert_eq!(sends(&effects), vec![(N1, granted(1))]);
}

#[test]
fn raft_5_4_1_a_vote_is_refused_to_a_candidate_with_a_less_up_to_date_log() {
    let mut s = with_log(N2, 3, Params::default(), 2, &[1, 2]);
    // Same last term, shorter log.
    let effects = s.deliver(N1, vote_request(3, 1, 2));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::RequestVoteReply {
            granted: false,
            term: 3,
            ..
        }
    ));
    // Older last term, longer log.
    let effects = s.deliver(N3, vote_request(3, 5, 1));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::RequestVoteReply { granted: false, .. }
    ));
    assert_eq!(s.node.vote(), None);
}

#[test]
fn raft_5_1_a_message_from_a_stale_term_is_rejected_with_the_current_term() {
    let mut s = with_log(N2, 3, Params::default(), 3, &[1]);
    let effects = s.deliver(N1, append(2, 1, 1, vec![entry(2, 2)], 1));
    let out = sends(&effects);
    assert!(matches!(
        out[0].1,
        Msg::AppendEntriesReply {
            term: 3,
            success: false,
            ..
        }
    ));
    assert_eq!(s.node.log().last_index(), 1, "nothing appended");
    assert_eq!(s.node.commit_index(), 0);

    let effects = s.deliver(N3, vote_request(2, 9, 2));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::RequestVoteReply {
            term: 3,
            granted: false,
            ..
        }
    ));
}

#[test]
fn raft_5_1_a_leader_that_sees_a_higher_term_steps_down() {
    let mut s = solo(N1, 3, 0, Params::default());
    win_term_1(&mut s);
    assert_eq!(s.node.role(), Role::Leader);
    s.deliver(
        N3,
        Msg::AppendEntriesReply {
            term: 5,
            success: false,
            match_index: 0,
            rejected: 0,
            conflict_term: None,
            conflict_index: 0,
            round: 0,
        },
    );
    assert_eq!(s.node.role(), Role::Follower);
    assert_eq!(s.node.term(), 5);
    assert_eq!(s.disk.get::<u64>(("term", 0)), Some(&5));
}

// ---- §5.3 Log replication ----

#[test]
fn raft_5_3_a_follower_rejects_entries_whose_previous_entry_does_not_match_and_hints_the_conflicting_term(
) {
    // Follower log: terms 1 1 2 2 2. The leader (term 3) thinks index 5 has term 3.
    let mut s = with_log(N2, 3, Params::default(), 2, &[1, 1, 2, 2, 2]);
    let effects = s.deliver(N1, append(3, 5, 3, vec![], 0));
    assert_eq!(
        sends(&effects),
        vec![(
            N1,
            Msg::AppendEntriesReply {
                term: 3,
                success: false,
                match_index: 0,
                rejected: 5,
                conflict_term: Some(2),
                conflict_index: 3,
                round: 0,
            }
        )]
    );
    // Past the end of the log: the hint is the log's end.
    let effects = s.deliver(N1, append(3, 9, 3, vec![], 0));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::AppendEntriesReply {
            success: false,
            conflict_term: None,
            conflict_index: 6,
            rejected: 9,
            ..
        }
    ));
}

#[test]
fn raft_5_3_a_leader_backtracks_over_a_whole_conflicting_term_and_the_follower_repairs_its_log() {
    // Leader log 1 1 3 3 (term 3) becomes leader of term 4 and appends its
    // no-op at 5; the follower has 1 1 2 2 2 2 from a deposed term-2 leader.
    let mut leader = with_log(N1, 3, Params::default(), 3, &[1, 1, 3, 3]);
    let mut follower = with_log(N2, 3, Params::default(), 3, &[1, 1, 2, 2, 2, 2]);
    leader.fire(ELECTION_TIMER);
    leader.deliver(N3, granted(4));
    assert_eq!(leader.node.role(), Role::Leader);
    assert_eq!(log_terms(&leader.node), vec![1, 1, 3, 3, 4]);

    // The first AppendEntries probes after index 4 (term 3): refused.
    let effects = leader.run(|_, _: &mut Ctx<Msg>| {});
    assert!(effects.is_empty());
    let first = Msg::AppendEntries {
        term: 4,
        prev_index: 4,
        prev_term: 3,
        entries: vec![leader.node.log().get(5).unwrap().clone()],
        commit: 0,
        round: 1,
    };
    let reply = sends(&follower.deliver(N1, first)).remove(0).1;
    assert!(matches!(
        reply,
        Msg::AppendEntriesReply {
            success: false,
            conflict_term: Some(2),
            conflict_index: 3,
            ..
        }
    ));

    // The leader has no term-2 entry, so it jumps straight to index 3: one
    // round trip instead of one per entry.
    let effects = leader.deliver(N2, reply);
    let retry = sends(&effects).remove(0);
    let Msg::AppendEntries {
        prev_index,
        prev_term,
        ref entries,
        ..
    } = retry.1
    else {
        panic!("{retry:?}")
    };
    assert_eq!((retry.0, prev_index, prev_term), (N2, 2, 1));
    assert_eq!(
        entries.iter().map(|e| e.term).collect::<Vec<_>>(),
        vec![3, 3, 4]
    );
    assert_eq!(leader.node.progress(N2).unwrap().next, 3);

    // The follower deletes the conflicting suffix and takes the leader's.
    let reply = sends(&follower.deliver(N1, retry.1)).remove(0).1;
    assert_eq!(log_terms(&follower.node), vec![1, 1, 3, 3, 4]);
    assert!(matches!(
        reply,
        Msg::AppendEntriesReply {
            success: true,
            match_index: 5,
            ..
        }
    ));
    assert_eq!(follower.disk.indexes("log"), vec![1, 2, 3, 4, 5]);
    assert_eq!(follower.disk.get::<Entry>(("log", 3)).unwrap().term, 3);

    // Now a majority (leader + follower) holds the term-4 no-op: committed.
    leader.deliver(N2, reply);
    assert_eq!(leader.node.commit_index(), 5);
    assert_eq!(leader.node.applied_index(), 5);
}

#[test]
fn raft_5_3_a_delayed_append_does_not_truncate_entries_that_already_match() {
    let mut s = with_log(N2, 3, Params::default(), 1, &[1, 1, 1]);
    s.deliver(N1, append(1, 0, 0, vec![entry(1, 1)], 0));
    assert_eq!(log_terms(&s.node), vec![1, 1, 1]);
    assert!(s.node.log().truncations().is_empty());
}

#[test]
fn bug_skip_log_check_accepts_entries_after_a_mismatched_previous_entry() {
    let params = Params {
        skip_log_check: true,
        ..Params::default()
    };
    let mut s = with_log(N2, 3, params, 2, &[1, 2]);
    let effects = s.deliver(N1, append(3, 2, 3, vec![entry(3, 3)], 0));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::AppendEntriesReply { success: true, .. }
    ));
    assert_eq!(log_terms(&s.node), vec![1, 2, 3]);
}

// ---- §5.4.2 Committing entries from previous terms ----

/// n1 has an entry of term 2 at index 2 and becomes leader of term 4; n2
/// reports index 2 replicated. Figure 8: counting is not enough.
fn figure_8(params: Params) -> Solo {
    let mut s = with_log(N1, 3, params, 3, &[1, 2]);
    s.fire(ELECTION_TIMER);
    s.deliver(N3, granted(4));
    assert_eq!(log_terms(&s.node), vec![1, 2, 4]);
    s.deliver(N2, ok_reply(4, 2));
    s
}

#[test]
fn raft_5_4_2_an_entry_of_an_older_term_is_not_committed_by_counting_replicas() {
    let mut s = figure_8(Params::default());
    assert_eq!(
        s.node.commit_index(),
        0,
        "index 2 is on a majority but of term 2"
    );
    // Once the leader's own no-op reaches a majority, everything before it commits.
    s.deliver(N2, ok_reply(4, 3));
    assert_eq!(s.node.commit_index(), 3);
}

#[test]
fn bug_commit_old_terms_by_counting_commits_an_older_term_entry_on_a_majority() {
    let s = figure_8(Params {
        commit_old_terms_by_counting: true,
        ..Params::default()
    });
    assert_eq!(s.node.commit_index(), 2);
}

// ---- Persistence (Figure 2) ----

#[test]
fn figure_2_a_restarted_server_keeps_its_term_vote_and_log() {
    let mut s = with_log(N2, 3, Params::default(), 0, &[]);
    s.deliver(N1, vote_request(1, 0, 0));
    s.deliver(N1, append(1, 0, 0, vec![entry(1, 1), entry(1, 2)], 1));
    s.restart();
    assert_eq!(s.node.term(), 1);
    assert_eq!(s.node.vote(), Some(N1));
    assert_eq!(log_terms(&s.node), vec![1, 1]);
    // The commit index and the state machine are volatile: relearnt from the leader.
    assert_eq!(s.node.commit_index(), 0);
    let effects = s.deliver(N3, vote_request(1, 2, 1));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::RequestVoteReply { granted: false, .. }
    ));
}

#[test]
fn bug_forget_vote_on_restart_lets_a_server_vote_twice_in_one_term() {
    let params = Params {
        forget_vote_on_restart: true,
        ..Params::default()
    };
    let mut s = solo(N2, 3, 0, params);
    s.deliver(N1, vote_request(1, 0, 0));
    s.restart();
    assert_eq!(s.node.term(), 1);
    assert_eq!(s.node.vote(), None);
    let effects = s.deliver(N3, vote_request(1, 0, 0));
    assert_eq!(sends(&effects), vec![(N3, granted(1))]);
}

// ---- §8 Client interaction ----

/// The id of request `seq` of client `client`'s incarnation `incarnation`.
fn request_id(client: NodeId, incarnation: u64, seq: u64) -> RequestId {
    RequestId {
        session: SessionId {
            client,
            incarnation,
        },
        seq,
    }
}

/// Request `seq` of the test client `NodeId(1)`, first incarnation.
fn client_request(seq: u64, f: OpFn) -> Msg {
    Msg::ClientRequest {
        id: request_id(NodeId(1), 0, seq),
        key: "x".into(),
        f,
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
        f: OpFn::Write(Value::Int(v)),
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
            entries: vec![],
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

// ---- A deterministic in-test network ----

const LATENCY: Nanos = ms(1);

struct Net {
    cluster: Cluster,
    raft: Raft,
    nodes: Vec<Option<RaftNode>>,
    disks: Vec<Disk>,
    rngs: Vec<ChaCha8Rng>,
    clocks: Vec<Clock>,
    now: Nanos,
    seq: u64,
    /// (delivery time, send order) -> (from, to, message)
    inflight: BTreeMap<(Nanos, u64), (NodeId, NodeId, Msg)>,
    timers: BTreeMap<(NodeId, TimerId), Nanos>,
    /// Each node's partition group: messages cross only within a group.
    group: Vec<u32>,
    violations: Vec<Violation>,
    completed: Vec<(OpId, Outcome, Option<Value>)>,
}

impl Net {
    fn new(servers: usize, clients: usize, params: Params) -> Self {
        let cluster = Cluster::new(servers, clients);
        let raft = Raft::new(
            params,
            ClientConfig {
                timeout: ms(400),
                retry: RetryPolicy::Fixed {
                    delay: ms(50),
                    attempts: 10,
                },
            },
        );
        let n = cluster.len();
        let mut net = Net {
            nodes: (0..n).map(|_| None).collect(),
            disks: (0..n).map(|_| Disk::default()).collect(),
            rngs: (0..n)
                .map(|i| ChaCha8Rng::seed_from_u64(i as u64 + 1))
                .collect(),
            clocks: vec![Clock::default(); n],
            cluster,
            raft,
            now: 0,
            seq: 0,
            inflight: BTreeMap::new(),
            timers: BTreeMap::new(),
            group: vec![0; n],
            violations: Vec::new(),
            completed: Vec::new(),
        };
        for i in 0..n {
            net.start(NodeId(i as u32));
        }
        net
    }

    fn start(&mut self, id: NodeId) {
        let node = self.raft.build(id, &self.cluster, &self.disks[id.index()]);
        self.nodes[id.index()] = Some(node);
        self.step(id, |n, ctx| n.on_start(ctx));
    }

    fn crash(&mut self, id: NodeId) {
        self.nodes[id.index()] = None;
        self.timers.retain(|(n, _), _| *n != id);
        let mut out = Vec::new();
        self.raft.check(self.now, id, &self.nodes, &mut out);
        self.violations.extend(out);
    }

    fn step(&mut self, id: NodeId, f: impl FnOnce(&mut RaftNode, &mut Ctx<Msg>)) {
        let i = id.index();
        let Some(node) = self.nodes[i].as_mut() else {
            return;
        };
        let mut effects = Vec::new();
        let mut ctx = Ctx::new(
            id,
            self.now,
            self.clocks[i],
            &mut self.rngs[i],
            &mut self.disks[i],
            &self.cluster,
            &mut effects,
        );
        f(node, &mut ctx);
        for e in effects {
            match e {
                Effect::Send { to, msg } => {
                    if self.group[i] == self.group[to.index()] {
                        self.seq += 1;
                        self.inflight
                            .insert((self.now + LATENCY, self.seq), (id, to, msg));
                    }
                }
                Effect::SetTimer { id: t, after } => {
                    self.timers.insert((id, t), self.now + after);
                }
                Effect::CancelTimer { id: t } => {
                    self.timers.remove(&(id, t));
                }
                Effect::Complete {
                    op,
                    outcome,
                    output,
                    ..
                } => self.completed.push((op, outcome, output)),
                Effect::Violation { invariant, detail } => {
                    self.violations.push(Violation { invariant, detail })
                }
                Effect::Note { .. } => {}
            }
        }
        let mut out = Vec::new();
        self.raft.check(self.now, id, &self.nodes, &mut out);
        self.violations.extend(out);
    }

    /// Runs every event up to time `until`, in (time, order) order.
    fn run_until(&mut self, until: Nanos) {
        loop {
            let msg_at = self.inflight.keys().next().map(|k| k.0);
            let timer = self
                .timers
                .iter()
                .min_by_key(|(k, t)| (**t, **k))
                .map(|(k, t)| (*k, *t));
            let next = match (msg_at, timer) {
                (Some(m), Some((_, t))) => m.min(t),
                (Some(m), None) => m,
                (None, Some((_, t))) => t,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = next;
            if msg_at == Some(next) {
                let (_, (from, to, msg)) = self.inflight.pop_first().unwrap();
                // A partition that began after sending still drops the message.
                if self.group[from.index()] == self.group[to.index()] {
                    self.step(to, |n, ctx| n.on_message(ctx, from, msg));
                }
            } else {
                let ((id, t), _) = timer.unwrap();
                self.timers.remove(&(id, t));
                self.step(id, |n, ctx| n.on_timer(ctx, t));
            }
        }
        self.now = until;
    }

    /// Hands client `client` operation `op`, unless it still has one open.
    fn request(&mut self, client: NodeId, op: u64, key: &str, f: OpFn) {
        let busy = self.nodes[client.index()]
            .as_ref()
            .and_then(RaftNode::as_client)
            .is_some_and(Client::busy);
        if busy {
            return;
        }
        let req = Request {
            id: OpId(op),
            key: key.into(),
            f,
        };
        self.step(client, |n, ctx| n.on_request(ctx, req));
    }

    fn server(&self, i: usize) -> &Server {
        self.nodes[i].as_ref().unwrap().as_server().unwrap()
    }

    fn servers(&self) -> impl Iterator<Item = &Server> {
        self.nodes.iter().flatten().filter_map(RaftNode::as_server)
    }

    fn leaders(&self) -> Vec<(NodeId, u64)> {
        self.servers()
            .filter(|s| s.role() == Role::Leader)
            .map(|s| (s.id(), s.term()))
            .collect()
    }

    /// The outcome of op `op`, once completed.
    fn outcome(&self, op: u64) -> Option<(Outcome, Option<Value>)> {
        self.completed
            .iter()
            .find(|c| c.0 == OpId(op))
            .map(|c| (c.1, c.2.clone()))
    }

    fn partition(&mut self, groups: &[&[usize]]) {
        for (g, members) in groups.iter().enumerate() {
            for m in *members {
                self.group[*m] = g as u32 + 1;
            }
        }
    }

    fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
    }
}

#[test]
fn a_three_server_cluster_elects_exactly_one_leader_and_replicates() {
    let mut net = Net::new(3, 1, Params::default());
    net.run_until(ms(1_000));
    let leaders = net.leaders();
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    let c1 = NodeId(3);
    net.request(c1, 1, "a", OpFn::Append(Value::Int(1)));
    net.run_until(ms(2_000));
    net.request(c1, 2, "a", OpFn::Append(Value::Int(2)));
    net.run_until(ms(3_000));
    net.request(c1, 3, "a", OpFn::Read);
    net.run_until(ms(4_000));
    assert_eq!(net.outcome(1), Some((Outcome::Ok, None)));
    assert_eq!(net.outcome(2), Some((Outcome::Ok, None)));
    assert_eq!(
        net.outcome(3),
        Some((Outcome::Ok, Some(Value::List(vec![1, 2]))))
    );
    // Every server holds the same log and has applied all of it.
    let logs: Vec<Vec<u64>> = net.servers().map(log_terms).collect();
    assert!(logs.windows(2).all(|w| w[0] == w[1]), "{logs:?}");
    for s in net.servers() {
        assert_eq!(s.applied_index(), s.log().last_index(), "{}", s.describe());
        assert_eq!(s.kv().read("a"), Value::List(vec![1, 2]));
    }
    assert!(net.violations.is_empty(), "{:?}", net.violations);
}

#[test]
fn a_leader_cut_off_in_a_minority_is_replaced_and_its_uncommitted_entries_are_overwritten() {
    let mut net = Net::new(5, 2, Params::default());
    net.run_until(ms(1_000));
    let (old, term) = net.leaders()[0];
    // The old leader and client c1 on one side; c2 with the majority.
    let others: Vec<usize> = (0..5).filter(|i| *i != old.index()).collect();
    let (c1, c2) = (NodeId(5), NodeId(6));
    let minority = [old.index(), c1.index()];
    let majority = [others.as_slice(), &[c2.index()]].concat();
    net.partition(&[&minority, &majority]);
    net.request(c1, 1, "k", OpFn::Write(Value::Int(1)));
    net.run_until(ms(3_000));
    let new: Vec<_> = net
        .leaders()
        .into_iter()
        .filter(|(_, t)| *t > term)
        .collect();
    assert_eq!(new.len(), 1, "{:?}", net.leaders());
    net.request(c2, 2, "k", OpFn::Write(Value::Int(2)));
    net.run_until(ms(4_000));
    assert_eq!(net.outcome(2), Some((Outcome::Ok, None)));
    // The minority side cannot commit: c1 never hears "ok".
    assert_ne!(net.outcome(1).map(|o| o.0), Some(Outcome::Ok));
    net.heal();
    net.run_until(ms(8_000));
    let logs: Vec<Vec<u64>> = net.servers().map(log_terms).collect();
    assert!(logs.windows(2).all(|w| w[0] == w[1]), "{logs:?}");
    assert_eq!(net.leaders().len(), 1);
    assert!(net.violations.is_empty(), "{:?}", net.violations);
}

#[test]
fn a_crashed_follower_restarts_from_disk_and_catches_up() {
    let mut net = Net::new(3, 1, Params::default());
    net.run_until(ms(1_000));
    let (leader, _) = net.leaders()[0];
    let victim = NodeId((leader.0 + 1) % 3);
    net.crash(victim);
    let c1 = NodeId(3);
    for op in 1..=5 {
        net.request(c1, op, "k", OpFn::Append(Value::Int(op as i64)));
        net.run_until(ms(1_000 + op * 200));
    }
    net.start(victim);
    net.run_until(ms(4_000));
    let s = net.server(victim.index());
    assert_eq!(s.kv().read("k"), Value::List(vec![1, 2, 3, 4, 5]));
    assert!(net.violations.is_empty(), "{:?}", net.violations);
}

#[test]
fn pre_vote_keeps_a_rejoining_server_from_disrupting_the_leader() {
    let params = Params {
        pre_vote: true,
        check_quorum: true,
        ..Params::default()
    };
    let mut net = Net::new(3, 0, params);
    net.run_until(ms(1_000));
    let (leader, term) = net.leaders()[0];
    let loner = (leader.index() + 1) % 3;
    let rest: Vec<usize> = (0..3).filter(|i| *i != loner).collect();
    net.partition(&[&[loner], &rest]);
    net.run_until(ms(5_000));
    assert_eq!(
        net.server(loner).term(),
        term,
        "pre-votes do not raise the term"
    );
    net.heal();
    net.run_until(ms(6_000));
    assert_eq!(net.leaders(), vec![(leader, term)]);
    assert!(net.violations.is_empty(), "{:?}", net.violations);
}

#[test]
fn check_quorum_makes_a_leader_in_a_minority_step_down() {
    let params = Params {
        check_quorum: true,
        ..Params::default()
    };
    let mut net = Net::new(3, 0, params);
    net.run_until(ms(1_000));
    let (leader, _) = net.leaders()[0];
    let rest: Vec<usize> = (0..3).filter(|i| *i != leader.index()).collect();
    net.partition(&[&[leader.index()], &rest]);
    net.run_until(ms(2_000));
    assert_ne!(net.server(leader.index()).role(), Role::Leader);
}

#[test]
fn reads_are_linear_in_every_read_mode() {
    for mode in [ReadMode::Log, ReadMode::ReadIndex, ReadMode::Lease] {
        let params = Params {
            read_mode: mode,
            ..Params::default()
        };
        let mut net = Net::new(3, 2, params);
        net.run_until(ms(1_000));
        let (c1, c2) = (NodeId(3), NodeId(4));
        net.request(c1, 1, "k", OpFn::Write(Value::Int(7)));
        net.run_until(ms(1_500));
        net.request(c2, 2, "k", OpFn::Read);
        net.run_until(ms(2_000));
        assert_eq!(
            net.outcome(2),
            Some((Outcome::Ok, Some(Value::Int(7)))),
            "{mode:?}"
        );
    }
}

#[test]
fn invariant_forget_vote_on_restart_can_elect_two_leaders_in_one_term() {
    let params = Params {
        forget_vote_on_restart: true,
        ..Params::default()
    };
    // Drive three servers by hand: n1 wins term 1 with n2's vote; n2 restarts
    // and forgets; n3, also in term 1, wins with n2's second vote.
    let cluster_nodes: Vec<Solo> = (0..3)
        .map(|i| solo(NodeId(i), 3, 0, params.clone()))
        .collect();
    let [mut n1, mut n2, mut n3] = <[Solo; 3]>::try_from(cluster_nodes).ok().unwrap();
    n1.fire(ELECTION_TIMER);
    let reply = sends(&n2.deliver(N1, vote_request(1, 0, 0))).remove(0).1;
    n1.deliver(N2, reply);
    assert_eq!(n1.node.role(), Role::Leader);
    n2.restart();
    n3.fire(ELECTION_TIMER);
    let reply = sends(&n2.deliver(N3, vote_request(1, 0, 0))).remove(0).1;
    n3.deliver(N2, reply);
    assert_eq!(n3.node.role(), Role::Leader);

    let mut checker = Checker::default();
    let mut out = Vec::new();
    checker.check_server(&n1.node, &mut out);
    checker.check_server(&n3.node, &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].invariant, "election-safety");
    assert_eq!(out[0].detail, "two leaders in term 1: n1 and n3");
}

#[test]
fn invariant_state_machine_safety_catches_two_commands_applied_at_one_index() {
    // Two followers told by two different "leaders" of term 1 to apply two
    // different commands at index 1 (a world where election safety broke).
    let mut n2 = solo(N2, 3, 0, Params::default());
    let mut n3 = solo(N3, 3, 0, Params::default());
    let mut other = entry(1, 1);
    other.command = Command::Noop.into();
    for (s, e) in [(&mut n2, entry(1, 1)), (&mut n3, other)] {
        s.deliver(N1, append(1, 0, 0, vec![e], 1));
        assert_eq!(s.node.applied_index(), 1);
    }
    let mut checker = Checker::default();
    let mut out = Vec::new();
    checker.check_server(&n2.node, &mut out);
    checker.check_server(&n3.node, &mut out);
    let names: Vec<&str> = out.iter().map(|v| v.invariant).collect();
    assert_eq!(names, vec!["log-matching", "state-machine-safety"]);
}

#[test]
fn invariant_a_correct_run_with_crashes_and_partitions_breaks_nothing() {
    let params = Params {
        pre_vote: true,
        check_quorum: true,
        read_mode: ReadMode::ReadIndex,
        ..Params::default()
    };
    let mut net = Net::new(5, 2, params);
    let (c1, c2) = (NodeId(5), NodeId(6));
    let mut op = 0;
    for round in 0..12u64 {
        let t = round * ms(700);
        match round % 4 {
            1 => net.partition(&[&[0, 1, 5], &[2, 3, 4, 6]]),
            2 => net.heal(),
            3 => {
                let victim = NodeId((round % 5) as u32);
                net.crash(victim);
                net.run_until(t + ms(300));
                net.start(victim);
            }
            _ => {}
        }
        for c in [c1, c2] {
            op += 1;
            let f = if op % 3 == 0 {
                OpFn::Read
            } else {
                OpFn::Append(Value::Int(op as i64))
            };
            net.request(c, op, "k", f);
        }
        net.run_until(t + ms(700));
    }
    net.heal();
    net.run_until(ms(12_000));
    assert!(net.violations.is_empty(), "{:?}", net.violations);
    assert!(net.completed.iter().any(|c| c.1 == Outcome::Ok));
    assert_eq!(net.leaders().len(), 1);
}

#[test]
fn params_parse_from_a_scenario_and_a_misspelt_field_is_an_error_with_its_line() {
    let ok: Params = toml::from_str(
        r#"
protocol = "raft"
election_timeout_min = "100ms"
read_mode = "read-index"
pre_vote = true
"#,
    )
    .unwrap();
    assert_eq!(ok.election_timeout_min, ms(100));
    assert_eq!(ok.read_mode, ReadMode::ReadIndex);
    assert!(ok.pre_vote);
    let err = toml::from_str::<Params>("protocol = \"raft\"\npre_vot = true\n").unwrap_err();
    assert!(err.to_string().contains("pre_vot"), "{err}");
    let bad = Params {
        heartbeat_interval: ms(200),
        ..Params::default()
    };
    assert_eq!(bad.validate().unwrap_err().0, "heartbeat_interval");
}

#[test]
fn node_status_reports_the_fields_the_tui_shows() {
    let mut s = solo(N1, 1, 0, Params::default());
    s.fire(ELECTION_TIMER);
    let node = RaftNode::Server(s.node.clone());
    assert_eq!(node.role(), "leader");
    let st = node.status();
    let names: Vec<&str> = st.fields.iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        vec!["term", "vote", "leader", "log", "commit", "applied"]
    );
    assert!(ROLES.contains(&node.role()));
}

// ---- Options: PreVote and CheckQuorum (dissertation §9.6, §6.2) ----

#[test]
fn dissertation_9_6_a_pre_candidate_asks_without_raising_any_term() {
    let params = Params {
        pre_vote: true,
        ..Params::default()
    };
    let mut s = with_log(N1, 3, params.clone(), 2, &[1, 2]);
    let effects = s.fire(ELECTION_TIMER);
    assert_eq!(s.node.role(), Role::PreCandidate);
    assert_eq!(
        s.node.term(),
        2,
        "the term is raised only by a real election"
    );
    let pre = Msg::RequestVote {
        term: 3,
        last_index: 2,
        last_term: 2,
        pre_vote: true,
    };
    assert_eq!(sends(&effects), vec![(N2, pre.clone()), (N3, pre.clone())]);

    // A voter answers without changing its term or its vote.
    let mut voter = with_log(N2, 3, params, 2, &[1, 2]);
    let effects = voter.deliver(N1, pre);
    let reply = Msg::RequestVoteReply {
        term: 3,
        granted: true,
        pre_vote: true,
    };
    assert_eq!(sends(&effects), vec![(N1, reply.clone())]);
    assert_eq!((voter.node.term(), voter.node.vote()), (2, None));

    // A majority of pre-votes starts the real election.
    let effects = s.deliver(N2, reply);
    assert_eq!(s.node.role(), Role::Candidate);
    assert_eq!(s.node.term(), 3);
    assert!(sends(&effects)
        .iter()
        .all(|(_, m)| *m == vote_request(3, 2, 2)));
}

#[test]
fn dissertation_4_2_3_a_follower_that_heard_its_leader_recently_disregards_a_vote_request() {
    let params = Params {
        check_quorum: true,
        ..Params::default()
    };
    let mut s = solo(N2, 3, 0, params);
    s.deliver(N1, append(1, 0, 0, vec![], 0));
    s.now = ms(100);
    let effects = s.deliver(N3, vote_request(5, 9, 4));
    assert!(matches!(
        sends(&effects)[0].1,
        Msg::RequestVoteReply {
            term: 1,
            granted: false,
            ..
        }
    ));
    assert_eq!(s.node.term(), 1, "the disruptive term is not adopted");
    // Once the minimum election timeout has passed without the leader, it votes.
    s.now = ms(200);
    let effects = s.deliver(N3, vote_request(5, 9, 4));
    assert_eq!(sends(&effects), vec![(N3, granted(5))]);
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
        f,
    }
}

// ---- The checker ----

#[test]
fn invariant_leader_completeness_catches_a_leader_without_a_committed_entry() {
    // n2 learns that entry 1 (term 1) is committed; n3, with an empty log,
    // is made leader of term 2 by hand (two votes it could never get in a
    // correct run, since n2's log is more up to date).
    let mut n2 = solo(N2, 3, 0, Params::default());
    n2.deliver(N1, append(1, 0, 0, vec![entry(1, 1)], 1));
    let mut n3 = with_log(N3, 3, Params::default(), 1, &[]);
    n3.fire(ELECTION_TIMER);
    n3.deliver(N1, granted(2));
    assert_eq!(n3.node.role(), Role::Leader);

    let mut checker = Checker::default();
    let mut out = Vec::new();
    checker.check_server(&n2.node, &mut out);
    assert!(out.is_empty());
    checker.check_server(&n3.node, &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].invariant, "leader-completeness");
    assert!(out[0].detail.contains("without committed entry 1 (term 1)"));
    // Reported once, not at every later step.
    checker.check_server(&n3.node, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn invariant_the_checker_rechecks_a_restarted_server_from_scratch() {
    let mut s = solo(N2, 3, 0, Params::default());
    s.deliver(N1, append(1, 0, 0, vec![entry(1, 1), entry(1, 2)], 2));
    let mut checker = Checker::default();
    let mut out = Vec::new();
    checker.check_server(&s.node, &mut out);
    s.restart();
    checker.check_server(&s.node, &mut out);
    s.deliver(N1, append(1, 2, 1, vec![], 2));
    assert_eq!(s.node.applied_index(), 2, "replayed from the log on disk");
    checker.check_server(&s.node, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn invariant_leader_completeness_asks_nothing_of_a_leader_of_an_earlier_term() {
    // A candidate of term 2 that was paused while its votes were in flight
    // can become leader after term 5 committed entries. Figure 3 asks leaders
    // of *later* terms to hold those entries; this one need not.
    let mut n2 = solo(N2, 3, 0, Params::default());
    n2.deliver(N1, append(5, 0, 0, vec![entry(5, 1)], 1));
    let mut n3 = with_log(N3, 3, Params::default(), 1, &[]);
    n3.fire(ELECTION_TIMER);
    n3.deliver(N1, granted(2));
    assert_eq!((n3.node.role(), n3.node.term()), (Role::Leader, 2));
    let mut checker = Checker::default();
    let mut out = Vec::new();
    checker.check_server(&n2.node, &mut out);
    checker.check_server(&n3.node, &mut out);
    assert!(out.is_empty(), "{out:?}");
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
