//! # Timeouts, retries, breakers: the request path under overload
//!
//! A caller that times out and tries again is doing the right thing for
//! itself and, often, the wrong thing for everyone: the service it gave up
//! on still does the work of the abandoned attempt, and now has the retry
//! to do as well. Retries multiply load exactly when there is no capacity
//! to spare. This protocol shows what that does and what stops it.
//!
//! The service (`n1`) is the queueing service of `protocol = "queue"`
//! (workers, a bounded FIFO or LIFO queue, a service-time distribution),
//! with a scheduled `slowdown` (a capacity drop for a while), and the option
//! to drop requests whose caller has stopped waiting (`drop_expired`: the
//! time the caller will still wait travels with each request). Or it is one
//! key under optimistic concurrency (`resource = "occ"`): an attempt that
//! finds the key changed since it read it conflicts, and must retry.
//!
//! The callers (`n2..`) start operations open-loop ([`sim::arrivals`]) or
//! all at once (`population`), and make each one in attempts: a timeout per
//! attempt, up to `max_attempts`, a backoff between them ([`backoff`]: none,
//! fixed, exponential, and exponential with full, equal or decorrelated
//! jitter, after Brooker's "Exponential Backoff And Jitter", 2015), an
//! optional retry budget (a token bucket: each operation earns a tenth of a
//! retry, say), an optional deadline for the whole operation, and an
//! optional circuit breaker ([`breaker`]).
//!
//! What it shows:
//! - contention (many callers retrying against one key): backoff without
//!   jitter keeps the callers in lockstep, so it does the most work and
//!   takes longest; full and decorrelated jitter the least (Brooker);
//! - metastable failure (Bronson et al., "Metastable Failures in
//!   Distributed Systems", HotOS 2021): a service near capacity, a short
//!   trigger, and the retries of timed-out callers keep it overloaded after
//!   the trigger is gone, with goodput near zero: the queue holds only work
//!   whose callers have left. A retry budget, a breaker, or load shedding
//!   (a short queue, LIFO, dropping expired work) each ends it;
//! - a breaker's half-open mistake (resetting the failure count), and what
//!   it costs a dependency that is down;
//! - a bulkhead: separate worker pools keep a healthy path up beside a slow
//!   one.
//!
//! With `backends`, `n1` is a front service that answers each request by
//! calling one backend (`n2..`, the callers after them), holding one of
//! its workers for the call; the time the caller will still wait travels
//! on to the backend, which may drop the request once it is up. The
//! front's workers are one shared pool or one pool per backend (a
//! bulkhead): in a shared pool, a slow backend takes the healthy path down
//! with it.
//!
//! What it leaves out: chains longer than two, breakers and retries inside
//! the front (only the callers retry), and adaptive queues (CoDel).

pub mod backoff;
pub mod breaker;
mod caller;
mod front;
mod params;
mod report;
mod server;
mod stats;
pub mod tally;

pub use caller::Caller;
pub use front::Front;
pub use params::{Config, Params, Pools, Resource};
pub use server::Server;
pub use stats::{CallerStats, Failure};

use std::sync::Arc;

use sim::metric::{Figure, Metrics};
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::{NodeTable, Protocol};
use sim::time::Nanos;

pub const ROLES: &[&str] = &["service", "front", "backend", "caller"];

/// The service is always `n1`.
pub const SERVICE: NodeId = NodeId(0);

/// The service's answer to one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Ok,
    /// Refused at once: every worker busy and the queue full.
    QueueFull,
    /// Dropped unserved: its deadline had passed when a worker would take it.
    Expired,
    /// OCC: another attempt committed after this one read.
    Conflict,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Caller -> service: attempt `attempt` of operation `op`; the caller
        /// waits `deadline` more nanoseconds for it.
        /// `kind` is the backend it is for (0 without backends).
        Request { op: u64, attempt: u32, deadline: Nanos, kind: u8 },
        /// Service -> caller.
        Reply { op: u64, attempt: u32, answer: Answer },
    }
}

sim::node_enum! {
    /// A node of the overload protocol.
    pub enum OverloadNode: Msg {
        Server(Server) { role: |s| if s.is_backend() { "backend" } else { "service" }, get as_server },
        Front(Front) { role: |_| "front", get as_front },
        Caller(Caller) { role: |_| "caller", start, get as_caller },
    }
}

/// The figures of the report, in the order it prints them.
pub const METRICS: &[Figure] = &[
    Figure::text("overload"),
    Figure::count("operations"),
    Figure::ratio("operations succeeded"),
    Figure::rate("goodput"),
    Figure::rate("goodput in window"),
    Figure::count("attempts"),
    Figure::number("amplification"),
    Figure::duration("time to finish"),
    Figure::duration("operation latency p50"),
    Figure::duration("operation latency p99"),
    Figure::count("attempts timed out"),
    Figure::count("attempts refused, queue full"),
    Figure::count("attempts conflicted"),
    Figure::count("operations refused, breaker open"),
    Figure::count("retries denied, budget"),
    Figure::count("operations past deadline"),
    Figure::count("operations out of attempts"),
    Figure::ratio("wasted work"),
    Figure::rate("service throughput"),
    Figure::count("queue length max"),
    Figure::count("attempts dropped, deadline passed"),
    Figure::ratio("operations succeeded via backend #N"),
    Figure::count("breaker opened"),
    Figure::ratio("breaker open"),
    Figure::series("offered load over time"),
    Figure::series("attempts over time"),
    Figure::series("goodput over time"),
    Figure::series("queue length over time"),
    Figure::series("breaker open over time"),
];

/// The protocol: one service, its callers.
#[derive(Clone, Debug)]
pub struct Overload {
    pub config: Arc<Config>,
    /// The figures of nodes' lives that ended in a crash.
    pub tally: tally::Tally,
}

impl Overload {
    pub fn new(config: Arc<Config>) -> Overload {
        Overload {
            config,
            tally: tally::Tally::default(),
        }
    }
}

impl Protocol for Overload {
    type Node = OverloadNode;

    fn build(&self, id: NodeId, _cluster: &Cluster, _disk: &Disk) -> OverloadNode {
        let backends = self.config.backends.len();
        let i = id.0 as usize;
        if id == SERVICE && backends == 0 {
            OverloadNode::Server(Server::new(self.config.clone()))
        } else if id == SERVICE {
            OverloadNode::Front(Front::new(self.config.clone()))
        } else if i <= backends {
            let mut s = Server::new(Arc::new(self.config.backend(i - 1)));
            s.backend = true;
            OverloadNode::Server(s)
        } else {
            OverloadNode::Caller(Caller::new(self.config.clone(), i - 1 - backends))
        }
    }

    fn crashed(&mut self, id: NodeId, last: &OverloadNode) {
        self.tally.crashed(id.index(), last);
    }

    fn metrics(&self, nodes: &NodeTable<OverloadNode>, out: &mut Metrics) {
        report::report(&self.config, nodes, &self.tally.dead, out);
    }
}

#[cfg(test)]
mod tests;
