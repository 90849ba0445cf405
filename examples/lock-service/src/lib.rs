//! A lease-based lock service with fencing tokens, tested under chaos.
//!
//! Three kinds of node. A **lock server** (`n1`) grants one lock for a
//! lease of `lease_duration`, measured on its own monotonic clock, and
//! with each grant a **fencing token**: 1, 2, 3, ..., synced to its disk
//! before it is handed out, so that a restarted lock server never hands out
//! a number twice. While the lease runs, other clients wait in a queue;
//! when the holder releases the lock, or its lease runs out, the next one
//! gets it. A **storage service** (`n2`) keeps the data and the highest
//! token it has accepted, and with `fencing = true` refuses a write whose
//! token is older. **Clients** (`c1..`) read straight from storage; for a
//! write they take the lock, work for `work_time`, write under the token,
//! and release. A client reports the role `holder` while it believes it
//! holds the lock, so a fault can be aimed at it.
//!
//! What a lease guarantees, and what it does not (Kleppmann, "How to do
//! distributed locking", 2016; Burrows, "The Chubby lock service", OSDI
//! 2006, whose *sequencers* are fencing tokens): the lock server frees the
//! lock when the lease runs out by its clock, whatever the holder is doing.
//! A holder that stops for longer than its lease (a GC pause, a stopped VM,
//! a page fault on a swapped-out heap) wakes up still believing it holds
//! the lock, and writes: a **zombie**. Checking the lease before writing
//! does not help, because the pause can fall between the check and the
//! write. Only the resource can tell: the storage compares the write's
//! token with the newest it has seen and refuses the older one. With
//! `fencing = false` the zombie's write lands over the newer holder's,
//! breaking `mutual-exclusion` (see `invariants`); the history stays
//! linearizable all the same (the zombie's write was open the whole time,
//! so it may "take effect" at any point of it), which is why this property
//! is the protocol's own invariant and not the history checker's.

mod client;
mod invariants;
mod lock_server;
mod msg;
mod storage;
#[cfg(test)]
mod tests;

pub use client::{Client, Phase, WORK_TIMER};
pub use invariants::{Checker, HANDOVER, MUTUAL_EXCLUSION, PROPERTIES, TOKEN_MONOTONICITY};
pub use lock_server::{Granted, Holder, LockServer, GRACE_TIMER, LEASE_TIMER, TOKEN_KEY};
pub use msg::{Msg, Token, WriteResult};
pub use storage::{Accepted, Durable, Storage, STATE_KEY};

use chaoslab::sim::client::ClientConfig;
use chaoslab::sim::metric::{Figure, Metrics};
use chaoslab::sim::node::{Cluster, Disk, NodeId};
use chaoslab::sim::protocol::{Findings, Property, Protocol, Step};
use chaoslab::sim::registry::{at_least, ParamError, Servers, Spec};
use chaoslab::sim::scenario::Scenario;
use chaoslab::sim::time::{fmt_duration, ms, Nanos};
use serde::Deserialize;

/// The lock server is `n1`, the storage `n2`.
pub const LOCK_SERVER: NodeId = NodeId(0);
pub const STORAGE: NodeId = NodeId(1);

/// What `ctx.note` reports, for fault triggers.
pub const NOTES: &[&str] = &[
    "granted",
    "released",
    "lease-expired",
    "stale-token-rejected",
    "fenced",
];

/// The figures of the report, in the order [`Protocol::metrics`] reports
/// them, by name and unit (`[expect.measure."NAME"]` bounds their value).
pub const METRICS: &[Figure] = &[
    Figure::text("lock"),
    Figure::count("tokens granted"),
    Figure::count("leases expired"),
    Figure::count("stale writes rejected"),
    Figure::count("zombie writes accepted"),
];

