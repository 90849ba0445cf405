//! Shards: one share of a sweep's seeds, so that N machines sweep one range.
//!
//! Seeds are dealt like cards: the seed at index `i` of the range (seed
//! `first + i`) goes to shard `i mod N`. Dealing, rather than cutting the range
//! into blocks, gives every shard the same number of seeds give or take one and
//! spreads any stretch of slow seeds over all of them; each shard's first seeds
//! are also the range's first ones, so the lowest failing seed turns up early
//! wherever it is.

use std::fmt;

/// Shard `index` of `count`, counted from 0 (`0/4` to `3/4`), as Kubernetes
/// counts a Job's completion indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The whole range as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// The range's indexes (seed minus `first`) this shard holds, of `total`.
    pub fn indexes(self, total: u64) -> impl Iterator<Item = u64> {
        (self.index..total).step_by(self.count.max(1) as usize)
    }

    /// How many of `total` seeds this shard holds.
    pub fn len(self, total: u64) -> u64 {
        total.saturating_sub(self.index).div_ceil(self.count)
    }

    /// Whether `seed` of the range `first..` is this shard's.
    pub fn holds(self, first: u64, seed: u64) -> bool {
        seed >= first && (seed - first) % self.count == self.index
    }

    /// This shard's seeds of `first..=last`, in words: `3, 7, 11, ..., 39
    /// (every 4th seed from 3)`.
    pub fn describe(self, first: u64, last: u64) -> String {
        let total = last - first + 1;
        let seeds: Vec<u64> = self.indexes(total).map(|i| first + i).collect();
        match seeds.as_slice() {
            [] => "no seeds (the range is smaller than the shard count)".into(),
            [one] => format!("seed {one}"),
            _ if self.count == 1 => format!("seeds {first}..{last}"),
            [a, b, c, ..] if seeds.len() > 4 => format!(
                "seeds {a}, {b}, {c}, ..., {} (every {} seed from {a})",
                seeds[seeds.len() - 1],
                ordinal(self.count)
            ),
            some => format!(
                "seeds {}",
                some.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `--shard`: a shard given as `K/N`, or `auto` (from a job array's
/// environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardArg {
    Given(Shard),
    Auto,
}

/// Parses `--shard`'s value.
pub fn parse_shard(s: &str) -> Result<ShardArg, String> {
    if s.trim() == "auto" {
        return Ok(ShardArg::Auto);
    }
    let bad = || {
        format!(
            "`{s}`: write K/N, shard K of N counted from 0 (0/4, 1/4, 2/4, 3/4), \
             or `auto` to read K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID"
        )
    };
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let index: u64 = k.trim().parse().map_err(|_| bad())?;
    let count: u64 = n.trim().parse().map_err(|_| bad())?;
    if count == 0 {
        return Err(format!("`{s}`: the shard count N must be at least 1"));
    }
    if count > MAX_SHARDS {
        return Err(format!(
            "`{s}`: at most {MAX_SHARDS} shards (a sweep holds at most a million seeds)"
        ));
    }
    if index >= count {
        return Err(format!(
            "`{s}`: shards are counted from 0, so K must be below N (0/{count} to {}/{count})",
            count - 1
        ));
    }
    Ok(ShardArg::Given(Shard { index, count }))
}

/// The most shards a sweep is split into: more would leave most of them
/// without a seed, and a merge lists the missing ones.
pub const MAX_SHARDS: u64 = 100_000;

/// The environment variables `--shard auto` reads, in the order it reads them.
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
pub const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";

/// The shard `--shard auto` means, from the environment `env` (a lookup, so
/// tests need not set the process's own): K from `JOB_COMPLETION_INDEX` (a
/// Kubernetes Indexed Job, 0-based), else from `SLURM_ARRAY_TASK_ID` minus
/// `SLURM_ARRAY_TASK_MIN` (a Slurm job array, whatever its first index). N is
/// `--shards` (`shards`), else, under Slurm, `SLURM_ARRAY_TASK_COUNT`;
/// Kubernetes does not tell a pod its Job's completion count, so there
/// `--shards` is required. Errors name the variables and what was wrong.
pub fn resolve_auto(
    shards: Option<u64>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Shard, String> {
    let number = |var: &str| -> Result<Option<u64>, String> {
        match env(var) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                format!("--shard auto: {var}={v:?} is not a whole number of 0 or more")
            }),
        }
    };
    let (index, count, source) = if let Some(k) = number(K8S_INDEX)? {
        let n = shards.ok_or_else(|| {
            format!(
                "--shard auto: {K8S_INDEX}={k} gives the shard (a Kubernetes Indexed Job), \
                 but not how many there are: add --shards N, N being the Job's `completions`"
            )
        })?;
        (k, n, format!("{K8S_INDEX}={k}"))
    } else if let Some(id) = number(SLURM_ID)? {
        let min = number(SLURM_MIN)?.unwrap_or(0);
        let k = id
            .checked_sub(min)
            .ok_or_else(|| format!("--shard auto: {SLURM_ID}={id} is below {SLURM_MIN}={min}"))?;
        let n = match shards {
            Some(n) => n,
            None => number(SLURM_COUNT)?.ok_or_else(|| {
                format!(
                    "--shard auto: {SLURM_ID}={id} gives the shard (a Slurm job array), but \
                     {SLURM_COUNT} is not set: add --shards N"
                )
            })?,
        };
        (k, n, format!("{SLURM_ID}={id} - {SLURM_MIN}={min}"))
    } else {
        return Err(format!(
            "--shard auto: neither {K8S_INDEX} (a Kubernetes Indexed Job) nor {SLURM_ID} \
             (a Slurm job array) is set; give the shard yourself with --shard K/N"
        ));
    };
    if count == 0 {
        return Err("--shard auto: the shard count is 0; it must be at least 1".into());
    }
    if count > MAX_SHARDS {
        return Err(format!(
            "--shard auto: {count} shards; at most {MAX_SHARDS} (a sweep holds at most a \
             million seeds)"
        ));
    }
    if index >= count {
        return Err(format!(
            "--shard auto: {source} makes this shard {index}, but there are only {count} \
             (0 to {}); a Slurm array must be contiguous (--array=0-{} or 1-{count}), \
             with no step",
            count - 1,
            count - 1
        ));
    }
    Ok(Shard { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn dealt_shards_hold_every_seed_once_and_differ_in_size_by_one_at_most() {
        for total in [0u64, 1, 3, 10, 41] {
            for count in 1..=6 {
                let mut all: Vec<u64> = (0..count)
                    .flat_map(|index| Shard { index, count }.indexes(total))
                    .collect();
                let lens: Vec<u64> = (0..count)
                    .map(|index| Shard { index, count }.len(total))
                    .collect();
                for index in 0..count {
                    let s = Shard { index, count };
                    assert_eq!(s.indexes(total).count() as u64, s.len(total));
                    assert!(s.indexes(total).all(|i| s.holds(5, 5 + i)));
                }
                assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
                all.sort();
                assert_eq!(all, (0..total).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_shard_is_k_of_n_counted_from_zero() {
        assert_eq!(
            parse_shard("3/4"),
            Ok(ShardArg::Given(Shard { index: 3, count: 4 }))
        );
        assert_eq!(parse_shard("auto"), Ok(ShardArg::Auto));
        assert!(parse_shard("4/4").unwrap_err().contains("counted from 0"));
        assert!(parse_shard("0/0").unwrap_err().contains("at least 1"));
        assert!(parse_shard("2").unwrap_err().contains("K/N"));
    }

    #[test]
    fn auto_reads_a_kubernetes_index_and_needs_the_count_as_a_flag() {
        let k8s = [("JOB_COMPLETION_INDEX", "2")];
        assert_eq!(
            resolve_auto(Some(4), &env(&k8s)),
            Ok(Shard { index: 2, count: 4 })
        );
        let err = resolve_auto(None, &env(&k8s)).unwrap_err();
        assert!(err.contains("--shards N"), "{err}");
        let err = resolve_auto(Some(2), &env(&k8s)).unwrap_err();
        assert!(err.contains("only 2"), "{err}");
    }

    #[test]
    fn auto_reads_a_slurm_array_from_its_first_index() {
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(
            resolve_auto(None, &env(&slurm)),
            Ok(Shard { index: 2, count: 4 })
        );
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "8"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        let err = resolve_auto(None, &env(&stepped)).unwrap_err();
        assert!(err.contains("contiguous"), "{err}");
    }

    #[test]
    fn auto_without_a_job_array_names_the_variables_it_read() {
        let err = resolve_auto(Some(4), &env(&[])).unwrap_err();
        assert!(err.contains("JOB_COMPLETION_INDEX"), "{err}");
        assert!(err.contains("SLURM_ARRAY_TASK_ID"), "{err}");
        let err = resolve_auto(Some(4), &env(&[("JOB_COMPLETION_INDEX", "two")])).unwrap_err();
        assert!(err.contains("JOB_COMPLETION_INDEX=\"two\""), "{err}");
    }

    #[test]
    fn a_shard_describes_its_seeds() {
        let s = Shard { index: 2, count: 4 };
        assert_eq!(
            s.describe(1, 40),
            "seeds 3, 7, 11, ..., 39 (every 4th seed from 3)"
        );
        assert_eq!(s.describe(1, 8), "seeds 3, 7");
        assert_eq!(
            s.describe(1, 2),
            "no seeds (the range is smaller than the shard count)"
        );
    }
}
