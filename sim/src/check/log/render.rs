//! A log report as a learner reads it, and as a protocol's figures.

use std::fmt;

use super::{AnomalyKind, LogReport};
use crate::metric::{Figure, Metric, Metrics, Unit};
use crate::time::fmt_duration;

/// The figures [`LogReport::metrics`] reports, for a protocol's
/// `Spec::METRICS`: one count per anomaly kind (named as
/// [`AnomalyKind::name`]), then the delivery figures.
pub const FIGURES: &[Figure] = &[
    Figure::count("lost"),
    Figure::count("unseen"),
    Figure::count("duplicate"),
    Figure::count("duplicate-delivery"),
    Figure::count("poll-skip"),
    Figure::count("nonmonotonic-poll"),
    Figure::count("nonmonotonic-send"),
    Figure::count("internal"),
    Figure::count("reorder"),
    Figure::count("commit-backwards"),
    Figure::count("inconsistent-offset"),
    Figure::count("aborted-read"),
    Figure::text("delivery guarantee"),
    Figure::count("acknowledged sends"),
    Figure::count("never delivered"),
    Figure::count("delivered twice"),
    Figure::count("dead-lettered"),
    Figure::count("consumer lag max"),
    Figure::series("consumer lag"),
];

impl LogReport {
    /// The report as figures (declared in [`FIGURES`]): every anomaly count,
    /// zeros included so that `[expect.measure]` can bound any of them, then
    /// the guarantee with its evidence, and the lag of the group that lagged
    /// most.
    pub fn metrics(&self, out: &mut Metrics) {
        for kind in AnomalyKind::ALL {
            let n = self.count(kind);
            let w = out.count(kind.name(), n);
            if let Some(a) = self.examples_of(kind).next() {
                w.note(format!("e.g. {}", a.detail));
            }
        }
        // With messages still beyond a group's reach, the guarantee speaks
        // only of the prefix that was delivered: the name says so too.
        let unseen: u64 = self.groups.iter().map(|g| g.missing_unseen).sum();
        let name = if unseen > 0 && self.guarantee != super::Guarantee::Undetermined {
            format!("{} (delivered prefix only)", self.guarantee.name())
        } else {
            self.guarantee.name().to_string()
        };
        out.text("delivery guarantee", name)
            .note(self.evidence.clone());
        out.count("acknowledged sends", self.sends.acknowledged)
            .note(format!(
                "of {} sent ({} failed, {} unknown)",
                self.sends.total, self.sends.failed, self.sends.indeterminate
            ));
        let missing: u64 = self.groups.iter().map(|g| g.missing).sum();
        let twice: u64 = self.groups.iter().map(|g| g.duplicated).sum();
        out.count("never delivered", missing)
            .note("acknowledged messages a consumer group never received");
        out.count("delivered twice", twice)
            .note("messages a consumer group received more than once");
        // Only where dead letters are in play, so other reports stay as
        // they were.
        if let Some(n) = self.dead_lettered {
            out.count("dead-lettered", n)
                .note("distinct messages a group gave up to its dead letter queue: handled, not processed");
        }
        match self.groups.iter().max_by_key(|g| g.lag_max) {
            Some(g) => {
                out.count("consumer lag max", g.lag_max).note(format!(
                    "group {} at {}; {} behind at the end",
                    g.group,
                    fmt_duration(g.lag_max_at_ns),
                    g.lag_final
                ));
                let points = g.lag.iter().map(|p| (p.at_ns, p.lag as f64)).collect();
                out.add(Metric::series("consumer lag", Unit::Count, points))
                    .note(format!("group {}", g.group));
            }
            None => {
                out.none("consumer lag max", "no consumer polled");
                out.none("consumer lag", "no consumer polled");
            }
        }
    }
}

impl fmt::Display for LogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sends: {} ({} acknowledged, {} failed, {} unknown); {} polls returned {} messages",
            self.sends.total,
            self.sends.acknowledged,
            self.sends.failed,
            self.sends.indeterminate,
            self.polls_ok,
            self.messages_polled
        )?;
        if let Some(n) = self.dead_lettered {
            writeln!(f, "dead letters: {n} message(s) given up, not processed")?;
        }
        if self.counts.is_empty() {
            writeln!(f, "anomalies: none")?;
        } else {
            writeln!(f, "anomalies:")?;
            for (kind, n) in &self.counts {
                writeln!(f, "  {:<20} {n}", kind.name())?;
                for a in self.examples_of(*kind) {
                    writeln!(f, "    {}", a.detail)?;
                }
            }
        }
        writeln!(f, "delivery guarantee: {}", self.evidence)?;
        for g in &self.groups {
            writeln!(
                f,
                "  group {}: {} of {} acknowledged delivered, {} missing ({} lost, {} unseen), {} twice; lag max {} at {}, {} at the end",
                g.group,
                g.delivered,
                g.acknowledged,
                g.missing,
                g.missing_lost,
                g.missing_unseen,
                g.duplicated,
                g.lag_max,
                fmt_duration(g.lag_max_at_ns),
                g.lag_final
            )?;
        }
        Ok(())
    }
}
