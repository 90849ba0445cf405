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
    effects: Vec<Effect<Msg>>,
}

impl Bench {
    fn new() -> Bench {
        Bench {
            cluster: Cluster::new(4, 1),
            rng: ChaCha8Rng::seed_from_u64(7),
            disk: Disk::default(),
            now: ms(10),
            effects: Vec::new(),
        }
    }

    fn with<R>(&mut self, me: NodeId, f: impl FnOnce(&mut Ctx<Msg>) -> R) -> R {
        self.effects.clear();
        let mut ctx = Ctx::new(
            me,
            self.now,
            Clock::default(),
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
    b.with(N1, |ctx| {
        s.on_message(
            ctx,
            C1,
            Msg::Request {
                id: c1_request(incarnation, seq),
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
    let read = |min| Msg::Request {
        id: c1_request(0, 9),
        key: "k".into(),
        f: OpFn::Read,
        min: Some(min),
    };
    b.with(N2, |ctx| {
        r.on_message(ctx, C1, read(Pos { epoch: 1, index: 2 }))
    });
    assert_eq!(b.replies(), vec![Answer::Behind(Some(N1))]);
    b.with(N2, |ctx| {
        r.on_message(ctx, C1, read(Pos { epoch: 1, index: 1 }))
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
    let read = Msg::Request {
        id: c1_request(0, 1),
        key: "k".into(),
        f: OpFn::Read,
        min: None,
    };
    b.with(N2, |ctx| r.on_message(ctx, C1, read.clone()));
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
    b.with(N2, |ctx| r.on_message(ctx, C1, read));
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
