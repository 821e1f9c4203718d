//! The ranking graph: from tweets timestamped by event time to windowed views.
//!
//! The graph lets the timestamp do the windowing. For each distinct window length L, a tweet at
//! time `t` enters at `a(t)`, the first *tick* boundary after `t`, and leaves again at `a(t) + L`.
//! At any tick boundary `E` the graph then holds exactly the tweets of `[E - L, E)`: the contents
//! of the window of length L ending at `E`. A window spec (L, S) takes its final views from the
//! states at the multiples of S; in between, the state is the ranking of the last L of event
//! time, which is what a live "trending now" view shows. Each tweet costs one record pair per
//! distinct length, not one per window holding it, and memory holds only the last L of tweets.
//!
//! The tick only decides how often rankings are recomputed: it divides every length and slide, so
//! the state at a window's end is the same whatever the tick. Stream and batch runs may use
//! different ticks and still agree window for window: a fine tick for fresh live rankings, a
//! coarse one for throughput, down to one per window length (the states of different lengths are
//! independent).

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection as Collection};
use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::{Operator, OutputBuilder};
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::Concat;
use timely::dataflow::StreamVec;
use timely::progress::Antichain;

use crate::publish::{publish, publish_with_baselines, Baselines};
use crate::symbol::Symbol;
use crate::top_k::{by_key, count, fold_top_k, ranked, ranked_in_orders};
use crate::views::{trend_score, HashtagCount, LanguageCount, Snapshot, TrendingHashtag, TweetScore};
use crate::window::{format_duration, gcd, WindowSpec};
use crate::{Contribution, EventTime};

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
    /// use trendflow_dataflows::graph::TrendConfig;
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
    /// use trendflow_dataflows::graph::GraphConfig;
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
    /// use trendflow_dataflows::graph::{GraphConfig, TrendConfig};
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

    /// The greatest common divisor of every length's tick: it divides each of them.
    fn finest_tick(&self) -> u64 {
        self.ticks.iter().map(|&(_, tick)| tick).fold(0, gcd)
    }

    /// The distinct window lengths: the graph keeps one sliding state per length.
    pub fn lengths(&self) -> Vec<u64> {
        self.ticks.iter().map(|&(length, _)| length).collect()
    }
}

