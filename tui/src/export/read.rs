//! Reads a `--trace` file (JSON Lines, docs/trace.md) back into
//! [`TraceRecord`]s: the one reader of the format, for `chaoslab export`
//! and for `chaoslab tui --trace`.
//!
//! Reading is strict: a line that is not a JSON object, a record of an
//! unknown kind or one missing a field, a record earlier than the one
//! before it, and a file with no record are refused with the file, the line
//! and what was wrong, never skipped (a trace of another chaoslab version
//! should say so, not show or export half a run).
//!
//! A record's kinds, reasons and roles are `&'static str` in the kernel (the
//! protocol's own names). Read from a file they are interned: each distinct
//! text is leaked once and shared by every record that holds it, so the
//! memory this takes is the trace's vocabulary (message kinds, outcomes,
//! fault verbs), not its length. Node names are shared [`Arc<str>`]s, and a
//! trace may name at most [`MAX_NODES`] of them: every reader keeps
//! something per node (the UI a table of links between every two, ShiViz a
//! vector clock of every node's count on each node), so a file naming a
//! new node on each line would take memory in the square of its length.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use sim::trace::{TraceEvent, TraceRecord};

/// The most servers (`n1..n128`) and clients (`c1..c256`) a scenario may
/// have: the scenario parser's own limits.
pub(crate) const MAX_SERVERS: usize = sim::scenario::MAX_SERVERS as usize;
pub(crate) const MAX_CLIENTS: usize = sim::scenario::MAX_CLIENTS as usize;

/// The most distinct node names a trace may hold: every server and client
/// a scenario may have, and as many again as servers for the rest (a
/// protocol's services, such as Maelstrom's `lin-kv`, or another tool's
/// names).
pub(crate) const MAX_NODES: usize = MAX_SERVERS + MAX_CLIENTS + MAX_SERVERS;

#[derive(Default)]
pub(crate) struct Vocabulary {
    words: BTreeMap<String, &'static str>,
    names: BTreeMap<String, Arc<str>>,
}

/// The kinds of record this version reads.
const KINDS: &str = "send, deliver, drop, hold, timer, fault, invoke, complete, role, violation, \
                     note, trigger";

impl Vocabulary {
    fn word(&mut self, s: &str) -> &'static str {
        if let Some(w) = self.words.get(s) {
            return w;
        }
        let w: &'static str = Box::leak(s.to_string().into_boxed_str());
        self.words.insert(s.to_string(), w);
        w
    }

    fn name(&mut self, s: &str) -> Result<Arc<str>, String> {
        if let Some(a) = self.names.get(s) {
            return Ok(a.clone());
        }
        if self.names.len() >= MAX_NODES {
            return Err(format!(
                "node `{s}` is the trace's {}th node name: a trace names {MAX_NODES} nodes at most \
                 ({MAX_SERVERS} servers, {MAX_CLIENTS} clients and {MAX_SERVERS} others, such as \
                 a protocol's services)",
                MAX_NODES + 1
            ));
        }
        let a: Arc<str> = Arc::from(s);
        self.names.insert(s.to_string(), a.clone());
        Ok(a)
    }

    /// One line of the trace as a record; `None` for a blank line. `Err`
    /// says what was wrong with it (the caller names the file and line).
    pub(crate) fn record(&mut self, line: &str) -> Result<Option<TraceRecord>, String> {
        if blank(line) {
            return Ok(None);
        }
        let v: Value = serde_json::from_str(line).map_err(|e| {
            format!(
                "not JSON ({e}): a trace has one JSON object per line, as `--trace FILE` writes it"
            )
        })?;
        let Value::Object(o) = v else {
            return Err("not a JSON object: a trace has one object per line".into());
        };
        let kind = o
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("no `kind` field: not a chaoslab trace record (docs/trace.md)")?;
        let f = Fields { o: &o, kind };
        let t = f.u64("t")?;
        let event = match kind {
            "send" => TraceEvent::Send {
                from: self.name(f.str("from")?)?,
                to: self.name(f.str("to")?)?,
                id: f.u64("id")?,
                msg: self.word(f.str("msg")?),
                detail: f.str("detail")?.to_string(),
            },
            "deliver" => TraceEvent::Deliver {
                from: self.name(f.str("from")?)?,
                to: self.name(f.str("to")?)?,
                id: f.u64("id")?,
                msg: self.word(f.str("msg")?),
            },
            "drop" | "hold" => {
                let from = self.name(f.str("from")?)?;
                let to = self.name(f.str("to")?)?;
                let id = f.u64("id")?;
                let msg = self.word(f.str("msg")?);
                let reason = self.word(f.str("reason")?);
                if kind == "drop" {
                    TraceEvent::Drop {
                        from,
                        to,
                        id,
                        msg,
                        reason,
                    }
                } else {
                    TraceEvent::Hold {
                        from,
                        to,
                        id,
                        msg,
                        reason,
                    }
                }
            }
            "timer" => TraceEvent::Timer {
                node: self.name(f.str("node")?)?,
                timer: f.u64("timer")?,
            },
            "fault" => TraceEvent::Fault {
                action: self.word(f.str("action")?),
                description: f.str("description")?.to_string(),
                line: f.u64("line")? as usize,
            },
            "invoke" => TraceEvent::Invoke {
                node: self.name(f.str("node")?)?,
                op: f.u64("op")?,
                description: f.str("description")?.to_string(),
            },
            "complete" => TraceEvent::Complete {
                node: self.name(f.str("node")?)?,
                op: f.u64("op")?,
                outcome: self.word(f.str("outcome")?),
                output: f.str("output")?.to_string(),
                found_other: o
                    .get("found_other")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            "role" => TraceEvent::Role {
                node: self.name(f.str("node")?)?,
                from: self.word(f.str("from")?),
                to: self.word(f.str("to")?),
            },
            "violation" => TraceEvent::Violation {
                invariant: self.word(f.str("invariant")?),
                detail: f.str("detail")?.to_string(),
            },
            "note" => TraceEvent::Note {
                node: self.name(f.str("node")?)?,
                note: self.word(f.str("note")?),
            },
            "trigger" => TraceEvent::Trigger {
                line: f.u64("line")? as usize,
                when: f.str("when")?.to_string(),
                event: f.str("event")?.to_string(),
                matched: f.u64("matched")?,
                delay: f.u64("delay")?,
            },
            other => {
                return Err(format!(
                    "unknown record kind `{other}`: this chaoslab reads {KINDS} (a trace of \
                     another chaoslab version? docs/trace.md lists the kinds)"
                ))
            }
        };
        Ok(Some(TraceRecord { t, event }))
    }
}

