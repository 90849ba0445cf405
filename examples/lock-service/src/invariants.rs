//! The lock service's own properties, checked as the run goes.
//!
//! - `mutual-exclusion`: the writes that take effect come from the lock's
//!   holders in the order the lock was granted. Once the storage accepted a
//!   write from a holder, it accepts nothing from a holder granted the lock
//!   before that one: an older holder's write landing after a newer
//!   holder's is two holders writing as if each had the lock alone.
//! - `token-monotonicity`: the lock server grants strictly increasing
//!   tokens (also across its restarts), and with fencing on, the tokens the
//!   storage accepts never decrease.
//!
//! The checker keeps its own record of what it has seen, so that a crash
//! (which empties a node's in-memory logs) loses nothing of it.

use std::collections::BTreeMap;

use chaoslab::sim::node::{Cluster, NodeId};
use chaoslab::sim::protocol::{Findings, Property};
use chaoslab::sim::time::fmt_duration;

use crate::msg::Token;
use crate::storage::Accepted;
use crate::LockNode;

pub const MUTUAL_EXCLUSION: &str = "mutual-exclusion";
pub const TOKEN_MONOTONICITY: &str = "token-monotonicity";
/// The lock passed from one holder to another at least once.
pub const HANDOVER: &str = "handover";

pub const PROPERTIES: &[Property] = &[
    Property::always(
        MUTUAL_EXCLUSION,
        "writes take effect in the order the lock was granted: no older holder writes after a newer one",
    ),
    Property::always(
        TOKEN_MONOTONICITY,
        "granted tokens strictly increase, and with fencing the accepted ones never decrease",
    ),
    Property::sometimes(
        HANDOVER,
        "the lock is granted a second time (passed on, or taken again by its holder)",
    ),
];

/// The entries of a node's log past the first `read`, which it then counts
/// as read; a log shorter than that (its node's next incarnation, which
/// starts a new log) is read from its start.
fn unread<'a, T>(log: &'a [T], read: &mut usize) -> &'a [T] {
    if log.len() < *read {
        *read = 0;
    }
    let new = &log[*read..];
    *read = log.len();
    new
}

#[derive(Clone, Debug, Default)]
pub struct Checker {
    fencing: bool,
    names: Vec<String>,
    /// How many of the lock server's and the storage's log entries of their
    /// current incarnation have been read.
    grants_read: usize,
    accepted_read: usize,
    /// The highest token granted so far.
    highest_granted: Token,
    /// Token -> its place in the order of grants (1 for the first grant).
    grant_order: BTreeMap<Token, u64>,
    grants: u64,
    /// The newest holder (by grant order) whose write was accepted.
    newest_accepted: Option<(u64, Accepted)>,
    /// The highest token the storage accepted.
    highest_accepted: Token,
    /// Writes accepted from an older holder after a newer one's.
    pub zombie_writes: u64,
}

impl Checker {
    pub fn new(fencing: bool, cluster: &Cluster) -> Self {
        Checker {
            fencing,
            names: (0..cluster.len())
                .map(|i| cluster.name(NodeId(i as u32)).to_string())
                .collect(),
            ..Default::default()
        }
    }

    fn name(&self, id: NodeId) -> &str {
        self.names.get(id.index()).map_or("?", |n| n.as_str())
    }

    pub fn check(&mut self, nodes: &[Option<LockNode>], out: &mut Findings) {
        self.read_grants(nodes, out);
        self.read_accepted(nodes, out);
        if self.grants >= 2 {
            out.holds(HANDOVER, true);
        }
    }

    fn read_grants(&mut self, nodes: &[Option<LockNode>], out: &mut Findings) {
        let Some(Some(LockNode::LockServer(server))) = nodes.get(crate::LOCK_SERVER.index()) else {
            // Down: its next incarnation starts a new log.
            self.grants_read = 0;
            return;
        };
        for g in unread(&server.grants, &mut self.grants_read) {
            if g.token <= self.highest_granted {
                out.violated(
                    TOKEN_MONOTONICITY,
                    format!(
                        "the lock server granted token {} to {} at {}, after granting token {}",
                        g.token,
                        self.names.get(g.client.index()).map_or("?", |n| n.as_str()),
                        fmt_duration(g.at),
                        self.highest_granted
                    ),
                );
            }
            self.highest_granted = self.highest_granted.max(g.token);
            self.grants += 1;
            // A reissued token (a lock server that lost its disk) belongs to
            // its newest grant.
            self.grant_order.insert(g.token, self.grants);
        }
    }

    fn read_accepted(&mut self, nodes: &[Option<LockNode>], out: &mut Findings) {
        let Some(Some(LockNode::Storage(storage))) = nodes.get(crate::STORAGE.index()) else {
            self.accepted_read = 0;
            return;
        };
        let new: Vec<Accepted> = unread(&storage.accepted, &mut self.accepted_read).to_vec();
        for w in new {
            if self.fencing && w.token < self.highest_accepted {
                out.violated(
                    TOKEN_MONOTONICITY,
                    format!(
                        "with fencing on, the storage accepted token {} from {} at {} after accepting token {}",
                        w.token,
                        self.name(w.client),
                        fmt_duration(w.at),
                        self.highest_accepted
                    ),
                );
            }
            self.highest_accepted = self.highest_accepted.max(w.token);
            // Every token a client writes with was granted, and the grant
            // was seen before the write could reach the storage.
            let order = self.grant_order.get(&w.token).copied().unwrap_or(0);
            match &self.newest_accepted {
                Some((newest, prev)) if order < *newest => {
                    self.zombie_writes += 1;
                    out.violated(
                        MUTUAL_EXCLUSION,
                        format!(
                            "the storage accepted {}'s write to {} under token {} at {}, after accepting {}'s write to {} under token {} at {}: a holder whose lease had run out wrote after a newer holder",
                            self.name(w.client),
                            w.key,
                            w.token,
                            fmt_duration(w.at),
                            self.name(prev.client),
                            prev.key,
                            prev.token,
                            fmt_duration(prev.at)
                        ),
                    );
                }
                _ => self.newest_accepted = Some((order, w)),
            }
        }
    }
}
