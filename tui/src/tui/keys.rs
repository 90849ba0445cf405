//! Every key binding, in one table per mode. The same tables drive dispatch
//! and the help overlay, so the help can never disagree with the keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use sim::scenario::FaultAction;

use super::app::Action;

/// One binding: the keys, how the help shows them, and what they do.
pub struct Binding {
    pub keys: &'static [KeyCode],
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const fn b(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        help,
    }
}

use KeyCode::*;

// The tables are laid out one binding a line, as a table reads; rustfmt
// would break every row over five lines.

/// Keys in the normal view.
#[rustfmt::skip]
pub const NORMAL: &[Binding] = &[
    b(&[Char('q')], "q, Ctrl-C", Action::Quit, "quit (the terminal is restored)"),
    b(&[Char('?'), F(1)], "?", Action::Help, "this help"),
    b(&[Char(' ')], "space", Action::TogglePlay, "play / pause"),
    b(&[Right, Char('l')], "→ l", Action::Step(1), "step one event forward"),
    b(&[Left, Char('h')], "← h", Action::Step(-1), "step one event back (exact)"),
    b(&[Down, Char('j')], "↓ j", Action::Step(10), "10 events forward"),
    b(&[Up, Char('k')], "↑ k", Action::Step(-10), "10 events back"),
    b(&[PageDown], "PgDn", Action::Page(1), "a page of events forward"),
    b(&[PageUp], "PgUp", Action::Page(-1), "a page of events back"),
    b(&[Home], "Home", Action::Start, "the start of the run"),
    b(&[End], "End", Action::End, "the end of the run"),
    b(&[Char('+'), Char('=')], "+", Action::Faster, "play faster"),
    b(&[Char('-')], "-", Action::Slower, "play slower"),
    b(&[Char('f')], "f", Action::Jump(Target::Fault, true), "next fault"),
    b(&[Char('F')], "F", Action::Jump(Target::Fault, false), "previous fault"),
    b(&[Char('x')], "x", Action::Jump(Target::Violation, true), "next violation"),
    b(&[Char('X')], "X", Action::Jump(Target::Violation, false), "previous violation"),
    b(&[Char('n')], "n", Action::Jump(Target::Message, true), "next message of the selected node"),
    b(&[Char('N')], "N", Action::Jump(Target::Message, false), "previous message of the selected node"),
    b(&[Char('g')], "g", Action::Prompt(PromptKind::Time), "jump to a virtual time (e.g. 5.2s)"),
    b(&[Tab], "Tab", Action::Select(1), "select the next node"),
    b(&[BackTab], "Shift-Tab", Action::Select(-1), "select the previous node"),
    b(&[Char('m')], "m", Action::Mark, "mark / unmark the selected node (a partition side)"),
    b(&[Enter], "Enter", Action::Details, "details: the message at the cursor, the selected node"),
    b(&[Char('/')], "/", Action::Prompt(PromptKind::Filter), "filter the event log: node names, kinds (empty clears)"),
    b(&[Char('v')], "v", Action::ToggleVerdicts, "small screens: event log / verdicts"),
    b(&[Char('i')], "i", Action::Inject, "inject a fault at the cursor (menu)"),
    b(&[Char('w')], "w", Action::Prompt(PromptKind::Save), "save the schedule and seed as a scenario file"),
    b(&[Esc], "Esc", Action::Cancel, "close details, clear marks"),
];

/// Keys in the inject menu: the fault lands at the cursor's virtual time.
#[rustfmt::skip]
pub const INJECT: &[Binding] = &[
    b(&[Char('p')], "p", Action::Fault(FaultAction::Partition), "partition: marked nodes (or the selected one) | the rest"),
    b(&[Char('h')], "h", Action::Fault(FaultAction::Heal), "heal every partition"),
    b(&[Char('c')], "c", Action::Fault(FaultAction::Crash), "crash the selected node"),
    b(&[Char('r')], "r", Action::Fault(FaultAction::Restart), "restart the selected node"),
    b(&[Char('z')], "z", Action::Fault(FaultAction::Pause), "pause the selected node"),
    b(&[Char('u')], "u", Action::Fault(FaultAction::Resume), "resume the selected node"),
    b(&[Char('k')], "k", Action::Prompt(PromptKind::Clock), "skew the selected node's clock (asks the offset)"),
    b(&[Char('w')], "w", Action::Prompt(PromptKind::When), "the next fault waits for an event (asks the trigger, as in a scenario file)"),
    b(&[Esc], "Esc", Action::Cancel, "cancel"),
];

/// Keys in the help overlay; any other key closes it.
#[rustfmt::skip]
pub const HELP: &[Binding] = &[
    b(&[Char('q')], "q, Ctrl-C", Action::Quit, "quit"),
    b(&[Down, Char('j')], "↓ j", Action::Scroll(1), "scroll the help down"),
    b(&[Up, Char('k')], "↑ k", Action::Scroll(-1), "scroll the help up"),
];

/// Keys while typing an answer to a prompt.
#[rustfmt::skip]
pub const PROMPT: &[Binding] = &[
    b(&[Enter], "Enter", Action::Submit, "accept"),
    b(&[Esc], "Esc", Action::Cancel, "cancel"),
    b(&[Backspace], "Backspace", Action::Backspace, "delete a character"),
];

/// What a jump looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Fault,
    Violation,
    Message,
}

/// What a prompt asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Time,
    Filter,
    Save,
    Clock,
    When,
}

/// The action for `key` in `table`; Ctrl-C always quits.
pub fn lookup(table: &[Binding], key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == Char('c') {
        return Some(Action::Quit);
    }
    table
        .iter()
        .find(|b| b.keys.contains(&key.code))
        .map(|b| b.action.clone())
}
