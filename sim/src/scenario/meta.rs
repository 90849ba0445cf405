//! `[meta]`: the run's name, duration, seed, and budgets for checking.

use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::time::{serde_duration, Nanos};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The lesson in docs/ this scenario belongs to.
    #[serde(default)]
    pub lesson: Option<String>,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How much virtual time the run lasts.
    #[serde(with = "serde_duration")]
    pub duration: Nanos,
    /// The most events the run may process before it is stopped (and fails):
    /// a bound so that no scenario can run for ever.
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Search steps the linearizability check may take before it answers
    /// "undecided" (default: [`DEFAULT_CHECK_MAX_STEPS`]). A step count, so the
    /// verdict is the same on every machine.
    #[serde(default)]
    pub check_max_steps: Option<u64>,
    /// Memory the linearizability search may hold, e.g. "2GiB" or a number
    /// of bytes (default 1GiB).
    #[serde(default)]
    pub check_max_memory: Option<Spanned<Size>>,
}

/// The linearizability search's default step budget for a run.
pub const DEFAULT_CHECK_MAX_STEPS: u64 = 10_000_000;
/// The linearizability search's default memory cap for a run: 1 GiB.
pub const DEFAULT_CHECK_MAX_MEMORY: u64 = 1 << 30;

impl Meta {
    /// The step budget of this scenario's linearizability check.
    pub fn check_steps(&self) -> u64 {
        self.check_max_steps.unwrap_or(DEFAULT_CHECK_MAX_STEPS)
    }
    /// Sets the memory cap, written as a size a person reads ("4GiB") when
    /// that is exact, else as a number of bytes.
    pub fn set_check_max_memory(&mut self, bytes: u64) {
        let shown = fmt_size(bytes);
        let size = if parse_size(&shown) == Ok(bytes) {
            Size::Text(shown)
        } else {
            Size::Bytes(i64::try_from(bytes).unwrap_or(i64::MAX))
        };
        self.check_max_memory = Some(Spanned::new(0..0, size));
    }

    /// The memory cap of this scenario's linearizability check, in bytes.
    pub fn check_memory(&self) -> u64 {
        self.check_max_memory
            .as_ref()
            .and_then(|m| m.get_ref().bytes().ok())
            .unwrap_or(DEFAULT_CHECK_MAX_MEMORY)
    }
}

/// A memory size in a scenario: a number of bytes (`1073741824`) or a text
/// with a unit (`"1GiB"`, see [`parse_size`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Size {
    Bytes(i64),
    Text(String),
}

impl Size {
    /// The size in bytes, as a memory budget (see [`parse_memory_budget`]).
    pub fn bytes(&self) -> Result<u64, String> {
        match self {
            Size::Bytes(n) => parse_memory_budget(&n.to_string()),
            Size::Text(t) => parse_memory_budget(t),
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: a number of bytes or a text such as \"512MiB\" or \"2GiB\"")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Size, E> {
                Ok(Size::Bytes(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Size, E> {
                i64::try_from(v)
                    .map(Size::Bytes)
                    .map_err(|_| E::custom(format!("{v} bytes is too large")))
            }
            fn visit_str<E>(self, v: &str) -> Result<Size, E> {
                Ok(Size::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The smallest memory budget the linearizability search accepts: less
/// cannot hold a search of any size, and the checker counts its memo in MiB.
pub const MIN_CHECK_MAX_MEMORY: u64 = 1 << 20;

/// A memory budget for the linearizability search: a size ([`parse_size`])
/// of at least 1MiB.
pub fn parse_memory_budget(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if bytes < MIN_CHECK_MAX_MEMORY {
        return Err(format!(
            "`{text}` is too small for the search's memory: write at least 1MiB (the default is 1GiB)"
        ));
    }
    Ok(bytes)
}

/// A size such as "512MiB", "2GiB", "4GB" or "1048576" (bytes). Decimal (KB,
/// MB, GB) and binary (KiB, MiB, GiB) units are both accepted.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("`{text}` is not a size: write e.g. \"512MiB\" or \"2GiB\"");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" | "KiB" => 1024.0,
        "KB" => 1e3,
        "M" | "MiB" => 1024.0 * 1024.0,
        "MB" => 1e6,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "GB" => 1e9,
        "T" | "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "TB" => 1e12,
        _ => return Err(bad()),
    };
    let bytes = n * scale;
    if bytes >= u64::MAX as f64 {
        return Err(format!(
            "`{text}` is too large: a size is at most 16EiB (e.g. \"64GiB\")"
        ));
    }
    if bytes < 1.0 {
        return Err(format!("`{text}`: a size must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

/// A size in bytes as a person reads it: "1GiB", "512MiB", "1500B".
pub fn fmt_size(bytes: u64) -> String {
    for (unit, scale) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= scale && bytes % scale == 0 {
            return format!("{}{unit}", bytes / scale);
        }
    }
    for (unit, scale) in [("GiB", 1u64 << 30), ("MiB", 1 << 20)] {
        if bytes >= scale {
            return format!("{:.1}{unit}", bytes as f64 / scale as f64);
        }
    }
    format!("{bytes}B")
}

pub const DEFAULT_MAX_EVENTS: u64 = 200_000_000;

fn default_max_events() -> u64 {
    DEFAULT_MAX_EVENTS
}

fn default_seed() -> u64 {
    1
}
