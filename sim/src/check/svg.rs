//! A history as a picture: one lane per client, each operation a bar from its
//! invocation to its completion, so overlaps (concurrency) are visible at a
//! glance.
//!
//! Colours: completed operations green, failed grey, unknown (`info`) orange
//! with a dashed outline running to the end of the history (they may take effect
//! any time after invocation). The operation the linearizability search could
//! not place is red, and the operations of its key are outlined. Hovering a bar
//! shows the operation, its key and its times.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::describe_op;
use crate::history::{History, Outcome, ProcessId};

const LANE_H: f64 = 28.0;
const BAR_H: f64 = 20.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 50.0;
const WIDTH: f64 = 1200.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Draws `history`; `violation` is the index of the operation that could not be
/// linearized, if any. The output is a standalone SVG document.
pub fn render(history: &History, title: &str, violation: Option<usize>) -> String {
    let lanes: BTreeMap<ProcessId, usize> = {
        let mut ps: Vec<ProcessId> = history.ops.iter().map(|o| o.process).collect();
        ps.sort_unstable();
        ps.dedup();
        ps.into_iter().enumerate().map(|(i, p)| (p, i)).collect()
    };
    let t0 = history.ops.iter().map(|o| o.call_ns).min().unwrap_or(0);
    let t1 = history
        .ops
        .iter()
        .map(|o| o.return_ns.unwrap_or(o.call_ns).max(o.call_ns))
        .max()
        .unwrap_or(1)
        .max(t0 + 1);
    // Unknown operations run a little past the last completion.
    let t_end = t1 + (t1 - t0) / 50 + 1;
    let x = |t: u64| LEFT + (t - t0) as f64 / (t_end - t0) as f64 * (WIDTH - LEFT - 20.0);
    let height = TOP + lanes.len() as f64 * LANE_H + 40.0;
    let key_of_violation = violation
        .and_then(|i| history.ops.get(i))
        .map(|o| o.key.as_str());

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="20" font-size="14">{}</text>"#,
        escape(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="38" fill="#555">time runs left to right ({t0} to {t1} ns); green ok, pale green a cas that found another value, grey fail, orange unknown, red: could not be linearized</text>"##
    );
    for (p, lane) in &lanes {
        let y = TOP + *lane as f64 * LANE_H;
        let _ = writeln!(
            s,
            r#"<text x="8" y="{:.1}">{}</text>"#,
            y + BAR_H * 0.7,
            super::client_name(*p)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#eee"/>"##,
            y + BAR_H / 2.0,
            WIDTH - 20.0,
            y + BAR_H / 2.0
        );
    }
    for (i, op) in history.ops.iter().enumerate() {
        let y = TOP + lanes[&op.process] as f64 * LANE_H;
        let x0 = x(op.call_ns);
        let end = match (op.outcome, op.return_ns) {
            (Outcome::Info, _) | (_, None) => t_end,
            (_, Some(r)) => r.max(op.call_ns),
        };
        let w = (x(end) - x0).max(2.0);
        let (fill, dash) = match op.outcome {
            Outcome::Ok => ("#8fd19e", ""),
            // A cas that found another value answered, and is checked.
            Outcome::Fail if op.found_other => ("#b5d9bd", ""),
            Outcome::Fail => ("#d0d0d0", ""),
            Outcome::Info => ("#f6c28b", r#" stroke-dasharray="4 2""#),
        };
        let is_violation = violation == Some(i);
        let fill = if is_violation { "#e4572e" } else { fill };
        let stroke = if is_violation {
            r##"stroke="#7a0000" stroke-width="2""##
        } else if key_of_violation == Some(op.key.as_str()) {
            r##"stroke="#333" stroke-width="1""##
        } else {
            r##"stroke="#999" stroke-width="0.5""##
        };
        let label = describe_op(op);
        let key = if op.key.is_empty() {
            String::new()
        } else {
            format!(" key {:?}", op.key)
        };
        let ret = op.return_ns.map_or("never".to_string(), |r| r.to_string());
        let _ = writeln!(
            s,
            r#"<g><title>#{i} {}{} [{} .. {}]</title><rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{BAR_H}" rx="3" fill="{fill}" {stroke}{dash}/>"#,
            escape(&label),
            escape(&key),
            op.call_ns,
            ret
        );
        // Only label bars wide enough to hold some text.
        let chars = ((w - 4.0) / 6.6).floor() as usize;
        if chars >= 4 {
            let text: String = label
                .split_once(' ')
                .map_or(label.as_str(), |(_, rest)| rest)
                .chars()
                .take(chars)
                .collect();
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                x0 + 3.0,
                y + BAR_H * 0.7,
                escape(&text)
            );
        }
        let _ = writeln!(s, "</g>");
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Op, OpFn, Value};

    #[test]
    fn the_violating_operation_is_drawn_red_and_text_is_escaped() {
        let ops = vec![
            Op {
                process: 0,
                key: "<k>".into(),
                f: OpFn::Write(Value::Int(1)),
                output: None,
                outcome: Outcome::Ok,
                call_ns: 0,
                return_ns: Some(10),
                found_other: false,
            },
            Op {
                process: 1,
                key: "<k>".into(),
                f: OpFn::Read,
                output: Some(Value::Int(2)),
                outcome: Outcome::Ok,
                call_ns: 20,
                return_ns: Some(30),
                found_other: false,
            },
            Op {
                process: 2,
                key: "<k>".into(),
                f: OpFn::Write(Value::Int(3)),
                output: None,
                outcome: Outcome::Info,
                call_ns: 5,
                return_ns: None,
                found_other: false,
            },
        ];
        let svg = render(&History { ops }, "a & b", Some(1));
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("#e4572e").count(), 1);
        assert!(svg.contains("a &amp; b"));
        assert!(svg.contains("&lt;k&gt;"));
        assert!(svg.contains("stroke-dasharray"));
    }
}
