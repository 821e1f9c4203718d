//! What a latency measurement reports: `stream --latency-report` writes a [`LatencyReport`], and
//! the latency benchmark reads it back and merges several runs' histograms.

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::harness::latency::{new_histogram, Latencies};

/// The percentiles a summary gives, with their names.
pub const PERCENTILES: [(&str, f64); 5] =
    [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9), ("p99.99", 99.99)];

/// A histogram's count, [`PERCENTILES`] and maximum, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub tweets: u64,
    pub max_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    #[serde(rename = "p99.9_ms")]
    pub p99_9_ms: f64,
    #[serde(rename = "p99.99_ms")]
    pub p99_99_ms: f64,
}

impl LatencySummary {
    pub fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1_000.0;
        let [p50_ms, p90_ms, p99_ms, p99_9_ms, p99_99_ms] =
            PERCENTILES.map(|(_, percentile)| ms(histogram.value_at_percentile(percentile)));
        LatencySummary {
            tweets: histogram.len(),
            max_ms: ms(histogram.max()),
            p50_ms,
            p90_ms,
            p99_ms,
            p99_9_ms,
            p99_99_ms,
        }
    }

    /// Each of the [`PERCENTILES`] by name, with its latency in milliseconds.
    pub fn percentiles(&self) -> [(&'static str, f64); 5] {
        let [p50, p90, p99, p99_9, p99_99] = PERCENTILES.map(|(name, _)| name);
        [(p50, self.p50_ms), (p90, self.p90_ms), (p99, self.p99_ms), (p99_9, self.p99_9_ms), (p99_99, self.p99_99_ms)]
    }
}

/// A histogram in full: `[value, count]` for each recorded bucket, the value (µs) being the
/// highest one the bucket stands for; so that several runs can be merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Buckets(Vec<[u64; 2]>);

impl Buckets {
    pub fn of(histogram: &Histogram<u64>) -> Self {
        Buckets(histogram.iter_recorded().map(|bucket| [bucket.value_iterated_to(), bucket.count_at_value()]).collect())
    }

    /// The histogram the buckets were taken of.
    pub fn histogram(&self) -> Result<Histogram<u64>> {
        let mut histogram = new_histogram();
        for &[value, count] in &self.0 {
            histogram.record_n(value, count).with_context(|| format!("a latency of {value} µs"))?;
        }
        Ok(histogram)
    }
}

/// One latency: its summary, and its histogram in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    #[serde(flatten)]
    pub summary: LatencySummary,
    pub histogram_us: Buckets,
}

impl Measured {
    pub fn of(histogram: &Histogram<u64>) -> Self {
        Measured { summary: LatencySummary::of(histogram), histogram_us: Buckets::of(histogram) }
    }
}

/// What `stream --latency-report` writes: the end-to-end latency ([`Latencies::emitted`]) at the
/// top, with its [`percentile_curve`], and each of its parts beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    #[serde(flatten)]
    pub emitted: LatencySummary,
    pub percentile_curve_ms: Vec<(f64, f64)>,
    pub histogram_us: Buckets,
    /// Until the stream consumed each tweet.
    pub consumed: Measured,
    /// From consuming each tweet to its rankings published.
    pub own: Measured,
    /// From consuming each tweet to its rankings computed.
    pub ranked: Measured,
    /// From the input frontier passing each tweet's tick to its rankings published.
    pub closed: Measured,
}

impl LatencyReport {
    pub fn of(latencies: &Latencies) -> Self {
        LatencyReport {
            emitted: LatencySummary::of(&latencies.emitted),
            percentile_curve_ms: percentile_curve(&latencies.emitted),
            histogram_us: Buckets::of(&latencies.emitted),
            consumed: Measured::of(&latencies.consumed),
            own: Measured::of(&latencies.own),
            ranked: Measured::of(&latencies.ranked),
            closed: Measured::of(&latencies.closed),
        }
    }

    /// The latencies the report was made of.
    pub fn latencies(&self) -> Result<Latencies> {
        Ok(Latencies {
            emitted: self.histogram_us.histogram()?,
            consumed: self.consumed.histogram_us.histogram()?,
            own: self.own.histogram_us.histogram()?,
            ranked: self.ranked.histogram_us.histogram()?,
            closed: self.closed.histogram_us.histogram()?,
        })
    }
}

/// The latency (ms) at percentiles spaced evenly on a "nines" scale, from 0% to 99.99%: the
/// points of a latency CDF plot, as (percentile, milliseconds).
pub fn percentile_curve(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    (0..=40)
        .map(|step| {
            let percentile = 100.0 * (1.0 - 10f64.powf(-(step as f64) / 10.0));
            (percentile, histogram.value_at_percentile(percentile) as f64 / 1_000.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::latency::LatencyRecorder;
    use trendflow_dataflows::config::GraphConfig;

    #[test]
    fn the_report_has_the_percentiles_in_milliseconds_and_the_histograms_in_full() {
        let graph = GraphConfig::new(vec!["1m".parse().expect("a spec")], 3, 10).expect("a graph");
        let mut recorder = LatencyRecorder::new(graph, 0);
        for time in 0..1_000 {
            recorder.fed(time, time * 1_000 + 500);
        }
        recorder.emitted_before(None, 2_000_000);
        let report = LatencyReport::of(recorder.latencies());
        assert_eq!(report.emitted.tweets, 1_000);
        assert!((1_490.0..1_510.0).contains(&report.emitted.p50_ms), "{report:?}");
        assert!(report.emitted.p99_ms > report.emitted.p50_ms);
        assert_eq!(report.consumed.summary.p99_ms, 0.5);
        assert_eq!(report.own.summary.tweets, 1_000);
        assert!((1_490.0..1_510.0).contains(&report.own.summary.p50_ms), "{report:?}");
        // As JSON, with the field names the benchmark's results have always had.
        let json = serde_json::to_value(&report).expect("encoded");
        assert_eq!((json["tweets"].as_u64(), json["p99.9_ms"].as_f64()), (Some(1_000), Some(report.emitted.p99_9_ms)));
        assert_eq!(json["own"]["tweets"].as_u64(), Some(1_000));
        // Read back, the histograms give the same report.
        let read_back: LatencyReport = serde_json::from_value(json).expect("decoded");
        assert_eq!(LatencyReport::of(&read_back.latencies().expect("histograms")), report);
    }
}
