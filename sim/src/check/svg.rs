//! A history as a picture: one lane per client, each operation a bar from its
//! invocation to its completion, so overlaps (concurrency) are visible at a
//! glance, labelled with what it did (`w 87`, `r 92`, `cas 1→4`), over a time
//! axis in milliseconds.
//!
//! When the history is not linearizable the picture shows, by default, only
//! what explains it: the key that broke, in the window around the operation
//! that could not be placed, with that operation and the ones it conflicts
//! with marked and named in a caption (see [`Marks`]). The whole history is
//! drawn on request, or when there is nothing to explain.
//!
//! Colours: completed operations green, failed grey, unknown (`info`) orange
//! with a dashed outline running to the window's end (they may take effect any
//! time after invocation). Hovering a bar shows the operation, its key and its
//! times.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{describe_op, Explanation};
use crate::history::{History, Op, OpFn, Outcome, ProcessId};

const LANE_H: f64 = 30.0;
const BAR_H: f64 = 20.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const WIDTH: f64 = 1200.0;
/// Pixels per character of the 11 px monospace labels.
const CHAR_W: f64 = 6.7;

const RED: &str = "#e4572e";
const PURPLE: &str = "#7b2cbf";
const BLUE: &str = "#1d4ed8";
const AMBER: &str = "#b45309";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// At most this many operations of each kind of mark: the latest.
const MARKED: usize = 3;

/// What the picture marks when it explains a violation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// The operation that could not be placed (red).
    pub blocked: Option<usize>,
    /// The last operation that finished before the blocked one began
    /// (purple): the blocked one must be ordered after it, and so after the
    /// state it saw or made.
    pub fence: Option<usize>,
    /// The operations that made the states the blocked one could have seen
    /// from there on (amber).
    pub made: Vec<usize>,
    /// The writes of the value the blocked read returned (blue).
    pub wrote_read: Vec<usize>,
}

impl Marks {
    /// The marks for `explanation` on `history`.
    pub fn of(history: &History, e: &Explanation) -> Marks {
        let blocked = &history.ops[e.blocked_index];
        // The fence: the last of the order found that returned before the
        // blocked operation was invoked.
        let fence_pos = e.prefix.iter().rposition(|p| {
            history.ops[p.index]
                .return_ns
                .is_some_and(|r| r < blocked.call_ns)
        });
        let fence = fence_pos.map(|k| e.prefix[k].index);
        // The operations that made the values the blocked one could have
        // seen: the one whose value was in force at the fence (none when it
        // was the initial value), then the latest maker of each other value
        // the order found later, up to MARKED in all.
        let changed = |k: usize| {
            let before = if k == 0 {
                &e.initial_state
            } else {
                &e.prefix[k - 1].state_after
            };
            *before != e.prefix[k].state_after
        };
        let in_force = fence_pos.and_then(|f| (0..=f).rev().find(|&k| changed(k)));
        let from = fence_pos.map_or(0, |f| f + 1);
        let mut positions: Vec<usize> = in_force.into_iter().collect();
        for k in (from..e.prefix.len()).rev() {
            let value = &e.prefix[k].state_after;
            if changed(k) && !positions.iter().any(|&j| e.prefix[j].state_after == *value) {
                positions.push(k);
            }
        }
        positions.retain(|&k| Some(e.prefix[k].index) != fence);
        positions.truncate(MARKED);
        positions.sort_unstable();
        let made: Vec<usize> = positions.iter().map(|&k| e.prefix[k].index).collect();
        // For a read, the writes of what it returned that could have been
        // its source: invoked before it returned, and not failed; the
        // latest few.
        let mut wrote_read: Vec<usize> = match (&blocked.f, &blocked.output) {
            (OpFn::Read, Some(v)) => history
                .ops
                .iter()
                .enumerate()
                .filter(|(_, o)| o.key == blocked.key && o.outcome != Outcome::Fail)
                .filter(|(_, o)| blocked.return_ns.is_none_or(|r| o.call_ns < r))
                .filter(|(_, o)| match &o.f {
                    OpFn::Write(w) => w == v,
                    OpFn::Cas { new, .. } => new == v,
                    _ => false,
                })
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        };
        wrote_read.sort_by_key(|&i| history.ops[i].call_ns);
        if wrote_read.len() > MARKED {
            wrote_read.drain(..wrote_read.len() - MARKED);
        }
        Marks {
            blocked: Some(e.blocked_index),
            fence,
            made,
            wrote_read,
        }
    }

    fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.blocked
            .iter()
            .chain(self.fence.iter())
            .chain(&self.made)
            .chain(&self.wrote_read)
            .copied()
    }

    /// The mark of operation `i`: its outline colour and what the caption
    /// calls it.
    fn of_op(&self, i: usize) -> Option<(&'static str, &'static str)> {
        if self.blocked == Some(i) {
            Some((RED, "could not be placed"))
        } else if self.fence == Some(i) {
            Some((PURPLE, "finished before it began"))
        } else if self.made.contains(&i) {
            Some((AMBER, "made a value it could have seen"))
        } else if self.wrote_read.contains(&i) {
            Some((BLUE, "wrote the value it returned"))
        } else {
            None
        }
    }
}

/// A bar's short label: what the operation did, in a few characters.
fn short(op: &Op) -> String {
    use super::model::describe_value as v;
    let body = match (&op.f, &op.output) {
        (OpFn::Read, Some(out)) => format!("r {}", v(out)),
        (OpFn::Read, None) => "r ?".to_string(),
        (OpFn::Write(x), _) => format!("w {}", v(x)),
        (OpFn::Cas { expected, new }, _) => format!("cas {}→{}", v(expected), v(new)),
        (OpFn::Append(x), _) => format!("+{}", v(x)),
        (OpFn::Delete, _) => "del".to_string(),
    };
    match op.outcome {
        Outcome::Ok => body,
        Outcome::Fail if op.found_other => format!("{body} ≠"),
        Outcome::Fail => format!("{body} ✗"),
        Outcome::Info => format!("{body} ?"),
    }
}

/// Tick spacing for a span of `span` ns: 1, 2 or 5 times a power of ten,
/// about 8 ticks.
fn tick_step(span: u64) -> u64 {
    let rough = (span / 8).max(1);
    let mut p = 1u64;
    while p.saturating_mul(10) <= rough {
        p *= 10;
    }
    [1, 2, 5, 10]
        .iter()
        .map(|m| p.saturating_mul(*m))
        .find(|&s| s >= rough)
        .unwrap_or(p)
}

/// A time on the axis, in milliseconds (the run's virtual time); a history
/// without a clock (times are line positions) spans too little for
/// milliseconds, and its axis is in its own units.
fn ms(t: u64, step: u64) -> String {
    if step == 0 {
        return t.to_string();
    }
    let decimals = match step {
        s if s >= 1_000_000 => 0,
        s if s >= 100_000 => 1,
        s if s >= 10_000 => 2,
        _ => 3,
    };
    format!("{:.decimals$}", t as f64 / 1e6)
}

