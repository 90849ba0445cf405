//! The primary: acknowledging writes by mode, sessions and late copies of
//! requests, and its lease (timed on the monotonic clock, fenced by the
//! monitor).

use super::*;

/// n1 as a fresh primary, its no-op replicated to both replicas and a lease
/// granted by the monitor.
fn primary(mode: Mode, fencing: bool) -> Harness<ReplNode> {
    let mut s = server(N1, params(mode, fencing));
    s.start();
    for r in [N2, N3] {
        s.deliver(
            r,
            Msg::Ack {
                epoch: 1,
                matched: 1,
            },
        );
    }
    s.deliver(
        MON,
        Msg::HeartbeatAck {
            epoch: 1,
            primary: Some(N1),
            round: 0,
        },
    );
    s
}

/// The client's send counter for `write_as`: every send a new, larger
/// number (shared by the tests that run at once, which only makes the gaps
/// between one test's numbers larger).
static SENDS: AtomicU64 = AtomicU64::new(0);

fn write(s: &mut Harness<ReplNode>, seq: u64, v: i64) -> Effects<Msg> {
    write_as(s, 0, seq, v)
}

/// The answer to a write the primary of epoch 1 appended at `index`.
fn written_at(index: u64) -> Vec<Answer> {
    vec![Answer::Ok {
        value: None,
        pos: Pos { epoch: 1, index },
    }]
}

/// A write from the client's incarnation `incarnation`.
fn write_as(s: &mut Harness<ReplNode>, incarnation: u64, seq: u64, v: i64) -> Effects<Msg> {
    let attempt = LATER + SENDS.fetch_add(1, Ordering::Relaxed) + 1;
    s.deliver(
        C1,
        Msg::Request {
            id: c1_request(incarnation, seq),
            attempt,
            key: "k".into(),
            f: OpFn::Write(Value::Int(v)),
            min: None,
        },
    )
}

#[test]
fn an_async_primary_acknowledges_a_write_before_any_replica_has_it() {
    let mut p = primary(Mode::Async, true);
    let fx = write(&mut p, 1, 5);
    assert_eq!(replies(&fx), written_at(2));
    // ... and streams it to both replicas in the same step.
    let appends = fx
        .sends()
        .into_iter()
        .filter(|(_, m)| matches!(m, Msg::Append { entries, .. } if entries.len() == 1))
        .count();
    assert_eq!(appends, 2);
}

#[test]
fn a_restarted_clients_writes_are_a_new_session_not_retries_of_its_old_ones() {
    // Issue 22 item 1: a restarted client numbers its requests from 1 again.
    // Keyed by node and seq alone, the primary dropped its writes below the
    // old session's last seq and answered the one equal to it with the old
    // write's position, applying nothing.
    let mut p = primary(Mode::Async, true);
    for seq in 1..=3 {
        write(&mut p, seq, seq as i64);
    }
    assert_eq!(srv(&p).log().len(), 4);
    // Incarnation 1: seq 1 and 3 are new writes, appended and acknowledged.
    let fx = write_as(&mut p, 1, 1, 10);
    assert_eq!(replies(&fx), written_at(5));
    write_as(&mut p, 1, 2, 20);
    let fx = write_as(&mut p, 1, 3, 30);
    assert_eq!(
        replies(&fx),
        written_at(7),
        "seq 3 of the new session is not the old session's seq 3"
    );
    // A late retry of the old incarnation's last write: its process is
    // gone; it is neither appended nor answered.
    let fx = write_as(&mut p, 0, 3, 3);
    assert_eq!(replies(&fx), vec![]);
    assert_eq!(srv(&p).log().len(), 7);
    // A retry within the new session is answered with its own position.
    let fx = write_as(&mut p, 1, 3, 30);
    assert_eq!(replies(&fx), written_at(7));
    assert_eq!(srv(&p).log().len(), 7);
}

