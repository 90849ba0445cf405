//! A Raft client: it sends each operation to the server it believes leads,
//! follows redirects, and retries through [`ClientCore`] with the same request
//! id (session and sequence number), so the session table applies a retried
//! command once. A restarted client is a new session: see `sim::client`.

use sim::client::{ClientConfig, ClientCore, Leader};
use sim::history::Outcome;
use sim::node::{Ctx, NodeId, Request, Status, TimerId};

use super::msg::{ClientResult, Msg};

#[derive(Clone, Debug)]
pub struct Client {
    core: ClientCore,
    /// The server believed to lead, from the last redirect or success, and
    /// where to look next when none is known (round robin).
    leader: Leader,
    /// Redirects followed in the current attempt: a bound, so a cluster with no
    /// leader turns into a refusal instead of an endless chase.
    redirects: usize,
}

impl Client {
    pub fn new(id: NodeId, servers: &[NodeId], config: ClientConfig) -> Self {
        Client {
            core: ClientCore::new(config),
            // Clients start their search at different servers.
            leader: Leader::new(servers, None, id.index()),
            redirects: 0,
        }
    }

    /// The sequence number of the newest operation of this client's session.
    pub fn seq(&self) -> u64 {
        self.core.seq()
    }

    /// Whether an operation is open.
    pub fn busy(&self) -> bool {
        self.core.busy()
    }

    pub fn leader(&self) -> Option<NodeId> {
        self.leader.known()
    }

    pub fn on_request(&mut self, ctx: &mut Ctx<Msg>, req: Request) {
        self.redirects = 0;
        self.core.begin(ctx, req);
        self.send(ctx);
    }

    fn send(&mut self, ctx: &mut Ctx<Msg>) {
        let Some(open) = self.core.open() else { return };
        let msg = Msg::ClientRequest {
            id: open.id,
            key: open.req.key.clone(),
            f: Box::new(open.req.f.clone()),
        };
        ctx.send(self.leader.target(), msg);
    }

    pub fn on_message(&mut self, ctx: &mut Ctx<Msg>, from: NodeId, msg: Msg) {
        let Msg::ClientReply { id, result } = msg else {
            return;
        };
        if !self.core.answers(id) {
            return; // An answer to an attempt of an operation already over.
        }
        match result {
            ClientResult::Ok(value) => {
                self.leader.follow(from);
                let output = if self.core.is_read() { value } else { None };
                self.core.finish(ctx, Outcome::Ok, output);
            }
            ClientResult::CasMismatch => {
                self.leader.follow(from);
                self.core.found_other(ctx);
            }
            ClientResult::NotLeader(hint) => {
                self.leader.redirect(from, hint);
                self.redirects += 1;
                if self.redirects <= 2 * self.leader.servers().len() {
                    self.send(ctx);
                } else if self.core.is_read() {
                    // A read has no effect, so a refusal is a certain failure.
                    self.redirects = 0;
                    self.core.refused(ctx);
                }
                // A write is left to its attempt timer instead: "not the
                // leader" says only that *this copy* was not appended. With
                // duplicating links another copy of the same attempt may
                // have reached the leader and may still commit, so the
                // outcome is unknown (`info`), never a certain `fail`.
            }
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx<Msg>, timer: TimerId) {
        if self.core.resend_due(ctx, timer) {
            // A silent attempt most likely means the leader is gone.
            let failed = self.leader.target();
            self.leader.move_on(failed);
            self.redirects = 0;
            self.send(ctx);
        }
    }

    pub fn status(&self) -> Status {
        Status {
            role: "client",
            fields: vec![
                ("seq", self.seq().to_string()),
                (
                    "leader",
                    self.leader
                        .known()
                        .map_or("-".into(), |n| format!("n{}", n.0 + 1)),
                ),
            ],
        }
    }
}
