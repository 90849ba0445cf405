//! etcd logs: porcupine's Jepsen etcd runs, and raw Jepsen logs.

use crate::history::{OpFn, Outcome, ProcessId};

use super::edn::{cas_unless, to_value, value_unless, Edn, EdnParser};
use super::{err, pair, Event, ParseError, Parsed};

pub(super) const ETCD_MARK: &str = "jepsen.util - ";

pub(super) fn parse_etcd(text: &str) -> Result<Parsed, ParseError> {
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
            "write" => (OpFn::Write(value_unless(timed_out, &value, line)?), None),
            "cas" => (cas_unless(timed_out, &value, line)?, None),
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

pub(super) fn parse_kind(k: &str) -> Option<(bool, Outcome)> {
    match k.trim_start_matches(':') {
        "invoke" => Some((true, Outcome::Info)),
        "ok" => Some((false, Outcome::Ok)),
        "fail" => Some((false, Outcome::Fail)),
        "info" => Some((false, Outcome::Info)),
        _ => None,
    }
}
