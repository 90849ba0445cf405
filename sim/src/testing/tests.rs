//! Tests of [`Net`] on a small protocol: each node, when its timer fires,
//! pings the others; a ping is written to disk (synced only when even) and
//! answered with a pong.

use rand::Rng;

use super::{Completion, Net};
use crate::history::{OpFn, Outcome, Value};
use crate::kernel::{stream, streams};
use crate::node::{Cluster, Ctx, Disk, Message, Node, NodeId, OpId, Request, Status, TimerId};
use crate::protocol::{Findings, Protocol, Step};
use crate::time::{ms, Nanos};

#[derive(Clone, Debug, PartialEq)]
enum Msg {
    Ping(u64),
    Pong(u64),
}

impl Message for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Ping(_) => "Ping",
            Msg::Pong(_) => "Pong",
        }
    }
}

const TICK: TimerId = TimerId(1);

struct Echo {
    seen: Vec<u64>,
    pongs: u64,
}

impl Node for Echo {
    type Msg = Msg;
    type Op = OpFn;
    fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        ctx.set_timer(TICK, ms(10));
    }
    fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Ping(x) => {
                ctx.disk().put(("seen", x), x);
                if x % 2 == 0 {
                    ctx.disk().sync();
                }
                self.seen.push(x);
                ctx.send(from, Msg::Pong(x));
            }
            Msg::Pong(_) => self.pongs += 1,
        }
    }
    fn on_timer(&mut self, ctx: &mut Ctx<Msg>, _timer: TimerId) {
        let me = ctx.me();
        for i in 0..ctx.cluster().servers().len() as u32 {
            if NodeId(i) != me {
                ctx.send(NodeId(i), Msg::Ping(me.0 as u64 + 1));
            }
        }
    }
    fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        let pongs = Some(Value::Int(self.pongs as i64));
        ctx.complete(req.id, Outcome::Ok, pongs);
    }
    fn role(&self) -> &'static str {
        "echo"
    }
    fn status(&self) -> Status {
        Status::default()
    }
}

/// Echo nodes; no node may see more than `limit` pings ("bounded"), and
/// "ponged" is true once some node got a pong.
struct Echoes {
    limit: usize,
}

impl Protocol for Echoes {
    type Node = Echo;
    fn build(&self, _id: NodeId, _cluster: &Cluster, disk: &Disk) -> Echo {
        let seen = disk.indexes("seen");
        Echo { seen, pongs: 0 }
    }
    fn check(&mut self, step: Step<'_, Echo>, out: &mut Findings) {
        if let Some(n) = step.node() {
            if n.seen.len() > self.limit {
                let who = step.stepped.index();
                out.violated("bounded", format!("node {who} saw {:?}", n.seen));
            }
        }
        let ponged = step.up().any(|(_, n)| n.pongs > 0);
        out.holds("ponged", ponged);
    }
}

const N1: NodeId = NodeId(0);
const N2: NodeId = NodeId(1);
const N3: NodeId = NodeId(2);

fn net() -> Net<Echoes> {
    Net::new(Echoes { limit: 10 }, Cluster::new(3, 1))
}

/// Where the messages in flight go, in order.
fn flight(net: &Net<Echoes>) -> Vec<(NodeId, NodeId, Msg)> {
    let f = net.in_flight().iter();
    f.map(|e| (e.from, e.to, e.msg.clone())).collect()
}

