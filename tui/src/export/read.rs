//! Reads a `--trace` file (JSON Lines, docs/trace.md) back into
//! [`TraceRecord`]s, for `chaoslab export`.
//!
//! A record's kinds, reasons and roles are `&'static str` in the kernel (the
//! protocol's own names). Read from a file they are interned: each distinct
//! text is leaked once and shared by every record that holds it, so the
//! memory this takes is the trace's vocabulary (message kinds, outcomes,
//! fault verbs), not its length.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use sim::trace::{TraceEvent, TraceRecord};

#[derive(Default)]
pub(crate) struct Vocabulary {
    words: BTreeMap<String, &'static str>,
    names: BTreeMap<String, Arc<str>>,
}

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

    fn name(&mut self, s: &str) -> Arc<str> {
        self.names
            .entry(s.to_string())
            .or_insert_with(|| Arc::from(s))
            .clone()
    }

    /// One line of the trace as a record; `None` for a blank line.
    pub(crate) fn record(&mut self, line: &str) -> Result<Option<TraceRecord>, String> {
        if line.trim().is_empty() {
            return Ok(None);
        }
        let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let t = v
            .get("t")
            .and_then(Value::as_u64)
            .ok_or("field `t` (virtual time in nanoseconds) is missing or not a whole number")?;
        let kind = str_field(&v, "kind")?;
        let event = match kind {
            "send" => TraceEvent::Send {
                from: self.name(str_field(&v, "from")?),
                to: self.name(str_field(&v, "to")?),
                id: u64_field(&v, "id")?,
                msg: self.word(str_field(&v, "msg")?),
                detail: str_field(&v, "detail")?.to_string(),
            },
            "deliver" => TraceEvent::Deliver {
                from: self.name(str_field(&v, "from")?),
                to: self.name(str_field(&v, "to")?),
                id: u64_field(&v, "id")?,
                msg: self.word(str_field(&v, "msg")?),
            },
            "drop" | "hold" => {
                let from = self.name(str_field(&v, "from")?);
                let to = self.name(str_field(&v, "to")?);
                let id = u64_field(&v, "id")?;
                let msg = self.word(str_field(&v, "msg")?);
                let reason = self.word(str_field(&v, "reason")?);
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
                node: self.name(str_field(&v, "node")?),
                timer: u64_field(&v, "timer")?,
            },
            "fault" => TraceEvent::Fault {
                action: self.word(str_field(&v, "action")?),
                description: str_field(&v, "description")?.to_string(),
                line: u64_field(&v, "line")? as usize,
            },
            "invoke" => TraceEvent::Invoke {
                node: self.name(str_field(&v, "node")?),
                op: u64_field(&v, "op")?,
                description: str_field(&v, "description")?.to_string(),
            },
            "complete" => TraceEvent::Complete {
                node: self.name(str_field(&v, "node")?),
                op: u64_field(&v, "op")?,
                outcome: self.word(str_field(&v, "outcome")?),
                output: str_field(&v, "output")?.to_string(),
                found_other: v
                    .get("found_other")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            "role" => TraceEvent::Role {
                node: self.name(str_field(&v, "node")?),
                from: self.word(str_field(&v, "from")?),
                to: self.word(str_field(&v, "to")?),
            },
            "violation" => TraceEvent::Violation {
                invariant: self.word(str_field(&v, "invariant")?),
                detail: str_field(&v, "detail")?.to_string(),
            },
            "note" => TraceEvent::Note {
                node: self.name(str_field(&v, "node")?),
                note: self.word(str_field(&v, "note")?),
            },
            "trigger" => TraceEvent::Trigger {
                line: u64_field(&v, "line")? as usize,
                when: str_field(&v, "when")?.to_string(),
                event: str_field(&v, "event")?.to_string(),
                matched: u64_field(&v, "matched")?,
                delay: u64_field(&v, "delay")?,
            },
            other => return Err(format!("unknown kind `{other}`: valid kinds are {KINDS}")),
        };
        Ok(Some(TraceRecord { t, event }))
    }
}

fn str_field<'v>(v: &'v Value, field: &str) -> Result<&'v str, String> {
    v.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("field `{field}` is missing or not a string"))
}

fn u64_field(v: &Value, field: &str) -> Result<u64, String> {
    v.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("field `{field}` is missing or not a whole number"))
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
            e.contains("unknown kind `teleport`") && e.contains("send, deliver"),
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