/// Why a graph configuration is refused; each says what would be right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The tick does not divide some spec's length and slide.
    Tick {
        /// The tick, as written.
        tick: String,
        /// The first spec it does not divide.
        spec: WindowSpec,
        /// The largest tick that divides every spec, as written.
        coarsest: String,
    },
    /// No window spec at all.
    NoWindows,
    /// A top K of zero.
    NoRows,
    /// A trend baseline that is no multiple of its length's tick.
    Baseline {
        /// The baseline, as written.
        baseline: String,
        /// The tick, as written.
        tick: String,
        /// The nearest multiple of the tick above the baseline, as written.
        nearest: String,
    },
    /// A trend baseline of zero.
    NoBaseline,
    /// A minimum trending count of zero.
    NoMinCount,
    /// A minimum trending score that is not a finite number, as written.
    MinScore(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Tick { tick, spec, coarsest } => write!(
                f,
                "tick {tick} does not divide the length and slide of window {spec}; choose a tick that divides them all, such as {coarsest}"
            ),
            ConfigError::NoWindows => write!(f, "at least one window spec is needed"),
            ConfigError::NoRows => write!(f, "top K must be at least 1"),
            ConfigError::Baseline { baseline, tick, nearest } => write!(
                f,
                "trend baseline {baseline} is not a multiple of the tick {tick}; choose one that is, such as {nearest}"
            ),
            ConfigError::NoBaseline => write!(f, "the trend baseline must be positive, such as 1h"),
            ConfigError::NoMinCount => write!(
                f,
                "the trending minimum count must be at least 1: a hashtag absent from a window cannot trend in it"
            ),
            ConfigError::MinScore(score) => {
                write!(f, "the trending minimum score must be a finite number, such as 2, not {score}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// The first boundary of `tick` after `time`: where a tweet of that time enters a state.
fn enters_at(time: EventTime, tick: u64) -> EventTime {
    (time / tick + 1) * tick
}

/// The views the graph maintains, each keyed by window length: the best `top_k` hashtags and
/// tweets of the last `length` of event time, the tweet count per language over it, and when
/// configured the best `top_k` trending hashtags. Rows are unranked sets; their order is their rank.
pub struct Views<'scope> {
    /// The best `top_k` hashtags of each length's state.
    pub hashtags: Collection<'scope, EventTime, (u64, HashtagCount)>,
    /// The best `top_k` tweets of each length's state.
    pub tweets: Collection<'scope, EventTime, (u64, TweetScore)>,
    /// Every language's tweet count in each length's state.
    pub languages: Collection<'scope, EventTime, (u64, LanguageCount)>,
    /// The best `top_k` trending hashtags of each length's state against its baseline.
    pub trending: Option<Collection<'scope, EventTime, (u64, TrendingHashtag)>>,
    /// The earliest event time of each batch of tweets, a millisecond after it: publishing
    /// follows its frontier to know when the input has ended.
    batch_times: StreamVec<'scope, EventTime, EventTime>,
    /// With trending, what its publishing needs to mark partial baselines.
    baselines: Option<Baselines<'scope>>,
    windows: Vec<WindowSpec>,
}

/// How a tweet takes part in a window's tweet ranking.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
enum TweetEvent {
    /// The tweet itself was posted in the window, with this many hashtags.
    Posted { hashtags: u64 },
    /// The tweet was retweeted in the window.
    Retweeted,
}

/// How a hashtag occurrence moves through a window length's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
enum Occurrence {
    /// It enters the window `[E - L, E)` (or, with a negative multiplicity, leaves it).
    Enters,
    /// It leaves the window for the trend baseline `[E - L - B, E - L)`.
    Ages,
    /// It leaves the baseline: not made by the sliding pass, but by the ranking when it folds
    /// the occurrence's `Ages`, as its follow-up (see [`ranked_in_orders`]).
    LeavesBaseline,
}

/// A row of the hashtag state's two rankings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
enum HashtagRow {
    Count(HashtagCount),
    Trend(TrendingHashtag),
}

/// Builds the ranking graph over what tweets contribute, timestamped by the tweets' event times.
///
/// ```
/// use differential_dataflow::input::Input;
/// use trendflow_dataflows::graph::{rankings, GraphConfig};
/// use trendflow_dataflows::views::FinalViews;
/// use trendflow_dataflows::{Contribution, Tweet};
///
/// let config = GraphConfig::new(vec!["1m".parse().unwrap()], 3, 1_000).unwrap();
/// let views = std::sync::Arc::new(std::sync::Mutex::new(FinalViews::default()));
/// let sink = views.clone();
/// timely::execute_directly(move |worker| {
///     let mut input = worker.dataflow(|scope| {
///         let (input, contributions) = scope.new_collection::<Contribution, isize>();
///         let sink = sink.clone();
///         rankings(contributions, &config).publish(false, move |snapshot| sink.lock().unwrap().record(snapshot));
///         input
///     });
///     let tweet = |id, text: &str, at| Tweet {
///         id, text: text.into(), created_at: at, lang: "en".into(), user_id: None, retweet_of: None,
///     };
///     input.update_at(Contribution::of(tweet(1, "#rust is #fast", 5_000)), 5_000, 1);
///     input.update_at(Contribution::of(tweet(2, "#Rust again", 7_000)), 7_000, 1);
/// });
/// let views = views.lock().unwrap();
/// let top = &views.hashtags.values().next().unwrap()[0];
/// assert_eq!((top.hashtag.as_str(), top.count), ("rust", 2));
/// ```
pub fn rankings<'scope>(
    contributions: Collection<'scope, EventTime, Contribution>,
    config: &GraphConfig,
) -> Views<'scope> {
    let baselines: BTreeMap<u64, u64> = match config.trending {
        Some(trend) => config.lengths().into_iter().map(|length| (length, trend.baseline_ms(length))).collect(),
        None => BTreeMap::new(),
    };
    let states = sliding_states(contributions, config);
    let candidates = config.trending.map(|trend| (trend.min_count(), trend.min_score()));
    // Without trending an occurrence leaves the window; with it, it ages into the baseline.
    let ages = candidates.is_some();
    let occurrences = window_states(
        states.occurrences,
        config.ticks.clone(),
        "Windows: hashtag occurrences by length",
        move |_, diff| if ages { (Occurrence::Ages, diff) } else { (Occurrence::Enters, -diff) },
    );
    let (rows, leaving) = (baselines.clone(), baselines.clone());
    let ranked_hashtags = ranked_in_orders(
        occurrences,
        Pipeline,
        if ages { 2 } else { 1 },
        config.top_k,
        "TopK: hashtags and trending hashtags by window length",
        move |length, tally: &mut HashtagTally, occurrence, diff| {
            tally.add(occurrence, diff);
            // An occurrence that ages into the baseline leaves it a baseline later.
            if *occurrence != Occurrence::Ages {
                return None;
            }
            leaving.get(length).map(|baseline| (*baseline, Occurrence::LeavesBaseline))
        },
        move |length, order, hashtag, tally, bound| match (order, candidates) {
            (0, _) => tally.count_row(hashtag, bound),
            (_, Some(candidates)) => tally.trend_row(hashtag, *length, rows[length], candidates, bound),
            (_, None) => None,
        },
    );
    let hashtags = ranked_hashtags.clone().flat_map(|((length, _), row)| match row {
        HashtagRow::Count(row) => Some((length, row)),
        HashtagRow::Trend(_) => None,
    });
    let trending = config.trending.map(|_| {
        ranked_hashtags.flat_map(|((length, _), row)| match row {
            HashtagRow::Trend(row) => Some((length, row)),
            HashtagRow::Count(_) => None,
        })
    });

    // A few dozen languages: every one is published, so one worker per window length counts
    // them whole, without a first level that spreads a top-K of many items over the workers.
    let languages = fold_top_k(
        states.languages,
        by_key(),
        1,
        usize::MAX,
        "Count: languages by window length",
        count,
        |_, _, lang, count, _| (*count > 0).then(|| LanguageCount { language: lang.clone(), count: *count as u64 }),
    )
    .map(|((length, _order), row)| (length, row));

    // Only the trending view reaches back before its windows: only it needs the earliest tweet.
    let batch_times = states.batch_times;
    let baselines = config.trending.map(|_| Baselines {
        earliest: earliest_event(batch_times.clone()).concat(batch_times.clone()),
        earlier_input: config.earlier_input,
        lengths: baselines,
    });
    let tweets =
        window_states(states.tweets, config.ticks.clone(), "Windows: posts and retweets by length", |event, diff| {
            (event.clone(), -diff)
        });
    let tweets =
        ranked(tweets, Pipeline, config.top_k, "TopK: tweets by window length", TweetTally::add, TweetTally::score);

    Views { hashtags, tweets, languages, trending, batch_times, baselines, windows: config.windows.clone() }
}

