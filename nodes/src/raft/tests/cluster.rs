//! Whole-cluster behaviour without the kernel: a `sim::testing::Net` of
//! Raft servers and clients, run in time order (every message takes 1ms)
//! under partitions and crashes, with Raft's invariants checked after every
//! step.

use super::*;

/// `servers` servers and `clients` clients, started at time 0. A client
/// gives an attempt 400ms and retries ten times, 50ms apart.
fn cluster(servers: usize, clients: usize, params: Params) -> Net<Raft> {
    let client = ClientConfig {
        timeout: ms(400),
        retry: RetryPolicy::Fixed {
            delay: ms(50),
            attempts: 10,
        },
    };
    let mut net = Net::new(Raft::new(params, client), Cluster::new(servers, clients));
    net.start_all();
    net
}

/// The cluster after its first second, when it has elected exactly one
/// leader: the net, and the leader with its term.
fn after_first_second(servers: usize, clients: usize, params: Params) -> (Net<Raft>, NodeId, u64) {
    let mut net = cluster(servers, clients, params);
    net.run_until(ms(1_000));
    let leaders = leaders(&net);
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    assert_eq!(net.holds(LEADER_ELECTED), Some(true));
    (net, leaders[0].0, leaders[0].1)
}

/// Hands client `client` operation `op`, unless it still has one open.
fn request(net: &mut Net<Raft>, client: NodeId, op: u64, key: &str, f: OpFn) {
    let busy = net.node(client).as_client().is_some_and(Client::busy);
    if !busy {
        let req = Request {
            id: OpId(op),
            key: key.into(),
            f,
        };
        net.request(client, req);
    }
}

/// The servers that are up.
fn servers(net: &Net<Raft>) -> impl Iterator<Item = &Server> {
    net.nodes().iter().flatten().filter_map(RaftNode::as_server)
}

fn leaders(net: &Net<Raft>) -> Vec<(NodeId, u64)> {
    servers(net)
        .filter(|s| s.role() == Role::Leader)
        .map(|s| (s.id(), s.term()))
        .collect()
}

/// The outcome of op `op`, once completed.
fn outcome(net: &Net<Raft>, op: u64) -> Option<(Outcome, Option<Value>)> {
    net.completion(OpId(op)).map(|c| (c.outcome, c.output))
}

/// Every server holds the same log.
fn assert_logs_agree(net: &Net<Raft>) {
    let logs: Vec<Vec<u64>> = servers(net).map(log_terms).collect();
    assert!(logs.windows(2).all(|w| w[0] == w[1]), "{logs:?}");
}

fn ids(indexes: impl IntoIterator<Item = usize>) -> Vec<NodeId> {
    indexes.into_iter().map(|i| NodeId(i as u32)).collect()
}

#[test]
fn a_three_server_cluster_elects_exactly_one_leader_and_replicates() {
    let mut net = cluster(3, 1, Params::default());
    net.run_until(ms(1_000));
    let leaders = leaders(&net);
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    let c1 = NodeId(3);
    request(&mut net, c1, 1, "a", OpFn::Append(Value::Int(1)));
    net.run_until(ms(2_000));
    request(&mut net, c1, 2, "a", OpFn::Append(Value::Int(2)));
    net.run_until(ms(3_000));
    request(&mut net, c1, 3, "a", OpFn::Read);
    net.run_until(ms(4_000));
    assert_eq!(outcome(&net, 1), Some((Outcome::Ok, None)));
    assert_eq!(outcome(&net, 2), Some((Outcome::Ok, None)));
    assert_eq!(
        outcome(&net, 3),
        Some((Outcome::Ok, Some(Value::List(vec![1, 2]))))
    );
    // Each operation completed once, and only at the client that asked.
    assert_eq!(net.completions().len(), 3);
    assert_eq!(net.effects(c1).completions().len(), 3);
    // Every server holds the same log and has applied all of it.
    assert_logs_agree(&net);
    for s in servers(&net) {
        assert_eq!(s.applied_index(), s.log().last_index(), "{}", s.describe());
        assert_eq!(s.kv().read("a"), Value::List(vec![1, 2]));
    }
    net.assert_no_violations();
}

