//! Raft's messages: the two RPCs of the paper (RequestVote, AppendEntries) and
//! their replies, PreVote (§9.6 of Ongaro's dissertation), and the client protocol.

use sim::client::RequestId;
use sim::history::{OpFn, Value};
use sim::node::NodeId;

use super::log::Entries;

/// What a server answers a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientResult {
    /// The operation took effect; reads carry the value read.
    Ok(Option<Value>),
    /// A compare-and-set found another value: it certainly did not take effect.
    CasMismatch,
    /// This server is not the leader; it may know who is.
    NotLeader(Option<NodeId>),
}

sim::message! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Msg {
        /// A candidate asks for a vote. With `pre_vote`, `term` is the term the
        /// candidate *would* start and nobody changes state on receiving it.
        RequestVote {
            term: u64,
            last_index: u64,
            last_term: u64,
            pre_vote: bool,
        } if [{ pre_vote: true, .. } => "PreVote"],
        RequestVoteReply {
            term: u64,
            granted: bool,
            pre_vote: bool,
        } if [{ pre_vote: true, .. } => "PreVoteReply"],
        /// Entries after (`prev_index`, `prev_term`), or none for a heartbeat.
        /// `round` numbers the leader's heartbeat rounds, for ReadIndex and leases.
        AppendEntries {
            term: u64,
            prev_index: u64,
            prev_term: u64,
            entries: Entries,
            commit: u64,
            round: u64,
        },
        /// On success `match_index` is the last index known to match the leader.
        /// On failure, `rejected` is the `prev_index` refused and the conflict hint
        /// (`conflict_term`, `conflict_index`) lets the leader skip a whole term.
        AppendEntriesReply {
            term: u64,
            success: bool,
            match_index: u64,
            rejected: u64,
            conflict_term: Option<u64>,
            conflict_index: u64,
            round: u64,
        },
        /// Every attempt of one operation carries the same `id`: its client's
        /// session and sequence number (see `sim::client`). The operation is
        /// boxed: unboxed it made every message twice the size of the others
        /// (and every message is moved several times on its way).
        ClientRequest {
            id: RequestId,
            key: String,
            f: Box<OpFn>,
        },
        ClientReply {
            id: RequestId,
            result: ClientResult,
        },
    }
}

impl Msg {
    /// A successful AppendEntriesReply: the follower's log matches the
    /// leader's up to `match_index`; it answers heartbeat round `round`.
    pub fn append_ok(term: u64, match_index: u64, round: u64) -> Msg {
        Msg::AppendEntriesReply {
            term,
            success: true,
            match_index,
            rejected: 0,
            conflict_term: None,
            conflict_index: 0,
            round,
        }
    }
}
