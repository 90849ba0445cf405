//! Exact effects of the key transitions (Bernstein, Hadzilacos and Goodman,
//! 1987, §7.3-7.5 for 2PC and its termination protocols; Skeen 1981 for 3PC).

use sim::client::{ClientConfig, RetryPolicy};
use sim::node::{Cluster, Disk, NodeId};
use sim::testing::{Harness, Net};
use sim::time::ms;

use super::participant::PState;
use super::*;

fn config(mode: Mode) -> Config {
    let params = Params {
        mode,
        accounts_per_participant: 2,
        ..Params::default()
    };
    Config {
        params,
        bank: Bank {
            participants: 2,
            accounts: 4,
        },
        client: ClientConfig {
            timeout: ms(200),
            retry: RetryPolicy::None,
        },
    }
}

const N2: NodeId = NodeId(1);
const N3: NodeId = NodeId(2);
const C1: NodeId = NodeId(3);

/// Node `me` of two participants, the coordinator and a client, at 10ms,
/// built (and rebuilt on restart) from its disk by `build`.
fn bench(me: NodeId, build: impl Fn(&Disk) -> TwopcNode + 'static) -> Harness<TwopcNode> {
    Harness::build(Cluster::new(3, 1), me, move |_, _, disk| build(disk))
        .at(ms(10))
        .stream(1)
}

fn participant(cfg: &Config, me: NodeId) -> Harness<TwopcNode> {
    let cfg = cfg.clone();
    bench(me, move |disk| {
        TwopcNode::Participant(Participant::recover(&cfg, me, disk))
    })
}

fn coordinator(cfg: &Config) -> Harness<TwopcNode> {
    let cfg = cfg.clone();
    bench(COORDINATOR, move |disk| {
        TwopcNode::Coordinator(Coordinator::recover(&cfg, disk))
    })
}

/// The participant a harness drives.
fn part(h: &Harness<TwopcNode>) -> &Participant {
    h.node.participant().expect("a participant")
}

/// The coordinator a harness drives.
fn coord(h: &Harness<TwopcNode>) -> &Coordinator {
    h.node.coordinator().expect("the coordinator")
}

/// n2 after it voted yes on transaction 7 (5 out of account 0).
fn prepared(cfg: &Config) -> Harness<TwopcNode> {
    let mut p = participant(cfg, N2);
    recv(&mut p, COORDINATOR, prepare(7, 0, -5));
    p
}

/// Delivers `msg` from `from` and returns what the part sent.
fn recv(h: &mut Harness<TwopcNode>, from: NodeId, msg: Msg) -> Vec<(NodeId, Msg)> {
    h.deliver(from, msg).sends()
}

/// Fires transaction `tx`'s timer and returns what the part sent.
fn expire(h: &mut Harness<TwopcNode>, tx: Tx) -> Vec<(NodeId, Msg)> {
    h.fire(tx_timer(tx)).sends()
}

/// The client asks the coordinator for transfer `op` (5 from account 0 to
/// account 1); returns what the coordinator sent.
fn begin(c: &mut Harness<TwopcNode>, op: u64) -> Vec<(NodeId, Msg)> {
    let transfer = Msg::Transfer {
        op,
        from: 0,
        to: 1,
        amount: 5,
    };
    recv(c, C1, transfer)
}

/// Transfer `op` begun and both participants' yes votes delivered; returns
/// what the coordinator sent on the last vote.
fn all_vote_yes(c: &mut Harness<TwopcNode>, op: u64) -> Vec<(NodeId, Msg)> {
    begin(c, op);
    recv(c, N2, Msg::Vote { tx: op, yes: true });
    recv(c, N3, Msg::Vote { tx: op, yes: true })
}

fn prepare(tx: Tx, account: u32, delta: i64) -> Msg {
    Msg::Prepare {
        tx,
        change: Change { account, delta },
        peers: vec![N2, N3],
    }
}