#[test]
fn a_semi_sync_primary_acknowledges_after_one_replica_and_a_sync_one_after_all() {
    for (mode, acks_before_reply) in [(Mode::SemiSync, 1), (Mode::Sync, 2)] {
        let mut p = primary(mode, true);
        let fx = write(&mut p, 1, 5);
        assert!(replies(&fx).is_empty(), "{mode:?}: acknowledged too early");
        for (i, r) in [N2, N3].into_iter().enumerate() {
            let fx = p.deliver(
                r,
                Msg::Ack {
                    epoch: 1,
                    matched: 2,
                },
            );
            let replied = !replies(&fx).is_empty();
            assert_eq!(
                replied,
                i + 1 == acks_before_reply,
                "{mode:?} after {} acks",
                i + 1
            );
            if replied {
                break;
            }
        }
    }
}

#[test]
fn a_primary_whose_lease_ran_out_refuses_writes_unless_fencing_is_off() {
    for fencing in [true, false] {
        let mut p = primary(Mode::Async, fencing);
        p.now += Params::default().lease() + ms(1);
        let fx = write(&mut p, 1, 5);
        let refused = replies(&fx) == vec![Answer::Refused];
        assert_eq!(refused, fencing, "fencing {fencing}: {:?}", replies(&fx));
    }
}

#[test]
fn a_primary_steps_down_when_the_monitor_names_another() {
    let mut p = primary(Mode::Async, false);
    p.deliver(
        MON,
        Msg::HeartbeatAck {
            epoch: 2,
            primary: Some(N2),
            round: 0,
        },
    );
    assert_eq!(srv(&p).role(), Role::Replica);
    assert_eq!(srv(&p).epoch(), 2);
}

#[test]
fn a_primary_ignores_an_ack_from_an_older_epoch() {
    // n2 was primary of epoch 1 with a longer log; now primary of epoch 2
    // with only its no-op. An Ack of epoch 1 held up on a clogged link
    // arrives: it must neither commit the no-op nor move the stream past
    // the end of the log.
    let mut r = server(N2, params(Mode::SemiSync, true));
    r.start();
    r.deliver(MON, Msg::Promote { epoch: 2 });
    assert_eq!(srv(&r).last_pos(), Pos { epoch: 2, index: 1 });
    for stale in [
        Msg::Ack {
            epoch: 1,
            matched: 5,
        },
        Msg::Mismatch { epoch: 1, hint: 4 },
    ] {
        r.deliver(N3, stale);
        assert_eq!(
            srv(&r).commit(),
            0,
            "a stale answer counted towards a commit"
        );
    }
    // The next tick streams from what n3 confirmed in epoch 2 (nothing).
    let fx = r.run(|n, ctx| server_mut(n).tick(ctx));
    let appends: Vec<Pos> = fx
        .sends()
        .into_iter()
        .filter_map(|(to, m)| match m {
            Msg::Append { prev, .. } if to == N3 => Some(prev),
            _ => None,
        })
        .collect();
    assert_eq!(appends, vec![Pos::ZERO]);
}

#[test]
fn a_primary_loses_its_lease_when_the_timer_armed_at_its_heartbeat_fires() {
    // The lease is a timer armed when the heartbeat left, not a comparison
    // of clock readings: here the local clock has not moved (as if it had
    // been set back), yet once round 0's timer fires the lease is gone.
    let mut p = primary(Mode::Async, true);
    p.fire(sim::node::TimerId(16));
    let fx = write(&mut p, 1, 5);
    assert_eq!(replies(&fx), vec![Answer::Refused]);
}

#[test]
fn a_wall_clock_stepped_forward_does_not_end_a_primarys_lease_early() {
    // The lease is elapsed time on the monotonic clock: an NTP step of the
    // wall clock (here a second forward, twice the lease) changes nothing.
    // Compared on the wall clock, the primary refused every write until its
    // next heartbeat round was granted.
    let mut p = primary(Mode::Async, true);
    p.now += ms(10);
    p.clock = p.clock.set(p.now, Some(sim::time::secs(1) as i64), None);
    let fx = write(&mut p, 1, 5);
    assert!(
        matches!(replies(&fx)[..], [Answer::Ok { .. }]),
        "a wall-clock step ended the lease: {:?}",
        replies(&fx)
    );
}

