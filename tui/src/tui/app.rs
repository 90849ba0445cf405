//! The UI's state and the one place it changes: [`App::update`] takes an
//! [`Action`] (every key becomes one) and nothing else mutates the app.

use std::collections::BTreeSet;

use crossterm::event::KeyEvent;
use sim::scenario::{FaultAction, Scenario};
use sim::time::{fmt_duration, parse_duration};
use sim::trace::TraceEvent;

use super::inject::{check_offset, parse_when, scenario_text, InjectKind, InjectWhen, Injected};
use super::keys::{self, PromptKind, Target};
use super::line::{Edit, Line};
use super::model::{next_in, Run};
use crate::Registry;

/// Everything the user can ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    TogglePlay,
    /// Move the cursor by this many events.
    Step(i64),
    /// Move by this many pages of the sequence diagram.
    Page(i64),
    Start,
    End,
    Faster,
    Slower,
    Jump(Target, bool),
    Select(i64),
    Mark,
    Details,
    ToggleVerdicts,
    /// Show or hide the charts of figures over time.
    Charts,
    Inject,
    Fault(FaultAction),
    Prompt(PromptKind),
    /// Typing in a prompt.
    Edit(Edit),
    Submit,
    Cancel,
    /// Scroll the help overlay by this many lines.
    Scroll(i64),
    /// A tick of the clock while playing.
    Tick,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    Inject,
    Prompt { kind: PromptKind, input: Line },
}

/// Play speeds, in trace records per tick (a tick is about 30 ms).
pub const SPEEDS: &[usize] = &[1, 4, 16, 64, 256, 1024, 4096, 16384];

/// The event log's filter: words that are node names or event kinds.
#[derive(Clone, Debug)]
pub struct Filter {
    pub text: String,
    /// The trace indexes that match, in order.
    pub matches: Vec<u32>,
}

pub struct App {
    /// The protocols the scenario may name (to re-run it after an injection).
    pub registry: Registry,
    pub run: Run,
    /// The original scenario text, before any injection.
    base_source: String,
    pub injected: Vec<Injected>,
    /// A trigger typed at the `w` prompt, waiting for the next injected fault.
    pub armed: Option<InjectWhen>,
    pub cursor: usize,
    pub playing: bool,
    pub speed: usize,
    pub selected: usize,
    pub marked: BTreeSet<usize>,
    pub mode: Mode,
    pub filter: Option<Filter>,
    pub details: bool,
    /// The chart panel is open.
    pub charts: bool,
    /// On small screens: the verdicts instead of the event log.
    pub show_verdicts: bool,
    /// A line for the status bar: what just happened, or what went wrong.
    pub note: String,
    pub quit: bool,
    /// Rows of the sequence diagram last drawn, for paging.
    pub page_rows: std::cell::Cell<usize>,
    /// The help overlay's first line, when it does not fit.
    pub help_scroll: usize,
    /// How far the help can scroll, as last drawn (its lines that did not
    /// fit): scrolling stops there.
    pub help_max: std::cell::Cell<usize>,
    /// A save to a file that exists, waiting for the user to say whether to
    /// overwrite it ([`PromptKind::Overwrite`]).
    pub overwrite: Option<String>,
}

impl App {
    /// The app on a scenario of chaoslab's own protocols.
    pub fn new(scenario: Scenario, seed: u64) -> Result<App, String> {
        App::new_in(&Registry::builtin(), scenario, seed)
    }

    /// The app on a scenario parsed by `registry`.
    pub fn new_in(registry: &Registry, scenario: Scenario, seed: u64) -> Result<App, String> {
        let base_source = scenario.source.clone();
        let run = Run::record(registry, scenario, seed).map_err(|e| e.to_string())?;
        Ok(App::on(registry, run, base_source))
    }

    /// The app on trace file `path` (`chaoslab tui --trace FILE`): shows
    /// the run it records, and cannot re-run it (see [`super::recorded`]).
    pub fn from_trace(registry: &Registry, path: &str) -> Result<App, String> {
        let run = super::recorded::load(path)?;
        let mut app = App::on(registry, run, String::new());
        app.note = "recorded trace: ? for help, space to play; node fields, the report and injecting faults need a run of the scenario".into();
        Ok(app)
    }

