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

// ---------------------------------------------------------------------------
// etcd logs

const ETCD_MARK: &str = "jepsen.util - ";

fn parse_etcd(text: &str) -> Result<Parsed, ParseError> {
    const EXPECTED: &str =
        "a line like `INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]` (process, :invoke/:ok/:fail/:info, :read/:write/:cas, value)";
    let mut events = Vec::new();
    let mut skipped = 0;
    let mut history_lines = 0;
    let mut other_events = 0;
    let mut first_skipped: Option<(usize, &str)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        // A history line is `jepsen.util - PROCESS TYPE F VALUE` (as porcupine's
        // pattern): anything else in a raw log is Jepsen's own logging.
        let fields = raw.find(ETCD_MARK).and_then(|pos| {
            let rest = &raw[pos + ETCD_MARK.len()..];
            let mut fields = rest.split_whitespace();
            let (process, kind, f) = (fields.next()?, fields.next()?, fields.next()?);
            let client = process.parse::<ProcessId>().ok();
            let nemesis = process == ":nemesis" || process == "nemesis";
            if client.is_none() && !nemesis {
                return None;
            }
            let kind = parse_kind(kind)?;
            let value_text = fields.collect::<Vec<&str>>().join(" ");
            Some((client, kind, f, value_text))
        });
        let Some((process, (is_invoke, mut kind), f, value_text)) = fields else {
            skipped += 1;
            first_skipped.get_or_insert((line, raw));
            continue;
        };
        history_lines += 1;
        // The nemesis's events are history lines but not client operations.
        let Some(process) = process else {
            other_events += 1;
            continue;
        };
        let value = if value_text.is_empty() {
            Edn::Nil
        } else {
            let mut p = EdnParser::new(&value_text, line);
            p.value()?
        };
        let timed_out = matches!(&value, Edn::Kw(k) if k == "timed-out");
        let f_name = f.trim_start_matches(':').to_string();
        let (opfn, output) = match f_name.as_str() {
            "read" => {
                let out = if is_invoke || timed_out {
                    None
                } else {
                    Some(to_value(&value, line)?)
                };
                (OpFn::Read, out)
            }
            "write" => (
                OpFn::Write(if timed_out {
                    Value::Nil
                } else {
                    to_value(&value, line)?
                }),
                None,
            ),
            "cas" => {
                if timed_out {
                    (
                        OpFn::Cas {
                            expected: Value::Nil,
                            new: Value::Nil,
                        },
                        None,
                    )
                } else {
                    let (a, b) = pair_of(&value, line, "[expected new]")?;
                    (
                        OpFn::Cas {
                            expected: a,
                            new: b,
                        },
                        None,
                    )
                }
            }
            other => {
                return Err(err(
                    line,
                    format!("unknown function :{other}"),
                    "one of :read, :write, :cas",
                ));
            }
        };
        // `:fail :read :timed-out` completed with an unknown result.
        if kind == Outcome::Fail && timed_out {
            kind = Outcome::Info;
        }
        // Porcupine's etcd model: a `:fail :cas` saw another value.
        let found_other = kind == Outcome::Fail && !is_invoke && f_name == "cas";
        events.push(Event {
            line,
            time: line as u64,
            process,
            kind,
            is_invoke,
            key: String::new(),
            f: opfn,
            output,
            f_name,
            found_other,
        });
    }
    // Lines, and not one of them a history line: this is not a Jepsen log.
    if let (0, Some((line, raw))) = (history_lines, first_skipped) {
        return Err(err(
            line,
            format!(
                "no jepsen.util history line in the file (first line: {:?})",
                truncate(raw)
            ),
            EXPECTED,
        ));
    }
    Ok(Parsed {
        history: pair(events)?,
        skipped_lines: skipped,
        other_events,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

fn parse_kind(k: &str) -> Option<(bool, Outcome)> {
    match k.trim_start_matches(':') {
        "invoke" => Some((true, Outcome::Info)),
        "ok" => Some((false, Outcome::Ok)),
        "fail" => Some((false, Outcome::Fail)),
        "info" => Some((false, Outcome::Info)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// EDN

/// The subset of EDN that histories use.
#[derive(Clone, Debug, PartialEq)]
enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Kw(String),
    Sym(String),
    Vec(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    fn show(&self) -> String {
        match self {
            Edn::Nil => "nil".into(),
            Edn::Bool(b) => b.to_string(),
            Edn::Int(i) => i.to_string(),
            Edn::Float(x) => x.to_string(),
            Edn::Str(s) => format!("{s:?}"),
            Edn::Kw(k) => format!(":{k}"),
            Edn::Sym(s) => s.clone(),
            Edn::Vec(v) => format!(
                "[{}]",
                v.iter().map(Edn::show).collect::<Vec<_>>().join(" ")
            ),
            Edn::Map(_) => "{...}".into(),
        }
    }
}

struct EdnParser<'t> {
    text: &'t [u8],
    pos: usize,
    line: usize,
}

impl<'t> EdnParser<'t> {
    fn new(text: &'t str, line: usize) -> Self {
        EdnParser {
            text: text.as_bytes(),
            pos: 0,
            line,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.text.get(self.pos) {
            match c {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b',' => self.pos += 1,
                b';' => {
                    while self.text.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn value(&mut self) -> Result<Edn, ParseError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(err(self.line, "the value ends early", "an EDN value"));
        };
        match c {
            b'{' => {
                let start = self.line;
                self.pos += 1;
                let mut pairs = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Edn::Map(pairs));
                        }
                        None => {
                            return Err(err(
                                start,
                                "unclosed map: the `{` on this line is never closed",
                                "a closing `}` on the same line",
                            ))
                        }
                        _ => {}
                    }
                    let k = self.value()?;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        return Err(err(
                            self.line,
                            format!("map key {} has no value", k.show()),
                            "key value pairs",
                        ));
                    }
                    let v = self.value()?;
                    pairs.push((k, v));
                }
            }
            b'[' | b'(' => {
                let close = if c == b'[' { b']' } else { b')' };
                self.pos += 1;
                self.seq(close)
            }
            b'#' => {
                self.pos += 1;
                if self.peek() == Some(b'{') {
                    self.pos += 1;
                    return self.seq(b'}');
                }
                // A tagged literal (#inst "..."): keep the value, drop the tag.
                self.atom();
                self.value()
            }
            b'"' => self.string(),
            b'}' | b']' | b')' => Err(err(
                self.line,
                format!("unexpected `{}`", c as char),
                "a value before the closing bracket",
            )),
            _ => {
                let a = self.atom();
                Ok(match a.as_str() {
                    "nil" => Edn::Nil,
                    "true" => Edn::Bool(true),
                    "false" => Edn::Bool(false),
                    _ if a.starts_with(':') => Edn::Kw(a[1..].to_string()),
                    _ => {
                        if let Ok(i) = a.trim_end_matches('N').parse::<i64>() {
                            Edn::Int(i)
                        } else if let Ok(x) = a.trim_end_matches('M').parse::<f64>() {
                            Edn::Float(x)
                        } else {
                            Edn::Sym(a)
                        }
                    }
                })
            }
        }
    }

    fn seq(&mut self, close: u8) -> Result<Edn, ParseError> {
        let start = self.line;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(Edn::Vec(items));
                }
                None => {
                    return Err(err(
                        start,
                        "unclosed vector: the bracket opened on this line is never closed",
                        format!("a closing `{}`", close as char),
                    ));
                }
                _ => items.push(self.value()?),
            }
        }
    }

    fn atom(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || b",{}[]()\"".contains(&c) {
                break;
            }
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.pos]).into_owned()
    }

    fn string(&mut self) -> Result<Edn, ParseError> {
        let start_line = self.line;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(err(start_line, "unterminated string", "a closing `\"`"));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().unwrap_or(b'\\');
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        other => other,
                    });
                }
                b'\n' => {
                    self.line += 1;
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        Ok(Edn::Str(String::from_utf8_lossy(&out).into_owned()))
    }
}

