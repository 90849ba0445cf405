//! The scenario files under a folder, found the same way by the build script
//! (which embeds `scenarios/` into the binary) and by `Registry::scenarios`
//! (an outside crate's folder, read at run time): every `*.toml` below it,
//! in sorted path order, so `list` is the same on every machine.

use std::path::{Path, PathBuf};

/// Appends every `*.toml` file below `dir` to `out`, sorted; a folder that
/// cannot be read adds nothing.
pub fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}
