//! The page itself: the report at the top as HTML, then the data the
//! script draws from, as JSON, with the script and style inline.

use serde::Serialize;
use sim::metric::{Unit, Value};
use sim::report::{Report, RunOutcome};
use sim::time::Nanos;

use super::collect::{
    Buckets, Collected, Message, Operation, Window, MAX_MARKS, MAX_MESSAGES, MAX_OPS,
};

const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// Everything the script draws, in one JSON object (docs/html.md).
#[derive(Serialize)]
struct Data<'a> {
    title: String,
    /// The part of the run shown: `[from, to]` in ns.
    from_ns: Nanos,
    to_ns: Nanos,
    end_ns: Nanos,
    /// Servers, then clients, then any other node, in number order.
    nodes: Vec<&'a str>,
    kinds: &'a [String],
    messages: Vec<Message>,
    messages_total: u64,
    max_messages: usize,
    operations: Vec<Operation>,
    operations_total: u64,
    max_operations: usize,
    faults: &'a [(Nanos, String, String)],
    faults_total: u64,
    roles: Vec<(Nanos, usize, &'a str, &'a str)>,
    roles_total: u64,
    violations: &'a [(Nanos, String, String)],
    violations_total: u64,
    /// At most this many faults, role changes, violations each.
    max_marks: usize,
    /// `[start, end)` of the partitions in force.
    partitions: &'a [(Nanos, Nanos)],
    buckets: &'a Buckets,
    series: Vec<SeriesData<'a>>,
    /// The operation the linearizability search could not place, if the
    /// run was not linearizable.
    blocked: Option<Blocked<'a>>,
}

#[derive(Serialize)]
struct Blocked<'a> {
    /// Its id in the history (an operation's last field).
    op: usize,
    key: &'a str,
    what: &'a str,
    could_have_seen: &'a [String],
}

#[derive(Serialize)]
struct SeriesData<'a> {
    name: &'a str,
    /// "duration" values are in ns, "ratio" between 0 and 1.
    unit: Unit,
    points: Vec<(Nanos, f64)>,
}