/// The earliest event time of the whole input, sent to every worker a millisecond after that
/// time once no earlier tweet can come: whether a trending window's baseline reaches back before
/// the input starts. A millisecond after, as every record [`sliding_states`] makes: a tick's
/// trending rankings wait for this stream's frontier too.
/// It reads the earliest time of each batch of tweets, as [`sliding_states`] passes them on, and
/// each worker sends on its own earliest time once its input frontier has passed it, so the
/// operator's output is a record per worker, however long the stream.
fn earliest_event<'scope>(
    batch_times: StreamVec<'scope, EventTime, EventTime>,
) -> StreamVec<'scope, EventTime, EventTime> {
    batch_times
        .unary_frontier(Pipeline, "Earliest: first event time", |capability, _| {
            let mut held = Some(capability);
            let mut earliest: Option<EventTime> = None;
            move |(input, frontier), output| {
                input.for_each(|_, times| {
                    for time in times.drain(..) {
                        earliest = Some(earliest.map_or(time, |earliest| earliest.min(time)));
                    }
                });
                let Some(capability) = held.as_mut() else { return };
                let frontier = frontier.frontier().first().copied();
                // Each time arrives a millisecond after itself, as the tweets' records do.
                match earliest {
                    // Nothing earlier can come: pass it on, and never send again.
                    Some(time) if frontier.is_none_or(|frontier| time < frontier) => {
                        output.session(&capability.delayed(&(time + 1))).give(time);
                        held = None;
                    }
                    _ => match earliest.map(|time| time + 1).into_iter().chain(frontier).min() {
                        Some(time) => capability.downgrade(&time),
                        None => held = None,
                    },
                }
            }
        })
        .broadcast()
}

