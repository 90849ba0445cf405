//! A sweep split into shards across machines (`sweep --shard K/N --out FILE`)
//! and merged (`sweep merge FILES`) prints, byte for byte, the report one sweep
//! over the whole range prints, with the same exit code; shard files that are
//! not the whole of one sweep are refused (exit 2) saying what is wrong.

use crate::support;

use std::process::Command;

use support::{chaoslab, Ran};

/// A single server with a tight p99 latency bound that some seeds meet and
/// others do not: seeds 1..40 hold both passes and failures.
const SOMETIMES_SLOW: &str = "[meta]\nname = \"sometimes-slow\"\nduration = \"2s\"\n\
    [system]\nprotocol = \"single\"\n[topology]\nservers = 1\nclients = 2\n\
    [network]\nlatency = { dist = \"exponential\", mean = \"2ms\" }\n\
    [expect]\nmax_p99_latency = \"14ms\"\n";

/// The variables `--shard auto` reads; every run here starts without them,
/// whatever job array the tests themselves run in.
const SHARD_VARS: [&str; 4] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_COUNT",
];

/// A folder of this test's own, emptied.
fn folder(test: &str) -> String {
    let dir = std::env::temp_dir().join(format!("chaoslab-shards-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_string_lossy().into_owned()
}

/// `chaoslab ARGS` with the environment `env` (and none of [`SHARD_VARS`]
/// but those `env` sets).
fn chaoslab_with(env: &[(&str, &str)], args: &[&str]) -> Ran {
    chaoslab_in(env!("CARGO_MANIFEST_DIR"), env, args)
}

/// [`chaoslab_with`] in the folder `dir`.
fn chaoslab_in(dir: &str, env: &[(&str, &str)], args: &[&str]) -> Ran {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chaoslab"));
    c.args(args).current_dir(dir);
    for var in SHARD_VARS {
        c.env_remove(var);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    Ran::from((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Sweeps `scenario` over `seeds` whole (its file `whole.jsonl`) and in four
/// shards (`shard-K.jsonl`), all in `dir`, with `flags`; merges the shards
/// given in a shuffled order; checks the merge printed what the whole sweep
/// did and exited the same, and returns the whole sweep's run.
fn whole_and_merged_agree(dir: &str, scenario: &str, seeds: &str, flags: &[&str]) -> Ran {
    let sweep = |more: &[&str]| {
        let args = [&["sweep", scenario, "--seeds", seeds][..], flags, more].concat();
        chaoslab_with(&[], &args)
    };
    let whole_file = format!("{dir}/whole.jsonl");
    let whole = sweep(&["--out", &whole_file]);
    assert!(
        [0, 1, 3].contains(&whole.code),
        "the sweep ran: {}",
        whole.err
    );
    let mut files = Vec::new();
    for k in 0..4 {
        let file = format!("{dir}/shard-{k}.jsonl");
        let shard = format!("{k}/4");
        let jobs = if k % 2 == 0 { "1" } else { "2" };
        let ran = sweep(&["--shard", &shard, "--out", &file, "--jobs", jobs]);
        assert!([0, 1, 3].contains(&ran.code), "shard {shard}: {}", ran.err);
        assert!(
            ran.out.contains(&format!("({seeds}, shard {shard})")),
            "a shard reports its own seeds:\n{}",
            ran.out
        );
        files.push(file);
    }
    let shuffled = [&files[2], &files[0], &files[3], &files[1]];
    let merge: Vec<&str> = ["sweep", "merge"]
        .into_iter()
        .chain(shuffled.iter().map(|f| f.as_str()))
        .collect();
    let merged = chaoslab_with(&[], &merge);
    assert_eq!(
        merged.out, whole.out,
        "stderr of the merge:\n{}",
        merged.err
    );
    assert_eq!(merged.code, whole.code);
    // The whole sweep's own file merges alone into the same report.
    let alone = chaoslab_with(&[], &["sweep", "merge", &whole_file]);
    assert_eq!(alone.out, whole.out);
    assert_eq!(alone.code, whole.code);
    // The shards' lines are the whole sweep's, dealt out.
    let seed_lines = |file: &str| -> Vec<String> {
        std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .skip(1)
            .map(String::from)
            .collect()
    };
    let mut dealt: Vec<String> = files.iter().flat_map(|f| seed_lines(f)).collect();
    let mut all = seed_lines(&whole_file);
    dealt.sort();
    all.sort();
    assert_eq!(dealt, all);
    whole
}

#[test]
fn four_shards_merged_print_the_report_and_exit_code_of_one_sweep_with_failures() {
    let dir = folder("failing");
    let scenario = format!("{dir}/sometimes-slow.toml");
    std::fs::write(&scenario, SOMETIMES_SLOW).unwrap();
    whole_and_merged_agree(&dir, &scenario, "1..40", &[])
        .exits(1)
        .prints("sometimes-slow: 40 seeds (1..40), ")
        .prints("failed:\n  p99 latency: ")
        .prints(&format!(
            "replay the first failure with:\n  chaoslab run {scenario} --seed "
        ));
    // With every seed's line too.
    let verbose = chaoslab_with(&[], &["sweep", &scenario, "--seeds", "1..40", "--verbose"]);
    let shards: Vec<String> = (0..4).map(|k| format!("{dir}/shard-{k}.jsonl")).collect();
    let merge: Vec<&str> = ["sweep", "merge", "--verbose"]
        .into_iter()
        .chain(shards.iter().map(String::as_str))
        .collect();
    let merged = chaoslab_with(&[], &merge);
    assert_eq!(merged.out, verbose.out, "{}", merged.err);
    assert_eq!(merged.code, verbose.code);
    assert_eq!(
        verbose.out.matches("  pass").count() + verbose.out.matches("  FAIL").count(),
        40
    );
}

#[test]
fn four_shards_merged_print_the_report_and_exit_code_of_one_sweep_that_passes() {
    whole_and_merged_agree(&folder("passing"), "single/normal", "1..12", &[])
        .exits(0)
        .prints("single/normal: 12 seeds (1..12), 12 passed, 0 failed, 0 undecided")
        .never_prints("seed ");
}

#[test]
fn four_shards_merged_keep_undecided_seeds_apart_with_the_flags_that_decide_them() {
    whole_and_merged_agree(
        &folder("undecided"),
        "single/crash-synced",
        "1..5",
        &["--check-max-steps", "1"],
    )
    .exits(3)
    .prints("5 seeds (1..5), 0 passed, 0 failed, 5 undecided")
    .prints("decide the first undecided seed with:\n  chaoslab run single/crash-synced --seed 1 --check-max-steps 10\n");
}

#[test]
fn a_shard_file_is_the_same_whatever_the_threads_and_out_dash_writes_it_to_stdout() {
    let dir = folder("same-bytes");
    let one = format!("{dir}/one.jsonl");
    let two = format!("{dir}/two.jsonl");
    let sweep = [
        "sweep",
        "single/normal",
        "--seeds",
        "1..9",
        "--shard",
        "1/3",
    ];
    chaoslab_with(&[], &[&sweep[..], &["--jobs", "1", "--out", &one]].concat()).exits(0);
    chaoslab_with(&[], &[&sweep[..], &["--jobs", "2", "--out", &two]].concat()).exits(0);
    let text = std::fs::read_to_string(&one).unwrap();
    assert_eq!(text, std::fs::read_to_string(&two).unwrap());
    let seeds: Vec<u64> = text
        .lines()
        .skip(1)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seed"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seeds, [2, 5, 8], "shard 1/3 holds every third seed from 2");
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["scenario"], "single/normal");
    assert_eq!(
        (header["shard"].as_u64(), header["shards"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        (header["first"].as_u64(), header["last"].as_u64()),
        (Some(1), Some(9))
    );
    assert_eq!(header["program"], "chaoslab");
    assert_eq!(header["scenario_hash"].as_str().map(str::len), Some(16));
    let to_stdout = chaoslab_with(&[], &[&sweep[..], &["--out", "-"]].concat())
        .exits(0)
        .warns("3 seeds (1..9, shard 1/3), 3 passed");
    assert_eq!(to_stdout.out, text);
}

#[test]
fn merging_refuses_files_that_are_not_the_whole_of_one_sweep() {
    let dir = folder("refused");
    let scenario = format!("{dir}/sometimes-slow.toml");
    std::fs::write(&scenario, SOMETIMES_SLOW).unwrap();
    let shard = |k: u64, file: &str, more: &[&str]| {
        let (s, f) = (format!("{k}/4"), format!("{dir}/{file}"));
        let args = [
            &[
                "sweep", &scenario, "--seeds", "1..20", "--shard", &s, "--out", &f,
            ][..],
            more,
        ]
        .concat();
        let ran = chaoslab_with(&[], &args);
        assert!([0, 1].contains(&ran.code), "{}", ran.err);
        f
    };
    let files: Vec<String> = (0..4)
        .map(|k| shard(k, &format!("s{k}.jsonl"), &[]))
        .collect();
    let merge = |files: &[&str]| chaoslab_with(&[], &[&["sweep", "merge"][..], files].concat());
    let [s0, s1, s2, s3] = [&files[0], &files[1], &files[2], &files[3]].map(String::as_str);

    merge(&[s0, s3, s1])
        .exits(2)
        .warns("1 of the 4 shards of the sweep of")
        .warns("shard 2/4: seeds 3, 7, 11, ..., 19 (every 4th seed from 3)")
        .warns("--seeds 1..20 --shard 2/4 --out shard-2.jsonl");

    merge(&[s0, s1, s2, s3, s1])
        .exits(2)
        .warns("is given twice");
    let copy = format!("{dir}/copy-of-s1.jsonl");
    std::fs::copy(s1, &copy).unwrap();
    merge(&[s0, s1, s2, s3, &copy])
        .exits(2)
        .warns("are both shard 1/4: shard 1/4's seeds would count twice");

    let text = std::fs::read_to_string(s2).unwrap();
    let second = text.lines().nth(1).unwrap();
    let twice = format!("{dir}/twice.jsonl");
    std::fs::write(&twice, format!("{text}{second}\n")).unwrap();
    merge(&[s0, s1, &twice, s3])
        .exits(2)
        .warns(&format!("{twice}:7: seed 3 is there twice (line 2 too)"));

    let cut = format!("{dir}/cut.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&cut, format!("{}\n", lines[..3].join("\n"))).unwrap();
    merge(&[s0, s1, &cut, s3]).exits(2).warns(
        "(shard 2/4) lacks 3 of its 5 seeds: 11, 15, 19; the shard stopped before it finished",
    );

    let bad = format!("{dir}/bad.jsonl");
    std::fs::write(
        &bad,
        format!("{text}{{\"seed\": 7, \"outcome\": \"maybe\"}}\n"),
    )
    .unwrap();
    merge(&[s0, s1, &bad, s3]).exits(2).warns(&format!(
        "{bad}:7: not a seed's result (unknown variant `maybe`"
    ));
    let stranger = format!("{dir}/stranger.jsonl");
    std::fs::write(
        &stranger,
        format!("{text}{}\n", second.replace("\"seed\":3", "\"seed\":4")),
    )
    .unwrap();
    merge(&[s0, s1, &stranger, s3]).exits(2).warns(&format!(
        "{stranger}:7: seed 4 is not one of shard 2/4's seeds"
    ));
    let torn = format!("{dir}/torn.jsonl");
    std::fs::write(&torn, &text[..text.len() - 10]).unwrap();
    merge(&[s0, s1, &torn, s3])
        .exits(2)
        .warns("the file ends in the middle of this line");
    merge(&[&scenario])
        .exits(2)
        .warns(&format!("{scenario}:1: not a sweep header"));

    let other = format!("{dir}/other.jsonl");
    chaoslab_with(
        &[],
        &[
            "sweep",
            "single/normal",
            "--seeds",
            "1..20",
            "--shard",
            "2/4",
            "--out",
            &other,
        ],
    )
    .exits(0);
    merge(&[s0, s1, &other, s3])
        .exits(2)
        .warns("are sweeps of different scenarios")
        .warns("swept `single/normal`");
    let budget = shard(2, "budget.jsonl", &["--check-max-steps", "100"]);
    merge(&[s0, s1, &budget, s3])
        .exits(2)
        .warns("different budgets: no budget flags and `--check-max-steps 100`");
    let edited = format!("{dir}/edited.jsonl");
    std::fs::write(&edited, text.replacen("servers = 1", "servers = 3", 1)).unwrap();
    merge(&[s0, s1, &edited, s3])
        .exits(2)
        .warns("does not match its hash");

    // Another build, another range, another split, another format.
    let header = text.lines().next().unwrap();
    let with_header = |name: &str, from: &str, to: &str| {
        assert!(header.contains(from), "{header}");
        let f = format!("{dir}/{name}");
        std::fs::write(&f, text.replacen(from, to, 1)).unwrap();
        f
    };
    let build = header
        .split("\"build\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the header names its build");
    assert!(build.starts_with("exe-"), "{header}");
    let rebuilt = with_header(
        "rebuilt.jsonl",
        &format!("\"build\":\"{build}\""),
        "\"build\":\"exe-0000000000000000\"",
    );
    merge(&[s0, s1, &rebuilt, s3])
        .exits(2)
        .warns("were swept by different builds of chaoslab");
    let ranged = with_header("ranged.jsonl", "\"last\":20", "\"last\":24");
    merge(&[s0, s1, &ranged, s3])
        .exits(2)
        .warns("are sweeps of different seed ranges: 1..20 and 1..24");
    let split = format!("{dir}/split.jsonl");
    chaoslab_with(
        &[],
        &[
            "sweep", &scenario, "--seeds", "1..20", "--shard", "2/5", "--out", &split,
        ],
    );
    merge(&[s0, s1, &split, s3])
        .exits(2)
        .warns("split the sweep differently: into 4 shards and into 5");
    let many = with_header(
        "many.jsonl",
        "\"shards\":4",
        "\"shards\":18446744073709551615",
    );
    merge(&[&many])
        .exits(2)
        .warns("shards; a sweep is split into at most 100000");
    let future = with_header(
        "future.jsonl",
        "\"chaoslab_sweep\":2",
        "\"chaoslab_sweep\":3",
    );
    merge(&[s0, s1, &future, s3])
        .exits(2)
        .warns("a sweep file of format 3, and this program reads format 2");
    chaoslab_with(&[], &["sweep", "single/normal", "--shard", "0/100001"])
        .exits(2)
        .warns("at most 100000 shards");
    // Files appear whole: no part file is left behind.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // None of them printed a report.
    let ran = merge(&[s0, s3, s1]);
    assert!(ran.out.is_empty(), "{}", ran.out);
    merge(&[s0, s1, s2, s3]).exits(1);
}

#[test]
fn shard_auto_reads_a_kubernetes_index_or_a_slurm_array() {
    let dir = folder("auto");
    let sweep = ["sweep", "single/normal", "--seeds", "1..12"];
    let given = format!("{dir}/given.jsonl");
    chaoslab_with(
        &[],
        &[&sweep[..], &["--shard", "2/4", "--out", &given]].concat(),
    )
    .exits(0);
    let expected = std::fs::read_to_string(&given).unwrap();

    let k8s = format!("{dir}/k8s.jsonl");
    chaoslab_with(
        &[("JOB_COMPLETION_INDEX", "2")],
        &[
            &sweep[..],
            &["--shard", "auto", "--shards", "4", "--out", &k8s],
        ]
        .concat(),
    )
    .exits(0)
    .prints("(1..12, shard 2/4)");
    assert_eq!(std::fs::read_to_string(&k8s).unwrap(), expected);

    // A Slurm array from 1 to 4: task 3 is the third, shard 2.
    let slurm = format!("{dir}/slurm.jsonl");
    chaoslab_with(
        &[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ],
        &[&sweep[..], &["--shard", "auto", "--out", &slurm]].concat(),
    )
    .exits(0);
    assert_eq!(std::fs::read_to_string(&slurm).unwrap(), expected);

    chaoslab_with(
        &[],
        &[&sweep[..], &["--shard", "auto", "--shards", "4"]].concat(),
    )
    .exits(2)
    .warns("neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID");
    chaoslab_with(
        &[("JOB_COMPLETION_INDEX", "2")],
        &[&sweep[..], &["--shard", "auto"]].concat(),
    )
    .exits(2)
    .warns("add --shards N");
    chaoslab_with(
        &[("JOB_COMPLETION_INDEX", "two")],
        &[&sweep[..], &["--shard", "auto", "--shards", "4"]].concat(),
    )
    .exits(2)
    .warns("JOB_COMPLETION_INDEX=\"two\" is not a whole number");
    chaoslab_with(&[], &[&sweep[..], &["--shard", "4/4"]].concat())
        .exits(2)
        .warns("K must be below N");
}

#[test]
fn sweep_still_takes_a_scenario_and_its_help_says_what_each_flag_does() {
    chaoslab(&["sweep", "single/normal", "--seeds", "1..2"])
        .exits(0)
        .prints("single/normal: 2 seeds (1..2), 2 passed")
        .warns("seeds/s");
    let mut help = chaoslab(&["sweep", "--help"]).exits(0);
    for said in [
        "merge",
        "--shard <K/N|auto>",
        "shard i mod N",
        "JOB_COMPLETION_INDEX",
        "SLURM_ARRAY_TASK_ID",
        "--shards <N>",
        "--out <FILE>",
        "JSON Lines",
        "`-` writes them to stdout",
        "sweep ./merge",
    ] {
        help = help.prints(said);
    }
    chaoslab(&["sweep", "merge", "--help"])
        .exits(0)
        .prints("the same report")
        .prints("<FILES>...");
    chaoslab(&["sweep", "merge"]).exits(2).warns("<FILES>");
    // A scenario file named `merge` is swept by its path.
    let dir = folder("named-merge");
    std::fs::write(format!("{dir}/merge"), SOMETIMES_SLOW).unwrap();
    chaoslab_in(&dir, &[], &["sweep", "./merge", "--seeds", "1..2"])
        .prints("sometimes-slow: 2 seeds (1..2)");
}

#[test]
fn the_merge_docs_scale_out_shows_is_the_one_these_shards_print() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let doc = std::fs::read_to_string(format!("{root}/docs/scale-out.md")).unwrap();
    let section = doc
        .split("### What you see")
        .nth(1)
        .expect("docs/scale-out.md has a section `### What you see`");
    let quoted = section
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section quotes the merged report in a ```text block");
    assert!(section.contains("--seeds 1..400 --shard $k/4 --out shard-$k.jsonl"));

    let dir = folder("docs");
    let original =
        std::fs::read_to_string(format!("{root}/scenarios/single/crash-unsynced.toml")).unwrap();
    let copy = original.replacen("\nkeys = 6\n", "\nkeys = 3\n", 1);
    assert_ne!(copy, original, "the doc's `sed` changes `keys = 6`");
    std::fs::write(format!("{dir}/three-keys.toml"), copy).unwrap();
    for k in 0..4 {
        let (shard, out) = (format!("{k}/4"), format!("shard-{k}.jsonl"));
        let args = [
            "sweep",
            "three-keys.toml",
            "--seeds",
            "1..400",
            "--shard",
            &shard,
            "--out",
            &out,
        ];
        let ran = chaoslab_in(&dir, &[], &args);
        assert!([0, 1].contains(&ran.code), "{}", ran.err);
    }
    let files = [
        "shard-0.jsonl",
        "shard-1.jsonl",
        "shard-2.jsonl",
        "shard-3.jsonl",
    ];
    let merged = chaoslab_in(&dir, &[], &[&["sweep", "merge"][..], &files].concat()).exits(1);
    assert_eq!(
        merged.out, quoted,
        "docs/scale-out.md quotes another report"
    );
    let whole = chaoslab_in(
        &dir,
        &[],
        &["sweep", "three-keys.toml", "--seeds", "1..400"],
    )
    .exits(1);
    assert_eq!(whole.out, merged.out);
}
