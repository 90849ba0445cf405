//! Leader election (Raft §5.1, §5.2, §5.4.1), persistence of the term and
//! vote (Figure 2), and the PreVote and CheckQuorum options (dissertation
//! §9.6, §4.2.3), one server driven by hand.

use super::*;

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

// ---- Options: PreVote and CheckQuorum (dissertation §9.6, §6.2) ----

#[test]
fn dissertation_9_6_a_pre_candidate_asks_without_raising_any_term() {
    let params = Params {
        pre_vote: true,
        ..Params::default()
    };
    // Two servers with the same log, term 2; the pre-vote goes through a Net.
    let mut net = three(params, [(2, &[1, 2]), (2, &[1, 2]), (2, &[])]);
    let effects = net.fire(N1, ELECTION_TIMER);
    let s = server(&net, N1);
    assert_eq!(s.role(), Role::PreCandidate);
    assert_eq!(s.term(), 2, "the term is raised only by a real election");
    let pre = Msg::RequestVote {
        term: 3,
        last_index: 2,
        last_term: 2,
        pre_vote: true,
    };
    assert_eq!(sends(&effects), vec![(N2, pre.clone()), (N3, pre.clone())]);

    // A voter answers without changing its term or its vote.
    let effects = net.deliver_from(N1, N2);
    let reply = Msg::RequestVoteReply {
        term: 3,
        granted: true,
        pre_vote: true,
    };
    assert_eq!(sends(&effects), vec![(N1, reply.clone())]);
    let voter = server(&net, N2);
    assert_eq!((voter.term(), voter.vote()), (2, None));

    // A majority of pre-votes starts the real election.
    let effects = net.deliver_from(N2, N1);
    net.assert_no_violations();
    let s = server(&net, N1);
    assert_eq!((s.role(), s.term()), (Role::Candidate, 3));
    let real = vote_request(3, 2, 2);
    assert_eq!(sends(&effects), vec![(N2, real.clone()), (N3, real)]);
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
