//! The real terminal: `chaoslab tui` under tmux opens, steps, injects a fault,
//! saves a scenario and quits with the terminal restored; the saved file then
//! runs with `chaoslab run`. Skipped, with a note, where tmux is missing
//! (`.ci/run` installs it).

use std::path::{Path, PathBuf};
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

/// `chaoslab tui single/normal` in a tmux session of its own, 100x30. After
/// the UI exits the shell records the terminal's mode and prints a marker: a
/// restored terminal is back in canonical mode with echo, on the main screen.
struct Tui {
    session: Session,
    dir: PathBuf,
    stty: PathBuf,
}

impl Tui {
    /// Opens the UI with `env` (`NAME=value `, or empty) before the command;
    /// `None`, with a note, where tmux is missing.
    fn open(tag: &str, env: &str) -> Option<Tui> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!(
                "note: tmux is not on PATH; skipping the real-terminal test (.ci/run installs it)"
            );
            return None;
        }
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("chaoslab-tmux-{tag}-{pid}"));
        std::fs::create_dir_all(&dir).unwrap();
        let stty = dir.join("stty.txt");
        let name = format!("chaoslab-{tag}-{pid}");
        let script = format!(
            "{env}{BIN} tui single/normal 2>&1; echo exit=$?; stty -a > {}; echo UI-GONE; sleep 60",
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
        Some(Tui {
            session: Session(name),
            dir,
            stty,
        })
    }

    fn name(&self) -> &str {
        &self.session.0
    }

    /// Waits for the UI to be gone and checks that it exited with `code` and
    /// left the terminal restored. Returns the screen.
    fn assert_exited_restored(&self, code: i32) -> String {
        let screen = wait_for(self.name(), "UI-GONE");
        assert!(screen.contains(&format!("exit={code}")), "{screen}");
        assert!(
            !screen.contains("topology"),
            "the alternate screen was left:\n{screen}"
        );
        let mode = std::fs::read_to_string(&self.stty).unwrap();
        assert_cooked(&mode);
        screen
    }

    /// Ends the session and removes its folder.
    fn close(self) {
        let Tui { session, dir, .. } = self;
        drop(session);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn the_binary_under_tmux_steps_injects_saves_and_restores_the_terminal() {
    let Some(tui) = Tui::open("test", "") else {
        return;
    };
    let saved = tui.dir.join("found.toml");
    let s = tui.name();

    let screen = wait_for(s, "event 1/");
    assert!(
        screen.contains("topology") && screen.contains("sequence"),
        "{screen}"
    );

    keys(s, &["l", "l", "l", "l", "l"]);
    // The header counts events as the report does; the details name the
    // record the cursor is on.
    keys(s, &["Enter"]);
    wait_for(s, "(record 6)");
    // Enter again closes them (Esc followed at once by `g` would reach
    // the program as Alt-G).
    keys(s, &["Enter"]);

    keys(s, &["g", "5", "s", "Enter"]);
    wait_for(s, "jumped to 5");
    keys(s, &["g", "+", "2", "5", "0", "m", "s", "Enter"]);
    wait_for(s, "jumped to 5.2");
    keys(s, &["Tab", "m", "i", "p"]);
    let screen = wait_for(s, "injected: 1");
    assert!(screen.contains("partition"), "{screen}");

    // `w`, the offered name cleared with Ctrl-U (as in a shell), the path typed.
    let save = || {
        keys(s, &["w"]);
        wait_for(s, "save scenario to:");
        keys(s, &["C-u"]);
        keys(s, &["-l", saved.to_str().unwrap()]);
        keys(s, &["Enter"]);
    };
    save();
    wait_for(s, "saved to");

    // Saving again to the same file asks first; n keeps it.
    keys(s, &["i", "c"]);
    wait_for(s, "injected: 2");
    save();
    wait_for(s, "exists; overwrite? [y/N]");
    keys(s, &["n", "Enter"]);
    wait_for(s, "kept as it was");
    let kept = std::fs::read_to_string(&saved).unwrap();
    assert!(!kept.contains("action = \"crash\""), "{kept}");
    // y overwrites.
    save();
    wait_for(s, "exists; overwrite? [y/N]");
    keys(s, &["y", "Enter"]);
    wait_for(s, "saved to");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("action = \"crash\""), "{text}");

    keys(s, &["q"]);
    tui.assert_exited_restored(0);

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
    tui.close();
}

#[test]
fn a_panic_in_the_ui_leaves_the_terminal_restored_and_the_message_readable() {
    let Some(tui) = Tui::open("panic", "CHAOSLAB_TUI_TEST_PANIC=1 ") else {
        return;
    };
    let screen = tui.assert_exited_restored(101);
    assert!(
        screen.contains("panicking after the first frame"),
        "{screen}"
    );
    tui.close();
}
