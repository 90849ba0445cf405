//! Drawing: a pure function of the [`App`]. Each panel lives in its own file
//! and draws only what is visible, so a frame costs the same at the first
//! event of a run as at the millionth.

mod chart;
mod help;
mod log;
mod sequence;
pub mod status;
mod timeline;
pub mod topology;
mod verdicts;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use sim::node::Clock;
use sim::time::{fmt_duration, Nanos};
use sim::trace::TraceEvent;

use super::app::{App, Mode, SPEEDS};
use super::keys::PromptKind;

/// A node's wall clock as it stands at true time `now`: its current offset
/// from true time (the last step plus the drift since) and its drift, or
/// `None` for a perfect clock. The offset kept in [`Clock`] is the one at the
/// last clock fault; with a drift the clock moves on from there.
fn clock_skew(clock: &Clock, now: Nanos) -> Option<(String, f64)> {
    let offset = clock.offset_at(now);
    if offset == 0 && clock.drift == 0.0 {
        return None;
    }
    let sign = if offset < 0 { "-" } else { "+" };
    Some((
        format!("{sign}{}", fmt_duration(offset.unsigned_abs())),
        clock.drift,
    ))
}

/// Whether the screen is large enough to show every panel at once.
fn is_large(area: Rect) -> bool {
    area.width >= 120 && area.height >= 36
}

pub fn draw(app: &App, f: &mut Frame) {
    let area = f.area();
    // Too small to draw the screen at all: say so, as far as it fits.
    if area.height < 4 || area.width < 20 {
        let line = clip_line(Line::raw("chaoslab: window too small"), area.width as usize);
        f.buffer_mut().set_line(area.x, area.y, &line, area.width);
        return;
    }
    let [header, body, bar, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(app, f.buffer_mut(), header);
    if is_large(area) {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        let [topo, seq] =
            Layout::horizontal([Constraint::Percentage(35), Constraint::Percentage(65)]).areas(top);
        let [stat, log, verdict] = Layout::horizontal([
            Constraint::Percentage(33),
            Constraint::Percentage(37),
            Constraint::Percentage(30),
        ])
        .areas(bottom);
        topology::draw(app, f.buffer_mut(), topo);
        sequence::draw(app, f.buffer_mut(), seq);
        status::draw(app, f, stat);
        log::draw(app, f.buffer_mut(), log);
        verdicts::draw(app, f, verdict);
    } else {
        // Small screens fold: topology over status on the left, the sequence
        // diagram over the event log (or the verdicts, `v`) on the right.
        let left_w = (body.width / 3).clamp(20, 36);
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_w), Constraint::Fill(1)]).areas(body);
        let [topo, stat] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(left);
        let [seq, lower] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(right);
        topology::draw(app, f.buffer_mut(), topo);
        status::draw(app, f, stat);
        sequence::draw(app, f.buffer_mut(), seq);
        if app.show_verdicts {
            verdicts::draw(app, f, lower);
        } else {
            log::draw(app, f.buffer_mut(), lower);
        }
    }
    timeline::draw(app, f.buffer_mut(), bar);
    draw_footer(app, f.buffer_mut(), footer);
    if app.charts {
        chart::draw(app, f, body);
    }
    if app.details {
        draw_details(app, f, body);
    }
    match &app.mode {
        Mode::Help => help::draw(app, f, area),
        Mode::Inject => help::draw_inject(app, f, body),
        _ => {}
    }
}

/// A bordered block with a title; the selected-panel look is the same for all.
pub(crate) fn panel(title: &str) -> Block<'_> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::DarkGray))
        .title(Span::styled(
            format!(" {title} "),
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ))
}

