//! The node type the kernel drives: the database, a cache or a client.

use super::{CacheServer, Client, Database, Msg};

sim::node_enum! {
    /// The database, a cache, or a client.
    #[allow(clippy::large_enum_variant)]
    pub enum CacheNode: Msg {
        Database(Database) { role: |_| "database" },
        Cache(CacheServer) { role: |_| "cache", start },
        Client(Client) { role: |_| "client", requests, no_sender },
    }
}
