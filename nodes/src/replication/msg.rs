//! The messages of primary-replica replication: client requests, the
//! primary's log stream, heartbeats to the monitor, and the monitor's
//! failover (probe, then promote).

use sim::client::RequestId;
use sim::history::{OpFn, Value};
use sim::node::NodeId;
use sim::time::Nanos;

/// A position in the log: the index of an entry and the epoch of the primary
/// that wrote it. `Pos::ZERO` is the empty log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub epoch: u64,
    pub index: u64,
}

impl Pos {
    pub const ZERO: Pos = Pos { epoch: 0, index: 0 };
}

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Written by a new primary first, so that its epoch's entries can be
    /// counted as committed (as Raft's no-op, Raft §8).
    Noop,
    /// A client's write; `id` (the client's session and sequence number)
    /// lets a retry be applied once, and tells a restarted client's new
    /// writes from its old ones (see `sim::client`).
    Client { id: RequestId, key: String, f: OpFn },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub epoch: u64,
    pub op: Op,
    /// When the primary appended it (virtual time; for the lag figures only,
    /// no decision reads it).
    pub at: Nanos,
}

/// A server's answer to a client.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Done; for reads, the value. `pos`: how far the answering server's
    /// state goes (the write's own entry for a write), so the client can
    /// route its next reads.
    Ok { value: Option<Value>, pos: Pos },
    /// A cas found another value: no effect.
    CasMismatch,
    /// Not the primary; the primary this server knows of, if any.
    NotPrimary(Option<NodeId>),
    /// A replica that has not caught up to the client's position yet.
    Behind(Option<NodeId>),
    /// The primary cannot serve: its lease from the monitor has lapsed
    /// (fencing), or it has not yet committed its first entry. Nothing was
    /// applied.
    Refused,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Every attempt of one operation carries the same `id`.
        Request {
            id: RequestId,
            /// The client's number for this send of the request: every retry and
            /// every redirect gets a new one, echoed in the reply. It tells the
            /// answer the client waits for from a stale one (a late or duplicated
            /// answer to an earlier send of the same operation).
            attempt: u64,
            key: String,
            f: OpFn,
            /// Read-your-writes routing: serve only once caught up to here.
            min: Option<Pos>,
        } as "Write" if [{ f: OpFn::Read, .. } => "Read"],
        Reply {
            id: RequestId,
            /// The `attempt` of the request this answers.
            attempt: u64,
            answer: Answer,
        },
        /// The primary's stream: entries after `prev`, and how far it has
        /// committed. `last`: the primary's last index (for the lag figure).
        Append {
            epoch: u64,
            prev: Pos,
            entries: Vec<Entry>,
            commit: u64,
            last: u64,
        } if [{ entries, .. } if entries.is_empty() => "AppendEmpty"],
        /// `Ack`: the replica holds the primary's log up to `matched`.
        Ack {
            epoch: u64,
            matched: u64,
        },
        /// The replica's log does not hold `prev`; try again from `hint + 1`.
        Mismatch {
            epoch: u64,
            hint: u64,
        },
        /// Fencing: the replica (and its storage) has seen a newer epoch and
        /// refuses the sender's writes.
        Fenced {
            epoch: u64,
        },
        /// Every server to the monitor, every heartbeat interval. `round`: the
        /// primary's lease round, echoed back so the primary knows which of its
        /// lease timers the answer vouches for.
        Heartbeat {
            epoch: u64,
            primary: bool,
            last: Pos,
            round: u64,
        },
        HeartbeatAck {
            epoch: u64,
            primary: Option<NodeId>,
            round: u64,
        },
        /// The monitor opens epoch `epoch`: every replica that receives it
        /// refuses older epochs from now on, and says how far its log goes.
        Probe {
            epoch: u64,
        },
        ProbeReply {
            epoch: u64,
            last: Pos,
        },
        /// The monitor makes the receiver the primary of `epoch`.
        Promote {
            epoch: u64,
        },
    }
}
