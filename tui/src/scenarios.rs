//! Finding a scenario: a file on disk, one a registry lists by name, or the
//! registry's default (see [`crate::Registry::load`]).

use sim::scenario::Scenario;

use crate::Registry;

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The scenario `chaoslab` runs with no arguments.
pub const DEFAULT: &str = "single/normal";

/// What went wrong loading a scenario: always a user error (exit code 2).
pub struct LoadError(pub String);

/// Loads `arg` as a path, else as a name `registry` lists
/// (`raft/leader-partition`), else fails saying what exists. `None` is the
/// registry's default scenario.
pub fn load_in(registry: &Registry, arg: Option<&str>) -> Result<Scenario, LoadError> {
    let (file, text) = match arg {
        None => match registry.default_scenario().and_then(|n| registry.find(&n)) {
            Some(l) => ("<built-in>".to_string(), l.text),
            None => {
                return Err(LoadError(
                    "error: no scenario given, and this chaoslab lists none to default to".into(),
                ))
            }
        },
        Some(a) => match std::fs::read_to_string(a) {
            Ok(text) => (a.to_string(), text),
            Err(e) if std::path::Path::new(a).exists() => {
                return Err(LoadError(format!("error: cannot read {a}: {e}")))
            }
            Err(_) => {
                match registry.find(a.trim_end_matches(".toml").trim_start_matches("scenarios/")) {
                    Some(l) => (l.name, l.text),
                    None => {
                        return Err(LoadError(format!(
                            "error: no file `{a}` and no bundled scenario by that name\n\
                         `{} list` shows the bundled scenarios; a path must point to a TOML file",
                            registry.program_name()
                        )))
                    }
                }
            }
        },
    };
    registry
        .parse(&file, &text)
        .map_err(|e| LoadError(e.to_string()))
}
