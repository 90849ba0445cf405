//! Whole-cluster behaviour without the kernel: `Net` delivers messages and
//! fires timers between a few nodes in a deterministic loop.

use super::*;
use sim::protocol::Findings;

// ---- A deterministic in-test network ----

const LATENCY: Nanos = ms(1);

struct Net {
    cluster: Cluster,
    raft: Raft,
    nodes: Vec<Option<RaftNode>>,
    disks: Vec<Disk>,
    rngs: Vec<ChaCha8Rng>,
    clocks: Vec<Clock>,
    now: Nanos,
    seq: u64,
    /// (delivery time, send order) -> (from, to, message)
    inflight: BTreeMap<(Nanos, u64), (NodeId, NodeId, Msg)>,
    timers: BTreeMap<(NodeId, TimerId), Nanos>,
    /// Each node's partition group: messages cross only within a group.
    group: Vec<u32>,
    violations: Vec<Violation>,
    completed: Vec<(OpId, Outcome, Option<Value>)>,
}

impl Net {
    fn new(servers: usize, clients: usize, params: Params) -> Self {
        let cluster = Cluster::new(servers, clients);
        let raft = Raft::new(
            params,
            ClientConfig {
                timeout: ms(400),
                retry: RetryPolicy::Fixed {
                    delay: ms(50),
                    attempts: 10,
                },
            },
        );
        let n = cluster.len();
        let mut net = Net {
            nodes: (0..n).map(|_| None).collect(),
            disks: (0..n).map(|_| Disk::default()).collect(),
            rngs: (0..n)
                .map(|i| ChaCha8Rng::seed_from_u64(i as u64 + 1))
                .collect(),
            clocks: vec![Clock::default(); n],
            cluster,
            raft,
            now: 0,
            seq: 0,
            inflight: BTreeMap::new(),
            timers: BTreeMap::new(),
            group: vec![0; n],
            violations: Vec::new(),
            completed: Vec::new(),
        };
        for i in 0..n {
            net.start(NodeId(i as u32));
        }
        net
    }

    fn start(&mut self, id: NodeId) {
        let node = self.raft.build(id, &self.cluster, &self.disks[id.index()]);
        self.nodes[id.index()] = Some(node);
        self.step(id, |n, ctx| n.on_start(ctx));
    }

    fn crash(&mut self, id: NodeId) {
        self.nodes[id.index()] = None;
        self.timers.retain(|(n, _), _| *n != id);
        let mut out = Findings::new();
        let step = Step {
            now: self.now,
            stepped: id,
            nodes: &self.nodes,
        };
        self.raft.check(step, &mut out);
        self.violations.extend_from_slice(out.violations());
    }

    fn step(&mut self, id: NodeId, f: impl FnOnce(&mut RaftNode, &mut Ctx<Msg>)) {
        let i = id.index();
        let Some(node) = self.nodes[i].as_mut() else {
            return;
        };
        let mut effects = Vec::new();
        let mut ctx = Ctx::new(
            id,
            self.now,
            self.clocks[i],
            &mut self.rngs[i],
            &mut self.disks[i],
            &self.cluster,
            &mut effects,
        );
        f(node, &mut ctx);
        for e in effects {
            match e {
                Effect::Send { to, msg } => {
                    if self.group[i] == self.group[to.index()] {
                        self.seq += 1;
                        self.inflight
                            .insert((self.now + LATENCY, self.seq), (id, to, msg));
                    }
                }
                Effect::SetTimer { id: t, after } => {
                    self.timers.insert((id, t), self.now + after);
                }
                Effect::CancelTimer { id: t } => {
                    self.timers.remove(&(id, t));
                }
                Effect::Complete {
                    op,
                    outcome,
                    output,
                    ..
                } => self.completed.push((op, outcome, output)),
                Effect::Violation { invariant, detail } => {
                    self.violations.push(Violation { invariant, detail })
                }
                Effect::Note { .. } => {}
            }
        }
        let mut out = Findings::new();
        let step = Step {
            now: self.now,
            stepped: id,
            nodes: &self.nodes,
        };
        self.raft.check(step, &mut out);
        self.violations.extend_from_slice(out.violations());
    }

