//! Parsing a scenario: the document as written, and the checks of every
//! section before it becomes a [`Scenario`].

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::error::{known, quoted, ScenarioError};
use super::expect::{check_share, parse_pacelc, Expect};
use super::explore::{Choice, Explore, Schedule, ScheduleDoc};
use super::faults::{FaultEntry, Nemesis, NEMESIS_KINDS};
use super::meta::{Meta, DEFAULT_CHECK_MAX_STEPS};
use super::refs::{NodeNames, RefCheck};
use super::spans::{find_value_span, key_span};
use super::system::{Network, Topology};
use super::workload::{Workload, MAX_CLIENT_ATTEMPTS, MIN_CLIENT_TIMEOUT};
use super::Scenario;
use crate::client::RetryPolicy;
use crate::time::{fmt_duration, parse_duration, Nanos};

/// The most servers a scenario may have (a load balancer's fleet of
/// backends is the largest: 100 of them, the balancer and its sources).
pub const MAX_SERVERS: u32 = 128;
/// The most clients a scenario may have.
pub const MAX_CLIENTS: u32 = 256;
/// The most servers an explored scenario may have: the explorer writes a
/// partition as a 64-bit set.
pub const MAX_EXPLORED_SERVERS: u32 = 64;
/// The most servers an explored scenario with `partitions` may have: each
/// partition is a choice among every split of the servers in two.
pub const MAX_PARTITIONED_SERVERS: u32 = 16;

/// The document as written, before checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Doc {
    meta: Meta,
    system: Spanned<toml::Table>,
    topology: Topology,
    #[serde(default)]
    network: Network,
    #[serde(default)]
    workload: Workload,
    #[serde(default)]
    faults: Vec<FaultEntry>,
    #[serde(default)]
    nemesis: Option<Nemesis>,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    explore: Option<Explore>,
    #[serde(default)]
    schedule: Option<ScheduleDoc>,
}

/// The sections every scenario has, and an example of each.
const REQUIRED: &[(&str, &str)] = &[
    ("meta", "[meta]\nname = \"my-scenario\"\nduration = \"10s\""),
    ("system", "[system]\nprotocol = \"raft\""),
    ("topology", "[topology]\nservers = 3\nclients = 2"),
];

/// The TOML error `e` of the whole file; a required section left out has no
/// place in the file, so it is put at the end, where it can be added.
fn missing_section(file: &str, src: &str, e: toml::de::Error) -> ScenarioError {
    // The whole document's error: no span, or one from its start.
    let whole = e.span().is_none_or(|span| span.start == 0);
    let missing = whole.then(|| {
        REQUIRED
            .iter()
            .find(|(name, _)| e.message().trim() == format!("missing field `{name}`"))
    });
    match missing.flatten() {
        Some((name, example)) => ScenarioError::at(
            file,
            src,
            src.len()..src.len(),
            format!(
                "missing section [{name}]: every scenario has [meta], [system] and [topology]; add it, e.g.\n{example}"
            ),
        ),
        None => ScenarioError::from_toml(file, src, e),
    }
}

/// What [`Scenario::parse`] must know about the protocol to check references.
pub struct ProtocolInfo<'a> {
    /// The protocol names that exist.
    pub protocols: &'a [&'a str],
    /// The roles the named protocol's nodes report (`leader`, `follower`...).
    pub roles: &'a dyn Fn(&str) -> Vec<&'static str>,
    /// The message kinds and the notes (`ctx.note`) the named protocol's
    /// nodes produce, for checking triggers; `None` where unknown (then any
    /// name is accepted, and a trigger that never fires is reported).
    pub events: &'a dyn Fn(&str) -> ProtocolEvents,
    /// The named protocol's services (Maelstrom's `lin-kv`...) and the role
    /// they report: a fault that names one is refused.
    pub services: &'a dyn Fn(&str) -> Services,
}

/// See [`ProtocolInfo::services`]: the names, and the role if any.
pub type Services = (&'static [&'static str], Option<&'static str>);

