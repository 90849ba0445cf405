//! The protocol `chaoslab bench explore` explores, written twice with the same
//! semantics: here as a chaoslab protocol (sans-IO nodes the kernel's
//! exploring mode drives), and in `stateright.rs` as a stateright actor
//! model (with the `stateright` feature), so that the two explorers can be
//! compared on the same state space: unique states (which must agree) and
//! states per second.
//!
//! The protocol: a last-writer-wins register replicated on every server,
//! each server writing once. At start, server `i` writes its own value
//! `(timestamp 1, writer i)` and sends it to every other server; a server
//! receiving a write keeps it if it is newer than the one it holds (by
//! timestamp, then writer) and acknowledges it; the writer counts its acks.
//! Its always-property: no writer counts more acks than it has peers.
//!
//! Why this protocol: its semantics can be made exactly the same on both
//! sides. There are no timers, no clients, no faults and no randomness:
//! the only choice is which in-flight message is delivered next, in any
//! order (stateright's unordered non-duplicating network; here `[explore]
//! latency = ["0ms", "1h"]`, so that every message may overtake every other
//! and time never moves). No delivery is a no-op (a write is always
//! acknowledged, an ack always counted), because stateright ignores
//! deliveries that change nothing, where chaoslab consumes them. Its state
//! space is also known in closed form, a third check on both counts: each
//! ordered pair of servers `(i, j)` is in one of three states (the write
//! from i to j in flight, its ack in flight, or the ack counted), and every
//! node's state is a function of those, so `n` servers have `3^(n(n-1))`
//! unique states: 729 for 3 servers, 531,441 for 4.
//!
//! It is a bench-only protocol, registered in its own catalog here rather
//! than in `nodes`' builtin registry: it teaches nothing, and would
//! otherwise show in `chaoslab list`, the lessons and the docs.

use std::hash::Hash;

use serde::Deserialize;
use sim::kernel::StateHasher;
use sim::node::{Cluster, Ctx, Disk, Node, NodeId, Request, Status, TimerId};
use sim::protocol::{Findings, Property, Protocol, Step};
use sim::registry::{ParamError, Spec};
use sim::scenario::Scenario;

#[cfg(feature = "stateright")]
pub mod stateright;

/// The protocol's name in its catalog and in the bench scenario.
pub const NAME: &str = "bench-lww";

/// The bench scenario with `servers` servers: exploration only (`[explore]`
/// with no operations, no faults), every message delivered at any time in
/// the first hour of a two-hour run, in any order.
pub fn scenario_toml(servers: usize) -> String {
    format!(
        r#"[meta]
name = "bench/explore-lww-{servers}"
description = "a last-writer-wins register on {servers} servers, each writing once: every delivery order"
duration = "2h"
[system]
protocol = "{NAME}"
[topology]
servers = {servers}
[network]
latency = {{ dist = "uniform", min = "1ms", max = "3ms" }}
[explore]
ops = 0
latency = ["0ms", "1h"]
"#
    )
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {}

sim::message! {
    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Msg {
        /// A write: the value `(timestamp, writer)`.
        Write(u32, u32),
        /// The receiver kept or ignored the write it acknowledges.
        Ack,
    }
}

/// The protocol: builds one [`Replica`] per server.
#[derive(Clone, Debug)]
pub struct BenchLww;

/// One server's state: the newest value it holds, and the acks its own
/// write has had. The same fields as the stateright actor's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Replica {
    /// `(timestamp, writer)`: `(0, 0)` before any write.
    pub value: (u32, u32),
    pub acks: u32,
}

/// What a server does at start: writes its own value and sends it to every
/// other server (in id order). Shared by both sides.
pub fn start(me: u32) -> (Replica, (u32, u32)) {
    let v = (1, me);
    (Replica { value: v, acks: 0 }, v)
}

impl Replica {
    /// A write received: kept if newer. The caller acknowledges it.
    pub fn on_write(&mut self, v: (u32, u32)) {
        if v > self.value {
            self.value = v;
        }
    }
}

pub const ACKS_BOUNDED: &str = "acks-bounded";

impl Protocol for BenchLww {
    type Node = Replica;