#[test]
fn a_participant_syncs_its_vote_before_answering_yes_and_recovers_in_doubt() {
    let cfg = config(Mode::TwoPc);
    let mut p = participant(&cfg, N2);
    let effects = recv(&mut p, COORDINATOR, prepare(7, 0, -5));
    assert_eq!(effects, vec![(COORDINATOR, Msg::Vote { tx: 7, yes: true })]);
    assert_eq!(
        p.disk.counters(),
        (1, 1),
        "one vote record written, then synced"
    );
    assert_eq!(part(&p).locks_held(), 1);
    // Rebuilt from that disk, it is still in doubt and holds the lock again.
    p.restart();
    assert_eq!(part(&p).state_of(7), Some(PState::Prepared));
    assert_eq!(part(&p).locks_held(), 1);
}

#[test]
fn with_participant_forgets_vote_the_yes_leaves_nothing_durable() {
    let mut cfg = config(Mode::TwoPc);
    cfg.params.participant_forgets_vote = true;
    let mut p = participant(&cfg, N2);
    let effects = recv(&mut p, COORDINATOR, prepare(7, 0, -5));
    assert_eq!(effects, vec![(COORDINATOR, Msg::Vote { tx: 7, yes: true })]);
    assert_eq!(p.disk.counters(), (0, 0));
    p.restart();
    assert_eq!(part(&p).state_of(7), None);
}

#[test]
fn a_participant_votes_no_without_logging_when_funds_are_short() {
    let cfg = config(Mode::TwoPc);
    let mut p = participant(&cfg, N2);
    let effects = recv(&mut p, COORDINATOR, prepare(7, 0, -500));
    assert_eq!(
        effects,
        vec![(COORDINATOR, Msg::Vote { tx: 7, yes: false })]
    );
    assert_eq!(
        p.disk.counters(),
        (0, 0),
        "presumed abort: a no is not logged"
    );
    assert_eq!(part(&p).locks_held(), 0);
}

#[test]
fn the_coordinator_logs_a_commit_durably_before_sending_it() {
    let cfg = config(Mode::TwoPc);
    let mut c = coordinator(&cfg);
    let effects = begin(&mut c, 3);
    assert_eq!(effects.len(), 2, "a prepare to each participant");
    recv(&mut c, N2, Msg::Vote { tx: 3, yes: true });
    assert_eq!(
        c.disk.counters(),
        (0, 0),
        "nothing is logged before the last vote"
    );
    let effects = recv(&mut c, N3, Msg::Vote { tx: 3, yes: true });
    assert_eq!(c.disk.counters(), (1, 1), "the commit record, synced");
    let commit = Msg::Decide {
        tx: 3,
        decision: Decision::Commit,
    };
    assert_eq!(
        effects,
        vec![
            (N2, commit.clone()),
            (N3, commit),
            (
                C1,
                Msg::TransferDone {
                    op: 3,
                    committed: true
                }
            ),
        ]
    );
    // A restarted coordinator finds the commit and sends it again.
    c.restart();
    assert!(coord(&c).knows_committed(3));
    let effects = c.start().sends();
    assert_eq!(effects.len(), 2);
}

#[test]
fn with_decide_before_logging_the_commit_goes_out_unsynced() {
    let mut cfg = config(Mode::TwoPc);
    cfg.params.decide_before_logging = true;
    let mut c = coordinator(&cfg);
    let effects = all_vote_yes(&mut c, 3);
    assert_eq!(c.disk.counters(), (1, 0), "written, not synced");
    assert!(effects.iter().any(|(_, m)| matches!(m, Msg::Decide { .. })));
}

#[test]
fn a_coordinator_with_no_record_presumes_abort() {
    let cfg = config(Mode::TwoPc);
    let mut c = coordinator(&cfg);
    let effects = recv(&mut c, N2, Msg::AskDecision { tx: 9 });
    assert_eq!(
        effects,
        vec![(
            N2,
            Msg::Tell {
                tx: 9,
                decision: Some(Decision::Abort)
            }
        )]
    );
    assert_eq!(c.disk.counters(), (0, 0), "presumed abort logs nothing");
}

