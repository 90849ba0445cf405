//! The client history: every operation a client invoked, when it was invoked, when
//! (and whether) it completed, and what it returned.
//!
//! This is what the consistency checkers read. The simulator's clients record it
//! as a run goes; `chaoslab check` also parses it from Jepsen/Maelstrom EDN, the
//! porcupine logs and chaoslab's own JSON Lines.
//!
//! The outcome of an operation follows Jepsen's vocabulary:
//! - `Ok`: it completed and took effect;
//! - `Fail`: it certainly did not take effect. A cas that found another value is
//!   `Fail` too, but it is also an *observation* ([`Op::found_other`]): the key
//!   did not hold the expected value at some point while the cas was open;
//! - `Info`: nobody knows (a timeout): it may take effect at any time after its
//!   invocation, or never.

use serde::{Deserialize, Serialize};

mod log;
pub use log::{Invocation, OpLog};

/// A client (Jepsen's "process"). In simulated runs client `c3` is process 3.
pub type ProcessId = u64;

/// A value stored under a key, written by a client or returned by a read.
///
/// `Nil` is the value of a key that was never written (or was deleted).
/// Simulated clients write `Int`s for put/cas and append `Int`s to a `List`;
/// the porcupine kv histories use `Str` and append by string concatenation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Nil,
    Int(i64),
    Str(String),
    List(Vec<i64>),
}

/// What an operation asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpFn {
    /// Read the key; the result is in [`Op::output`] when the outcome is `Ok`.
    Read,
    /// Overwrite the key.
    Write(Value),
    /// Compare-and-set: write `new` only if the key holds `expected`.
    Cas { expected: Value, new: Value },
    /// Append to the key's value (list push, or string concatenation).
    Append(Value),
    /// Remove the key: later reads see `Nil`.
    Delete,
}

/// How an operation ended. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Fail,
    Info,
}

/// One operation, from invocation to completion.
///
/// `F` is what the operation asked for: [`OpFn`] (a key-value operation) by
/// default, or a protocol's own operation type (a bank's transfer), see
/// [`crate::workload::Operation`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op<F = OpFn> {
    /// The client that issued it. A client has at most one operation open at a time.
    pub process: ProcessId,
    /// The key it touched; single-register histories use the empty string.
    pub key: String,
    pub f: F,
    /// What a successful read returned (`None` for writes and for reads that did
    /// not complete).
    pub output: Option<Value>,
    pub outcome: Outcome,
    /// Invocation time in nanoseconds (virtual time for simulated runs; for
    /// external histories, the position of the line if the format has no clock).
    pub call_ns: u64,
    /// Completion time; `None` when the operation never completed (`Info`).
    pub return_ns: Option<u64>,
    /// A cas that completed with "the key holds another value": the outcome is
    /// `Fail` (it wrote nothing), and the answer is an observation, not a
    /// refusal: at some instant between `call_ns` and `return_ns` the key did
    /// not hold `expected`. The checker holds the system to that. False for
    /// everything else, and in histories written before the field existed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub found_other: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A whole history, operations in order of invocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct History<F = OpFn> {
    pub ops: Vec<Op<F>>,
}

impl<F> Default for History<F> {
    fn default() -> Self {
        History { ops: Vec::new() }
    }
}

impl<F: Serialize + serde::de::DeserializeOwned> History<F> {
    /// The history as JSON Lines: one serde_json [`Op`] per line, the format
    /// `chaoslab check --format jsonl` reads back.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for op in &self.ops {
            // Serialising these plain data types cannot fail.
            out.push_str(&serde_json::to_string(op).expect("an Op serialises"));
            out.push('\n');
        }
        out
    }

    /// Reads JSON Lines written by [`History::to_jsonl`]. Blank lines are skipped;
    /// the error carries the 1-based line number.
    pub fn from_jsonl(text: &str) -> Result<History<F>, (usize, serde_json::Error)> {
        let mut ops = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            ops.push(serde_json::from_str(line).map_err(|e| (i + 1, e))?);
        }
        Ok(History { ops })
    }
}
