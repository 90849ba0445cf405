//! The registry the command line runs with: the protocols it knows and the
//! scenarios it lists. `Registry::builtin()` is chaoslab's own; an outside
//! crate adds its protocols and its scenario folder and hands the registry
//! to [`crate::main`]:
//!
//! ```ignore
//! use chaoslab::sim::registry::Register;
//! fn main() {
//!     let mut r = chaoslab::Registry::builtin();
//!     r.add::<lock_service::LockService>()
//!         .scenarios(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"));
//!     std::process::exit(chaoslab::main(r));
//! }
//! ```

use std::path::{Path, PathBuf};

use sim::kernel::{RunOutput, Running, TraceMode};
use sim::node::Node;
use sim::registry::{Catalog, Register, Spec};
use sim::scenario::{Scenario, ScenarioError};

use crate::scenarios::{self, LoadError};

/// The madsim driver's entry point for one protocol, made when it is added.
#[cfg(feature = "madsim")]
type Drive = fn(&Scenario, crate::driver::Options) -> Result<RunOutput, crate::driver::Error>;

/// Protocols and scenarios: everything the command line knows.
#[derive(Clone, Default)]
pub struct Registry {
    catalog: Catalog,
    /// The scenarios bundled in this binary (chaoslab's own), if held.
    bundled: bool,
    /// Folders of scenario files added with [`Registry::scenarios`].
    folders: Vec<PathBuf>,
    #[cfg(feature = "madsim")]
    drives: Vec<(&'static str, Drive)>,
    /// The program name set with [`Registry::program`].
    program: Option<String>,
}

/// A scenario the registry lists: its short name (`raft/leader-partition`),
/// the file it is read from (for messages), and its text.
#[derive(Clone, Debug)]
pub struct Listed {
    pub name: String,
    pub file: String,
    pub text: String,
}

impl Register for Registry {
    fn add<P>(&mut self) -> &mut Self
    where
        P: Spec + Send,
        P::Node: Send,
        <P::Node as Node>::Msg: Send,
    {
        self.catalog.add::<P>();
        #[cfg(feature = "madsim")]
        self.drives.push((P::NAME, crate::driver::drive::<P>));
        self
    }
}

impl Registry {
    /// No protocols and no scenarios: add your own (and, if you like,
    /// chaoslab's with `nodes::register_builtin(&mut r)`).
    pub fn new() -> Registry {
        Registry::default()
    }

    /// chaoslab's own protocols and its bundled scenarios.
    pub fn builtin() -> Registry {
        let mut r = Registry {
            bundled: true,
            ..Registry::default()
        };
        nodes::register_builtin(&mut r);
        r
    }

    /// Adds a folder of scenario files (`*.toml`, in sub-folders too): `list`
    /// shows them and `run NAME` finds them by their path in the folder
    /// without `.toml` (`lock/zombie`).
    pub fn scenarios(&mut self, folder: impl Into<PathBuf>) -> &mut Self {
        self.folders.push(folder.into());
        self
    }

    /// Names the program in every command the command line prints for the
    /// user to run: the report's replay line, `sweep`'s "replay the first
    /// failure", `shrink`'s messages and the shrunk file's header, `list`'s
    /// hint (`lock-service run lock/zombie --seed 3`).
    ///
    /// Without it the name is the file name of the running executable (the
    /// first of `std::env::args_os()`, without `.exe`): `chaoslab` for
    /// chaoslab's own binary, your binary's name for yours, whatever you
    /// rename it to. Only when the process gives no name is it `chaoslab`.
    /// Reports built in-process with `sim::report::Report::build` (tests)
    /// always name `chaoslab` ([`sim::report::DEFAULT_PROGRAM`]): only the
    /// command line names its program.
    pub fn program(&mut self, name: impl Into<String>) -> &mut Self {
        self.program = Some(name.into());
        self
    }

