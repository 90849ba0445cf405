//! Faults injected by hand: each becomes a `[[faults]]` entry appended to the
//! scenario's text, so the run that follows, and the file saved from it, are
//! exactly what `chaoslab run` replays.

use sim::scenario::FaultAction;
use sim::time::{fmt_duration, parse_duration, Nanos};

/// A fault the user asked for at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InjectKind {
    /// The named nodes on one side, every other node on the other.
    Partition(Vec<String>),
    Heal,
    /// A fault on one named node: crash, restart, pause or resume.
    Node(FaultAction, String),
    /// A clock offset such as `"200ms"` or `"-1s"`.
    Clock(String, String),
}

/// One injected fault: when, and its TOML entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injected {
    /// When it fires; with a trigger, when the trigger starts counting.
    pub at: Nanos,
    pub kind: InjectKind,
    /// A trigger, as the scenario file writes it.
    pub when: Option<InjectWhen>,
}

/// A trigger typed in the TUI: the inline table after `when =`, and a delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectWhen {
    pub table: String,
    pub delay: Nanos,
}

/// Reads what the user typed at the `when` prompt: the trigger in the
/// scenario file's syntax, braces optional, and an optional delay after it:
/// `{ event = "role", role = "leader" } 500ms` or `event = "note", note =
/// "prepared"`. Only the form is checked here; the names are checked when the
/// scenario is parsed again with the fault in it.
pub fn parse_when(text: &str) -> Result<InjectWhen, String> {
    let t = text.trim();
    let (table, rest) = match t.strip_prefix('{') {
        Some(inner) => match inner.rfind('}') {
            Some(end) => (inner[..end].trim(), inner[end + 1..].trim()),
            None => return Err("the trigger's `{` has no closing `}`".into()),
        },
        None => (t, ""),
    };
    if table.is_empty() {
        return Err("type a trigger, e.g. event = \"role\", role = \"leader\"".into());
    }
    let table = format!("{{ {table} }}");
    sim::scenario::check_when_syntax(&table)?;
    let delay = if rest.is_empty() {
        0
    } else {
        parse_duration(rest).map_err(|e| format!("delay: {e}"))?
    };
    Ok(InjectWhen { table, delay })
}

impl Injected {
    /// A one-line description for the status bar.
    pub fn label(&self) -> String {
        let what = match &self.kind {
            InjectKind::Partition(side) => format!("partition {{{}}} | rest", side.join(",")),
            InjectKind::Heal => "heal".into(),
            InjectKind::Node(action, n) => format!("{} {n}", action.name()),
            InjectKind::Clock(n, o) => format!("clock {n} {o}"),
        };
        match &self.when {
            None => format!("{what} at {}", fmt_duration(self.at)),
            Some(w) => {
                let delay = if w.delay > 0 {
                    format!(" + {}", fmt_duration(w.delay))
                } else {
                    String::new()
                };
                format!(
                    "{what} when {}{delay} (from {})",
                    w.table,
                    fmt_duration(self.at)
                )
            }
        }
    }

    /// The `[[faults]]` entry. `all` is every node's name, for the other side
    /// of a partition (named explicitly, so clients stay where they are shown).
    pub fn toml(&self, all: &[String]) -> String {
        // Whole nanoseconds: the time is exact, not rounded for display.
        let mut s = match &self.when {
            None => format!("[[faults]]\nat = \"{}ns\"\n", self.at),
            Some(w) => {
                let mut s = format!(
                    "[[faults]]\nwhen = {}\nafter = \"{}ns\"\n",
                    w.table, self.at
                );
                if w.delay > 0 {
                    s.push_str(&format!("delay = \"{}ns\"\n", w.delay));
                }
                s
            }
        };
        let target = |s: &mut String, n: &str| s.push_str(&format!("target = {n:?}\n"));
        match &self.kind {
            InjectKind::Partition(side) => {
                let rest: Vec<&String> = all.iter().filter(|n| !side.contains(n)).collect();
                s.push_str("action = \"partition\"\n");
                s.push_str(&format!("groups = [{:?}, {:?}]\n", side, rest));
            }
            InjectKind::Heal => s.push_str("action = \"heal\"\n"),
            InjectKind::Node(action, n) => {
                s.push_str(&format!("action = \"{}\"\n", action.name()));
                target(&mut s, n);
            }
            InjectKind::Clock(n, offset) => {
                s.push_str("action = \"clock\"\n");
                target(&mut s, n);
                s.push_str(&format!("offset = {offset:?}\n"));
            }
        }
        s
    }
}

