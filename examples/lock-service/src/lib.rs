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
pub use invariants::{Checker, INVARIANTS, MUTUAL_EXCLUSION, TOKEN_MONOTONICITY};
pub use lock_server::{Granted, Holder, LockServer, GRACE_TIMER, LEASE_TIMER, TOKEN_KEY};
pub use msg::{Msg, Token, WriteResult, MESSAGES};
pub use storage::{Accepted, Durable, Storage, STATE_KEY};

use chaoslab::sim::client::ClientConfig;
use chaoslab::sim::node::{Cluster, Ctx, Disk, Node, NodeId, Request, Status, TimerId};
use chaoslab::sim::protocol::{Protocol, Violation};
use chaoslab::sim::registry::{ParamError, Spec};
use chaoslab::sim::scenario::Scenario;
use chaoslab::sim::time::{fmt_duration, Nanos};
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
            lease_duration: chaoslab::sim::time::ms(500),
            work_time: chaoslab::sim::time::ms(50),
            fencing: true,
        }
    }
}

/// The lock service, as chaoslab runs it.
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
    const MESSAGES: Option<&'static [&'static str]> = Some(MESSAGES);
    const NOTES: Option<&'static [&'static str]> = Some(NOTES);
    const MEASURES: &'static [&'static str] = &[
        "lock",
        "tokens granted",
        "leases expired",
        "stale writes rejected",
        "zombie writes accepted",
    ];

    fn new(params: Params, s: &Scenario) -> Result<Self, ParamError> {
        if params.lease_duration < chaoslab::sim::time::ms(1) {
            return Err(ParamError::field(
                "lease_duration",
                format!(
                    "lease_duration = \"{}\": must be at least 1ms, e.g. \"500ms\"",
                    fmt_duration(params.lease_duration)
                ),
            ));
        }
        if s.servers() != 2 {
            return Err(ParamError::servers(format!(
                "protocol \"lock-service\" runs exactly 2 servers (n1 the lock server, n2 the storage); this scenario asks for servers = {}",
                s.servers()
            )));
        }
        let cluster = Cluster::new(s.servers(), s.clients());
        Ok(LockService::from_parts(
            params,
            s.workload.client_config(),
            &cluster,
        ))
    }
}

/// A node of the lock service.
pub enum LockNode {
    LockServer(LockServer),
    Storage(Storage),
    Client(Client),
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

    fn invariants(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn check(
        &mut self,
        _now: Nanos,
        _stepped: NodeId,
        nodes: &[Option<LockNode>],
        out: &mut Vec<Violation>,
    ) {
        self.checker.check(nodes, out);
    }

    fn summary(&self, nodes: &[Option<LockNode>]) -> Vec<(String, String)> {
        let mut lines = vec![(
            "lock".to_string(),
            format!(
                "lease {}, work {}, fencing {}",
                fmt_duration(self.params.lease_duration),
                fmt_duration(self.params.work_time),
                if self.params.fencing { "on" } else { "off" }
            ),
        )];
        if let Some(Some(LockNode::LockServer(s))) = nodes.get(LOCK_SERVER.index()) {
            lines.push((
                "tokens granted".into(),
                format!("{} (the last token handed out)", s.last_token()),
            ));
            lines.push((
                "leases expired".into(),
                format!("{} (since the lock server's last start)", s.expired),
            ));
        }
        if let Some(Some(LockNode::Storage(s))) = nodes.get(STORAGE.index()) {
            lines.push((
                "stale writes rejected".into(),
                format!("{} (since the storage's last start)", s.rejected),
            ));
        }
        lines.push((
            "zombie writes accepted".into(),
            format!(
                "{} (a holder's write accepted after a newer holder's)",
                self.checker.zombie_writes
            ),
        ));
        lines
    }
}

impl Node for LockNode {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<Msg>) {
        if let LockNode::LockServer(s) = self {
            s.on_start(ctx)
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        match self {
            LockNode::LockServer(s) => s.on_message(ctx, from, msg),
            LockNode::Storage(s) => s.on_message(ctx, from, msg),
            LockNode::Client(c) => c.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        match self {
            LockNode::LockServer(s) => s.on_timer(ctx, timer),
            LockNode::Storage(_) => {}
            LockNode::Client(c) => c.on_timer(ctx, timer),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        if let LockNode::Client(c) = self {
            c.on_request(ctx, req)
        }
    }

    fn role(&self) -> &'static str {
        match self {
            LockNode::LockServer(_) => "lock-server",
            LockNode::Storage(_) => "storage",
            LockNode::Client(c) => c.role(),
        }
    }

    fn status(&self) -> Status {
        match self {
            LockNode::LockServer(s) => s.status(),
            LockNode::Storage(s) => s.status(),
            LockNode::Client(c) => c.status(),
        }
    }
}
