//! Every key binding, in one table per mode. The same tables drive dispatch
//! and the help overlay, so the help can never disagree with the keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use sim::scenario::FaultAction;

use super::app::Action;
use super::line::Edit;

/// One binding: the keys, how the help shows them, and what they do.
pub struct Binding {
    pub keys: &'static [KeyCode],
    /// Control or Alt, held with any of `keys`; empty: neither may be held
    /// (Shift may: it makes `F` and Shift-Tab).
    pub mods: KeyModifiers,
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
        mods: KeyModifiers::NONE,
        label,
        action,
        help,
    }
}

/// A binding held with Control.
const fn ctrl(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        mods: KeyModifiers::CONTROL,
        ..b(keys, label, action, help)
    }
}

/// A binding held with Alt (Meta).
const fn alt(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        mods: KeyModifiers::ALT,
        ..b(keys, label, action, help)
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
    b(&[Right, Char('l')], "→ l", Action::Step(1), "step one record forward"),
    b(&[Left, Char('h')], "← h", Action::Step(-1), "step one record back (exact)"),
    b(&[Down, Char('j')], "↓ j", Action::Step(10), "10 records forward"),
    b(&[Up, Char('k')], "↑ k", Action::Step(-10), "10 records back"),
    b(&[PageDown], "PgDn", Action::Page(1), "a page of records forward"),
    b(&[PageUp], "PgUp", Action::Page(-1), "a page of records back"),
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
    b(&[Char('g')], "g", Action::Prompt(PromptKind::Time), "jump to a virtual time (5.2s; +500ms, -1s from the cursor)"),
    b(&[Tab], "Tab", Action::Select(1), "select the next node"),
    b(&[BackTab], "Shift-Tab", Action::Select(-1), "select the previous node"),
    b(&[Char('m')], "m", Action::Mark, "mark / unmark the selected node (a partition side)"),
    b(&[Enter], "Enter", Action::Details, "details: the message at the cursor, the selected node"),
    b(&[Char('/')], "/", Action::Prompt(PromptKind::Filter), "filter the event log: node names, kinds (empty clears)"),
    b(&[Char('v')], "v", Action::ToggleVerdicts, "small screens: event log / verdicts"),
    b(&[Char('c')], "c", Action::Charts, "charts: goodput, failures, latency, messages over time"),
    b(&[Char('i')], "i", Action::Inject, "inject a fault at the cursor (menu)"),
    b(&[Char('w')], "w", Action::Prompt(PromptKind::Save), "save the schedule and seed as a scenario file"),
    b(&[Esc], "Esc", Action::Cancel, "close details and charts, clear marks"),
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
    b(&[Char('w')], "w", Action::Prompt(PromptKind::When), "the next fault waits for an event (asks a trigger)"),
    b(&[Esc], "Esc", Action::Cancel, "cancel"),
];

/// Lines a page of the help scrolls (a 24-row screen shows 22).
const HELP_PAGE: i64 = 20;

/// Keys in the help overlay; any other key closes it.
#[rustfmt::skip]
pub const HELP: &[Binding] = &[
    b(&[Char('q')], "q, Ctrl-C", Action::Quit, "quit"),
    b(&[Down, Char('j')], "↓ j", Action::Scroll(1), "scroll the help down"),
    b(&[Up, Char('k')], "↑ k", Action::Scroll(-1), "scroll the help up"),
    b(&[PageDown], "PgDn", Action::Scroll(HELP_PAGE), "scroll a page down"),
    b(&[PageUp], "PgUp", Action::Scroll(-HELP_PAGE), "scroll a page up"),
];

/// Keys while typing an answer to a prompt: a shell's line-editing keys.
/// Any other character is typed.
#[rustfmt::skip]
pub const PROMPT: &[Binding] = &[
    b(&[Enter], "Enter", Action::Submit, "accept"),
    b(&[Esc], "Esc", Action::Cancel, "cancel"),
    b(&[Left], "← Ctrl-B", Action::Edit(Edit::Left), "a character left"),
    ctrl(&[Char('b')], "", Action::Edit(Edit::Left), ""),
    b(&[Right], "→ Ctrl-F", Action::Edit(Edit::Right), "a character right"),
    ctrl(&[Char('f')], "", Action::Edit(Edit::Right), ""),
    alt(&[Char('b')], "Alt-B", Action::Edit(Edit::WordLeft), "a word left (also Ctrl-←)"),
    ctrl(&[Left], "", Action::Edit(Edit::WordLeft), ""),
    alt(&[Char('f')], "Alt-F", Action::Edit(Edit::WordRight), "a word right (also Ctrl-→)"),
    ctrl(&[Right], "", Action::Edit(Edit::WordRight), ""),
    b(&[Home], "Home Ctrl-A", Action::Edit(Edit::Home), "the start of the line"),
    ctrl(&[Char('a')], "", Action::Edit(Edit::Home), ""),
    b(&[End], "End Ctrl-E", Action::Edit(Edit::End), "the end of the line"),
    ctrl(&[Char('e')], "", Action::Edit(Edit::End), ""),
    b(&[Backspace], "Backspace", Action::Edit(Edit::DeleteBack), "delete the character before the cursor (also Ctrl-H)"),
    ctrl(&[Char('h')], "", Action::Edit(Edit::DeleteBack), ""),
    b(&[Delete], "Del Ctrl-D", Action::Edit(Edit::DeleteForward), "delete the character under the cursor"),
    ctrl(&[Char('d')], "", Action::Edit(Edit::DeleteForward), ""),
    ctrl(&[Char('u')], "Ctrl-U", Action::Edit(Edit::KillToStart), "delete everything before the cursor"),
    ctrl(&[Char('k')], "Ctrl-K", Action::Edit(Edit::KillToEnd), "delete from the cursor to the end"),
    ctrl(&[Char('w')], "Ctrl-W", Action::Edit(Edit::KillWordBack), "delete the word before the cursor (also Alt-Backspace)"),
    alt(&[Backspace], "", Action::Edit(Edit::KillWordBack), ""),
    alt(&[Char('d')], "Alt-D", Action::Edit(Edit::KillWordForward), "delete the word after the cursor"),
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
    /// Whether to overwrite the file a save named: it exists.
    Overwrite,
}

/// The action for `key` in `table`; Ctrl-C always quits. Control and Alt
/// must be held exactly as the binding says: Ctrl-U is not `u`.
pub fn lookup(table: &[Binding], key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == Char('c') {
        return Some(Action::Quit);
    }
    let held = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
    table
        .iter()
        .find(|b| b.mods == held && b.keys.contains(&key.code))
        .map(|b| b.action.clone())
}
