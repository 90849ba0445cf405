//! `run --html FILE` (docs/html.md): one self-contained page per run, loaded
//! in a real headless Chromium (Debian's `chromium`), which must draw the
//! diagram with no console message and no error; a screenshot that is not
//! blank; the same seed giving the same bytes; bad paths refused with exit
//! 2; and the numbers docs/html.md quotes.
//!
//! Without Chromium the browser tests say they skipped and pass, unless
//! CHAOSLAB_REQUIRE_BROWSER=1 (`.ci/run` sets it once it installed it).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The three scenarios of issue 21's "done when".
const SCENARIOS: [&str; 3] = [
    "raft/leader-minority",
    "quorum/w2-r2-not-linearizable",
    "twopc/coordinator-crash",
];

fn html_tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

use crate::common::chaoslab as run_chaoslab;

/// Writes the page of `scenario` (and `extra` flags) to FILE; the page.
fn write_page(scenario: &str, file: &Path, extra: &[&str]) -> String {
    let path = file.to_str().unwrap();
    let mut args = vec!["run", scenario, "--html", path];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run_chaoslab(&args);
    assert_eq!(code, 0, "{scenario}: {stdout}\n{stderr}");
    std::fs::read_to_string(file).unwrap()
}

/// The JSON the page's script draws from.
fn page_data(page: &str) -> Value {
    let open = "<script id=\"data\" type=\"application/json\">";
    let start = page.find(open).expect("the data script") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("the data is JSON")
}

/// Debian's chromium, or the one CHAOSLAB_CHROMIUM names; `None` (and a
/// line saying the test skipped) when there is none and none is required.
fn chromium(test: &str) -> Option<PathBuf> {
    let named = std::env::var_os("CHAOSLAB_CHROMIUM").map(PathBuf::from);
    let found = named
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CHAOSLAB_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "{test}: CHAOSLAB_REQUIRE_BROWSER=1 but no chromium at /usr/bin/chromium \
             (apt-get install -y chromium, or set CHAOSLAB_CHROMIUM)"
        );
        // Straight to the process's stderr, not through eprintln!, which
        // the harness keeps to itself for a test that passes: the skip is
        // seen in every `cargo test`.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped: no chromium (apt-get install -y chromium, or set CHAOSLAB_CHROMIUM)"
        );
    }
    found
}

/// How long one headless Chromium may take before the test gives up on it.
const BROWSER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(90);

/// Runs headless Chromium on `page` with `args`, a fresh profile, no
/// network of its own; (stdout, stderr).
fn headless(browser: &Path, page: &Path, args: &[&str]) -> (String, String) {
    headless_within(browser, page, args, BROWSER_DEADLINE)
}

