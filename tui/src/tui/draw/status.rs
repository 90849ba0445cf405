//! The status table: each node's own status fields at the cursor, a column
//! per field. Columns come from `Status` alone, so any protocol shows its
//! own (Raft: term, vote, log, commit) without code here, in the order the
//! protocol gives them (servers' fields before clients'). What does not fit
//! is never cut silently: a value cut short ends in `…`, and when fields are
//! left out the last column says how many (`+3`); `Enter` shows them all.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Row, Table};
use ratatui::Frame;

use super::{fit_text as fit, panel};
use crate::tui::app::App;

/// The widest a field's column grows before its values are cut.
const FIELD_MAX: usize = 14;
/// The narrowest a field's column is cut to, to show it at all.
const FIELD_MIN: usize = 4;

/// One node's row before it is fitted: name, role, state, and its fields.
struct Line {
    name: String,
    role: String,
    state: String,
    fields: Vec<(&'static str, String)>,
    style: Style,
}

/// The table as drawn: each column's width, the header and each row's
/// cells, every cell already fitted to its column (cut with `…`), and the
/// widths with one space between columns adding up to no more than the
/// panel's inside, so nothing is cut again when drawn.
pub struct StatusTable {
    pub widths: Vec<u16>,
    pub head: Vec<String>,
    pub rows: Vec<(Vec<String>, Style)>,
}

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = table(app, area);
    let header = Row::new(t.head).style(
        Style::default()
            .fg(Color::DarkGray)
            .add_modifier(Modifier::BOLD),
    );
    let rows: Vec<Row> = t
        .rows
        .into_iter()
        .map(|(cells, style)| Row::new(cells).style(style))
        .collect();
    let widths: Vec<Constraint> = t.widths.iter().map(|&w| Constraint::Length(w)).collect();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(panel(if app.run.recorded.is_some() {
            "status (from the trace: no node fields)"
        } else {
            "status"
        }));
    f.render_widget(table, area);
}

