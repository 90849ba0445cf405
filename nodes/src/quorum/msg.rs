//! The messages between clients, coordinators and replicas.

use sim::history::{OpFn, Value};
use sim::node::NodeId;

use super::Sibling;

#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Ok(Option<Value>),
    /// A cas found another value at the coordinator: certainly no effect.
    Mismatch,
    /// Too few replicas answered in time. A write may still have reached some.
    Unavailable,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        Request {
            op: u64,
            key: String,
            f: OpFn,
        },
        Reply {
            op: u64,
            answer: Answer,
        },
        /// Store these versions (merged with what the replica has). `hint_for`:
        /// the receiver is a stand-in holding them for that node. `repair`: a read
        /// repair (with the `read_repair_writes_older` bug it overwrites).
        Put {
            req: u64,
            key: String,
            sibs: Vec<Sibling>,
            hint_for: Option<NodeId>,
            repair: bool,
        } if [{ repair: true, .. } => "Repair", { hint_for: Some(_), .. } => "HintedPut"],
        PutAck {
            req: u64,
        },
        Get {
            req: u64,
            key: String,
        },
        GetReply {
            req: u64,
            sibs: Vec<Sibling>,
        },
        /// Anti-entropy: the Merkle tree (leaf hashes) of the keys the sender
        /// and receiver share.
        Tree {
            leaves: Vec<u64>,
        } as "MerkleTree",
        /// Anti-entropy: the versions in the leaves that differed; `reply`: the
        /// receiver answers with its own versions of those leaves.
        Leaves {
            leaves: Vec<u32>,
            data: Vec<(String, Vec<Sibling>)>,
            reply: bool,
        } as "MerkleLeaves",
    }
}

impl Msg {
    /// A write's Put, or a hand-off's; `hint_for` names the node a stand-in
    /// holds the versions for.
    pub fn put(req: u64, key: String, sibs: Vec<Sibling>, hint_for: Option<NodeId>) -> Msg {
        Msg::Put {
            req,
            key,
            sibs,
            hint_for,
            repair: false,
        }
    }

    /// A read repair: versions a replica was found to miss.
    pub fn repair(req: u64, key: String, sibs: Vec<Sibling>) -> Msg {
        Msg::Put {
            req,
            key,
            sibs,
            hint_for: None,
            repair: true,
        }
    }
}
