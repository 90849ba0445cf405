//! Writing a scenario back as TOML (after a shrink, say).

use super::faults::{Fault, FaultKind, Scope, Target};
use super::meta::Size;
use super::Scenario;
use crate::network::LatencyDist;
use crate::time::{fmt_duration, parse_duration, Nanos};

/// For messages: how long a duration is, as written back.
pub fn show(ns: Nanos) -> String {
    fmt_duration(ns)
}

/// A duration as a scenario file writes it, exactly: `"1.5s"` where that is
/// exact, else a count of nanoseconds.
pub fn exact_duration(ns: Nanos) -> String {
    let shown = fmt_duration(ns);
    if parse_duration(&shown) == Ok(ns) {
        shown
    } else {
        format!("{ns}ns")
    }
}

fn toml_list(targets: &[Target]) -> String {
    let items: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    format!("[{}]", items.join(", "))
}

fn latency_toml(l: &LatencyDist) -> String {
    match toml::Value::try_from(l) {
        Ok(v) => v.to_string(),
        Err(_) => unreachable!("a latency distribution always serializes"),
    }
}

impl Fault {
    /// This fault as a `[[faults]]` entry that parses back to the same fault.
    pub fn to_toml(&self) -> String {
        let mut lines = vec!["[[faults]]".to_string()];
        match &self.when {
            None => lines.push(format!("at = \"{}\"", exact_duration(self.at))),
            Some(w) => {
                lines.push(format!("when = {}", w.when_toml()));
                if self.at > 0 {
                    lines.push(format!("after = \"{}\"", exact_duration(self.at)));
                }
                if w.delay > 0 {
                    lines.push(format!("delay = \"{}\"", exact_duration(w.delay)));
                }
            }
        }
        let mut add = |k: &str, v: String| lines.push(format!("{k} = {v}"));
        let scope = |add: &mut dyn FnMut(&str, String), scope: &Scope| match scope {
            Scope::Everywhere => {}
            Scope::Node(t) => add("target", format!("\"{t}\"")),
            Scope::Link(a, b) => add("link", toml_list(&[a.clone(), b.clone()])),
            Scope::Region(r) => add("region", format!("\"{r}\"")),
        };
        match &self.kind {
            FaultKind::Partition { groups } => {
                add("action", "\"partition\"".into());
                let gs: Vec<String> = groups.iter().map(|g| toml_list(g)).collect();
                add("groups", format!("[{}]", gs.join(", ")));
            }
            FaultKind::PartitionOneWay { from, to } => {
                add("action", "\"partition\"".into());
                add("from", toml_list(from));
                let to = if to.is_empty() {
                    vec![Target::Rest]
                } else {
                    to.clone()
                };
                add("to", toml_list(&to));
            }
            FaultKind::Heal => add("action", "\"heal\"".into()),
            FaultKind::Crash(t)
            | FaultKind::Restart(t)
            | FaultKind::Pause(t)
            | FaultKind::Resume(t)
            | FaultKind::FsyncLoss(t)
            | FaultKind::FsyncOk(t) => {
                let action = match &self.kind {
                    FaultKind::Crash(_) => "crash",
                    FaultKind::Restart(_) => "restart",
                    FaultKind::Pause(_) => "pause",
                    FaultKind::Resume(_) => "resume",
                    FaultKind::FsyncLoss(_) => "fsync-loss",
                    _ => "fsync-ok",
                };
                add("action", format!("\"{action}\""));
                add("target", format!("\"{t}\""));
            }
            FaultKind::Clog { a, b, one_way } | FaultKind::Unclog { a, b, one_way } => {
                let clog = matches!(self.kind, FaultKind::Clog { .. });
                add(
                    "action",
                    if clog { "\"clog\"" } else { "\"unclog\"" }.into(),
                );
                if *b == Target::All {
                    add("target", format!("\"{a}\""));
                } else {
                    add("link", toml_list(&[a.clone(), b.clone()]));
                }
                if *one_way {
                    add("one_way", "true".into());
                }
            }
            FaultKind::Latency {
                scope: s, one_way, ..
            }
            | FaultKind::Loss {
                scope: s, one_way, ..
            } => {
                let (action, key, value) = match &self.kind {
                    FaultKind::Latency { latency, .. } => {
                        ("latency", "latency", latency_toml(latency))
                    }
                    FaultKind::Loss { probability, .. } => {
                        ("loss", "probability", format!("{probability:?}"))
                    }
                    _ => unreachable!("a latency or a loss fault"),
                };
                add("action", format!("\"{action}\""));
                scope(&mut add, s);
                add(key, value);
                if *one_way {
                    add("one_way", "true".into());
                }
            }
            FaultKind::Clock {
                target,
                offset_ns,
                drift,
            } => {
                add("action", "\"clock\"".into());
                add("target", format!("\"{target}\""));
                if let Some(offset_ns) = offset_ns {
                    let sign = if *offset_ns < 0 { "-" } else { "" };
                    add(
                        "offset",
                        format!("\"{sign}{}\"", exact_duration(offset_ns.unsigned_abs())),
                    );
                }
                if let Some(drift) = drift {
                    add("drift", format!("{drift:?}"));
                }
            }
        }
        lines.join("\n") + "\n"
    }
}

