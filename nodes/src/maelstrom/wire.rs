//! Maelstrom's wire format: the envelope `{"src", "dest", "body"}`, the
//! body with its `type`, `msg_id` and `in_reply_to`, and the error codes.
//!
//! The same values travel inside the simulator (as the kernel's message
//! type) and, one JSON object per line, between a driver and a node that
//! runs as a process. So the body keeps every field a node wrote, known or
//! not: a learner's nodes invent their own message types (`gossip`,
//! `replicate`), and they must reach the other node unchanged. The fields
//! Maelstrom's workloads define are read through typed accessors.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One message: who sent it, to whom, and what it says. Node names are
/// strings (`n1`, `c3`, `lin-kv`): a node must treat them as opaque.
/// Its `Debug` (what the trace and the TUI show) is the JSON line itself.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub src: String,
    pub dest: String,
    pub body: Body,
}

impl Envelope {
    pub fn new(src: impl Into<String>, dest: impl Into<String>, body: Body) -> Envelope {
        Envelope {
            src: src.into(),
            dest: dest.into(),
            body,
        }
    }

    /// The envelope as Maelstrom prints it: one line of JSON, no newline.
    pub fn to_line(&self) -> String {
        // Strings, integers and maps of them always serialise.
        serde_json::to_string(self).expect("an envelope serialises")
    }

    /// Reads one line a node printed; the error says what is wrong with it.
    pub fn from_line(line: &str) -> Result<Envelope, String> {
        serde_json::from_str(line).map_err(|e| {
            format!("not a Maelstrom message ({e}); each line must be a JSON object {{\"src\": ..., \"dest\": ..., \"body\": {{\"type\": ..., ...}}}}")
        })
    }
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_line())
    }
}

/// A message body: its `type`, its optional `msg_id` and `in_reply_to`,
/// and every other field as the sender wrote it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Body {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<u64>,
    /// The other fields, in key order (a `BTreeMap`, so that printing a body
    /// twice gives the same bytes).
    #[serde(flatten)]
    pub fields: BTreeMap<String, Json>,
}

impl Body {
    /// A body of type `kind` with no fields yet.
    pub fn new(kind: impl Into<String>) -> Body {
        Body {
            kind: kind.into(),
            msg_id: None,
            in_reply_to: None,
            fields: BTreeMap::new(),
        }
    }

    /// The same body with field `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<Json>) -> Body {
        self.fields.insert(name.to_string(), value.into());
        self
    }

    pub fn with_msg_id(mut self, id: u64) -> Body {
        self.msg_id = Some(id);
        self
    }

    pub fn replying_to(mut self, id: Option<u64>) -> Body {
        self.in_reply_to = id;
        self
    }

    /// Field `name`, if the body has it.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.fields.get(name)
    }

    /// Field `name` as an integer.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name)?.as_i64()
    }

    /// Field `name` as a list of integers (`None` if any element is not one).
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.get(name)?
            .as_array()?
            .iter()
            .map(Json::as_i64)
            .collect()
    }

    /// Field `name` as a list of strings.
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        self.get(name)?
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// An `error` body with Maelstrom's code and a human text.
    pub fn error(code: ErrorCode, text: impl Into<String>) -> Body {
        Body::new("error")
            .with("code", code.code())
            .with("text", text.into())
    }

    /// The error code of an `error` body.
    pub fn error_code(&self) -> Option<ErrorCode> {
        if self.kind != "error" {
            return None;
        }
        Some(ErrorCode::from_code(self.int("code")?))
    }
}

/// Maelstrom's error codes (doc/protocol.md, "Errors"), with its numbers
/// and names. A code Maelstrom does not define is kept as `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorCode {
    Timeout,
    NodeNotFound,
    NotSupported,
    TemporarilyUnavailable,
    MalformedRequest,
    Crash,
    Abort,
    KeyDoesNotExist,
    KeyAlreadyExists,
    PreconditionFailed,
    TxnConflict,
    Other(i64),
}

