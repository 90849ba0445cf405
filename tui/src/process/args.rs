//! `chaoslab run`'s flags for a run of node processes (`--bin` and the
//! flags that go with it), and the options they give.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::path::PathBuf;
use std::time::Duration;

use sim::kernel::TraceMode;

use super::{Options, INIT_TIMEOUT_DEFAULT_S};

/// The longest `--init-timeout`: a day.
const INIT_TIMEOUT_MAX_S: f64 = 86_400.0;

/// `chaoslab run`'s flags for nodes that are processes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ProcessArgs {
    /// Run every server as a process of PROGRAM: a Maelstrom node in any
    /// language (JSON lines on stdin and stdout), under the scenario's
    /// workload, checker, network and faults. The scenario must be of
    /// protocol "maelstrom" (scenarios/labs/). Crash is SIGKILL, restart a
    /// new process that gets init again, pause SIGSTOP, resume SIGCONT.
    /// The run is in real time, so not bit-for-bit reproducible: the seed
    /// fixes the workload and the fault schedule. A node that does not
    /// answer init, prints a line that is not a Maelstrom message, exits by
    /// itself or floods stops the run: exit code 5. See docs/labs.md,
    /// "Bring a node written for Maelstrom".
    #[arg(long, value_name = "PROGRAM", conflicts_with = "driver")]
    pub bin: Option<String>,
    /// An argument for PROGRAM (repeat it for more: --bin python3
    /// --bin-arg node.py).
    #[arg(long = "bin-arg", value_name = "ARG", requires = "bin", allow_hyphen_values = true,
          action = clap::ArgAction::Append)]
    pub bin_args: Vec<String>,
    /// With --bin: virtual seconds per real second (default 1; from 0.001
    /// to 1000). 2 runs a
    /// 12s scenario in 6s of wall time, every latency, timeout and fault
    /// time halved in real time; the nodes' own timers are real time.
    #[arg(long, value_name = "F", requires = "bin")]
    pub time_scale: Option<f64>,
    /// With --bin: how long (real seconds) a process may take to answer
    /// init (default 10, at most 86400).
    #[arg(long, value_name = "SECONDS", requires = "bin")]
    pub init_timeout: Option<f64>,
    /// With --bin: the folder for each node's stderr (n1.stderr, ...;
    /// every life of a node appends to its file). Default: a new folder
    /// in the system's temporary folder, named in the report.
    #[arg(long, value_name = "DIR", requires = "bin")]
    pub node_stderr: Option<PathBuf>,
}

impl ProcessArgs {
    /// These flags as written on a command line (to rerun with them).
    pub fn flags(&self) -> String {
        let mut out = String::new();
        if let Some(bin) = &self.bin {
            out.push_str(&format!(" --bin {}", quote(bin)));
        }
        for a in &self.bin_args {
            out.push_str(&format!(" --bin-arg {}", quote(a)));
        }
        if let Some(t) = self.time_scale {
            out.push_str(&format!(" --time-scale {t}"));
        }
        if let Some(t) = self.init_timeout {
            out.push_str(&format!(" --init-timeout {t}"));
        }
        out
    }

    /// The options of a run of scenario `s` with these flags.
    pub fn options(&self, seed: u64, trace: TraceMode) -> Result<Options, String> {
        let shown = self.bin.clone().expect("called with --bin");
        // A file in the current folder (or a path) is run as that file, as
        // Maelstrom runs `--bin`; a bare name that is not a file here is
        // looked up on PATH (`--bin python3 --bin-arg node.py`).
        let path = PathBuf::from(&shown);
        let bin = if path.is_file() {
            if !executable(&path) {
                return Err(format!(
                    "error: --bin {shown}: the file is not executable (a script needs its #! line and the executable bit: chmod +x {shown}; or run it through its interpreter: --bin python3 --bin-arg {shown})"
                ));
            }
            std::fs::canonicalize(&path).unwrap_or(path)
        } else if shown.contains('/') {
            return Err(format!(
                "error: --bin {shown}: no such file (the path is taken from the current folder, {})",
                std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            ));
        } else {
            let found = std::env::var_os("PATH").and_then(|dirs| {
                std::env::split_paths(&dirs)
                    .map(|d| d.join(&shown))
                    .find(|p| p.is_file() && executable(p))
            });
            if found.is_none() {
                return Err(format!(
                    "error: --bin {shown}: no such file in the current folder, and no program of that name on PATH (a file here is named with its path: --bin ./{shown})"
                ));
            }
            path
        };
        let init = self.init_timeout.unwrap_or(INIT_TIMEOUT_DEFAULT_S);
        if !(init > 0.0 && init <= INIT_TIMEOUT_MAX_S) {
            return Err(format!(
                "error: --init-timeout must be a number of seconds above 0 and at most {INIT_TIMEOUT_MAX_S} (a day), not {init:?}"
            ));
        }
        let stderr_dir = match &self.node_stderr {
            Some(d) => d.clone(),
            None => {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                std::env::temp_dir().join(format!("chaoslab-nodes-{}-{stamp}", std::process::id()))
            }
        };
        Ok(Options {
            bin,
            shown,
            args: self.bin_args.clone(),
            seed,
            trace,
            time_scale: self.time_scale.unwrap_or(1.0),
            init_timeout: Duration::from_secs_f64(init),
            stderr_dir,
        })
    }
}

/// Whether the file at `path` has an executable bit set.
fn executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// A word as a shell reads it back.
fn quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}
