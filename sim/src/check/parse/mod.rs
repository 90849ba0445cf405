//! Reading histories recorded elsewhere.
//!
//! - **EDN** (Jepsen, Maelstrom): one map per operation event, e.g.
//!   `{:type :invoke, :f :write, :value 3, :process 1}`, with `:type` one of
//!   `:invoke :ok :fail :info`. Keys come from `:key`, or, for the kv model, from
//!   Maelstrom's `[k v]` values (`:cas` values are `[k [from to]]`). The file may
//!   hold one map per line or one vector of maps.
//! - **etcd logs** (porcupine's Jepsen etcd runs, and raw Jepsen logs): lines
//!   like `INFO  jepsen.util - 3 :invoke :cas [1 4]` (tab- or space-separated),
//!   one single register. Other lines (Jepsen's own logging, stack traces) are
//!   skipped and counted, as porcupine does. `:fail :cas` is read as porcupine's
//!   etcd model reads it: the cas found another value, an observation
//!   ([`Op::found_other`]).
//! - **JSON Lines**: one [`Op`] per line, as chaoslab writes them
//!   ([`History::to_jsonl`]).
//!
//! In EDN, `:fail` keeps Jepsen's and Knossos's meaning: the operation did not
//! happen, and it constrains nothing, a cas included.
//!
//! Invocations and completions are paired by process: a process has at most one
//! operation open. Without a clock in the file, an event's time is its line
//! number, which preserves the real-time order the file records.

use std::collections::BTreeMap;

use crate::history::{History, Op, OpFn, Outcome, ProcessId, Value};

use super::model::ModelKind;

pub(crate) mod edn;
mod etcd;
#[cfg(test)]
mod tests;

use edn::parse_edn;
use etcd::{parse_etcd, ETCD_MARK};

/// The history formats `chaoslab check` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Decide from the first non-blank line.
    Auto,
    Edn,
    Etcd,
    Jsonl,
}

impl Format {
    pub const NAMES: &'static str = "auto, edn, etcd, jsonl";

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "auto" => Some(Format::Auto),
            "edn" | "jepsen" | "maelstrom" | "porcupine-kv" => Some(Format::Edn),
            "etcd" | "etcd-log" => Some(Format::Etcd),
            "jsonl" | "json" | "chaoslab" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// A history file that cannot be read: where, what was wrong, what would be valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}; expected {expected}")]
pub struct ParseError {
    /// 1-based line number (0 when the problem is the file as a whole).
    pub line: usize,
    pub problem: String,
    pub expected: String,
}

fn err(line: usize, problem: impl Into<String>, expected: impl Into<String>) -> ParseError {
    ParseError {
        line,
        problem: problem.into(),
        expected: expected.into(),
    }
}

/// Guesses the format from the first non-blank line (a raw Jepsen log may
/// open with other log lines: any `jepsen.util - ` line outside EDN or JSON
/// makes it a log).
pub fn detect_format(text: &str) -> Format {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let structured = first.starts_with(['{', '[', '(']);
    if first.contains("jepsen.util") || (!structured && text.contains(ETCD_MARK)) {
        Format::Etcd
    } else if first.starts_with("{\"") || first.starts_with("{ \"") {
        Format::Jsonl
    } else {
        Format::Edn
    }
}

/// A parsed history, with what the parser left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub history: History,
    /// Non-blank lines that were not history lines (raw Jepsen logs only).
    pub skipped_lines: usize,
    /// History events that are not client operations (the nemesis's).
    pub other_events: usize,
}

/// Parses `text` in `format` (the model decides how Maelstrom `[k v]` values
/// are read).
pub fn parse_history(text: &str, format: Format, model: ModelKind) -> Result<History, ParseError> {
    parse_history_counted(text, format, model).map(|p| p.history)
}

/// As [`parse_history`], also saying how many lines were skipped.
pub fn parse_history_counted(
    text: &str,
    format: Format,
    model: ModelKind,
) -> Result<Parsed, ParseError> {
    let history = match format {
        Format::Auto => return parse_history_counted(text, detect_format(text), model),
        Format::Jsonl => History::from_jsonl(text).map_err(|(line, e)| {
            err(
                line,
                format!("not a chaoslab operation: {e}"),
                format!("one JSON object per line, e.g. {}", example_jsonl()),
            )
        })?,
        Format::Etcd => return parse_etcd(text),
        Format::Edn => return parse_edn(text, model),
    };
    Ok(Parsed {
        history,
        skipped_lines: 0,
        other_events: 0,
    })
}

fn example_jsonl() -> String {
    let op = Op {
        process: 1,
        key: "k0".into(),
        f: OpFn::Write(Value::Int(3)),
        output: None,
        outcome: Outcome::Ok,
        call_ns: 1000,
        return_ns: Some(2000),
        found_other: false,
    };
    serde_json::to_string(&op).unwrap_or_default()
}

/// One event of a history file, before invocations and completions are paired.
struct Event {
    line: usize,
    time: u64,
    process: ProcessId,
    kind: Outcome,
    is_invoke: bool,
    key: String,
    f: OpFn,
    output: Option<Value>,
    /// The name of the function, to match invocations with completions.
    f_name: String,
    /// A `:fail :cas` in an etcd log: the cas found another value.
    found_other: bool,
}

/// Pairs invocations with completions by process.
fn pair(events: Vec<Event>) -> Result<History, ParseError> {
    let mut ops: Vec<Op> = Vec::new();
    let mut open: BTreeMap<ProcessId, (usize, usize, String)> = BTreeMap::new();
    for ev in events {
        if ev.is_invoke {
            if let Some((_, line, _)) = open.get(&ev.process) {
                return Err(err(
                    ev.line,
                    format!("process {} invokes again while its operation from line {line} is still open", ev.process),
                    "a completion (:ok, :fail or :info) for that process first",
                ));
            }
            open.insert(ev.process, (ops.len(), ev.line, ev.f_name.clone()));
            ops.push(Op {
                process: ev.process,
                key: ev.key,
                f: ev.f,
                output: None,
                outcome: Outcome::Info,
                call_ns: ev.time,
                return_ns: None,
                found_other: false,
            });
            continue;
        }
        let Some((index, _, f_name)) = open.remove(&ev.process) else {
            return Err(err(
                ev.line,
                format!(
                    "process {} completes an operation it never invoked",
                    ev.process
                ),
                "an :invoke from the same process earlier in the file",
            ));
        };
        if f_name != ev.f_name {
            return Err(err(
                ev.line,
                format!(
                    "process {} completes :{} but its open operation is :{f_name}",
                    ev.process, ev.f_name
                ),
                format!("a completion with :f :{f_name}"),
            ));
        }
        let op = &mut ops[index];
        op.outcome = ev.kind;
        match ev.kind {
            Outcome::Ok => {
                op.return_ns = Some(ev.time);
                if matches!(op.f, OpFn::Read) {
                    op.output = Some(ev.output.unwrap_or(Value::Nil));
                } else if let (OpFn::Write(Value::Nil), OpFn::Write(v)) = (&op.f, &ev.f) {
                    // Some recorders only put the value on the completion.
                    op.f = OpFn::Write(v.clone());
                }
            }
            Outcome::Fail => {
                op.return_ns = Some(ev.time);
                op.found_other = ev.found_other && matches!(op.f, OpFn::Cas { .. });
            }
            // The operation may still take effect later: no return time.
            Outcome::Info => op.return_ns = None,
        }
    }
    Ok(History { ops })
}