#[test]
fn sent_messages_wait_in_flight_until_the_test_delivers_them() {
    let mut net = net().at(100);
    let fx = net.fire(N1, TICK);
    assert_eq!(fx.sends(), vec![(N2, Msg::Ping(1)), (N3, Msg::Ping(1))]);
    assert_eq!(
        flight(&net),
        vec![(N1, N2, Msg::Ping(1)), (N1, N3, Msg::Ping(1))]
    );
    assert_eq!(net.in_flight()[0].due, 100 + super::DEFAULT_LATENCY);
    assert!(net.node(N2).seen.is_empty());
    // One by one: n2's pong joins the end of the queue.
    let fx = net.deliver_next().unwrap();
    assert_eq!(fx.sends(), vec![(N1, Msg::Pong(1))]);
    assert_eq!(net.node(N2).seen, vec![1]);
    assert_eq!(
        flight(&net),
        vec![(N1, N3, Msg::Ping(1)), (N2, N1, Msg::Pong(1))]
    );
    // Or all, and what they cause, without moving time.
    assert_eq!(net.deliver_all(), 3);
    assert_eq!((net.node(N1).pongs, net.now()), (2, 100));
    assert!(net.in_flight().is_empty());
    assert_eq!(net.effects(N3).sends(), vec![(N1, Msg::Pong(1))]);
    // A duplicated message arrives twice.
    net.fire(N1, TICK);
    let first = net.in_flight()[0].id;
    net.duplicate(first);
    assert_eq!(net.deliver_all(), 6);
    assert_eq!(net.node(N2).seen, vec![1, 1, 1]);
    assert_eq!(net.holds("ponged"), Some(true));
    net.assert_no_violations();
}

#[test]
fn a_partition_loses_what_crosses_it_and_deliver_among_holds_back_the_rest() {
    let mut net = net();
    // n3 is in no group: a side of its own (with the client).
    net.partition(&[&[N1, N2]]);
    net.fire(N1, TICK);
    assert_eq!(flight(&net), vec![(N1, N2, Msg::Ping(1))]);
    assert_eq!((net.lost()[0].to, net.lost().len()), (N3, 1));
    // A message already in flight when its link is cut is lost on arrival.
    net.heal();
    net.fire(N1, TICK);
    net.isolate(N2);
    net.deliver_all();
    assert_eq!(net.node(N2).seen, Vec::<u64>::new());
    assert_eq!(net.node(N3).seen, vec![1]);
    // Only the pong n3 sent back crossed no cut.
    assert_eq!((net.node(N1).pongs, net.lost().len()), (1, 3));
    // Between a subset: n1 and n3 talk, n2's ping waits.
    net.heal();
    net.fire(N1, TICK);
    assert_eq!(net.deliver_among(&[N1, N3]), 2);
    assert_eq!(flight(&net), vec![(N1, N2, Msg::Ping(1))]);
    let id = net.in_flight()[0].id;
    let copy = net.duplicate(id);
    assert_eq!(net.lose(id).to, N2);
    assert_eq!(flight(&net), vec![(N1, N2, Msg::Ping(1))]);
    net.lose_where(|e| e.id == copy);
    assert!(net.in_flight().is_empty());
    // One way: n2 still reaches n1, n1 no longer reaches n2.
    net.cut(N1, N2);
    assert!(net.is_cut(N1, N2) && !net.is_cut(N2, N1));
    net.fire(N2, TICK);
    net.deliver_from(N2, N1);
    // n1's pong is lost; n3's ping and pong cross.
    assert_eq!(net.deliver_all(), 2);
    assert_eq!(net.node(N2).pongs, 1);
}

#[test]
fn events_run_in_time_order_and_at_one_instant_in_the_order_scheduled() {
    let mut net = net();
    net.start_all();
    assert_eq!(net.timers(N2), vec![(TICK, ms(10))]);
    // All three ticks are due at 10: n1's was set first.
    let (who, timer, _) = net.fire_next().unwrap();
    assert_eq!((who, timer, net.now()), (N1, TICK, ms(10)));
    net.run_until(ms(10));
    // n2's, n3's and the client's ticks fired; no ping is due before 11.
    assert_eq!(net.in_flight().len(), 9);
    assert!(net.node(N2).seen.is_empty());
    net.run_until(ms(50));
    assert_eq!((net.now(), net.in_flight().len()), (ms(50), 0));
    let order: Vec<(Nanos, NodeId)> = net.log().iter().map(|l| (l.at, l.node)).collect();
    // Each node's effects at its start, then the ticks at 10 in the order
    // they were set (n1, n2, n3, the client), then the pings due at 11 in
    // the order they were sent.
    let mut expected: Vec<(Nanos, NodeId)> = Vec::new();
    for (t, nodes) in [
        (0, &[0, 1, 2, 3][..]),
        (ms(10), &[0, 0, 1, 1, 2, 2, 3, 3, 3]),
        (ms(11), &[1, 2, 0, 2, 0, 1, 0, 1, 2]),
    ] {
        expected.extend(nodes.iter().map(|&n| (t, NodeId(n))));
    }
    assert_eq!(order, expected);
    // The pings arrive in the order they were sent.
    assert_eq!(net.node(N3).seen, vec![1, 2, 4]);
    assert!(!net.step(), "nothing is pending");
}

