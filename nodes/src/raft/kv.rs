//! The replicated state machine: the crate's key-value map ([`crate::kv::Kv`])
//! behind a session table, so that a command a client retried is applied once
//! (§8 of the Raft paper).
//!
//! The table is part of the state machine: every server applies the same log
//! to it, so every server dedupes the same way. A restarted client is a new
//! session (a higher incarnation, see `sim::client`): its commands are new
//! even though its sequence numbers start again at 1. A command of an earlier
//! incarnation that commits after the new one began is a dead process's late
//! retry: it is skipped, on every server alike.

use sim::client::{Seen, SessionTable};
use sim::history::Value;

use super::log::Command;
use super::msg::ClientResult;

#[derive(Clone, Debug, Default)]
pub struct Kv {
    data: crate::kv::Kv,
    /// Per client: its newest session, the last command applied in it and
    /// what that returned.
    sessions: SessionTable<ClientResult>,
}

impl Kv {
    pub fn read(&self, key: &str) -> Value {
        self.data.get(key)
    }

    /// Applies a committed command and returns what its client should hear:
    /// `None` for a command nobody waits for (a stale one, not applied), and
    /// always `None` unless `answer` (only a leader answers: a follower's
    /// result goes to its session table alone, without a copy of a value
    /// read).
    pub fn apply(&mut self, command: &Command, answer: bool) -> Option<ClientResult> {
        let Command::Client { id, key, f } = command else {
            return None;
        };
        match self.sessions.check(*id) {
            Seen::Retry(result) => return answer.then(|| result.clone()),
            Seen::Stale => return None,
            Seen::New => {}
        }
        let applied = self.data.apply(key, f);
        let result = if applied.took_effect {
            ClientResult::Ok(applied.output)
        } else {
            ClientResult::CasMismatch
        };
        if !answer {
            self.sessions.record(*id, result);
            return None;
        }
        self.sessions.record(*id, result.clone());
        Some(result)
    }
}