    fn on(registry: &Registry, run: Run, base_source: String) -> App {
        App {
            registry: registry.clone(),
            run,
            base_source,
            injected: Vec::new(),
            armed: None,
            cursor: 0,
            playing: false,
            speed: 0,
            selected: 0,
            marked: BTreeSet::new(),
            mode: Mode::Normal,
            filter: None,
            details: false,
            charts: false,
            show_verdicts: false,
            note: "? for help, space to play, i to inject a fault".into(),
            quit: false,
            page_rows: std::cell::Cell::new(20),
            help_scroll: 0,
            help_max: std::cell::Cell::new(usize::MAX),
            overwrite: None,
        }
    }

    /// On a recorded trace, what would re-run the scenario (injecting a
    /// fault, arming a trigger, saving a schedule) says why it cannot:
    /// `true` when `what` was refused.
    fn refused_on_trace(&mut self, what: &str) -> bool {
        match &self.run.recorded {
            Some(r) => {
                self.note = r.cannot(what);
                self.mode = Mode::Normal;
                true
            }
            None => false,
        }
    }

    /// Turns a key into an action according to the mode.
    pub fn action_for(&self, key: KeyEvent) -> Option<Action> {
        use crossterm::event::{KeyCode, KeyModifiers};
        match &self.mode {
            Mode::Normal => keys::lookup(keys::NORMAL, key),
            Mode::Help => match keys::lookup(keys::HELP, key) {
                Some(a) => Some(a),
                None => Some(Action::Cancel),
            },
            Mode::Inject => keys::lookup(keys::INJECT, key),
            Mode::Prompt { .. } => keys::lookup(keys::PROMPT, key).or(match key.code {
                // Typed: a character with neither Control nor Alt, or with
                // both (AltGr, as Windows reports it: `{` `@` `|` on many
                // layouts).
                KeyCode::Char(c)
                    if key.modifiers.contains(KeyModifiers::CONTROL)
                        == key.modifiers.contains(KeyModifiers::ALT) =>
                {
                    Some(Action::Edit(Edit::Insert(c)))
                }
                _ => None,
            }),
        }
    }

    pub fn key(&mut self, key: KeyEvent) {
        if let Some(a) = self.action_for(key) {
            self.update(a);
        }
    }

    fn last(&self) -> usize {
        self.run.len().saturating_sub(1)
    }

    fn move_to(&mut self, i: usize) {
        self.cursor = i.min(self.last());
    }

    fn move_by(&mut self, d: i64) {
        let c = self.cursor as i64 + d;
        self.move_to(c.max(0) as usize);
    }

