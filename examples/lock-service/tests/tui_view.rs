//! The terminal UI on this crate's protocol: the zombie's write, as the
//! sequence diagram and the node panels show it, snapshot-tested.

use chaoslab::sim::registry::Register;
use chaoslab::tui::app::{Action, App};
use chaoslab::tui::keys::Target;
use chaoslab::tui::{open_in, render_to_string};
use chaoslab::Registry;
use lock_service::LockService;

fn registry() -> Registry {
    let mut r = Registry::new();
    r.add::<LockService>()
        .scenarios(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"));
    r
}

fn snapshot(name: &str, app: &App) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for (w, h) in [(80, 24), (160, 48)] {
            insta::assert_snapshot!(format!("tui__{name}__{w}x{h}"), render_to_string(app, w, h));
        }
    });
}

#[test]
fn the_tui_opens_on_the_zombies_write_at_the_violation_it_breaks() {
    let mut app = open_in(&registry(), Some("zombie-unfenced"), None).unwrap();
    app.update(Action::Jump(Target::Violation, true));
    let at = app.run.time_at(app.cursor);
    assert!(
        (4_000_000_000..5_000_000_000).contains(&at),
        "the zombie writes after its 2s pause: cursor at {at}ns"
    );
    snapshot("zombie_unfenced_violation", &app);
}