#[test]
fn a_leader_cut_off_in_a_minority_is_replaced_and_its_uncommitted_entries_are_overwritten() {
    let (mut net, old, term) = after_first_second(5, 2, Params::default());
    // The old leader and client c1 on one side; c2 with the majority.
    let (c1, c2) = (NodeId(5), NodeId(6));
    let minority = [old, c1];
    let majority: Vec<NodeId> = ids(0..5)
        .into_iter()
        .filter(|n| *n != old)
        .chain([c2])
        .collect();
    net.partition(&[&minority, &majority]);
    request(&mut net, c1, 1, "k", OpFn::Write(Value::Int(1)));
    net.run_until(ms(3_000));
    let new: Vec<_> = leaders(&net)
        .into_iter()
        .filter(|(_, t)| *t > term)
        .collect();
    assert_eq!(new.len(), 1, "{:?}", leaders(&net));
    request(&mut net, c2, 2, "k", OpFn::Write(Value::Int(2)));
    net.run_until(ms(4_000));
    assert_eq!(outcome(&net, 2), Some((Outcome::Ok, None)));
    // The minority side cannot commit: c1 never hears "ok".
    assert_ne!(outcome(&net, 1).map(|o| o.0), Some(Outcome::Ok));
    net.heal();
    net.run_until(ms(8_000));
    assert_logs_agree(&net);
    assert_eq!(leaders(&net).len(), 1);
    net.assert_no_violations();
}

#[test]
fn a_crashed_follower_restarts_from_disk_and_catches_up() {
    let (mut net, leader, _) = after_first_second(3, 1, Params::default());
    let victim = NodeId((leader.0 + 1) % 3);
    net.crash(victim);
    let c1 = NodeId(3);
    for op in 1..=5 {
        request(&mut net, c1, op, "k", OpFn::Append(Value::Int(op as i64)));
        net.run_until(ms(1_000 + op * 200));
    }
    net.restart(victim);
    assert_eq!(net.incarnation(victim), 1);
    net.run_until(ms(4_000));
    let s = server(&net, victim);
    assert_eq!(s.kv().read("k"), Value::List(vec![1, 2, 3, 4, 5]));
    net.assert_no_violations();
}

#[test]
fn pre_vote_keeps_a_rejoining_server_from_disrupting_the_leader() {
    let params = Params {
        pre_vote: true,
        check_quorum: true,
        ..Params::default()
    };
    let (mut net, leader, term) = after_first_second(3, 0, params);
    let loner = NodeId((leader.0 + 1) % 3);
    net.isolate(loner);
    net.run_until(ms(5_000));
    assert_eq!(
        server(&net, loner).term(),
        term,
        "pre-votes do not raise the term"
    );
    net.heal();
    net.run_until(ms(6_000));
    assert_eq!(leaders(&net), vec![(leader, term)]);
    net.assert_no_violations();
}

#[test]
fn check_quorum_makes_a_leader_in_a_minority_step_down() {
    let params = Params {
        check_quorum: true,
        ..Params::default()
    };
    let (mut net, leader, _) = after_first_second(3, 0, params);
    net.isolate(leader);
    net.run_until(ms(2_000));
    assert_ne!(server(&net, leader).role(), Role::Leader);
    net.assert_no_violations();
}

#[test]
fn reads_are_linear_in_every_read_mode() {
    for mode in [ReadMode::Log, ReadMode::ReadIndex, ReadMode::Lease] {
        let params = Params {
            read_mode: mode,
            ..Params::default()
        };
        let mut net = cluster(3, 2, params);
        net.run_until(ms(1_000));
        let (c1, c2) = (NodeId(3), NodeId(4));
        request(&mut net, c1, 1, "k", OpFn::Write(Value::Int(7)));
        net.run_until(ms(1_500));
        request(&mut net, c2, 2, "k", OpFn::Read);
        net.run_until(ms(2_000));
        assert_eq!(
            outcome(&net, 2),
            Some((Outcome::Ok, Some(Value::Int(7)))),
            "{mode:?}"
        );
        net.assert_no_violations();
    }
}

#[test]
fn invariant_a_correct_run_with_crashes_and_partitions_breaks_nothing() {
    let params = Params {
        pre_vote: true,
        check_quorum: true,
        read_mode: ReadMode::ReadIndex,
        ..Params::default()
    };
    let mut net = cluster(5, 2, params);
    let (c1, c2) = (NodeId(5), NodeId(6));
    let mut op = 0;
    for round in 0..12u64 {
        let t = round * ms(700);
        match round % 4 {
            1 => net.partition(&[&ids([0, 1, 5]), &ids([2, 3, 4, 6])]),
            2 => net.heal(),
            3 => {
                let victim = NodeId((round % 5) as u32);
                net.crash(victim);
                net.run_until(t + ms(300));
                net.restart(victim);
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
            request(&mut net, c, op, "k", f);
        }
        net.run_until(t + ms(700));
    }
    net.heal();
    net.run_until(ms(12_000));
    net.assert_no_violations();
    assert!(net.completions().iter().any(|c| c.outcome == Outcome::Ok));
    assert_eq!(leaders(&net).len(), 1);
    assert_eq!(net.holds(LEADER_ELECTED), Some(true));
}