impl Scenario {
    /// This scenario as TOML text, with its fault schedule, nemesis, duration,
    /// seed and client count as they are now (after a shrink, say). Comments of
    /// the original are not kept; `header` lines are written as comments first.
    pub fn to_toml(&self, header: &[String]) -> String {
        let mut doc: toml::Table = toml::from_str(&self.source).unwrap_or_default();
        doc.remove("faults");
        doc.remove("nemesis");
        let mut header = header.to_vec();
        if let Some(toml::Value::Table(meta)) = doc.get_mut("meta") {
            meta.insert("duration".into(), exact_duration(self.meta.duration).into());
            // The check's budget, so that a file shrunk with budget flags
            // is decided the same way when it is run on its own.
            if let Some(n) = self.meta.check_max_steps {
                meta.insert(
                    "check_max_steps".into(),
                    toml::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)),
                );
            }
            if let Some(m) = &self.meta.check_max_memory {
                let v = match m.get_ref() {
                    Size::Bytes(n) => toml::Value::Integer(*n),
                    Size::Text(t) => toml::Value::String(t.clone()),
                };
                meta.insert("check_max_memory".into(), v);
            }
            // A TOML integer holds no more than i64::MAX: a larger seed is
            // left out of the file and given on the command line instead.
            match i64::try_from(self.meta.seed) {
                Ok(seed) => {
                    meta.insert("seed".into(), toml::Value::Integer(seed));
                }
                Err(_) => {
                    meta.remove("seed");
                    header.push(format!(
                        "Seed {} is larger than a TOML integer holds, so it is not in [meta]: run this file with --seed {}.",
                        self.meta.seed, self.meta.seed
                    ));
                }
            }
        }
        if let Some(toml::Value::Table(t)) = doc.get_mut("topology") {
            t.insert(
                "clients".into(),
                toml::Value::Integer(self.topology.clients as i64),
            );
        }
        // Keep [expect] last, after the faults, as hand-written scenarios do.
        let expect = doc.remove("expect");
        let mut out: String = header.iter().map(|h| format!("# {h}\n")).collect();
        if !header.is_empty() {
            out.push('\n');
        }
        out.push_str(&toml::to_string(&doc).unwrap_or_default());
        for f in &self.faults {
            out.push('\n');
            out.push_str(&f.to_toml());
        }
        if let Some(e) = expect {
            let mut t = toml::Table::new();
            t.insert("expect".into(), e);
            out.push('\n');
            out.push_str(&toml::to_string(&t).unwrap_or_default());
        }
        out
    }
}
