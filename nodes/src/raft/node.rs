//! The node type the kernel drives: a Raft server or a Raft client.

use sim::node::{Ctx, Node, NodeId, Request, Status, TimerId};

use super::client::Client;
use super::msg::Msg;
use super::server::Server;

#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum RaftNode {
    Server(Server),
    Client(Client),
}

impl RaftNode {
    pub fn as_server(&self) -> Option<&Server> {
        match self {
            RaftNode::Server(s) => Some(s),
            RaftNode::Client(_) => None,
        }
    }
    pub fn as_server_mut(&mut self) -> Option<&mut Server> {
        match self {
            RaftNode::Server(s) => Some(s),
            RaftNode::Client(_) => None,
        }
    }
    pub fn as_client(&self) -> Option<&Client> {
        match self {
            RaftNode::Client(c) => Some(c),
            RaftNode::Server(_) => None,
        }
    }
}

impl Node for RaftNode {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        if let RaftNode::Server(s) = self {
            s.on_start(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match self {
            RaftNode::Server(s) => s.on_message(ctx, from, msg),
            RaftNode::Client(c) => c.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match self {
            RaftNode::Server(s) => s.on_timer(ctx, timer),
            RaftNode::Client(c) => c.on_timer(ctx, timer),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        match self {
            RaftNode::Client(c) => c.on_request(ctx, req),
            // The workload only hands requests to clients.
            RaftNode::Server(_) => debug_assert!(false, "a server was handed a client request"),
        }
    }

    fn role(&self) -> &'static str {
        match self {
            RaftNode::Server(s) => s.role().name(),
            RaftNode::Client(_) => "client",
        }
    }

    fn status(&self) -> Status {
        match self {
            RaftNode::Server(s) => s.status(),
            RaftNode::Client(c) => c.status(),
        }
    }
}