/// A line with nothing on it but JSON's whitespace (space, tab, line feed,
/// carriage return; not form feed, which `is_ascii_whitespace` takes).
fn blank(line: &str) -> bool {
    line.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// The fields of one record of kind `kind`, each read with the message
/// that says what a missing or wrong one should have been.
struct Fields<'a> {
    o: &'a Map<String, Value>,
    kind: &'a str,
}

impl<'a> Fields<'a> {
    fn missing(&self, field: &str, what: &str) -> String {
        format!(
            "a `{}` record needs `{field}`, {what} (a trace of an older format? docs/trace.md \
             lists each kind's fields)",
            self.kind
        )
    }

    fn u64(&self, field: &str) -> Result<u64, String> {
        self.o
            .get(field)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.missing(field, "a whole number"))
    }

    fn str(&self, field: &str) -> Result<&'a str, String> {
        self.o
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| self.missing(field, "a string"))
    }
}

/// A trace file read record by record: each item is a record and its line
/// number (from 1), or the error to print, naming the file and the line;
/// after an error, nothing more. Blank lines are skipped; a file with no
/// record ends in an error too.
pub(crate) struct TraceFile {
    path: String,
    lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
    line: usize,
    vocabulary: Vocabulary,
    last_t: u64,
    records: u64,
    done: bool,
}

impl TraceFile {
    /// Opens `path`; `Err` is the message to print.
    pub(crate) fn open(path: &Path) -> Result<TraceFile, String> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| format!("error: {shown}: cannot open the trace: {e}"))?;
        Ok(TraceFile {
            path: shown,
            lines: std::io::BufReader::new(file).lines(),
            line: 0,
            vocabulary: Vocabulary::default(),
            last_t: 0,
            records: 0,
            done: false,
        })
    }

    /// The message for what was wrong at line `at`.
    pub(crate) fn error_at(path: &str, at: usize, what: &str) -> String {
        format!("error: {path}:{at}: {what}")
    }

    /// The next record, or `Err(what was wrong)` without the file and line.
    fn next_record(&mut self) -> Option<Result<TraceRecord, String>> {
        loop {
            let line = self.lines.next()?;
            self.line += 1;
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(format!("cannot read: {e}"))),
            };
            match self.vocabulary.record(&line) {
                Ok(None) => continue,
                Ok(Some(r)) if r.t < self.last_t => {
                    return Some(Err(format!(
                        "the record at t={} comes after one at t={}: a trace's records are in \
                         time order",
                        r.t, self.last_t
                    )))
                }
                Ok(Some(r)) => {
                    self.last_t = r.t;
                    self.records += 1;
                    return Some(Ok(r));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Iterator for TraceFile {
    type Item = Result<(usize, TraceRecord), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Some(Ok(r)) => Some(Ok((self.line, r))),
            Some(Err(e)) => {
                self.done = true;
                Some(Err(TraceFile::error_at(&self.path, self.line, &e)))
            }
            None => {
                self.done = true;
                (self.records == 0).then(|| {
                    Err(format!(
                        "error: {}: the trace is empty: no records (write one with `chaoslab \
                         run SCENARIO --trace {}`)",
                        self.path, self.path
                    ))
                })
            }
        }
    }
}