#[test]
fn a_wall_clock_stepped_back_does_not_stretch_a_primarys_lease() {
    // Stepped back by ten seconds, the wall clock would keep `lease_until`
    // ahead of it long after the monitor may promote someone else; the
    // monotonic clock and the lease timer end it on time.
    let mut p = primary(Mode::Async, true);
    p.clock = p
        .clock
        .set(p.now, Some(-(sim::time::secs(10) as i64)), None);
    p.now += params(Mode::Async, true).lease_local() + 1;
    p.fire(sim::node::TimerId(16));
    let fx = write(&mut p, 1, 5);
    assert_eq!(replies(&fx), vec![Answer::Refused]);
    assert!(!srv(&p).serving(p.now));
}

#[test]
fn a_lease_is_timed_on_the_primarys_clock_shortened_by_the_drift_bound() {
    let p = Params {
        max_clock_drift: 0.2,
        ..Params::default()
    };
    assert_eq!(p.lease_local(), ms(200));
    // 250ms x 1.2 = 300ms < 500ms: valid; 450ms x 1.2 is not.
    assert!(p.validate(4).is_ok());
    let too_long = Params {
        lease: Some(ms(450)),
        ..p
    };
    assert_eq!(too_long.validate(4).unwrap_err().1, "max_clock_drift");
}

#[test]
fn a_server_drops_a_late_copy_of_a_send_it_already_refused() {
    // The primary refused attempt 1 of a write (its lease had run out); the
    // network duplicated the request. By the time the second copy arrives
    // the lease is back: applying it would make the write take effect after
    // the client may have recorded `fail`.
    let mut p = primary(Mode::Async, true);
    p.now += Params::default().lease() + ms(1);
    let req = |attempt| Msg::Request {
        id: c1_request(0, 1),
        attempt: LATER + attempt,
        key: "k".into(),
        f: OpFn::Write(Value::Int(5)),
        min: None,
    };
    let fx = p.deliver(C1, req(1));
    assert_eq!(replies(&fx), vec![Answer::Refused]);
    // A new lease round, granted.
    p.fire(super::super::server::TICK);
    p.deliver(
        MON,
        Msg::HeartbeatAck {
            epoch: 1,
            primary: Some(N1),
            round: 1,
        },
    );
    let len = srv(&p).log().len();
    let fx = p.deliver(C1, req(1));
    assert!(
        fx.sends().is_empty(),
        "the copy was answered: {:?}",
        fx.sends()
    );
    assert_eq!(srv(&p).log().len(), len, "the copy was applied");
    // The client's next attempt is taken in.
    let fx = p.deliver(C1, req(2));
    assert_eq!(srv(&p).log().len(), len + 1);
    assert!(matches!(replies(&fx)[..], [Answer::Ok { .. }]));
}

#[test]
fn a_server_drops_a_late_copy_of_an_earlier_operations_send() {
    // The client gave its write (seq 1) up as refused and moved on to a read
    // (seq 2); a late copy of seq 1's last send must not apply it now. The
    // session table alone would take it: no write of the session was applied.
    let mut p = primary(Mode::Async, true);
    let send = |seq, attempt, f| Msg::Request {
        id: c1_request(0, seq),
        attempt: LATER + attempt,
        key: "k".into(),
        f,
        min: None,
    };
    let fx = p.deliver(C1, send(2, 20, OpFn::Read));
    assert!(matches!(replies(&fx)[..], [Answer::Ok { .. }]));
    let len = srv(&p).log().len();
    let fx = p.deliver(C1, send(1, 10, OpFn::Write(Value::Int(5))));
    assert!(
        fx.sends().is_empty(),
        "the copy was answered: {:?}",
        fx.sends()
    );
    assert_eq!(srv(&p).log().len(), len, "the copy was applied");
}

#[test]
fn a_restarted_server_drops_copies_sent_before_its_restart() {
    // Its table of the newest attempt per client is volatile: a copy sent
    // before the crash that arrives after the restart must still be dropped,
    // or a write the client recorded as failed could take effect.
    let mut r = server(N2, params(Mode::Async, true));
    r.now = ms(1000);
    r.start();
    let read = |attempt| Msg::Request {
        id: c1_request(0, 1),
        attempt,
        key: "k".into(),
        f: OpFn::Read,
        min: None,
    };
    let fx = r.deliver(C1, read(ms(999)));
    assert!(replies(&fx).is_empty(), "a pre-restart copy was answered");
    let fx = r.deliver(C1, read(ms(1000)));
    assert_eq!(
        replies(&fx).len(),
        1,
        "a send after the restart went unanswered"
    );
}
