//! Hand-driven unit tests: one node at a time, asserting the effects it
//! records.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim::client::{RequestId, SessionId};
use sim::history::{OpFn, Value};
use sim::node::{Clock, Cluster, Ctx, Disk, Effect, NodeId};
use sim::time::{ms, Nanos};

use super::msg::{Answer, Entry, Msg, Op, Pos};
use super::{Mode, Monitor, Params, ReadRouting, Role, Server};

const N1: NodeId = NodeId(0);
const N2: NodeId = NodeId(1);
const N3: NodeId = NodeId(2);
const MON: NodeId = NodeId(3);
const C1: NodeId = NodeId(4);

/// Drives one node: its disk, its RNG and the effects of the last handler.
struct Bench {
    cluster: Cluster,
    rng: ChaCha8Rng,
    disk: Disk,
    now: Nanos,
    /// The clocks of every node the bench drives (perfect unless a test
    /// steps or drifts them).
    clock: Clock,
    effects: Vec<Effect<Msg>>,
    /// The client's send counter for `write_as`: every send a new number.
    sends: u64,
}

impl Bench {
    fn new() -> Bench {
        Bench {
            cluster: Cluster::new(4, 1),
            rng: ChaCha8Rng::seed_from_u64(7),
            disk: Disk::default(),
            now: ms(10),
            clock: Clock::default(),
            effects: Vec::new(),
            sends: 0,
        }
    }

    fn with<R>(&mut self, me: NodeId, f: impl FnOnce(&mut Ctx<Msg>) -> R) -> R {
        self.effects.clear();
        let mut ctx = Ctx::new(
            me,
            self.now,
            self.clock,
            &mut self.rng,
            &mut self.disk,
            &self.cluster,
            &mut self.effects,
        );
        f(&mut ctx)
    }

    fn sent(&self) -> Vec<(NodeId, Msg)> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, msg } => Some((*to, msg.clone())),
                _ => None,
            })
            .collect()
    }

    /// The replies to the client among the effects.
    fn replies(&self) -> Vec<Answer> {
        self.sent()
            .into_iter()
            .filter_map(|(to, m)| match m {
                Msg::Reply { answer, .. } if to == C1 => Some(answer),
                _ => None,
            })
            .collect()
    }
}

fn params(mode: Mode, fencing: bool) -> Arc<Params> {
    Arc::new(Params {
        mode,
        fencing,
        reads: ReadRouting::ReadYourWrites,
        ..Params::default()
    })
}

const DATA: &[NodeId] = &[N1, N2, N3];

/// n1 as a fresh primary, its no-op replicated to both replicas and a lease
/// granted by the monitor.
fn primary(b: &mut Bench, mode: Mode, fencing: bool) -> Server {
    let mut s = Server::recover(N1, params(mode, fencing), MON, DATA, &b.disk);
    b.with(N1, |ctx| s.on_start(ctx));
    for r in [N2, N3] {
        b.with(N1, |ctx| {
            s.on_message(
                ctx,
                r,
                Msg::Ack {
                    epoch: 1,
                    matched: 1,
                },
            )
        });
    }
    b.with(N1, |ctx| {
        s.on_message(
            ctx,
            MON,
            Msg::HeartbeatAck {
                epoch: 1,
                primary: Some(N1),
                round: 0,
            },
        )
    });
    s
}

/// Attempt numbers in these tests: a client numbers a send at least the
/// virtual time it left, and a server drops sends numbered before its own
/// start, so the tests' numbers lie after every start they make.
const LATER: u64 = 3_600_000_000_000;

/// Request `seq` of the client's incarnation `incarnation`.
fn c1_request(incarnation: u64, seq: u64) -> RequestId {
    RequestId {
        session: SessionId {
            client: C1,
            incarnation,
        },
        seq,
    }
}

fn write(b: &mut Bench, s: &mut Server, seq: u64, v: i64) {
    write_as(b, s, 0, seq, v)
}