#[test]
fn an_abort_a_client_was_told_of_survives_a_crash_and_a_retry_hears_it_again() {
    let cfg = config(Mode::TwoPc);
    let mut c = coordinator(&cfg);
    begin(&mut c, 4);
    let effects = recv(&mut c, N2, Msg::Vote { tx: 4, yes: false });
    let failed = Msg::TransferDone {
        op: 4,
        committed: false,
    };
    assert!(effects.contains(&(C1, failed.clone())), "{effects:?}");
    assert_eq!(
        c.disk.counters(),
        (1, 1),
        "the abort, synced before the answer"
    );
    // The client's retry of transfer 4 was already on its way; it arrives
    // after the coordinator crashed and came back. Run anew, it could
    // commit money for a transfer the client was told failed.
    c.restart();
    c.start();
    let effects = begin(&mut c, 4);
    assert_eq!(effects, vec![(C1, failed)], "abort again, and no prepare");
}

#[test]
fn a_presumed_abort_is_logged_once_a_client_retry_is_told_of_it() {
    let cfg = config(Mode::TwoPc);
    let mut c = coordinator(&cfg);
    // A participant asks about transfer 11, which this coordinator never
    // saw (it crashed while voting): presumed abort, nothing logged.
    recv(&mut c, N2, Msg::AskDecision { tx: 11 });
    assert_eq!(c.disk.counters(), (0, 0), "presumed abort logs nothing");
    // The client's retry of 11 is told fail: now it is logged, so that
    // another retry after another crash hears fail again.
    let failed = Msg::TransferDone {
        op: 11,
        committed: false,
    };
    assert_eq!(begin(&mut c, 11), vec![(C1, failed.clone())]);
    assert_eq!(c.disk.counters(), (1, 1));
    begin(&mut c, 11);
    assert_eq!(c.disk.counters(), (1, 1), "logged once");
    c.restart();
    c.start();
    assert_eq!(begin(&mut c, 11), vec![(C1, failed)], "no prepare");
}

#[test]
fn a_participant_that_voted_yes_asks_instead_of_aborting_on_timeout() {
    let cfg = config(Mode::TwoPc);
    let mut p = prepared(&cfg);
    let effects = expire(&mut p, 7);
    assert_eq!(effects, vec![(COORDINATOR, Msg::AskDecision { tx: 7 })]);
    assert_eq!(part(&p).state_of(7), Some(PState::Prepared));
    assert_eq!(part(&p).locks_held(), 1, "still blocked, still locked");
}

#[test]
fn with_unilateral_abort_after_yes_the_timeout_aborts() {
    let mut cfg = config(Mode::TwoPc);
    cfg.params.unilateral_abort_after_yes = true;
    let mut p = prepared(&cfg);
    expire(&mut p, 7);
    assert_eq!(part(&p).state_of(7), Some(PState::Aborted));
    assert_eq!(part(&p).locks_held(), 0);
}

/// The bank's three servers and its client on a `Net`, at 10ms: each node
/// built by the protocol from its disk, with the RNG a run with seed 1 gives
/// it.
fn bank(cfg: &Config) -> Net<Twopc> {
    let total = cfg.bank.accounts as i64 * cfg.params.initial_balance;
    let checker = Checker::new(total, 3);
    let twopc = Twopc {
        config: cfg.clone(),
        checker,
    };
    Net::new(twopc, Cluster::new(3, 1)).seeded(1).at(ms(10))
}

#[test]
fn cooperative_termination_asks_the_peers_and_a_peer_that_never_voted_aborts() {
    let mut cfg = config(Mode::TwoPc);
    cfg.params.cooperative_termination = true;
    let mut net = bank(&cfg);
    // n2 votes yes on transaction 7; the coordinator's decision never comes.
    net.inject(COORDINATOR, N2, prepare(7, 0, -5));
    let effects = net.fire(N2, tx_timer(7)).sends();
    assert_eq!(
        effects,
        vec![
            (COORDINATOR, Msg::AskDecision { tx: 7 }),
            (N3, Msg::AskDecision { tx: 7 })
        ]
    );
    // n3 never saw the prepare: it aborts the transaction and says so.
    let effects = net.deliver_from(N2, N3).sends();
    let tell = Msg::Tell {
        tx: 7,
        decision: Some(Decision::Abort),
    };
    assert_eq!(effects, vec![(N2, tell)]);
    net.deliver_from(N3, N2);
    let p = net.node(N2).participant().expect("a participant");
    assert_eq!(p.state_of(7), Some(PState::Aborted));
    assert_eq!(p.locks_held(), 0);
    net.assert_no_violations();
}

