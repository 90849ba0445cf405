//! The monitor: failure detection on its monotonic clock, probes and
//! promotion of the most up-to-date replica.

use super::*;

/// Ticks the monitor, one heartbeat interval apart, until it probes for a
/// new primary (at most 20 ticks); returns the ticks and the probing step's
/// effects.
fn tick_until_probe(m: &mut Harness<ReplNode>, p: &Params) -> (u64, Effects<Msg>) {
    for ticks in 1..=20 {
        m.advance(p.heartbeat_interval);
        let fx = m.fire(super::super::monitor::MONITOR_TICK);
        if fx
            .sends()
            .iter()
            .any(|(_, m)| matches!(m, Msg::Probe { .. }))
        {
            return (ticks, fx);
        }
    }
    panic!("no failover after 20 ticks");
}

#[test]
fn the_monitor_promotes_the_most_up_to_date_replica_after_the_timeout() {
    let p = params(Mode::SemiSync, true);
    let mut m = monitor(p.clone());
    m.start();
    // Ticks go by and nothing comes from n1: after the timeout, a probe.
    let (ticks, fx) = tick_until_probe(&mut m, &p);
    assert_eq!(ticks, p.heartbeat_timeout / p.heartbeat_interval + 1);
    let probes: Vec<NodeId> = fx
        .sends()
        .into_iter()
        .filter(|(_, m)| *m == Msg::Probe { epoch: 2 })
        .map(|(to, _)| to)
        .collect();
    assert_eq!(probes, vec![N2, N3], "the old primary is not asked");
    for (n, index) in [(N2, 7), (N3, 9)] {
        m.deliver(
            n,
            Msg::ProbeReply {
                epoch: 2,
                last: Pos { epoch: 1, index },
            },
        );
    }
    let fx = m.fire(super::super::monitor::PROBE_DONE);
    assert_eq!(fx.sends(), vec![(N3, Msg::Promote { epoch: 2 })]);
    assert_eq!(mon(&m).primary(), Some(N3));
    assert_eq!(mon(&m).failovers().len(), 1);
}

#[test]
fn a_monitor_whose_wall_clock_steps_back_still_fails_a_silent_primary_over_in_time() {
    // The monitor measures silences on its monotonic clock. On the wall
    // clock, a step back of ten seconds made every silence read as zero for
    // ten seconds: a dead primary was not replaced until then.
    let p = params(Mode::SemiSync, true);
    let mut m = monitor(p.clone());
    m.start();
    m.now += p.heartbeat_interval;
    m.clock = m
        .clock
        .set(m.now, Some(-(sim::time::secs(10) as i64)), None);
    let (ticks, _) = tick_until_probe(&mut m, &p);
    assert_eq!(ticks, p.heartbeat_timeout / p.heartbeat_interval);
}

#[test]
fn a_monitor_whose_wall_clock_steps_forward_does_not_fail_a_live_primary_over() {
    // n1 heartbeats on every tick; a step forward of the monitor's wall
    // clock, larger than the timeout, between a heartbeat and the next tick
    // is not a silence.
    let p = params(Mode::SemiSync, true);
    let mut m = monitor(p.clone());
    m.start();
    for i in 0..30u64 {
        m.now += p.heartbeat_interval;
        m.deliver(
            N1,
            Msg::Heartbeat {
                epoch: 1,
                primary: true,
                last: Pos::ZERO,
                round: i,
            },
        );
        if i % 5 == 4 {
            let ahead = m.clock.offset_at(m.now) + sim::time::secs(1) as i64;
            m.clock = m.clock.set(m.now, Some(ahead), None);
        }
        let fx = m.fire(super::super::monitor::MONITOR_TICK);
        assert!(
            !fx.sends()
                .iter()
                .any(|(_, m)| matches!(m, Msg::Probe { .. })),
            "a live primary was failed over after a clock step (tick {i})"
        );
    }
    assert_eq!(mon(&m).primary(), Some(N1));
    assert_eq!(mon(&m).epoch(), 1);
}

#[test]
fn an_unanswered_probe_is_sent_again_in_the_same_epoch_and_a_late_answer_counts() {
    let p = params(Mode::SemiSync, true);
    let mut m = monitor(p.clone());
    m.start();
    tick_until_probe(&mut m, &p);
    // Nobody answers within the window: the same epoch again, to everyone,
    // and no primary meanwhile (not the old one back under a newer epoch).
    let fx = m.fire(super::super::monitor::PROBE_DONE);
    let probes: Vec<(NodeId, Msg)> = fx
        .sends()
        .into_iter()
        .filter(|(_, m)| matches!(m, Msg::Probe { .. }))
        .collect();
    assert_eq!(
        probes,
        [N1, N2, N3].map(|n| (n, Msg::Probe { epoch: 2 })).to_vec()
    );
    assert_eq!(mon(&m).primary(), None);
    assert_eq!(mon(&m).epoch(), 2);
    // A slow answer to the first probe still counts.
    m.deliver(
        N2,
        Msg::ProbeReply {
            epoch: 2,
            last: Pos { epoch: 1, index: 3 },
        },
    );
    let fx = m.fire(super::super::monitor::PROBE_DONE);
    assert_eq!(fx.sends(), vec![(N2, Msg::Promote { epoch: 2 })]);
}