    const PROPERTIES: &'static [Property] = &[Property::always(
        ACKS_BOUNDED,
        "no writer counts more acks than it has peers",
    )];

    fn build(&self, _id: NodeId, _cluster: &Cluster, _disk: &Disk) -> Replica {
        Replica {
            value: (0, 0),
            acks: 0,
        }
    }

    fn check(&mut self, step: Step<'_, Replica>, out: &mut Findings) {
        let peers = step.nodes.len() as u32 - 1;
        if let Some(n) = step.node() {
            if n.acks > peers {
                out.violated(
                    ACKS_BOUNDED,
                    format!(
                        "n{} counted {} acks of {peers} peers",
                        step.stepped.index() + 1,
                        n.acks
                    ),
                );
            }
        }
    }
}

impl Node for Replica {
    type Msg = Msg;
    type Op = sim::history::OpFn;

    fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        let me = ctx.me();
        let (state, v) = start(me.0);
        *self = state;
        let peers: Vec<NodeId> = ctx
            .cluster()
            .servers()
            .iter()
            .copied()
            .filter(|&p| p != me)
            .collect();
        for p in peers {
            ctx.send(p, Msg::Write(v.0, v.1));
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Write(ts, writer) => {
                self.on_write((ts, writer));
                ctx.send(from, Msg::Ack);
            }
            Msg::Ack => self.acks += 1,
        }
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<Msg>, _timer: TimerId) {}

    fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        // The benchmark has no clients; a client operation would fail.
        ctx.complete(req.id, sim::history::Outcome::Fail, None);
    }

    fn role(&self) -> &'static str {
        "replica"
    }

    fn status(&self) -> Status {
        Status {
            role: "replica",
            fields: vec![
                ("value", format!("{:?}", self.value)),
                ("acks", self.acks.to_string()),
            ],
        }
    }
}

impl Spec for BenchLww {
    const NAME: &'static str = NAME;
    const ABOUT: &'static str = "bench only: a last-writer-wins register, each server writing once";
    type Params = Params;
    const ROLES: &'static [&'static str] = &["replica"];

    fn new(_: Params, _: &Scenario) -> Result<Self, ParamError> {
        Ok(BenchLww)
    }

    // States are told apart by `Hash`, as stateright does: the derived
    // `Hash` of the replica and the message covers the very fields their
    // derived `Debug` shows, so the states are the same as by `Debug`.
    fn hash_node(node: &Replica, h: &mut StateHasher<'_>) {
        node.hash(h)
    }

    fn hash_message(msg: &Msg, h: &mut StateHasher<'_>) {
        msg.hash(h)
    }

    /// The checker keeps nothing: every checker state is the same.
    fn hash_checker(&self, _: &mut StateHasher<'_>) {}
}

/// A catalog holding the bench protocol alone.
pub fn catalog() -> sim::registry::Catalog {
    use sim::registry::Register;
    let mut c = sim::registry::Catalog::new();
    c.add::<BenchLww>();
    c
}

/// What `chaoslab explore` found on the bench configuration.
#[derive(Clone, Debug)]
pub struct Explored {
    /// States reached (a choice made from an expanded state), repeats
    /// included.
    pub states: u64,
    pub unique: u64,
    /// The deepest run, in steps.
    pub depth: u64,
    pub seconds: f64,
    /// Every run was explored and nothing broke.
    pub exhaustive: bool,
}

/// Explores the bench configuration with `servers` servers, breadth first
/// (the explorer `chaoslab explore` runs), with no budget but the states'.
// The wall clock times the search; the search itself never reads it.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
pub fn explore(servers: usize) -> Result<Explored, String> {
    use sim::explore::{Limits, Strategy};
    let catalog = catalog();
    let text = scenario_toml(servers);
    let scenario = catalog
        .parse(&format!("bench/explore-lww-{servers}"), &text)
        .map_err(|e| e.to_string())?;
    let limits = Limits {
        max_states: u64::MAX,
        max_depth: None,
        check_steps: scenario.meta.check_steps(),
    };
    let started = std::time::Instant::now();
    let outcome = catalog
        .explore(
            &scenario,
            scenario.meta.seed,
            Strategy::Bfs,
            limits,
            &mut |_| None,
        )
        .map_err(|e| e.to_string())??;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(cex) = &outcome.counterexample {
        return Err(format!(
            "the bench protocol broke {}: {}",
            cex.property, cex.detail
        ));
    }
    Ok(Explored {
        states: outcome.stats.explored,
        unique: outcome.stats.unique,
        depth: outcome.stats.max_depth as u64,
        seconds,
        exhaustive: outcome.exhaustive,
    })
}

/// The unique states of `n` servers, in closed form: `3^(n(n-1))`.
pub fn expected_unique(servers: usize) -> u64 {
    3u64.pow((servers * servers.saturating_sub(1)) as u32)
}
