//! How a server shows itself: its status line, its description for traces,
//! and its `Debug`, which lists every field as `#[derive(Debug)]` would, in
//! the same order and with the same names, except caches (`acked_synced`),
//! so that traces and explored states' hashes see exactly what they saw
//! before the caches were added.

use std::fmt;

use sim::node::{NodeId, Status};
use sim::time::fmt_duration;

use super::Server;

impl Server {
    pub fn status(&self) -> Status {
        let name = |n: Option<NodeId>| n.map_or("-".to_string(), |n| format!("n{}", n.0 + 1));
        Status {
            role: self.role.name(),
            fields: vec![
                ("term", self.term.to_string()),
                ("vote", name(self.vote)),
                ("leader", name(self.leader)),
                ("log", self.log.last_index().to_string()),
                ("commit", self.commit.to_string()),
                ("applied", self.applied.to_string()),
            ],
        }
    }

    /// A one-line description for traces and test failures.
    pub fn describe(&self) -> String {
        format!(
            "{} term={} log={} commit={} lease={}",
            self.role.name(),
            self.term,
            self.log.last_index(),
            self.commit,
            self.lease_until.map_or("-".into(), fmt_duration)
        )
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every field by name: one added to `Server` fails to compile here
        // until it is shown, or named as a cache left out.
        let Server {
            id,
            peers,
            majority,
            params,
            term,
            vote,
            log,
            role,
            leader,
            commit,
            applied,
            kv,
            votes,
            heard_leader_at,
            progress,
            term_start,
            active,
            round,
            round_started,
            lease_until,
            reads,
            lease_reads,
            outbox,
            dirty,
            acked_scratch,
            acked_synced: _,
        } = self;
        f.debug_struct("Server")
            .field("id", id)
            .field("peers", peers)
            .field("majority", majority)
            .field("params", params)
            .field("term", term)
            .field("vote", vote)
            .field("log", log)
            .field("role", role)
            .field("leader", leader)
            .field("commit", commit)
            .field("applied", applied)
            .field("kv", kv)
            .field("votes", votes)
            .field("heard_leader_at", heard_leader_at)
            .field("progress", progress)
            .field("term_start", term_start)
            .field("active", active)
            .field("round", round)
            .field("round_started", round_started)
            .field("lease_until", lease_until)
            .field("reads", reads)
            .field("lease_reads", lease_reads)
            .field("outbox", outbox)
            .field("dirty", dirty)
            .field("acked_scratch", acked_scratch)
            .finish()
    }
}
