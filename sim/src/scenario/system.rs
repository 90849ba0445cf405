//! `[system]`, `[topology]` and `[network]`: what runs, on which nodes, over
//! which network; a protocol reads its own `[system]` parameters here.

use indexmap::IndexMap;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::ScenarioError;
use super::expect::serde_share;
use super::spans::SpanTree;
use super::Scenario;
use crate::network::LatencyDist;
use crate::time::{fmt_duration, parse_duration};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub servers: Spanned<u32>,
    #[serde(default)]
    pub clients: u32,
    /// Region name to the nodes in it. Nodes not named sit in no region and use
    /// the network's default latency.
    #[serde(default)]
    pub regions: IndexMap<String, Vec<Spanned<String>>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default = "default_latency")]
    pub latency: LatencyDist,
    #[serde(default = "zero_prob", deserialize_with = "serde_share::spanned")]
    pub loss: Spanned<f64>,
    #[serde(default = "zero_prob", deserialize_with = "serde_share::spanned")]
    pub duplicate: Spanned<f64>,
    /// Every link delivers in order (TCP-like); otherwise jitter reorders.
    #[serde(default)]
    pub fifo: bool,
    /// Latency between regions (symmetric), overriding `latency`.
    #[serde(default)]
    pub region_latency: Vec<RegionLatency>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency: default_latency(),
            loss: Spanned::new(0..0, 0.0),
            duplicate: Spanned::new(0..0, 0.0),
            fifo: false,
            region_latency: Vec::new(),
        }
    }
}

fn zero_prob() -> Spanned<f64> {
    Spanned::new(0..0, 0.0)
}

fn default_latency() -> LatencyDist {
    LatencyDist::Uniform {
        min: 1_000_000,
        max: 3_000_000,
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegionLatency {
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub latency: LatencyDist,
}

/// The document seen by a protocol: only `[system]` is read, every other
/// section is skipped (it was checked already).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemDoc<P> {
    system: P,
    #[allow(dead_code)]
    meta: IgnoredAny,
    #[allow(dead_code)]
    topology: IgnoredAny,
    #[allow(dead_code)]
    network: Option<IgnoredAny>,
    #[allow(dead_code)]
    workload: Option<IgnoredAny>,
    #[allow(dead_code)]
    faults: Option<IgnoredAny>,
    #[allow(dead_code)]
    nemesis: Option<IgnoredAny>,
    #[allow(dead_code)]
    expect: Option<IgnoredAny>,
    #[allow(dead_code)]
    explore: Option<IgnoredAny>,
    #[allow(dead_code)]
    schedule: Option<IgnoredAny>,
}

/// Parses a protocol's parameters from `[system]`. `P` should be
/// `#[serde(deny_unknown_fields)]`, so that a misspelt parameter is an error
/// with its line and the list of valid names; it reads the `protocol` key
/// too unless wrapped (the registry reads `Spec::Params` without it).
pub fn parse_system<P: DeserializeOwned>(scenario: &Scenario) -> Result<P, ScenarioError> {
    toml::from_str::<SystemDoc<P>>(&scenario.source)
        .map(|d| d.system)
        .map_err(|e| ScenarioError::from_toml(&scenario.file, &scenario.source, e))
}

impl Scenario {
    /// Checks the `[system]` fields that name a time of the run against its
    /// end, and keeps them for [`Scenario::latest_named_time`]. `fields` is
    /// the protocol's explicit list: `"converge_by"` names a key, and
    /// `"joins.at"` the `at` of every table in the array `joins`. Fields
    /// that are waits (`sloppy_after`) are not times of the run and are not
    /// listed, so they are not checked here.
    pub fn check_run_times(&mut self, fields: &[&str]) -> Result<(), ScenarioError> {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(default)]
            system: Option<SpanTree>,
        }
        let doc: Doc = match toml::from_str(&self.source) {
            Ok(doc) => doc,
            // Scenario::parse already read this text; nothing to add.
            Err(_) => return Ok(()),
        };
        let Some(system) = doc.system else {
            return Ok(());
        };
        let end = self.meta.duration;
        let mut times = Vec::new();
        for field in fields {
            let mut found = Vec::new();
            let path: Vec<&str> = field.split('.').collect();
            system.find(&path, "[system] ", &mut found);
            for (label, text, span) in found {
                let t = parse_duration(&text).map_err(|m| {
                    ScenarioError::at(
                        &self.file,
                        &self.source,
                        span.clone(),
                        format!("{label}: {m}"),
                    )
                })?;
                if t > end {
                    return Err(ScenarioError::at(
                        &self.file,
                        &self.source,
                        span,
                        format!(
                            "{label} = \"{}\" is past the end of the run ([meta] duration = \"{}\"): it would never happen; move it before {} or make the run longer",
                            text.trim(),
                            fmt_duration(end),
                            fmt_duration(end)
                        ),
                    ));
                }
                times.push(t);
            }
        }
        self.system_times = times;
        Ok(())
    }
}