fn to_value(e: &Edn, line: usize) -> Result<Value, ParseError> {
    match e {
        Edn::Nil => Ok(Value::Nil),
        Edn::Int(i) => Ok(Value::Int(*i)),
        Edn::Str(s) => Ok(Value::Str(s.clone())),
        Edn::Vec(items) => items
            .iter()
            .map(|x| match x {
                Edn::Int(i) => Ok(*i),
                other => Err(err(
                    line,
                    format!("list element {} is not an integer", other.show()),
                    "a list of integers",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        other => Err(err(
            line,
            format!("value {} is not supported", other.show()),
            "nil, an integer, a string or a list of integers",
        )),
    }
}

fn pair_of(e: &Edn, line: usize, what: &str) -> Result<(Value, Value), ParseError> {
    match e {
        Edn::Vec(v) if v.len() == 2 => Ok((to_value(&v[0], line)?, to_value(&v[1], line)?)),
        other => Err(err(
            line,
            format!("cas value {} is not a pair", other.show()),
            format!("a vector {what}"),
        )),
    }
}

fn key_text(e: &Edn) -> String {
    match e {
        Edn::Str(s) => s.clone(),
        Edn::Kw(k) => k.clone(),
        Edn::Nil => String::new(),
        other => other.show(),
    }
}

fn parse_edn(text: &str, model: ModelKind) -> Result<Parsed, ParseError> {
    let mut p = EdnParser::new(text, 1);
    let mut maps: Vec<(usize, Edn)> = Vec::new();
    while !p.at_end() {
        let line = p.line;
        let v = p.value()?;
        match v {
            Edn::Map(_) => maps.push((line, v)),
            // A whole history as one vector of maps.
            Edn::Vec(items) if items.iter().all(|i| matches!(i, Edn::Map(_))) => {
                maps.extend(items.into_iter().map(|i| (line, i)));
            }
            other => {
                return Err(err(
                    line,
                    format!("found {} where an operation map belongs", other.show()),
                    "one map per operation event, like {:type :invoke, :f :write, :value 3, :process 1}",
                ));
            }
        }
    }
    let mut use_time = maps
        .iter()
        .all(|(_, m)| get(m, "time").is_some_and(|t| matches!(t, Edn::Int(i) if *i >= 0)));
    if use_time {
        let times: Vec<i64> = maps
            .iter()
            .filter_map(|(_, m)| match get(m, "time") {
                Some(Edn::Int(i)) => Some(*i),
                _ => None,
            })
            .collect();
        use_time = times.windows(2).all(|w| w[0] <= w[1]);
    }
    let mut events = Vec::new();
    let mut other_events = 0;
    for (n, (line, m)) in maps.iter().enumerate() {
        let line = *line;
        match edn_event(m, line, n, use_time, model)? {
            Some(ev) => events.push(ev),
            None => other_events += 1,
        }
    }
    Ok(Parsed {
        history: pair(events)?,
        skipped_lines: 0,
        other_events,
    })
}

fn get<'e>(m: &'e Edn, key: &str) -> Option<&'e Edn> {
    match m {
        Edn::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| matches!(k, Edn::Kw(s) if s == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn edn_event(
    m: &Edn,
    line: usize,
    n: usize,
    use_time: bool,
    model: ModelKind,
) -> Result<Option<Event>, ParseError> {
    const EXPECTED: &str = "a map like {:type :invoke, :f :write, :value 3, :process 1}";
    let kind = match get(m, "type") {
        Some(Edn::Kw(k)) => k.clone(),
        Some(other) => {
            return Err(err(
                line,
                format!(":type {} is not a keyword", other.show()),
                ":type :invoke, :ok, :fail or :info",
            ))
        }
        None => return Err(err(line, "the map has no :type", EXPECTED)),
    };
    let process = match get(m, "process") {
        Some(Edn::Int(i)) if *i >= 0 => *i as ProcessId,
        // The nemesis and other non-client events are not operations.
        Some(Edn::Kw(_)) | Some(Edn::Sym(_)) => return Ok(None),
        Some(other) => {
            return Err(err(
                line,
                format!(":process {} is not a client number", other.show()),
                "a non-negative integer :process",
            ))
        }
        None => return Err(err(line, "the map has no :process", EXPECTED)),
    };
    let (is_invoke, outcome) = parse_kind(&kind).ok_or_else(|| {
        err(
            line,
            format!("unknown :type :{kind}"),
            ":invoke, :ok, :fail or :info",
        )
    })?;
    let f_name = match get(m, "f") {
        Some(Edn::Kw(k)) | Some(Edn::Sym(k)) | Some(Edn::Str(k)) => k.clone(),
        Some(other) => {
            return Err(err(
                line,
                format!(":f {} is not a function name", other.show()),
                "a keyword like :read",
            ))
        }
        None => return Err(err(line, "the map has no :f", EXPECTED)),
    };
    let time = if use_time {
        match get(m, "time") {
            Some(Edn::Int(i)) => *i as u64,
            _ => n as u64,
        }
    } else {
        n as u64
    };
    let raw = get(m, "value").cloned().unwrap_or(Edn::Nil);
    // The key: `:key`, or Maelstrom's `[k v]` tuple for the kv model.
    let (key, value) = match get(m, "key") {
        Some(k) => (key_text(k), raw),
        None if model == ModelKind::Kv => match raw {
            Edn::Vec(v) if v.len() == 2 => (key_text(&v[0]), v[1].clone()),
            Edn::Nil => (String::new(), Edn::Nil),
            other if f_name == "delete" || f_name == "del" => (key_text(&other), Edn::Nil),
            other => {
                return Err(err(
                    line,
                    format!("kv operation without :key and with value {}", other.show()),
                    "a :key field, or a Maelstrom [key value] pair as :value",
                ))
            }
        },
        None => (String::new(), raw),
    };
    let unknown = matches!(value, Edn::Kw(_));
    let (f, output) = match f_name.as_str() {
        "read" | "get" | "r" => {
            let out = if is_invoke || outcome != Outcome::Ok || unknown {
                None
            } else {
                Some(to_value(&value, line)?)
            };
            (OpFn::Read, out)
        }
        "write" | "put" | "w" => (
            OpFn::Write(if unknown {
                Value::Nil
            } else {
                to_value(&value, line)?
            }),
            None,
        ),
        "cas" | "compare-and-set" => {
            if unknown || (!is_invoke && value == Edn::Nil) {
                (
                    OpFn::Cas {
                        expected: Value::Nil,
                        new: Value::Nil,
                    },
                    None,
                )
            } else {
                let (a, b) = pair_of(&value, line, "[expected new]")?;
                (
                    OpFn::Cas {
                        expected: a,
                        new: b,
                    },
                    None,
                )
            }
        }
        "append" | "add" => (
            OpFn::Append(if unknown {
                Value::Nil
            } else {
                to_value(&value, line)?
            }),
            None,
        ),
        "delete" | "del" | "remove" => (OpFn::Delete, None),
        other => {
            return Err(err(
                line,
                format!("unknown :f :{other}"),
                ":read/:get, :write/:put, :cas, :append or :delete",
            ));
        }
    };
    let f_name = match f {
        OpFn::Read => "read",
        OpFn::Write(_) => "write",
        OpFn::Cas { .. } => "cas",
        OpFn::Append(_) => "append",
        OpFn::Delete => "delete",
    }
    .to_string();
    Ok(Some(Event {
        line,
        time,
        process,
        kind: outcome,
        is_invoke,
        key,
        f,
        output,
        f_name,
        found_other: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_lines_pair_by_process() {
        let text = "INFO  jepsen.util - 0\t:invoke\t:write\t3\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:write\t3\nINFO  jepsen.util - 1\t:ok\t:read\t3\n";
        let h = parse_history(text, Format::Auto, ModelKind::CasRegister).unwrap();
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.ops[0].f, OpFn::Write(Value::Int(3)));
        assert_eq!((h.ops[0].call_ns, h.ops[0].return_ns), (1, Some(3)));
        assert_eq!(h.ops[1].output, Some(Value::Int(3)));
    }

    #[test]
    fn etcd_timed_out_read_is_unknown_and_info_write_stays_open() {
        let text = "INFO  jepsen.util - 0 :invoke :read nil\nINFO  jepsen.util - 1 :invoke :write 2\nINFO  jepsen.util - 0 :fail :read :timed-out\nINFO  jepsen.util - 1 :info :write :timed-out\n";
        let h = parse_history(text, Format::Etcd, ModelKind::CasRegister).unwrap();
        assert_eq!(h.ops[0].outcome, Outcome::Info);
        assert_eq!(h.ops[1].outcome, Outcome::Info);
        assert_eq!(h.ops[1].f, OpFn::Write(Value::Int(2)));
        assert_eq!(h.ops[1].return_ns, None);
    }

    #[test]
    fn maelstrom_lin_kv_tuples_give_keys() {
        let text = r#"{:type :invoke, :f :cas, :value [1 [2 3]], :process 0, :time 5}
{:type :ok, :f :cas, :value [1 [2 3]], :process 0, :time 9}
{:type :invoke, :f :read, :value [1 nil], :process 1, :time 10}
{:type :ok, :f :read, :value [1 3], :process 1, :time 12}"#;
        let h = parse_history(text, Format::Auto, ModelKind::Kv).unwrap();
        assert_eq!(h.ops[0].key, "1");
        assert_eq!(
            h.ops[0].f,
            OpFn::Cas {
                expected: Value::Int(2),
                new: Value::Int(3)
            }
        );
        assert_eq!((h.ops[0].call_ns, h.ops[0].return_ns), (5, Some(9)));
        assert_eq!(h.ops[1].output, Some(Value::Int(3)));
    }

    #[test]
    fn a_vector_of_maps_is_a_history_too() {
        let text = "[{:type :invoke :f :write :value 1 :process 0}\n {:type :ok :f :write :value 1 :process 0}]";
        let h = parse_history(text, Format::Edn, ModelKind::Register).unwrap();
        assert_eq!(h.ops.len(), 1);
    }

    #[test]
    fn bad_input_names_the_line_and_what_is_valid() {
        let text = "{:type :invoke, :f :write, :value 1, :process 0}\n{:type :done, :f :write, :value 1, :process 0}\n";
        let e = parse_history(text, Format::Edn, ModelKind::Register).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.to_string().contains(":invoke, :ok, :fail or :info"),
            "{e}"
        );
        let e = parse_history(
            "{:type :ok, :f :read, :value 1, :process 4}",
            Format::Edn,
            ModelKind::Register,
        )
        .unwrap_err();
        assert!(e.problem.contains("never invoked"), "{e}");
        let e = parse_history(
            "{:type :invoke, :f :write",
            Format::Edn,
            ModelKind::Register,
        )
        .unwrap_err();
        assert!(e.problem.contains("unclosed"), "{e}");
        let e =
            parse_history("{\"process\": 1}\n", Format::Jsonl, ModelKind::Register).unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_history("hello\n", Format::Etcd, ModelKind::Register).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn raw_jepsen_log_lines_that_are_not_history_lines_are_skipped_and_counted() {
        let text = "INFO  jepsen.core - Running test\n\
INFO  jepsen.util - 0\t:invoke\t:write\t3\n\
WARN  jepsen.util - Worker 2 crashed with java.net.SocketException\n\
\tat clojure.core$foo.invoke(core.clj:12)\n\
INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n\
INFO  jepsen.util - 0\t:ok\t:write\t3\n";
        assert_eq!(detect_format(text), Format::Etcd);
        let p = parse_history_counted(text, Format::Auto, ModelKind::CasRegister).unwrap();
        assert_eq!(p.history.ops.len(), 1);
        assert_eq!(p.skipped_lines, 3);
    }

    #[test]
    fn etcd_fail_cas_is_an_observation_but_edn_fail_cas_did_not_happen() {
        let etcd =
            "INFO  jepsen.util - 0 :invoke :cas [1 2]\nINFO  jepsen.util - 0 :fail :cas [1 2]\n";
        let h = parse_history(etcd, Format::Etcd, ModelKind::CasRegister).unwrap();
        assert_eq!(h.ops[0].outcome, Outcome::Fail);
        assert!(h.ops[0].found_other);
        let edn = "{:type :invoke, :f :cas, :value [1 2], :process 0}\n{:type :fail, :f :cas, :value [1 2], :process 0}\n";
        let h = parse_history(edn, Format::Edn, ModelKind::CasRegister).unwrap();
        assert_eq!(h.ops[0].outcome, Outcome::Fail);
        assert!(!h.ops[0].found_other);
    }

    #[test]
    fn etcd_fail_write_did_not_happen() {
        // Jepsen's meaning (docs/checking.md, section 6); porcupine's parser
        // has no rule for the line and leaves the write open.
        let etcd = "INFO  jepsen.util - 1 :invoke :write 2\nINFO  jepsen.util - 1 :fail :write 2\n";
        let h = parse_history(etcd, Format::Etcd, ModelKind::CasRegister).unwrap();
        assert_eq!(h.ops[0].outcome, Outcome::Fail);
        assert!(!h.ops[0].found_other);
        assert!(h.ops[0].return_ns.is_some());
    }
}