/// What a window knows of a candidate tweet: retweets received, and whether (and with how many
/// hashtags) it was posted there.
#[derive(Clone, Debug, Default, PartialEq)]
struct TweetTally {
    retweets: isize,
    posted: isize,
    hashtags: u64,
}

impl TweetTally {
    fn add(&mut self, event: &TweetEvent, diff: isize) {
        match event {
            TweetEvent::Retweeted => self.retweets += diff,
            TweetEvent::Posted { hashtags } => {
                self.posted += diff;
                self.hashtags = if self.posted > 0 { *hashtags } else { 0 };
            }
        }
    }

    fn score(_length: &u64, tweet_id: &u64, tally: &TweetTally) -> Option<TweetScore> {
        (tally.retweets > 0 || tally.posted > 0).then_some(TweetScore {
            tweet_id: *tweet_id,
            retweets: tally.retweets.max(0) as u64,
            hashtags: tally.hashtags,
        })
    }
}

/// What a window length's state knows of a hashtag: its occurrences in the window and in the
/// trend baseline before it.
#[derive(Clone, Debug, Default, PartialEq)]
struct HashtagTally {
    window: isize,
    baseline: isize,
}

impl HashtagTally {
    fn add(&mut self, occurrence: &Occurrence, diff: isize) {
        match occurrence {
            Occurrence::Enters => self.window += diff,
            Occurrence::Ages => {
                self.window -= diff;
                self.baseline += diff;
            }
            Occurrence::LeavesBaseline => self.baseline -= diff,
        }
    }

    /// The hashtag's row in the count ranking; none below `bound` (a fewer count ranks below it,
    /// whatever the name), so that the long tail's rows, and copies of their names, are not made.
    fn count_row(&self, hashtag: &Symbol, bound: Option<&HashtagRow>) -> Option<HashtagRow> {
        let count = u64::try_from(self.window).ok().filter(|count| *count > 0)?;
        if let Some(HashtagRow::Count(bound)) = bound {
            if count < bound.count {
                return None;
            }
        }
        Some(HashtagRow::Count(HashtagCount { hashtag: hashtag.clone(), count }))
    }

    /// The hashtag's row in the trending ranking, when it is a candidate (at least the minimum
    /// count and score of `(min_count, min_score)`); none below `bound` (a lower score ranks
    /// below it).
    fn trend_row(
        &self,
        hashtag: &Symbol,
        length_ms: u64,
        baseline_ms: u64,
        (min_count, min_score): (u64, f64),
        bound: Option<&HashtagRow>,
    ) -> Option<HashtagRow> {
        let count = self.window.max(0) as u64;
        if count < min_count {
            return None;
        }
        let baseline = self.baseline.max(0) as u64;
        let (expected, score) = trend_score(count, baseline, length_ms, baseline_ms);
        if score < min_score {
            return None;
        }
        if let Some(HashtagRow::Trend(bound)) = bound {
            if score < bound.score {
                return None;
            }
        }
        Some(HashtagRow::Trend(TrendingHashtag { hashtag: hashtag.clone(), count, baseline, expected, score }))
    }
}

