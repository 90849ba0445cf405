//! Embeds every scenario under ../scenarios into the binary, so `chaoslab list`
//! and `chaoslab run raft/leader-partition` work from anywhere.

use std::fs;
use std::path::{Path, PathBuf};

#[path = "src/scenario_files.rs"]
mod scenario_files;
use scenario_files::collect;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files);
    let mut code = String::from("/// (name, path relative to the repo, TOML text) of every bundled scenario.\npub const BUNDLED: &[(&str, &str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f.strip_prefix(&root).expect("under root");
        let name = rel.with_extension("").to_string_lossy().replace('\\', "/");
        let abs = fs::canonicalize(f).expect("exists");
        code.push_str(&format!(
            "    ({name:?}, {:?}, include_str!({:?})),\n",
            format!("scenarios/{}", rel.to_string_lossy().replace('\\', "/")),
            abs.to_string_lossy()
        ));
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundled.rs");
    fs::write(out, code).expect("write bundled.rs");
}
