//! The terminal UI, snapshot-tested on ratatui's TestBackend after scripted
//! key sequences, at 80x24 (panels fold) and 160x48 (every panel).

use chaoslab::tui::app::App;
use chaoslab::tui::{open, render_to_string};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const SIZES: &[(u16, u16)] = &[(80, 24), (160, 48)];

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn code(app: &mut App, code: KeyCode) {
    app.key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn snapshot(name: &str, app: &App) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for &(w, h) in SIZES {
            insta::assert_snapshot!(format!("tui__{name}__{w}x{h}"), render_to_string(app, w, h));
        }
    });
}

#[test]
fn the_opening_view_shows_the_default_scenario_at_its_first_event() {
    let app = open(None, None).unwrap();
    snapshot("opening", &app);
}

#[test]
fn stepping_fifty_events_moves_the_cursor_and_the_diagram() {
    let mut app = open(None, None).unwrap();
    for _ in 0..50 {
        code(&mut app, KeyCode::Right);
    }
    assert_eq!(app.cursor, 50);
    snapshot("after_50_steps", &app);
}

#[test]
fn the_help_overlay_lists_every_key() {
    let mut app = open(None, None).unwrap();
    press(&mut app, "?");
    snapshot("help", &app);
}