/// What the sliding pass makes of a batch of tweets: the entries of the hashtag and tweet states
/// (each at its tweet's first boundary of the finest tick), the records of the language state for
/// each window length, and with trending the batch's earliest time.
struct SlidingStates<'scope> {
    /// Each hashtag occurrence, entering.
    occurrences: Collection<'scope, EventTime, (Symbol, Occurrence)>,
    languages: Collection<'scope, EventTime, (u64, (Symbol, ()))>,
    /// Each post and retweet, of the tweet it ranks.
    tweets: Collection<'scope, EventTime, (u64, TweetEvent)>,
    /// With trending, the earliest event time of each batch of tweets, a millisecond after it: what
    /// [`earliest_event`] needs, without a copy of every contribution. Trending or not, its
    /// frontier follows the input's, and is empty once the input has ended.
    batch_times: StreamVec<'scope, EventTime, EventTime>,
}

/// Turns each contribution, in one pass, into what the three sliding states need: its hashtag
/// occurrences and its post or retweet once, as entries at the tweet's first boundary of the
/// finest tick (the greatest common divisor of every length's tick), which [`window_states`]
/// makes into each length's records once they are exchanged; and its language's records for
/// each length, entering the state at the first tick after the tweet and leaving it `length`
/// later. Languages are ranked whole per length, one worker each, so there is nothing to gain by
/// exchanging them first.
///
/// One operator reads each tweet once: three would each receive a deep copy of every
/// contribution. The records of each batch of tweets are consolidated before they go on: tweets
/// of one tick enter (and leave) at the same time, so a batch holds a language or a popular
/// hashtag many times over, and one record with the summed multiplicity is far cheaper to
/// exchange and rank.
///
/// Its outputs tell timely that every record comes at least a millisecond after the tweets it
/// is made of (each enters at a boundary after its tweet; a batch's earliest time is sent a
/// millisecond after itself). Downstream, a tick is then complete once the input frontier has
/// passed the tick's tweets, not only once it has passed the tick's end: without the promise,
/// the tweets of a batch's last millisecond but one would wait for the next batch of input.
fn sliding_states<'scope>(
    contributions: Collection<'scope, EventTime, Contribution>,
    config: &GraphConfig,
) -> SlidingStates<'scope> {
    let ticks = config.ticks.clone();
    let finest = config.finest_tick();
    let mut builder = OperatorBuilder::new(
        "Sliding: hashtag occurrences, tweets by language, posts and retweets".to_string(),
        contributions.inner.scope(),
    );
    let mut input = builder.new_input(contributions.inner, Pipeline);
    let (mut occurrences_output, occurrences) = vec_output(&mut builder);
    let (mut languages_output, languages) = vec_output(&mut builder);
    let (mut tweets_output, tweets) = vec_output(&mut builder);
    let (mut batch_times_output, batch_times) = vec_output(&mut builder);
    let trending = config.trending.is_some();
    builder.build(move |_| {
        let mut occurrence_entries = Consolidated::default();
        let mut language_records = Consolidated::default();
        let mut tweet_entries = Consolidated::default();
        move |_frontiers| {
            let (mut occurrences, mut languages, mut tweets) =
                (occurrences_output.activate(), languages_output.activate(), tweets_output.activate());
            let mut batch_times = batch_times_output.activate();
            input.for_each(|capability, contributions| {
                let Some(earliest) = contributions.iter().map(|(_, time, _)| *time).min() else { return };
                // Every record, the batch's earliest time too, comes after its tweet, as the
                // outputs' connections promise.
                let after = earliest + 1;
                if trending {
                    let at = capability.delayed(&after, batch_times.output_index());
                    batch_times.session(&at).give(earliest);
                }
                for (tweet, time, diff) in contributions.drain(..) {
                    let entry = enters_at(time, finest);
                    for hashtag in &tweet.hashtags {
                        occurrence_entries.add((hashtag.clone(), Occurrence::Enters), entry, diff);
                    }
                    let event = match tweet.retweet_of {
                        Some(original) => (original, TweetEvent::Retweeted),
                        None => (tweet.id, TweetEvent::Posted { hashtags: tweet.hashtags.len() as u64 }),
                    };
                    tweet_entries.add(event, entry, diff);
                    for &(length, tick) in &ticks {
                        let enter = enters_at(time, tick);
                        let lang = (length, (tweet.lang.clone(), ()));
                        language_records.add(lang.clone(), enter, diff);
                        language_records.add(lang, enter + length, -diff);
                    }
                }
                let at = capability.delayed(&after, occurrences.output_index());
                occurrences.session(&at).give_iterator(occurrence_entries.drain());
                let at = capability.delayed(&after, languages.output_index());
                languages.session(&at).give_iterator(language_records.drain());
                let at = capability.delayed(&after, tweets.output_index());
                tweets.session(&at).give_iterator(tweet_entries.drain());
            });
        }
    });
    SlidingStates {
        occurrences: occurrences.as_collection(),
        languages: languages.as_collection(),
        tweets: tweets.as_collection(),
        batch_times,
    }
}

