//! The messages of the lock service.

use chaoslab::sim::client::RequestId;
use chaoslab::sim::history::{OpFn, Value};
use chaoslab::sim::time::Nanos;

/// A fencing token: the lock server hands out 1, 2, 3, ... and never the
/// same number twice (it syncs the last one to disk before handing it out).
pub type Token = u64;

chaoslab::sim::message! {
    /// Every message kind, in `Msg::KINDS`, is a valid fault trigger
    /// (`kind = "Grant"`).
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Client -> lock server: "give me the lock". Every attempt of one
        /// operation carries the same id, so a retry is recognised.
        Acquire { id: RequestId },
        /// Lock server -> client: the lock is yours for `lease` (on the lock
        /// server's clock), and every write you make under it carries `token`.
        Grant { id: RequestId, token: Token, lease: Nanos },
        /// Client -> lock server: done with the lock taken under `token`.
        Release { token: Token },
        /// Client -> storage: a write made under the lock.
        Write { id: RequestId, token: Token, key: String, f: OpFn },
        /// Storage -> client: what became of a write.
        WriteReply { id: RequestId, result: WriteResult },
        /// Client -> storage: reads take no lock.
        Read { id: RequestId, key: String },
        ReadReply { id: RequestId, value: Value },
    }
}

/// What the storage service did with a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteResult {
    /// The write took effect.
    Applied,
    /// A cas found another value: accepted under its token, no effect.
    FoundOther,
    /// Refused: its token is older than one the storage has accepted (only
    /// with `fencing = true`).
    Stale { highest: Token },
}