/// [`headless`], killed (and the test failed) after `deadline`: the wall
/// clock and reader threads are the test's, never the simulator's.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn headless_within(
    browser: &Path,
    page: &Path,
    args: &[&str],
    deadline: std::time::Duration,
) -> (String, String) {
    let profile = html_tmp(&format!(
        "profile-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Both pipes are read as it runs (a full pipe would stall it), and it
    // gets BROWSER_DEADLINE: a hung browser fails the test, not hangs it.
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let start = std::time::Instant::now();
    loop {
        if child
            .try_wait()
            .expect("chromium can be waited for")
            .is_some()
        {
            break;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "headless chromium ({}) on {} did not finish in {} s: killed it",
                browser.display(),
                page.display(),
                deadline.as_secs_f64()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (stdout.join().unwrap(), stderr.join().unwrap())
}

/// The status line the page's script writes when it has drawn:
/// `drawn: A arrows, O operations, P plots, E errors`, as numbers.
fn drawn_status(dom: &str) -> Option<[u64; 4]> {
    let open = "<pre id=\"status\">";
    let start = dom.find(open)? + open.len();
    let text = &dom[start..start + dom[start..].find("</pre>")?];
    let rest = text.strip_prefix("drawn: ")?;
    let numbers: Vec<u64> = rest
        .lines()
        .next()?
        .split(", ")
        .map(|part| part.split(' ').next().and_then(|n| n.parse().ok()))
        .collect::<Option<_>>()?;
    numbers.try_into().ok()
}

#[cfg(unix)]
#[test]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn a_browser_that_hangs_is_killed_and_fails_the_test_with_a_clear_message() {
    use std::os::unix::fs::PermissionsExt as _;
    let fake = html_tmp("hanging-browser.sh");
    // The shell waits on its sleep: killing the shell closes the pipes
    // only once the sleep ends too, so the sleep runs in its place.
    std::fs::write(&fake, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let start = std::time::Instant::now();
    let failed = std::panic::catch_unwind(|| {
        headless_within(
            &fake,
            Path::new("/nowhere.html"),
            &[],
            std::time::Duration::from_millis(500),
        )
    })
    .expect_err("a browser that hangs fails the test");
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("hanging-browser.sh) on /nowhere.html did not finish in 0.5 s: killed it"),
        "{message}"
    );
}

#[test]
fn the_html_report_of_three_scenarios_loads_in_headless_chromium_with_no_console_message_and_draws()
{
    let test = "html browser test";
    let Some(browser) = chromium(test) else {
        return;
    };
    for scenario in SCENARIOS {
        let name = scenario.replace('/', "-");
        let file = html_tmp(&format!("{name}.html"));
        let page = write_page(scenario, &file, &[]);
        let data = page_data(&page);
        let (dom, stderr) = headless(&browser, &file, &["--dump-dom"]);
        let status = drawn_status(&dom)
            .unwrap_or_else(|| panic!("{scenario}: the page did not say it drew:\n{stderr}"));
        let [arrows, operations, plots, errors] = status;
        let said = dom
            .split("<pre id=\"status\">")
            .nth(1)
            .and_then(|rest| rest.split("</pre>").next())
            .unwrap_or_default();
        assert_eq!(errors, 0, "{scenario}: {said}");
        // Every message is drawn, or an even sample of at most 4000.
        let messages = data["messages"].as_array().unwrap().len() as u64;
        assert!(messages > 0, "{scenario}");
        assert!(
            arrows > 0 && arrows <= messages.min(4000),
            "{scenario}: {arrows}"
        );
        assert_eq!(arrows, messages.div_ceil(messages.div_ceil(4000)));
        assert_eq!(
            operations,
            data["operations"].as_array().unwrap().len() as u64,
            "{scenario}: every operation of the whole run is in view"
        );
        // Availability, goodput, failures, latency, sent, dropped, in
        // flight, and each of the protocol's time series.
        let series = data["series"].as_array().unwrap().len() as u64;
        assert_eq!(plots, 7 + series, "{scenario}");
        // No console message at all (an uncaught error would be one), and
        // no request for anything but the file itself.
        let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
        assert!(console.is_empty(), "{scenario}: {console:#?}");

        let shot = html_tmp(&format!("{name}.png"));
        let _ = std::fs::remove_file(&shot);
        headless(
            &browser,
            &file,
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1400,1000",
            ],
        );
        let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{scenario}: a PNG");
        assert_eq!(&png[12..16], b"IHDR");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (1400, 1000), "{scenario}");
        // A blank 1400x1000 page compresses to about 6 KB; this page, with
        // its summary and diagram, to several hundred (measured: 300-600 KB).
        assert!(
            png.len() > 100_000,
            "{scenario}: a screenshot of {} bytes looks blank",
            png.len()
        );
    }
}

#[test]
fn the_page_is_self_contained_and_the_same_seed_gives_the_same_bytes() {
    // The run is the same run with or without the page.
    let (_, without, _) = run_chaoslab(&["run", SCENARIOS[0], "--seed", "7"]);
    let a_path = html_tmp("same-a.html");
    let (_, with, _) = run_chaoslab(&[
        "run",
        SCENARIOS[0],
        "--seed",
        "7",
        "--html",
        a_path.to_str().unwrap(),
    ]);
    assert_eq!(with, without);
    let a = write_page(SCENARIOS[0], &a_path, &["--seed", "7"]);
    let b = write_page(SCENARIOS[0], &html_tmp("same-b.html"), &["--seed", "7"]);
    assert!(a == b, "the same seed wrote different pages");
    let other = write_page(SCENARIOS[0], &html_tmp("same-c.html"), &["--seed", "8"]);
    assert!(a != other, "another seed is another run");
    // Nothing loaded from elsewhere: no script or style by address, no
    // link but the empty icon, no web address but the SVG namespace.
    for bad in [
        "<script src",
        "<link rel=\"stylesheet\"",
        "@import",
        "url(http",
        "url(//",
    ] {
        assert!(!a.contains(bad), "the page holds {bad}");
    }
    let addresses = a.matches("http://").count() + a.matches("https://").count();
    let namespaces = a.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(
        addresses, namespaces,
        "only the SVG namespace is an address"
    );
}

#[test]
fn docs_html_walks_through_raft_leader_minority_with_the_numbers_of_its_page() {
    let page = write_page(SCENARIOS[0], &html_tmp("docs.html"), &[]);
    let data = page_data(&page);
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/html.md"))
            .unwrap();
    // The figures the walk-through quotes, each read from the page.
    let messages = data["messages_total"].as_u64().unwrap();
    assert_eq!(messages, 12663);
    assert_eq!(data["messages"].as_array().unwrap().len(), 12663);
    // Drawn at first: one in every 4, 3166 arrows (the browser test checks the
    // page draws exactly this sample).
    assert_eq!(messages.div_ceil(messages.div_ceil(4000)), 3166);
    assert_eq!(data["operations_total"], 863);
    assert_eq!(
        data["partitions"],
        serde_json::json!([[5_000_000_000u64, 12_000_000_000u64]])
    );
    let roles: Vec<(u64, String, String)> = data["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let node = data["nodes"][r[1].as_u64().unwrap() as usize]
                .as_str()
                .unwrap();
            (
                r[0].as_u64().unwrap(),
                node.to_string(),
                r[3].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(roles.contains(&(159_796_009, "n5".into(), "leader".into())));
    assert!(roles.contains(&(5_149_672_593, "n3".into(), "leader".into())));
    assert!(roles.contains(&(12_014_130_042, "n5".into(), "follower".into())));
    let drops: Vec<u64> = data["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m[5] == 1)
        .map(|m| m[1].as_u64().unwrap())
        .collect();
    assert_eq!(drops.len(), 955);
    assert!(
        drops
            .iter()
            .all(|&t| (5_000_000_000..12_000_000_000).contains(&t)),
        "every drop is during the partition"
    );
    // c1, cut off with the old leader: its operations there time out (info).
    let c1 = data["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|n| n == "c1")
        .unwrap() as u64;
    let c1_info = data["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o[0] == c1 && o[3] == "info")
        .filter(|o| (5_000_000_000..12_000_000_000).contains(&o[1].as_u64().unwrap()))
        .count();
    assert!(c1_info >= 3, "{c1_info}");
    assert!(page.contains("got 20.00% (1/5)"));
    assert_eq!(data["max_messages"], 20000);
    assert_eq!(data["max_operations"], 20000);
    assert_eq!(data["max_marks"], 5000);
    assert_eq!(data["buckets"]["ok"].as_array().unwrap().len(), 500);
    for quoted in [
        "12663 messages",
        "3166",
        "one in every 4",
        "863 operations",
        "955",
        "5 s",
        "12 s",
        "5149.67 ms",
        "4.9s..5.3s",
        "20000 messages and 20000 client operations",
        "500 time buckets",
        "at most 4000",
        "got 20.00% (1/5)",
        "drawn: 3166 arrows, 863 operations, 7 plots, 0 errors",
    ] {
        assert!(docs.contains(quoted), "docs/html.md quotes {quoted}");
    }
    // The window docs/html.md suggests: everything in it is inside it.
    let window = write_page(
        SCENARIOS[0],
        &html_tmp("docs-window.html"),
        &["--html-window", "4.9s..5.3s"],
    );
    let w = page_data(&window);
    assert_eq!(
        (w["from_ns"].as_u64(), w["to_ns"].as_u64()),
        (Some(4_900_000_000), Some(5_300_000_000))
    );
    let sent: Vec<u64> = w["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[0].as_u64().unwrap())
        .collect();
    assert!(!sent.is_empty());
    assert!(sent
        .iter()
        .all(|&t| (4_900_000_000..=5_300_000_000).contains(&t)));
    assert_eq!(w["messages_total"].as_u64(), Some(sent.len() as u64));
    assert!(
        docs.contains(&format!("{} messages", sent.len())),
        "docs/html.md quotes the window's {} messages",
        sent.len()
    );
}

#[test]
fn a_path_that_cannot_be_written_is_refused_before_the_run_with_exit_2() {
    let (code, stdout, stderr) = run_chaoslab(&[
        "run",
        SCENARIOS[0],
        "--html",
        "/nonexistent-dir/report.html",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "no run, no report: {stdout}");
    assert!(
        stderr.contains("error: cannot write the HTML report to /nonexistent-dir/report.html"),
        "{stderr}"
    );
    let (code, _, stderr) = run_chaoslab(&[
        "run",
        SCENARIOS[0],
        "--html",
        html_tmp("w.html").to_str().unwrap(),
        "--html-window",
        "5s..4s",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: --html-window `5s..4s` ends before it starts"),
        "{stderr}"
    );
}

#[test]
fn a_refused_page_leaves_every_other_output_as_it_was() {
    // The trace and an export already hold something; the history is not
    // there yet. A refused --html (a bad window, a path that cannot be
    // written) must neither empty the ones there nor make the others.
    let trace = html_tmp("kept-trace.jsonl");
    let perfetto = html_tmp("kept-perfetto.json");
    let history = html_tmp("not-made-history.jsonl");
    let page = html_tmp("not-made-page.html");
    for (html, window) in [
        (page.to_str().unwrap(), Some("5s..4s")),
        ("/nonexistent-dir/report.html", None),
    ] {
        std::fs::write(&trace, "old trace\n").unwrap();
        std::fs::write(&perfetto, "old export\n").unwrap();
        let _ = std::fs::remove_file(&history);
        let _ = std::fs::remove_file(&page);
        let mut args = vec![
            "run",
            SCENARIOS[0],
            "--trace",
            trace.to_str().unwrap(),
            "--history",
            history.to_str().unwrap(),
            "--export",
            "perfetto",
            perfetto.to_str().unwrap(),
            "--html",
            html,
        ];
        args.extend(window.iter().flat_map(|w| ["--html-window", w]));
        let (code, stdout, stderr) = run_chaoslab(&args);
        assert_eq!(code, 2, "{html}: {stderr}");
        assert!(stdout.is_empty(), "{html}: {stdout}");
        assert_eq!(std::fs::read_to_string(&trace).unwrap(), "old trace\n");
        assert_eq!(std::fs::read_to_string(&perfetto).unwrap(), "old export\n");
        assert!(!history.exists(), "{html}: the history file was made");
        assert!(!page.exists(), "{html}: the page's file was made");
    }
    // And a refused other output leaves an existing page's file as it was.
    std::fs::write(&page, "old page\n").unwrap();
    let (code, _, stderr) = run_chaoslab(&[
        "run",
        SCENARIOS[0],
        "--trace",
        "/nonexistent-dir/t.jsonl",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(std::fs::read_to_string(&page).unwrap(), "old page\n");
}

#[cfg(target_os = "linux")]
#[test]
fn a_write_error_after_the_run_prints_the_report_and_replay_then_the_error_with_exit_2() {
    // /dev/full opens, and every write to it fails: the page is written
    // after the run, so the report comes first.
    let (code, stdout, stderr) = run_chaoslab(&["run", SCENARIOS[0], "--html", "/dev/full"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.contains("verdict      PASS"), "{stdout}");
    assert!(stdout.contains("replay       chaoslab run raft/leader-minority --seed 1"));
    assert!(
        stderr.contains("error: cannot write the HTML report to /dev/full"),
        "{stderr}"
    );
}

#[test]
fn a_long_run_gives_a_bounded_page_that_says_what_it_left_out() {
    // raft/leader-minority run for 400 s: 288001 messages, 20523 operations.
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/raft/leader-minority.toml"),
    )
    .unwrap();
    let long = source
        .replace("duration = \"20s\"", "duration = \"400s\"")
        .replace(
            "name = \"raft/leader-minority\"",
            "name = \"raft/leader-minority-long\"",
        );
    assert_ne!(long, source);
    let scenario = html_tmp("long.toml");
    std::fs::write(&scenario, long).unwrap();
    let file = html_tmp("long.html");
    let page = write_page(scenario.to_str().unwrap(), &file, &[]);
    let data = page_data(&page);
    assert_eq!(data["messages"].as_array().unwrap().len(), 20000);
    assert!(data["messages_total"].as_u64().unwrap() > 200_000);
    assert_eq!(data["operations"].as_array().unwrap().len(), 20000);
    assert!(data["operations_total"].as_u64().unwrap() > 20000);
    assert!(page.len() < 4_000_000, "{} bytes", page.len());
    // The whole run's figures: 400 s in at most 500 buckets.
    let width = data["buckets"]["width_ns"].as_u64().unwrap();
    assert!(width * 500 >= 400_000_000_000 && width * 250 < 400_000_000_000);
    let Some(browser) = chromium("html long run") else {
        return;
    };
    let (dom, _) = headless(&browser, &file, &["--dump-dom"]);
    assert_eq!(drawn_status(&dom), Some([4000, 20000, 7, 0]), "{dom:.300}");
    assert!(
        dom.contains("The page holds the first 20000 of the")
            && dom.contains("write the page with --html-window FROM..TO"),
        "the page says what it left out"
    );
}

#[test]
fn a_link_names_a_view_that_zooms_and_filters_the_diagram_and_the_history() {
    let file = html_tmp("view.html");
    let page = write_page(SCENARIOS[0], &file, &[]);
    let data = page_data(&page);
    let Some(browser) = chromium("html view link") else {
        return;
    };
    // 4.9 s .. 5.3 s, the partition's start, without clients c1 and c2.
    let (v0, v1) = (4_900_000_000u64, 5_300_000_000u64);
    let nodes: Vec<&str> = data["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let shown = |i: &Value| !["c1", "c2"].contains(&nodes[i.as_u64().unwrap() as usize]);
    let to_ns = data["to_ns"].as_u64().unwrap();
    let overlaps = |from: &Value, to: &Value| {
        let end = to.as_u64().unwrap_or(to_ns);
        end >= v0 && from.as_u64().unwrap() <= v1
    };
    let messages = data["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| overlaps(&m[0], &m[1]) && shown(&m[2]) && shown(&m[3]))
        .count() as u64;
    let operations = data["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| overlaps(&o[1], &o[2]) && shown(&o[0]))
        .count() as u64;
    assert!(messages > 0 && messages <= 4000 && operations > 0);
    let link = format!("{}#from=4900&to=5300&hide=c1,c2", file.display());
    let (dom, _) = headless(&browser, Path::new(&link), &["--dump-dom"]);
    assert_eq!(
        drawn_status(&dom),
        Some([messages, operations, 7, 0]),
        "every message and operation in view is drawn, none of the hidden nodes'"
    );
    assert!(dom.contains("Showing 4900 ms .. 5300 ms"));
}

#[test]
fn a_malformed_link_is_ignored_in_part_and_the_page_still_draws() {
    let file = html_tmp("malformed-link.html");
    let page = write_page(SCENARIOS[0], &file, &[]);
    let data = page_data(&page);
    let Some(browser) = chromium("html malformed link") else {
        return;
    };
    // `%E0%A4%A` is not valid percent-encoding (decodeURIComponent throws):
    // that part is ignored, the rest of the link still applies.
    let link = format!("{}#hide=%E0%A4%A&from=4900&to=5300", file.display());
    let (dom, stderr) = headless(&browser, Path::new(&link), &["--dump-dom"]);
    let status =
        drawn_status(&dom).unwrap_or_else(|| panic!("the page did not say it drew:\n{stderr}"));
    assert_eq!(status[3], 0, "no error: {dom:.300}");
    assert_eq!(
        status[2],
        7 + data["series"].as_array().unwrap().len() as u64
    );
    assert!(dom.contains("Showing 4900 ms .. 5300 ms"), "{dom:.300}");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "{console:#?}");
}

#[test]
fn a_short_run_s_plots_count_in_at_most_100_buckets_and_draw_lone_values_as_dots() {
    // raft/bug-figure-8 lasts about 4 s: 500 buckets of 8 ms held 0.3
    // operations each, and its availability plot drew nothing.
    let file = html_tmp("figure-8.html");
    let page = write_page("raft/bug-figure-8", &file, &[]);
    let data = page_data(&page);
    let Some(browser) = chromium("html short run plots") else {
        return;
    };
    let (dom, _) = headless(&browser, &file, &["--dump-dom"]);
    let status = drawn_status(&dom).expect("the page drew");
    assert_eq!(status[3], 0, "{dom:.300}");
    let note_at = dom.find("Counted in ").expect("the metrics note");
    let buckets: u64 = dom[note_at + "Counted in ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let width = data["buckets"]["width_ns"].as_u64().unwrap();
    let span = data["to_ns"].as_u64().unwrap() - data["from_ns"].as_u64().unwrap();
    let raw = (span / width + 1).min(data["buckets"]["ok"].as_array().unwrap().len() as u64);
    assert!(raw > 200, "{raw} buckets in the page");
    assert!((50..=100).contains(&buckets), "{buckets} buckets plotted");
    assert_eq!(buckets, raw.div_ceil(raw.div_ceil(100)));
    // Every plot draws something: a line of at least two values or a dot.
    let plots: Vec<&str> = dom.split("<div class=\"plot\">").skip(1).collect();
    assert_eq!(plots.len() as u64, status[2]);
    for plot in plots {
        let title = &plot[plot.find("<h3>").unwrap() + 4..plot.find("</h3>").unwrap()];
        let plot = &plot[..plot.find("</svg>").unwrap()];
        let line = plot
            .split("<path d=\"")
            .nth(1)
            .is_some_and(|d| d.contains(" L"));
        assert!(line || plot.contains("<circle"), "{title}: draws nothing");
    }
    let availability = dom
        .split("<div class=\"plot\">")
        .skip(1)
        .find(|p| p.contains("<h3>availability"))
        .unwrap();
    assert!(
        availability
            .split("<path d=\"")
            .nth(1)
            .is_some_and(|d| d.matches(" L").count() > 10),
        "the availability of bug-figure-8 is a line, not a few dots"
    );
}

#[test]
fn fault_names_name_their_node_share_one_label_per_instant_and_never_overlap() {
    // raft/bug-figure-8: at 1770.6 ms n5 and n1 crash and the partition
    // heals; 10 ms after n4's crash it restarts and pauses.
    let file = html_tmp("figure-8-faults.html");
    write_page("raft/bug-figure-8", &file, &[]);
    let Some(browser) = chromium("html fault labels") else {
        return;
    };
    let (dom, _) = headless(&browser, &file, &["--dump-dom"]);
    assert_eq!(drawn_status(&dom).expect("the page drew")[3], 0);
    // (x, y, end, text) of each label, as the page placed them.
    let attr = |tag: &str, name: &str| -> f64 {
        let at = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
    };
    let labels: Vec<(f64, f64, f64, String)> = dom
        .split("<text ")
        .skip(1)
        .filter(|t| t.contains("class=\"fault-label\""))
        .map(|t| {
            let (tag, rest) = t.split_once('>').unwrap();
            let tag = format!(" {tag}");
            let text = rest.split("</text>").next().unwrap().to_string();
            (
                attr(&tag, "x"),
                attr(&tag, "y"),
                attr(&tag, "data-end"),
                text,
            )
        })
        .collect();
    let texts: Vec<&str> = labels.iter().map(|l| l.3.as_str()).collect();
    assert_eq!(
        texts,
        [
            "partition",
            "crash n4",
            "restart n4, pause n4",
            "crash n5, crash n1, heal",
            "restart n5",
            "resume n4, crash n5",
        ]
    );
    for (i, a) in labels.iter().enumerate() {
        assert!(a.2 > a.0, "{}: a measured width", a.3);
        for b in &labels[..i] {
            let apart = a.1 != b.1 || a.0 >= b.2 || b.0 >= a.2;
            assert!(apart, "{:?} overprints {:?}", a.3, b.3);
        }
    }
    assert!(
        labels.iter().any(|l| l.1 != labels[0].1),
        "some went down a line"
    );
}