/// Exchanges each entry by its item, then makes it the records of every window length's state:
/// the event enters at the first tick after the entry's tweet and `leaves(event, diff)` happens
/// `length` later. An item's records all go to the worker that ranks the item's share (see
/// [`by_item`](crate::top_k::by_item)), so one exchanged entry takes the place of two records
/// per length.
///
/// An entry stands at its tweet's first boundary `e` of the finest tick, which divides every
/// length's tick: the tweet and `e - 1` lie in the same finest tick, so in the same tick of every
/// length, and enter each state at the same boundary.
fn window_states<'scope, I, E>(
    entries: Collection<'scope, EventTime, (I, E)>,
    ticks: Vec<(u64, u64)>,
    name: &str,
    leaves: impl Fn(&E, isize) -> (E, isize) + 'static,
) -> Collection<'scope, EventTime, (u64, (I, E))>
where
    I: ExchangeData + Hash,
    E: ExchangeData,
{
    let by_item = Exchange::new(|((item, _), _, _): &((I, E), EventTime, isize)| item.hashed());
    entries
        .inner
        .unary(by_item, name, move |_, _| {
            move |input, output| {
                input.for_each(|capability, entries| {
                    let mut session = output.session(&capability);
                    for ((item, event), entry, diff) in entries.drain(..) {
                        // The same leaving event for every length: made once, cloned per length.
                        let (left, left_diff) = leaves(&event, diff);
                        for &(length, tick) in &ticks {
                            let enter = enters_at(entry - 1, tick);
                            session.give(((length, (item.clone(), event.clone())), enter, diff));
                            session.give(((length, (item.clone(), left.clone())), enter + length, left_diff));
                        }
                    }
                });
            }
        })
        .as_collection()
}

/// An output of an operator that gathers its records in vectors.
type VecOutput<D> = OutputBuilder<EventTime, CapacityContainerBuilder<Vec<D>>>;

/// A new output of `builder`, an operator of one input, whose records come at least a
/// millisecond after the input records they are made of, gathered in vectors; and its stream.
fn vec_output<'scope, D: Clone + 'static>(
    builder: &mut OperatorBuilder<'scope, EventTime>,
) -> (VecOutput<D>, StreamVec<'scope, EventTime, D>) {
    let (output, stream) = builder.new_output_connection([(0, Antichain::from_elem(1))]);
    (OutputBuilder::from(output), stream)
}

/// One sliding state's records of a batch of tweets, their multiplicities summed by record and
/// time.
struct Consolidated<D>(FxHashMap<(D, EventTime), isize>);

impl<D> Default for Consolidated<D> {
    fn default() -> Self {
        Consolidated(FxHashMap::default())
    }
}

impl<D: Hash + Eq> Consolidated<D> {
    fn add(&mut self, record: D, time: EventTime, diff: isize) {
        *self.0.entry((record, time)).or_default() += diff;
    }

    /// Empties the batch: its records as updates, those whose changes cancelled out left out.
    fn drain(&mut self) -> impl Iterator<Item = (D, EventTime, isize)> + '_ {
        self.0.drain().filter(|(_, diff)| *diff != 0).map(|((record, time), diff)| (record, time, diff))
    }
}