/// `[system]` for `protocol = "lock-service"`: every field may be left
/// out (the defaults are in `Default`), and an unknown one is refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// How long a grant lasts on the lock server's monotonic clock.
    #[serde(with = "chaoslab::sim::time::serde_duration")]
    pub lease_duration: Nanos,
    /// How long a client works under the lock before it writes.
    #[serde(with = "chaoslab::sim::time::serde_duration")]
    pub work_time: Nanos,
    /// The storage refuses writes with a token older than one it accepted.
    pub fencing: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            lease_duration: ms(500),
            work_time: ms(50),
            fencing: true,
        }
    }
}

/// The lock service, as chaoslab runs it.
#[derive(Clone, Debug)]
pub struct LockService {
    pub params: Params,
    pub client: ClientConfig,
    checker: Checker,
}

impl LockService {
    /// The protocol from its parts (what [`Spec::new`] reads from a
    /// scenario), for tests that build one by hand.
    pub fn from_parts(params: Params, client: ClientConfig, cluster: &Cluster) -> Self {
        LockService {
            checker: Checker::new(params.fencing, cluster),
            params,
            client,
        }
    }

    pub fn checker(&self) -> &Checker {
        &self.checker
    }
}

/// What chaoslab needs to know to run scenarios that name the protocol.
impl Spec for LockService {
    const NAME: &'static str = "lock-service";
    const ABOUT: &'static str = "a lease-based lock service with fencing tokens (an outside crate)";
    type Params = Params;
    const ROLES: &'static [&'static str] = &["lock-server", "storage", "holder"];
    const SERVERS: Servers = Servers::exactly(2, "n1 the lock server, n2 the storage");
    const NOTES: Option<&'static [&'static str]> = Some(NOTES);
    const METRICS: &'static [Figure] = METRICS;

    fn new(params: Params, s: &Scenario) -> Result<Self, ParamError> {
        at_least("lease_duration", params.lease_duration, ms(1), "500ms")?;
        let client = s.workload.client_config();
        let cluster = Cluster::new(s.servers(), s.clients());
        Ok(Self::from_parts(params, client, &cluster))
    }
}

chaoslab::sim::node_enum! {
    /// A node of the lock service. The lock server alone has work to do at
    /// start (a restarted one waits out a lease), and clients alone are
    /// handed requests.
    pub enum LockNode: Msg {
        LockServer(LockServer) { role: |_| "lock-server", start, get as_lock_server },
        Storage(Storage) { role: |_| "storage", get as_storage },
        Client(Client) { role: Client::role, requests, get as_client },
    }
}

impl Protocol for LockService {
    type Node = LockNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> LockNode {
        if cluster.is_client(id) {
            LockNode::Client(Client::new(self.client.clone(), self.params.work_time))
        } else if id == LOCK_SERVER {
            LockNode::LockServer(LockServer::recover(self.params.lease_duration, disk))
        } else {
            LockNode::Storage(Storage::recover(self.params.fencing, disk))
        }
    }

    const PROPERTIES: &'static [Property] = PROPERTIES;

    fn check(&mut self, step: Step<'_, LockNode>, out: &mut Findings) {
        self.checker.check(step.nodes, out);
    }

    /// The figures of [`METRICS`]; a crashed node's are left out.
    fn metrics(&self, nodes: &[Option<LockNode>], out: &mut Metrics) {
        let node = |id: NodeId| nodes.get(id.index()).and_then(Option::as_ref);
        let (p, fencing) = (&self.params, if self.params.fencing { "on" } else { "off" });
        let (lease, work) = (fmt_duration(p.lease_duration), fmt_duration(p.work_time));
        out.text(
            "lock",
            format!("lease {lease}, work {work}, fencing {fencing}"),
        );
        if let Some(s) = node(LOCK_SERVER).and_then(LockNode::as_lock_server) {
            out.count("tokens granted", s.last_token())
                .note("(the last token handed out)");
            out.count("leases expired", s.expired)
                .note("(since the lock server's last start)");
        }
        if let Some(s) = node(STORAGE).and_then(LockNode::as_storage) {
            out.count("stale writes rejected", s.rejected)
                .note("(since the storage's last start)");
        }
        out.count("zombie writes accepted", self.checker.zombie_writes)
            .note("(a holder's write accepted after a newer holder's)");
    }
}
