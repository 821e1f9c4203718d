//! What the graph computes and how often, validated before any dataflow is built.
//!
//! The jobs turn their flags into a [`GraphConfig`], the reference implementation reads one to
//! state the views, and a stream names its stored positions after the [`ViewSet`] one computes:
//! none of them builds a graph to do so. So the configuration, its rules and its errors live
//! here, apart from the operators of [`crate::graph`], which only read it. A setting that cannot
//! work (a tick that misses some window's end, a baseline that is no multiple of its tick) is
//! refused with a [`ConfigError`] that says what would be right, never discovered mid-run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::views::Snapshot;
use crate::window::{enters_at, format_duration, gcd, WindowSpec};
use crate::EventTime;

/// What the graph computes: which window specs, how many rows per ranking, and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphConfig {
    windows: Vec<WindowSpec>,
    top_k: usize,
    /// Each distinct window length, in increasing order, with the tick its state moves by.
    ticks: Vec<(u64, u64)>,
    /// Whether the ticks are each length's coarsest, which a trend baseline may refine.
    coarsest: bool,
    trending: Option<TrendConfig>,
    /// A time before which the input had tweets that the graph will not see.
    earlier_input: Option<EventTime>,
}

/// The trending view's settings: how long a baseline each window is compared with, how often
/// a hashtag must occur in the window to be a candidate, and how far above its baseline's rate.
#[derive(Clone, Copy, Debug)]
pub struct TrendConfig {
    baseline_ms: Option<u64>,
    min_count: u64,
    min_score: f64,
}

impl TrendConfig {
    /// A window's default baseline, in window lengths: an hour for a 5-minute window.
    pub const BASELINE_LENGTHS: u64 = 12;
    /// The default minimum count of a candidate.
    pub const MIN_COUNT: u64 = 5;
    /// The default minimum score of a candidate: a view titled "rising" lists no hashtag that
    /// merely holds its rate (z near 0) or falls (z below 0). Two is about two standard
    /// deviations of a Poisson count above what the baseline predicts.
    pub const MIN_SCORE: f64 = 2.0;

    /// A baseline of `baseline_ms` for every window length (`None`: twelve lengths each), and
    /// candidates with at least `min_count` occurrences in the window and a score of at least
    /// [`Self::MIN_SCORE`] (see [`Self::with_min_score`]).
    pub fn new(baseline_ms: Option<u64>, min_count: u64) -> Result<Self, ConfigError> {
        if baseline_ms == Some(0) {
            return Err(ConfigError::NoBaseline);
        }
        if min_count == 0 {
            return Err(ConfigError::NoMinCount);
        }
        Ok(TrendConfig { baseline_ms, min_count, min_score: Self::MIN_SCORE })
    }

    /// The same settings with candidates scoring at least `min_score`, a finite number.
    ///
    /// ```
    /// use trendflow_dataflows::config::TrendConfig;
    /// let trend = TrendConfig::default().with_min_score(3.5).unwrap();
    /// assert_eq!(trend.min_score(), 3.5);
    /// assert!(TrendConfig::default().with_min_score(f64::NAN).is_err());
    /// ```
    pub fn with_min_score(self, min_score: f64) -> Result<Self, ConfigError> {
        if !min_score.is_finite() {
            return Err(ConfigError::MinScore(min_score.to_string()));
        }
        Ok(TrendConfig { min_score, ..self })
    }

    /// The lowest score a candidate may have.
    pub fn min_score(&self) -> f64 {
        self.min_score
    }

    /// The baseline of windows of `length_ms`.
    pub fn baseline_ms(&self, length_ms: u64) -> u64 {
        self.baseline_ms.unwrap_or(length_ms.saturating_mul(Self::BASELINE_LENGTHS))
    }

    /// The fewest occurrences in a window that make a hashtag a candidate.
    pub fn min_count(&self) -> u64 {
        self.min_count
    }
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig { baseline_ms: None, min_count: Self::MIN_COUNT, min_score: Self::MIN_SCORE }
    }
}

/// Settings are equal when every field is, the minimum score compared by its bits (it is finite).
impl PartialEq for TrendConfig {
    fn eq(&self, other: &Self) -> bool {
        (self.baseline_ms, self.min_count, self.min_score.to_bits())
            == (other.baseline_ms, other.min_count, other.min_score.to_bits())
    }
}

impl Eq for TrendConfig {}