impl ErrorCode {
    /// Every code Maelstrom defines, in its table's order.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::Timeout,
        ErrorCode::NodeNotFound,
        ErrorCode::NotSupported,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::MalformedRequest,
        ErrorCode::Crash,
        ErrorCode::Abort,
        ErrorCode::KeyDoesNotExist,
        ErrorCode::KeyAlreadyExists,
        ErrorCode::PreconditionFailed,
        ErrorCode::TxnConflict,
    ];

    pub fn code(self) -> i64 {
        match self {
            ErrorCode::Timeout => 0,
            ErrorCode::NodeNotFound => 1,
            ErrorCode::NotSupported => 10,
            ErrorCode::TemporarilyUnavailable => 11,
            ErrorCode::MalformedRequest => 12,
            ErrorCode::Crash => 13,
            ErrorCode::Abort => 14,
            ErrorCode::KeyDoesNotExist => 20,
            ErrorCode::KeyAlreadyExists => 21,
            ErrorCode::PreconditionFailed => 22,
            ErrorCode::TxnConflict => 30,
            ErrorCode::Other(c) => c,
        }
    }

    pub fn from_code(code: i64) -> ErrorCode {
        ErrorCode::ALL
            .into_iter()
            .find(|e| e.code() == code)
            .unwrap_or(ErrorCode::Other(code))
    }

    /// Maelstrom's name for the code (`key-does-not-exist`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Timeout => "timeout",
            ErrorCode::NodeNotFound => "node-not-found",
            ErrorCode::NotSupported => "not-supported",
            ErrorCode::TemporarilyUnavailable => "temporarily-unavailable",
            ErrorCode::MalformedRequest => "malformed-request",
            ErrorCode::Crash => "crash",
            ErrorCode::Abort => "abort",
            ErrorCode::KeyDoesNotExist => "key-does-not-exist",
            ErrorCode::KeyAlreadyExists => "key-already-exists",
            ErrorCode::PreconditionFailed => "precondition-failed",
            ErrorCode::TxnConflict => "txn-conflict",
            ErrorCode::Other(_) => "unknown",
        }
    }

    /// Whether the error says for certain that the operation did not take
    /// place (Maelstrom's "definite" errors). Timeout and crash leave it
    /// unknown, and so does a code nobody defined.
    pub fn is_definite(self) -> bool {
        !matches!(
            self,
            ErrorCode::Timeout | ErrorCode::Crash | ErrorCode::Other(_)
        )
    }
}

/// The message types Maelstrom's workloads and services define: the trace
/// names these without allocating.
const KNOWN_KINDS: &[&str] = &[
    "init",
    "init_ok",
    "error",
    "echo",
    "echo_ok",
    "generate",
    "generate_ok",
    "topology",
    "topology_ok",
    "broadcast",
    "broadcast_ok",
    "read",
    "read_ok",
    "add",
    "add_ok",
    "write",
    "write_ok",
    "cas",
    "cas_ok",
    "send",
    "send_ok",
    "poll",
    "poll_ok",
    "commit_offsets",
    "commit_offsets_ok",
    "list_committed_offsets",
    "list_committed_offsets_ok",
    "txn",
    "txn_ok",
    "ts",
    "ts_ok",
];

/// The longest name of a node's own message type the trace shows as it is.
pub const MAX_KIND_LEN: usize = 32;

/// The message types nodes invented, each kept once for the trace (the
/// trace wants a `&'static str`). Only the names [`kind_name`] keeps are
/// here, and what it returns for a name never depends on what is here:
/// the list saves memory, it decides nothing.
static OWN_KINDS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// The trace's name for message type `kind`, a pure function of the text:
/// Maelstrom's own types and any name of at most [`MAX_KIND_LEN`]
/// characters from `a-z`, `0-9`, `_` and `-` as they are, anything else
/// `other`. The rule, not the order names were first seen, decides (the
/// kind is hashed into the run's fingerprint, so it must not depend on
/// what ran before in the process); it also bounds the names kept, since
/// a node that invents a type per message with such names is rare, and
/// one with ids or JSON in its types shows as `other`.
pub fn kind_name(kind: &str) -> &'static str {
    if let Some(k) = KNOWN_KINDS.iter().find(|k| **k == kind) {
        return k;
    }
    let plain = !kind.is_empty()
        && kind.len() <= MAX_KIND_LEN
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !plain {
        return "other";
    }
    let mut own = OWN_KINDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = own.get(kind) {
        return k;
    }
    let k: &'static str = Box::leak(kind.to_string().into_boxed_str());
    own.insert(k);
    k
}