/// Checks a clock offset typed by the user (`200ms`, `-1s`).
pub fn check_offset(text: &str) -> Result<String, String> {
    let t = text.trim();
    let magnitude = t
        .strip_prefix('-')
        .or_else(|| t.strip_prefix('+'))
        .unwrap_or(t);
    parse_duration(magnitude)?;
    Ok(t.to_string())
}

/// The scenario text for `source` run with `seed` and the faults injected so
/// far: the seed written into `[meta]`, the entries appended.
pub fn scenario_text(source: &str, seed: u64, injected: &[Injected], all: &[String]) -> String {
    let mut out = with_seed(source, seed);
    if !injected.is_empty() {
        while out.ends_with("\n\n") {
            out.pop();
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("\n# Faults injected by hand in `chaoslab tui`.\n");
        for f in injected {
            out.push('\n');
            out.push_str(&f.toml(all));
        }
    }
    out
}

/// `source` with `seed = N` in its `[meta]` table (replaced, or added).
fn with_seed(source: &str, seed: u64) -> String {
    let mut out = String::with_capacity(source.len() + 16);
    let mut section = String::new();
    let mut done = false;
    let mut meta_line = None;
    for line in source.lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            section = t.trim_end().to_string();
        }
        let is_seed = section == "[meta]"
            && t.strip_prefix("seed")
                .is_some_and(|r| r.trim_start().starts_with('='));
        if is_seed && !done {
            out.push_str(&format!("seed = {seed}\n"));
            done = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if t.trim_end() == "[meta]" {
            meta_line = Some(out.len());
        }
    }
    if !done {
        let line = format!("seed = {seed}\n");
        match meta_line {
            Some(at) => out.insert_str(at, &line),
            None => out.insert_str(0, &format!("[meta]\n{line}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_replaced_in_meta_and_nowhere_else() {
        let src = "[meta]\nname = \"x\"\nseed = 3\n[system]\nseed = 9\n";
        assert_eq!(
            with_seed(src, 42),
            "[meta]\nname = \"x\"\nseed = 42\n[system]\nseed = 9\n"
        );
    }

    #[test]
    fn a_missing_seed_is_added_under_meta() {
        assert_eq!(
            with_seed("[meta]\nname = \"x\"\n", 7),
            "[meta]\nseed = 7\nname = \"x\"\n"
        );
    }

    #[test]
    fn a_partition_names_both_sides() {
        let all: Vec<String> = ["n1", "n2", "c1"].iter().map(|s| s.to_string()).collect();
        let f = Injected {
            at: 5_200_000_000,
            kind: InjectKind::Partition(vec!["n1".into()]),
            when: None,
        };
        assert_eq!(
            f.toml(&all),
            "[[faults]]\nat = \"5200000000ns\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"n2\", \"c1\"]]\n"
        );
    }

    #[test]
    fn a_triggered_fault_is_written_with_when_after_and_delay() {
        let w = parse_when(r#"event = "role", role = "leader" 500ms"#);
        assert!(w.is_err(), "a delay needs the braces to tell it apart");
        let w = parse_when(r#"{ event = "role", role = "leader" } 500ms"#).unwrap();
        let f = Injected {
            at: 1_000_000_000,
            kind: InjectKind::Node(FaultAction::Crash, "trigger-node".into()),
            when: Some(w),
        };
        assert_eq!(
            f.toml(&[]),
            "[[faults]]\nwhen = { event = \"role\", role = \"leader\" }\nafter = \"1000000000ns\"\ndelay = \"500000000ns\"\naction = \"crash\"\ntarget = \"trigger-node\"\n"
        );
        let bare = parse_when(r#"event = "note", note = "prepared""#).unwrap();
        assert_eq!(bare.table, r#"{ event = "note", note = "prepared" }"#);
        assert_eq!(bare.delay, 0);
        assert!(parse_when("{ event = }").is_err());
    }
}
