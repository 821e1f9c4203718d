//! Flags that shape the graph, shared by the jobs that run it.

use anyhow::{anyhow, Result};
use clap::Args;
use trendflow_dataflows::config::{ConfigError, GraphConfig, TrendConfig};
use trendflow_dataflows::window::{parse_duration, WindowError, WindowSpec};

/// Which views: `--window` (repeatable) and `--top`.
#[derive(Args, Debug, Clone)]
pub struct ViewArgs {
    /// A window spec LENGTH/SLIDE (`5m/1m`), or LENGTH for tumbling windows; repeat for several.
    #[arg(long = "window", value_name = "LENGTH/SLIDE", default_values = ["5m/1m", "1h/5m"])]
    pub windows: Vec<WindowSpec>,
    /// How many hashtags and tweets each ranking keeps.
    #[arg(long = "top", default_value_t = 10, value_name = "K")]
    pub top: usize,
    /// The trending view's baseline: how much event time before each window its hashtags' rates
    /// are compared with [default: 12 window lengths]; a multiple of the tick.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", conflicts_with = "no_trending")]
    pub trend_baseline: Option<u64>,
    /// The fewest occurrences in a window that make a hashtag a trending candidate.
    #[arg(long, default_value_t = TrendConfig::MIN_COUNT, value_name = "N")]
    pub trend_min_count: u64,
    /// The lowest score z = (c − μ)/sqrt(μ + 1) of a trending candidate: above zero, so that the
    /// view lists only hashtags rising above their baseline's rate.
    #[arg(long, default_value_t = TrendConfig::MIN_SCORE, value_name = "Z", allow_negative_numbers = true)]
    pub trend_min_score: f64,
    /// Leave out the trending view (and its baseline state).
    #[arg(long)]
    pub no_trending: bool,
}

impl ViewArgs {
    /// The graph for these views, recomputing rankings every `tick` of event time.
    pub fn graph(&self, tick: u64) -> Result<GraphConfig> {
        self.with_trending(GraphConfig::new(self.windows.clone(), self.top, tick))
    }

    /// The graph with the coarsest ticks: for batch runs, where nobody watches live rankings.
    pub fn batch_graph(&self) -> Result<GraphConfig> {
        self.with_trending(GraphConfig::coarsest(self.windows.clone(), self.top))
    }

    fn with_trending(&self, graph: Result<GraphConfig, ConfigError>) -> Result<GraphConfig> {
        let graph = graph.map_err(|e| anyhow!(e))?;
        if self.no_trending {
            return Ok(graph);
        }
        let trend = TrendConfig::new(self.trend_baseline, self.trend_min_count)
            .and_then(|trend| trend.with_min_score(self.trend_min_score))
            .map_err(|e| anyhow!(e))?;
        graph.with_trending(trend).map_err(|e| anyhow!(e))
    }
}

/// A wall-clock wait given as a duration (`10s`, `500ms`) or a plain number of seconds (`10`),
/// in milliseconds.
pub fn parse_wait(text: &str) -> Result<u64, WindowError> {
    match text.trim().parse::<u64>() {
        Ok(seconds) => seconds.checked_mul(1_000).ok_or_else(|| WindowError::TooLong(text.to_string())),
        Err(_) => parse_duration(text),
    }
}

/// How a live run advances: `--tick` and `--lateness`.
#[derive(Args, Debug, Clone)]
pub struct LiveArgs {
    /// How often live rankings are recomputed, in event time; must divide every length and slide.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub tick: u64,
    /// How far the watermark trails the latest event time seen (per partition, for Kafka); must
    /// cover the input's disorder, or tweets arrive late.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub lateness: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_a_duration_or_seconds() {
        assert_eq!(parse_wait("10"), Ok(10_000));
        assert_eq!(parse_wait("250ms"), Ok(250));
        assert!(parse_wait("soon").unwrap_err().to_string().contains("expected a number and a unit"));
    }
}
