//! What to generate: the configuration, its defaults and limits, and the arrival schedule it implies.

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// The same seed gives the same tweets.
    pub seed: u64,
    /// How many tweets.
    pub tweets: u64,
    /// Tweets per second of event time.
    pub rate_per_sec: f64,
    /// Event time of the first tweet, UTC milliseconds.
    pub start_ms: u64,
    /// Distinct hashtags to draw from.
    pub vocabulary: u32,
    /// How far behind arrival order a tweet's event time may be, in milliseconds.
    pub disorder_ms: u64,
    /// Share of tweets that are retweets.
    pub retweet_fraction: f64,
    /// Distinct authors.
    pub users: u32,
    /// Exponent of the Zipf law of hashtag popularity: higher is more skewed.
    pub zipf_exponent: f64,
}

/// 2021-08-29 23:51:27 UTC, when the seed dataset starts.
pub(super) const SEED_DATA_START_MS: u64 = 1_630_281_087_000;

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 42,
            tweets: 1_000_000,
            rate_per_sec: 100.0,
            start_ms: SEED_DATA_START_MS,
            vocabulary: 100_000,
            disorder_ms: 2_000,
            retweet_fraction: 0.2,
            users: 50_000,
            zipf_exponent: 1.1,
        }
    }
}

/// Twitter's snowflake epoch (2010-11-04T01:42:54.657Z), so generated ids look like real ones.
pub(super) const SNOWFLAKE_EPOCH_MS: u64 = 1_288_834_974_657;
/// Snowflake ids keep milliseconds since the epoch above this many bits of sequence number.
pub(super) const SEQUENCE_BITS: u32 = 22;
/// Milliseconds since the epoch fit in the remaining 42 bits: until 2149-05-15.
pub(super) const TIME_LIMIT_MS: u64 = 1 << (64 - SEQUENCE_BITS);
/// Rates are kept where ids stay unique (at most 10^6 tweets share a millisecond, below the
/// 2^22 sequence numbers) and where the time grid stays small enough to be exact.
pub(super) const MIN_RATE_PER_SEC: f64 = 0.001;
pub(super) const MAX_RATE_PER_SEC: f64 = 1e9;
pub(super) const MIN_VOCABULARY: u32 = 1_000;
pub(super) const MAX_DISORDER_MS: u64 = 24 * 60 * 60 * 1000;
/// Above this, runs of retweets get so long that too few originals are left to retweet.
pub(super) const MAX_RETWEET_FRACTION: f64 = 0.9;
/// Event time is kept in picoseconds between tweets so that the index of a given millisecond
/// can be computed exactly, which the ids' sequence numbers rely on.
pub(super) const PS_PER_MS: u128 = 1_000_000_000;

impl GeneratorConfig {
    /// Whether the configuration can be generated, or what to change.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rate_per_sec.is_finite() && (MIN_RATE_PER_SEC..=MAX_RATE_PER_SEC).contains(&self.rate_per_sec)) {
            return Err(format!(
                "rate {} is out of range: use between {MIN_RATE_PER_SEC} and {MAX_RATE_PER_SEC:e} tweets per second of event time",
                self.rate_per_sec
            ));
        }
        if self.start_ms < SNOWFLAKE_EPOCH_MS {
            return Err(format!(
                "start {} ms is before Twitter's snowflake epoch ({SNOWFLAKE_EPOCH_MS} ms, 2010-11-04), where ids begin; use a later start such as the seed data's {SEED_DATA_START_MS}",
                self.start_ms
            ));
        }
        if self.vocabulary < MIN_VOCABULARY {
            return Err(format!(
                "vocabulary {} is too small to share between 15 languages; use at least {MIN_VOCABULARY} hashtags",
                self.vocabulary
            ));
        }
        if self.disorder_ms > MAX_DISORDER_MS {
            return Err(format!(
                "disorder {} ms is more than a day; use at most {MAX_DISORDER_MS} ms",
                self.disorder_ms
            ));
        }
        if !(0.0..=MAX_RETWEET_FRACTION).contains(&self.retweet_fraction) {
            return Err(format!(
                "retweet fraction {} is out of range: use between 0 and {MAX_RETWEET_FRACTION}, so that retweets find originals",
                self.retweet_fraction
            ));
        }
        if self.users == 0 {
            return Err("users is 0: use at least 1 author".into());
        }
        if !(self.zipf_exponent.is_finite() && (0.5..=3.0).contains(&self.zipf_exponent)) {
            return Err(format!(
                "Zipf exponent {} is out of range: use between 0.5 and 3 (real hashtags are near 1.1)",
                self.zipf_exponent
            ));
        }
        if let Some(last) = self.tweets.checked_sub(1) {
            let end = self.start_ms.saturating_add(arrival_offset_ms(interval_ps(self.rate_per_sec), last));
            if end - SNOWFLAKE_EPOCH_MS >= TIME_LIMIT_MS {
                return Err(format!(
                    "{} tweets at {} tweets/s run past 2149-05-15, where snowflake ids run out of time bits; use fewer tweets or a higher rate",
                    self.tweets, self.rate_per_sec
                ));
            }
        }
        Ok(())
    }
}

/// Picoseconds of event time between consecutive tweets.
pub(super) fn interval_ps(rate_per_sec: f64) -> u64 {
    (1e12 / rate_per_sec).round() as u64
}

/// Milliseconds from the first tweet's arrival to tweet `index`'s.
pub(super) fn arrival_offset_ms(interval_ps: u64, index: u64) -> u64 {
    match index.checked_mul(interval_ps) {
        Some(ps) => ps / PS_PER_MS as u64,
        None => u64::try_from(index as u128 * interval_ps as u128 / PS_PER_MS).unwrap_or(u64::MAX),
    }
}
