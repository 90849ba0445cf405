//! Reading transaction histories: Jepsen/Maelstrom EDN and chaoslab's JSON
//! Lines.
//!
//! **EDN**: one map per event, `{:type :invoke, :f :txn, :value [[:append 1 2]
//! [:r 1 nil]], :process 0, :time 123, :index 0}`, then the completion
//! (`:ok` with the reads filled in, `:fail` for a transaction that definitely
//! aborted, `:info` for one whose outcome is unknown), paired by process. An
//! invocation never completed is indeterminate. Events whose `:process` is not
//! a number (the nemesis's) are skipped. In a committed list-append read,
//! `nil` is the empty list; in an rw-register read, the initial `nil`.
//!
//! **JSON Lines** (chaoslab's form, [`TxnHistory::to_jsonl`]): one transaction
//! per line, invocation and completion together:
//! `{"process":0,"outcome":"ok","call_ns":10,"return_ns":20,"txn":[["append","x",1],["r","x",[1]]]}`.
//! `outcome` is `ok`, `fail` or `info`; keys are strings or integers; reads of
//! a transaction that did not commit are `null`; `call_ns` and `return_ns` are
//! optional.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::check::parse::edn::{get, Edn, EdnParser};
use crate::check::parse::{detect_format, Format, ParseError};
use crate::history::{Outcome, ProcessId};

use super::{Mop, ReadValue, Txn, TxnHistory, TxnModel};

/// The transaction formats (the single-object formats' names are accepted
/// too, so that `--format` means the same for every model).
pub type TxnFormat = Format;

fn err(line: usize, problem: impl Into<String>, expected: impl Into<String>) -> ParseError {
    ParseError {
        line,
        problem: problem.into(),
        expected: expected.into(),
    }
}

/// Reads a transaction history of `model`'s workload.
pub fn parse_txn_history(
    text: &str,
    format: TxnFormat,
    model: TxnModel,
) -> Result<TxnHistory, ParseError> {
    match format {
        Format::Auto => parse_txn_history(text, detect_format(text), model),
        Format::Edn => parse_edn(text, model),
        Format::Jsonl => parse_jsonl(text, model),
        Format::Etcd => Err(err(
            0,
            "an etcd log holds single-register operations, not transactions",
            "an EDN or JSON Lines transaction history (--format edn or jsonl)",
        )),
    }
}

const EDN_EXAMPLE: &str = "{:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 0}";

/// A micro-op's parts, however the format spells them.
enum Part<'a> {
    Int(i64),
    Nil,
    Text(&'a str),
    /// A keyword, shown with its colon.
    Kw(&'a str),
    List(Vec<Part<'a>>),
    Other(String),
}

impl Part<'_> {
    fn show(&self) -> String {
        match self {
            Part::Int(i) => i.to_string(),
            Part::Nil => "nil".into(),
            Part::Text(s) => s.to_string(),
            Part::Kw(s) => format!(":{s}"),
            Part::List(items) => format!(
                "[{}]",
                items.iter().map(Part::show).collect::<Vec<_>>().join(" ")
            ),
            Part::Other(s) => s.clone(),
        }
    }
}

fn edn_part(e: &Edn) -> Part<'_> {
    match e {
        Edn::Int(i) => Part::Int(*i),
        Edn::Nil => Part::Nil,
        Edn::Kw(s) => Part::Kw(s),
        Edn::Str(s) | Edn::Sym(s) => Part::Text(s),
        Edn::Vec(items) => Part::List(items.iter().map(edn_part).collect()),
        other => Part::Other(other.show()),
    }
}

fn json_part(j: &Json) -> Part<'_> {
    match j {
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| Part::Other(n.to_string()), Part::Int),
        Json::Null => Part::Nil,
        Json::String(s) => Part::Text(s),
        Json::Array(items) => Part::List(items.iter().map(json_part).collect()),
        other => Part::Other(other.to_string()),
    }
}