/// What became of a message, as a trace record says.
pub(crate) enum Fate<'a> {
    /// Sent, with the message's detail.
    Sent(&'a str),
    Delivered,
    /// Dropped, and why.
    Dropped(&'static str),
    /// Held (a clogged link, a paused node), and why.
    Held(&'static str),
}

/// A record about one message: the log and the sequence diagram draw the
/// four of them (send, deliver, drop, hold) from these same fields.
pub(crate) struct Message<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub id: u64,
    pub msg: &'static str,
    pub fate: Fate<'a>,
}

impl<'a> Message<'a> {
    /// The message `e` is about, or `None` for a record of another kind.
    pub fn of(e: &'a TraceEvent) -> Option<Self> {
        let (from, to, id, msg, fate) = match e {
            TraceEvent::Send {
                from,
                to,
                id,
                msg,
                detail,
            } => (from, to, id, msg, Fate::Sent(detail)),
            TraceEvent::Deliver { from, to, id, msg } => (from, to, id, msg, Fate::Delivered),
            TraceEvent::Drop {
                from,
                to,
                id,
                msg,
                reason,
            }
            | TraceEvent::Hold {
                from,
                to,
                id,
                msg,
                reason,
            } => {
                let fate = if matches!(e, TraceEvent::Drop { .. }) {
                    Fate::Dropped(reason)
                } else {
                    Fate::Held(reason)
                };
                (from, to, id, msg, fate)
            }
            _ => return None,
        };
        Some(Message {
            from,
            to,
            id: *id,
            msg,
            fate,
        })
    }
}

/// Writes `text` at (x, y) clipped to `clip`.
pub(crate) fn put(buf: &mut Buffer, clip: Rect, x: u16, y: u16, text: &str, style: Style) {
    if y < clip.y || y >= clip.bottom() || x >= clip.right() || x < clip.x {
        return;
    }
    let width = (clip.right() - x) as usize;
    buf.set_stringn(x, y, text, width, style);
}

fn draw_header(app: &App, buf: &mut Buffer, area: Rect) {
    let run = &app.run;
    let play = if app.playing {
        format!("▶ x{}", SPEEDS[app.speed])
    } else {
        format!("⏸ x{}", SPEEDS[app.speed])
    };
    let mut parts = vec![
        Span::styled(
            " chaoslab ",
            Style::default().fg(Color::Black).bg(Color::Cyan),
        ),
        Span::raw(match (&run.scenario, &run.recorded) {
            (Some(s), _) => format!(" {} ", s.meta.name),
            (None, Some(r)) => format!(" trace {} ", r.path),
            (None, None) => " ".into(),
        }),
        Span::styled(
            if run.recorded.is_some() {
                "recorded, not re-run ".to_string()
            } else {
                format!("seed {} ", run.seed)
            },
            Style::default().fg(Color::DarkGray),
        ),
        Span::styled(
            format!("t={} ", fmt_duration(run.time_at(app.cursor))),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ),
        // Events as the report counts them: the cursor steps through the
        // records (a delivery and the sends it causes are one event).
        Span::raw(format!(
            "event {}/{} ",
            run.event_at(app.cursor),
            run.events()
        )),
        Span::raw(format!("{play} ")),
    ];
    if let Some(flt) = &app.filter {
        parts.push(Span::styled(
            format!("filter: {} ", flt.text),
            Style::default().fg(Color::Magenta),
        ));
    }
    if !app.injected.is_empty() {
        parts.push(Span::styled(
            format!("injected: {} ", app.injected.len()),
            Style::default().fg(Color::Red),
        ));
    }
    buf.set_line(area.x, area.y, &Line::from(parts), area.width);
}

fn draw_footer(app: &App, buf: &mut Buffer, area: Rect) {
    let line = match &app.mode {
        Mode::Prompt { kind, input } => {
            let q = match kind {
                PromptKind::Time => "jump to time (5.2s; +500ms, -1s from here):".to_string(),
                PromptKind::Filter => "filter (node names, kinds; empty clears):".to_string(),
                PromptKind::Save => "save scenario to:".to_string(),
                PromptKind::Clock => "clock offset for the selected node (e.g. +200ms, -1s):".to_string(),
                PromptKind::When => "trigger for the next fault, e.g. { event = \"role\", role = \"leader\" } 500ms:".to_string(),
                PromptKind::Overwrite => {
                    // The path gives way from its start: the question and
                    // its [y/N] stay whole.
                    let path = app.overwrite.as_deref().unwrap_or("the file");
                    let ask = " exists; overwrite? [y/N]";
                    let room = (area.width as usize * 2 / 3).saturating_sub(ask.len() + 4).max(8);
                    let n = path.chars().count();
                    let path = if n > room {
                        format!("…{}", path.chars().skip(n + 1 - room).collect::<String>())
                    } else {
                        path.to_string()
                    };
                    format!("{path}{ask}")
                }
            };
            // The cursor is the character under it, reversed (a block
            // after the text). The question gives way to what is typed
            // (down to a third of the line) and is cut with `…`; what is
            // typed keeps the cursor in view, `…` where it is cut.
            let (before, at, after) = input.parts();
            let under = at.map_or(" ".to_string(), String::from);
            let w = area.width as usize;
            let count = |t: &str| t.chars().count();
            let typed = 1 + count(&before) + 1 + count(&after);
            let q_room = w.saturating_sub(typed + 2).max(w / 3);
            let q = fit_text(&q, q_room.saturating_sub(2));
            let mut room = w.saturating_sub(count(&q) + 2 + 2);
            let after_room = count(&after).min(room / 3);
            room -= after_room;
            let before = if count(&before) > room {
                let tail: String = before.chars().skip(count(&before) + 1 - room.max(1)).collect();
                format!("…{tail}")
            } else {
                before
            };
            let after = fit_text(&after, after_room);
            Line::from(vec![
                Span::styled(format!(" {q} "), Style::default().fg(Color::Black).bg(Color::Yellow)),
                Span::raw(format!(" {before}")),
                Span::styled(under, Style::default().add_modifier(Modifier::REVERSED)),
                Span::raw(after),
            ])
        }
        Mode::Inject => Line::from(Span::styled(
            " inject: p partition  h heal  c crash  r restart  z pause  u resume  k clock  Esc cancel",
            Style::default().fg(Color::Black).bg(Color::Red),
        )),
        _ => Line::from(vec![
            Span::styled(" ?", Style::default().fg(Color::Cyan)),
            Span::raw(" help "),
            Span::styled("q", Style::default().fg(Color::Cyan)),
            Span::raw(" quit │ "),
            Span::raw(app.note.clone()),
        ]),
    };
    let line = clip_line(line, area.width as usize);
    buf.set_line(area.x, area.y, &line, area.width);
}

/// `text` in at most `width` characters, `…` marking a cut.
pub(crate) fn fit_text(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut t: String = text.chars().take(width - 1).collect();
    t.push('…');
    t
}

/// `line` cut to `width` cells, the cut marked with `…` in its last cell: a
/// line is never cut silently.
pub(crate) fn clip_line(line: Line<'_>, width: usize) -> Line<'_> {
    if line.width() <= width {
        return line;
    }
    let mut room = width.saturating_sub(1);
    let mut spans = Vec::new();
    for span in line.spans {
        if room == 0 {
            break;
        }
        let mut text = String::new();
        for c in span.content.chars() {
            let w = Span::raw(c.to_string()).width();
            if w > room {
                room = 0;
                break;
            }
            room -= w;
            text.push(c);
        }
        spans.push(Span::styled(text, span.style));
    }
    spans.push(Span::raw("…"));
    Line::from(spans)
}

/// A centred rectangle of at most `w` x `h` inside `area`.
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_details(app: &App, f: &mut Frame, area: Rect) {
    let run = &app.run;
    let mut lines: Vec<Line> = Vec::new();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    if let Some(r) = run.trace.get(app.cursor) {
        lines.push(Line::from(vec![
            Span::styled("event  ", bold),
            Span::raw(format!(
                "{} (record {}) at {}: {}",
                run.event_at(app.cursor),
                app.cursor + 1,
                fmt_duration(r.t),
                log::describe(&r.event)
            )),
        ]));
    }
    if let Some(id) = run.message_id_at(app.cursor) {
        lines.push(Line::from(Span::styled(format!("message #{id}"), bold)));
        if let Some(sent) = run.send_index(id).and_then(|si| run.trace.get(si)) {
            if let TraceEvent::Send {
                from,
                to,
                msg,
                detail,
                ..
            } = &sent.event
            {
                lines.push(Line::from(format!(
                    "  {msg} {from} → {to}, sent at {}",
                    fmt_duration(sent.t)
                )));
                lines.push(Line::from(format!("  contents: {detail}")));
            }
        }
        match run.fate_index(id).and_then(|i| run.trace.get(i)) {
            Some(r) => match &r.event {
                TraceEvent::Deliver { .. } => {
                    lines.push(Line::from(format!("  delivered at {}", fmt_duration(r.t))))
                }
                TraceEvent::Drop { reason, .. } => lines.push(Line::from(format!(
                    "  dropped at {}: {reason}",
                    fmt_duration(r.t)
                ))),
                _ => {}
            },
            None => lines.push(Line::from(
                "  never delivered (in flight or held at the end)",
            )),
        }
    }
    let i = app.selected;
    lines.push(Line::from(Span::styled(
        format!("node {}", run.node_name(i)),
        bold,
    )));
    match run.node_at(i, app.cursor) {
        Some(snap) => {
            match &snap.status {
                None => lines.push(Line::from("  crashed")),
                Some(s) => {
                    lines.push(Line::from(format!("  role {}", s.role)));
                    for (k, v) in &s.fields {
                        lines.push(Line::from(format!("  {k} {v}")));
                    }
                }
            }
            let (offset, drift) = clock_skew(&snap.clock, run.time_at(app.cursor))
                .unwrap_or_else(|| ("+0s".into(), 0.0));
            lines.push(Line::from(format!(
                "  paused {}  clock offset {offset} drift {drift}  fsync {}",
                snap.paused,
                if snap.fsync_lies { "lies" } else { "ok" }
            )));
        }
        None => lines.push(Line::from("  not started")),
    }
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, area.width.saturating_sub(8).clamp(20, 100), h);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel("details (Enter closes)")),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::time::ms;

    #[test]
    fn a_drifting_clock_shows_the_offset_it_has_now_not_the_one_it_was_set_to() {
        // Drift 1% fast from 1s, no step: the offset kept in the clock is 0,
        // but a second later the wall clock is 10ms ahead.
        let clock = Clock::default().set(ms(1_000), None, Some(0.01));
        assert_eq!(clock.offset_ns, 0);
        assert_eq!(
            clock_skew(&clock, ms(2_000)),
            Some(("+10ms".to_string(), 0.01))
        );
        let stepped = Clock::default().set(ms(1_000), Some(-(ms(200) as i64)), None);
        assert_eq!(
            clock_skew(&stepped, ms(5_000)),
            Some(("-200ms".to_string(), 0.0))
        );
        assert_eq!(clock_skew(&Clock::default(), ms(5_000)), None);
    }
}