    pub fn update(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => {
                self.help_scroll = 0;
                self.mode = Mode::Help;
            }
            Action::Scroll(d) => {
                let max = self.help_max.get().min(i64::MAX as usize) as i64;
                self.help_scroll = (self.help_scroll as i64 + d).clamp(0, max) as usize;
            }
            Action::TogglePlay => {
                self.playing = !self.playing;
                if self.playing && self.cursor >= self.last() {
                    self.cursor = 0;
                }
            }
            Action::Step(d) => {
                self.playing = false;
                self.move_by(d);
            }
            Action::Page(d) => self.move_by(d * self.page_rows.get().max(1) as i64),
            Action::Start => self.move_to(0),
            Action::End => self.move_to(self.last()),
            Action::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Action::Slower => self.speed = self.speed.saturating_sub(1),
            Action::Jump(target, forward) => self.jump(target, forward),
            Action::Select(d) => {
                let n = self.run.cluster.len() as i64;
                if n > 0 {
                    self.selected = (self.selected as i64 + d).rem_euclid(n) as usize;
                }
            }
            Action::Mark => {
                if !self.marked.remove(&self.selected) {
                    self.marked.insert(self.selected);
                }
            }
            Action::Details => self.details = !self.details,
            Action::Charts => self.charts = !self.charts,
            Action::ToggleVerdicts => self.show_verdicts = !self.show_verdicts,
            Action::Inject => {
                self.playing = false;
                if !self.refused_on_trace("injecting a fault") {
                    self.mode = Mode::Inject;
                }
            }
            Action::Fault(action) => {
                self.mode = Mode::Normal;
                if self.refused_on_trace("injecting a fault") {
                    return;
                }
                let name = self.run.node_name(self.selected).to_string();
                let kind = match action {
                    FaultAction::Partition => {
                        let side: Vec<usize> = if self.marked.is_empty() {
                            vec![self.selected]
                        } else {
                            self.marked.iter().copied().collect()
                        };
                        InjectKind::Partition(
                            side.iter()
                                .map(|&i| self.run.node_name(i).to_string())
                                .collect(),
                        )
                    }
                    FaultAction::Heal => InjectKind::Heal,
                    // The menu's one-node faults.
                    FaultAction::Crash
                    | FaultAction::Restart
                    | FaultAction::Pause
                    | FaultAction::Resume => InjectKind::Node(action, name),
                    // The menu binds no other action: they need a peer, a
                    // value or a duration it does not ask for.
                    FaultAction::Clog
                    | FaultAction::Unclog
                    | FaultAction::Latency
                    | FaultAction::Loss
                    | FaultAction::Clock
                    | FaultAction::FsyncLoss
                    | FaultAction::FsyncOk => {
                        unreachable!("the inject menu binds no {action:?}")
                    }
                };
                self.inject(kind);
            }
            Action::Prompt(kind) => {
                self.playing = false;
                let refused = match kind {
                    PromptKind::Save => self.refused_on_trace("saving the schedule as a scenario"),
                    PromptKind::Clock => self.refused_on_trace("injecting a clock fault"),
                    PromptKind::When => self.refused_on_trace("arming a fault's trigger"),
                    _ => false,
                };
                if refused {
                    return;
                }
                let input = match kind {
                    PromptKind::Save => self.default_save_path(),
                    PromptKind::Filter => self
                        .filter
                        .as_ref()
                        .map(|f| f.text.clone())
                        .unwrap_or_default(),
                    PromptKind::Time
                    | PromptKind::Clock
                    | PromptKind::When
                    | PromptKind::Overwrite => String::new(),
                };
                self.mode = Mode::Prompt {
                    kind,
                    input: Line::new(&input),
                };
            }
            Action::Edit(edit) => {
                if let Mode::Prompt { input, .. } = &mut self.mode {
                    input.apply(edit);
                }
            }
            Action::Submit => {
                if let Mode::Prompt { kind, input } =
                    std::mem::replace(&mut self.mode, Mode::Normal)
                {
                    self.submit(kind, input.text().trim());
                }
            }
            Action::Cancel => match self.mode {
                Mode::Prompt {
                    kind: PromptKind::Overwrite,
                    ..
                } => {
                    self.mode = Mode::Normal;
                    if let Some(path) = self.overwrite.take() {
                        self.note = format!("{path} kept as it was: nothing saved");
                    }
                }
                Mode::Normal => {
                    self.details = false;
                    self.charts = false;
                    self.marked.clear();
                }
                _ => self.mode = Mode::Normal,
            },
            Action::Tick => {
                if self.playing {
                    self.move_by(SPEEDS[self.speed] as i64);
                    if self.cursor >= self.last() {
                        self.playing = false;
                    }
                }
            }
        }
    }

    fn jump(&mut self, target: Target, forward: bool) {
        let run = &self.run;
        let found = match target {
            Target::Fault => next_in(&run.faults, self.cursor, forward),
            Target::Violation => next_in(&run.violations, self.cursor, forward),
            Target::Message => next_in(&run.messages_of[self.selected], self.cursor, forward),
        };
        let what = match target {
            Target::Fault => "fault".to_string(),
            Target::Violation => "violation".to_string(),
            Target::Message => format!("message of {}", run.node_name(self.selected)),
        };
        match found {
            Some(i) => {
                self.playing = false;
                self.cursor = i;
                self.note = format!("{what} at {}", fmt_duration(run.time_at(i)));
            }
            None => {
                self.note = format!("no {} {what}", if forward { "next" } else { "previous" });
            }
        }
    }

    fn submit(&mut self, kind: PromptKind, input: &str) {
        match kind {
            PromptKind::Time => match parse_time(input, self.run.time_at(self.cursor)) {
                Ok(t) => {
                    self.move_to(self.run.index_at_time(t));
                    self.note =
                        format!("jumped to {}", fmt_duration(self.run.time_at(self.cursor)));
                }
                Err(e) => self.note = e,
            },
            PromptKind::Filter => self.set_filter(input),
            PromptKind::Clock => match check_offset(input) {
                Ok(offset) => {
                    let name = self.run.node_name(self.selected).to_string();
                    self.inject(InjectKind::Clock(name, offset));
                }
                Err(e) => self.note = e,
            },
            PromptKind::When => match parse_when(input) {
                Ok(w) => {
                    self.note = format!(
                        "the next fault (i, then its key) fires when {}, counting from {}",
                        w.table,
                        fmt_duration(self.run.time_at(self.cursor))
                    );
                    self.armed = Some(w);
                }
                Err(e) => self.note = e,
            },
            PromptKind::Save => {
                if !input.is_empty() && std::path::Path::new(input).exists() {
                    self.overwrite = Some(input.to_string());
                    self.mode = Mode::Prompt {
                        kind: PromptKind::Overwrite,
                        input: Line::default(),
                    };
                } else {
                    self.save_and_say(input);
                }
            }
            PromptKind::Overwrite => {
                let Some(path) = self.overwrite.take() else {
                    return;
                };
                if matches!(input.to_lowercase().as_str(), "y" | "yes") {
                    self.save_and_say(&path);
                } else {
                    self.note = format!(
                        "{path} kept as it was: nothing saved (w to save under another name)"
                    );
                }
            }
        }
    }

    /// Sets the event log's filter: each word must match the record (a node
    /// name it involves, or its kind). Empty clears it.
    pub fn set_filter(&mut self, text: &str) {
        if text.is_empty() {
            self.filter = None;
            self.note = "filter cleared".into();
            return;
        }
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        let trace = &self.run.trace;
        let matches = (0..trace.len())
            .filter(|&i| {
                // `record_matches` reads no send detail, invocation
                // description or completion output: leave them out.
                let r = trace.get_without_texts(i).expect("in range");
                words.iter().all(|w| record_matches(&r.event, w))
            })
            .map(|i| i as u32)
            .collect::<Vec<u32>>();
        self.note = format!("filter `{text}`: {} records", matches.len());
        self.filter = Some(Filter {
            text: text.to_string(),
            matches,
        });
    }

    fn all_names(&self) -> Vec<String> {
        (0..self.run.cluster.len())
            .map(|i| self.run.node_name(i).to_string())
            .collect()
    }

    /// The scenario text of what is shown: the original plus the injected faults.
    pub fn scenario_text(&self) -> String {
        scenario_text(
            &self.base_source,
            self.run.seed,
            &self.injected,
            &self.all_names(),
        )
    }

    /// Adds a fault at the cursor's virtual time and re-runs from the start with
    /// the same seed: the run up to that moment is the same, and what follows
    /// is what that fault does.
    pub fn inject(&mut self, kind: InjectKind) {
        if self.refused_on_trace("injecting a fault") {
            return;
        }
        let Some(file) = self.run.scenario.as_ref().map(|s| s.file.clone()) else {
            return;
        };
        let at = self.run.time_at(self.cursor);
        let fault = Injected {
            at,
            kind,
            when: self.armed.take(),
        };
        let label = fault.label();
        self.injected.push(fault);
        let text = self.scenario_text();
        let result = self
            .registry
            .parse(&file, &text)
            .map_err(|e| e.to_string())
            .and_then(|s| Run::record(&self.registry, s, self.run.seed).map_err(|e| e.to_string()));
        match result {
            Ok(run) => {
                // The cursor lands on the injected fault: the first fault
                // record at its time that was not there before.
                let before = self
                    .run
                    .faults
                    .iter()
                    .filter(|&&i| self.run.trace.t(i as usize) == Some(at))
                    .count();
                self.run = run;
                let at_time: Vec<u32> = self
                    .run
                    .faults
                    .iter()
                    .copied()
                    .filter(|&i| self.run.trace.t(i as usize) == Some(at))
                    .collect();
                let i = at_time
                    .get(before)
                    .or(at_time.last())
                    .map(|&i| i as usize)
                    .unwrap_or_else(|| self.run.index_at_time(at));
                self.move_to(i);
                if let Some(f) = &self.filter {
                    let text = f.text.clone();
                    self.set_filter(&text);
                }
                self.marked.clear();
                self.note = format!("injected {label}; re-ran with seed {}", self.run.seed);
            }
            Err(e) => {
                self.injected.pop();
                self.note = format!("cannot inject {label}: {e}");
            }
        }
    }

    /// The file name `w` offers: the scenario's name and seed, and a number
    /// after it when that file exists (`-2`, `-3`, ...): saving twice never
    /// offers the first file again.
    fn default_save_path(&self) -> String {
        let name = self
            .run
            .scenario
            .as_ref()
            .map_or("trace", |s| s.meta.name.as_str())
            .replace('/', "-");
        let base = format!("{name}-seed{}-found", self.run.seed);
        (1..)
            .map(|n| match n {
                1 => format!("{base}.toml"),
                n => format!("{base}-{n}.toml"),
            })
            .find(|p| !std::path::Path::new(p).exists())
            .expect("some number is free")
    }

    fn save_and_say(&mut self, path: &str) {
        match self.save(path) {
            Ok(()) => {
                self.note = format!(
                    "saved to {path}: replay with `{} run {}`",
                    self.registry.program_name(),
                    sim::report::shell_word(path)
                )
            }
            Err(e) => self.note = e,
        }
    }

    /// Writes the scenario text (schedule and seed) to `path`.
    pub fn save(&self, path: &str) -> Result<(), String> {
        if let Some(r) = &self.run.recorded {
            return Err(r.cannot("saving the schedule as a scenario"));
        }
        if path.is_empty() {
            return Err("no file name given: nothing saved".into());
        }
        let text = self.scenario_text();
        self.registry
            .parse(path, &text)
            .map_err(|e| format!("not saved, the scenario does not parse: {e}"))?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))
    }
}

