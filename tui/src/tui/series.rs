//! Figures over the run's time, for the chart panel (`c`): what the clients
//! got (goodput, failures and timeouts, latency) and what the network
//! carried (messages sent, dropped), counted from the trace into fine time
//! buckets once, when the run is recorded; and every time series the
//! protocol reports (`Unit::Series` metrics). A chart sums or averages the
//! buckets that fall in each of its columns.

use sim::metric::Value;
use sim::time::Nanos;
use sim::trace::TraceEvent;

use super::compact::Trace;

/// Buckets over the run: enough for a chart 1000 columns wide.
pub const BUCKETS: usize = 1000;

/// How a chart's buckets combine into a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agg {
    /// Events per second: the count over the column's time.
    Rate,
    /// The mean of the values that fell in the column (none: no value).
    Mean,
}

/// One figure over time.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub name: String,
    /// The unit a column's value is in, for its label.
    pub unit: &'static str,
    pub agg: Agg,
    /// Per bucket: the sum of the values (for a rate, the count) and how
    /// many values there were.
    pub sums: Vec<f64>,
    pub counts: Vec<u32>,
}

impl Chart {
    fn new(name: &str, unit: &'static str, agg: Agg) -> Chart {
        Chart {
            name: name.to_string(),
            unit,
            agg,
            sums: vec![0.0; BUCKETS],
            counts: vec![0; BUCKETS],
        }
    }

    fn add(&mut self, bucket: usize, value: f64) {
        self.sums[bucket] += value;
        self.counts[bucket] += 1;
    }

    /// The chart in `columns` columns over a run of `end_ns`: each column's
    /// value, `None` where a mean has no value.
    pub fn columns(&self, columns: usize, end_ns: Nanos) -> Vec<Option<f64>> {
        let columns = columns.max(1);
        (0..columns)
            .map(|c| {
                let lo = c * BUCKETS / columns;
                let hi = ((c + 1) * BUCKETS / columns).max(lo + 1).min(BUCKETS);
                let sum: f64 = self.sums[lo..hi].iter().sum();
                let count: u64 = self.counts[lo..hi].iter().map(|&n| u64::from(n)).sum();
                match self.agg {
                    Agg::Rate => {
                        let seconds =
                            end_ns.max(1) as f64 / 1e9 * (hi - lo) as f64 / BUCKETS as f64;
                        Some(sum / seconds)
                    }
                    Agg::Mean => (count > 0).then(|| sum / count as f64),
                }
            })
            .collect()
    }
}

/// Every chart of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Charts {
    pub end_ns: Nanos,
    pub charts: Vec<Chart>,
}

fn bucket_of(t: Nanos, end_ns: Nanos) -> usize {
    ((t as u128 * BUCKETS as u128) / end_ns.max(1) as u128).min(BUCKETS as u128 - 1) as usize
}

impl Charts {
    /// Counts the trace into buckets, and adds the protocol's series.
    pub fn of(trace: &Trace, end_ns: Nanos, metrics: &[sim::metric::Metric]) -> Charts {
        let mut goodput = Chart::new("goodput: operations ok", "/s", Agg::Rate);
        let mut failed = Chart::new("operations failed or timed out", "/s", Agg::Rate);
        let mut latency = Chart::new("latency of completed operations", "ms", Agg::Mean);
        let mut sent = Chart::new("messages sent", "/s", Agg::Rate);
        let mut dropped = Chart::new("messages dropped", "/s", Agg::Rate);
        // Invocation time by operation id.
        let mut invoked: Vec<Nanos> = Vec::new();
        for i in 0..trace.len() {
            let Some(r) = trace.get_without_texts(i) else {
                continue;
            };
            let b = bucket_of(r.t, end_ns);
            match r.event {
                TraceEvent::Send { .. } => sent.add(b, 1.0),
                TraceEvent::Drop { .. } => dropped.add(b, 1.0),
                TraceEvent::Invoke { op, .. } => {
                    let op = op as usize;
                    if invoked.len() <= op {
                        invoked.resize(op + 1, Nanos::MAX);
                    }
                    invoked[op] = r.t;
                }
                TraceEvent::Complete { op, outcome, .. } => {
                    if outcome == "ok" {
                        goodput.add(b, 1.0);
                    } else {
                        failed.add(b, 1.0);
                    }
                    if let Some(&t0) = invoked.get(op as usize).filter(|&&t0| t0 <= r.t) {
                        latency.add(b, (r.t - t0) as f64 / 1e6);
                    }
                }
                _ => {}
            }
        }
        let mut charts = vec![goodput, failed, latency, sent, dropped];
        for m in metrics {
            if let Value::Series(s) = &m.value {
                let mut c = Chart::new(&m.name, "", Agg::Mean);
                for &(t, v) in &s.points {
                    c.add(bucket_of(t, end_ns), v);
                }
                charts.push(c);
            }
        }
        Charts { end_ns, charts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_per_second_and_a_mean_skips_empty_columns() {
        let mut c = Chart::new("x", "/s", Agg::Rate);
        // 10 events in the first tenth of a 10 s run: 10 per second there.
        for b in 0..BUCKETS / 10 {
            if b % 10 == 0 {
                c.add(b, 1.0);
            }
        }
        let cols = c.columns(10, 10_000_000_000);
        assert_eq!(cols[0], Some(10.0));
        assert_eq!(cols[1], Some(0.0));
        let mut m = Chart::new("y", "ms", Agg::Mean);
        m.add(0, 2.0);
        m.add(1, 4.0);
        let cols = m.columns(2, 1_000);
        assert_eq!(cols, vec![Some(3.0), None]);
        // More columns than buckets: each column still reads a bucket.
        assert_eq!(m.columns(4000, 1_000).len(), 4000);
    }
}
