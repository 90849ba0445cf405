//! The event log: the records around the cursor, one line each, optionally
//! filtered by node and kind (the filter's matches are indexed once, so
//! scrolling a filtered log is a binary search too).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;
use sim::time::fmt_duration;
use sim::trace::TraceEvent;

use super::{panel, put, Fate, Message};
use crate::tui::app::App;

/// One record, in words.
pub fn describe(e: &TraceEvent) -> String {
    if let Some(m) = Message::of(e) {
        let (verb, after) = match m.fate {
            Fate::Sent(detail) => ("send", format!(" {detail}")),
            Fate::Delivered => ("deliver", String::new()),
            Fate::Dropped(reason) => ("drop", format!(" ({reason})")),
            Fate::Held(reason) => ("hold", format!(" ({reason})")),
        };
        return format!("{verb} {}→{} #{} {}{after}", m.from, m.to, m.id, m.msg);
    }
    match e {
        TraceEvent::Timer { node, timer } => format!("timer {node} {timer}"),
        TraceEvent::Fault { description, .. } => format!("fault {description}"),
        TraceEvent::Invoke {
            node,
            op,
            description,
        } => format!("invoke {node} op {op}: {description}"),
        TraceEvent::Complete {
            node,
            op,
            outcome,
            output,
            found_other,
        } => {
            let found = if *found_other {
                "(found another value)"
            } else {
                output
            };
            format!("complete {node} op {op}: {outcome} {found}")
        }
        TraceEvent::Role { node, from, to } => format!("role {node} {from}→{to}"),
        TraceEvent::Violation { invariant, detail } => format!("VIOLATION {invariant}: {detail}"),
        TraceEvent::Note { node, note } => format!("note {node} {note}"),
        TraceEvent::Trigger {
            line,
            when,
            event,
            delay,
            ..
        } => {
            let after = if *delay > 0 {
                format!(", fault in {}", sim::time::fmt_duration(*delay))
            } else {
                String::new()
            };
            format!("trigger line {line} when = {when}: {event}{after}")
        }
        TraceEvent::Send { .. }
        | TraceEvent::Deliver { .. }
        | TraceEvent::Drop { .. }
        | TraceEvent::Hold { .. } => unreachable!("a message record, described above"),
    }
}

fn color(e: &TraceEvent) -> Color {
    match e {
        TraceEvent::Send { .. } => Color::Cyan,
        TraceEvent::Deliver { .. } => Color::Green,
        TraceEvent::Drop { .. } | TraceEvent::Fault { .. } => Color::Red,
        TraceEvent::Hold { .. } => Color::Yellow,
        TraceEvent::Timer { .. } => Color::DarkGray,
        TraceEvent::Invoke { .. } | TraceEvent::Complete { .. } => Color::Blue,
        TraceEvent::Role { .. } | TraceEvent::Violation { .. } => Color::Magenta,
        TraceEvent::Note { .. } => Color::Gray,
        TraceEvent::Trigger { .. } => Color::LightRed,
    }
}

pub fn draw(app: &App, buf: &mut Buffer, area: Rect) {
    let title = match &app.filter {
        Some(f) => format!("events [{}] {} match", f.text, f.matches.len()),
        None => "events (/ filters)".to_string(),
    };
    let block = panel(&title);
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = inner.height as usize;
    if rows == 0 {
        return;
    }
    let run = &app.run;
    // The visible indexes: a window of the filter's matches or of the trace,
    // with the cursor (or the last match before it) in the middle.
    let (list_len, pos, pick): (usize, usize, Box<dyn Fn(usize) -> usize>) = match &app.filter {
        Some(f) => {
            let k = f.matches.partition_point(|&i| (i as usize) <= app.cursor);
            (
                f.matches.len(),
                k.saturating_sub(1),
                Box::new(move |j| f.matches[j] as usize),
            )
        }
        None => (run.len(), app.cursor, Box::new(|j| j)),
    };
    let start = pos
        .saturating_sub(rows / 2)
        .min(list_len.saturating_sub(rows));
    let end = (start + rows).min(list_len);
    for (row, j) in (start..end).enumerate() {
        let idx = pick(j);
        let Some(r) = run.trace.get(idx) else {
            continue;
        };
        let y = inner.y + row as u16;
        let mut style = Style::default().fg(color(&r.event));
        if idx == app.cursor {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let text = format!("{:>9} {}", fmt_duration(r.t), describe(&r.event));
        // A line too long for the panel ends in `…` (Enter shows it all).
        let text = super::clip_line(ratatui::text::Line::raw(text), inner.width as usize);
        let text: String = text.spans.iter().map(|s| s.content.as_ref()).collect();
        put(buf, inner, inner.x, y, &text, style);
    }
}
