//! The message sequence (Lamport) diagram: a column per node, a row per trace
//! record, time running down. A message is drawn twice: a dashed stub where it
//! was sent and a solid arrow where it arrived (or a ✗ where it was dropped),
//! so a long-delayed message shows as a send far above its arrival. Faults and
//! violations are full-width bands. Only the rows on screen are looked at.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;
use sim::time::fmt_duration;
use sim::trace::TraceEvent;

use super::{panel, put, Fate, Message};
use crate::tui::app::App;

const GUTTER: u16 = 10;

pub fn draw(app: &App, buf: &mut Buffer, area: Rect) {
    let block = panel("sequence (time ↓)");
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 2 || inner.width < GUTTER + 4 {
        return;
    }
    let run = &app.run;
    let n = run.cluster.len();
    // A label column on the right when there is room for it: 28 cells
    // (`AppendEntriesReply #1234 ✓`) if the node columns keep 4 each, else
    // 18; and every cell the node columns do not need (a column needs at
    // most 12), so a wide screen shows whole labels.
    let nodes = n.max(1) as u16;
    let (col_w, label_w) = if inner.width >= 60 {
        let least = if (inner.width - GUTTER).saturating_sub(28) / nodes >= 4 {
            28
        } else {
            18
        };
        let room = inner.width - GUTTER - least;
        let col_w = (room / nodes).clamp(3, 12);
        let used = (col_w * nodes).min(room / col_w * col_w);
        (col_w, inner.width - GUTTER - used)
    } else {
        (((inner.width - GUTTER) / nodes).max(3), 0)
    };
    let cols_w = inner.width - GUTTER - label_w;
    let shown = ((cols_w / col_w) as usize).min(n);
    let x_of = |i: usize| inner.x + GUTTER + i as u16 * col_w + col_w / 2;
    let index_of = |name: &str| {
        run.cluster
            .by_name(name)
            .map(|id| id.index())
            .filter(|&i| i < shown)
    };

    // Header: node names over their columns.
    for i in 0..shown {
        // A name wider than its column is cut with `…`, never printed over
        // its neighbour's.
        let name = super::fit_text(run.node_name(i), col_w.saturating_sub(1).max(1) as usize);
        let name = name.as_str();
        let x = x_of(i).saturating_sub(name.chars().count() as u16 / 2);
        let style = if i == app.selected {
            Style::default().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        put(buf, inner, x, inner.y, name, style);
    }

    let rows = (inner.height - 1) as usize;
    app.page_rows.set(rows);
    let len = run.len();
    // Keep the cursor two thirds of the way down, so what led to it shows.
    let start = app
        .cursor
        .saturating_sub(rows * 2 / 3)
        .min(len.saturating_sub(rows));
    let end = (start + rows).min(len);
    let focus = run.message_id_at(app.cursor);
    let lifeline = Style::default().fg(Color::DarkGray);
    for (row, idx) in (start..end).enumerate() {
        let y = inner.y + 1 + row as u16;
        let Some(r) = run.trace.get(idx) else {
            continue;
        };
        let cursor = idx == app.cursor;
        for i in 0..shown {
            put(buf, inner, x_of(i), y, "│", lifeline);
        }
        let Row {
            mark,
            style,
            label,
            keep,
            message,
        } = row_of(&r.event);
        // The message at the cursor stands out wherever it shows.
        let style = match message {
            Some(id) if Some(id) == focus => style.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            _ => style,
        };
        match mark {
            Mark::Arrow {
                from,
                to,
                line,
                tail,
                heads: [right, left],
            } => {
                if let (Some(a), Some(b)) = (index_of(from), index_of(to)) {
                    hline(buf, inner, x_of(a), x_of(b), y, line, style);
                    put(buf, inner, x_of(a), y, tail, style);
                    let head = if b >= a { right } else { left };
                    put(buf, inner, x_of(b), y, head, style);
                }
            }
            Mark::Stopped {
                from,
                to,
                reason,
                glyph,
            } => {
                if let (Some(a), Some(b)) = (index_of(from), index_of(to)) {
                    // Where it happened: at the sender if the sender is down,
                    // at the receiver if it is, else on the link, halfway.
                    let (xa, xb) = (x_of(a), x_of(b));
                    let at = match reason {
                        "sender-crashed" => xa,
                        "destination-crashed" | "paused" => xb,
                        _ => (xa + xb) / 2,
                    };
                    hline(buf, inner, xa, at, y, '─', style);
                    put(buf, inner, at, y, glyph, style);
                }
            }
            Mark::Point { node, glyph } => {
                if let Some(a) = index_of(node) {
                    put(buf, inner, x_of(a), y, glyph, style);
                }
            }
            Mark::Band(text) => {
                let w = (inner.width - GUTTER) as usize;
                let text = super::fit_text(&text, w);
                put(
                    buf,
                    inner,
                    inner.x + GUTTER,
                    y,
                    &format!("{text:<w$}"),
                    style,
                );
            }
        }
        let time_style = if cursor {
            Style::default().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::default().fg(Color::DarkGray)
        };
        put(
            buf,
            inner,
            inner.x,
            y,
            &format!("{:>9} ", fmt_duration(r.t)),
            time_style,
        );
        if label_w > 0 && !label.is_empty() {
            let x = inner.right() - label_w + 1;
            let style = if cursor {
                style.add_modifier(Modifier::REVERSED)
            } else {
                style
            };
            // A label too long for its column is cut with a mark: a
            // message's name rather than its number.
            let room = label_w as usize - 1;
            let len = label.chars().count();
            let text: String = if len <= room {
                label
            } else if room > keep + 3 {
                let head: String = label.chars().take(room - keep - 1).collect();
                let tail: String = label.chars().skip(len - keep).collect();
                format!("{head}…{tail}")
            } else {
                super::fit_text(&label, room)
            };
            put(buf, inner, x, y, &text, style);
        }
    }
}

/// A horizontal line between two columns, ends excluded.
fn hline(buf: &mut Buffer, clip: Rect, xa: u16, xb: u16, y: u16, c: char, style: Style) {
    let (lo, hi) = if xa <= xb { (xa, xb) } else { (xb, xa) };
    let mut s = [0u8; 4];
    let c = c.encode_utf8(&mut s);
    for x in lo + 1..hi {
        put(buf, clip, x, y, c, style);
    }
}

/// What a record draws on its row.
enum Mark<'a> {
    /// A message from one column to another: a `line`, the `tail` glyph at
    /// the sender and, at the receiver, the head pointing right or left.
    Arrow {
        from: &'a str,
        to: &'a str,
        line: char,
        tail: &'static str,
        heads: [&'static str; 2],
    },
    /// A message that stopped on its way (dropped or held): a line from the
    /// sender to where it stopped, which `reason` says, and a glyph there.
    Stopped {
        from: &'a str,
        to: &'a str,
        reason: &'static str,
        glyph: &'static str,
    },
    /// A glyph in one node's column.
    Point { node: &'a str, glyph: &'static str },
    /// A band across every column.
    Band(String),
}

/// A record's row: its mark, its style, the label at the right (empty for a
/// band) and the message it is about, if any.
struct Row<'a> {
    mark: Mark<'a>,
    style: Style,
    label: String,
    /// How many characters at the label's end to keep when it is cut (a
    /// message's ` #id ✓`): the name before them is cut instead.
    keep: usize,
    message: Option<u64>,
}