/// The node names a record holds (none, one or two).
pub(crate) fn names_in(e: &TraceEvent) -> [Option<&str>; 2] {
    match e {
        TraceEvent::Send { from, to, .. }
        | TraceEvent::Deliver { from, to, .. }
        | TraceEvent::Drop { from, to, .. }
        | TraceEvent::Hold { from, to, .. } => [Some(from), Some(to)],
        TraceEvent::Timer { node, .. }
        | TraceEvent::Invoke { node, .. }
        | TraceEvent::Complete { node, .. }
        | TraceEvent::Role { node, .. }
        | TraceEvent::Note { node, .. } => [Some(node), None],
        TraceEvent::Fault { .. } | TraceEvent::Violation { .. } | TraceEvent::Trigger { .. } => {
            [None, None]
        }
    }
}

/// A server `nK` or client `cK`'s letter and number `K`, for a name of that
/// form (`n07` too: any digits).
pub(crate) fn numbered(name: &str) -> Option<(u8, usize)> {
    let (&first, digits) = name.as_bytes().split_first()?;
    if !matches!(first, b'n' | b'c') || digits.is_empty() || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    // All digits: `None` only if too large for a usize, which is too many.
    Some((first, name[1..].parse().unwrap_or(usize::MAX)))
}

/// For a reader that sizes its tables by a trace's numbers (`tui
/// --trace`): refuses a record whose node number or message or operation id
/// is too large to be a real run's (a node `n1000000` would be a
/// million-by-a-million link table). A run numbers its messages 1, 2, ...
/// and its operations 0, 1, ... as it sends and invokes them, each with a
/// record, so a trace of `records` records has ids up to `records`.
/// `chaoslab export` keeps nothing by number and takes any names (a trace
/// converted from another tool), so it does not ask this.
pub(crate) fn within_scenario_limits(e: &TraceEvent, records: usize) -> Result<(), String> {
    for name in names_in(e).into_iter().flatten() {
        match numbered(name) {
            Some((b'n', k)) if k > MAX_SERVERS => {
                return Err(format!(
                    "node `{name}`: a trace names servers n1 to n{MAX_SERVERS} at most (as many \
                     as a scenario may have)"
                ))
            }
            Some((b'c', k)) if k > MAX_CLIENTS => {
                return Err(format!(
                    "node `{name}`: a trace names clients c1 to c{MAX_CLIENTS} at most (as many \
                     as a scenario may have)"
                ))
            }
            _ => {}
        }
    }
    let (what, id) = match e {
        TraceEvent::Send { id, .. }
        | TraceEvent::Deliver { id, .. }
        | TraceEvent::Drop { id, .. }
        | TraceEvent::Hold { id, .. } => ("message `id`", *id),
        TraceEvent::Invoke { op, .. } | TraceEvent::Complete { op, .. } => ("operation `op`", *op),
        _ => return Ok(()),
    };
    if id > records as u64 {
        return Err(format!(
            "{what} {id} is larger than the trace's {records} records: a run numbers its \
             messages from 1 and its operations from 0, each with a record, so a trace of \
             {records} records has ids up to {records}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_written_by_the_kernel_reads_back_as_the_same_record() {
        let records = vec![
            TraceRecord {
                t: 5,
                event: TraceEvent::Send {
                    from: "n1".into(),
                    to: "c2".into(),
                    id: 9,
                    msg: "Reply",
                    detail: "Reply { x: 1 }".into(),
                },
            },
            TraceRecord {
                t: 6,
                event: TraceEvent::Hold {
                    from: "n1".into(),
                    to: "c2".into(),
                    id: 9,
                    msg: "Reply",
                    reason: "clogged",
                },
            },
            TraceRecord {
                t: 7,
                event: TraceEvent::Complete {
                    node: "c2".into(),
                    op: 3,
                    outcome: "fail",
                    output: String::new(),
                    found_other: true,
                },
            },
            TraceRecord {
                t: 8,
                event: TraceEvent::Trigger {
                    line: 4,
                    when: "{ event = \"note\" }".into(),
                    event: "note n2 committed".into(),
                    matched: 1,
                    delay: 0,
                },
            },
        ];
        let mut vocabulary = Vocabulary::default();
        for r in records {
            let line = serde_json::to_string(&r).unwrap();
            assert_eq!(vocabulary.record(&line).unwrap(), Some(r));
        }
    }

    #[test]
    fn a_line_that_is_not_a_record_says_what_is_wrong() {
        let mut vocabulary = Vocabulary::default();
        let e = vocabulary
            .record(r#"{"t":1,"kind":"teleport"}"#)
            .unwrap_err();
        assert!(
            e.contains("unknown record kind `teleport`") && e.contains("send, deliver"),
            "{e}"
        );
        let e = vocabulary
            .record(r#"{"t":1,"kind":"timer","node":"n1"}"#)
            .unwrap_err();
        assert!(e.contains("`timer`"), "{e}");
        assert!(vocabulary
            .record("{oops")
            .unwrap_err()
            .starts_with("not JSON"));
        assert_eq!(vocabulary.record("  ").unwrap(), None);
    }
}