/// One micro-op from its parts `[f key value]`; reads are filled in only when
/// `reads_known` (a committed transaction's completion).
fn mop(parts: &Part, line: usize, model: TxnModel, reads_known: bool) -> Result<Mop, ParseError> {
    let expected = || format!("{} micro-ops: {}", model, model.micro_ops());
    let Part::List(items) = parts else {
        return Err(err(
            line,
            format!("micro-op {} is not a vector [f key value]", parts.show()),
            expected(),
        ));
    };
    let [f, key, value] = items.as_slice() else {
        return Err(err(
            line,
            format!("micro-op {} does not have three parts", parts.show()),
            expected(),
        ));
    };
    let key = match key {
        Part::Int(i) => i.to_string(),
        Part::Text(s) | Part::Kw(s) => s.to_string(),
        other => {
            return Err(err(
                line,
                format!(
                    "micro-op {}: key {} is not an integer or a name",
                    parts.show(),
                    other.show()
                ),
                expected(),
            ))
        }
    };
    let int = |what: &str| match value {
        Part::Int(i) => Ok(*i),
        other => Err(err(
            line,
            format!(
                "micro-op {}: {what} {} is not an integer",
                parts.show(),
                other.show()
            ),
            expected(),
        )),
    };
    let f = match f {
        Part::Text(f) | Part::Kw(f) => *f,
        _ => "",
    };
    match (f, model) {
        ("append", TxnModel::ListAppend) => Ok(Mop::Append {
            key,
            value: int("appended value")?,
        }),
        ("w" | "write", TxnModel::RwRegister) => Ok(Mop::Write {
            key,
            value: int("written value")?,
        }),
        ("r" | "read", _) if !reads_known => Ok(Mop::Read {
            key,
            value: ReadValue::Unknown,
        }),
        ("r" | "read", TxnModel::ListAppend) => {
            let list = match value {
                Part::Nil => Vec::new(),
                Part::List(items) => items
                    .iter()
                    .map(|i| match i {
                        Part::Int(i) => Ok(*i),
                        other => Err(err(
                            line,
                            format!(
                                "micro-op {}: element {} is not an integer",
                                parts.show(),
                                other.show()
                            ),
                            expected(),
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(err(
                        line,
                        format!(
                            "micro-op {}: read value {} is not a list",
                            parts.show(),
                            other.show()
                        ),
                        expected(),
                    ))
                }
            };
            Ok(Mop::Read {
                key,
                value: ReadValue::List(list),
            })
        }
        ("r" | "read", TxnModel::RwRegister) => {
            let v = match value {
                Part::Nil => None,
                _ => Some(int("read value")?),
            };
            Ok(Mop::Read {
                key,
                value: ReadValue::Register(v),
            })
        }
        _ => Err(err(
            line,
            format!("micro-op {} is not a {model} micro-op", parts.show()),
            expected(),
        )),
    }
}

fn mops(
    value: &Part,
    line: usize,
    model: TxnModel,
    reads_known: bool,
) -> Result<Vec<Mop>, ParseError> {
    match value {
        Part::List(items) => items
            .iter()
            .map(|m| mop(m, line, model, reads_known))
            .collect(),
        other => Err(err(
            line,
            format!(
                "transaction value {} is not a vector of micro-ops",
                other.show()
            ),
            format!("a vector of {model} micro-ops: {}", model.micro_ops()),
        )),
    }
}

/// One event of an EDN history.
struct Event<'e> {
    line: usize,
    process: ProcessId,
    is_invoke: bool,
    outcome: Outcome,
    time: u64,
    value: Part<'e>,
}

fn parse_edn(text: &str, model: TxnModel) -> Result<TxnHistory, ParseError> {
    let mut p = EdnParser::new(text, 1);
    let mut maps: Vec<(usize, Edn)> = Vec::new();
    while !p.at_end() {
        let line = p.line();
        match p.value()? {
            m @ Edn::Map(_) => maps.push((line, m)),
            Edn::Vec(items) if items.iter().all(|i| matches!(i, Edn::Map(_))) => {
                maps.extend(items.into_iter().map(|i| (line, i)));
            }
            other => {
                return Err(err(
                    line,
                    format!("found {} where an operation map belongs", other.show()),
                    format!("one map per event, like {EDN_EXAMPLE}"),
                ))
            }
        }
    }
    let mut events = Vec::new();
    for (n, (line, m)) in maps.iter().enumerate() {
        let line = *line;
        let field = |key: &str| {
            get(m, key).ok_or_else(|| {
                err(
                    line,
                    format!("the map has no :{key}"),
                    format!("a map like {EDN_EXAMPLE}"),
                )
            })
        };
        let process = match field("process")? {
            Edn::Int(i) if *i >= 0 => *i as ProcessId,
            // The nemesis and other non-client events.
            Edn::Kw(_) | Edn::Sym(_) | Edn::Str(_) => continue,
            other => {
                return Err(err(
                    line,
                    format!(":process {} is not a client number", other.show()),
                    "a non-negative integer :process",
                ))
            }
        };
        let (is_invoke, outcome) = match field("type")? {
            Edn::Kw(k) => match k.as_str() {
                "invoke" => (true, Outcome::Info),
                "ok" => (false, Outcome::Ok),
                "fail" => (false, Outcome::Fail),
                "info" => (false, Outcome::Info),
                other => {
                    return Err(err(
                        line,
                        format!("unknown :type :{other}"),
                        ":type :invoke, :ok, :fail or :info",
                    ))
                }
            },
            other => {
                return Err(err(
                    line,
                    format!(":type {} is not a keyword", other.show()),
                    ":type :invoke, :ok, :fail or :info",
                ))
            }
        };
        match field("f")? {
            Edn::Kw(f) | Edn::Sym(f) | Edn::Str(f) if f == "txn" => {}
            other => {
                return Err(err(
                    line,
                    format!(
                        ":f {} is not :txn; the {model} model reads transactions",
                        other.show()
                    ),
                    format!("transactions, like {EDN_EXAMPLE} (single-key operations: --model register, cas-register or kv)"),
                ))
            }
        }
        let time = match get(m, "time") {
            Some(Edn::Int(t)) if *t >= 0 => *t as u64,
            _ => n as u64,
        };
        let value = get(m, "value").map_or(Part::Nil, edn_part);
        events.push(Event {
            line,
            process,
            is_invoke,
            outcome,
            time,
            value,
        });
    }
    pair(events, model)
}

/// Pairs invocations with completions by process.
fn pair(events: Vec<Event>, model: TxnModel) -> Result<TxnHistory, ParseError> {
    let mut txns: Vec<Txn> = Vec::new();
    let mut open: BTreeMap<ProcessId, usize> = BTreeMap::new();
    for ev in events {
        if ev.is_invoke {
            if let Some(&i) = open.get(&ev.process) {
                return Err(err(
                    ev.line,
                    format!(
                        "process {} invokes again while its transaction from line {} is still open",
                        ev.process, txns[i].line
                    ),
                    "a completion (:ok, :fail or :info) for that process first",
                ));
            }
            open.insert(ev.process, txns.len());
            txns.push(Txn {
                process: ev.process,
                outcome: Outcome::Info,
                mops: mops(&ev.value, ev.line, model, false)?,
                call_ns: ev.time,
                return_ns: None,
                line: ev.line,
            });
            continue;
        }
        let Some(i) = open.remove(&ev.process) else {
            return Err(err(
                ev.line,
                format!(
                    "process {} completes a transaction it never invoked",
                    ev.process
                ),
                "an :invoke from the same process earlier in the file",
            ));
        };
        let txn = &mut txns[i];
        let invoked_line = txn.line;
        txn.outcome = ev.outcome;
        txn.line = ev.line;
        match ev.outcome {
            Outcome::Ok => {
                let done = mops(&ev.value, ev.line, model, true)?;
                let same_shape = done.len() == txn.mops.len()
                    && done.iter().zip(&txn.mops).all(|(a, b)| {
                        a.key() == b.key()
                            && match (a, b) {
                                (Mop::Read { .. }, Mop::Read { .. }) => true,
                                _ => a == b,
                            }
                    });
                if !same_shape {
                    return Err(err(
                        ev.line,
                        format!(
                            "the completed transaction is not the one invoked at line {invoked_line}"
                        ),
                        "the invocation's micro-ops, in order, with the reads filled in",
                    ));
                }
                txn.mops = done;
                txn.return_ns = Some(ev.time);
            }
            Outcome::Fail => txn.return_ns = Some(ev.time),
            // It may still take effect later: no return time.
            Outcome::Info => {}
        }
    }
    Ok(TxnHistory { txns })
}

const JSONL_EXAMPLE: &str =
    r#"{"process":0,"outcome":"ok","txn":[["append","x",1],["r","x",[1]]]}"#;

fn parse_jsonl(text: &str, model: TxnModel) -> Result<TxnHistory, ParseError> {
    let mut txns = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let j: Json = serde_json::from_str(raw).map_err(|e| {
            err(
                line,
                format!("not JSON: {e}"),
                format!("one transaction per line, e.g. {JSONL_EXAMPLE}"),
            )
        })?;
        let field = |key: &str| {
            j.get(key).ok_or_else(|| {
                err(
                    line,
                    format!("the object has no \"{key}\""),
                    format!("an object like {JSONL_EXAMPLE}"),
                )
            })
        };
        let process = field("process")?.as_u64().ok_or_else(|| {
            err(
                line,
                "\"process\" is not a client number",
                "a non-negative integer",
            )
        })?;
        let outcome = match field("outcome")?.as_str() {
            Some("ok") => Outcome::Ok,
            Some("fail") => Outcome::Fail,
            Some("info") => Outcome::Info,
            _ => {
                return Err(err(
                    line,
                    format!("\"outcome\" {} is not known", field("outcome")?),
                    "\"ok\", \"fail\" or \"info\"",
                ))
            }
        };
        let time = |key: &str| match j.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                err(
                    line,
                    format!("\"{key}\" {v} is not a time"),
                    "a non-negative integer of nanoseconds, or no field",
                )
            }),
        };
        let call_ns = time("call_ns")?.unwrap_or(line as u64);
        let return_ns = match outcome {
            Outcome::Info => None,
            _ => Some(time("return_ns")?.unwrap_or(call_ns)),
        };
        txns.push(Txn {
            process,
            outcome,
            mops: mops(
                &json_part(field("txn")?),
                line,
                model,
                outcome == Outcome::Ok,
            )?,
            call_ns,
            return_ns,
            line,
        });
    }
    Ok(TxnHistory { txns })
}

impl TxnHistory {
    /// The history as chaoslab's JSON Lines: one transaction per line (see
    /// the module documentation of `check::txn::read`).
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for t in &self.txns {
            let mops: Vec<Json> = t
                .mops
                .iter()
                .map(|m| match m {
                    Mop::Append { key, value } => serde_json::json!(["append", key, value]),
                    Mop::Write { key, value } => serde_json::json!(["w", key, value]),
                    Mop::Read { key, value } => {
                        let v = match value {
                            ReadValue::Unknown | ReadValue::Register(None) => Json::Null,
                            ReadValue::List(l) => serde_json::json!(l),
                            ReadValue::Register(Some(v)) => serde_json::json!(v),
                        };
                        serde_json::json!(["r", key, v])
                    }
                })
                .collect();
            let outcome = match t.outcome {
                Outcome::Ok => "ok",
                Outcome::Fail => "fail",
                Outcome::Info => "info",
            };
            let mut line = serde_json::json!({
                "process": t.process,
                "outcome": outcome,
                "call_ns": t.call_ns,
                "txn": mops,
            });
            if let Some(r) = t.return_ns {
                line["return_ns"] = serde_json::json!(r);
            }
            out.push_str(&line.to_string());
            out.push('\n');
        }
        out
    }
}