/// Draws `history`. With `explanation` (it is not linearizable) and not
/// `whole`, only the key that broke, in the window around the operation that
/// could not be placed, with the operations it conflicts with marked and a
/// caption that says how they conflict; else every operation. The output is
/// a standalone SVG document.
pub fn render(
    history: &History,
    title: &str,
    explanation: Option<&Explanation>,
    whole: bool,
) -> String {
    // The whole history marks only the operation that could not be placed
    // (its header explains no other mark).
    let marks = match explanation {
        Some(e) if whole => Marks {
            blocked: Some(e.blocked_index),
            ..Marks::default()
        },
        Some(e) => Marks::of(history, e),
        None => Marks::default(),
    };
    // When each client next invoked an operation: an unknown one is drawn
    // solid until then (the client gave up on it), then, if it is marked, as
    // a dashed line to the window's end (it may still take effect).
    let mut calls: BTreeMap<ProcessId, Vec<u64>> = BTreeMap::new();
    for o in &history.ops {
        calls.entry(o.process).or_default().push(o.call_ns);
    }
    for c in calls.values_mut() {
        c.sort_unstable();
    }
    let next_call = |o: &Op| {
        let c = &calls[&o.process];
        c.get(c.partition_point(|&t| t <= o.call_ns)).copied()
    };

    let focus = explanation.filter(|_| !whole);
    // The operations drawn, and the window.
    let (t0, t_end, drawn): (u64, u64, Vec<usize>) = match focus {
        Some(e) => {
            let involved: Vec<&Op> = marks.all().map(|i| &history.ops[i]).collect();
            let lo = involved.iter().map(|o| o.call_ns).min().unwrap_or(0);
            let hi = involved
                .iter()
                .map(|o| o.return_ns.unwrap_or(o.call_ns).max(o.call_ns))
                .max()
                .unwrap_or(lo.saturating_add(1));
            let pad = (hi - lo) / 10 + 1;
            let (t0, t1) = (lo.saturating_sub(pad), hi.saturating_add(pad));
            let drawn = history
                .ops
                .iter()
                .enumerate()
                .filter(|(_, o)| o.key == e.key)
                .filter(|(_, o)| {
                    // Where its bar ends: an unknown one when its client
                    // moved on (see below).
                    let end = match (o.outcome, o.return_ns) {
                        (Outcome::Info, _) | (_, None) => next_call(o).unwrap_or(u64::MAX),
                        (_, Some(r)) => r,
                    };
                    o.call_ns <= t1 && end >= t0
                })
                .map(|(i, _)| i)
                .collect();
            (t0, t1, drawn)
        }
        None => {
            let t0 = history.ops.iter().map(|o| o.call_ns).min().unwrap_or(0);
            let t1 = history
                .ops
                .iter()
                .map(|o| o.return_ns.unwrap_or(o.call_ns).max(o.call_ns))
                .max()
                .unwrap_or(1)
                .max(t0.saturating_add(1));
            // Unknown operations run a little past the last completion.
            (
                t0,
                t1.saturating_add((t1 - t0) / 50 + 1),
                (0..history.ops.len()).collect(),
            )
        }
    };
    let lanes: BTreeMap<ProcessId, usize> = {
        let mut ps: Vec<ProcessId> = drawn.iter().map(|&i| history.ops[i].process).collect();
        ps.sort_unstable();
        ps.dedup();
        ps.into_iter().enumerate().map(|(i, p)| (p, i)).collect()
    };
    let span = t_end.saturating_sub(t0).max(1);
    // A history without a clock gives each operation its line's position
    // as its times: none is past a few times the number of operations. Its
    // axis is in positions; any other is in milliseconds.
    let clockless = history
        .ops
        .iter()
        .map(|o| o.return_ns.unwrap_or(o.call_ns).max(o.call_ns))
        .max()
        .is_some_and(|last| last <= 4 * history.ops.len() as u64 + 16);
    let unit = if clockless { "positions" } else { "ms" };
    let show = |t: u64, step: u64| if clockless { ms(t, 0) } else { ms(t, step) };
    let x = |t: u64| LEFT + (t.clamp(t0, t_end) - t0) as f64 / span as f64 * (WIDTH - LEFT - RIGHT);

    // Header: title, what is shown, caption, legend.
    let mut header: Vec<(String, &str)> = vec![(title.to_string(), "#000")];
    match focus {
        Some(e) => {
            header.push((
                format!(
                    "key {:?}: {} of its {} operations, {} to {} {unit} (--svg-all draws the whole history)",
                    e.key,
                    drawn.len(),
                    history.ops.iter().filter(|o| o.key == e.key).count(),
                    show(t0, 1),
                    show(t_end, 1)
                ),
                "#555",
            ));
            for (i, colour, what) in marks
                .all()
                .filter_map(|i| marks.of_op(i).map(|(c, w)| (i, c, w)))
                .collect::<Vec<_>>()
            {
                let op = &history.ops[i];
                // In the axis's unit.
                let when = op.return_ns.map_or("never returned".to_string(), |r| {
                    format!("{}..{} {unit}", show(op.call_ns, 100_000), show(r, 100_000))
                });
                header.push((format!("#{i} {}: {what} ({when})", describe_op(op)), colour));
            }
            if !e.could_have_seen.is_empty() {
                header.push((
                    format!(
                        "where it could have taken effect the key held {}",
                        e.could_have_seen.join(" or ")
                    ),
                    "#555",
                ));
            }
        }
        None => header.push((
            format!(
                "{} operations, {} to {} {unit}; green ok, pale green a cas that found another value, grey fail, orange unknown{}",
                drawn.len(),
                show(t0, 1),
                show(t_end, 1),
                if marks.blocked.is_some() { ", red: could not be linearized" } else { "" }
            ),
            "#555",
        )),
    }
    let top = 16.0 * header.len() as f64 + 34.0;
    let axis_y = top + lanes.len() as f64 * LANE_H + 6.0;
    let height = axis_y + 30.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (k, (text, colour)) in header.iter().enumerate() {
        let size = if k == 0 { 14 } else { 12 };
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" font-size="{size}" fill="{colour}">{}</text>"#,
            20 + k * 16,
            escape(text)
        );
    }
    // The time axis, in ms, with grid lines.
    let step = tick_step(span);
    let mut t = t0.div_ceil(step).saturating_mul(step);
    while t <= t_end {
        let tx = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{top:.1}" x2="{tx:.1}" y2="{axis_y:.1}" stroke="#f0f0f0"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
            axis_y + 14.0,
            show(t, step)
        );
        match t.checked_add(step) {
            Some(next) => t = next,
            None => break,
        }
    }
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="#999"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{unit}</text>"##,
        WIDTH - RIGHT,
        LEFT - 8.0,
        axis_y + 14.0
    );
    for (p, lane) in &lanes {
        let y = top + *lane as f64 * LANE_H;
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
            WIDTH - RIGHT,
            y + BAR_H / 2.0
        );
    }
    // Labels placed above bars so far, per lane: (x from, x to).
    let mut above: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
    // Marked operations last, so that their outlines are on top.
    let mut order = drawn.clone();
    order.sort_by_key(|&i| (marks.of_op(i).is_some(), i));
    for i in order {
        let op = &history.ops[i];
        let lane = lanes[&op.process];
        let y = top + lane as f64 * LANE_H;
        let x0 = x(op.call_ns);
        let mark = marks.of_op(i);
        let end = match (op.outcome, op.return_ns) {
            (Outcome::Info, _) | (_, None) => next_call(op).unwrap_or(t_end).min(t_end),
            (_, Some(r)) => r.max(op.call_ns),
        };
        let w = (x(end) - x0).max(2.0);
        // An unknown read constrains nothing: faint, unlabelled.
        let faint = op.outcome == Outcome::Info && matches!(op.f, OpFn::Read) && mark.is_none();
        if op.outcome == Outcome::Info && mark.is_some() && end < t_end {
            let _ = writeln!(
                s,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{AMBER}" stroke-width="2" stroke-dasharray="5 3"/>"#,
                x0 + w,
                y + BAR_H / 2.0,
                x(t_end),
                y + BAR_H / 2.0
            );
        }
        let (fill, dash) = match op.outcome {
            Outcome::Ok => ("#8fd19e", ""),
            // A cas that found another value answered, and is checked.
            Outcome::Fail if op.found_other => ("#b5d9bd", ""),
            Outcome::Fail => ("#d0d0d0", ""),
            Outcome::Info => ("#f6c28b", r#" stroke-dasharray="4 2""#),
        };
        let fill = if marks.blocked == Some(i) { RED } else { fill };
        let opacity = if faint { r#" opacity="0.35""# } else { "" };
        let stroke = match mark {
            Some((colour, _)) => format!(r#"stroke="{colour}" stroke-width="3""#),
            None if focus.is_none() && explanation.is_some_and(|e| e.key == op.key) => {
                r##"stroke="#333" stroke-width="1""##.to_string()
            }
            None => r##"stroke="#999" stroke-width="0.5""##.to_string(),
        };
        let key = if op.key.is_empty() {
            String::new()
        } else {
            format!(" key {:?}", op.key)
        };
        let ret = op
            .return_ns
            .map_or("never".to_string(), |r| format!("{} {unit}", show(r, 1)));
        let _ = writeln!(
            s,
            r#"<g><title>#{i} {}{} [{} {unit} .. {ret}]</title><rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{BAR_H}" rx="3" fill="{fill}" {stroke}{dash}{opacity}/>"#,
            escape(&describe_op(op)),
            escape(&key),
            show(op.call_ns, 1),
        );
        // The label inside the bar when it fits; a marked operation's label
        // goes above its bar when the bar is too narrow.
        let label = match mark {
            Some(_) => format!("#{i} {}", short(op)),
            None => short(op),
        };
        let need = label.chars().count() as f64 * CHAR_W + 6.0;
        if faint {
        } else if need <= w {
            let colour = if marks.blocked == Some(i) {
                "#fff"
            } else {
                "#000"
            };
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" fill="{colour}">{}</text>"#,
                x0 + 3.0,
                y + BAR_H * 0.7,
                escape(&label)
            );
        } else if let Some((colour, _)) = mark {
            // Above the bar, right of any label already there on this lane.
            let placed = above.entry(lane).or_default();
            let mut lx = x0;
            for &(a, b) in placed.iter() {
                if lx < b + 4.0 && lx + need > a {
                    lx = b + 4.0;
                }
            }
            placed.push((lx, lx + need));
            let _ = writeln!(
                s,
                r#"<text x="{lx:.1}" y="{:.1}" fill="{colour}" font-weight="bold">{}</text>"#,
                y - 2.0,
                escape(&label)
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
    use crate::check::{check_linearizable, Budget, ModelKind, Verdict};
    use crate::history::Value;

    fn op(process: u64, f: OpFn, output: Option<Value>, call: u64, ret: Option<u64>) -> Op {
        Op {
            process,
            key: "<k>".into(),
            f,
            output,
            outcome: if ret.is_some() {
                Outcome::Ok
            } else {
                Outcome::Info
            },
            call_ns: call,
            return_ns: ret,
            found_other: false,
        }
    }

    /// c0 writes 1, c1 writes 2, c2 reads 2, then c3 reads 1: stale. And an
    /// unrelated key far away in time.
    fn stale() -> History {
        let mut ops = vec![
            op(0, OpFn::Write(Value::Int(1)), None, 0, Some(10_000_000)),
            op(
                1,
                OpFn::Write(Value::Int(2)),
                None,
                20_000_000,
                Some(30_000_000),
            ),
            op(
                2,
                OpFn::Read,
                Some(Value::Int(2)),
                40_000_000,
                Some(50_000_000),
            ),
            op(
                3,
                OpFn::Read,
                Some(Value::Int(1)),
                60_000_000,
                Some(70_000_000),
            ),
        ];
        let mut far = op(
            4,
            OpFn::Write(Value::Int(9)),
            None,
            9_000_000_000,
            Some(9_010_000_000),
        );
        far.key = "other".into();
        ops.push(far);
        History { ops }
    }

    fn explanation(h: &History) -> Explanation {
        match check_linearizable(h, ModelKind::Kv, Budget::default()).verdict {
            Verdict::NotLinearizable { explanation } => explanation,
            v => panic!("expected a violation, got {v:?}"),
        }
    }

    #[test]
    fn the_marks_name_the_blocked_read_the_fence_and_both_writes() {
        let h = stale();
        let e = explanation(&h);
        let m = Marks::of(&h, &e);
        assert_eq!(m.blocked, Some(3), "{e}");
        assert_eq!(m.fence, Some(2), "{e}");
        assert_eq!(m.made, vec![1], "{e}");
        assert_eq!(m.wrote_read, vec![0], "{e}");
    }

    #[test]
    fn by_default_only_the_broken_key_around_the_violation_is_drawn() {
        let h = stale();
        let e = explanation(&h);
        let svg = render(&h, "a & b", Some(&e), false);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("a &amp; b"));
        assert!(svg.contains("&lt;k&gt;"));
        // The far key is left out, and every operation of the key is drawn
        // and labelled with its value.
        assert!(!svg.contains("key &quot;other&quot;"), "{svg}");
        assert_eq!(svg.matches("<rect x=").count(), 4, "{svg}");
        for label in ["#3 r 1", "#2 r 2", "#1 w 2", "#0 w 1"] {
            assert!(svg.contains(label), "{label} missing: {svg}");
        }
        // Each mark in its colour, and the caption says why.
        for colour in [RED, PURPLE, AMBER, BLUE] {
            assert!(svg.contains(colour), "{colour}");
        }
        assert!(svg.contains("could not be placed"));
        assert!(svg.contains("finished before it began"));
        // The axis is in ms: 0 to 70 ms give ticks at 10 ms steps.
        assert!(svg.contains(">40</text>"), "{svg}");
        assert!(svg.contains(">ms</text>"));
    }

    #[test]
    fn a_read_of_the_initial_value_is_not_what_made_it_and_the_value_in_force_stays_marked() {
        // c0 and c1 read nil, c2 reads 5, then c3 writes 5: c2's read is
        // the one that cannot be placed, and no operation made nil.
        let h = History {
            ops: vec![
                op(0, OpFn::Read, Some(Value::Nil), 0, Some(10_000_000)),
                op(
                    1,
                    OpFn::Read,
                    Some(Value::Nil),
                    20_000_000,
                    Some(30_000_000),
                ),
                op(
                    2,
                    OpFn::Read,
                    Some(Value::Int(5)),
                    40_000_000,
                    Some(50_000_000),
                ),
                op(
                    3,
                    OpFn::Write(Value::Int(5)),
                    None,
                    60_000_000,
                    Some(70_000_000),
                ),
            ],
        };
        let e = explanation(&h);
        let m = Marks::of(&h, &e);
        assert_eq!(m.blocked, Some(2), "{e}");
        assert!(m.made.is_empty(), "{m:?}: a read made nothing");
        // Many later writes: the one in force at the fence is kept first.
        let mut ops = vec![op(0, OpFn::Write(Value::Int(1)), None, 0, Some(10))];
        ops.push(op(1, OpFn::Read, Some(Value::Int(1)), 20, Some(30)));
        for (k, v) in (2..8).zip(10..) {
            ops.push(op(k, OpFn::Write(Value::Int(v)), None, 35, None));
        }
        ops.push(op(9, OpFn::Read, Some(Value::Int(99)), 40, Some(50)));
        let h = History { ops };
        let e = explanation(&h);
        let m = Marks::of(&h, &e);
        assert_eq!(m.fence, Some(1), "{e}");
        assert_eq!(m.made.first(), Some(&0), "{m:?}");
        assert!(m.made.len() <= MARKED);
    }

    #[test]
    fn times_near_the_end_of_u64_draw_without_overflow() {
        let h = History {
            ops: vec![
                op(
                    0,
                    OpFn::Write(Value::Int(1)),
                    None,
                    u64::MAX - 10,
                    Some(u64::MAX - 5),
                ),
                op(
                    1,
                    OpFn::Read,
                    Some(Value::Int(2)),
                    u64::MAX - 4,
                    Some(u64::MAX),
                ),
            ],
        };
        let e = explanation(&h);
        assert!(render(&h, "t", Some(&e), false).ends_with("</svg>\n"));
        assert!(render(&h, "t", Some(&e), true).ends_with("</svg>\n"));
    }

    #[test]
    fn the_whole_history_on_request_and_when_nothing_broke() {
        let h = stale();
        let e = explanation(&h);
        let whole = render(&h, "t", Some(&e), true);
        assert_eq!(whole.matches("<rect x=").count(), 5);
        assert!(whole.contains("key &quot;other&quot;"));
        let mut fine = h.clone();
        fine.ops.truncate(3);
        let svg = render(&fine, "t", None, false);
        assert_eq!(svg.matches("<rect x=").count(), 3);
        assert!(!svg.contains(RED));
    }

    #[test]
    fn an_unknown_operation_is_dashed_and_ticks_are_round() {
        let h = History {
            ops: vec![op(0, OpFn::Write(Value::Int(1)), None, 5, None)],
        };
        assert!(render(&h, "t", None, false).contains("stroke-dasharray"));
        assert_eq!(tick_step(70_000_000), 10_000_000);
        assert_eq!(tick_step(1_500_000_000), 200_000_000);
        assert_eq!(tick_step(3), 1);
    }
}