#[test]
fn a_crash_keeps_what_was_synced_and_loses_what_arrives_while_down() {
    let mut net = net();
    net.inject(N1, N2, Msg::Ping(2));
    net.inject(N3, N2, Msg::Ping(3));
    assert_eq!(net.syncs(N2), 1);
    net.start(N2);
    net.crash(N2);
    assert!(!net.is_up(N2));
    assert!(net.timers(N2).is_empty(), "its timers went with it");
    net.fire(N1, TICK);
    net.deliver_all();
    // The ping to n2 found it down; n2's own answers to the two pings it
    // had handled died with it, as in a run.
    let lost: Vec<(NodeId, NodeId)> = net.lost().iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(lost.len(), 3, "{lost:?}");
    assert_eq!(lost.iter().filter(|l| l.1 == N2).count(), 1, "{lost:?}");
    assert_eq!(lost.iter().filter(|l| l.0 == N2).count(), 2, "{lost:?}");
    let fx = net.restart(N2);
    // 2 was synced; 3 was not. The restarted node started again.
    assert_eq!(net.node(N2).seen, vec![2]);
    assert_eq!(net.disk(N2).indexes("seen"), vec![2]);
    assert_eq!(
        (net.incarnation(N2), fx.timers_set()),
        (1, vec![(TICK, ms(10))])
    );
}

#[test]
fn the_protocols_checks_run_after_every_handler() {
    let mut net = Net::new(Echoes { limit: 1 }, Cluster::new(3, 1));
    assert_eq!(net.holds("ponged"), None);
    net.fire(N1, TICK);
    assert_eq!(net.holds("ponged"), Some(false));
    net.fire(N3, TICK);
    net.deliver_all();
    let [found] = net.violations() else {
        panic!("one violation, not {:?}", net.violations())
    };
    let what = (found.at, found.node, found.violation.invariant);
    assert_eq!(what, (0, N2, "bounded"));
    assert_eq!(found.violation.detail, "node 1 saw [1, 3]");
}

#[test]
fn a_client_completes_what_it_is_asked_and_the_net_keeps_it() {
    let mut net = net();
    let c1 = net.cluster().clients()[0];
    let req = Request {
        id: OpId(4),
        key: "k".into(),
        f: OpFn::Read,
    };
    let fx = net.request(c1, req);
    let done = Completion {
        op: OpId(4),
        outcome: Outcome::Ok,
        output: Some(Value::Int(0)),
        served: true,
        found_other: false,
    };
    assert_eq!(fx.completions(), vec![done.clone()]);
    assert_eq!(net.completion(OpId(4)), Some(done.clone()));
    assert_eq!(net.completions(), vec![done]);
    assert_eq!(net.effects(N1).len(), 0);
}

#[test]
fn each_node_draws_from_its_own_stream_of_the_seed() {
    let draw = |net: &mut Net<Echoes>, id| net.call(id, |_, ctx| ctx.rng().gen::<u64>()).0;
    let mut net = net().seeded(5);
    let expected = |i: u64| stream(5, streams::NODE_BASE + i).gen::<u64>();
    assert_eq!(draw(&mut net, N1), expected(0));
    assert_eq!(draw(&mut net, N2), expected(1));
    assert_ne!(expected(0), expected(1));
}
