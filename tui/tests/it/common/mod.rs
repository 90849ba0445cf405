//! Shared by the command-line tests: run the built `chaoslab` binary.

use std::process::Command;

pub mod figures;
pub mod lessons;

/// `f` of every item, each on a thread of its own, in the items' order. For
/// a test's few long, independent runs: at once they keep both cores busy
/// instead of leaving that test the last one running. A panic in one is
/// raised again here, after every thread has finished.
pub fn at_once<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let f = &f;
        let running: Vec<_> = items.iter().map(|i| scope.spawn(move || f(i))).collect();
        running
            .into_iter()
            .map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

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
