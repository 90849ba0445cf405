//! The replicated state machine: the crate's key-value map ([`crate::kv::Kv`])
//! behind a session table, so that a command a client retried is applied once
//! (§8 of the Raft paper).

use std::collections::BTreeMap;

use sim::history::Value;
use sim::node::NodeId;

use super::log::Command;
use super::msg::ClientResult;

#[derive(Clone, Debug, Default)]
pub struct Kv {
    data: crate::kv::Kv,
    /// Per client: the last sequence number applied and what it returned.
    sessions: BTreeMap<NodeId, (u64, ClientResult)>,
}

impl Kv {
    pub fn read(&self, key: &str) -> Value {
        self.data.get(key)
    }

    /// Applies a committed command and returns what its client should hear.
    pub fn apply(&mut self, command: &Command) -> ClientResult {
        let Command::Client {
            client,
            seq,
            key,
            f,
        } = command
        else {
            return ClientResult::Ok(None);
        };
        if let Some((last, result)) = self.sessions.get(client) {
            // A client has one operation open at a time, so a sequence number
            // at or below the last one is a retry of something already applied.
            if *seq <= *last {
                return result.clone();
            }
        }
        let applied = self.data.apply(key, f);
        let result = if applied.took_effect {
            ClientResult::Ok(applied.output)
        } else {
            ClientResult::CasMismatch
        };
        self.sessions.insert(*client, (*seq, result.clone()));
        result
    }
}