    /// Runs every event up to time `until`, in (time, order) order.
    fn run_until(&mut self, until: Nanos) {
        loop {
            let msg_at = self.inflight.keys().next().map(|k| k.0);
            let timer = self
                .timers
                .iter()
                .min_by_key(|(k, t)| (**t, **k))
                .map(|(k, t)| (*k, *t));
            let next = match (msg_at, timer) {
                (Some(m), Some((_, t))) => m.min(t),
                (Some(m), None) => m,
                (None, Some((_, t))) => t,
                (None, None) => break,
            };
            if next > until {
                break;
            }
            self.now = next;
            if msg_at == Some(next) {
                let (_, (from, to, msg)) = self.inflight.pop_first().unwrap();
                // A partition that began after sending still drops the message.
                if self.group[from.index()] == self.group[to.index()] {
                    self.step(to, |n, ctx| n.on_message(ctx, from, msg));
                }
            } else {
                let ((id, t), _) = timer.unwrap();
                self.timers.remove(&(id, t));
                self.step(id, |n, ctx| n.on_timer(ctx, t));
            }
        }
        self.now = until;
    }

    /// Hands client `client` operation `op`, unless it still has one open.
    fn request(&mut self, client: NodeId, op: u64, key: &str, f: OpFn) {
        let busy = self.nodes[client.index()]
            .as_ref()
            .and_then(RaftNode::as_client)
            .is_some_and(Client::busy);
        if busy {
            return;
        }
        let req = Request {
            id: OpId(op),
            key: key.into(),
            f,
        };
        self.step(client, |n, ctx| n.on_request(ctx, req));
    }

    fn server(&self, i: usize) -> &Server {
        self.nodes[i].as_ref().unwrap().as_server().unwrap()
    }

    fn servers(&self) -> impl Iterator<Item = &Server> {
        self.nodes.iter().flatten().filter_map(RaftNode::as_server)
    }

    fn leaders(&self) -> Vec<(NodeId, u64)> {
        self.servers()
            .filter(|s| s.role() == Role::Leader)
            .map(|s| (s.id(), s.term()))
            .collect()
    }

    /// The outcome of op `op`, once completed.
    fn outcome(&self, op: u64) -> Option<(Outcome, Option<Value>)> {
        self.completed
            .iter()
            .find(|c| c.0 == OpId(op))
            .map(|c| (c.1, c.2.clone()))
    }

    fn partition(&mut self, groups: &[&[usize]]) {
        for (g, members) in groups.iter().enumerate() {
            for m in *members {
                self.group[*m] = g as u32 + 1;
            }
        }
    }

    fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
    }

    /// Cuts server `loner` off from the other servers (and the clients).
    fn isolate(&mut self, loner: usize) {
        let rest: Vec<usize> = (0..self.nodes.len()).filter(|i| *i != loner).collect();
        self.partition(&[&[loner], &rest]);
    }

    /// The cluster after its first second, when it has elected a leader:
    /// the net, and a leader with its term.
    fn after_first_second(servers: usize, clients: usize, params: Params) -> (Net, NodeId, u64) {
        let mut net = Net::new(servers, clients, params);
        net.run_until(ms(1_000));
        let (leader, term) = net.leaders()[0];
        (net, leader, term)
    }

    /// Every server holds the same log.
    fn assert_logs_agree(&self) {
        let logs: Vec<Vec<u64>> = self.servers().map(log_terms).collect();
        assert!(logs.windows(2).all(|w| w[0] == w[1]), "{logs:?}");
    }

    /// No invariant broke during the run.
    fn assert_safe(&self) {
        assert!(self.violations.is_empty(), "{:?}", self.violations);
    }
}

#[test]
fn a_three_server_cluster_elects_exactly_one_leader_and_replicates() {
    let mut net = Net::new(3, 1, Params::default());
    net.run_until(ms(1_000));
    let leaders = net.leaders();
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    let c1 = NodeId(3);
    net.request(c1, 1, "a", OpFn::Append(Value::Int(1)));
    net.run_until(ms(2_000));
    net.request(c1, 2, "a", OpFn::Append(Value::Int(2)));
    net.run_until(ms(3_000));
    net.request(c1, 3, "a", OpFn::Read);
    net.run_until(ms(4_000));
    assert_eq!(net.outcome(1), Some((Outcome::Ok, None)));
    assert_eq!(net.outcome(2), Some((Outcome::Ok, None)));
    assert_eq!(
        net.outcome(3),
        Some((Outcome::Ok, Some(Value::List(vec![1, 2]))))
    );
    // Every server holds the same log and has applied all of it.
    net.assert_logs_agree();
    for s in net.servers() {
        assert_eq!(s.applied_index(), s.log().last_index(), "{}", s.describe());
        assert_eq!(s.kv().read("a"), Value::List(vec![1, 2]));
    }
    net.assert_safe();
}