#[test]
fn a_three_phase_participant_decides_alone_by_its_state() {
    let cfg = config(Mode::ThreePc);
    let mut p = prepared(&cfg);
    recv(&mut p, COORDINATOR, Msg::PreCommit { tx: 7 });
    assert_eq!(part(&p).state_of(7), Some(PState::PreCommitted));
    // First timeout: ask everyone; second: nobody answered, commit alone.
    let effects = expire(&mut p, 7);
    assert_eq!(effects.len(), 2);
    expire(&mut p, 7);
    assert_eq!(part(&p).state_of(7), Some(PState::Committed));
    assert_eq!(part(&p).balance_total(), 195);
}

#[test]
fn a_saga_step_commits_at_once_and_a_repeated_step_gets_the_logged_answer() {
    let cfg = config(Mode::Saga);
    let mut p = participant(&cfg, N2);
    let step0 = Msg::Step {
        tx: 4,
        step: 0,
        change: Change {
            account: 0,
            delta: -5,
        },
    };
    let effects = recv(&mut p, COORDINATOR, step0.clone());
    let done = Msg::StepDone {
        tx: 4,
        step: 0,
        ok: true,
    };
    assert_eq!(effects, vec![(COORDINATOR, done.clone())]);
    assert_eq!(part(&p).balance_total(), 195, "applied at once, no lock");
    assert_eq!(part(&p).locks_held(), 0);
    let effects = recv(&mut p, COORDINATOR, step0);
    assert_eq!(effects, vec![(COORDINATOR, done)]);
    assert_eq!(
        part(&p).balance_total(),
        195,
        "a repeated step is not applied twice"
    );
}

#[test]
fn a_failed_credit_makes_the_saga_compensate_the_debit() {
    let cfg = config(Mode::Saga);
    let mut c = coordinator(&cfg);
    let effects = begin(&mut c, 5);
    assert_eq!(
        c.disk.counters(),
        (1, 1),
        "the saga is logged before its first step"
    );
    let debit = Change {
        account: 0,
        delta: -5,
    };
    assert_eq!(
        effects,
        vec![(
            N2,
            Msg::Step {
                tx: 5,
                step: 0,
                change: debit
            }
        )]
    );
    recv(
        &mut c,
        N2,
        Msg::StepDone {
            tx: 5,
            step: 0,
            ok: true,
        },
    );
    let effects = recv(
        &mut c,
        N3,
        Msg::StepDone {
            tx: 5,
            step: 1,
            ok: false,
        },
    );
    assert_eq!(
        effects,
        vec![(
            N2,
            Msg::Step {
                tx: 5,
                step: 2,
                change: Change {
                    account: 0,
                    delta: 5
                }
            }
        )]
    );
    let effects = recv(
        &mut c,
        N2,
        Msg::StepDone {
            tx: 5,
            step: 2,
            ok: true,
        },
    );
    assert!(effects.contains(&(
        C1,
        Msg::TransferDone {
            op: 5,
            committed: false
        }
    )));
    assert_eq!(coord(&c).compensations, 1);
}

#[test]
fn a_three_phase_coordinator_aborts_when_a_pre_commit_goes_unacknowledged() {
    let cfg = config(Mode::ThreePc);
    let mut c = coordinator(&cfg);
    let effects = all_vote_yes(&mut c, 6);
    assert_eq!(
        effects,
        vec![
            (N2, Msg::PreCommit { tx: 6 }),
            (N3, Msg::PreCommit { tx: 6 })
        ]
    );
    recv(&mut c, N2, Msg::PreCommitAck { tx: 6 });
    // n3 never acknowledges: it may have timed out into abort on its own.
    let effects = expire(&mut c, 6);
    assert!(effects.contains(&(
        N2,
        Msg::Decide {
            tx: 6,
            decision: Decision::Abort
        }
    )));
    assert!(!coord(&c).knows_committed(6));
}