/// The kind the trace shows is the body's `type`. There is no fixed list:
/// a node's own message types are as valid as Maelstrom's.
impl sim::node::Message for Envelope {
    fn kind(&self) -> &'static str {
        kind_name(&self.body.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_type_s_trace_kind_depends_on_its_text_alone() {
        // However many names came first (the old cap was 256), the same
        // name gets the same kind: it is hashed into the fingerprint.
        for i in 0..300 {
            kind_name(&format!("made_up_{i}"));
        }
        assert_eq!(kind_name("gossip_ok"), "gossip_ok");
        assert_eq!(kind_name("my-type-301"), "my-type-301");
        assert_eq!(kind_name("read"), "read");
        assert_eq!(
            kind_name("Gossip"),
            "other",
            "upper case is outside the rule"
        );
        assert_eq!(kind_name("{\"id\": 7}"), "other");
        assert_eq!(kind_name(&"x".repeat(MAX_KIND_LEN + 1)), "other");
        assert_eq!(kind_name(""), "other");
    }

    #[test]
    fn an_envelope_reads_and_prints_as_maelstrom_writes_it() {
        let line =
            r#"{"src":"c1","dest":"n1","body":{"type":"echo","msg_id":1,"echo":"Please echo 35"}}"#;
        let env = Envelope::from_line(line).unwrap();
        assert_eq!(env.src, "c1");
        assert_eq!(env.body.kind, "echo");
        assert_eq!(env.body.msg_id, Some(1));
        assert_eq!(env.body.in_reply_to, None);
        assert_eq!(env.body.get("echo"), Some(&Json::from("Please echo 35")));
        assert_eq!(env.to_line(), line, "byte for byte: fields in key order");
    }

    #[test]
    fn a_reply_carries_in_reply_to_and_unknown_fields_survive() {
        let line = r#"{"src":"n2","dest":"n1","body":{"type":"gossip","msg_id":7,"in_reply_to":3,"seen":[1,2],"z":{"a":null}}}"#;
        let env = Envelope::from_line(line).unwrap();
        assert_eq!(env.body.ints("seen"), Some(vec![1, 2]));
        assert_eq!(env.to_line(), line);
        assert_eq!(sim::node::Message::kind(&env), "gossip");
    }

    #[test]
    fn init_has_node_id_and_node_ids() {
        let b = Body::new("init")
            .with_msg_id(1)
            .with("node_id", "n1")
            .with("node_ids", vec!["n1", "n2"]);
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2"]}"#
        );
        assert_eq!(b.strings("node_ids").unwrap(), vec!["n1", "n2"]);
    }

    #[test]
    fn error_codes_have_maelstroms_numbers_and_names() {
        let table: Vec<(i64, &str, bool)> = ErrorCode::ALL
            .iter()
            .map(|e| (e.code(), e.name(), e.is_definite()))
            .collect();
        assert_eq!(
            table,
            vec![
                (0, "timeout", false),
                (1, "node-not-found", true),
                (10, "not-supported", true),
                (11, "temporarily-unavailable", true),
                (12, "malformed-request", true),
                (13, "crash", false),
                (14, "abort", true),
                (20, "key-does-not-exist", true),
                (21, "key-already-exists", true),
                (22, "precondition-failed", true),
                (30, "txn-conflict", true),
            ]
        );
        let e = Body::error(ErrorCode::PreconditionFailed, "expected 3, had 4");
        assert_eq!(e.error_code(), Some(ErrorCode::PreconditionFailed));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"error","code":22,"text":"expected 3, had 4"}"#
        );
        assert_eq!(ErrorCode::from_code(99), ErrorCode::Other(99));
    }

    #[test]
    fn a_line_that_is_not_a_message_says_what_is_expected() {
        let err = Envelope::from_line("hello").unwrap_err();
        assert!(err.contains("not a Maelstrom message"), "{err}");
        let err = Envelope::from_line(r#"{"src":"n1","dest":"c1","body":{}}"#).unwrap_err();
        assert!(err.contains("type"), "{err}");
    }
}