#[test]
fn a_leader_cut_off_in_a_minority_is_replaced_and_its_uncommitted_entries_are_overwritten() {
    let (mut net, old, term) = Net::after_first_second(5, 2, Params::default());
    // The old leader and client c1 on one side; c2 with the majority.
    let others: Vec<usize> = (0..5).filter(|i| *i != old.index()).collect();
    let (c1, c2) = (NodeId(5), NodeId(6));
    let minority = [old.index(), c1.index()];
    let majority = [others.as_slice(), &[c2.index()]].concat();
    net.partition(&[&minority, &majority]);
    net.request(c1, 1, "k", OpFn::Write(Value::Int(1)));
    net.run_until(ms(3_000));
    let new: Vec<_> = net
        .leaders()
        .into_iter()
        .filter(|(_, t)| *t > term)
        .collect();
    assert_eq!(new.len(), 1, "{:?}", net.leaders());
    net.request(c2, 2, "k", OpFn::Write(Value::Int(2)));
    net.run_until(ms(4_000));
    assert_eq!(net.outcome(2), Some((Outcome::Ok, None)));
    // The minority side cannot commit: c1 never hears "ok".
    assert_ne!(net.outcome(1).map(|o| o.0), Some(Outcome::Ok));
    net.heal();
    net.run_until(ms(8_000));
    net.assert_logs_agree();
    assert_eq!(net.leaders().len(), 1);
    net.assert_safe();
}

#[test]
fn a_crashed_follower_restarts_from_disk_and_catches_up() {
    let (mut net, leader, _) = Net::after_first_second(3, 1, Params::default());
    let victim = NodeId((leader.0 + 1) % 3);
    net.crash(victim);
    let c1 = NodeId(3);
    for op in 1..=5 {
        net.request(c1, op, "k", OpFn::Append(Value::Int(op as i64)));
        net.run_until(ms(1_000 + op * 200));
    }
    net.start(victim);
    net.run_until(ms(4_000));
    let s = net.server(victim.index());
    assert_eq!(s.kv().read("k"), Value::List(vec![1, 2, 3, 4, 5]));
    net.assert_safe();
}

#[test]
fn pre_vote_keeps_a_rejoining_server_from_disrupting_the_leader() {
    let params = Params {
        pre_vote: true,
        check_quorum: true,
        ..Params::default()
    };
    let (mut net, leader, term) = Net::after_first_second(3, 0, params);
    let loner = (leader.index() + 1) % 3;
    net.isolate(loner);
    net.run_until(ms(5_000));
    assert_eq!(
        net.server(loner).term(),
        term,
        "pre-votes do not raise the term"
    );
    net.heal();
    net.run_until(ms(6_000));
    assert_eq!(net.leaders(), vec![(leader, term)]);
    net.assert_safe();
}

#[test]
fn check_quorum_makes_a_leader_in_a_minority_step_down() {
    let params = Params {
        check_quorum: true,
        ..Params::default()
    };
    let (mut net, leader, _) = Net::after_first_second(3, 0, params);
    net.isolate(leader.index());
    net.run_until(ms(2_000));
    assert_ne!(net.server(leader.index()).role(), Role::Leader);
}

#[test]
fn reads_are_linear_in_every_read_mode() {
    for mode in [ReadMode::Log, ReadMode::ReadIndex, ReadMode::Lease] {
        let params = Params {
            read_mode: mode,
            ..Params::default()
        };
        let mut net = Net::new(3, 2, params);
        net.run_until(ms(1_000));
        let (c1, c2) = (NodeId(3), NodeId(4));
        net.request(c1, 1, "k", OpFn::Write(Value::Int(7)));
        net.run_until(ms(1_500));
        net.request(c2, 2, "k", OpFn::Read);
        net.run_until(ms(2_000));
        assert_eq!(
            net.outcome(2),
            Some((Outcome::Ok, Some(Value::Int(7)))),
            "{mode:?}"
        );
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
    let mut net = Net::new(5, 2, params);
    let (c1, c2) = (NodeId(5), NodeId(6));
    let mut op = 0;
    for round in 0..12u64 {
        let t = round * ms(700);
        match round % 4 {
            1 => net.partition(&[&[0, 1, 5], &[2, 3, 4, 6]]),
            2 => net.heal(),
            3 => {
                let victim = NodeId((round % 5) as u32);
                net.crash(victim);
                net.run_until(t + ms(300));
                net.start(victim);
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
            net.request(c, op, "k", f);
        }
        net.run_until(t + ms(700));
    }
    net.heal();
    net.run_until(ms(12_000));
    net.assert_safe();
    assert!(net.completed.iter().any(|c| c.1 == Outcome::Ok));
    assert_eq!(net.leaders().len(), 1);
}