/// See [`ProtocolInfo::events`].
#[derive(Clone, Debug, Default)]
pub struct ProtocolEvents {
    pub messages: Option<Vec<&'static str>>,
    pub notes: Option<Vec<&'static str>>,
}

impl Scenario {
    /// Parses and checks a scenario. `file` is only used in messages.
    pub fn parse(file: &str, src: &str, info: &ProtocolInfo) -> Result<Scenario, ScenarioError> {
        let doc: Doc = toml::from_str(src).map_err(|e| missing_section(file, src, e))?;
        let err = |span: Range<usize>, msg: String| ScenarioError::at(file, src, span, msg);
        // An error at `key = ...` in table `section`, for values read without
        // a span of their own.
        let err_at = |section: &str, key: &str, msg: String| {
            err(key_span(src, section, key).unwrap_or(0..0), msg)
        };

        // [system]
        let protocol = match doc.system.get_ref().get("protocol") {
            Some(toml::Value::String(p)) => p.clone(),
            Some(_) => {
                return Err(err(
                    doc.system.span(),
                    "[system] field `protocol` must be a string".into(),
                ))
            }
            None => {
                return Err(err(
                    doc.system.span(),
                    format!(
                        "[system] needs `protocol`: one of {}",
                        quoted(info.protocols)
                    ),
                ))
            }
        };
        if !info.protocols.contains(&protocol.as_str()) {
            let span = find_value_span(src, "protocol", &protocol).unwrap_or(doc.system.span());
            return Err(err(
                span,
                format!(
                    "unknown protocol `{protocol}`: valid protocols are {}",
                    quoted(info.protocols)
                ),
            ));
        }
        let roles = (info.roles)(&protocol);

        // [meta]
        if doc.meta.max_events == 0 {
            return Err(err_at(
                "meta",
                "max_events",
                "[meta] max_events must be at least 1".into(),
            ));
        }
        if doc.meta.duration == 0 {
            return Err(err_at(
                "meta",
                "duration",
                "[meta] duration must be more than 0, e.g. \"30s\"".into(),
            ));
        }

        if doc.meta.check_max_steps == Some(0) {
            return Err(err_at(
                "meta",
                "check_max_steps",
                format!(
                    "[meta] check_max_steps must be at least 1 (the default is {DEFAULT_CHECK_MAX_STEPS})"
                ),
            ));
        }
        if let Some(m) = &doc.meta.check_max_memory {
            m.get_ref()
                .bytes()
                .map_err(|e| err(m.span(), format!("[meta] check_max_memory: {e}")))?;
        }

        // [topology]
        let servers = *doc.topology.servers.get_ref();
        if servers == 0 || servers > MAX_SERVERS {
            return Err(err(
                doc.topology.servers.span(),
                format!("[topology] servers = {servers}: must be between 1 and {MAX_SERVERS}"),
            ));
        }
        if doc.topology.clients > MAX_CLIENTS {
            return Err(err_at(
                "topology",
                "clients",
                format!(
                    "[topology] clients = {}: must be at most {MAX_CLIENTS}",
                    doc.topology.clients
                ),
            ));
        }
        let names = NodeNames {
            servers,
            clients: doc.topology.clients,
        };
        let mut placed = std::collections::BTreeSet::new();
        for (region, members) in &doc.topology.regions {
            for m in members {
                if names.index(m.get_ref()).is_none() {
                    return Err(err(
                        m.span(),
                        format!(
                            "region `{region}` names `{}`, which is not a node: {}",
                            m.get_ref(),
                            names.describe()
                        ),
                    ));
                }
                if !placed.insert(m.get_ref().clone()) {
                    return Err(err(
                        m.span(),
                        format!("`{}` is placed in two regions", m.get_ref()),
                    ));
                }
            }
        }
        let regions: Vec<&str> = doc.topology.regions.keys().map(|s| s.as_str()).collect();

        // [network]
        let check_prob = |p: &Spanned<f64>, what: &str| -> Result<(), ScenarioError> {
            check_share(*p.get_ref()).map_err(|m| err(p.span(), format!("{what} = {m}")))?;
            Ok(())
        };
        check_prob(&doc.network.loss, "[network] loss")?;
        doc.network
            .latency
            .validate()
            .map_err(|m| err_at("network", "latency", format!("[network] latency: {m}")))?;
        for rl in &doc.network.region_latency {
            // The entry's `from` is the nearest span this entry carries.
            rl.latency.validate().map_err(|m| {
                err(
                    rl.from.span(),
                    format!("[[network.region_latency]] latency: {m}"),
                )
            })?;
        }
        for f in &doc.faults {
            if let Some(l) = &f.latency {
                l.validate()
                    .map_err(|m| err(f.action.span(), format!("latency: {m}")))?;
            }
        }
        check_prob(&doc.network.duplicate, "[network] duplicate")?;
        for rl in &doc.network.region_latency {
            for r in [&rl.from, &rl.to] {
                known(
                    r,
                    &regions,
                    "unknown region",
                    "the regions in [topology.regions] are",
                )
                .map_err(|m| err(r.span(), m))?;
            }
        }

        // [workload]
        let w = &doc.workload;
        let rate = *w.rate.get_ref();
        if !(rate > 0.0 && rate <= 100_000.0) {
            return Err(err(
                w.rate.span(),
                format!("[workload] rate = {rate}: operations per second per client, between 0 and 100000"),
            ));
        }
        if *w.keys.get_ref() == 0 {
            return Err(err(
                w.keys.span(),
                "[workload] keys must be at least 1".into(),
            ));
        }
        let zipf = *w.zipf_exponent.get_ref();
        if !(zipf > 0.0 && zipf <= 10.0) {
            return Err(err(
                w.zipf_exponent.span(),
                format!("[workload] zipf_exponent = {zipf}: must be above 0 and at most 10"),
            ));
        }
        let mix = w.mix.get_ref();
        let shares = [mix.get, mix.put, mix.cas, mix.append, mix.delete];
        if shares.iter().any(|s| !(*s >= 0.0 && s.is_finite())) || shares.iter().sum::<f64>() <= 0.0
        {
            return Err(err(
                w.mix.span(),
                "[workload] mix: shares of get, put, cas, append, delete must be non-negative and not all zero".into(),
            ));
        }
        // Bounds on the client's work: a 1ns timeout with a million retries
        // makes a run send a message per nanosecond of virtual time, and it
        // grows past a gigabyte before `max_events` stops it. No network a
        // scenario can describe answers faster than a microsecond, so an
        // attempt that gives up sooner than that only burns events.
        if w.timeout < MIN_CLIENT_TIMEOUT {
            return Err(err_at(
                "workload",
                "timeout",
                format!(
                    "[workload] timeout = \"{}\": must be at least {} (one attempt waits that long for a reply), e.g. \"200ms\"",
                    crate::time::fmt_duration(w.timeout),
                    crate::time::fmt_duration(MIN_CLIENT_TIMEOUT)
                ),
            ));
        }
        match &w.retry {
            RetryPolicy::None => {}
            RetryPolicy::Fixed { attempts, .. } | RetryPolicy::Exponential { attempts, .. }
                if !(1..=MAX_CLIENT_ATTEMPTS).contains(attempts) =>
            {
                return Err(err_at(
                    "workload",
                    "retry",
                    format!(
                        "[workload] retry: attempts = {attempts}: must be between 1 and {MAX_CLIENT_ATTEMPTS} (attempts in all, the first included)"
                    ),
                ));
            }
            RetryPolicy::Exponential { base, max, .. } if *base == 0 || max < base => {
                return Err(err_at(
                    "workload",
                    "retry",
                    "[workload] retry: exponential backoff needs base above 0 and max at least base, e.g. base = \"10ms\", max = \"1s\"".into(),
                ));
            }
            _ => {}
        }

        // [[faults]]
        let events = (info.events)(&protocol);
        let ctx = RefCheck {
            names: &names,
            regions: &regions,
            roles: &roles,
            events: &events,
            services: (info.services)(&protocol),
            protocol: &protocol,
            duration: doc.meta.duration,
            trigger_event: std::cell::Cell::new(None),
            file,
            src,
        };
        let mut faults = Vec::with_capacity(doc.faults.len());
        for entry in &doc.faults {
            faults.push(ctx.fault(entry)?);
        }
        faults.sort_by_key(|f| f.at);

        // [nemesis]
        if let Some(n) = &doc.nemesis {
            for k in &n.kinds {
                known(k, NEMESIS_KINDS, "unknown nemesis kind", "valid kinds are")
                    .map_err(|m| err(k.span(), m))?;
            }
            if n.interval < 1_000_000 || n.fault_duration == 0 {
                return Err(err_at(
                    "nemesis",
                    "interval",
                    "[nemesis] interval must be at least \"1ms\" and fault_duration more than 0"
                        .into(),
                ));
            }
        }

        // [expect]
        if let Some(p) = &doc.expect.pacelc {
            parse_pacelc(p.get_ref()).map_err(|m| err(p.span(), m))?;
        }
        for (name, bound) in &doc.expect.measure {
            for b in [&bound.min, &bound.max].into_iter().flatten() {
                b.get_ref()
                    .value()
                    .map_err(|m| err(b.span(), format!("[expect.measure.\"{name}\"]: {m}")))?;
            }
            if bound.min.is_none() && bound.max.is_none() {
                return Err(err_at(
                    "expect",
                    "measure",
                    format!("[expect.measure.\"{name}\"] needs `min` and/or `max`"),
                ));
            }
        }

        let x = &doc.expect;
        for (field, f) in [
            (
                "max_availability_during_partition",
                &x.max_availability_during_partition,
            ),
            (
                "min_availability_during_partition",
                &x.min_availability_during_partition,
            ),
            (
                "min_availability_outside_partition",
                &x.min_availability_outside_partition,
            ),
            (
                "max_availability_outside_partition",
                &x.max_availability_outside_partition,
            ),
        ] {
            if let Some(f) = f {
                f.get_ref()
                    .value()
                    .map_err(|m| err(f.span(), format!("[expect] {field} = {m}")))?;
            }
        }

        // Times of the run must fall inside it: a fault, a window or a deadline
        // after the end would silently never happen.
        let end = doc.meta.duration;
        let past = |what: &str, at: &str| {
            format!(
                "{what} = \"{at}\" is past the end of the run ([meta] duration = \"{}\"): it would never happen; move it before {} or make the run longer",
                fmt_duration(end),
                fmt_duration(end)
            )
        };
        // `key` of `[section]` is at `t`, past the end.
        let past_end = |section: &str, key: &str, t: Nanos| {
            err_at(
                section,
                key,
                past(&format!("[{section}] {key}"), &fmt_duration(t)),
            )
        };
        // (A triggered entry's `after` and `delay` are checked with its trigger.)
        for e in &doc.faults {
            let Some(at_s) = &e.at else { continue };
            let at =
                parse_duration(at_s.get_ref()).map_err(|m| err(at_s.span(), format!("at: {m}")))?;
            if at > end {
                return Err(err(
                    at_s.span(),
                    past(
                        &format!("[[faults]] action \"{}\" at", e.action.get_ref().name()),
                        at_s.get_ref().trim(),
                    ),
                ));
            }
        }
        let w = &doc.workload;
        if w.start >= end {
            return Err(past_end("workload", "start", w.start));
        }
        if let Some(stop) = w.stop.filter(|&t| t > end) {
            return Err(past_end("workload", "stop", stop));
        }
        if let Some(stop) = w.stop.filter(|&t| t <= w.start) {
            return Err(err_at(
                "workload",
                "stop",
                format!(
                    "[workload] stop = \"{}\" is not after start = \"{}\": clients would start no operation",
                    fmt_duration(stop),
                    fmt_duration(w.start)
                ),
            ));
        }
        if let Some(n) = &doc.nemesis {
            if n.start >= end {
                return Err(past_end("nemesis", "start", n.start));
            }
            if let Some(stop) = n.stop.filter(|&t| t > end) {
                return Err(past_end("nemesis", "stop", stop));
            }
        }
        if x.settle_time == Some(0) {
            return Err(err_at(
                "expect",
                "settle_time",
                "[expect] settle_time = \"0s\": the settle time must be longer than 0 (an eventually property is judged violated only after the run stays quiet that long); write a duration such as \"2s\", or remove it to use the protocol's".into(),
            ));
        }
        if let Some(after) = x.all_clients_ok_after.filter(|&t| t >= end) {
            return Err(err_at(
                "expect",
                "all_clients_ok_after",
                format!(
                    "[expect] all_clients_ok_after = \"{}\" is not before the end of the run ([meta] duration = \"{}\"): no operation could be served after it; move it before {}",
                    fmt_duration(after),
                    fmt_duration(end),
                    fmt_duration(end)
                ),
            ));
        }

        // [explore] and [schedule]
        if let Some(x) = &doc.explore {
            // The explorer writes a partition as a 64-bit set of servers.
            if servers > MAX_EXPLORED_SERVERS {
                return Err(err(
                    doc.topology.servers.span(),
                    format!("[topology] servers = {servers}: [explore] searches at most {MAX_EXPLORED_SERVERS} servers"),
                ));
            }
            // Each partition is a choice among every split of the servers in
            // two: 2^(n-1) - 1 of them, too many to offer past a few dozen.
            if x.partitions > 0 && servers > MAX_PARTITIONED_SERVERS {
                return Err(err(
                    doc.topology.servers.span(),
                    format!(
                        "[topology] servers = {servers}: [explore] partitions = {} splits at most {MAX_PARTITIONED_SERVERS} servers (it tries every split in two, 2^(n-1) - 1 of them); use fewer servers or partitions = 0",
                        x.partitions
                    ),
                ));
            }
            if let Some(l) = &x.latency {
                let mut parsed = [0; 2];
                for (k, s) in l.iter().enumerate() {
                    parsed[k] = parse_duration(s.get_ref())
                        .map_err(|m| err(s.span(), format!("[explore] latency: {m}")))?;
                }
                if parsed[0] > parsed[1] {
                    return Err(err(
                        l[0].span().start..l[1].span().end,
                        "[explore] latency = [min, max]: the min is above the max".into(),
                    ));
                }
            }
            if doc.nemesis.is_some() {
                return Err(err_at(
                    "explore",
                    "ops",
                    "[explore] and [nemesis] do not go together: the explorer chooses the faults itself; set [explore] crashes, restarts, partitions, drops or duplicates instead of a nemesis".into(),
                ));
            }
        }
        let schedule = match &doc.schedule {
            None => None,
            Some(_) if doc.explore.is_none() => {
                return Err(err_at(
                    "schedule",
                    "steps",
                    "[schedule] replays an explored run and needs the [explore] table it was explored with".into(),
                ))
            }
            Some(s) => {
                let servers = *doc.topology.servers.get_ref() as usize;
                let mut steps = Vec::with_capacity(s.steps.len());
                for w in &s.steps {
                    let c = Choice::parse(w.get_ref(), servers)
                        .map_err(|m| err(w.span(), format!("[schedule] steps: {m}")))?;
                    steps.push((w.span(), c));
                }
                Some(Schedule { steps })
            }
        };

        Ok(Scenario {
            file: file.to_string(),
            source: src.to_string(),
            meta: doc.meta,
            protocol,
            topology: doc.topology,
            network: doc.network,
            workload: doc.workload,
            faults,
            nemesis: doc.nemesis,
            expect: doc.expect,
            explore: doc.explore,
            schedule,
            system_times: Vec::new(),
        })
    }
}