/// A write from the client's incarnation `incarnation`.
fn write_as(b: &mut Bench, s: &mut Server, incarnation: u64, seq: u64, v: i64) {
    b.sends += 1;
    let attempt = LATER + b.sends;
    b.with(N1, |ctx| {
        s.on_message(
            ctx,
            C1,
            Msg::Request {
                id: c1_request(incarnation, seq),
                attempt,
                key: "k".into(),
                f: OpFn::Write(Value::Int(v)),
                min: None,
            },
        )
    });
}

#[test]
fn an_async_primary_acknowledges_a_write_before_any_replica_has_it() {
    let mut b = Bench::new();
    let mut p = primary(&mut b, Mode::Async, true);
    write(&mut b, &mut p, 1, 5);
    assert_eq!(
        b.replies(),
        vec![Answer::Ok {
            value: None,
            pos: Pos { epoch: 1, index: 2 }
        }]
    );
    // ... and streams it to both replicas in the same step.
    let appends = b
        .sent()
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
    let mut b = Bench::new();
    let mut p = primary(&mut b, Mode::Async, true);
    for seq in 1..=3 {
        write(&mut b, &mut p, seq, seq as i64);
    }
    assert_eq!(p.log().len(), 4);
    // Incarnation 1: seq 1 and 3 are new writes, appended and acknowledged.
    write_as(&mut b, &mut p, 1, 1, 10);
    assert_eq!(
        b.replies(),
        vec![Answer::Ok {
            value: None,
            pos: Pos { epoch: 1, index: 5 }
        }]
    );
    write_as(&mut b, &mut p, 1, 2, 20);
    write_as(&mut b, &mut p, 1, 3, 30);
    assert_eq!(
        b.replies(),
        vec![Answer::Ok {
            value: None,
            pos: Pos { epoch: 1, index: 7 }
        }],
        "seq 3 of the new session is not the old session's seq 3"
    );
    // A late retry of the old incarnation's last write: its process is
    // gone; it is neither appended nor answered.
    write_as(&mut b, &mut p, 0, 3, 3);
    assert_eq!(b.replies(), vec![]);
    assert_eq!(p.log().len(), 7);
    // A retry within the new session is answered with its own position.
    write_as(&mut b, &mut p, 1, 3, 30);
    assert_eq!(
        b.replies(),
        vec![Answer::Ok {
            value: None,
            pos: Pos { epoch: 1, index: 7 }
        }]
    );
    assert_eq!(p.log().len(), 7);
}

