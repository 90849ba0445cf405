//! Replicas: the stream of appends, fencing by epoch, divergent tails,
//! reads behind the client's position, and promotion.

use super::*;

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

fn replica(fencing: bool) -> Harness<ReplNode> {
    let mut r = server(N2, params(Mode::Async, fencing));
    r.start();
    r
}

#[test]
fn a_fenced_replica_refuses_the_stream_of_a_primary_from_an_older_epoch() {
    let mut r = replica(true);
    r.deliver(MON, Msg::Probe { epoch: 2 });
    assert_eq!(srv(&r).epoch(), 2);
    let fx = r.deliver(N1, append(1, Pos::ZERO, vec![entry(1, 1, 5)], 1));
    assert_eq!(fx.sends(), vec![(N1, Msg::Fenced { epoch: 2 })]);
    assert!(srv(&r).log().is_empty());
    assert_eq!(srv(&r).stats().appends_fenced, 1);
}

#[test]
fn without_fencing_a_replica_takes_the_old_primarys_stream() {
    let mut r = replica(false);
    r.deliver(MON, Msg::Probe { epoch: 2 });
    r.deliver(N1, append(1, Pos::ZERO, vec![entry(1, 1, 5)], 1));
    assert_eq!(srv(&r).log().len(), 1);
}

#[test]
fn a_replica_drops_a_divergent_tail_and_undoes_its_effect() {
    let mut r = replica(true);
    // Two entries from epoch 1, applied.
    r.deliver(
        N1,
        append(1, Pos::ZERO, vec![entry(1, 1, 5), entry(1, 2, 6)], 2),
    );
    assert_eq!(srv(&r).kv().get("k"), Value::Int(6));
    // The primary of epoch 2 kept only the first and wrote its own second.
    let fx = r.deliver(
        N3,
        append(2, Pos { epoch: 1, index: 1 }, vec![entry(2, 3, 7)], 1),
    );
    assert_eq!(srv(&r).last_pos(), Pos { epoch: 2, index: 2 });
    assert_eq!(
        srv(&r).kv().get("k"),
        Value::Int(5),
        "only what is committed"
    );
    assert_eq!(
        fx.sends(),
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
    let mut r = replica(true);
    r.deliver(N1, append(1, Pos::ZERO, vec![entry(1, 1, 5)], 1));
    let read = |min, attempt: u64| Msg::Request {
        id: c1_request(0, 9),
        attempt: LATER + attempt,
        key: "k".into(),
        f: OpFn::Read,
        min: Some(min),
    };
    let fx = r.deliver(C1, read(Pos { epoch: 1, index: 2 }, 1));
    assert_eq!(replies(&fx), vec![Answer::Behind(Some(N1))]);
    let fx = r.deliver(C1, read(Pos { epoch: 1, index: 1 }, 2));
    assert_eq!(
        replies(&fx),
        vec![Answer::Ok {
            value: Some(Value::Int(5)),
            pos: Pos { epoch: 1, index: 1 }
        }]
    );
}

#[test]
fn a_promoted_replica_writes_a_noop_in_its_epoch_and_serves_reads_only_once_it_commits() {
    let mut r = server(N2, params(Mode::SemiSync, true));
    r.start();
    r.deliver(MON, Msg::Promote { epoch: 2 });
    assert_eq!(srv(&r).role(), Role::Primary);
    assert_eq!(srv(&r).last_pos(), Pos { epoch: 2, index: 1 });
    // Round 0 was its heartbeat as a replica; round 1 its first as primary.
    r.deliver(
        MON,
        Msg::HeartbeatAck {
            epoch: 2,
            primary: Some(N2),
            round: 1,
        },
    );
    let read = |attempt| Msg::Request {
        id: c1_request(0, 1),
        attempt: LATER + attempt,
        key: "k".into(),
        f: OpFn::Read,
        min: None,
    };
    let fx = r.deliver(C1, read(1));
    assert_eq!(replies(&fx), vec![Answer::Refused]);
    r.deliver(
        N3,
        Msg::Ack {
            epoch: 2,
            matched: 1,
        },
    );
    // The client's retry (a new attempt) is served.
    let fx = r.deliver(C1, read(2));
    assert!(matches!(replies(&fx)[..], [Answer::Ok { .. }]));
}
