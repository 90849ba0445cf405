//! The node type the kernel drives: a Raft server or a Raft client.

use super::client::Client;
use super::msg::Msg;
use super::server::Server;

sim::node_enum! {
    #[allow(clippy::large_enum_variant)]
    pub enum RaftNode: Msg {
        Server(Server) { role: |s| s.role().name(), start, get as_server, get_mut as_server_mut },
        Client(Client) { role: |_| "client", requests, get as_client },
    }
}