#[test]
fn a_semi_sync_primary_acknowledges_after_one_replica_and_a_sync_one_after_all() {
    for (mode, acks_before_reply) in [(Mode::SemiSync, 1), (Mode::Sync, 2)] {
        let mut b = Bench::new();
        let mut p = primary(&mut b, mode, true);
        write(&mut b, &mut p, 1, 5);
        assert!(b.replies().is_empty(), "{mode:?}: acknowledged too early");
        for (i, r) in [N2, N3].into_iter().enumerate() {
            b.with(N1, |ctx| {
                p.on_message(
                    ctx,
                    r,
                    Msg::Ack {
                        epoch: 1,
                        matched: 2,
                    },
                )
            });
            let replied = !b.replies().is_empty();
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
        let mut b = Bench::new();
        let mut p = primary(&mut b, Mode::Async, fencing);
        b.now += Params::default().lease() + ms(1);
        write(&mut b, &mut p, 1, 5);
        let refused = b.replies() == vec![Answer::Refused];
        assert_eq!(refused, fencing, "fencing {fencing}: {:?}", b.replies());
    }
}

fn append(epoch: u64, prev: Pos, entries: Vec<Entry>, commit: u64) -> Msg {
    let last = prev.index + entries.len() as u64;
    Msg::Append {
        epoch,
        prev,
        entries,
        commit,
        last,
    }
}

fn entry(epoch: u64, seq: u64, v: i64) -> Entry {
    Entry {
        epoch,
        op: Op::Client {
            id: c1_request(0, seq),
            key: "k".into(),
            f: OpFn::Write(Value::Int(v)),
        },
        at: 0,
    }
}

fn replica(b: &mut Bench, fencing: bool) -> Server {
    let mut r = Server::recover(N2, params(Mode::Async, fencing), MON, DATA, &b.disk);
    b.with(N2, |ctx| r.on_start(ctx));
    r
}

#[test]
fn a_fenced_replica_refuses_the_stream_of_a_primary_from_an_older_epoch() {
    let mut b = Bench::new();
    let mut r = replica(&mut b, true);
    b.with(N2, |ctx| r.on_message(ctx, MON, Msg::Probe { epoch: 2 }));
    assert_eq!(r.epoch(), 2);
    b.with(N2, |ctx| {
        r.on_message(ctx, N1, append(1, Pos::ZERO, vec![entry(1, 1, 5)], 1))
    });
    assert_eq!(b.sent(), vec![(N1, Msg::Fenced { epoch: 2 })]);
    assert!(r.log().is_empty());
    assert_eq!(r.stats().appends_fenced, 1);
}

#[test]
fn without_fencing_a_replica_takes_the_old_primarys_stream() {
    let mut b = Bench::new();
    let mut r = replica(&mut b, false);
    b.with(N2, |ctx| r.on_message(ctx, MON, Msg::Probe { epoch: 2 }));
    b.with(N2, |ctx| {
        r.on_message(ctx, N1, append(1, Pos::ZERO, vec![entry(1, 1, 5)], 1))
    });
    assert_eq!(r.log().len(), 1);
}

#[test]
fn a_replica_drops_a_divergent_tail_and_undoes_its_effect() {
    let mut b = Bench::new();
    let mut r = replica(&mut b, true);
    // Two entries from epoch 1, applied.
    b.with(N2, |ctx| {
        r.on_message(
            ctx,
            N1,
            append(1, Pos::ZERO, vec![entry(1, 1, 5), entry(1, 2, 6)], 2),
        )
    });
    assert_eq!(r.kv().get("k"), Value::Int(6));
    // The primary of epoch 2 kept only the first and wrote its own second.
    b.with(N2, |ctx| {
        r.on_message(
            ctx,
            N3,
            append(2, Pos { epoch: 1, index: 1 }, vec![entry(2, 3, 7)], 1),
        )
    });
    assert_eq!(r.last_pos(), Pos { epoch: 2, index: 2 });
    assert_eq!(r.kv().get("k"), Value::Int(5), "only what is committed");
    assert_eq!(
        b.sent(),
        vec![(
            N3,
            Msg::Ack {
                epoch: 2,
                matched: 2
            }
        )]
    );
}

#[test]
fn a_replica_behind_the_clients_position_sends_the_read_on_to_the_primary() {
    let mut b = Bench::new();
    let mut r = replica(&mut b, true);
    b.with(N2, |ctx| {
        r.on_message(ctx, N1, append(1, Pos::ZERO, vec![entry(1, 1, 5)], 1))
    });
    let read = |min, attempt: u64| Msg::Request {
        id: c1_request(0, 9),
        attempt: LATER + attempt,
        key: "k".into(),
        f: OpFn::Read,
        min: Some(min),
    };
    b.with(N2, |ctx| {
        r.on_message(ctx, C1, read(Pos { epoch: 1, index: 2 }, 1))
    });
    assert_eq!(b.replies(), vec![Answer::Behind(Some(N1))]);
    b.with(N2, |ctx| {
        r.on_message(ctx, C1, read(Pos { epoch: 1, index: 1 }, 2))
    });
    assert_eq!(
        b.replies(),
        vec![Answer::Ok {
            value: Some(Value::Int(5)),
            pos: Pos { epoch: 1, index: 1 }
        }]
    );
}

#[test]
fn the_monitor_promotes_the_most_up_to_date_replica_after_the_timeout() {
    let mut b = Bench::new();
    let p = params(Mode::SemiSync, true);
    let mut m = Monitor::recover(p.clone(), DATA, &b.disk);
    b.with(MON, |ctx| m.on_start(ctx));
    // Ticks go by and nothing comes from n1: after the timeout, a probe.
    let mut ticks = 0;
    while !b.sent().iter().any(|(_, m)| matches!(m, Msg::Probe { .. })) {
        ticks += 1;
        assert!(ticks <= 20, "no failover after {ticks} ticks");
        b.now += p.heartbeat_interval;
        b.with(MON, |ctx| m.on_timer(ctx, super::monitor::MONITOR_TICK));
    }
    assert_eq!(ticks as u64, p.heartbeat_timeout / p.heartbeat_interval + 1);
    let probes: Vec<NodeId> = b
        .sent()
        .into_iter()
        .filter(|(_, m)| *m == Msg::Probe { epoch: 2 })
        .map(|(to, _)| to)
        .collect();
    assert_eq!(probes, vec![N2, N3], "the old primary is not asked");
    for (n, index) in [(N2, 7), (N3, 9)] {
        b.with(MON, |ctx| {
            m.on_message(
                ctx,
                n,
                Msg::ProbeReply {
                    epoch: 2,
                    last: Pos { epoch: 1, index },
                },
            )
        });
    }
    b.with(MON, |ctx| m.on_timer(ctx, super::monitor::PROBE_DONE));
    assert_eq!(b.sent(), vec![(N3, Msg::Promote { epoch: 2 })]);
    assert_eq!(m.primary(), Some(N3));
    assert_eq!(m.failovers().len(), 1);
}

#[test]
fn a_promoted_replica_writes_a_noop_in_its_epoch_and_serves_reads_only_once_it_commits() {
    let mut b = Bench::new();
    let mut r = Server::recover(N2, params(Mode::SemiSync, true), MON, DATA, &b.disk);
    b.with(N2, |ctx| r.on_start(ctx));
    b.with(N2, |ctx| r.on_message(ctx, MON, Msg::Promote { epoch: 2 }));
    assert_eq!(r.role(), Role::Primary);
    assert_eq!(r.last_pos(), Pos { epoch: 2, index: 1 });
    // Round 0 was its heartbeat as a replica; round 1 its first as primary.
    b.with(N2, |ctx| {
        r.on_message(
            ctx,
            MON,
            Msg::HeartbeatAck {
                epoch: 2,
                primary: Some(N2),
                round: 1,
            },
        )
    });
    let read = |attempt| Msg::Request {
        id: c1_request(0, 1),
        attempt: LATER + attempt,
        key: "k".into(),
        f: OpFn::Read,
        min: None,
    };
    b.with(N2, |ctx| r.on_message(ctx, C1, read(1)));
    assert_eq!(b.replies(), vec![Answer::Refused]);
    b.with(N2, |ctx| {
        r.on_message(
            ctx,
            N3,
            Msg::Ack {
                epoch: 2,
                matched: 1,
            },
        )
    });
    // The client's retry (a new attempt) is served.
    b.with(N2, |ctx| r.on_message(ctx, C1, read(2)));
    assert!(matches!(b.replies()[..], [Answer::Ok { .. }]));
}

#[test]
fn a_primary_steps_down_when_the_monitor_names_another() {
    let mut b = Bench::new();
    let mut p = primary(&mut b, Mode::Async, false);
    b.with(N1, |ctx| {
        p.on_message(
            ctx,
            MON,
            Msg::HeartbeatAck {
                epoch: 2,
                primary: Some(N2),
                round: 0,
            },
        )
    });
    assert_eq!(p.role(), Role::Replica);
    assert_eq!(p.epoch(), 2);
}

#[test]
fn a_primary_ignores_an_ack_from_an_older_epoch() {
    // n2 was primary of epoch 1 with a longer log; now primary of epoch 2
    // with only its no-op. An Ack of epoch 1 held up on a clogged link
    // arrives: it must neither commit the no-op nor move the stream past
    // the end of the log.
    let mut b = Bench::new();
    let mut r = Server::recover(N2, params(Mode::SemiSync, true), MON, DATA, &b.disk);
    b.with(N2, |ctx| r.on_start(ctx));
    b.with(N2, |ctx| r.on_message(ctx, MON, Msg::Promote { epoch: 2 }));
    assert_eq!(r.last_pos(), Pos { epoch: 2, index: 1 });
    for stale in [
        Msg::Ack {
            epoch: 1,
            matched: 5,
        },
        Msg::Mismatch { epoch: 1, hint: 4 },
    ] {
        b.with(N2, |ctx| r.on_message(ctx, N3, stale));
        assert_eq!(r.commit(), 0, "a stale answer counted towards a commit");
    }
    // The next tick streams from what n3 confirmed in epoch 2 (nothing).
    b.with(N2, |ctx| r.tick(ctx));
    let appends: Vec<Pos> = b
        .sent()
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
    let mut b = Bench::new();
    let mut p = primary(&mut b, Mode::Async, true);
    b.with(N1, |ctx| p.on_timer(ctx, sim::node::TimerId(16)));
    write(&mut b, &mut p, 1, 5);
    assert_eq!(b.replies(), vec![Answer::Refused]);
}

#[test]
fn a_wall_clock_stepped_forward_does_not_end_a_primarys_lease_early() {
    // The lease is elapsed time on the monotonic clock: an NTP step of the
    // wall clock (here a second forward, twice the lease) changes nothing.
    // Compared on the wall clock, the primary refused every write until its
    // next heartbeat round was granted.
    let mut b = Bench::new();
    let mut p = primary(&mut b, Mode::Async, true);
    b.now += ms(10);
    b.clock = b.clock.set(b.now, Some(sim::time::secs(1) as i64), None);
    write(&mut b, &mut p, 1, 5);
    assert!(
        matches!(b.replies()[..], [Answer::Ok { .. }]),
        "a wall-clock step ended the lease: {:?}",
        b.replies()
    );
}

#[test]
fn a_wall_clock_stepped_back_does_not_stretch_a_primarys_lease() {
    // Stepped back by ten seconds, the wall clock would keep `lease_until`
    // ahead of it long after the monitor may promote someone else; the
    // monotonic clock and the lease timer end it on time.
    let mut b = Bench::new();
    let mut p = primary(&mut b, Mode::Async, true);
    b.clock = b
        .clock
        .set(b.now, Some(-(sim::time::secs(10) as i64)), None);
    b.now += params(Mode::Async, true).lease_local() + 1;
    b.with(N1, |ctx| p.on_timer(ctx, sim::node::TimerId(16)));
    write(&mut b, &mut p, 1, 5);
    assert_eq!(b.replies(), vec![Answer::Refused]);
    assert!(!p.serving(b.now));
}

#[test]
fn a_monitor_whose_wall_clock_steps_back_still_fails_a_silent_primary_over_in_time() {
    // The monitor measures silences on its monotonic clock. On the wall
    // clock, a step back of ten seconds made every silence read as zero for
    // ten seconds: a dead primary was not replaced until then.
    let mut b = Bench::new();
    let p = params(Mode::SemiSync, true);
    let mut m = Monitor::recover(p.clone(), DATA, &b.disk);
    b.with(MON, |ctx| m.on_start(ctx));
    b.now += p.heartbeat_interval;
    b.clock = b
        .clock
        .set(b.now, Some(-(sim::time::secs(10) as i64)), None);
    let mut ticks = 0;
    while !b.sent().iter().any(|(_, m)| matches!(m, Msg::Probe { .. })) {
        ticks += 1;
        assert!(ticks <= 20, "no failover after {ticks} ticks");
        b.now += p.heartbeat_interval;
        b.with(MON, |ctx| m.on_timer(ctx, super::monitor::MONITOR_TICK));
    }
    assert_eq!(ticks as u64, p.heartbeat_timeout / p.heartbeat_interval);
}

#[test]
fn a_monitor_whose_wall_clock_steps_forward_does_not_fail_a_live_primary_over() {
    // n1 heartbeats on every tick; a step forward of the monitor's wall
    // clock, larger than the timeout, between a heartbeat and the next tick
    // is not a silence.
    let mut b = Bench::new();
    let p = params(Mode::SemiSync, true);
    let mut m = Monitor::recover(p.clone(), DATA, &b.disk);
    b.with(MON, |ctx| m.on_start(ctx));
    for i in 0..30u64 {
        b.now += p.heartbeat_interval;
        b.with(MON, |ctx| {
            m.on_message(
                ctx,
                N1,
                Msg::Heartbeat {
                    epoch: 1,
                    primary: true,
                    last: Pos::ZERO,
                    round: i,
                },
            )
        });
        if i % 5 == 4 {
            let ahead = b.clock.offset_at(b.now) + sim::time::secs(1) as i64;
            b.clock = b.clock.set(b.now, Some(ahead), None);
        }
        b.with(MON, |ctx| m.on_timer(ctx, super::monitor::MONITOR_TICK));
        assert!(
            !b.sent().iter().any(|(_, m)| matches!(m, Msg::Probe { .. })),
            "a live primary was failed over after a clock step (tick {i})"
        );
    }
    assert_eq!(m.primary(), Some(N1));
    assert_eq!(m.epoch(), 1);
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
fn an_unanswered_probe_is_sent_again_in_the_same_epoch_and_a_late_answer_counts() {
    let mut b = Bench::new();
    let p = params(Mode::SemiSync, true);
    let mut m = Monitor::recover(p.clone(), DATA, &b.disk);
    b.with(MON, |ctx| m.on_start(ctx));
    while !b.sent().iter().any(|(_, m)| matches!(m, Msg::Probe { .. })) {
        b.now += p.heartbeat_interval;
        b.with(MON, |ctx| m.on_timer(ctx, super::monitor::MONITOR_TICK));
    }
    // Nobody answers within the window: the same epoch again, to everyone,
    // and no primary meanwhile (not the old one back under a newer epoch).
    b.with(MON, |ctx| m.on_timer(ctx, super::monitor::PROBE_DONE));
    let probes: Vec<(NodeId, Msg)> = b
        .sent()
        .into_iter()
        .filter(|(_, m)| matches!(m, Msg::Probe { .. }))
        .collect();
    assert_eq!(
        probes,
        [N1, N2, N3].map(|n| (n, Msg::Probe { epoch: 2 })).to_vec()
    );
    assert_eq!(m.primary(), None);
    assert_eq!(m.epoch(), 2);
    // A slow answer to the first probe still counts.
    b.with(MON, |ctx| {
        m.on_message(
            ctx,
            N2,
            Msg::ProbeReply {
                epoch: 2,
                last: Pos { epoch: 1, index: 3 },
            },
        )
    });
    b.with(MON, |ctx| m.on_timer(ctx, super::monitor::PROBE_DONE));
    assert_eq!(b.sent(), vec![(N2, Msg::Promote { epoch: 2 })]);
}

// The client: replies are matched to the send they answer, and redirects are
// bounded (issue 22, items 5 and 6).

fn client(routing: ReadRouting, attempts: u32) -> super::Client {
    super::Client::new(
        DATA,
        routing,
        sim::client::ClientConfig {
            timeout: ms(300),
            retry: sim::client::RetryPolicy::Fixed {
                delay: ms(10),
                attempts,
            },
        },
    )
}

fn op(f: OpFn) -> sim::node::Request {
    sim::node::Request {
        id: sim::node::OpId(0),
        key: "k".into(),
        f,
    }
}

/// The requests among the effects: (to, id, attempt).
fn requests(b: &Bench) -> Vec<(NodeId, RequestId, u64)> {
    b.sent()
        .into_iter()
        .filter_map(|(to, m)| match m {
            Msg::Request { id, attempt, .. } => Some((to, id, attempt)),
            _ => None,
        })
        .collect()
}

fn completed(b: &Bench) -> Option<sim::history::Outcome> {
    b.effects.iter().find_map(|e| match e {
        Effect::Complete { outcome, .. } => Some(*outcome),
        _ => None,
    })
}

fn reply(id: RequestId, attempt: u64, answer: Answer) -> Msg {
    Msg::Reply {
        id,
        attempt,
        answer,
    }
}

#[test]
fn a_late_copy_of_a_refusal_of_an_earlier_attempt_does_not_fail_the_write() {
    // Attempt 1 is refused (a primary without a lease); the network
    // duplicated that answer. The retry is applied; the second copy of the
    // first refusal arrives before the retry's answer. Matched by seq only,
    // it would end the write as `fail` (attempts spent) although it took
    // effect.
    let mut b = Bench::new();
    let mut c = client(ReadRouting::Primary, 2);
    b.with(C1, |ctx| c.on_request(ctx, op(OpFn::Write(Value::Int(7)))));
    let [(to, seq, first)] = requests(&b)[..] else {
        panic!("one request: {:?}", b.sent())
    };
    assert_eq!(to, N1);
    b.with(C1, |ctx| {
        c.on_message(ctx, N1, reply(seq, first, Answer::Refused))
    });
    assert_eq!(completed(&b), None);
    b.with(C1, |ctx| c.on_timer(ctx, sim::client::BACKOFF_TIMER));
    let [(_, _, second)] = requests(&b)[..] else {
        panic!("the retry: {:?}", b.sent())
    };
    assert_ne!(second, first, "a retry is a new attempt");
    b.with(C1, |ctx| {
        c.on_message(ctx, N1, reply(seq, first, Answer::Refused))
    });
    assert_eq!(completed(&b), None, "a stale refusal ended the write");
    assert!(b.effects.is_empty(), "a stale reply moved the client on");
    assert_eq!(c.stats().stale_replies, 1);
    let ok = Answer::Ok {
        value: None,
        pos: Pos { epoch: 1, index: 2 },
    };
    b.with(C1, |ctx| c.on_message(ctx, N1, reply(seq, second, ok)));
    assert_eq!(completed(&b), Some(sim::history::Outcome::Ok));
}

#[test]
fn a_duplicated_redirect_starts_one_chain() {
    let mut b = Bench::new();
    let mut c = client(ReadRouting::Primary, 3);
    b.with(C1, |ctx| c.on_request(ctx, op(OpFn::Write(Value::Int(7)))));
    let [(_, seq, first)] = requests(&b)[..] else {
        panic!("one request")
    };
    let redirect = reply(seq, first, Answer::NotPrimary(Some(N2)));
    b.with(C1, |ctx| c.on_message(ctx, N1, redirect.clone()));
    let [(to, _, second)] = requests(&b)[..] else {
        panic!("one redirect: {:?}", b.sent())
    };
    assert_eq!(to, N2);
    // The second copy of the same answer is stale: no second chain.
    b.with(C1, |ctx| c.on_message(ctx, N1, redirect));
    assert!(requests(&b).is_empty(), "a second chain: {:?}", b.sent());
    // Nor does the first chain's answer arrive twice.
    let ok = Answer::Ok {
        value: None,
        pos: Pos { epoch: 2, index: 3 },
    };
    b.with(C1, |ctx| {
        c.on_message(ctx, N2, reply(seq, second, ok.clone()))
    });
    assert_eq!(completed(&b), Some(sim::history::Outcome::Ok));
    b.with(C1, |ctx| c.on_message(ctx, N2, reply(seq, second, ok)));
    assert_eq!(completed(&b), None);
}

#[test]
fn redirects_between_lagging_servers_end_the_attempt_and_back_off() {
    // Nobody is primary: each replica behind the client's position names n1,
    // and n1 (restarted, behind too) knows no primary. The read must not
    // bounce between them: the attempt asks each server at most once, then
    // waits out the retry policy's backoff.
    let mut b = Bench::new();
    let mut c = client(ReadRouting::ReadYourWrites, 5);
    b.with(C1, |ctx| c.on_request(ctx, op(OpFn::Read)));
    let mut sends = 0;
    let mut asked = Vec::new();
    loop {
        let reqs = requests(&b);
        let Some(&(to, seq, attempt)) = reqs.first() else {
            break;
        };
        assert_eq!(reqs.len(), 1, "one send at a time");
        sends += 1;
        assert!(sends <= DATA.len(), "the attempt bounced: {asked:?}");
        asked.push(to);
        let answer = if to == N1 {
            Answer::Behind(None)
        } else {
            Answer::Behind(Some(N1))
        };
        b.with(C1, |ctx| c.on_message(ctx, to, reply(seq, attempt, answer)));
    }
    assert!(
        asked.contains(&N1),
        "the replica's hint was followed: {asked:?}"
    );
    assert!(
        b.effects.iter().any(|e| matches!(
            e,
            Effect::SetTimer { id, .. } if *id == sim::client::BACKOFF_TIMER
        )),
        "the attempt ended in a backoff: {:?}",
        b.effects
    );
    assert_eq!(completed(&b), None, "attempts remain");
    assert_eq!(c.stats().redirects_cut, 1);
}

#[test]
fn a_server_drops_a_late_copy_of_a_send_it_already_refused() {
    // The primary refused attempt 1 of a write (its lease had run out); the
    // network duplicated the request. By the time the second copy arrives
    // the lease is back: applying it would make the write take effect after
    // the client may have recorded `fail`.
    let mut b = Bench::new();
    let mut p = primary(&mut b, Mode::Async, true);
    b.now += Params::default().lease() + ms(1);
    let req = |attempt| Msg::Request {
        id: c1_request(0, 1),
        attempt: LATER + attempt,
        key: "k".into(),
        f: OpFn::Write(Value::Int(5)),
        min: None,
    };
    b.with(N1, |ctx| p.on_message(ctx, C1, req(1)));
    assert_eq!(b.replies(), vec![Answer::Refused]);
    // A new lease round, granted.
    b.with(N1, |ctx| p.on_timer(ctx, super::server::TICK));
    b.with(N1, |ctx| {
        p.on_message(
            ctx,
            MON,
            Msg::HeartbeatAck {
                epoch: 1,
                primary: Some(N1),
                round: 1,
            },
        )
    });
    let len = p.log().len();
    b.with(N1, |ctx| p.on_message(ctx, C1, req(1)));
    assert!(b.sent().is_empty(), "the copy was answered: {:?}", b.sent());
    assert_eq!(p.log().len(), len, "the copy was applied");
    // The client's next attempt is taken in.
    b.with(N1, |ctx| p.on_message(ctx, C1, req(2)));
    assert_eq!(p.log().len(), len + 1);
    assert!(matches!(b.replies()[..], [Answer::Ok { .. }]));
}

#[test]
fn a_server_drops_a_late_copy_of_an_earlier_operations_send() {
    // The client gave its write (seq 1) up as refused and moved on to a read
    // (seq 2); a late copy of seq 1's last send must not apply it now. The
    // session table alone would take it: no write of the session was applied.
    let mut b = Bench::new();
    let mut p = primary(&mut b, Mode::Async, true);
    let send = |seq, attempt, f| Msg::Request {
        id: c1_request(0, seq),
        attempt: LATER + attempt,
        key: "k".into(),
        f,
        min: None,
    };
    b.with(N1, |ctx| p.on_message(ctx, C1, send(2, 20, OpFn::Read)));
    assert!(matches!(b.replies()[..], [Answer::Ok { .. }]));
    let len = p.log().len();
    b.with(N1, |ctx| {
        p.on_message(ctx, C1, send(1, 10, OpFn::Write(Value::Int(5))))
    });
    assert!(b.sent().is_empty(), "the copy was answered: {:?}", b.sent());
    assert_eq!(p.log().len(), len, "the copy was applied");
}

#[test]
fn a_restarted_server_drops_copies_sent_before_its_restart() {
    // Its table of the newest attempt per client is volatile: a copy sent
    // before the crash that arrives after the restart must still be dropped,
    // or a write the client recorded as failed could take effect.
    let mut b = Bench::new();
    b.now = ms(1000);
    let mut r = Server::recover(N2, params(Mode::Async, true), MON, DATA, &b.disk);
    b.with(N2, |ctx| r.on_start(ctx));
    let read = |attempt| Msg::Request {
        id: c1_request(0, 1),
        attempt,
        key: "k".into(),
        f: OpFn::Read,
        min: None,
    };
    b.with(N2, |ctx| r.on_message(ctx, C1, read(ms(999))));
    assert!(b.replies().is_empty(), "a pre-restart copy was answered");
    b.with(N2, |ctx| r.on_message(ctx, C1, read(ms(1000))));
    assert_eq!(
        b.replies().len(),
        1,
        "a send after the restart went unanswered"
    );
}
