//! Random durations with the same bits on every machine: the service times of
//! a queueing service, the gaps of an arrival process.
//!
//! `f64::ln` and `f64::powf` call the platform's maths library, whose last
//! bit may differ between machines; a run must not. Every draw here goes
//! through `libm`, a pure-Rust port of musl's maths, from a uniform
//! `rng.gen::<f64>()` (53 random bits, the same on every machine), so one
//! seed gives one run everywhere.

use rand::Rng;
use serde::Deserialize;

use crate::time::{fmt_duration, Nanos};

/// An exponential draw with mean 1: `-ln(1 - u)`, `u` uniform in `[0, 1)`.
pub fn exp1<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u: f64 = rng.gen();
    -libm::log1p(-u)
}

/// Seconds as nanoseconds, rounded, saturating (a heavy tail may draw a
/// duration longer than any run).
pub fn secs_to_nanos(s: f64) -> Nanos {
    let ns = (s * 1e9).round();
    if ns >= u64::MAX as f64 {
        u64::MAX
    } else if ns <= 0.0 {
        0
    } else {
        ns as Nanos
    }
}

/// A distribution of durations (`service = { dist = "exponential", mean =
/// "10ms" }` in a scenario): exponential, constant, a Pareto heavy tail,
/// or two modes.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Memoryless: the "M" of M/M/1.
    Exponential { mean: Nanos },
    /// Always the same: the "D" of M/D/1.
    Constant { value: Nanos },
    /// Pareto with tail index `shape` (> 1, so the mean exists), scaled to
    /// `mean`: most draws are short, a few are very long.
    Pareto { mean: Nanos, shape: f64 },
    /// `slow` with probability `slow_share`, else `fast`: a cache hit or a
    /// miss, a fast path or a slow one.
    Bimodal {
        fast: Nanos,
        slow: Nanos,
        slow_share: f64,
    },
}

/// A [`Dist`] as a scenario writes it, before it is checked.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DistSpec {
    pub dist: Option<String>,
    #[serde(default, with = "crate::time::serde_duration::option")]
    pub mean: Option<Nanos>,
    #[serde(default, with = "crate::time::serde_duration::option")]
    pub value: Option<Nanos>,
    pub shape: Option<f64>,
    #[serde(default, with = "crate::time::serde_duration::option")]
    pub fast: Option<Nanos>,
    #[serde(default, with = "crate::time::serde_duration::option")]
    pub slow: Option<Nanos>,
    pub slow_share: Option<f64>,
}

/// What a scenario may write for `dist`.
pub const DISTS: &str =
    "\"exponential\" (mean), \"constant\" (value), \"pareto\" (mean, shape > 1) or \"bimodal\" (fast, slow, slow_share)";

impl DistSpec {
    /// The distribution this describes, or what is wrong with it (for the
    /// field `field`, say `service`).
    pub fn check(&self, field: &str) -> Result<Dist, String> {
        let Some(dist) = self.dist.as_deref() else {
            return Err(format!(
                "{field} needs a dist: {DISTS}, e.g. {field} = {{ dist = \"exponential\", mean = \"10ms\" }}"
            ));
        };
        let unused = |allowed: &[&str]| -> Result<(), String> {
            let given = [
                ("mean", self.mean.is_some()),
                ("value", self.value.is_some()),
                ("shape", self.shape.is_some()),
                ("fast", self.fast.is_some()),
                ("slow", self.slow.is_some()),
                ("slow_share", self.slow_share.is_some()),
            ];
            match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
                Some((k, _)) => Err(format!(
                    "{field}: dist = \"{dist}\" takes {}; {k} does not apply",
                    allowed.join(", ")
                )),
                None => Ok(()),
            }
        };
        let need = |v: Option<Nanos>, k: &str, example: &str| -> Result<Nanos, String> {
            match v {
                Some(0) => Err(format!(
                    "{field}: {k} = \"0s\": must be more than zero, e.g. {k} = \"{example}\""
                )),
                Some(v) => Ok(v),
                None => Err(format!(
                    "{field}: dist = \"{dist}\" needs {k}, e.g. {k} = \"{example}\""
                )),
            }
        };
        match dist {
            "exponential" => {
                unused(&["mean"])?;
                Ok(Dist::Exponential {
                    mean: need(self.mean, "mean", "10ms")?,
                })
            }
            "constant" => {
                unused(&["value"])?;
                Ok(Dist::Constant {
                    value: need(self.value, "value", "10ms")?,
                })
            }
            "pareto" => {
                unused(&["mean", "shape"])?;
                let mean = need(self.mean, "mean", "10ms")?;
                let shape = self.shape.ok_or_else(|| {
                    format!("{field}: dist = \"pareto\" needs shape (the tail index, more than 1), e.g. shape = 1.5")
                })?;
                if !(shape > 1.0 && shape <= 100.0) {
                    return Err(format!(
                        "{field}: shape = {shape}: must be more than 1 (else the mean is infinite) and at most 100, e.g. shape = 1.5"
                    ));
                }
                Ok(Dist::Pareto { mean, shape })
            }
            "bimodal" => {
                unused(&["fast", "slow", "slow_share"])?;
                let fast = need(self.fast, "fast", "5ms")?;
                let slow = need(self.slow, "slow", "100ms")?;
                let slow_share = self.slow_share.ok_or_else(|| {
                    format!("{field}: dist = \"bimodal\" needs slow_share (between 0 and 1), e.g. slow_share = 0.05")
                })?;
                if !(0.0..=1.0).contains(&slow_share) {
                    return Err(format!(
                        "{field}: slow_share = {slow_share}: must be between 0 and 1, e.g. slow_share = 0.05"
                    ));
                }
                Ok(Dist::Bimodal {
                    fast,
                    slow,
                    slow_share,
                })
            }
            other => Err(format!(
                "{field}: dist = \"{other}\" is not a distribution; use {DISTS}"
            )),
        }
    }
}