impl GraphConfig {
    /// Validates a configuration that recomputes every ranking each `tick_ms` of event time: at
    /// least one window spec, `top_k >= 1`, and a tick that divides every length and slide (so
    /// that every window starts and ends on a tick).
    pub fn new(windows: Vec<WindowSpec>, top_k: usize, tick_ms: u64) -> Result<Self, ConfigError> {
        let divides =
            |spec: &WindowSpec| tick_ms > 0 && spec.slide_ms() % tick_ms == 0 && spec.length_ms() % tick_ms == 0;
        if let Some(spec) = windows.iter().find(|spec| !divides(spec)) {
            return Err(ConfigError::Tick {
                tick: format_duration(tick_ms),
                spec: *spec,
                coarsest: format_duration(Self::coarsest_tick(&windows)),
            });
        }
        Self::with_ticks(windows, top_k, false, |_| tick_ms)
    }

    /// The configuration that computes each window length's rankings as seldom as its windows
    /// allow: at the greatest common divisor of the length and the slides of its specs. Batch
    /// runs use it, as nobody watches their intermediate rankings. With `5m/1m` and `1h/5m` the
    /// hour's state moves every five minutes, not every minute, so each hashtag makes a fifth of
    /// the records there.
    ///
    /// ```
    /// use trendflow_dataflows::config::GraphConfig;
    /// let specs = vec!["5m/1m".parse().unwrap(), "1h/5m".parse().unwrap()];
    /// let config = GraphConfig::coarsest(specs, 10).unwrap();
    /// // A tweet at 0:30 is in the 5-minute state from 1:00, in the hour's from 5:00.
    /// assert_eq!(config.enters_at(30_000), 300_000);
    /// assert_eq!(config.horizon_ms(), 3_600_000);
    /// ```
    pub fn coarsest(windows: Vec<WindowSpec>, top_k: usize) -> Result<Self, ConfigError> {
        let specs = windows.clone();
        Self::with_ticks(windows, top_k, true, |length| {
            specs.iter().filter(|spec| spec.length_ms() == length).map(|spec| spec.slide_ms()).fold(length, gcd)
        })
    }

    fn with_ticks(
        mut windows: Vec<WindowSpec>,
        top_k: usize,
        coarsest: bool,
        tick: impl Fn(u64) -> u64,
    ) -> Result<Self, ConfigError> {
        if windows.is_empty() {
            return Err(ConfigError::NoWindows);
        }
        if top_k == 0 {
            return Err(ConfigError::NoRows);
        }
        windows.sort();
        windows.dedup();
        let mut lengths: Vec<u64> = windows.iter().map(|spec| spec.length_ms()).collect();
        lengths.dedup();
        let ticks = lengths.into_iter().map(|length| (length, tick(length))).collect();
        Ok(GraphConfig { windows, top_k, ticks, coarsest, trending: None, earlier_input: None })
    }

    /// The same views plus the trending view of every window spec (see [`TrendConfig`]). Each
    /// baseline must be a multiple of its length's tick, so that tweets enter and leave it on
    /// ticks; the coarsest configuration refines its ticks to make it so.
    ///
    /// ```
    /// use trendflow_dataflows::config::{GraphConfig, TrendConfig};
    /// let specs = vec!["5m/1m".parse().unwrap()];
    /// let trend = TrendConfig::new(Some(90_000), 5).unwrap();
    /// let error = GraphConfig::new(specs.clone(), 10, 60_000).unwrap().with_trending(trend).unwrap_err();
    /// assert!(error.to_string().contains("multiple of the tick 1m"));
    /// let batch = GraphConfig::coarsest(specs, 10).unwrap().with_trending(trend).unwrap();
    /// assert_eq!(batch.enters_at(10_000), 30_000);
    /// ```
    pub fn with_trending(mut self, trend: TrendConfig) -> Result<Self, ConfigError> {
        for (length, tick) in &mut self.ticks {
            let baseline = trend.baseline_ms(*length);
            if baseline % *tick != 0 {
                if !self.coarsest {
                    return Err(ConfigError::Baseline {
                        baseline: format_duration(baseline),
                        tick: format_duration(*tick),
                        nearest: format_duration(baseline.div_ceil(*tick) * *tick),
                    });
                }
                *tick = gcd(*tick, baseline);
            }
        }
        self.trending = Some(trend);
        Ok(self)
    }

    /// The same graph, told that the input had tweets before `time` that it will not be fed: a
    /// resumed stream reads again only from where it must rebuild its windows. A trending window
    /// then counts as having its whole baseline when that starts at or after `time`, as it did
    /// before the restart, though the graph's own earliest tweet is later.
    pub fn with_earlier_input(mut self, time: EventTime) -> Self {
        self.earlier_input = Some(time);
        self
    }

    /// The time before which the input had tweets the graph is not fed, if it had.
    pub fn earlier_input(&self) -> Option<EventTime> {
        self.earlier_input
    }

