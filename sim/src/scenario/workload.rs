//! `[workload]`: what clients ask, how often, and how they retry.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::client::{ClientConfig, RetryPolicy};
use crate::time::{serde_duration, Nanos};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyDist {
    Uniform,
    Zipf,
}

/// The share of each kind of operation; they need not sum to one.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpMix {
    #[serde(default)]
    pub get: f64,
    #[serde(default)]
    pub put: f64,
    #[serde(default)]
    pub cas: f64,
    #[serde(default)]
    pub append: f64,
    #[serde(default)]
    pub delete: f64,
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix {
            get: 0.5,
            put: 0.5,
            cas: 0.0,
            append: 0.0,
            delete: 0.0,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Operations per second each client starts (the mean of an exponential
    /// think time); a client waits for its open operation before the next.
    #[serde(default = "default_rate")]
    pub rate: Spanned<f64>,
    #[serde(default = "default_keys")]
    pub keys: Spanned<u32>,
    #[serde(default = "default_key_dist")]
    pub key_dist: KeyDist,
    /// The zipf exponent when `key_dist = "zipf"` (1.0 is classic zipf).
    #[serde(default = "default_zipf")]
    pub zipf_exponent: Spanned<f64>,
    #[serde(default = "default_mix")]
    pub mix: Spanned<OpMix>,
    /// How long one attempt waits for a reply.
    #[serde(default = "default_timeout", with = "serde_duration")]
    pub timeout: Nanos,
    #[serde(default = "default_retry")]
    pub retry: RetryPolicy,
    #[serde(default, with = "serde_duration")]
    pub start: Nanos,
    /// When clients stop starting operations (default: the run's duration).
    #[serde(default, with = "serde_duration::option")]
    pub stop: Option<Nanos>,
}

fn default_mix() -> Spanned<OpMix> {
    Spanned::new(0..0, OpMix::default())
}
fn default_rate() -> Spanned<f64> {
    Spanned::new(0..0, 10.0)
}
fn default_keys() -> Spanned<u32> {
    Spanned::new(0..0, 5)
}
fn default_key_dist() -> KeyDist {
    KeyDist::Uniform
}
fn default_zipf() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}
fn default_timeout() -> Nanos {
    500_000_000
}

/// The shortest `[workload] timeout` a scenario may set (see the check in
/// `Scenario::parse`): shorter attempts only burn events.
pub const MIN_CLIENT_TIMEOUT: Nanos = crate::time::NANOS_PER_MICRO * 100;
/// The most attempts a client's retry policy may make for one operation.
pub const MAX_CLIENT_ATTEMPTS: u32 = 1_000;
fn default_retry() -> RetryPolicy {
    RetryPolicy::None
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            rate: default_rate(),
            keys: default_keys(),
            key_dist: KeyDist::Uniform,
            zipf_exponent: default_zipf(),
            mix: Spanned::new(0..0, OpMix::default()),
            timeout: default_timeout(),
            retry: RetryPolicy::None,
            start: 0,
            stop: None,
        }
    }
}

impl Workload {
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            timeout: self.timeout,
            retry: self.retry.clone(),
        }
    }
}
