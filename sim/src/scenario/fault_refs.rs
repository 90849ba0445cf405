//! Checking one `[[faults]]` entry: its action, its fields, its timing and
//! its trigger.

use std::ops::Range;

use toml::Spanned;

use super::error::{known, quoted, ScenarioError};
use super::expect::check_share;
use super::faults::{
    Fault, FaultAction, FaultEntry, FaultKind, NodeMatch, Scope, Target, Trigger, TriggerEvent,
    WhenEntry, FAULT_ACTIONS, TRIGGER_EVENTS,
};
use super::refs::{target_words, RefCheck};
use super::write::show;
use crate::time::{parse_duration, Nanos};

/// `(name, span)` for optional `Spanned` fields of an entry, named once: the
/// span is `None` for a field the entry leaves out.
macro_rules! spans {
    ($e:expr; $($field:ident),*) => {
        [$((stringify!($field), $e.$field.as_ref().map(|v| v.span()))),*]
    };
}

/// The first field given (its span is `Some`) that `allowed` does not list.
fn not_allowed<'a>(
    given: &[(&'a str, Option<Range<usize>>)],
    allowed: &[&str],
) -> Option<(&'a str, Range<usize>)> {
    given.iter().find_map(|(field, span)| match span {
        Some(span) if !allowed.contains(field) => Some((*field, span.clone())),
        _ => None,
    })
}

impl RefCheck<'_> {
    pub(super) fn fault(&self, e: &FaultEntry) -> Result<Fault, ScenarioError> {
        let action = *e.action.get_ref();
        let aspan = e.action.span();
        let line = self.src[..aspan.start].matches('\n').count() + 1;
        let name = action.name();
        let (at, when) = self.timing(e)?;
        self.trigger_event.set(when.as_ref().map(|w| match w.event {
            TriggerEvent::Send { .. } => "send",
            TriggerEvent::Deliver { .. } => "deliver",
            TriggerEvent::Role { .. } => "role",
            TriggerEvent::Note { .. } => "note",
            TriggerEvent::Fault { .. } => "fault",
        }));

        // Which optional fields each action takes.
        // (A node list is placed at its first node, latency and one_way at
        // the action.)
        let first = |v: &Option<Vec<Spanned<String>>>| v.as_ref()?.first().map(|t| t.span());
        let given = [
            &spans!(e; target, groups)[..],
            &[("from", first(&e.from)), ("to", first(&e.to))],
            &spans!(e; link, region),
            &[("latency", e.latency.as_ref().map(|_| aspan.clone()))],
            &spans!(e; probability, offset, drift),
            &[("one_way", e.one_way.then(|| aspan.clone()))],
        ]
        .concat();
        let allowed: &[&str] = match action {
            FaultAction::Partition => &["groups", "from", "to"],
            FaultAction::Heal => &[],
            FaultAction::Crash
            | FaultAction::Restart
            | FaultAction::Pause
            | FaultAction::Resume
            | FaultAction::FsyncLoss
            | FaultAction::FsyncOk => &["target"],
            FaultAction::Clog | FaultAction::Unclog => &["link", "target", "one_way"],
            FaultAction::Latency => &["latency", "link", "target", "region", "one_way"],
            FaultAction::Loss => &["probability", "link", "target", "region", "one_way"],
            FaultAction::Clock => &["target", "offset", "drift"],
        };
        if let Some((field, span)) = not_allowed(&given, allowed) {
            return Err(self.err(
                span,
                format!(
                    "`{field}` does not apply to action \"{name}\": it takes {}",
                    if allowed.is_empty() {
                        "no other fields".to_string()
                    } else {
                        quoted(allowed)
                    }
                ),
            ));
        }
        let need_target = |allow: &[&str]| -> Result<Target, ScenarioError> {
            match &e.target {
                Some(t) => self.target(t, allow),
                None => Err(self.err(
                    aspan.clone(),
                    format!(
                        "action \"{name}\" needs `target`: {}",
                        target_words(allow, self.trigger_event.get().is_some())
                    ),
                )),
            }
        };
        let list = |v: &[Spanned<String>], allow: &[&str]| -> Result<Vec<Target>, ScenarioError> {
            v.iter().map(|t| self.target(t, allow)).collect()
        };
        let scope = || -> Result<Scope, ScenarioError> {
            Ok(match (&e.link, &e.target, &e.region) {
                (Some(l), None, None) => {
                    let (a, b) = self.link(l)?;
                    Scope::Link(a, b)
                }
                (None, Some(t), None) => Scope::Node(self.target(t, &["random"])?),
                (None, None, Some(r)) => {
                    let region = known(r, self.regions, "unknown region", "regions are")
                        .map_err(|m| self.err(r.span(), m))?;
                    Scope::Region(region.to_string())
                }
                (None, None, None) => Scope::Everywhere,
                _ => {
                    return Err(self.err(
                        aspan.clone(),
                        format!("action \"{name}\" takes at most one of `link`, `target`, `region` (none means every link)"),
                    ))
                }
            })
        };

        let kind = match action {
            FaultAction::Partition => match (&e.groups, &e.from, &e.to) {
                (Some(g), None, None) => {
                    let allow = ["rest"];
                    let groups: Vec<Vec<Target>> = g
                        .get_ref()
                        .iter()
                        .map(|grp| list(grp, &allow))
                        .collect::<Result<_, _>>()?;
                    if groups.len() < 2 {
                        return Err(self.err(
                            g.span(),
                            "a partition needs at least two groups, e.g. groups = [[\"n1\"], [\"rest\"]]".into(),
                        ));
                    }
                    self.check_covers(&groups, g.span())?;
                    FaultKind::Partition { groups }
                }
                (None, Some(from), Some(to)) => FaultKind::PartitionOneWay {
                    from: list(from, &[])?,
                    to: list(to, &["rest"])?,
                },
                _ => {
                    return Err(self.err(
                        aspan,
                        "action \"partition\" needs either `groups = [[...], [...]]` or both `from` and `to` (one-way)".into(),
                    ))
                }
            },
            FaultAction::Heal => FaultKind::Heal,
            FaultAction::Crash => FaultKind::Crash(need_target(&["random"])?),
            FaultAction::Restart => FaultKind::Restart(need_target(&["downed", "all"])?),
            FaultAction::Pause => FaultKind::Pause(need_target(&["random"])?),
            FaultAction::Resume => FaultKind::Resume(need_target(&["downed", "all"])?),
            FaultAction::FsyncLoss => FaultKind::FsyncLoss(need_target(&["random", "all"])?),
            FaultAction::FsyncOk => FaultKind::FsyncOk(need_target(&["all"])?),
            FaultAction::Clog | FaultAction::Unclog => {
                let (a, b) = match (&e.link, &e.target) {
                    (Some(l), None) => self.link(l)?,
                    (None, Some(t)) => (self.target(t, &["random"])?, Target::All),
                    _ => {
                        return Err(self.err(
                            aspan,
                            format!("action \"{name}\" needs `link = [\"n1\", \"n2\"]` or `target` (every link of one node)"),
                        ))
                    }
                };
                if action == FaultAction::Clog {
                    FaultKind::Clog { a, b, one_way: e.one_way }
                } else {
                    FaultKind::Unclog { a, b, one_way: e.one_way }
                }
            }
            FaultAction::Latency => {
                let Some(latency) = e.latency.clone() else {
                    return Err(self.err(
                        aspan,
                        "action \"latency\" needs `latency = { dist = \"constant\", value = \"50ms\" }` (or another distribution)".into(),
                    ));
                };
                FaultKind::Latency {
                    scope: scope()?,
                    latency,
                    one_way: e.one_way,
                }
            }
            FaultAction::Loss => {
                let Some(p) = &e.probability else {
                    return Err(self.err(
                        aspan,
                        "action \"loss\" needs `probability`: a share between 0 and 1 (e.g. 0.30) or a percentage (e.g. \"30%\")".into(),
                    ));
                };
                let v = check_share(*p.get_ref())
                    .map_err(|m| self.err(p.span(), format!("probability = {m}")))?;
                FaultKind::Loss {
                    scope: scope()?,
                    probability: v,
                    one_way: e.one_way,
                }
            }
            FaultAction::Clock => {
                let target = need_target(&["random", "all"])?;
                let offset_ns = match &e.offset {
                    Some(o) => Some(
                        parse_signed_duration(o.get_ref())
                            .map_err(|m| self.err(o.span(), format!("offset: {m}")))?,
                    ),
                    None => None,
                };
                let drift = match &e.drift {
                    Some(d) => {
                        let v = *d.get_ref();
                        if !(-0.5..=1.0).contains(&v) {
                            return Err(self.err(
                                d.span(),
                                format!("drift = {v}: a rate error between -0.5 and 1.0 (0.01 = 1% fast)"),
                            ));
                        }
                        Some(v)
                    }
                    None => None,
                };
                if e.offset.is_none() && e.drift.is_none() {
                    return Err(self.err(
                        aspan,
                        "action \"clock\" needs `offset` (e.g. \"-200ms\") and/or `drift` (e.g. 0.01); offset = \"0\" with drift = 0.0 resets the clock".into(),
                    ));
                }
                FaultKind::Clock {
                    target,
                    offset_ns,
                    drift,
                }
            }
        };
        Ok(Fault {
            at,
            kind,
            line,
            when,
        })
    }

    fn duration_field(&self, d: &Spanned<String>, field: &str) -> Result<Nanos, ScenarioError> {
        let v =
            parse_duration(d.get_ref()).map_err(|m| self.err(d.span(), format!("{field}: {m}")))?;
        if v > self.duration {
            return Err(self.err(
                d.span(),
                format!(
                    "{field} = \"{}\" is past the end of the run ([meta] duration = \"{}\")",
                    d.get_ref(),
                    show(self.duration)
                ),
            ));
        }
        Ok(v)
    }

    /// The fault's `at`, or its trigger (`when`, `after`, `delay`).
    fn timing(&self, e: &FaultEntry) -> Result<(Nanos, Option<Trigger>), ScenarioError> {
        let aspan = e.action.span();
        let Some(w) = &e.when else {
            for (field, v) in [("after", &e.after), ("delay", &e.delay)] {
                if let Some(v) = v {
                    return Err(self.err(
                        v.span(),
                        format!("`{field}` applies only to a fault with a trigger (`when = {{ event = ... }}`)"),
                    ));
                }
            }
            let Some(at) = &e.at else {
                return Err(self.err(
                    aspan,
                    "a fault needs `at = \"2s\"` or a trigger such as `when = { event = \"role\", role = \"leader\" }`".into(),
                ));
            };
            let at = parse_duration(at.get_ref())
                .map_err(|m| self.err(at.span(), format!("at: {m}")))?;
            return Ok((at, None));
        };
        let after = match (&e.at, &e.after) {
            (Some(a), Some(_)) => {
                return Err(self.err(
                    a.span(),
                    "a triggered fault takes `after` (when the trigger starts counting), not both `at` and `after`".into(),
                ))
            }
            (Some(a), None) | (None, Some(a)) => self.duration_field(a, "after")?,
            (None, None) => 0,
        };
        let delay = match &e.delay {
            Some(d) => self.duration_field(d, "delay")?,
            None => 0,
        };
        if after.saturating_add(delay) > self.duration {
            let span = e.delay.as_ref().map_or(w.span(), |d| d.span());
            return Err(self.err(
                span,
                format!(
                    "after + delay = {} is past the end of the run ([meta] duration = \"{}\"): the fault could never fire",
                    show(after + delay),
                    show(self.duration)
                ),
            ));
        }
        let trigger = self.trigger(w.get_ref(), w.span(), delay)?;
        Ok((after, Some(trigger)))
    }

    fn trigger(
        &self,
        w: &WhenEntry,
        span: Range<usize>,
        delay: Nanos,
    ) -> Result<Trigger, ScenarioError> {
        let ev = w.event.get_ref().as_str();
        let allowed: &[&str] = match ev {
            "send" | "deliver" => &["node", "to", "kind", "count"],
            "role" => &["node", "role", "count"],
            "note" => &["node", "note", "count"],
            "fault" => &["node", "action", "count"],
            _ => {
                return Err(self.err(
                    w.event.span(),
                    format!(
                        "when: unknown event `{ev}`: valid events are {}",
                        quoted(TRIGGER_EVENTS)
                    ),
                ))
            }
        };
        let given = spans!(w; node, to, kind, role, note, action, count);
        if let Some((field, span)) = not_allowed(&given, allowed) {
            return Err(self.err(
                span,
                format!(
                    "when: `{field}` does not apply to event \"{ev}\": it takes {}",
                    quoted(allowed)
                ),
            ));
        }
        let node = match &w.node {
            Some(n) => self.node_match(n, "node")?,
            None => NodeMatch::Any,
        };
        let count = match &w.count {
            Some(c) if *c.get_ref() >= 1 => *c.get_ref() as u64,
            Some(c) => {
                return Err(self.err(
                    c.span(),
                    format!(
                        "when: count = {}: the trigger fires at the count-th matching event, so count is at least 1",
                        c.get_ref()
                    ),
                ))
            }
            None => 1,
        };
        let need = |field: &str, v: &Option<Spanned<String>>, example: &str| match v {
            Some(v) => Ok(v.clone()),
            None => Err(self.err(
                span.clone(),
                format!("when: event \"{ev}\" needs `{field}`, e.g. {example}"),
            )),
        };
        let on_list =
            |v: &Spanned<String>, field: &str, list: &Option<Vec<&'static str>>, what: &str| {
                match list {
                    Some(list) => known(
                        v,
                        list,
                        &format!("when: unknown {field}"),
                        &format!("this protocol's {what} are"),
                    )
                    .map(str::to_string)
                    .map_err(|m| self.err(v.span(), m)),
                    None => Ok(v.get_ref().clone()),
                }
            };
        let event = match ev {
            "send" | "deliver" => {
                let kind = match &w.kind {
                    Some(k) => Some(on_list(
                        k,
                        "message kind",
                        &self.events.messages,
                        "message kinds",
                    )?),
                    None => None,
                };
                let to = match &w.to {
                    Some(t) => self.node_match(t, "to")?,
                    None => NodeMatch::Any,
                };
                if ev == "send" {
                    TriggerEvent::Send { kind, to }
                } else {
                    TriggerEvent::Deliver { kind, to }
                }
            }
            "role" => {
                let r = need("role", &w.role, "role = \"leader\"")?;
                let mut roles: Vec<&str> = self.roles.to_vec();
                roles.push("crashed");
                known(
                    &r,
                    &roles,
                    "when: unknown role",
                    "this protocol's roles are",
                )
                .map_err(|m| self.err(r.span(), m))?;
                TriggerEvent::Role {
                    role: r.get_ref().clone(),
                }
            }
            "note" => {
                let n = need("note", &w.note, "note = \"prepared\"")?;
                TriggerEvent::Note {
                    note: on_list(&n, "note", &self.events.notes, "notes")?,
                }
            }
            _ => {
                let a = need("action", &w.action, "action = \"crash\"")?;
                let Some(&action) = FAULT_ACTIONS.iter().find(|x| x.name() == a.get_ref()) else {
                    let names: Vec<&str> = FAULT_ACTIONS.iter().map(|x| x.name()).collect();
                    return Err(self.err(
                        a.span(),
                        format!(
                            "when: unknown fault action `{}`: valid actions are {}",
                            a.get_ref(),
                            quoted(&names)
                        ),
                    ));
                };
                TriggerEvent::Fault { action }
            }
        };
        Ok(Trigger {
            event,
            node,
            count,
            delay,
        })
    }
}

fn parse_signed_duration(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix('-') {
        Ok(-(parse_duration(rest)? as i64))
    } else {
        Ok(parse_duration(t.strip_prefix('+').unwrap_or(t))? as i64)
    }
}
