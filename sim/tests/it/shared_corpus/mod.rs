//! Where the shared corpora live: `$CHAOSLAB_SHARED`, or `../shared` beside
//! the workspace. A clone without them still passes `cargo test`: a test that
//! needs one says it was skipped, unless `CHAOSLAB_REQUIRE_SHARED=1` (as
//! `.ci/run` sets), where a missing corpus is a failure.

use std::path::PathBuf;

/// `sub` inside the shared folder, or `None` (after saying so) when absent.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let root = match std::env::var_os("CHAOSLAB_SHARED") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")),
    };
    let path = root.join(sub);
    if path.exists() {
        return Some(path);
    }
    let require = std::env::var("CHAOSLAB_REQUIRE_SHARED").is_ok_and(|v| v == "1");
    assert!(
        !require,
        "{} not found, and CHAOSLAB_REQUIRE_SHARED=1 makes it mandatory (set CHAOSLAB_SHARED to the shared folder)",
        path.display()
    );
    eprintln!(
        "skipped: {} not found (set CHAOSLAB_SHARED)",
        path.display()
    );
    None
}
