//! A closed stdout ends the program quietly, for every subcommand that prints:
//! `chaoslab list | head -1` must not panic with "Broken pipe" (exit 101).

use std::io::Read;
use std::process::{Command, Stdio};

/// Runs `chaoslab ARGS`, reads one byte of its output, closes the pipe, and
/// returns how the process ended and what it wrote to stderr.
fn read_one_byte_then_close(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_quiet(args: &[&str]) {
    let (status, stderr) = read_one_byte_then_close(args);
    assert!(
        !stderr.contains("panicked") && status.code() != Some(101),
        "chaoslab {args:?} into a closed pipe: {status}, stderr:\n{stderr}"
    );
}

#[test]
fn list_into_a_closed_pipe_ends_quietly() {
    assert_quiet(&["list"]);
}

#[test]
fn run_json_into_a_closed_pipe_ends_quietly() {
    assert_quiet(&["run", "single/normal", "--json"]);
}

#[test]
fn run_report_into_a_closed_pipe_ends_quietly() {
    assert_quiet(&["run", "single/normal"]);
}

#[test]
fn check_into_a_closed_pipe_ends_quietly() {
    assert_quiet(&[
        "check",
        "../sim/tests/fixtures/single-normal.jsonl",
        "--model",
        "kv",
    ]);
}

#[test]
fn sweep_into_a_closed_pipe_ends_quietly() {
    assert_quiet(&["sweep", "single/normal", "--seeds", "1..3", "--verbose"]);
}

#[test]
fn help_into_a_closed_pipe_ends_quietly() {
    assert_quiet(&["--help"]);
}
