//! Shared by the command-line tests: run the built `chaoslab` binary.

use std::process::Command;

pub mod figures;
pub mod lessons;

/// Runs `chaoslab ARGS` from the crate's folder: (exit code, stdout, stderr).
pub fn chaoslab(args: &[&str]) -> (i32, String, String) {
    run_program(env!("CARGO_BIN_EXE_chaoslab"), args)
}

/// Runs `program ARGS` from the crate's folder: (exit code, stdout, stderr).
/// For the built binary under another name (a symlink to it).
pub fn run_program(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
