//! The status table: each node's own status fields at the cursor. Columns
//! come from `Status` alone, so any protocol shows its own (Raft: role, term,
//! log, commit) without code here.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Row, Table};
use ratatui::Frame;

use super::panel;
use crate::tui::app::App;

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let run = &app.run;
    let n = run.cluster.len();
    let rows_fit = area.height.saturating_sub(3) as usize;
    // Scroll so that the selected node is on screen.
    let first = app.selected.saturating_sub(rows_fit.saturating_sub(1));
    let mut role_w = 4u16;
    let mut state_w = 0u16;
    let rows: Vec<Row> = (first..n)
        .take(rows_fit)
        .map(|i| {
            let snap = run.node_at(i, app.cursor);
            let (role, state, fields) = match snap {
                None => ("-".to_string(), String::new(), String::new()),
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
                    let (role, fields) = match &s.status {
                        None => ("-".to_string(), String::new()),
                        Some(st) => (
                            st.role.to_string(),
                            st.fields
                                .iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(" "),
                        ),
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
            role_w = role_w.max(role.len() as u16);
            state_w = state_w.max(state.len() as u16);
            Row::new(vec![run.node_name(i).to_string(), role, state, fields]).style(style)
        })
        .collect();
    let header = Row::new(vec!["node", "role", "state", "status"]).style(
        Style::default()
            .fg(Color::DarkGray)
            .add_modifier(Modifier::BOLD),
    );
    let table = Table::new(
        rows,
        [
            Constraint::Length(4),
            Constraint::Length(role_w.min(10)),
            Constraint::Length(state_w.min(20)),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(1)
    .block(panel("status"));
    f.render_widget(table, area);
}