/// Whether one filter word matches a record: a node it involves or its kind.
/// Whether record `e` matches the filter word `word`. It must read no send
/// detail, invocation description or completion output: the filter hands
/// it records without them ([`super::compact::Trace::get_without_texts`]).
fn record_matches(e: &TraceEvent, word: &str) -> bool {
    let (kind, names): (&str, [Option<&str>; 2]) = match e {
        TraceEvent::Send { from, to, .. } => ("send", [Some(from), Some(to)]),
        TraceEvent::Deliver { from, to, .. } => ("deliver", [Some(from), Some(to)]),
        TraceEvent::Drop { from, to, .. } => ("drop", [Some(from), Some(to)]),
        TraceEvent::Hold { from, to, .. } => ("hold", [Some(from), Some(to)]),
        TraceEvent::Timer { node, .. } => ("timer", [Some(node), None]),
        TraceEvent::Fault { .. } => ("fault", [None, None]),
        TraceEvent::Invoke { node, .. } => ("invoke", [Some(node), None]),
        TraceEvent::Complete { node, .. } => ("complete", [Some(node), None]),
        TraceEvent::Role { node, .. } => ("role", [Some(node), None]),
        TraceEvent::Violation { .. } => ("violation", [None, None]),
        TraceEvent::Note { node, .. } => ("note", [Some(node), None]),
        TraceEvent::Trigger { .. } => ("trigger", [None, None]),
    };
    kind == word
        || names.iter().flatten().any(|n| n.eq_ignore_ascii_case(word))
        || match e {
            TraceEvent::Send { msg, .. }
            | TraceEvent::Deliver { msg, .. }
            | TraceEvent::Drop { msg, .. }
            | TraceEvent::Hold { msg, .. } => msg.eq_ignore_ascii_case(word),
            TraceEvent::Fault { description, .. } => description.contains(word),
            TraceEvent::Note { note, .. } => *note == word,
            TraceEvent::Trigger { when, event, .. } => when.contains(word) || event.contains(word),
            _ => false,
        }
}

/// A time typed at the `g` prompt: absolute (`5.2s`), or relative to the
/// cursor's time `now` with a sign (`+500ms`, `-1s`; before the start is the
/// start).
fn parse_time(input: &str, now: sim::time::Nanos) -> Result<sim::time::Nanos, String> {
    let t = input.trim();
    let relative = |rest: &str| {
        parse_duration(rest).map_err(|e| format!("{e}; or a step from the cursor: +500ms, -1s"))
    };
    if let Some(rest) = t.strip_prefix('+') {
        Ok(now.saturating_add(relative(rest)?))
    } else if let Some(rest) = t.strip_prefix('-') {
        Ok(now.saturating_sub(relative(rest)?))
    } else {
        parse_duration(t).map_err(|e| format!("{e}; or a step from the cursor: +500ms, -1s"))
    }
}
