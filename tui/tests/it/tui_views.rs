//! The terminal UI, snapshot-tested on ratatui's TestBackend after scripted
//! key sequences, at 80x24 (panels fold) and 200x50 (every panel).

use chaoslab::tui::app::App;
use chaoslab::tui::{open, render_to_string};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const SIZES: &[(u16, u16)] = &[(80, 24), (200, 50)];

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
    // On a small screen the rest scrolls into view (a draw at that size
    // tells the app how far); any other key closes it.
    let _ = render_to_string(&app, 80, 24);
    press(&mut app, "jjjjjjjjjjjjjjjjjjjjjjjjjjjjjj");
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("tui__help_scrolled__80x24", render_to_string(&app, 80, 24));
    });
    // Scrolling stops at the end: one page up from far below is a page up
    // from the end, not from where the presses would have taken it.
    for _ in 0..10 {
        code(&mut app, KeyCode::PageDown);
    }
    let end = app.help_scroll;
    assert!(end > 30, "{end}");
    code(&mut app, KeyCode::PageDown);
    assert_eq!(app.help_scroll, end);
    code(&mut app, KeyCode::PageUp);
    assert_eq!(app.help_scroll, end - 20);
    press(&mut app, "z");
    assert_eq!(app.mode, chaoslab::tui::app::Mode::Normal);
}

fn enter(app: &mut App) {
    code(app, KeyCode::Enter);
}

#[test]
fn injecting_a_partition_at_the_cursor_reruns_with_the_fault_in_the_schedule() {
    let mut app = open(Some("single/normal"), None).unwrap();
    // Jump to 5s, select c1 (Tab from n1), mark it, partition it from the rest.
    press(&mut app, "g5s");
    enter(&mut app);
    code(&mut app, KeyCode::Tab);
    press(&mut app, "m");
    let at = app.run.time_at(app.cursor);
    assert!(at >= 5_000_000_000);
    press(&mut app, "ip");
    assert_eq!(app.injected.len(), 1, "{}", app.note);
    let r = &app.run.trace[app.cursor];
    assert_eq!(r.t, at);
    assert!(
        matches!(r.event, sim::trace::TraceEvent::Fault { .. }),
        "{r:?}"
    );
    // Some steps later the partition shows: c1's requests are dropped.
    for _ in 0..8 {
        code(&mut app, KeyCode::Right);
    }
    snapshot("after_partition", &app);
}

