//! Files with one concern each (issue 15): no source file of the simulator
//! (`sim/`) or of the protocols (`nodes/`) is over 800 lines. A file that
//! grows past it is split by concern (as `kernel/props/` keeps its tests
//! apart), not squeezed.

use std::path::{Path, PathBuf};

const LIMIT: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_file_in_sim_or_nodes_is_over_800_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["sim", "nodes"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "the source folders went missing");
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > LIMIT).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {LIMIT} lines: {long:?}");
}
