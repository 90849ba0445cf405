//! The node type the kernel drives: a data server, the monitor or a client.

use super::{Client, Monitor, Msg, Server};

sim::node_enum! {
    /// A data server, the monitor, or a client.
    #[allow(clippy::large_enum_variant)]
    pub enum ReplNode: Msg {
        Server(Server) { role: |s| s.role_name(), start, get as_server },
        Monitor(Monitor) { role: |_| "monitor", start, get as_monitor },
        Client(Client) { role: |_| "client", requests, get as_client },
    }
}
