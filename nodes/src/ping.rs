//! Ping: servers bounce a message around as fast as the network allows.
//!
//! It has no state worth checking. It exists to measure the kernel: every event
//! is a delivery and a send, so events per second here is the cost of the
//! simulator itself (`chaoslab bench`).

use serde::Deserialize;
use sim::node::{Cluster, Ctx, Disk, Node, NodeId, Request, Status, TimerId};
use sim::protocol::Protocol;

pub const ROLES: &[&str] = &["pinger"];

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Messages each server keeps in flight.
    pub in_flight: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params { in_flight: 1 }
    }
}

sim::message! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Msg {
        Ping(u64),
        Pong(u64),
    }
}

#[derive(Clone, Debug)]
pub struct Ping {
    pub params: Params,
}

#[derive(Clone, Debug)]
pub struct Pinger {
    in_flight: u32,
    pongs: u64,
    client: bool,
}

impl Pinger {
    fn peer(&self, ctx: &mut Ctx<Msg>) -> NodeId {
        use rand::Rng;
        let servers = ctx.cluster().servers().len();
        let me = ctx.me().index();
        if servers < 2 {
            return ctx.me();
        }
        let mut p = ctx.rng().gen_range(0..servers - 1);
        if p >= me {
            p += 1;
        }
        NodeId(p as u32)
    }
}

impl Protocol for Ping {
    type Node = Pinger;

    fn build(&self, id: NodeId, cluster: &Cluster, _disk: &Disk) -> Pinger {
        Pinger {
            in_flight: self.params.in_flight,
            pongs: 0,
            client: cluster.is_client(id),
        }
    }
}

impl Node for Pinger {
    type Msg = Msg;
    type Op = sim::history::OpFn;

    fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        if self.client {
            return;
        }
        for i in 0..self.in_flight {
            let to = self.peer(ctx);
            ctx.send(to, Msg::Ping(i as u64));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Ping(n) => ctx.send(from, Msg::Pong(n)),
            Msg::Pong(n) => {
                self.pongs += 1;
                let to = self.peer(ctx);
                ctx.send(to, Msg::Ping(n + 1));
            }
        }
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}

    fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        // Ping serves no data: every client operation fails at once.
        ctx.complete(req.id, sim::history::Outcome::Fail, None);
    }

    fn role(&self) -> &'static str {
        if self.client {
            "client"
        } else {
            "pinger"
        }
    }

    fn status(&self) -> Status {
        Status {
            role: self.role(),
            fields: vec![("pongs", self.pongs.to_string())],
        }
    }
}
