//! `chaoslab sweep merge FILES...`: the report of a sweep run in shards.
//!
//! The files must be the shards of one sweep: the same scenario text, seed
//! range, shard count, budget flags and program version, every shard there
//! once with every one of its seeds. Anything else is bad input (exit 2) and
//! the message says which file, line or shard and what to do; a merge never
//! prints a report that is not the whole sweep's.

use std::collections::BTreeMap;

use super::record::{self, Header, ShardFile};
use super::report::{self, Outcome};
use super::shard::Shard;
use crate::exit;
use crate::{CheckBudgetArgs, Registry};

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The shard files that `sweep --shard K/N --out FILE` wrote, one per
    /// shard, in any order (a whole sweep's `--out` file merges alone).
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<String>,
    /// Print every seed's one-line result, not only failures.
    #[arg(long)]
    pub verbose: bool,
}

pub fn run(registry: &Registry, args: &MergeArgs) -> i32 {
    match merge(registry, args) {
        Ok((text, code)) => {
            print!("{text}");
            code
        }
        Err(message) => {
            eprintln!("{message}");
            exit::BAD_INPUT
        }
    }
}

fn budget_of(h: &Header) -> CheckBudgetArgs {
    CheckBudgetArgs {
        check_max_steps: h.check_max_steps,
        check_max_memory: h.check_max_memory,
    }
}

/// The budget flags as the sweep was given them, in words.
fn budget_words(h: &Header) -> String {
    let flags = budget_of(h).flags();
    if flags.is_empty() {
        "no budget flags".into()
    } else {
        format!("`{}`", flags.trim())
    }
}

/// Where `a` and `b` differ as sweeps, in words; `None` if they are shards of
/// one sweep.
fn differ(a: &ShardFile, b: &ShardFile) -> Option<String> {
    let (ha, hb) = (&a.header, &b.header);
    let (pa, pb) = (&a.path, &b.path);
    if ha.scenario_hash != hb.scenario_hash {
        return Some(format!(
            "{pa} and {pb} are sweeps of different scenarios: {pa} swept `{}` (name {}, text \
             hash {}), {pb} swept `{}` (name {}, text hash {})",
            ha.scenario, ha.name, ha.scenario_hash, hb.scenario, hb.name, hb.scenario_hash
        ));
    }
    if (ha.first, ha.last) != (hb.first, hb.last) {
        return Some(format!(
            "{pa} and {pb} are sweeps of different seed ranges: {}..{} and {}..{}",
            ha.first, ha.last, hb.first, hb.last
        ));
    }
    if ha.shards != hb.shards {
        return Some(format!(
            "{pa} and {pb} split the sweep differently: into {} shards and into {}",
            ha.shards, hb.shards
        ));
    }
    if (ha.check_max_steps, ha.check_max_memory) != (hb.check_max_steps, hb.check_max_memory) {
        return Some(format!(
            "{pa} and {pb} are sweeps with different budgets: {} and {}",
            budget_words(ha),
            budget_words(hb)
        ));
    }
    if (&ha.program, &ha.version) != (&hb.program, &hb.version) {
        return Some(format!(
            "{pa} and {pb} were swept by different programs: {} {} and {} {}",
            ha.program, ha.version, hb.program, hb.version
        ));
    }
    if ha.build != hb.build {
        return Some(format!(
            "{pa} and {pb} were swept by different builds of {} (builds {} and {}): a seed's \
             run is the same only for the same build; run every shard with the same binary \
             (the same file or container image)",
            ha.program, ha.build, hb.build
        ));
    }
    None
}