/// What `event` draws on its row of the diagram.
fn row_of(event: &TraceEvent) -> Row<'_> {
    let fg = |color| Style::default().fg(color);
    if let Some(m) = Message::of(event) {
        let (mark, color, label) = match m.fate {
            Fate::Sent(_) => (arrow(&m, '╌', "●", ["›", "‹"]), Color::Cyan, String::new()),
            Fate::Delivered => (arrow(&m, '─', "┄", ["▶", "◀"]), Color::Green, " ✓".into()),
            Fate::Dropped(reason) => (stopped(&m, reason, "✗"), Color::Red, format!(" {reason}")),
            Fate::Held(reason) => (
                stopped(&m, reason, "‖"),
                Color::Yellow,
                format!(" {reason}"),
            ),
        };
        let tail = format!(" #{}{label}", m.id);
        return Row {
            mark,
            style: fg(color),
            keep: tail.chars().count(),
            label: format!("{}{tail}", m.msg),
            message: Some(m.id),
        };
    }
    let point = |node, glyph, color, label| Row {
        mark: Mark::Point { node, glyph },
        style: fg(color),
        label,
        keep: 0,
        message: None,
    };
    let band = |text, style| Row {
        mark: Mark::Band(text),
        style,
        label: String::new(),
        keep: 0,
        message: None,
    };
    let alarm = |bg| Style::default().fg(Color::White).bg(bg);
    match event {
        TraceEvent::Timer { node, timer } => {
            point(node, "○", Color::DarkGray, format!("timer {timer}"))
        }
        TraceEvent::Invoke {
            node, description, ..
        } => point(node, "▷", Color::Blue, description.clone()),
        TraceEvent::Complete {
            node,
            outcome,
            output,
            ..
        } => {
            let color = if *outcome == "ok" {
                Color::Blue
            } else {
                Color::Red
            };
            point(node, "◁", color, format!("{outcome} {output}"))
        }
        TraceEvent::Role { node, to, .. } => {
            point(node, "★", Color::Magenta, format!("{node} → {to}"))
        }
        TraceEvent::Note { node, note } => point(node, "◆", Color::Gray, format!("{node}: {note}")),
        TraceEvent::Fault { description, .. } => {
            band(format!(" ⚡ {description}"), alarm(Color::Red))
        }
        TraceEvent::Violation { invariant, detail } => {
            band(format!(" ✗ {invariant}: {detail}"), alarm(Color::Magenta))
        }
        TraceEvent::Trigger { line, event, .. } => {
            band(format!(" ⏵ trigger line {line}: {event}"), fg(Color::Red))
        }
        TraceEvent::Send { .. }
        | TraceEvent::Deliver { .. }
        | TraceEvent::Drop { .. }
        | TraceEvent::Hold { .. } => unreachable!("a message record, drawn above"),
    }
}

fn arrow<'a>(
    m: &Message<'a>,
    line: char,
    tail: &'static str,
    heads: [&'static str; 2],
) -> Mark<'a> {
    Mark::Arrow {
        from: m.from,
        to: m.to,
        line,
        tail,
        heads,
    }
}

fn stopped<'a>(m: &Message<'a>, reason: &'static str, glyph: &'static str) -> Mark<'a> {
    Mark::Stopped {
        from: m.from,
        to: m.to,
        reason,
        glyph,
    }
}
