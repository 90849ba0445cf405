//! A leader's client requests and reads (Raft §8, dissertation §6.4): writes
//! go through the log; reads through the log, ReadIndex or a lease.

use sim::client::RequestId;
use sim::history::OpFn;
use sim::node::{Ctx, NodeId};
use sim::time::Nanos;

use super::{ClientResult, Command, Msg, PendingRead, ReadMode, Role, Server};

impl Server {
    // ---- Clients and reads (§8) ----

    pub(super) fn on_client(
        &mut self,
        ctx: &mut Ctx<Msg>,
        from: NodeId,
        id: RequestId,
        key: String,
        f: OpFn,
    ) {
        if self.role != Role::Leader {
            self.send(
                from,
                Msg::ClientReply {
                    id,
                    result: ClientResult::NotLeader(self.leader),
                },
            );
            return;
        }
        if f == OpFn::Read && self.params.read_mode != ReadMode::Log {
            let read_index = self.commit.max(self.term_start);
            let lease_ok = self.params.read_mode == ReadMode::Lease
                && self.lease_until.is_some_and(|t| ctx.mono_time() < t);
            let round = if lease_ok || self.peers.is_empty() {
                None
            } else {
                // ReadIndex (dissertation §6.4): confirm leadership with a
                // fresh round of heartbeats before answering.
                self.new_round(ctx);
                self.broadcast_append();
                Some(self.round)
            };
            self.reads.push(PendingRead {
                client: from,
                id,
                key,
                read_index,
                round,
                by_lease: lease_ok,
            });
            self.serve_reads();
            return;
        }
        self.append_local(ctx, Command::Client { id, key, f });
        self.broadcast_append();
        self.maybe_commit(ctx);
    }

    /// A majority answered some round: reads waiting on it are confirmed, and
    /// the lease extends from the moment that round began. `acked` is what
    /// the reply changed: the peer's acknowledged round before and after.
    pub(super) fn on_round_acked(&mut self, acked: (u64, u64)) {
        // The peers' rounds, highest first, are kept between replies: a
        // reply moves one peer's round up, so it is moved up in place (a
        // rebuild from the progress map and a sort at every reply cost
        // more). Rebuilt when the progress map was made anew.
        let mut acked_rounds = std::mem::take(&mut self.acked_scratch);
        let in_place = self.acked_synced
            && acked_rounds.len() == self.progress.len()
            && (acked.1 == acked.0 || raise(&mut acked_rounds, acked.0, acked.1));
        if !in_place {
            acked_rounds.clear();
            acked_rounds.extend(self.progress.values().map(|p| p.acked_round));
            acked_rounds.sort_unstable_by(|a, b| b.cmp(a));
            self.acked_synced = true;
        }
        let acked = acked_rounds;
        // With the leader itself, the (majority-1)-th highest peer round has a
        // quorum.
        let quorum_round = if self.majority <= 1 {
            self.round
        } else {
            acked.get(self.majority - 2).copied().unwrap_or(0)
        };
        self.acked_scratch = acked;
        if quorum_round == 0 {
            return;
        }
        for r in &mut self.reads {
            if r.round.is_some_and(|want| want <= quorum_round) {
                r.round = None;
            }
        }
        if let Some(started) = self.round_started.get(quorum_round) {
            let until = started + self.lease_length();
            self.lease_until = Some(self.lease_until.map_or(until, |u| u.max(until)));
        }
        // Rounds before the quorum's are forgotten, in place (a split would
        // allocate a new map at every reply).
        self.round_started.forget_before(quorum_round);
        self.serve_reads();
    }

    /// How long a lease lasts, measured on this leader's monotonic clock
    /// (elapsed time: a step of the wall clock neither stretches nor cuts it).
    /// Followers promise not to elect anyone for `election_timeout_min` after
    /// hearing from the leader, by *their* monotonic clocks. Every clock may
    /// run off by up to `max_clock_drift` (rho): a follower's clock that runs
    /// fast ends the promise after `min / (1 + rho)` of real time, and a
    /// leader's clock that runs slow stretches a lease of `L` to `L / (1 -
    /// rho)`. So the lease is `min x (1 - rho) / (1 + rho)`: it ends no later
    /// than the promise when both are as far off as the bound allows.
    pub(super) fn lease_length(&self) -> Nanos {
        let base = self
            .params
            .lease_duration
            .unwrap_or(self.params.election_timeout_min);
        if self.params.lease_reads_without_clock_bound {
            base
        } else {
            let rho = self.params.max_clock_drift;
            (base as f64 * (1.0 - rho).max(0.0) / (1.0 + rho)) as Nanos
        }
    }

    pub(super) fn serve_reads(&mut self) {
        if self.role != Role::Leader || self.reads.is_empty() {
            return;
        }
        let applied = self.applied;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads)
            .into_iter()
            .partition(|r| r.round.is_none() && r.read_index <= applied);
        self.reads = waiting;
        for r in ready {
            if r.by_lease {
                self.lease_reads += 1;
            }
            let value = self.kv.read(&r.key);
            self.send(
                r.client,
                Msg::ClientReply {
                    id: r.id,
                    result: ClientResult::Ok(Some(value)),
                },
            );
        }
    }
}

/// In `rounds`, sorted highest first, replaces one `from` with `to` (at
/// least `from`) and keeps the order: the list is then exactly the sorted
/// list of the rounds after the change. False, and nothing changed, if
/// `from` is not there (the caller then rebuilds the list).
fn raise(rounds: &mut [u64], from: u64, to: u64) -> bool {
    let Some(mut j) = rounds.iter().rposition(|&r| r == from) else {
        return false;
    };
    // Moved up past every smaller round: ties stay where they are, and
    // equal values are alike, so the result is the sorted list itself.
    rounds[j] = to;
    while j > 0 && rounds[j - 1] < to {
        rounds.swap(j - 1, j);
        j -= 1;
    }
    true
}
