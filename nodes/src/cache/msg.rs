//! The messages between clients, caches and the database.

use sim::history::Value;

/// Where a read's value came from, for the hit ratio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The shared cache had it.
    Cache,
    /// The cache (or the application) had to ask the database.
    Database,
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        // Client -> cache.
        Get {
            tag: u64,
            key: String,
        },
        Put {
            tag: u64,
            key: String,
            value: Value,
        },
        /// cache-aside: store what the application read from the database
        /// (with `leases`, only under the lease its miss was given).
        Set {
            key: String,
            value: Value,
            lease: Option<u64>,
        },
        /// cache-aside: drop the key after a write.
        Del {
            tag: u64,
            key: String,
        },
        // Cache -> client.
        Value {
            tag: u64,
            value: Value,
            source: Source,
        } as "Loaded" if [{ source: Source::Cache, .. } => "Hit"],
        /// cache-aside: not here, ask the database. With `leases`, the first
        /// miss of a key gets a lease to fill it; a delete revokes it.
        Miss {
            tag: u64,
            lease: Option<u64>,
        },
        Written {
            tag: u64,
        },
        Deleted {
            tag: u64,
        },
        /// The cache could not reach the database in time, or it was busy.
        /// `maybe_applied`: a write may still have reached the database.
        Unavailable {
            tag: u64,
            maybe_applied: bool,
        },
        // Client or cache -> database.
        DbRead {
            tag: u64,
            key: String,
        },
        DbWrite {
            tag: u64,
            key: String,
            value: Value,
        },
        DbBatch {
            tag: u64,
            /// Which life of the cache sent it (its write sequence restarts at
            /// each boot).
            boot: u64,
            /// (key, newest value, older write values it absorbed, the write's
            /// sequence number in this cache). The network does not keep order,
            /// and a flush that timed out is sent again, so the database applies
            /// an item only if it is newer than the last one it applied for that
            /// key from that cache.
            items: Vec<(String, Value, Vec<i64>, u64)>,
        },
        // Database -> client or cache.
        DbValue {
            tag: u64,
            value: Value,
        },
        DbDone {
            tag: u64,
        },
        DbBusy {
            tag: u64,
        },
    }
}
