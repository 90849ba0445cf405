//! The replicated state machine: a key-value map with a session table, so that
//! a command a client retried is applied once (§8 of the Raft paper).

use std::collections::BTreeMap;

use sim::history::{OpFn, Value};
use sim::node::NodeId;

use super::log::Command;
use super::msg::ClientResult;

#[derive(Clone, Debug, Default)]
pub struct Kv {
    data: BTreeMap<String, Value>,
    /// Per client: the last sequence number applied and what it returned.
    sessions: BTreeMap<NodeId, (u64, ClientResult)>,
}

impl Kv {
    pub fn read(&self, key: &str) -> Value {
        self.data.get(key).cloned().unwrap_or(Value::Nil)
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
        let result = self.execute(key, f);
        self.sessions.insert(*client, (*seq, result.clone()));
        result
    }

    fn execute(&mut self, key: &str, f: &OpFn) -> ClientResult {
        match f {
            OpFn::Read => ClientResult::Ok(Some(self.read(key))),
            OpFn::Write(v) => {
                self.data.insert(key.to_string(), v.clone());
                ClientResult::Ok(None)
            }
            OpFn::Cas { expected, new } => {
                if self.read(key) == *expected {
                    self.data.insert(key.to_string(), new.clone());
                    ClientResult::Ok(None)
                } else {
                    ClientResult::CasMismatch
                }
            }
            OpFn::Append(v) => {
                let next = append(self.read(key), v);
                self.data.insert(key.to_string(), next);
                ClientResult::Ok(None)
            }
            OpFn::Delete => {
                self.data.remove(key);
                ClientResult::Ok(None)
            }
        }
    }
}

/// Appending an Int pushes onto a list; appending a string concatenates.
fn append(current: Value, v: &Value) -> Value {
    match (current, v) {
        (Value::Nil, Value::Int(x)) => Value::List(vec![*x]),
        (Value::Nil, other) => other.clone(),
        (Value::List(mut l), Value::Int(x)) => {
            l.push(*x);
            Value::List(l)
        }
        (Value::List(mut l), Value::List(xs)) => {
            l.extend(xs);
            Value::List(l)
        }
        (Value::Str(mut s), Value::Str(t)) => {
            s.push_str(t);
            Value::Str(s)
        }
        (Value::Int(a), Value::Int(b)) => Value::List(vec![a, *b]),
        // Appending across kinds replaces the value: the workload never does it.
        (_, other) => other.clone(),
    }
}
