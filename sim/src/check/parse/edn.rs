//! EDN histories (Jepsen, Maelstrom).

use crate::history::{OpFn, Outcome, ProcessId, Value};

use super::etcd::parse_kind;
use super::{err, pair, Event, ParseError, Parsed};
use crate::check::model::ModelKind;

/// The subset of EDN that histories use.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Edn {
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
    pub(crate) fn show(&self) -> String {
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

pub(crate) struct EdnParser<'t> {
    text: &'t [u8],
    pos: usize,
    line: usize,
}

impl<'t> EdnParser<'t> {
    pub(crate) fn new(text: &'t str, line: usize) -> Self {
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

    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    /// The line the reader is on (of the next value, after [`Self::at_end`]).
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    pub(crate) fn value(&mut self) -> Result<Edn, ParseError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(err(self.line, "the value ends early", "an EDN value"));
        };
        match c {
            b'{' => {
                self.pos += 1;
                let mut pairs = Vec::new();
                let unclosed = (
                    "unclosed map: the `{` on this line is never closed",
                    "a closing `}` on the same line".to_string(),
                );
                self.items(b'}', unclosed, |p| {
                    let k = p.value()?;
                    p.skip_ws();
                    if p.peek() == Some(b'}') {
                        return Err(err(
                            p.line,
                            format!("map key {} has no value", k.show()),
                            "key value pairs",
                        ));
                    }
                    pairs.push((k, p.value()?));
                    Ok(())
                })?;
                Ok(Edn::Map(pairs))
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
        let mut items = Vec::new();
        let unclosed = (
            "unclosed vector: the bracket opened on this line is never closed",
            format!("a closing `{}`", close as char),
        );
        self.items(close, unclosed, |p| {
            items.push(p.value()?);
            Ok(())
        })?;
        Ok(Edn::Vec(items))
    }

    /// Reads the items of a collection whose opening bracket was just read,
    /// one `item` call each, up to and including the `close` bracket. A
    /// collection never closed is the `unclosed` error (problem, expected),
    /// placed at the line of its opening bracket.
    fn items(
        &mut self,
        close: u8,
        unclosed: (&str, String),
        mut item: impl FnMut(&mut Self) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        let start = self.line;
        loop {
            self.skip_ws();
            match self.peek() {
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(());
                }
                None => return Err(err(start, unclosed.0, unclosed.1)),
                _ => item(self)?,
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

pub(super) fn to_value(e: &Edn, line: usize) -> Result<Value, ParseError> {
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

/// An operation's value, or `nil` where the record does not know it (`unknown`).
pub(super) fn value_unless(unknown: bool, e: &Edn, line: usize) -> Result<Value, ParseError> {
    if unknown {
        Ok(Value::Nil)
    } else {
        to_value(e, line)
    }
}

/// A cas from its `[expected new]` value, both `nil` where the record does not
/// know them (`unknown`).
pub(super) fn cas_unless(unknown: bool, e: &Edn, line: usize) -> Result<OpFn, ParseError> {
    let (expected, new) = if unknown {
        (Value::Nil, Value::Nil)
    } else {
        pair_of(e, line, "[expected new]")?
    };
    Ok(OpFn::Cas { expected, new })
}

fn key_text(e: &Edn) -> String {
    match e {
        Edn::Str(s) => s.clone(),
        Edn::Kw(k) => k.clone(),
        Edn::Nil => String::new(),
        other => other.show(),
    }
}

pub(super) fn parse_edn(text: &str, model: ModelKind) -> Result<Parsed, ParseError> {
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

pub(crate) fn get<'e>(m: &'e Edn, key: &str) -> Option<&'e Edn> {
    match m {
        Edn::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| matches!(k, Edn::Kw(s) if s == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// What an operation's map must look like.
const EXPECTED: &str = "a map like {:type :invoke, :f :write, :value 3, :process 1}";

/// The map of one operation event, with its line, for reading its fields.
struct Field<'e> {
    m: &'e Edn,
    line: usize,
}

impl Field<'_> {
    /// Field `key`, read by `read`; the error says that the map has no such
    /// field, or that its value is not `what` (with what is `valid`).
    fn read<T>(
        &self,
        key: &str,
        what: &str,
        valid: &str,
        read: impl FnOnce(&Edn) -> Option<T>,
    ) -> Result<T, ParseError> {
        let Some(v) = get(self.m, key) else {
            return Err(err(self.line, format!("the map has no :{key}"), EXPECTED));
        };
        read(v).ok_or_else(|| {
            err(
                self.line,
                format!(":{key} {} is not {what}", v.show()),
                valid,
            )
        })
    }
}

fn edn_event(
    m: &Edn,
    line: usize,
    n: usize,
    use_time: bool,
    model: ModelKind,
) -> Result<Option<Event>, ParseError> {
    let field = Field { m, line };
    let kind = field.read(
        "type",
        "a keyword",
        ":type :invoke, :ok, :fail or :info",
        |v| match v {
            Edn::Kw(k) => Some(k.clone()),
            _ => None,
        },
    )?;
    // The nemesis and other non-client events are not operations.
    let Some(process) = field.read(
        "process",
        "a client number",
        "a non-negative integer :process",
        |v| match v {
            Edn::Int(i) if *i >= 0 => Some(Some(*i as ProcessId)),
            Edn::Kw(_) | Edn::Sym(_) => Some(None),
            _ => None,
        },
    )?
    else {
        return Ok(None);
    };
    let (is_invoke, outcome) = parse_kind(&kind).ok_or_else(|| {
        err(
            line,
            format!("unknown :type :{kind}"),
            ":invoke, :ok, :fail or :info",
        )
    })?;
    let f_name = field.read(
        "f",
        "a function name",
        "a keyword like :read",
        |v| match v {
            Edn::Kw(k) | Edn::Sym(k) | Edn::Str(k) => Some(k.clone()),
            _ => None,
        },
    )?;
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
        "write" | "put" | "w" => (OpFn::Write(value_unless(unknown, &value, line)?), None),
        "cas" | "compare-and-set" => {
            let unknown = unknown || (!is_invoke && value == Edn::Nil);
            (cas_unless(unknown, &value, line)?, None)
        }
        "append" | "add" => (OpFn::Append(value_unless(unknown, &value, line)?), None),
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