    /// The program name the command line prints: see [`Registry::program`].
    pub fn program_name(&self) -> String {
        if let Some(p) = &self.program {
            return p.clone();
        }
        std::env::args_os()
            .next()
            .and_then(|a| {
                Path::new(&a)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .map(|n| n.strip_suffix(".exe").map(str::to_string).unwrap_or(n))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| sim::report::DEFAULT_PROGRAM.to_string())
    }

    /// The protocols, as a bare table.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Parses a scenario naming one of these protocols.
    pub fn parse(&self, file: &str, src: &str) -> Result<Scenario, ScenarioError> {
        self.catalog.parse(file, src)
    }

    /// Runs a scenario parsed by this registry on the kernel.
    pub fn run(
        &self,
        s: &Scenario,
        seed: u64,
        trace: TraceMode,
    ) -> Result<RunOutput, ScenarioError> {
        self.catalog.run(s, seed, trace)
    }

    /// Starts a stepped run of a scenario parsed by this registry.
    pub fn start<'s>(
        &self,
        s: &'s Scenario,
        seed: u64,
        trace: TraceMode,
    ) -> Result<Box<dyn Running + 's>, ScenarioError> {
        self.catalog.start(s, seed, trace)
    }

    /// Runs a scenario parsed by this registry on the madsim driver.
    #[cfg(feature = "madsim")]
    pub fn drive(
        &self,
        s: &Scenario,
        opts: crate::driver::Options,
    ) -> Result<RunOutput, crate::driver::Error> {
        let (_, drive) = self
            .drives
            .iter()
            .find(|(name, _)| *name == s.protocol)
            .unwrap_or_else(|| {
                panic!(
                    "scenario {} names protocol {:?}, which this registry does not hold",
                    s.file, s.protocol
                )
            });
        drive(s, opts)
    }

    /// Every scenario this registry lists: the bundled ones (if held), then
    /// each folder's, sorted by path. A folder that cannot be read lists
    /// nothing.
    pub fn list(&self) -> Vec<Listed> {
        let mut out: Vec<Listed> = Vec::new();
        if self.bundled {
            out.extend(scenarios::BUNDLED.iter().map(|(name, file, text)| Listed {
                name: name.to_string(),
                file: file.to_string(),
                text: text.to_string(),
            }));
        }
        for folder in &self.folders {
            let mut files = Vec::new();
            crate::scenario_files::collect(folder, &mut files);
            for f in files {
                let Ok(text) = std::fs::read_to_string(&f) else {
                    continue;
                };
                let rel = f.strip_prefix(folder).unwrap_or(&f);
                let name = rel.with_extension("").to_string_lossy().replace('\\', "/");
                out.push(Listed {
                    name,
                    file: f.to_string_lossy().into_owned(),
                    text,
                });
            }
        }
        out
    }

    /// The listed scenario named `name`.
    pub fn find(&self, name: &str) -> Option<Listed> {
        self.list().into_iter().find(|l| l.name == name)
    }

    /// The scenario `chaoslab` runs with no arguments: chaoslab's default
    /// when the bundled scenarios are held, else the first one listed.
    pub fn default_scenario(&self) -> Option<String> {
        if self.bundled {
            return Some(scenarios::DEFAULT.to_string());
        }
        self.list().into_iter().next().map(|l| l.name)
    }

    /// [`Registry::load`] for a command: on bad input it prints why and
    /// gives `None`, and the command exits with [`crate::exit::BAD_INPUT`].
    pub(crate) fn load_or_explain(&self, name: Option<&str>) -> Option<Scenario> {
        self.load(name).map_err(|e| eprintln!("{}", e.0)).ok()
    }

    /// Loads `arg` as a path, else as a listed name (`raft/leader-partition`),
    /// else fails saying what exists. `None` is the default scenario.
    pub fn load(&self, arg: Option<&str>) -> Result<Scenario, LoadError> {
        scenarios::load_in(self, arg)
    }
}

#[cfg(test)]
mod tests {
    use super::Registry;

    #[test]
    fn the_program_name_is_the_one_set_else_the_running_executable() {
        assert_eq!(
            Registry::builtin().program("lock-service").program_name(),
            "lock-service"
        );
        let exe = std::env::args_os().next().unwrap();
        let exe = std::path::Path::new(&exe)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            Registry::new().program_name(),
            exe.strip_suffix(".exe").unwrap_or(&exe)
        );
    }
}