impl<'scope> Views<'scope> {
    /// Publishes the views' rankings through `emit`: each window's final rankings once its end has
    /// passed, and with `changes` also the live rankings as they change. The returned stream
    /// carries no data; a probe on it tells when every ranking before a time has been emitted.
    pub fn publish(
        self,
        changes: bool,
        emit: impl FnMut(Snapshot) + Clone + 'static,
    ) -> StreamVec<'scope, EventTime, ()> {
        let input = &self.batch_times;
        let mut on_hashtags = emit.clone();
        let hashtags = publish(self.hashtags, &self.windows, "Publish: hashtags", changes, input, move |r| {
            on_hashtags(Snapshot::Hashtags(r))
        });
        let mut on_tweets = emit.clone();
        let tweets = publish(self.tweets, &self.windows, "Publish: tweets", changes, input, move |r| {
            on_tweets(Snapshot::Tweets(r))
        });
        let mut on_languages = emit.clone();
        let languages = publish(self.languages, &self.windows, "Publish: languages", changes, input, move |r| {
            on_languages(Snapshot::Languages(r))
        });
        let published = hashtags.concat(tweets).concat(languages);
        match self.trending.zip(self.baselines) {
            Some((trending, baselines)) => {
                let mut on_trending = emit;
                let trending = publish_with_baselines(
                    trending,
                    &self.windows,
                    "Publish: trending",
                    changes,
                    baselines,
                    move |r| on_trending(Snapshot::Trending(r)),
                );
                published.concat(trending)
            }
            None => published,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tweet;

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

    /// A window's final ranking needs every tweet before its end, not a tweet after it: the
    /// records of its last millisecond enter at its end, which the graph must know, on the
    /// trending view's path to the input's earliest time too.
    #[test]
    fn a_window_is_published_once_the_input_has_passed_its_last_millisecond() {
        use std::sync::{Arc, Mutex};

        use differential_dataflow::input::Input;
        use timely::dataflow::operators::Probe;

        let config =
            GraphConfig::new(vec!["1s".parse().unwrap()], 3, 1).unwrap().with_trending(TrendConfig::default()).unwrap();
        let published = Arc::new(Mutex::new(Vec::new()));
        let sink = published.clone();
        timely::execute_directly(move |worker| {
            let (mut input, probe) = worker.dataflow(|scope| {
                let (input, contributions) = scope.new_collection::<Contribution, isize>();
                let published = rankings(contributions, &config).publish(false, move |snapshot| {
                    if let Snapshot::Hashtags(ranking) = snapshot {
                        sink.lock().unwrap().push((ranking.window.end, ranking.rows));
                    }
                });
                (input, published.probe().0)
            });
            let tweet = Tweet {
                id: 1,
                text: "#rust".into(),
                created_at: 999,
                lang: "en".into(),
                user_id: None,
                retweet_of: None,
            };
            input.update_at(Contribution::of(tweet), 999, 1);
            input.advance_to(1_000);
            input.flush();
            // Steps, not time: the graph has a few dozen operators to pass the frontier through.
            for _ in 0..1_000 {
                if !probe.less_than(&1_001) {
                    break;
                }
                worker.step();
            }
            assert!(!probe.less_than(&1_001), "the window ending at 1000 is still open");
        });
        let published = published.lock().unwrap();
        let (end, rows) = published.first().expect("the window ending at 1000 was published");
        assert_eq!((*end, rows.len(), rows[0].hashtag.as_str(), rows[0].count), (1_000, 1, "rust", 1));
    }

    proptest::proptest! {
        /// An entry at its tweet's first boundary of the finest tick enters every length's state
        /// where the tweet itself would: what lets `window_states` make the records after the
        /// exchange.
        #[test]
        fn an_entry_enters_every_state_at_its_tweets_own_boundary(
            time in 0u64..10_000_000,
            finest in 1u64..5_000,
            multiples in proptest::collection::vec(1u64..20, 1..4),
        ) {
            let entry = enters_at(time, finest);
            for tick in multiples.into_iter().map(|multiple| multiple * finest) {
                proptest::prop_assert_eq!(enters_at(entry - 1, tick), enters_at(time, tick));
            }
        }
    }
}
