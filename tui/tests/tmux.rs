//! The real terminal: `chaoslab tui` under tmux opens, steps, injects a fault,
//! saves a scenario and quits with the terminal restored; the saved file then
//! runs with `chaoslab run`. Skipped, with a note, where tmux is missing
//! (`.ci/run` installs it).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_chaoslab");

/// The socket of a session's own tmux server, in the temp dir.
fn socket(session: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{session}.tmux"))
}

/// Runs tmux on a server of the session's own (`-S`), so tests running at
/// the same time never race to start or share one.
fn tmux(args: &[&str]) -> String {
    let session = args
        .windows(2)
        .find(|w| w[0] == "-t" || w[0] == "-s")
        .map(|w| w[1])
        .expect("every call names its session");
    let out = Command::new("tmux")
        .arg("-S")
        .arg(socket(session))
        .args(args)
        .output()
        .expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn capture(session: &str) -> String {
    tmux(&["capture-pane", "-p", "-t", session])
}

/// Polls the pane until it shows `text` (the UI draws asynchronously).
fn wait_for(session: &str, text: &str) -> String {
    // At most 400 polls 50 ms apart: about 20 s (a count, not a clock).
    let mut screen = String::new();
    for _ in 0..400 {
        screen = capture(session);
        if screen.contains(text) {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the pane never showed {text:?}; it shows:\n{screen}");
}

fn keys(session: &str, keys: &[&str]) {
    let mut args = vec!["send-keys", "-t", session];
    args.extend_from_slice(keys);
    tmux(&args);
}

/// The terminal is back in cooked mode: `icanon` and `echo` set (raw mode
/// shows them as `-icanon -echo`).
fn assert_cooked(stty: &str) {
    let flags: Vec<&str> = stty.split_whitespace().collect();
    assert!(
        flags.contains(&"icanon") && flags.contains(&"echo"),
        "raw mode was not undone: {stty}"
    );
}

/// Kills the session even when an assertion fails.
struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(socket(&self.0))
            .arg("kill-server")
            .output();
        let _ = std::fs::remove_file(socket(&self.0));
    }
}

#[test]
fn the_binary_under_tmux_steps_injects_saves_and_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!(
            "note: tmux is not on PATH; skipping the real-terminal test (.ci/run installs it)"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("chaoslab-tmux-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join("found.toml");
    let stty = dir.join("stty.txt");
    let name = format!("chaoslab-test-{}", std::process::id());
    // After the UI exits, record the terminal's mode and print a marker: a
    // restored terminal is back in canonical mode with echo, on the main screen.
    let script = format!(
        "{BIN} tui single/normal; echo exit=$?; stty -a > {}; echo UI-GONE; sleep 60",
        stty.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    let session = Session(name.clone());
    let s = &session.0;

    let screen = wait_for(s, "event 1/");
    assert!(
        screen.contains("topology") && screen.contains("sequence"),
        "{screen}"
    );

    keys(s, &["l", "l", "l", "l", "l"]);
    wait_for(s, "event 6/");

    keys(s, &["g", "5", "s", "Enter"]);
    wait_for(s, "jumped to 5");
    keys(s, &["Tab", "m", "i", "p"]);
    let screen = wait_for(s, "injected: 1");
    assert!(screen.contains("partition"), "{screen}");

    keys(s, &["w"]);
    wait_for(s, "save scenario to:");
    for _ in 0..80 {
        keys(s, &["BSpace"]);
    }
    keys(s, &["-l", saved.to_str().unwrap()]);
    keys(s, &["Enter"]);
    wait_for(s, "saved to");

    keys(s, &["q"]);
    let screen = wait_for(s, "UI-GONE");
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(
        !screen.contains("topology"),
        "the alternate screen was left:\n{screen}"
    );
    let mode = std::fs::read_to_string(&stty).unwrap();
    assert_cooked(&mode);

    assert!(Path::new(&saved).exists());
    let out = Command::new(BIN).arg("run").arg(&saved).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_ne!(
        out.status.code(),
        Some(2),
        "the saved file is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("replay"), "{report}");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("action = \"partition\""), "{text}");
    drop(session);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_panic_in_the_ui_leaves_the_terminal_restored_and_the_message_readable() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!(
            "note: tmux is not on PATH; skipping the real-terminal test (.ci/run installs it)"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("chaoslab-tmux-panic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let stty = dir.join("stty.txt");
    let name = format!("chaoslab-panic-{}", std::process::id());
    let script = format!(
        "CHAOSLAB_TUI_TEST_PANIC=1 {BIN} tui single/normal 2>&1; echo exit=$?; stty -a > {}; echo UI-GONE; sleep 60",
        stty.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    let session = Session(name);
    let screen = wait_for(&session.0, "UI-GONE");
    assert!(screen.contains("exit=101"), "{screen}");
    assert!(
        screen.contains("panicking after the first frame"),
        "{screen}"
    );
    assert!(
        !screen.contains("topology"),
        "the alternate screen was left:\n{screen}"
    );
    let mode = std::fs::read_to_string(&stty).unwrap();
    assert_cooked(&mode);
    drop(session);
    std::fs::remove_dir_all(&dir).unwrap();
}