/// The report of the union of `args.files` and its exit code, or why they
/// cannot be merged.
fn merge(registry: &Registry, args: &MergeArgs) -> Result<(String, i32), String> {
    let files = args
        .files
        .iter()
        .map(|f| record::read(f))
        .collect::<Result<Vec<ShardFile>, String>>()?;
    let one = &files[0];
    for other in &files[1..] {
        if let Some(why) = differ(one, other) {
            return Err(format!("error: {why}; merge only the shards of one sweep"));
        }
    }
    let (first, last) = (one.header.first, one.header.last);
    let count = one.header.shards;
    let total = last - first + 1;
    let program = registry.program_name();
    // The command that runs shard `s` again, as the first file's sweep ran.
    let rerun = |s: Shard| {
        format!(
            "{program} sweep {} --seeds {first}..{last} --shard {s} --out shard-{}.jsonl{}",
            sim::report::shell_word(&one.header.scenario),
            s.index,
            budget_of(&one.header).flags()
        )
    };

    // Each shard once.
    let mut by_shard: BTreeMap<u64, &ShardFile> = BTreeMap::new();
    for f in &files {
        if let Some(seen) = by_shard.insert(f.header.shard, f) {
            let s = f.header.shard();
            let again = if seen.path == f.path {
                format!("{} is given twice", f.path)
            } else {
                format!("{} and {} are both shard {s}", seen.path, f.path)
            };
            let example = f
                .seeds
                .first()
                .map(|(_, o)| format!(" (seed {} among them)", o.seed))
                .unwrap_or_default();
            return Err(format!(
                "error: {again}: shard {}'s seeds would count twice{example}; give each shard once",
                f.header.shard()
            ));
        }
    }
    // Every shard there.
    let missing: Vec<Shard> = (0..count)
        .filter(|k| !by_shard.contains_key(k))
        .map(|index| Shard { index, count })
        .collect();
    if !missing.is_empty() {
        let mut message = format!(
            "error: {} of the {count} shards of the sweep of `{}` over seeds {first}..{last} {} \
             missing:",
            missing.len(),
            one.header.scenario,
            if missing.len() == 1 { "is" } else { "are" },
        );
        // The first few: a sweep split into many shards may lack most.
        const SHOWN: usize = 10;
        for s in missing.iter().take(SHOWN) {
            message.push_str(&format!("\n  shard {s}: {}", s.describe(first, last)));
        }
        if missing.len() > SHOWN {
            message.push_str(&format!("\n  ... and {} more", missing.len() - SHOWN));
        }
        message.push_str("\nrun the missing ones with:");
        for s in missing.iter().take(SHOWN) {
            message.push_str(&format!("\n  {}", rerun(*s)));
        }
        if missing.len() > SHOWN {
            message.push_str("\n  ... (the same with their shard numbers)");
        }
        return Err(message);
    }
    // Each shard's seeds once and all of them.
    for f in by_shard.values() {
        let mut lines: BTreeMap<u64, usize> = BTreeMap::new();
        for (line, o) in &f.seeds {
            if let Some(before) = lines.insert(o.seed, *line) {
                return Err(format!(
                    "error: {}:{line}: seed {} is there twice (line {before} too); a seed's \
                     result must be given once",
                    f.path, o.seed
                ));
            }
        }
        let s = f.header.shard();
        let absent: Vec<u64> = s
            .indexes(total)
            .map(|i| first + i)
            .filter(|seed| !lines.contains_key(seed))
            .collect();
        if !absent.is_empty() {
            let some: Vec<String> = absent.iter().take(10).map(|x| x.to_string()).collect();
            return Err(format!(
                "error: {} (shard {s}) lacks {} of its {} seeds: {}{}; the shard stopped before \
                 it finished. Run it again with:\n  {}",
                f.path,
                absent.len(),
                s.len(total),
                some.join(", "),
                if absent.len() > 10 { ", ..." } else { "" },
                rerun(s)
            ));
        }
    }

    // The scenario as the first shard named it; its text is in the header, so
    // the merge needs no copy of the file, and the replay commands name it as
    // the shards were given it.
    let base = by_shard
        .values()
        .next()
        .expect("every shard is there")
        .header
        .clone();
    let scenario = registry.parse(&base.scenario, &base.source).map_err(|e| {
        format!(
            "error: the scenario the shards swept (`{}`) does not parse with this {program}: {e}",
            base.scenario
        )
    })?;
    let here = record::build_id();
    if base.build != here {
        eprintln!(
            "note: the shards were swept by another build of {} ({} {}, build {}), and this is \
             {program} {} (build {here}): replay a seed with the shards' binary, since another \
             build's run of it may differ",
            base.program,
            base.program,
            base.version,
            base.build,
            env!("CARGO_PKG_VERSION")
        );
    }
    let budget = budget_of(&base);
    let mut results: Vec<Outcome> = files
        .into_iter()
        .flat_map(|f| f.seeds.into_iter().map(|(_, o)| o))
        .collect();
    results.sort_by_key(|r| r.seed);
    Ok(report::render(
        &report::Sweep {
            scenario: &scenario,
            first,
            last,
            shard: None,
            budget: &budget,
            program: &program,
            verbose: args.verbose,
        },
        &results,
    ))
}