/// Servers `n1..`, then clients `c1..`, then the rest, each in number order.
fn node_order(name: &str) -> (u8, u64, &str) {
    let number = |rest: &str| {
        (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            .then(|| rest.parse::<u64>().ok())
            .flatten()
    };
    if let Some(n) = name.strip_prefix('n').and_then(number) {
        (0, n, name)
    } else if let Some(n) = name.strip_prefix('c').and_then(number) {
        (1, n, name)
    } else {
        (2, 0, name)
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn data_json(report: &Report, out: &sim::kernel::RunOutput, c: &Collected, w: Window) -> String {
    let mut order: Vec<usize> = (0..c.nodes.len()).collect();
    order.sort_by_key(|&i| node_order(&c.nodes[i]));
    let mut new_index = vec![0; c.nodes.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let to_ns = w.to.unwrap_or(out.end_ns).min(out.end_ns).max(w.from);
    let data = Data {
        title: format!("{} seed {}", report.scenario, report.seed),
        from_ns: w.from,
        to_ns,
        end_ns: out.end_ns,
        nodes: order.iter().map(|&i| c.nodes[i].as_str()).collect(),
        kinds: &c.kinds,
        messages: c
            .messages
            .iter()
            .map(|m| (m.0, m.1, new_index[m.2], new_index[m.3], m.4, m.5, m.6))
            .collect(),
        messages_total: c.messages_total,
        max_messages: MAX_MESSAGES,
        operations: c
            .operations
            .iter()
            .map(|o| {
                let mut o = o.clone();
                o.0 = new_index[o.0];
                o
            })
            .collect(),
        operations_total: c.operations_total,
        max_operations: MAX_OPS,
        faults: &c.faults,
        faults_total: c.faults_total,
        roles_total: c.roles_total,
        violations_total: c.violations_total,
        max_marks: MAX_MARKS,
        roles: c
            .roles
            .iter()
            .map(|r| (r.0, new_index[r.1], r.2.as_str(), r.3.as_str()))
            .collect(),
        violations: &c.violations,
        partitions: &out.partition_windows,
        buckets: &c.buckets,
        series: report
            .metrics
            .iter()
            .filter_map(|m| match &m.value {
                Value::Series(s) => Some(SeriesData {
                    name: &m.name,
                    unit: s.of,
                    points: s
                        .points
                        .iter()
                        .copied()
                        .filter(|&(t, _)| t >= w.from && t <= to_ns)
                        .collect(),
                }),
                _ => None,
            })
            .collect(),
        blocked: match report.consistency.verdict() {
            Some(sim::check::Verdict::NotLinearizable { explanation: e }) => Some(Blocked {
                op: e.blocked_index,
                key: &e.key,
                what: &e.blocked_op,
                could_have_seen: &e.could_have_seen,
            }),
            _ => None,
        },
    };
    // Inside <script>, `</script>` would end it: JSON keeps `<` only in
    // strings, where `\u003c` reads the same.
    serde_json::to_string(&data)
        .expect("the data serializes")
        .replace('<', "\\u003c")
}

fn verdict_word(v: &impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| {
            v.get("verdict")
                .and_then(|s| s.as_str().map(str::to_string))
        })
        .unwrap_or_default()
}

/// The summary at the top: verdict, expectations, invariants,
/// linearizability and PACELC.
fn summary(report: &Report) -> String {
    let mut h = String::new();
    let (class, word) = match report.outcome {
        RunOutcome::Pass => ("pass", "PASS: the hypothesis held"),
        RunOutcome::Fail => ("fail", "FAIL: the hypothesis did not hold"),
        RunOutcome::Undecided => (
            "undecided",
            "UNDECIDED: nothing failed, but a check has no answer",
        ),
    };
    h.push_str(&format!(
        "<div id=\"verdict\" class=\"verdict {class}\">{word}</div>\n"
    ));
    h.push_str("<div class=\"cards\">\n<div class=\"card\"><h3>Expectations</h3><table>");
    for e in &report.expectations {
        let (c, mark) = match (e.held, e.undecided) {
            (true, _) => ("ok", "ok"),
            (false, true) => ("undecided", "??"),
            (false, false) => ("bad", "FAIL"),
        };
        h.push_str(&format!(
            "<tr class=\"{c}\"><td>[{mark}]</td><td>{}</td><td>expected {}, got {}</td></tr>",
            escape(&e.what),
            escape(&e.expected),
            escape(&e.actual)
        ));
    }
    if report.expectations.is_empty() {
        h.push_str("<tr><td colspan=3>none stated</td></tr>");
    }
    h.push_str("</table></div>\n<div class=\"card\"><h3>Invariants</h3><table>");
    for i in &report.invariants {
        let word = verdict_word(&i.verdict);
        let c = match word.as_str() {
            "held" | "seen" => "ok",
            "violated" | "not_seen" => "bad",
            _ => "undecided",
        };
        let count = if i.violations > 0 {
            format!(" ({} times)", i.violations)
        } else {
            String::new()
        };
        h.push_str(&format!(
            "<tr class=\"{c}\"><td>{}</td><td>{}{count}</td></tr>",
            escape(&i.name),
            escape(&word)
        ));
    }
    h.push_str("</table></div>\n<div class=\"card\"><h3>Linearizability</h3>");
    match report.consistency.verdict() {
        Some(v) => {
            let c = match v {
                sim::check::Verdict::Linearizable => "ok",
                sim::check::Verdict::NotLinearizable { .. } => "bad",
                sim::check::Verdict::Unknown { .. } => "undecided",
            };
            let text = v.to_string();
            let first = text.lines().next().unwrap_or_default();
            h.push_str(&format!(
                "<p id=\"linearizability\" class=\"{c}\">{}</p>",
                escape(first)
            ));
        }
        None => h.push_str("<p>not checked</p>"),
    }
    h.push_str(&format!(
        "<h3>PACELC</h3><p id=\"pacelc\"><b>{}</b></p><ul>",
        escape(&report.pacelc.class())
    ));
    for e in &report.pacelc.evidence {
        h.push_str(&format!("<li>{}</li>", escape(e)));
    }
    h.push_str("</ul></div>\n</div>\n");
    h.push_str(&format!(
        "<p class=\"replay\">replay: <code>{}</code></p>\n",
        escape(&report.replay)
    ));
    h
}

/// The whole page.
pub fn page(
    report: &Report,
    out: &sim::kernel::RunOutput,
    picture: &Collected,
    window: Window,
) -> String {
    let title = format!("chaoslab: {} seed {}", report.scenario, report.seed);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<link rel=\"icon\" href=\"data:,\">\n");
    h.push_str(&format!("<title>{}</title>\n", escape(&title)));
    h.push_str(&format!("<style>\n{STYLE}</style>\n</head>\n<body>\n"));
    h.push_str(&format!(
        "<header><h1>{}</h1><p class=\"meta\">protocol {} · fingerprint {} · simulated {} ms</p></header>\n",
        escape(&title),
        escape(&report.protocol),
        escape(&report.fingerprint),
        report.simulated_ns / 1_000_000
    ));
    h.push_str("<section id=\"summary\">\n");
    h.push_str(&summary(report));
    h.push_str(&format!(
        "<details><summary>The whole report (as <code>chaoslab run</code> prints it)</summary><pre id=\"report\">{}</pre></details>\n</section>\n",
        escape(&report.render())
    ));
    h.push_str(concat!(
        "<section id=\"lamport\"><h2>Messages (Lamport diagram)</h2>\n",
        "<div class=\"controls\">",
        "<button id=\"zoom-in\" type=\"button\">zoom in</button> ",
        "<button id=\"zoom-out\" type=\"button\">zoom out</button> ",
        "<button id=\"zoom-all\" type=\"button\">whole run</button> ",
        "<label>from <input id=\"t-from\" type=\"number\" step=\"any\" size=\"9\"> ms</label> ",
        "<label>to <input id=\"t-to\" type=\"number\" step=\"any\" size=\"9\"> ms</label> ",
        "<button id=\"t-apply\" type=\"button\">show</button>",
        "<span class=\"hint\"> wheel: zoom around the pointer; drag: pan</span>",
        "</div>\n<div id=\"node-filter\" class=\"controls\"></div>\n",
        "<p id=\"lamport-note\" class=\"note\"></p>\n",
        "<div id=\"legend\" class=\"legend\"></div>\n",
        "<div class=\"scroll\"><svg id=\"diagram\" xmlns=\"http://www.w3.org/2000/svg\"></svg></div>\n",
        "</section>\n",
        "<section id=\"history\"><h2>History per client</h2>\n",
        "<p id=\"history-note\" class=\"note\"></p>\n",
        "<div class=\"scroll\"><svg id=\"ops\" xmlns=\"http://www.w3.org/2000/svg\"></svg></div>\n",
        "</section>\n",
        "<section id=\"metrics\"><h2>Figures over time</h2>\n",
        "<p id=\"metrics-note\" class=\"note\"></p>\n",
        "<div id=\"plots\"></div>\n</section>\n",
        "<pre id=\"status\">not drawn: the script did not run</pre>\n",
    ));
    h.push_str(&format!(
        "<script id=\"data\" type=\"application/json\">{}</script>\n",
        data_json(report, out, picture, window)
    ));
    h.push_str(&format!("<script>\n{SCRIPT}</script>\n</body>\n</html>\n"));
    h
}
