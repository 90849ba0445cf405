//! Hand-driven unit tests: one node at a time, asserting the effects it
//! records.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sim::client::{RequestId, SessionId};
use sim::history::{OpFn, Value};
use sim::node::{Cluster, NodeId};
use sim::testing::{Effects, Harness};
use sim::time::ms;

use super::msg::{Answer, Entry, Msg, Op, Pos};
use super::{Client, Mode, Monitor, Params, ReadRouting, ReplNode, Role, Server};

mod client;
mod monitor;
mod primary;
mod replica;

const N1: NodeId = NodeId(0);
const N2: NodeId = NodeId(1);

const N3: NodeId = NodeId(2);
const MON: NodeId = NodeId(3);

const C1: NodeId = NodeId(4);

const DATA: &[NodeId] = &[N1, N2, N3];

/// Node `me` of three data servers, the monitor and a client, at 10ms,
/// built (and rebuilt on restart) from its disk by `build`.
fn bench(me: NodeId, build: impl Fn(&sim::node::Disk) -> ReplNode + 'static) -> Harness<ReplNode> {
    Harness::build(Cluster::new(4, 1), me, move |_, _, disk| build(disk)).at(ms(10))
}

/// Data server `me`, not started.
fn server(me: NodeId, params: Arc<Params>) -> Harness<ReplNode> {
    bench(me, move |disk| {
        ReplNode::Server(Server::recover(me, params.clone(), MON, DATA, disk))
    })
}

/// The monitor, not started.
fn monitor(params: Arc<Params>) -> Harness<ReplNode> {
    bench(MON, move |disk| {
        ReplNode::Monitor(Monitor::recover(params.clone(), DATA, disk))
    })
}

fn srv(h: &Harness<ReplNode>) -> &Server {
    h.node.as_server().expect("a data server")
}

fn server_mut(n: &mut ReplNode) -> &mut Server {
    match n {
        ReplNode::Server(s) => s,
        _ => panic!("a data server"),
    }
}

fn mon(h: &Harness<ReplNode>) -> &Monitor {
    h.node.as_monitor().expect("the monitor")
}

fn cli(h: &Harness<ReplNode>) -> &Client {
    h.node.as_client().expect("the client")
}

/// The replies to the client among the effects.
fn replies(fx: &Effects<Msg>) -> Vec<Answer> {
    fx.sent_to(C1)
        .into_iter()
        .filter_map(|m| match m {
            Msg::Reply { answer, .. } => Some(answer),
            _ => None,
        })
        .collect()
}

fn params(mode: Mode, fencing: bool) -> Arc<Params> {
    Arc::new(Params {
        mode,
        fencing,
        reads: ReadRouting::ReadYourWrites,
        ..Params::default()
    })
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

/// Attempt numbers in these tests: a client numbers a send at least the
/// virtual time it left, and a server drops sends numbered before its own
/// start, so the tests' numbers lie after every start they make.
const LATER: u64 = 3_600_000_000_000;
