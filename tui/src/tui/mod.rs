//! `chaoslab tui`: the terminal UI. One screen shows the topology, the message
//! sequence diagram, each node's status, the event log, the verdicts and a
//! timeline of the whole run; keys step through the run, jump between
//! faults, violations and messages, inject faults at the cursor and save the
//! schedule as a scenario file. See docs/tui.md.
//!
//! The shape is the ratatui demo2 / gitui one: [`app::App`] owns the state and
//! changes only in `App::update(Action)`; every key becomes one
//! [`app::Action`] through the tables in [`keys`]; [`draw::draw`] is a pure
//! function of the app.

pub mod app;
pub mod compact;
pub mod draw;
pub mod inject;
pub mod keys;
pub mod line;
pub mod model;
pub mod recorded;
pub mod series;
pub mod states;
pub mod term;

use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::{exit, Registry};
use app::App;

#[derive(clap::Args, Debug, Default)]
pub struct TuiArgs {
    /// A scenario file, or the name of a bundled scenario (see the `list` command).
    /// Without it, the built-in default scenario opens.
    pub scenario: Option<String>,
    /// Run with this seed instead of the scenario's own `[meta] seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Open a trace file written by `chaoslab run ... --trace FILE` instead
    /// of running a scenario: the only way to see a process-driver run
    /// (`--bin PROGRAM`, real time, not re-runnable), and any other run's
    /// trace. Shows what the trace records (messages, faults, roles,
    /// crashes, pauses, partitions, operations, violations); node fields,
    /// the report and injecting faults need a run of the scenario. See
    /// docs/tui.md.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["scenario", "seed"])]
    pub trace: Option<String>,
}

/// Loads the scenario (chaoslab's own protocols) and records its run for the UI.
pub fn open(scenario: Option<&str>, seed: Option<u64>) -> Result<App, String> {
    open_in(&Registry::builtin(), scenario, seed)
}

/// Loads the scenario with `registry` and records its run for the UI.
pub fn open_in(
    registry: &Registry,
    scenario: Option<&str>,
    seed: Option<u64>,
) -> Result<App, String> {
    let s = registry.load(scenario).map_err(|e| e.0)?;
    let seed = seed.unwrap_or(s.meta.seed);
    App::new_in(registry, s, seed)
}

/// Runs the UI in the terminal until the user quits.
pub fn run(registry: &Registry, args: &TuiArgs) -> i32 {
    let opened = match &args.trace {
        Some(path) => App::from_trace(registry, path),
        None => open_in(registry, args.scenario.as_deref(), args.seed),
    };
    let mut app = match opened {
        Ok(app) => app,
        Err(e) => {
            eprintln!("{e}");
            return exit::BAD_INPUT;
        }
    };
    let result = (|| -> std::io::Result<()> {
        let mut guard = term::TermGuard::enter()?;
        // For the real-terminal test: a panic after the first frame must leave
        // the terminal as it found it.
        let panic_for_test = std::env::var_os("CHAOSLAB_TUI_TEST_PANIC").is_some();
        // A tick about every 30 ms while playing; otherwise redraw on input.
        while !app.quit {
            guard.terminal.draw(|f| draw::draw(&app, f))?;
            if panic_for_test {
                panic!("CHAOSLAB_TUI_TEST_PANIC is set: panicking after the first frame");
            }
            if event::poll(Duration::from_millis(30))? {
                match event::read()? {
                    Event::Key(k) if k.kind != KeyEventKind::Release => app.key(k),
                    _ => {}
                }
            } else {
                app.update(app::Action::Tick);
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => exit::PASS,
        Err(e) => {
            term::restore();
            eprintln!("error: the terminal UI failed: {e}");
            exit::FAIL
        }
    }
}

/// Draws one frame of `app` on a test backend of `width` x `height` and
/// returns the screen as text (for snapshots and the frame-time benchmark).
pub fn render_to_string(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test backend");
    terminal
        .draw(|f| draw::draw(app, f))
        .expect("drawing to memory");
    buffer_text(terminal.backend().buffer())
}

/// The text of a buffer, one line per row, trailing spaces trimmed.
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
        }
        let _ = &mut skip;
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
