//! Log replication (Raft §5.3) and committing entries from previous terms
//! (§5.4.2, Figure 8), one server driven by hand.

use super::*;

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
    // Their messages go through a Net, delivered one by one.
    let (leader_log, follower_log): (&[u64], &[u64]) = (&[1, 1, 3, 3], &[1, 1, 2, 2, 2, 2]);
    let mut net = three(
        Params::default(),
        [(3, leader_log), (3, follower_log), (3, &[])],
    );
    net.fire(N1, ELECTION_TIMER);
    // The follower never hears the election: only n3 votes.
    net.lose_where(|e| matches!(e.msg, Msg::RequestVote { .. }));
    net.inject(N3, N1, granted(4));
    let leader = server(&net, N1);
    assert_eq!(leader.role(), Role::Leader);
    assert_eq!(log_terms(leader), vec![1, 1, 3, 3, 4]);

    // The first AppendEntries probes after index 4 (term 3): refused.
    let first = Msg::AppendEntries {
        term: 4,
        prev_index: 4,
        prev_term: 3,
        entries: vec![leader.log().get(5).unwrap().clone()].into(),
        commit: 0,
        round: 1,
    };
    let to_n2: Vec<&Msg> = (net.in_flight().iter())
        .filter(|e| e.to == N2)
        .map(|e| &e.msg)
        .collect();
    assert_eq!(to_n2, [&first]);
    let reply = sends(&net.deliver_from(N1, N2)).remove(0).1;
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
    let effects = net.deliver_from(N2, N1);
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
    assert_eq!(server(&net, N1).progress(N2).unwrap().next, 3);

    // The follower deletes the conflicting suffix and takes the leader's.
    let reply = sends(&net.deliver_from(N1, N2)).remove(0).1;
    assert_eq!(log_terms(server(&net, N2)), vec![1, 1, 3, 3, 4]);
    assert!(matches!(
        reply,
        Msg::AppendEntriesReply {
            success: true,
            match_index: 5,
            ..
        }
    ));
    assert_eq!(net.disk(N2).indexes("log"), vec![1, 2, 3, 4, 5]);
    assert_eq!(net.disk(N2).get::<Entry>(("log", 3)).unwrap().term, 3);

    // Now a majority (leader + follower) holds the term-4 no-op: committed.
    net.deliver_from(N2, N1);
    assert_eq!(server(&net, N1).commit_index(), 5);
    assert_eq!(server(&net, N1).applied_index(), 5);
    net.assert_no_violations();
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

#[test]
fn a_run_of_entries_shows_and_compares_as_the_list_it_carries_however_it_is_held() {
    // None, one (held inline) and several (shared): each as a Vec shows it,
    // so traces and explored states' hashes are the same as with a Vec.
    for n in 0..4u64 {
        let list: Vec<Entry> = (1..=n).map(|i| entry(1, i)).collect();
        let from_slice = Entries::from(list.as_slice());
        let from_vec = Entries::from(list.clone());
        assert_eq!(format!("{from_slice:?}"), format!("{list:?}"));
        assert_eq!(format!("{from_vec:#?}"), format!("{list:#?}"));
        assert_eq!(from_slice, from_vec);
        assert_eq!(from_slice.as_slice(), list.as_slice());
        assert_eq!(from_slice.len() as u64, n);
    }
    assert_eq!(format!("{:?}", Entries::default()), "[]");
    assert_ne!(
        Entries::from(vec![entry(1, 1)]),
        Entries::from(vec![entry(2, 1)])
    );
}