    /// The earliest event time a snapshot's rows depend on: its window's start, or for a trending
    /// window its baseline's start. A job that replays its input from some time can rebuild
    /// exactly the snapshots that reach no earlier.
    pub fn reaches_from(&self, snapshot: &Snapshot) -> EventTime {
        let window = snapshot.window();
        match (snapshot, self.trending) {
            (Snapshot::Trending(_), Some(trend)) => {
                window.start().saturating_sub(trend.baseline_ms(window.spec.length_ms()))
            }
            _ => window.start(),
        }
    }

    /// The trending view's settings, when the graph computes it.
    pub fn trending(&self) -> Option<&TrendConfig> {
        self.trending.as_ref()
    }

    /// With the trending view, each window length's baseline, in milliseconds; otherwise none.
    pub fn baselines(&self) -> BTreeMap<u64, u64> {
        match self.trending {
            Some(trend) => self.lengths().into_iter().map(|length| (length, trend.baseline_ms(length))).collect(),
            None => BTreeMap::new(),
        }
    }

    /// The largest tick valid for every one of these specs: the greatest common divisor of their
    /// lengths and slides.
    pub fn coarsest_tick(windows: &[WindowSpec]) -> u64 {
        windows.iter().flat_map(|spec| [spec.length_ms(), spec.slide_ms()]).fold(0, gcd)
    }

    /// The window specs, sorted and without duplicates.
    pub fn windows(&self) -> &[WindowSpec] {
        &self.windows
    }

    /// The number of rows in the hashtag and tweet rankings.
    pub fn top_k(&self) -> usize {
        self.top_k
    }

    /// The tick boundary at which a tweet of event time `time` has entered every window length's
    /// state: for each length the first one after it, and the latest of those. The rankings at
    /// that time are the first that all include it.
    pub fn enters_at(&self, time: EventTime) -> EventTime {
        self.ticks.iter().map(|&(_, tick)| enters_at(time, tick)).max().unwrap_or(time)
    }

    /// How much event time the graph's state spans: the longest window, or the longest window and
    /// its trend baseline.
    pub fn horizon_ms(&self) -> u64 {
        let reach = |length: u64| length.saturating_add(self.trending.map_or(0, |trend| trend.baseline_ms(length)));
        self.lengths().into_iter().map(reach).max().unwrap_or(0)
    }

    /// Each distinct window length, in increasing order, with the tick its state moves by.
    pub(crate) fn ticks(&self) -> &[(u64, u64)] {
        &self.ticks
    }

    /// The greatest common divisor of every length's tick: it divides each of them.
    pub(crate) fn finest_tick(&self) -> u64 {
        self.ticks.iter().map(|&(_, tick)| tick).fold(0, gcd)
    }

    /// The distinct window lengths: the graph keeps one sliding state per length.
    pub fn lengths(&self) -> Vec<u64> {
        self.ticks.iter().map(|&(length, _)| length).collect()
    }

    /// What this graph computes, apart from how often: see [`ViewSet`].
    ///
    /// ```
    /// use trendflow_dataflows::config::{GraphConfig, TrendConfig};
    /// let specs = vec!["5m/1m".parse().unwrap()];
    /// let live = GraphConfig::new(specs.clone(), 10, 1_000).unwrap();
    /// let batch = GraphConfig::coarsest(specs, 10).unwrap();
    /// // An hour's baseline is the default for a 5-minute window: the same views.
    /// let an_hour = TrendConfig::new(Some(3_600_000), TrendConfig::MIN_COUNT).unwrap();
    /// assert_eq!(
    ///     live.with_trending(an_hour).unwrap().view_set(),
    ///     batch.with_trending(TrendConfig::default()).unwrap().view_set(),
    /// );
    /// ```
    pub fn view_set(&self) -> ViewSet {
        let trending = self.trending.map(|trend| TrendingView {
            baselines_ms: self.baselines(),
            min_count: trend.min_count(),
            min_score: trend.min_score(),
        });
        ViewSet { windows: self.windows.clone(), top_k: self.top_k, trending }
    }
}

/// What a graph computes, apart from how often: its window specs, the rows of each ranking, and
/// the trending view's settings as each window length has them. Two configurations with the same
/// view set publish the same rows for every window, whatever their ticks or where their input
/// starts; a stream's stored positions belong to its view set, since positions stored for other
/// views would resume too late for these (a restart rebuilds only the windows that start after
/// the stored rebuild point, and the other views' earlier windows were never written).
///
/// Serialised, it is what the views are known by outside the graph: its fields are its
/// serialised form, so a change of them changes every stored name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSet {
    windows: Vec<WindowSpec>,
    top_k: usize,
    trending: Option<TrendingView>,
}