impl Dist {
    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Nanos {
        match *self {
            Dist::Exponential { mean } => secs_to_nanos(exp1(rng) * mean as f64 / 1e9),
            Dist::Constant { value } => value,
            Dist::Pareto { mean, shape } => {
                // Scale x_m so that the mean x_m * shape / (shape - 1) is `mean`;
                // a draw is x_m * U^(-1/shape), U uniform in (0, 1].
                let xm = mean as f64 * (shape - 1.0) / shape;
                let u = 1.0 - rng.gen::<f64>();
                secs_to_nanos(xm * libm::pow(u, -1.0 / shape) / 1e9)
            }
            Dist::Bimodal {
                fast,
                slow,
                slow_share,
            } => {
                if rng.gen::<f64>() < slow_share {
                    slow
                } else {
                    fast
                }
            }
        }
    }

    /// The mean, in nanoseconds.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Exponential { mean } | Dist::Pareto { mean, .. } => mean as f64,
            Dist::Constant { value } => value as f64,
            Dist::Bimodal {
                fast,
                slow,
                slow_share,
            } => fast as f64 * (1.0 - slow_share) + slow as f64 * slow_share,
        }
    }

    /// The second moment E[S^2], in nanoseconds squared; `None` when it is
    /// infinite (a Pareto tail with shape 2 or less).
    pub fn second_moment(&self) -> Option<f64> {
        match *self {
            Dist::Exponential { mean } => Some(2.0 * mean as f64 * mean as f64),
            Dist::Constant { value } => Some(value as f64 * value as f64),
            Dist::Pareto { mean, shape } => {
                if shape <= 2.0 {
                    return None;
                }
                let xm = mean as f64 * (shape - 1.0) / shape;
                Some(shape * xm * xm / (shape - 2.0))
            }
            Dist::Bimodal {
                fast,
                slow,
                slow_share,
            } => Some(
                fast as f64 * fast as f64 * (1.0 - slow_share)
                    + slow as f64 * slow as f64 * slow_share,
            ),
        }
    }

    /// Whether it is exponential: the "M" that queueing formulas assume.
    pub fn is_exponential(&self) -> bool {
        matches!(self, Dist::Exponential { .. })
    }

    /// In words: `exponential, mean 10ms`.
    pub fn describe(&self) -> String {
        match *self {
            Dist::Exponential { mean } => format!("exponential, mean {}", fmt_duration(mean)),
            Dist::Constant { value } => format!("constant {}", fmt_duration(value)),
            Dist::Pareto { mean, shape } => {
                format!("pareto, mean {}, shape {shape}", fmt_duration(mean))
            }
            Dist::Bimodal {
                fast,
                slow,
                slow_share,
            } => format!(
                "bimodal, {} or {} ({}% slow)",
                fmt_duration(fast),
                fmt_duration(slow),
                slow_share * 100.0
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ms;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const PINNED: [u64; 3] = [
        4602813720010278280,
        4590702758474864134,
        4606351306057267557,
    ];

    fn mean_of(d: &Dist, n: usize) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        (0..n).map(|_| d.sample(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn each_distribution_draws_around_its_mean() {
        for d in [
            Dist::Exponential { mean: ms(10) },
            Dist::Constant { value: ms(10) },
            Dist::Bimodal {
                fast: ms(5),
                slow: ms(105),
                slow_share: 0.05,
            },
        ] {
            let m = mean_of(&d, 200_000);
            assert!((m / d.mean() - 1.0).abs() < 0.02, "{d:?}: {m}");
        }
        // A Pareto tail with shape 2.5 converges slowly; 3% is plenty.
        let p = Dist::Pareto {
            mean: ms(10),
            shape: 2.5,
        };
        let m = mean_of(&p, 400_000);
        assert!((m / p.mean() - 1.0).abs() < 0.03, "{m}");
    }

    #[test]
    fn the_same_seed_draws_the_same_bits() {
        // Pinned: a change of draw (or of maths library) changes every run,
        // and this test says so before the snapshots do.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let draws: Vec<u64> = (0..3).map(|_| exp1(&mut rng).to_bits()).collect();
        assert_eq!(draws, PINNED, "{draws:?}");
    }

    #[test]
    fn a_bad_distribution_is_refused_with_what_would_be_valid() {
        let spec = |dist: &str| DistSpec {
            dist: Some(dist.into()),
            ..DistSpec::default()
        };
        let e = spec("gamma").check("service").unwrap_err();
        assert!(e.contains("\"exponential\""), "{e}");
        let e = spec("exponential").check("service").unwrap_err();
        assert!(e.contains("needs mean"), "{e}");
        let e = DistSpec {
            shape: Some(0.9),
            mean: Some(ms(1)),
            ..spec("pareto")
        }
        .check("service")
        .unwrap_err();
        assert!(e.contains("more than 1"), "{e}");
        let e = DistSpec {
            value: Some(ms(1)),
            ..spec("exponential")
        }
        .check("service")
        .unwrap_err();
        assert!(e.contains("value does not apply"), "{e}");
        assert!(DistSpec::default().check("service").is_err());
    }
}
