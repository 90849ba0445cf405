//! `chaoslab lab new WORKLOAD`: writes a Cargo project in which a learner
//! implements a Maelstrom node in Rust and grades it part by part.
//!
//! The project depends on this very checkout of chaoslab by path: the
//! binary knows where it was built from (`env!("CARGO_MANIFEST_DIR")`, the
//! `tui/` folder, at compile time), so a lab written by a `chaoslab` built
//! here builds against the same sources. Its `Cargo.lock` is the
//! workspace's (embedded at compile time), so every dependency resolves to
//! the versions already in the local registry cache and `cargo test`
//! needs no network (`.cargo/config.toml` says `offline = true`). The
//! parts, the skeleton and the solution are the lab kit's
//! (`chaoslab_nodes::maelstrom::labs`), the same ones the workspace's own
//! tests grade.

use std::fs;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use nodes::maelstrom::labs::{self, Kit};

use crate::exit;

#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes (lab new): 0 the lab was written, 2 bad input: an unknown workload, \
a --dir that is a file or a folder that is not empty (nothing is overwritten), or a file \
that cannot be written. See docs/labs.md."
)]
pub struct LabArgs {
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// Write a Cargo project with a skeleton node for WORKLOAD and a test that
    /// grades it part by part (1 no faults, then faults: partitions or message
    /// loss; broadcast adds 3 efficiency); then `cd` there and run `cargo
    /// test`. See docs/labs.md.
    New(NewArgs),
}

#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 the lab was written, 2 bad input: an unknown workload, a --dir \
that is a file or a folder that is not empty (nothing is overwritten), or a file that cannot \
be written."
)]
pub struct NewArgs {
    /// The Maelstrom workload to implement (the list comes from the kits).
    #[arg(help = workloads_help())]
    pub workload: String,
    /// Where to write the lab: a folder that does not exist or is empty
    /// (default: ./WORKLOAD-lab).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Write chaoslab's own solution instead of the skeleton (it passes
    /// every part).
    #[arg(long, hide = true)]
    pub solution: bool,
}

/// `--help` for WORKLOAD: every lab there is.
fn workloads_help() -> String {
    format!("The Maelstrom workload to implement: {}", workloads())
}

/// The labs' workloads, as a list (`broadcast, echo, ...`).
fn workloads() -> String {
    let names: Vec<&str> = labs::KITS.iter().map(|k| k.workload.name()).collect();
    names.join(", ")
}

pub fn run(args: &LabArgs) -> i32 {
    match &args.command {
        LabCommand::New(new) => match write_lab(new) {
            Ok(dir) => {
                let kit = labs::kit(&new.workload).expect("checked by write_lab");
                println!(
                    "Wrote the {} lab in {}.\n\nNext:\n  cd {}\n  cargo test          # grades every part (the skeleton fails them)\n\nThen make src/lib.rs pass; README.md there says how to read the grade,\nreplay a failing seed and open it in the TUI ({} parts).",
                    kit.workload.name(),
                    dir.display(),
                    sim::report::shell_word(&dir.display().to_string()),
                    kit.parts.len()
                );
                exit::PASS
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::BAD_INPUT
            }
        },
    }
}

/// The chaoslab checkout this binary was built from.
fn checkout() -> PathBuf {
    let tui = Path::new(env!("CARGO_MANIFEST_DIR"));
    tui.parent().unwrap_or(tui).to_path_buf()
}

/// The workspace's lock file, as it was when this binary was built.
const WORKSPACE_LOCK: &str = include_str!("../../Cargo.lock");

fn write_lab(args: &NewArgs) -> Result<PathBuf, String> {
    let Some(kit) = labs::kit(&args.workload) else {
        return Err(format!(
            "there is no lab for workload \"{}\"; the labs are: {}",
            args.workload,
            workloads()
        ));
    };
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-lab", kit.workload.name())));
    if dir.exists() {
        if !dir.is_dir() {
            return Err(format!(
                "{} exists and is not a folder; give --dir a new or empty folder",
                dir.display()
            ));
        }
        let mut entries =
            fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} is not empty; a lab is written only into a new or empty folder (nothing was overwritten): give another --dir",
                dir.display()
            ));
        }
    }
    // The files go into a temporary sibling folder first, renamed into
    // place once all are written: a failure half-way (a full disk) leaves
    // no half-written lab where the learner would find it.
    let absolute = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
    let parent = absolute.parent().unwrap_or(Path::new(".")).to_path_buf();
    fs::create_dir_all(&parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let base = absolute
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lab".to_string());
    let staging = parent.join(format!(".{base}.partial-{}", std::process::id()));
    let written = write_files(&staging, files(kit, &crate_name(kit, &dir), args.solution))
        .and_then(|()| {
            if dir.exists() {
                // Checked empty above.
                fs::remove_dir(&dir)
                    .map_err(|e| format!("cannot replace {}: {e}", dir.display()))?;
            }
            fs::rename(&staging, &dir).map_err(|e| {
                format!(
                    "cannot move {} to {}: {e}",
                    staging.display(),
                    dir.display()
                )
            })
        });
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok(dir)
}

