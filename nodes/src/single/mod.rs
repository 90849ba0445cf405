//! A single-server key-value store: the baseline every replicated system is
//! compared to.
//!
//! One server holds all the data and applies operations one at a time in the
//! order they arrive, so its history is linearizable by construction (it is the
//! linearization point of every operation). It pays for that with availability:
//! a client that cannot reach the server, or a server that is down, means every
//! operation fails or times out. In CAP terms it is consistent and never
//! partition-tolerant in the available sense (PC); in PACELC terms, without a
//! partition it answers in one round trip (EL), because there is nobody to wait for.
//!
//! Durability is the other lesson: the server writes every change to a
//! write-ahead log on its disk. With `sync_writes = true` it syncs the log before
//! acknowledging, so an acknowledged write survives a crash; with `false` it
//! acknowledges first and a crash loses what the disk had not flushed, which is
//! exactly the kind of lost write the checkers are there to catch.
//!
//! Retries are the third: a client that timed out sends the same operation
//! again, and the first copy may have been applied with only its reply lost.
//! Applying the retry too would write an old value over newer ones, so the
//! server keeps a session table (`sim::client::SessionTable`): per client, the
//! last request applied and its reply. A retry of it is answered from the
//! table, not applied; the table is logged with the writes, so a retry that
//! arrives after a restart is recognised too. A restarted client is a new
//! session (see `sim::client`).

mod client;
mod server;

pub use client::Client;
pub use server::Server;

use serde::Deserialize;
use sim::client::{ClientConfig, RequestId};
use sim::history::{OpFn, Value};
use sim::metric::Metrics;
use sim::node::{Cluster, Disk, NodeId};
use sim::protocol::Protocol;

pub const ROLES: &[&str] = &["server"];

/// `[system]` for `protocol = "single"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Sync the write-ahead log before acknowledging a write.
    pub sync_writes: bool,
    /// Without `sync_writes`, how often the server syncs in the background
    /// (as a database with asynchronous commit flushes its log): a crash loses
    /// up to this much acknowledged work.
    #[serde(with = "sim::time::serde_duration")]
    pub flush_interval: sim::time::Nanos,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            sync_writes: true,
            flush_interval: sim::time::secs(1),
        }
    }
}

sim::message! {
    #[derive(Clone, Debug, PartialEq)]
    pub enum Msg {
        /// Every attempt of one operation carries the same `id`.
        Request { id: RequestId, key: String, f: OpFn },
        Reply {
            id: RequestId,
            took_effect: bool,
            output: Option<Value>,
        },
    }
}

#[derive(Clone, Debug)]
pub struct Single {
    pub params: Params,
    pub client: ClientConfig,
}

sim::node_enum! {
    /// A node of the single-server system.
    pub enum SingleNode: Msg {
        Server(Server) { role: |_| "server", start },
        Client(Client) { role: |_| "client", requests, no_sender },
    }
}

impl Protocol for Single {
    type Node = SingleNode;

    fn build(&self, id: NodeId, cluster: &Cluster, disk: &Disk) -> SingleNode {
        if cluster.is_client(id) {
            SingleNode::Client(Client::new(self.client.clone()))
        } else {
            SingleNode::Server(Server::recover(&self.params, disk))
        }
    }

    fn metrics(&self, nodes: &[Option<SingleNode>], out: &mut Metrics) {
        out.text(
            "writes",
            if self.params.sync_writes {
                "synced before every acknowledgement".to_string()
            } else {
                format!(
                    "acknowledged before sync; flushed every {}",
                    sim::time::fmt_duration(self.params.flush_interval)
                )
            },
        );
        let retries: u64 = nodes
            .iter()
            .filter_map(|n| match n {
                Some(SingleNode::Server(s)) => Some(s.retries()),
                _ => None,
            })
            .sum();
        if retries > 0 {
            out.count("retries", retries).note(
                "retried request(s) answered from the session table, not applied again (since the last restart)",
            );
        }
    }
}
