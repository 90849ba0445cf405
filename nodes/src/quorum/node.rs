//! The node type the kernel drives: a replica or a client.

use super::{Client, Msg, Server};

sim::node_enum! {
    /// A replica or a client.
    #[allow(clippy::large_enum_variant)]
    pub enum QuorumNode: Msg {
        Server(Server) { role: |_| "replica", start, get as_server },
        Client(Client) { role: |_| "client", requests, no_sender },
    }
}