#[test]
fn a_saved_scenario_parses_and_replays_to_the_same_fingerprint() {
    let mut app = open(Some("single/normal"), Some(9)).unwrap();
    press(&mut app, "g3s");
    enter(&mut app);
    press(&mut app, "ic");
    press(&mut app, "g4s");
    enter(&mut app);
    press(&mut app, "ir");
    code(&mut app, KeyCode::Tab);
    press(&mut app, "g6s");
    enter(&mut app);
    press(&mut app, "ik-250ms");
    enter(&mut app);
    assert_eq!(app.injected.len(), 3, "{}", app.note);
    let dir = std::env::temp_dir().join(format!("chaoslab-tui-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("found.toml");
    app.save(path.to_str().unwrap()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("seed = 9"), "{text}");
    let s = nodes::parse("found.toml", &text).unwrap();
    assert_eq!(s.meta.seed, 9);
    assert_eq!(s.faults.len(), 3);
    let out = nodes::run(&s, s.meta.seed, sim::kernel::TraceMode::Off).unwrap();
    assert_eq!(out.fingerprint, app.run.fingerprint);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stepping_back_shows_exactly_what_stepping_forward_showed() {
    let mut app = open(Some("single/crash-unsynced"), None).unwrap();
    let mut forward = Vec::new();
    for _ in 0..30 {
        forward.push(render_to_string(&app, 100, 30));
        code(&mut app, KeyCode::Right);
    }
    for expected in forward.iter().rev() {
        code(&mut app, KeyCode::Left);
        assert_eq!(&render_to_string(&app, 100, 30), expected);
    }
    // And far away: jump to the end, back to the start, same first screen.
    code(&mut app, KeyCode::End);
    code(&mut app, KeyCode::Home);
    assert_eq!(render_to_string(&app, 100, 30), forward[0]);
}

#[test]
fn the_status_at_the_cursor_is_the_status_a_fresh_run_has_there() {
    // Re-simulate to each of a few cursors with the kernel's step API and
    // compare every node's status with the recorded one.
    let app = open(Some("single/crash-unsynced"), None).unwrap();
    let s = app.run.scenario.clone().expect("a scenario run");
    let mut sim = nodes::start(&s, app.run.seed, sim::kernel::TraceMode::Record).unwrap();
    let mut checked = 0;
    let mut next_check = 1;
    while sim.advance() {
        let len = sim.trace().len();
        if len < next_check {
            continue;
        }
        next_check = len + 97;
        let cursor = len - 1;
        for (i, st) in sim.statuses().into_iter().enumerate() {
            assert_eq!(
                app.run.node_at(i, cursor).unwrap().status,
                st,
                "node {i} at {cursor}"
            );
        }
        checked += 1;
    }
    assert!(checked > 10);
}

#[test]
fn every_protocol_has_a_view() {
    for protocol in &nodes::builtin().names() {
        // The protocol's first bundled scenario (single: one with a crash),
        // not an exploration scenario (its run is the explorer's earliest
        // path: see docs/exploring.md).
        let bundled = chaoslab::scenarios::BUNDLED
            .iter()
            .filter(|(name, path, text)| {
                !name.starts_with("explore/")
                    && nodes::parse(path, text).is_ok_and(|s| s.protocol == *protocol)
            })
            .map(|(name, _, _)| *name)
            .find(|name| *protocol != "single" || *name == "single/crash-unsynced");
        let app = match bundled {
            Some(name) => open(Some(name), None).unwrap(),
            None => {
                // A protocol without a bundled scenario: a small one of its own.
                let text = format!(
                    "[meta]\nname = \"{protocol}/view\"\nduration = \"2s\"\n[system]\nprotocol = \"{protocol}\"\n[topology]\nservers = 3\n"
                );
                let s = nodes::parse("<view>", &text).unwrap();
                App::new(s, 1).unwrap()
            }
        };
        let mut app = app;
        // The header counts events as the report does, first to last.
        assert_eq!(
            app.run.events() as u64,
            app.run.report.as_ref().expect("a report").counters.events,
            "{protocol}"
        );
        assert_eq!(app.run.event_at(0), 1, "{protocol}");
        assert_eq!(
            app.run.event_at(app.run.len() - 1),
            app.run.events(),
            "{protocol}"
        );
        press(&mut app, "jjjjj");
        snapshot(&format!("protocol_{protocol}"), &app);
    }
}

#[test]
fn the_event_log_filter_keeps_only_records_of_the_named_node_and_kind() {
    let mut app = open(Some("single/client-partitioned"), None).unwrap();
    press(&mut app, "/c1 drop");
    enter(&mut app);
    let f = app.filter.as_ref().expect("a filter is set");
    assert!(
        !f.matches.is_empty(),
        "c1's messages are dropped in the partition"
    );
    for &i in &f.matches {
        match &app.run.trace[i as usize].event {
            sim::trace::TraceEvent::Drop { from, to, .. } => {
                assert!(&**from == "c1" || &**to == "c1")
            }
            other => panic!("{other:?} does not match `c1 drop`"),
        }
    }
    // Jumping to the first fault puts the partition under the cursor.
    press(&mut app, "f");
    assert!(matches!(
        app.run.trace[app.cursor].event,
        sim::trace::TraceEvent::Fault { .. }
    ));
    press(&mut app, "/");
    for _ in 0..20 {
        code(&mut app, KeyCode::Backspace);
    }
    enter(&mut app);
    assert!(app.filter.is_none());
}

#[test]
fn an_undecided_check_is_drawn_as_undecided_not_as_a_failure() {
    let text = std::fs::read_to_string("../scenarios/single/crash-synced.toml")
        .unwrap()
        .replacen("[meta]\n", "[meta]\ncheck_max_steps = 1\n", 1);
    let s = nodes::parse("crash-synced-tiny-budget.toml", &text).unwrap();
    let seed = s.meta.seed;
    let app = App::new(s, seed).unwrap();
    assert_eq!(
        app.run.report.as_ref().expect("a report").outcome,
        sim::report::RunOutcome::Undecided
    );
    let screen = render_to_string(&app, 400, 100);
    assert!(screen.contains("verdict UNDECIDED"), "{screen}");
    assert!(
        screen.contains("[??] linearizable: expected true, got undecided"),
        "{screen}"
    );
    assert!(screen.contains("[??] history undecided: "), "{screen}");
    assert!(!screen.contains("[!!]"), "{screen}");
}

/// A small raft run (three servers, no clients) with `rest` appended.
fn raft_app(rest: &str) -> App {
    let text = format!(
        "[meta]\nname = \"raft/props\"\nseed = 1\nduration = \"3s\"\n\n[system]\nprotocol = \"raft\"\n\n[topology]\nservers = 3\nclients = 0\n\n{rest}"
    );
    let s = nodes::parse("props.toml", &text).unwrap();
    let seed = s.meta.seed;
    App::new(s, seed).unwrap()
}

/// The line of the app's screen (400 by 100) that contains `needle`.
fn screen_line(app: &App, needle: &str) -> String {
    let screen = render_to_string(app, 400, 100);
    screen
        .lines()
        .find(|l| l.contains(needle))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no line with {needle:?}:\n{screen}"))
}

#[test]
fn property_rows_are_marked_by_their_verdict_not_drawn_ok_when_undecided() {
    // (what the raft run adds, the row's needle, what the row must say)
    let cases: [(&str, &str, &[&str]); 4] = [
        // A crash that never heals: leader-elected cannot be judged.
        (
            "[[faults]]\nat = \"1s\"\naction = \"crash\"\ntarget = \"n2\"\n",
            "leader-elected",
            &["[??] leader-elected eventually: undecided: a fault was still in force"],
        ),
        // Held: ok, with when.
        (
            "",
            "leader-elected",
            &["[ok] leader-elected eventually: held at "],
        ),
        // Held, but `[expect] violated` named it: the run fails on it.
        (
            "[expect]\nviolated = [\"leader-elected\"]\n",
            "leader-elected eventually",
            &[
                "[!!] leader-elected eventually: held at ",
                "expected violated",
            ],
        ),
        // Never true in the quiet time: its verdict and why, not only its name.
        (
            "[expect]\nsettle_time = \"1ms\"\n\n[[faults]]\nat = \"0s\"\naction = \"partition\"\ngroups = [[\"n1\"], [\"n2\"], [\"n3\"]]\n\n[[faults]]\nat = \"2990ms\"\naction = \"heal\"\n",
            "leader-elected",
            &["[!!] leader-elected eventually: VIOLATED: never true in the "],
        ),
    ];
    for (rest, needle, says) in cases {
        let row = screen_line(&raft_app(rest), needle);
        for said in says {
            assert!(row.contains(said), "{rest:?}: {row}");
        }
    }
    // A sometimes property never seen: a dim [--], not ok.
    let text = "[meta]\nname = \"replication/props\"\nseed = 1\nduration = \"2s\"\n\n[system]\nprotocol = \"replication\"\n\n[topology]\nservers = 3\nclients = 0\n";
    let s = nodes::parse("props.toml", text).unwrap();
    let app = App::new(s, 1).unwrap();
    let row = screen_line(&app, "failover sometimes");
    assert!(row.contains("[--] failover sometimes: not seen"), "{row}");
}

fn ctrl(app: &mut App, c: char) {
    app.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

#[test]
fn prompts_edit_like_a_shell_and_take_times_relative_to_the_cursor() {
    use chaoslab::tui::app::Mode;
    let mut app = open(Some("single/normal"), Some(1)).unwrap();
    press(&mut app, "g5s");
    enter(&mut app);
    let t0 = app.run.time_at(app.cursor);
    assert!(t0 >= 5_000_000_000, "{}", app.note);
    // Ctrl-U kills what was typed (it used to type a `u`); Ctrl-A goes to
    // the start, where `+` goes in.
    press(&mut app, "g9s");
    ctrl(&mut app, 'u');
    press(&mut app, "500ms");
    ctrl(&mut app, 'a');
    press(&mut app, "+");
    let Mode::Prompt { input, .. } = &app.mode else {
        panic!("the prompt closed: {:?}", app.mode)
    };
    assert_eq!(input.text(), "+500ms");
    enter(&mut app);
    let t1 = app.run.time_at(app.cursor);
    assert!(
        t1 >= t0 + 500_000_000 && t1 < t0 + 600_000_000,
        "{t0} -> {t1}: {}",
        app.note
    );
    // And back: `-1s` is a second before the cursor.
    press(&mut app, "g-1s");
    enter(&mut app);
    let t2 = app.run.time_at(app.cursor);
    assert!(
        t2 >= t1 - 1_000_000_000 && t2 < t1,
        "{t1} -> {t2}: {}",
        app.note
    );
    // A clock offset with a plus sign is taken, as a scenario file takes it.
    press(&mut app, "ik+200ms");
    enter(&mut app);
    assert_eq!(app.injected.len(), 1, "{}", app.note);
    assert!(
        app.scenario_text().contains("offset = \"+200ms\""),
        "{}",
        app.scenario_text()
    );
    // Ctrl-W takes the word before the cursor.
    press(&mut app, "/n1 c2");
    ctrl(&mut app, 'w');
    let Mode::Prompt { input, .. } = &app.mode else {
        panic!("the prompt closed: {:?}", app.mode)
    };
    assert_eq!(input.text(), "n1 ");
    code(&mut app, KeyCode::Esc);
}

#[test]
fn saving_over_a_file_asks_first_and_keeps_it_unless_told_yes() {
    use chaoslab::tui::app::Mode;
    use chaoslab::tui::keys::PromptKind;
    let dir = std::env::temp_dir().join(format!("chaoslab-tui-overwrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mine.toml");
    std::fs::write(&path, "# my own notes\n").unwrap();
    let mut app = open(Some("single/normal"), Some(1)).unwrap();
    let save = |app: &mut App| {
        press(app, "w");
        ctrl(app, 'u');
        press(app, path.to_str().unwrap());
        enter(app);
    };
    save(&mut app);
    assert!(
        matches!(
            app.mode,
            Mode::Prompt {
                kind: PromptKind::Overwrite,
                ..
            }
        ),
        "{:?}",
        app.mode
    );
    // Enter alone keeps the file.
    enter(&mut app);
    assert!(app.note.contains("kept as it was"), "{}", app.note);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# my own notes\n");
    // So does Esc.
    save(&mut app);
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# my own notes\n");
    // y overwrites.
    save(&mut app);
    press(&mut app, "y");
    enter(&mut app);
    assert!(app.note.starts_with("saved to"), "{}", app.note);
    assert!(std::fs::read_to_string(&path).unwrap().contains("[meta]"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_topology_label_overprints_another_and_no_status_cell_is_cut_silently() {
    use chaoslab::tui::draw::topology::layout;
    use ratatui::layout::Rect;
    // Every bundled scenario: at the start, at every fault, at the end. But
    // the two supermarket scenarios: 102 nodes and millions of events,
    // which the TUI records one by one with every node's status (minutes in
    // a test build). The balancer's layout is checked on its smaller
    // scenarios; that of 102 nodes is not.
    let slow = [
        "resilience/lb-supermarket-random",
        "resilience/lb-supermarket-two-choices",
    ];
    let names: Vec<&str> = chaoslab::scenarios::BUNDLED
        .iter()
        .map(|(n, _, _)| *n)
        .filter(|n| !slow.contains(n))
        .collect();
    // Inner sizes of the topology panel: 80x24's (24x9) up to 200x50's.
    let sizes = [(22, 8), (24, 9), (30, 10), (44, 14), (68, 26), (120, 40)];
    let mut checked = 0;
    for name in names {
        let Ok(mut app) = open(Some(name), None) else {
            panic!("{name} does not open")
        };
        let mut cursors = vec![0, app.run.len() - 1];
        // Every fault, or 24 spread over them when there are more (nemesis).
        let faults = &app.run.faults;
        let step = faults.len().div_ceil(24).max(1);
        cursors.extend(faults.iter().step_by(step).map(|&i| i as usize));
        for cursor in cursors {
            app.cursor = cursor;
            for (w, h) in sizes {
                let inner = Rect::new(1, 1, w, h);
                let l = layout(&app, inner);
                let at = format!("{name} at record {cursor}, {w}x{h}");
                // Every node named, and every crash, pause or skew shown.
                assert_eq!(l.hidden, 0, "{at}: labels or states left out");
                let labelled: std::collections::BTreeSet<usize> = l
                    .labels
                    .iter()
                    .flat_map(|l| l.nodes.iter().copied())
                    .collect();
                assert_eq!(labelled.len(), app.run.cluster.len(), "{at}");
                for (k, a) in l.labels.iter().enumerate() {
                    let ra = a.rect();
                    assert!(
                        ra.x >= inner.x
                            && ra.right() <= inner.right()
                            && ra.y >= inner.y
                            && ra.bottom() <= inner.bottom(),
                        "{at}: {:?} outside the panel",
                        a.text
                    );
                    for b in &l.labels[k + 1..] {
                        let rb = b.rect();
                        // Apart on the row, with two blank cells between.
                        let gap = chaoslab::tui::draw::topology::GAP;
                        let apart =
                            ra.y != rb.y || ra.right() + gap <= rb.x || rb.right() + gap <= ra.x;
                        assert!(apart, "{at}: {:?} and {:?} overprint", a.text, b.text);
                    }
                    // No label sits on a partition divider.
                    for &x in &l.dividers {
                        assert!(
                            x < ra.x || x >= ra.right(),
                            "{at}: {:?} on a divider",
                            a.text
                        );
                    }
                }
                checked += 1;
            }
            // The status table at 80x24's panel (26 wide) and wider: its
            // columns fit the panel, and each cell fits its column, so
            // ratatui never cuts one; every cut was made with `…`.
            for (w, h) in [(20, 8), (26, 10), (40, 14), (66, 19)] {
                let t = chaoslab::tui::draw::status::table(&app, Rect::new(0, 0, w, h));
                let at = format!("{name} at record {cursor}, status {w}x{h}");
                let total: usize = t.widths.iter().map(|&c| c as usize + 1).sum::<usize>() - 1;
                assert!(
                    total <= (w - 2) as usize,
                    "{at}: columns {:?} overflow",
                    t.widths
                );
                for cells in std::iter::once(&t.head).chain(t.rows.iter().map(|(c, _)| c)) {
                    assert_eq!(cells.len(), t.widths.len(), "{at}: {cells:?}");
                    for (cell, &cw) in cells.iter().zip(&t.widths) {
                        assert!(
                            cell.chars().count() <= cw as usize,
                            "{at}: {cell:?} wider than its column ({cw})"
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} layouts checked");
}

#[test]
fn the_chart_panel_shows_goodput_latency_and_messages_over_time() {
    let mut app = open(Some("raft/leader-minority"), None).unwrap();
    // The goodput chart counts exactly the operations the report calls ok,
    // and the messages chart the messages it says were sent.
    let count = |name: &str| -> f64 {
        let c = app
            .run
            .charts
            .charts
            .iter()
            .find(|c| c.name.starts_with(name))
            .unwrap();
        c.sums.iter().sum()
    };
    assert_eq!(
        count("goodput") as u64,
        app.run.report.as_ref().expect("a report").ops.ok
    );
    assert_eq!(
        count("messages sent") as u64,
        app.run.report.as_ref().expect("a report").counters.sent
    );
    press(&mut app, "g2s");
    enter(&mut app);
    press(&mut app, "c");
    assert!(app.charts);
    snapshot("charts", &app);
    press(&mut app, "c");
    assert!(!app.charts);
}
