//! The invariant checker catches what a broken run does.

use super::*;
use sim::testing::Found;

/// What a fresh checker reports when it looks at `servers` in turn.
fn violations(servers: &[&Server]) -> Vec<Violation> {
    let mut checker = Checker::default();
    let mut out = Vec::new();
    for s in servers {
        checker.check_server(s, &mut out);
    }
    out
}

/// n2 learns that entry 1, of term `term`, is committed; n3, with an empty
/// log, is made leader of term 2 by hand (two votes it could never get in a
/// correct run after term 1, since n2's log is more up to date).
fn committed_entry_and_a_leader_without_it(term: u64) -> (Solo, Solo) {
    let mut n2 = solo(N2, 3, 0, Params::default());
    n2.deliver(N1, append(term, 0, 0, vec![entry(term, 1)], 1));
    let mut n3 = with_log(N3, 3, Params::default(), 1, &[]);
    n3.fire(ELECTION_TIMER);
    n3.deliver(N1, granted(2));
    assert_eq!((n3.node.role(), n3.node.term()), (Role::Leader, 2));
    (n2, n3)
}

#[test]
fn invariant_forget_vote_on_restart_can_elect_two_leaders_in_one_term() {
    let params = Params {
        forget_vote_on_restart: true,
        ..Params::default()
    };
    // Three servers, their messages delivered by hand: n1 wins term 1 with
    // n2's vote; n2 restarts and forgets; n3, also in term 1, wins with n2's
    // second vote. No other message is delivered.
    let mut net = three(params, [(0, &[]); 3]);
    net.fire(N1, ELECTION_TIMER);
    net.deliver_from(N1, N2);
    net.deliver_from(N2, N1);
    assert_eq!(server(&net, N1).role(), Role::Leader);
    net.assert_no_violations();
    net.restart(N2);
    net.fire(N3, ELECTION_TIMER);
    net.deliver_from(N3, N2);
    net.deliver_from(N2, N3);
    assert_eq!(server(&net, N3).role(), Role::Leader);

    // The net ran Raft's checks after every step: the second win broke
    // election safety, once.
    let two_leaders = Violation {
        invariant: "election-safety",
        detail: "two leaders in term 1: n1 and n3".into(),
    };
    let found = Found {
        at: 0,
        node: N3,
        violation: two_leaders.clone(),
    };
    assert_eq!(net.violations(), [found]);
    // And a fresh checker that looks at the two leaders says the same.
    let out = violations(&[server(&net, N1), server(&net, N3)]);
    assert_eq!(out, vec![two_leaders]);
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
    let out = violations(&[&n2.node, &n3.node]);
    let names: Vec<&str> = out.iter().map(|v| v.invariant).collect();
    assert_eq!(names, vec!["log-matching", "state-machine-safety"]);
}

#[test]
fn invariant_log_matching_compares_an_entry_of_a_second_term_at_an_index_too() {
    // Index 2 is first seen holding term 1's entry (n2). Two other servers
    // hold term 2's entry at index 2 over entries of different terms at
    // index 1: equal (index, term), unequal prefixes.
    let mut n2 = solo(N2, 5, 0, Params::default());
    n2.deliver(N1, append(1, 0, 0, vec![entry(1, 1), entry(1, 2)], 0));
    let mut n3 = solo(N3, 5, 0, Params::default());
    n3.deliver(N1, append(2, 0, 0, vec![entry(1, 1), entry(2, 2)], 0));
    let mut n4 = solo(NodeId(3), 5, 0, Params::default());
    n4.deliver(N1, append(2, 0, 0, vec![entry(2, 1), entry(2, 2)], 0));
    // A later term's entry at an index is no violation in itself.
    let out = violations(&[&n2.node, &n3.node]);
    assert!(out.is_empty(), "{out:?}");
    let out = violations(&[&n2.node, &n3.node, &n4.node]);
    let want = Violation {
        invariant: "log-matching",
        detail: "n4 holds an entry at index 2 of term 2 that differs from another server's (previous term 2 vs 1)".into(),
    };
    assert_eq!(out, vec![want]);
}

// ---- The checker ----

#[test]
fn invariant_leader_completeness_catches_a_leader_without_a_committed_entry() {
    let (n2, n3) = committed_entry_and_a_leader_without_it(1);
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
    let (n2, n3) = committed_entry_and_a_leader_without_it(5);
    let out = violations(&[&n2.node, &n3.node]);
    assert!(out.is_empty(), "{out:?}");
}