fn write_files(dir: &Path, files: Vec<(String, String)>) -> Result<(), String> {
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The lab crate's package name: the folder's base name, sanitised, and
/// a short hash of its absolute path (`broadcast-lab-1f3a9c02`). Labs that
/// share a target folder (`CARGO_TARGET_DIR`, as the README suggests) must
/// not share a package name and version, or cargo builds one lab's test
/// binary over the other's and `cargo test` in one runs the other's node.
fn crate_name(kit: &Kit, dir: &Path) -> String {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let base = absolute
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        name = format!("{}-lab", kit.workload.name());
    } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        // Cargo refuses a package name that starts with a digit.
        name.insert_str(0, "lab-");
    }
    format!("{name}-{:08x}", path_hash(&absolute) as u32)
}

/// FNV-1a over the path's bytes: the same on every run and every build, so
/// writing a lab twice at one path gives the same name.
fn path_hash(path: &Path) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.to_string_lossy().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Every file of the lab, by path relative to its folder.
fn files(kit: &Kit, name: &str, solution: bool) -> Vec<(String, String)> {
    let lib = name.replace('-', "_");
    let checkout = checkout();
    let tui = checkout.join("tui");
    let mut files = vec![
        ("Cargo.toml".to_string(), cargo_toml(name, &tui)),
        ("Cargo.lock".to_string(), WORKSPACE_LOCK.to_string()),
        (
            ".cargo/config.toml".to_string(),
            "# Every dependency is in chaoslab's Cargo.lock, already in the local\n# registry cache: no network needed.\n[net]\noffline = true\n".to_string(),
        ),
        (".gitignore".to_string(), "/target\n".to_string()),
        ("README.md".to_string(), readme(kit, name, &checkout)),
        ("src/lib.rs".to_string(), lib_rs(kit, solution)),
        ("src/main.rs".to_string(), main_rs(kit, &lib)),
        ("tests/grade.rs".to_string(), grade_rs(kit, &lib)),
    ];
    for part in kit.parts {
        files.push((part.file(), part.scenario(kit.protocol)));
    }
    files
}

fn cargo_toml(name: &str, tui: &Path) -> String {
    let path = tui
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

# A crate of its own, not a member of chaoslab's workspace.
[workspace]

[dependencies]
# The chaoslab checkout that wrote this lab (`chaoslab lab new`): the
# simulator as `chaoslab::sim`, the Maelstrom workloads as
# `chaoslab::nodes::maelstrom`.
chaoslab = {{ path = "{path}" }}

# The grade runs whole simulations: optimise a little, and the
# dependencies fully, as chaoslab's workspace does. chaoslab's own crates
# get the workspace's settings, so a build that shares chaoslab's target
# folder (CARGO_TARGET_DIR) reuses what chaoslab built.
[profile.dev]
opt-level = 1
debug = "line-tables-only"

[profile.dev.package."*"]
opt-level = 2
debug = false

[profile.dev.package.chaoslab]
opt-level = 1
debug = "line-tables-only"

[profile.dev.package.chaoslab-sim]
opt-level = 1
debug = "line-tables-only"

[profile.dev.package.chaoslab-nodes]
opt-level = 1
debug = "line-tables-only"
"#
    )
}

fn lib_rs(kit: &Kit, solution: bool) -> String {
    let (what, src) = if solution {
        ("chaoslab's solution: it passes every part", kit.solution)
    } else {
        ("your node: make it pass every part", kit.skeleton)
    };
    format!(
        "//! The {} lab: {what}.\n//! `cargo test` grades it (see README.md).\n\n{src}",
        kit.workload.name()
    )
}

/// The files the lab's examples name: its first part (to replay and view)
/// and its last (to shrink: the one with the most faults).
fn example_files(kit: &Kit) -> (String, String) {
    let first = kit.parts.first().map(|p| p.file()).unwrap_or_default();
    let last = kit.parts.last().map(|p| p.file()).unwrap_or_default();
    (first, last)
}