/// The status table for a panel of `area` (borders included).
pub fn table(app: &App, area: Rect) -> StatusTable {
    let run = &app.run;
    let n = run.cluster.len();
    let rows_fit = area.height.saturating_sub(3) as usize;
    // Scroll so that the selected node is on screen.
    let first = app.selected.saturating_sub(rows_fit.saturating_sub(1));
    let lines: Vec<Line> = (first..n)
        .take(rows_fit)
        .map(|i| {
            let snap = run.node_at(i, app.cursor);
            let (role, state, fields) = match snap {
                None => ("-".to_string(), String::new(), Vec::new()),
                Some(s) => {
                    let mut state = Vec::new();
                    if s.status.is_none() {
                        state.push("crashed".to_string());
                    }
                    if s.paused {
                        state.push("paused".to_string());
                    }
                    if super::clock_skew(&s.clock, run.time_at(app.cursor)).is_some() {
                        state.push("skewed".to_string());
                    }
                    if s.fsync_lies {
                        state.push("fsync-lies".to_string());
                    }
                    let (role, fields) = match s.status {
                        None => ("-".to_string(), Vec::new()),
                        Some(st) => (st.role.to_string(), st.fields),
                    };
                    (role, state.join(","), fields)
                }
            };
            let mut style = if state.contains("crashed") || state.contains("paused") {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            };
            if i == app.selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Line {
                name: run.node_name(i).to_string(),
                role,
                state,
                fields,
                style,
            }
        })
        .collect();

    // The columns: every field any row shown has, servers' first (rows are
    // in node order, servers before clients), each as wide as its widest
    // value up to FIELD_MAX.
    let mut keys: Vec<(&'static str, usize)> = Vec::new();
    for l in &lines {
        for (k, v) in &l.fields {
            let w = v.chars().count().max(k.len()).min(FIELD_MAX);
            match keys.iter_mut().find(|(key, _)| key == k) {
                Some((_, kw)) => *kw = (*kw).max(w),
                None => keys.push((k, w)),
            }
        }
    }
    let width_of = |pick: &dyn Fn(&Line) -> &str, head: &str, max: usize| {
        lines
            .iter()
            .map(|l| pick(l).chars().count())
            .max()
            .unwrap_or(0)
            .max(head.len())
            .min(max)
    };
    let inner_w = area.width.saturating_sub(2) as usize;
    let mut name_w = width_of(&|l| &l.name, "node", 12);
    let any_state = lines.iter().any(|l| !l.state.is_empty());
    let state_w = if any_state {
        width_of(&|l| &l.state, "state", 20)
    } else {
        0
    };
    // The state gets a column of its own only if a field still fits beside
    // it (with room for `+k`): else it joins the role (`follower,skewed`,
    // `crashed` where the role is `-`), so that a narrow panel still shows
    // the protocol's fields.
    let role_natural = width_of(&|l| &l.role, "role", 10);
    let own_state =
        any_state && name_w + 1 + role_natural + 1 + state_w + 1 + FIELD_MIN + 4 <= inner_w;
    let mut lines = lines;
    if any_state && !own_state {
        for l in &mut lines {
            if !l.state.is_empty() {
                l.role = if l.role == "-" {
                    std::mem::take(&mut l.state)
                } else {
                    format!("{},{}", l.role, std::mem::take(&mut l.state))
                };
            }
        }
    }
    let lines = lines;
    let width_of = |pick: &dyn Fn(&Line) -> &str, head: &str, max: usize| {
        lines
            .iter()
            .map(|l| pick(l).chars().count())
            .max()
            .unwrap_or(0)
            .max(head.len())
            .min(max)
    };
    let mut role_w = width_of(&|l| &l.role, "role", 10);
    // Name and role always fit the panel, with the `+k` column when there
    // are fields: cut (with `…`) if they must be.
    let room = inner_w.saturating_sub(if keys.is_empty() { 0 } else { 4 });
    if name_w + 1 + role_w > room {
        role_w = room.saturating_sub(name_w + 1).max(3);
        name_w = room.saturating_sub(role_w + 1).max(2);
    }
    let fixed = name_w + 1 + role_w + if own_state { 1 + state_w } else { 0 };
    // Fit the field columns into what is left; a column that does not fit
    // whole is cut to what is left if that is FIELD_MIN or more.
    let mut left = inner_w.saturating_sub(fixed);
    // Room for the `+k` column if some fields must go.
    let need: usize = keys.iter().map(|(_, w)| w + 1).sum();
    let more_w = if need > left { 4 } else { 0 };
    left = left.saturating_sub(more_w);
    let mut shown: Vec<(&'static str, usize)> = Vec::new();
    for &(k, w) in &keys {
        if w < left {
            shown.push((k, w));
            left -= w + 1;
        } else if left > FIELD_MIN {
            shown.push((k, left - 1));
            left = 0;
        } else {
            break;
        }
    }
    let hidden = keys.len() - shown.len();

    let mut widths = vec![name_w as u16, role_w as u16];
    let mut head = vec![fit("node", name_w), fit("role", role_w)];
    if own_state {
        widths.push(state_w as u16);
        head.push(fit("state", state_w));
    }
    for &(k, w) in &shown {
        widths.push(w as u16);
        head.push(fit(k, w));
    }
    if hidden > 0 {
        widths.push(3);
        head.push(fit(&format!("+{hidden}"), 3));
    }
    let rows = lines
        .iter()
        .map(|l| {
            let mut cells = vec![fit(&l.name, name_w), fit(&l.role, role_w)];
            if own_state {
                cells.push(fit(&l.state, state_w));
            }
            for &(k, w) in &shown {
                let v = l
                    .fields
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map_or("", |(_, v)| v.as_str());
                cells.push(fit(v, w));
            }
            if hidden > 0 {
                cells.push(String::new());
            }
            (cells, l.style)
        })
        .collect();
    StatusTable { widths, head, rows }
}

#[cfg(test)]
mod tests {
    use super::super::fit_text as fit;

    #[test]
    fn a_value_cut_short_says_so() {
        assert_eq!(fit("294", 3), "294");
        assert_eq!(fit("294", 2), "2…");
        assert_eq!(fit("leader=n5", 6), "leade…");
        assert_eq!(fit("x", 0), "");
    }
}