/// The trending view of a [`ViewSet`]: each window length's baseline rather than the setting
/// that gave it, so that one baseline given two ways (a duration, or the default multiple of each
/// length) is one view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendingView {
    baselines_ms: BTreeMap<u64, u64>,
    min_count: u64,
    min_score: f64,
}

/// Why a graph configuration is refused; each says what would be right.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The tick does not divide some spec's length and slide.
    #[error(
        "tick {tick} does not divide the length and slide of window {spec}; choose a tick that divides them all, such as {coarsest}"
    )]
    Tick {
        /// The tick, as written.
        tick: String,
        /// The first spec it does not divide.
        spec: WindowSpec,
        /// The largest tick that divides every spec, as written.
        coarsest: String,
    },
    /// No window spec at all.
    #[error("at least one window spec is needed")]
    NoWindows,
    /// A top K of zero.
    #[error("top K must be at least 1")]
    NoRows,
    /// A trend baseline that is no multiple of its length's tick.
    #[error("trend baseline {baseline} is not a multiple of the tick {tick}; choose one that is, such as {nearest}")]
    Baseline {
        /// The baseline, as written.
        baseline: String,
        /// The tick, as written.
        tick: String,
        /// The nearest multiple of the tick above the baseline, as written.
        nearest: String,
    },
    /// A trend baseline of zero.
    #[error("the trend baseline must be positive, such as 1h")]
    NoBaseline,
    /// A minimum trending count of zero.
    #[error("the trending minimum count must be at least 1: a hashtag absent from a window cannot trend in it")]
    NoMinCount,
    /// A minimum trending score that is not a finite number, as written.
    #[error("the trending minimum score must be a finite number, such as 2, not {0}")]
    MinScore(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_must_divide_every_length_and_slide() {
        let specs = vec!["5m/1m".parse().unwrap(), "1h/5m".parse().unwrap()];
        assert!(GraphConfig::new(specs.clone(), 10, 1_000).is_ok());
        let error = GraphConfig::new(specs.clone(), 10, 7_000).unwrap_err().to_string();
        assert!(error.contains("such as 1m"), "{error}");
        assert_eq!(GraphConfig::coarsest_tick(&specs), 60_000);
        assert_eq!(GraphConfig::coarsest_tick(&["150s/1m".parse().unwrap()]), 30_000);
    }

    #[test]
    fn the_coarsest_configuration_moves_each_length_by_the_slides_of_its_own_specs() {
        let specs = ["5m/1m", "1h/5m", "1h/20m", "150s/1m"].map(|spec| spec.parse().unwrap()).to_vec();
        let config = GraphConfig::coarsest(specs, 10).unwrap();
        assert_eq!(config.ticks, vec![(150_000, 30_000), (300_000, 60_000), (3_600_000, 300_000)]);
        // A tweet at 0:30 is in the 150 s state at 1:00, the 5 m state at 1:00, the hour's at 5:00.
        assert_eq!(config.enters_at(30_000), 300_000);
        assert_eq!(config.finest_tick(), 30_000);
    }

    fn standard(trending: Option<TrendConfig>) -> GraphConfig {
        let specs = vec!["5m/1m".parse().unwrap(), "1h/5m".parse().unwrap()];
        let graph = GraphConfig::new(specs, 10, 1_000).unwrap();
        match trending {
            Some(trend) => graph.with_trending(trend).unwrap(),
            None => graph,
        }
    }

    #[test]
    fn the_views_belong_to_the_trending_settings_too() {
        let default = standard(Some(TrendConfig::default())).view_set();
        let others = [
            standard(None),
            standard(Some(TrendConfig::new(Some(7_200_000), TrendConfig::MIN_COUNT).unwrap())),
            standard(Some(TrendConfig::new(None, 7).unwrap())),
            standard(Some(TrendConfig::default().with_min_score(0.5).unwrap())),
        ];
        for other in others {
            assert_ne!(other.view_set(), default, "{other:?}");
        }
    }

    #[test]
    fn the_views_are_the_same_whatever_the_ticks_and_the_input_start() {
        let specs = vec!["5m/1m".parse().unwrap(), "1h/5m".parse().unwrap()];
        let batch = GraphConfig::coarsest(specs, 10).unwrap().with_trending(TrendConfig::default()).unwrap();
        let resumed = standard(Some(TrendConfig::default())).with_earlier_input(42);
        assert_eq!(batch.view_set(), resumed.view_set());
    }

    #[test]
    fn a_view_set_reads_back_from_its_serialised_form() {
        let views = standard(Some(TrendConfig::default().with_min_score(0.5).unwrap())).view_set();
        let text = serde_json::to_string(&views).unwrap();
        assert_eq!(serde_json::from_str::<ViewSet>(&text).unwrap(), views);
    }
}