fn main_rs(kit: &Kit, lib: &str) -> String {
    let (first, _) = example_files(kit);
    format!(
        r#"//! This lab's own `chaoslab`: every chaoslab command, with your node as
//! protocol "{protocol}". `cargo run -- run {first} --seed 3`
//! replays a run, `cargo run -- tui {first} --seed 3` opens it
//! in the terminal UI, `cargo run -- shrink ...` cuts a failure down.

use chaoslab::nodes::maelstrom::Lab;
use chaoslab::sim::registry::Register;

fn main() {{
    let mut registry = chaoslab::Registry::builtin();
    registry
        .add::<Lab<{lib}::{node}>>()
        .scenarios(concat!(env!("CARGO_MANIFEST_DIR"), "/parts"))
        // Replay lines name the command that runs this binary.
        .program("cargo run --offline --");
    std::process::exit(chaoslab::main(registry));
}}
"#,
        protocol = kit.protocol,
        node = kit.node_type,
    )
}

fn grade_rs(kit: &Kit, lib: &str) -> String {
    let mut tests = String::new();
    for part in kit.parts {
        let fname = format!("part_{}_{}", part.number, part.name.replace(' ', "_"));
        tests.push_str(&format!(
            "\n/// {}\n#[test]\nfn {fname}() {{\n    grade_part({});\n}}\n",
            part.about, part.number
        ));
    }
    format!(
        r#"//! The grade, part by part: `cargo test` runs them all,
//! `cargo test part_1` one. A failing part prints what broke, on which
//! seed, and the command that replays it.

use chaoslab::nodes::maelstrom::grade::grade_lab;
use chaoslab::nodes::maelstrom::labs;
use {lib}::{node};

fn grade_part(number: u32) {{
    let kit = labs::kit("{workload}").expect("chaoslab has this lab");
    let grade = grade_lab::<{node}>(kit, &[number]);
    println!("{{grade}}");
    assert!(grade.passed(), "\n{{grade}}");
}}
{tests}"#,
        node = kit.node_type,
        workload = kit.workload.name(),
    )
}

fn readme(kit: &Kit, name: &str, checkout: &Path) -> String {
    let w = kit.workload.name();
    let (first, last) = example_files(kit);
    let mut parts = String::new();
    for p in kit.parts {
        parts.push_str(&format!(
            "- **Part {}, {}** (`{}`, seeds {}..={}): {}\n",
            p.number,
            p.name,
            p.file(),
            p.seeds.0,
            p.seeds.1,
            p.about
        ));
    }
    format!(
        r#"# {name}: Maelstrom's {w} workload, your node, chaoslab's faults

Written by `chaoslab lab new {w}` from the chaoslab checkout at
`{checkout}` (this crate depends on it by path). The lesson is
`docs/labs.md` there.

## Steps

1. `cargo test` grades the node in `src/lib.rs`, part by part. The skeleton
   answers `init` and the clients but fails: read the grade it prints.
   (The first build compiles chaoslab: a few minutes. To reuse chaoslab's
   own build, `export CARGO_TARGET_DIR={checkout}/target` first.)
2. Edit `src/lib.rs` until every part passes. `cargo test part_1` grades
   one part.
3. A failing part names the seed and the command that replays that exact
   run (the same seed always gives the same run):
   `cargo run -- run {first} --seed 3` prints its report;
   `cargo run -- tui {first} --seed 3` opens it in the
   terminal UI to step through the messages; `cargo run -- shrink
   {last} --seed 3` cuts it down to a smaller scenario
   that fails the same way.

## The parts

{parts}
The parts are scenario files in `parts/`: the faults, and the targets in
`[expect]`. The grade runs the versions built into chaoslab, so editing a
file changes what `cargo run -- run` replays, not the grade.
"#,
        checkout = checkout.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodes::maelstrom::labs::KITS;

    /// Every `parts/...toml` a generated README or main.rs names is a
    /// file the lab carries.
    #[test]
    fn each_kits_readme_and_main_name_only_files_the_lab_has() {
        for kit in KITS {
            let files = files(kit, "my-lab", false);
            let have: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
            for (path, text) in &files {
                if !(path == "README.md" || path == "src/main.rs") {
                    continue;
                }
                let mut named = 0;
                for (i, _) in text.match_indices("parts/") {
                    let rest = &text[i..];
                    let end = rest["parts/".len()..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
                        .map_or(rest.len(), |e| e + "parts/".len());
                    let file = rest[..end].trim_end_matches('.');
                    if !file.ends_with(".toml") {
                        continue;
                    }
                    named += 1;
                    assert!(
                        have.contains(&file),
                        "{} lab: {path} names {file}, not among {have:?}",
                        kit.workload.name()
                    );
                }
                assert!(named > 0, "{path} names no part file");
            }
        }
    }
}
