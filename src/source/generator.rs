//! Realistic synthetic tweets, deterministic from a seed, for the demo, tests and benchmarks.
//!
//! Every tweet is a pure function of the configuration and its index: nothing is remembered
//! between tweets, so timely workers generate their shares independently
//! ([`Generator::share`]) and any run with the same seed sees the same tweets, in any order and on
//! any number of workers. What makes the stream realistic:
//!
//! * **Languages** follow a Twitter-like mix over 16 codes (en 45%, ja 15%, es 10%, pt 5%, und 5%,
//!   ar 4%, ko 3%, in 2.5%, th 2%, fr 2%, tr 1.5%, ru 1.5%, tl 1%, zh 1%, de 1%, fa 0.5%), with
//!   text in each language's own script and word order (no spaces between Japanese, Chinese and
//!   Thai words).
//! * **Hashtags**: 0–4 per tweet (none 40%, one 30%, two 15%, three 9%, four 6%, before trends
//!   add theirs), none repeated within a tweet. The vocabulary
//!   is split between the languages by their shares and each language's tags are Zipf-distributed
//!   (exponent 1.1 by default); a mixture of Zipf laws with one exponent is again a Zipf law, so
//!   the global ranking is Zipf too. A tweet's tags come from its own language 80% of the time
//!   and from the global mix otherwise. Tags are spelled in their language's script — Latin with
//!   accents, Japanese kana and kanji, Chinese, Hangul, Arabic, Persian with its zero-width
//!   non-joiner, Thai with combining vowel and tone marks, Cyrillic — some with a number or a
//!   `_tv`-like suffix, and are written lowercase, CamelCase or in capitals (`#GoPats`), so that
//!   extraction has to lowercase them.
//! * **Trends**: every 10-minute slot of event time has a 65% chance that a tag from the long tail
//!   bursts for 5–20 minutes, rising fast and fading slowly, into up to 30–60% of the tweets of
//!   its language (30% of that elsewhere), so the top 10 changes over time.
//! * **Retweets** (20% by default), written `RT @author: <original text>` as Twitter does, always
//!   of an earlier original, with its language: a quarter of them retweet the viral tweet of one
//!   of the last three slots (each slot has one, posted when its trend starts, in the trend's
//!   language and carrying its tag), the rest a tweet from 1 s to 6 h back, spread log-uniformly.
//! * **Authors** are drawn log-uniformly from the user population, so a few accounts tweet a lot.
//! * **Arrival order** is index order at a steady event-time rate; event times trail it by up to
//!   `disorder_ms`, uniformly (a retweet's never precedes its original's).
//! * **Ids** are snowflakes like Twitter's: milliseconds since 2010-11-04 above a 22-bit sequence
//!   number, unique and increasing with the index.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use trendflow_dataflows::Tweet;

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
const SEED_DATA_START_MS: u64 = 1_630_281_087_000;

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
const SNOWFLAKE_EPOCH_MS: u64 = 1_288_834_974_657;
/// Snowflake ids keep milliseconds since the epoch above this many bits of sequence number.
const SEQUENCE_BITS: u32 = 22;
/// Milliseconds since the epoch fit in the remaining 42 bits: until 2149-05-15.
const TIME_LIMIT_MS: u64 = 1 << (64 - SEQUENCE_BITS);
/// Rates are kept where ids stay unique (at most 10^6 tweets share a millisecond, below the
/// 2^22 sequence numbers) and where the time grid stays small enough to be exact.
const MIN_RATE_PER_SEC: f64 = 0.001;
const MAX_RATE_PER_SEC: f64 = 1e9;
const MIN_VOCABULARY: u32 = 1_000;
const MAX_DISORDER_MS: u64 = 24 * 60 * 60 * 1000;
/// Above this, runs of retweets get so long that too few originals are left to retweet.
const MAX_RETWEET_FRACTION: f64 = 0.9;
/// Event time is kept in picoseconds between tweets so that the index of a given millisecond
/// can be computed exactly, which the ids' sequence numbers rely on.
const PS_PER_MS: u128 = 1_000_000_000;

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
fn interval_ps(rate_per_sec: f64) -> u64 {
    (1e12 / rate_per_sec).round() as u64
}

/// Milliseconds from the first tweet's arrival to tweet `index`'s.
fn arrival_offset_ms(interval_ps: u64, index: u64) -> u64 {
    match index.checked_mul(interval_ps) {
        Some(ps) => ps / PS_PER_MS as u64,
        None => u64::try_from(index as u128 * interval_ps as u128 / PS_PER_MS).unwrap_or(u64::MAX),
    }
}

/// The independent random streams drawn per index. Cheap facts that other tweets need to know
/// (is it a retweet? when was it posted?) get a stream of their own, so looking them up does
/// not mean generating the whole tweet.
#[derive(Clone, Copy)]
enum Stream {
    Delay,
    Author,
    Retweet,
    Target,
    Body,
    Slot,
    Decoration,
}
const STREAMS: usize = 7;

/// A generator of tweets under one validated configuration.
///
/// ```
/// use trendflow::source::generator::{Generator, GeneratorConfig};
/// use trendflow_dataflows::hashtags::extract_hashtags;
///
/// let generator = Generator::new(GeneratorConfig { tweets: 1_000, ..GeneratorConfig::default() })?;
/// let tweet = generator.tweet(7);
/// assert_eq!(tweet, generator.tweet(7));
/// assert!(generator.tweet(8).id > tweet.id);
/// assert_eq!(extract_hashtags(&tweet.text), generator.hashtags_of(7));
/// // Two workers' shares together are the whole stream.
/// assert_eq!(generator.share(0, 2).count() + generator.share(1, 2).count(), 1_000);
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Debug)]
pub struct Generator {
    config: GeneratorConfig,
    interval_ps: u64,
    keys: [u64; STREAMS],
    /// `ln(users + 1)`, the range of log-uniform authors.
    users_ln: f64,
    /// Each language's share of the hashtag vocabulary, by index into [`LANGUAGES`].
    vocabularies: Vec<Vocabulary>,
}

/// One language's hashtags: global tag indices `offset..offset + size`, popular by `ranks`.
#[derive(Clone, Debug)]
struct Vocabulary {
    offset: u64,
    size: u64,
    ranks: Option<Zipf<f64>>,
}

/// A hashtag: a language and the tag's popularity rank within it (0 is the most used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TagRef {
    language: u8,
    rank: u64,
}

const MAX_TAGS: usize = 4;

/// An original tweet's hashtags, in the order they appear: at most four, none twice.
#[derive(Clone, Copy)]
struct Tags {
    tags: [TagRef; MAX_TAGS],
    len: usize,
}

impl Tags {
    fn as_slice(&self) -> &[TagRef] {
        &self.tags[..self.len]
    }

    /// Adds a tag unless the tweet has it already or is full.
    fn add(&mut self, tag: TagRef) {
        if self.len < MAX_TAGS && !self.as_slice().contains(&tag) {
            self.tags[self.len] = tag;
            self.len += 1;
        }
    }

    /// Adds a trending tag, in place of the last one if the tweet is full.
    fn add_trend(&mut self, tag: TagRef) {
        if !self.as_slice().contains(&tag) {
            self.len = self.len.min(MAX_TAGS - 1);
            self.add(tag);
        }
    }
}

/// What an original tweet says, decided before its text is written; `rng` then writes the text.
struct Plan {
    language: usize,
    tags: Tags,
    rng: Xoshiro256PlusPlus,
}

/// Event time is cut into slots; each may hold one trend and has one viral tweet.
const SLOT_MS: u64 = 10 * 60 * 1000;
const BURST_CHANCE_PERCENT: u64 = 65;
const BURST_MIN_MS: u64 = 5 * 60 * 1000;
const BURST_MAX_MS: u64 = 20 * 60 * 1000;
/// A trend reaches tweets in other languages at this fraction of its own language's share.
const CROSS_LANGUAGE_TREND_SHARE: f64 = 0.3;
/// How many slots back a trend can still be running: it starts within its slot and lasts at most
/// `BURST_MAX_MS`.
const BURST_REACH_SLOTS: u64 = BURST_MAX_MS.div_ceil(SLOT_MS);

/// What happens in a slot: its viral tweet is posted at `start` (milliseconds from the first
/// tweet), and `draw` decides whether a trend starts then and which.
#[derive(Clone, Copy, Debug)]
struct SlotEvent {
    start: u64,
    draw: u64,
}

impl SlotEvent {
    fn has_burst(&self) -> bool {
        self.draw % 100 < BURST_CHANCE_PERCENT
    }
}

/// A trending hashtag: from `start` for `duration` (milliseconds from the first tweet), in up to
/// `peak` of its language's tweets.
#[derive(Clone, Copy, Debug)]
struct Burst {
    start: u64,
    duration: u64,
    tag: TagRef,
    peak: f64,
}

impl Burst {
    /// The share of its language's tweets that carry the tag at `offset`: a quick rise over the
    /// first fifth, then a slow fade to 40% of the peak.
    fn share_at(&self, offset: u64) -> f64 {
        if offset < self.start || offset >= self.start + self.duration {
            return 0.0;
        }
        let progress = (offset - self.start) as f64 / self.duration as f64;
        if progress < 0.2 {
            self.peak * progress / 0.2
        } else {
            self.peak * (1.0 - 0.6 * (progress - 0.2) / 0.8)
        }
    }
}

impl Generator {
    /// A generator for `config`, or what to change in it.
    pub fn new(config: GeneratorConfig) -> Result<Self, String> {
        config.validate()?;
        let base = mix(config.seed);
        let mut keys = [0; STREAMS];
        for (stream, key) in keys.iter_mut().enumerate() {
            *key = mix(base ^ mix(stream as u64 + 1));
        }
        let total = config.vocabulary as u64;
        let mut sizes: Vec<u64> =
            LANGUAGES.iter().map(|language| total * tag_weight(language) as u64 / TAG_WEIGHT_TOTAL as u64).collect();
        // Rounding leftovers go to English, the largest language.
        sizes[0] += total - sizes.iter().sum::<u64>();
        let mut offset = 0;
        let mut vocabularies = Vec::with_capacity(LANGUAGES.len());
        for size in sizes {
            let ranks = if size > 0 {
                Some(Zipf::new(size as f64, config.zipf_exponent).map_err(|e| format!("hashtag distribution: {e}"))?)
            } else {
                None
            };
            vocabularies.push(Vocabulary { offset, size, ranks });
            offset += size;
        }
        Ok(Generator {
            interval_ps: interval_ps(config.rate_per_sec),
            users_ln: (config.users as f64 + 1.0).ln(),
            config,
            keys,
            vocabularies,
        })
    }

    /// The configuration generated from.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// The most any tweet's event time trails arrival order: the watermark slack that makes no
    /// generated tweet late.
    pub fn max_disorder_ms(&self) -> u64 {
        self.config.disorder_ms
    }

    /// The tweets of one worker out of `peers`: indices `worker`, `worker + peers`, ... in order.
    pub fn share(&self, worker: usize, peers: usize) -> impl Iterator<Item = Tweet> + '_ {
        (worker as u64..self.config.tweets).step_by(peers.max(1)).map(|index| self.tweet(index))
    }

    /// The tweet with this index, which depends on nothing but the configuration and the index.
    pub fn tweet(&self, index: u64) -> Tweet {
        let id = self.id(index);
        let user_id = Some(self.author(index));
        let mut created_at = self.created_at(index);
        let mut text = String::with_capacity(192);
        match self.retweet_source(index) {
            Some(original) => {
                text.push_str("RT @");
                push_handle(&mut text, self.author(original));
                text.push_str(": ");
                let plan = self.plan(original);
                let lang = LANGUAGES[plan.language].code.to_string();
                self.write_text(plan, &mut text);
                // Nobody retweets a tweet before it is posted.
                created_at = created_at.max(self.created_at(original));
                Tweet { id, text, created_at, lang, user_id, retweet_of: Some(self.id(original)) }
            }
            None => {
                let plan = self.plan(index);
                let lang = LANGUAGES[plan.language].code.to_string();
                self.write_text(plan, &mut text);
                Tweet { id, text, created_at, lang, user_id, retweet_of: None }
            }
        }
    }

    /// The hashtags of tweet `index`, lowercased and in order, as extraction should find them in
    /// its text (a retweet's are its original's).
    pub fn hashtags_of(&self, index: u64) -> Vec<String> {
        let source = self.retweet_source(index).unwrap_or(index);
        let plan = self.plan(source);
        plan.tags
            .as_slice()
            .iter()
            .map(|&tag| {
                let mut name = String::new();
                self.write_tag_name(tag, Style::Lower, &mut name);
                name
            })
            .collect()
    }

    /// Hashtag `tag` of the vocabulary (`0..vocabulary`), lowercased, or `None` past its end.
    /// Distinct indices give distinct hashtags.
    pub fn hashtag(&self, tag: u64) -> Option<String> {
        let language = self.vocabularies.iter().position(|v| (v.offset..v.offset + v.size).contains(&tag))?;
        let mut name = String::new();
        let tag = TagRef { language: language as u8, rank: tag - self.vocabularies[language].offset };
        self.write_tag_name(tag, Style::Lower, &mut name);
        Some(name)
    }

    /// A uniform draw of `stream` for `x`: SplitMix64 of the stream's seeded key and `x`.
    fn hash(&self, stream: Stream, x: u64) -> u64 {
        mix(self.keys[stream as usize] ^ x)
    }

    fn arrival_offset_ms(&self, index: u64) -> u64 {
        arrival_offset_ms(self.interval_ps, index)
    }

    /// The first index arriving at or after `offset` milliseconds from the start.
    fn first_index_at(&self, offset: u64) -> u64 {
        match offset.checked_mul(PS_PER_MS as u64) {
            Some(ps) => ps.div_ceil(self.interval_ps),
            None => {
                let index = (offset as u128 * PS_PER_MS).div_ceil(self.interval_ps as u128);
                u64::try_from(index).unwrap_or(u64::MAX)
            }
        }
    }

    /// A snowflake id: milliseconds since Twitter's epoch above the tweet's sequence number within
    /// its millisecond, so ids grow with the index and never collide while the time fits in 42
    /// bits (validation checks the configured tweets do).
    fn id(&self, index: u64) -> u64 {
        let offset = self.arrival_offset_ms(index);
        let millis = self.config.start_ms.saturating_add(offset) - SNOWFLAKE_EPOCH_MS;
        let sequence = index - self.first_index_at(offset);
        (millis << SEQUENCE_BITS) | sequence
    }

    /// Arrival time less a uniform delay of at most `disorder_ms`.
    fn created_at(&self, index: u64) -> u64 {
        let arrival = self.config.start_ms.saturating_add(self.arrival_offset_ms(index));
        let delay = self.hash(Stream::Delay, index) % (self.config.disorder_ms + 1);
        arrival.saturating_sub(delay)
    }

    fn author(&self, index: u64) -> u64 {
        log_uniform_user(self.hash(Stream::Author, index), self.config.users, self.users_ln)
    }

    /// Whether tweet `index` is a retweet. Viral tweets never are, so retweets can point at them.
    fn is_retweet(&self, index: u64) -> bool {
        index > 0
            && unit(self.hash(Stream::Retweet, index)) < self.config.retweet_fraction
            && self.viral_events(index).next().is_none()
    }

    /// Which earlier tweet `index` retweets, if it is a retweet: always an original, so that a
    /// retweet's text is its original's and nothing recurses.
    fn retweet_source(&self, index: u64) -> Option<u64> {
        if !self.is_retweet(index) {
            return None;
        }
        let draw = self.hash(Stream::Target, index);
        let viral = if unit(draw) < 0.25 { self.recent_viral(index, mix(draw)) } else { None };
        let mut candidate = viral.unwrap_or_else(|| {
            // From 1 s to 6 h back, log-uniformly: most retweets come soon, some much later.
            let draw = mix(draw ^ 1);
            let seconds = (unit(draw) * (6.0f64 * 3600.0).ln()).exp();
            let distance = ((seconds * self.config.rate_per_sec) as u64).max(1);
            if distance <= index {
                index - distance
            } else {
                mix(draw) % index
            }
        });
        // Step back to the nearest original; tweet 0 always is one. A run of 64 retweets is
        // rare enough (0.2^64 by default) to leave this tweet an original instead.
        for _ in 0..64 {
            if !self.is_retweet(candidate) {
                return Some(candidate);
            }
            candidate = candidate.checked_sub(1)?;
        }
        None
    }

    /// The viral tweet of this slot or one of the two before, if one was posted before `index`:
    /// the latest 60% of the time, an earlier one otherwise.
    fn recent_viral(&self, index: u64, draw: u64) -> Option<u64> {
        let slot = self.arrival_offset_ms(index) / SLOT_MS;
        let mut chosen = None;
        for (nth, past) in (slot.saturating_sub(2)..=slot).rev().enumerate() {
            let viral = self.first_index_at(self.slot_event(past).start);
            if viral < index {
                chosen = Some(viral);
                if (draw >> (8 * nth)) % 10 < 6 {
                    break;
                }
            }
        }
        chosen
    }

    /// A slot's event: when its viral tweet is posted and a trend, if any, starts.
    fn slot_event(&self, slot: u64) -> SlotEvent {
        let draw = self.hash(Stream::Slot, slot);
        SlotEvent { start: slot * SLOT_MS + draw % SLOT_MS, draw: mix(draw) }
    }

    /// The trend a slot's event starts, if it starts one: a tag from the long tail of one
    /// language (below its top 200, or its top tenth when the language is small).
    fn burst(&self, event: SlotEvent) -> Option<Burst> {
        if !event.has_burst() {
            return None;
        }
        let draw = event.draw;
        let duration = BURST_MIN_MS + mix(draw ^ 1) % (BURST_MAX_MS - BURST_MIN_MS + 1);
        let language = pick_tag_language(mix(draw ^ 2) % TAG_WEIGHT_TOTAL as u64);
        let size = self.vocabularies[language].size;
        let low = 200.min(size / 10);
        let high = 20_000.min(size);
        let rank = low + mix(draw ^ 3) % (high - low).max(1);
        let peak = 0.3 + 0.3 * unit(mix(draw ^ 4));
        Some(Burst { start: event.start, duration, tag: TagRef { language: language as u8, rank }, peak })
    }

    /// The slot events whose viral tweet is `index`: those falling in
    /// (arrival of `index - 1`, arrival of `index`]. Usually none, never more than a few.
    fn viral_events(&self, index: u64) -> impl Iterator<Item = SlotEvent> + '_ {
        let high = self.arrival_offset_ms(index);
        let low = match index.checked_sub(1) {
            Some(previous) => self.arrival_offset_ms(previous) + 1,
            None => 0,
        };
        let slots = if low <= high { low / SLOT_MS..high / SLOT_MS + 1 } else { 0..0 };
        slots.map(|slot| self.slot_event(slot)).filter(move |event| (low..=high).contains(&event.start))
    }

    /// Decides original tweet `index`'s language and hashtags; the returned generator writes the
    /// rest.
    fn plan(&self, index: u64) -> Plan {
        // A named algorithm rather than `SmallRng`, whose algorithm rand may change between
        // releases: the same seed must give the same tweets in every build.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.hash(Stream::Body, index));
        let viral_burst = self.viral_events(index).find_map(|event| self.burst(event));
        let language = match viral_burst {
            Some(burst) => burst.tag.language as usize,
            None => pick_language(below(&mut rng, LANGUAGE_WEIGHT_TOTAL as u64)),
        };
        let mut tags = Tags { tags: [TagRef { language: 0, rank: 0 }; MAX_TAGS], len: 0 };
        let count = match below(&mut rng, 100) {
            0..40 => 0,
            40..70 => 1,
            70..85 => 2,
            85..94 => 3,
            _ => 4,
        };
        for _ in 0..count {
            let own = !LANGUAGES[language].tag_words.is_empty();
            let tag_language = if own && below(&mut rng, 100) < 80 {
                language
            } else {
                pick_tag_language(below(&mut rng, TAG_WEIGHT_TOTAL as u64))
            };
            let vocabulary = &self.vocabularies[tag_language];
            let rank = match &vocabulary.ranks {
                Some(ranks) => (ranks.sample(&mut rng) as u64).saturating_sub(1).min(vocabulary.size - 1),
                None => continue,
            };
            tags.add(TagRef { language: tag_language as u8, rank });
        }
        let offset = self.arrival_offset_ms(index);
        let slot = offset / SLOT_MS;
        for past in slot.saturating_sub(BURST_REACH_SLOTS)..=slot {
            // Most slots are ruled out before the trend is worked out.
            let event = self.slot_event(past);
            if !(event.has_burst() && (event.start..event.start + BURST_MAX_MS).contains(&offset)) {
                continue;
            }
            if let Some(burst) = self.burst(event) {
                let mut share = burst.share_at(offset);
                if burst.tag.language as usize != language {
                    share *= CROSS_LANGUAGE_TREND_SHARE;
                }
                if unit(rng.next_u64()) < share {
                    tags.add_trend(burst.tag);
                }
            }
        }
        if let Some(burst) = viral_burst {
            tags.add_trend(burst.tag);
        }
        Plan { language, tags, rng }
    }

    /// Writes a planned original's text: perhaps a mention, a few words with some hashtags among
    /// them, perhaps an end mark or emoji, the other hashtags, perhaps a link. Every hashtag has a
    /// space before it, so its `#` never follows a word character.
    fn write_text(&self, plan: Plan, text: &mut String) {
        let Plan { language, tags, mut rng } = plan;
        let language = &LANGUAGES[language];
        let mut tags = tags.as_slice().iter();
        let mut space_next = false;
        if below(&mut rng, 100) < 12 {
            text.push('@');
            push_handle(text, log_uniform_user(rng.next_u64(), self.config.users, self.users_ln));
            space_next = true;
        }
        let words = 3 + below(&mut rng, 10);
        for word in 0..words {
            if space_next || (word > 0 && language.spaced) {
                text.push(' ');
            }
            space_next = false;
            text.push_str(language.text_words[below(&mut rng, language.text_words.len() as u64) as usize]);
            if !tags.as_slice().is_empty() && below(&mut rng, 100) < 12 {
                if let Some(&tag) = tags.next() {
                    text.push(' ');
                    self.write_tag(tag, language, &mut rng, text);
                    space_next = true;
                }
            }
        }
        // No end mark right after a hashtag: `#tag555` would be another tag.
        if below(&mut rng, 100) < 40 && !space_next {
            text.push_str(language.marks[below(&mut rng, language.marks.len() as u64) as usize]);
        }
        if below(&mut rng, 100) < 15 {
            text.push(' ');
            text.push_str(EMOJI[below(&mut rng, EMOJI.len() as u64) as usize]);
        }
        for &tag in tags {
            text.push(' ');
            self.write_tag(tag, language, &mut rng, text);
        }
        if below(&mut rng, 100) < 25 {
            text.push_str(" https://t.co/");
            let mut draw = rng.next_u64();
            for _ in 0..10 {
                text.push(BASE62[(draw % 62) as usize] as char);
                draw /= 62;
            }
        }
    }

    /// Writes one hashtag occurrence: the sign (fullwidth now and then in Japanese), the tag in a
    /// style of its writer's choosing, and sometimes punctuation right after it.
    fn write_tag(&self, tag: TagRef, language: &Language, rng: &mut Xoshiro256PlusPlus, text: &mut String) {
        let draw = below(rng, 100);
        text.push(if language.code == "ja" && draw < 10 { '＃' } else { '#' });
        let style = match below(rng, 100) {
            0..55 => Style::Lower,
            55..90 => Style::Camel,
            _ => Style::Upper,
        };
        self.write_tag_name(tag, style, text);
        if below(rng, 100) < 5 {
            text.push_str(TAG_ENDINGS[below(rng, TAG_ENDINGS.len() as u64) as usize]);
        }
    }

    /// Spells a hashtag: its rank's digits in base "number of tag words" of its language, least
    /// significant first, so the top ranks are single words and distinct ranks distinct words.
    /// Tag words are prefix-free across all languages, hence every spelling decodes to one
    /// (language, rank); the optional number prefix and `_`/digit suffix cannot be mistaken for
    /// words, so they keep spellings distinct.
    fn write_tag_name(&self, tag: TagRef, style: Style, out: &mut String) {
        let language = &LANGUAGES[tag.language as usize];
        let global = self.vocabularies[tag.language as usize].offset + tag.rank;
        let decoration = self.hash(Stream::Decoration, global);
        let kind = decoration % 100;
        let pick = |list: &[&'static str]| list[((decoration >> 32) % list.len() as u64) as usize];
        if kind < 3 {
            out.push_str(pick(TAG_PREFIXES));
        }
        let words = language.tag_words;
        let base = words.len() as u64;
        let mut rest = tag.rank;
        loop {
            push_styled(out, words[(rest % base) as usize], style);
            rest /= base;
            if rest == 0 {
                break;
            }
        }
        if (3..10).contains(&kind) {
            out.push_str(pick(TAG_YEARS));
        } else if (10..14).contains(&kind) {
            push_styled(out, pick(TAG_SUFFIXES), style);
        }
    }
}

/// How a hashtag is capitalised in the text; extraction lowercases all of them alike.
#[derive(Clone, Copy)]
enum Style {
    Lower,
    Camel,
    Upper,
}

fn push_styled(out: &mut String, word: &str, style: Style) {
    match style {
        Style::Lower => out.push_str(word),
        Style::Camel if word.as_bytes().first().is_some_and(u8::is_ascii) => {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.push_str(chars.as_str());
            }
        }
        Style::Camel => {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
        Style::Upper => out.extend(word.chars().flat_map(char::to_uppercase)),
    }
}

/// SplitMix64's finaliser: spreads nearby inputs over the whole range.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A uniform draw in `[0, 1)` from 53 random bits.
fn unit(draw: u64) -> f64 {
    (draw >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A draw in `0..n` by multiply-and-shift: one multiplication, and a bias below 2^-40 for the
/// small `n` used here.
fn below(rng: &mut Xoshiro256PlusPlus, n: u64) -> u64 {
    ((rng.next_u64() as u128 * n as u128) >> 64) as u64
}

/// A user in `1..=users`, log-uniformly: user k is drawn about 1/k as often as user 1, the
/// heavy tail of activity real accounts show.
fn log_uniform_user(draw: u64, users: u32, users_ln: f64) -> u64 {
    let user = (unit(draw) * users_ln).exp() as u64;
    user.clamp(1, users as u64)
}

/// Writes user `user`'s screen name: a first name then the user number divided by the names'
/// count, so distinct users have distinct handles.
fn push_handle(out: &mut String, user: u64) {
    let names = HANDLE_NAMES.len() as u64;
    out.push_str(HANDLE_NAMES[(user % names) as usize]);
    let number = user / names;
    if number > 0 {
        if number % 3 == 0 {
            out.push('_');
        }
        push_decimal(out, number);
    }
}

fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(digit as char);
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const HANDLE_NAMES: &[&str] = &[
    "maria", "kenji", "ana", "li", "omar", "sofia", "yuki", "lucas", "fatima", "ivan", "emma", "diego", "aisha",
    "minho", "somchai", "sara", "jack", "lea", "ali", "mei", "noah", "olga", "rafa", "hana", "tom", "zeynep", "budi",
    "juan", "chloe", "ahmed", "nina", "leo",
];

const EMOJI: &[&str] = &["😂", "🔥", "👀", "😭", "❤️", "🙏", "✨", "💯", "🎉", "👏"];
const TAG_ENDINGS: &[&str] = &["!", "!!", ",", "…", "?"];
const TAG_PREFIXES: &[&str] = &["100", "24", "365", "1"];
const TAG_YEARS: &[&str] = &["2021", "2022", "2023", "21"];
const TAG_SUFFIXES: &[&str] = &["_tv", "_live", "_fc", "_news", "_official"];

/// A language: its code, share of tweets in per mille, the words its hashtags are made of (a
/// prefix-free set across all languages, letters and marks only), the words of its texts, whether
/// it puts spaces between words, and its sentence endings.
struct Language {
    code: &'static str,
    weight: u32,
    tag_words: &'static [&'static str],
    text_words: &'static [&'static str],
    spaced: bool,
    marks: &'static [&'static str],
}

const LATIN_MARKS: &[&str] = &["!", ".", "?", "!!", "...", "…"];
const CJK_MARKS: &[&str] = &["！", "。", "？", "…"];
const ARABIC_MARKS: &[&str] = &["!", "؟", "."];

// Kept packed by hand: rustfmt puts every non-ASCII word on a line of its own.
#[rustfmt::skip]
const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        weight: 450,
        tag_words: &[
            "love", "music", "game", "news", "night", "day", "life", "team", "world", "live",
            "photo", "art", "food", "travel", "fashion", "summer", "friday", "weekend", "vibes",
            "goals", "family", "happy", "power", "dream", "crypto", "movie", "book", "fitness",
            "nature", "sports", "tech", "home", "pats", "win", "fans", "style", "coffee", "beauty",
            "health", "party", "gold", "rain", "city", "star", "cat", "dog", "baby", "code",
        ],
        text_words: &[
            "the", "game", "tonight", "is", "so", "good", "I", "love", "this", "new", "we", "are",
            "going", "to", "watch", "today", "what", "a", "great", "day", "can't", "wait", "for",
            "my", "people", "everyone", "happy", "really", "never", "again", "best", "ever",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "ja",
        weight: 150,
        tag_words: &[
            "東京", "ニュース", "アニメ", "拡散希望", "おはよう", "ゲーム", "今日の一枚", "猫", "ライブ", "推し", "地震", "漫画",
            "野球", "誕生日", "お疲れ様", "夏休み", "ラーメン", "新曲", "映画", "相互フォロー",
        ],
        text_words: &[
            "今日", "は", "とても", "楽しい", "です", "ありがとう", "新しい", "ニュース", "明日", "みんな", "本当に", "最高", "もう",
            "やばい", "よろしく", "お願いします", "が", "を", "の",
        ],
        spaced: false,
        marks: CJK_MARKS,
    },
    Language {
        code: "es",
        weight: 100,
        tag_words: &[
            "amor", "fútbol", "vida", "noche", "mañana", "fiesta", "música", "mundo", "gracias",
            "feliz", "partido", "viernes", "playa", "familia", "libre", "fuerza", "sueño",
            "ciudad", "campeón", "orgullo", "españa", "méxico", "argentina", "cine", "comida",
            "golazo", "selección", "lluvia", "verano", "corazón", "alegría", "victoria",
        ],
        text_words: &[
            "el", "la", "de", "que", "hoy", "partido", "mañana", "gracias", "por", "todo", "nuevo",
            "qué", "noticias", "año", "muy", "bien", "vamos", "con", "mi", "gente", "siempre",
            "nunca", "más",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "pt",
        weight: 50,
        tag_words: &[
            "futebol", "saudade", "brasil", "hoje", "jogo", "obrigado", "coração", "praia",
            "festa", "amigos", "domingo", "novela", "sertanejo", "flamengo", "carnaval", "beleza",
            "sonho", "paz", "eleição", "rio", "samba", "gente", "tudo",
        ],
        text_words: &[
            "o", "a", "de", "que", "hoje", "jogo", "obrigado", "notícia", "você", "não", "amanhã",
            "muito", "bom", "gente", "tudo", "mais", "agora", "aqui", "vamos", "é",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "und",
        weight: 50,
        tag_words: &[],
        text_words: &["lol", "jajaja", "kkkk", "555", "xd", "omg", "wkwk", "😂", "🔥", "👀", "😭", "🙏", "✨", "💯"],
        spaced: true,
        marks: &["!!!", "...", "?!"],
    },
    Language {
        code: "ar",
        weight: 40,
        tag_words: &[
            "السعودية", "الهلال", "مصر", "كرة", "رمضان", "الله", "حب", "اليوم", "عاجل", "الرياض",
            "الامارات", "الكويت", "قطر", "دبي", "صباح", "مساء",
        ],
        text_words: &[
            "اليوم", "شكرا", "جديد", "أخبار", "مباراة", "الله", "في", "من", "على", "هذا", "كل",
            "ما", "جدا", "الحمد",
        ],
        spaced: true,
        marks: ARABIC_MARKS,
    },
    Language {
        code: "ko",
        weight: 30,
        tag_words: &[
            "방탄소년단", "오늘", "사랑", "뉴스", "축구", "음악", "서울", "드라마", "생일", "아이돌", "여행", "맛집", "블랙핑크",
            "영화", "일상",
        ],
        text_words: &[
            "오늘", "감사합니다", "뉴스", "새로운", "경기", "정말", "너무", "좋아요", "우리", "모두", "내일", "사랑해", "진짜",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "in",
        weight: 25,
        tag_words: &[
            "indonesia", "merdeka", "sepakbola", "jakarta", "musik", "makan", "kopi", "hujan",
            "libur", "senja", "rindu", "bahagia", "kerja", "sehat", "berita", "malam", "cinta",
            "sahabat", "mudik", "pagi",
        ],
        text_words: &[
            "hari", "ini", "terima", "kasih", "berita", "baru", "yang", "dan", "aku", "kamu",
            "sudah", "belum", "banget", "semua", "lagi",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "th",
        weight: 20,
        tag_words: &[
            "ข่าว", "วันนี้", "ฟุตบอล", "ประเทศไทย", "กินข้าว", "ความรัก", "ดนตรี", "เที่ยว",
            "หนัง", "โควิด", "สงกรานต์", "ทะเล", "แมว", "อาหาร",
        ],
        text_words: &["วันนี้", "ขอบคุณ", "ข่าว", "ใหม่", "สนุก", "มาก", "ครับ", "ค่ะ", "เรา", "ทุกคน", "พรุ่งนี้", "จริงๆ"],
        spaced: false,
        marks: &["!", "...", "555"],
    },
    Language {
        code: "fr",
        weight: 20,
        tag_words: &[
            "bonjour", "merci", "été", "amour", "soirée", "fête", "paris", "cinéma", "liberté",
            "bisous", "rentrée", "vacances", "français", "ligue", "école", "chanson", "soleil",
            "demain", "ensemble", "joie", "planète", "voyage", "bonheur",
        ],
        text_words: &[
            "le", "la", "les", "de", "aujourd'hui", "merci", "très", "été", "nouvelle", "ça",
            "match", "c'est", "pour", "avec", "tout", "demain", "bien", "vraiment", "on", "est",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "tr",
        weight: 15,
        tag_words: &[
            "futbol", "galatasaray", "fenerbahçe", "beşiktaş", "türkiye", "istanbul", "bugün",
            "haber", "maç", "yeni", "güzel", "aşk", "müzik", "dizi", "kahve", "deprem", "sabah",
            "gece", "yaz", "okul", "tatil", "şampiyon", "bayram", "mutlu", "hayat",
        ],
        text_words: &[
            "bugün", "teşekkürler", "haber", "maç", "yeni", "çok", "güzel", "bir", "ve", "bu",
            "için", "ama", "şimdi", "herkes", "iyi",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "ru",
        weight: 15,
        tag_words: &[
            "новости", "россия", "москва", "футбол", "музыка", "любовь", "весна", "лето",
            "праздник", "спорт", "кино", "друзья", "работа", "погода", "победа", "семья",
        ],
        text_words: &[
            "сегодня", "спасибо", "новости", "игра", "новый", "и", "в", "не", "это", "очень",
            "все", "как", "так", "завтра",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "tl",
        weight: 10,
        tag_words: &[
            "mahal", "salamat", "pinoy", "kaibigan", "pamilya", "bayan", "masaya", "ulan", "kain",
            "tulog", "pasko", "lakas", "ganda", "bukas", "trabaho", "sana",
        ],
        text_words: &[
            "ang", "mga", "sa", "ng", "ako", "ikaw", "salamat", "po", "talaga", "ngayon", "bukas",
            "grabe", "sobra", "naman",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "zh",
        weight: 10,
        tag_words: &[
            "中国", "台湾", "新闻", "香港", "电影", "音乐", "北京", "上海", "疫情", "奥运", "美食", "旅游", "蘋果獨家", "科技",
            "足球",
        ],
        text_words: &[
            "今天", "谢谢", "新闻", "比赛", "新的", "我们", "真的", "太", "好", "了", "的", "是", "大家", "明天", "加油",
        ],
        spaced: false,
        marks: CJK_MARKS,
    },
    Language {
        code: "de",
        weight: 10,
        tag_words: &[
            "bundesliga", "heimat", "sommer", "freunde", "urlaub", "wetter", "danke", "berlin",
            "schule", "frühling", "glück", "zukunft", "wahl", "liebe", "kaffee", "spielzeit",
        ],
        text_words: &[
            "heute", "danke", "schön", "Spiel", "für", "und", "der", "die", "das", "ist", "nicht",
            "sehr", "gut", "wieder", "alle",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "fa",
        weight: 5,
        // Persian joins some words with a zero-width non-joiner, which hashtags keep.
        tag_words: &[
            "ایران", "تهران", "می\u{200c}خواهم", "آزادی", "فوتبال", "خبر", "عشق", "دانشگاه",
            "نوروز", "سینما", "کتاب\u{200c}ها",
        ],
        text_words: &["امروز", "ممنون", "خیلی", "خوب", "در", "از", "این", "که", "با", "همه", "فردا", "می\u{200c}خوام"],
        spaced: true,
        marks: ARABIC_MARKS,
    },
];

const fn total_weight(with_untagged: bool) -> u32 {
    let mut total = 0;
    let mut i = 0;
    while i < LANGUAGES.len() {
        if with_untagged || !LANGUAGES[i].tag_words.is_empty() {
            total += LANGUAGES[i].weight;
        }
        i += 1;
    }
    total
}

/// Per mille of tweets, over all languages.
const LANGUAGE_WEIGHT_TOTAL: u32 = total_weight(true);
/// Over the languages with hashtags of their own (all but `und`).
const TAG_WEIGHT_TOTAL: u32 = total_weight(false);

fn tag_weight(language: &Language) -> u32 {
    if language.tag_words.is_empty() {
        0
    } else {
        language.weight
    }
}

/// The language a draw in `0..LANGUAGE_WEIGHT_TOTAL` falls on.
fn pick_language(mut draw: u64) -> usize {
    for (index, language) in LANGUAGES.iter().enumerate() {
        if draw < language.weight as u64 {
            return index;
        }
        draw -= language.weight as u64;
    }
    0
}

/// The language with hashtags a draw in `0..TAG_WEIGHT_TOTAL` falls on.
fn pick_tag_language(mut draw: u64) -> usize {
    for (index, language) in LANGUAGES.iter().enumerate() {
        let weight = tag_weight(language) as u64;
        if draw < weight {
            return index;
        }
        draw -= weight;
    }
    0
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap, HashSet};

    use trendflow_dataflows::hashtags::extract_hashtags;

    use super::*;

    fn generator(tweets: u64) -> Generator {
        Generator::new(GeneratorConfig { tweets, ..GeneratorConfig::default() }).expect("valid config")
    }

    #[test]
    fn the_same_config_and_index_give_the_same_tweet_and_shares_partition_the_stream() {
        let generator = generator(3_000);
        let all: Vec<Tweet> = generator.share(0, 1).collect();
        assert_eq!(all.len(), 3_000);
        assert_eq!(all, generator.share(0, 1).collect::<Vec<_>>());
        assert_eq!(generator.tweet(1_234), generator.clone().tweet(1_234));
        let shares: Vec<Vec<Tweet>> = (0..3).map(|worker| generator.share(worker, 3).collect()).collect();
        for (index, tweet) in all.iter().enumerate() {
            assert_eq!(&shares[index % 3][index / 3], tweet);
        }
        assert_eq!(shares.iter().map(Vec::len).sum::<usize>(), all.len());
        let other = Generator::new(GeneratorConfig { seed: 7, ..generator.config().clone() }).expect("valid");
        assert!((0..10).any(|index| other.tweet(index).text != generator.tweet(index).text));
    }

    #[test]
    fn ids_are_unique_snowflakes_growing_with_the_index() {
        let generator = generator(50_000);
        let ids: Vec<u64> = generator.share(0, 1).map(|tweet| tweet.id).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        // Like real 2021 tweet ids, whose top bits are the time.
        assert_eq!(ids[0] >> SEQUENCE_BITS, SEED_DATA_START_MS - SNOWFLAKE_EPOCH_MS);

        // A million tweets per millisecond: sequence numbers cross every multiple of 2^22 in order.
        let fast = Generator::new(GeneratorConfig { rate_per_sec: MAX_RATE_PER_SEC, ..GeneratorConfig::default() })
            .expect("valid");
        for around in [1u64 << 22, 3 << 22, 1 << 30, (1 << 40) - 20] {
            let ids: Vec<u64> = (around - 20..around + 20).map(|index| fast.id(index)).collect();
            assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids around {around}");
        }
        // Up to index 2^40, whenever the event time fits the snowflake range.
        let long =
            Generator::new(GeneratorConfig { tweets: 1 << 40, rate_per_sec: 10_000.0, ..GeneratorConfig::default() })
                .expect("2^40 tweets at 10k/s end in 2025");
        let samples: BTreeSet<u64> = (0..=40).flat_map(|bit| [(1u64 << bit) - 1, 1 << bit]).collect();
        let ids: Vec<u64> = samples.iter().map(|&index| long.id(index)).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn event_times_trail_arrival_order_by_at_most_the_disorder() {
        for disorder_ms in [0, 2_000, 60_000] {
            let generator =
                Generator::new(GeneratorConfig { tweets: 20_000, disorder_ms, ..GeneratorConfig::default() })
                    .expect("valid");
            let mut latest = 0;
            let mut most_behind = 0;
            for tweet in generator.share(0, 1) {
                assert!(tweet.created_at + disorder_ms >= generator.config().start_ms);
                latest = latest.max(tweet.created_at);
                most_behind = most_behind.max(latest - tweet.created_at);
            }
            assert!(most_behind <= generator.max_disorder_ms(), "{most_behind} ms behind");
            if disorder_ms > 0 {
                assert!(most_behind > disorder_ms / 2, "hardly any disorder: {most_behind} ms");
            }
        }
    }

    #[test]
    fn extraction_finds_exactly_the_intended_hashtags() {
        let generator = generator(20_000);
        let mut tagged = 0;
        let mut differently_cased = 0;
        for index in 0..20_000 {
            let tweet = generator.tweet(index);
            let intended = generator.hashtags_of(index);
            assert!(intended.len() <= MAX_TAGS);
            assert_eq!(extract_hashtags(&tweet.text), intended, "tweet {index}: {}", tweet.text);
            tagged += usize::from(!intended.is_empty());
            differently_cased += usize::from(intended.iter().any(|tag| !tweet.text.contains(tag.as_str())));
        }
        assert!(tagged > 10_000, "only {tagged} tweets with hashtags");
        assert!(differently_cased > 2_000, "only {differently_cased} tweets with capitalised tags");
    }

    #[test]
    fn hashtag_words_are_valid_prefix_free_tags_that_survive_capitalisation() {
        let words: Vec<&str> = LANGUAGES.iter().flat_map(|language| language.tag_words.iter().copied()).collect();
        for &word in &words {
            for other in &words {
                assert!(word == *other || !other.starts_with(word), "{word} is a prefix of {other}");
            }
            assert_eq!(words.iter().filter(|other| **other == word).count(), 1, "{word} appears twice");
            for style in [Style::Lower, Style::Camel, Style::Upper] {
                let mut text = String::from("x #");
                push_styled(&mut text, word, style);
                assert_eq!(extract_hashtags(&text), [word], "{text}");
            }
        }
        for language in LANGUAGES {
            for word in language.text_words {
                assert!(!word.contains(['#', '＃', '@']) && !word.contains("http") && !word.contains("www."));
            }
        }
    }

    #[test]
    fn the_vocabulary_is_distinct_multilingual_hashtags() {
        let generator = generator(1);
        let tags: Vec<String> = (0..100_000).filter_map(|tag| generator.hashtag(tag)).collect();
        assert_eq!(tags.len(), 100_000);
        assert_eq!(generator.hashtag(100_000), None);
        assert_eq!(tags.iter().collect::<HashSet<_>>().len(), tags.len(), "two tags are spelled alike");
        let has =
            |range: std::ops::RangeInclusive<char>| tags.iter().any(|tag| tag.chars().any(|c| range.contains(&c)));
        for (script, range) in [
            ("accented Latin", 'à'..='ÿ'),
            ("kana", 'ぁ'..='ヿ'),
            ("CJK", '一'..='鿿'),
            ("Hangul", '가'..='힣'),
            ("Arabic", 'ء'..='ي'),
            ("Thai marks", '\u{e31}'..='\u{e4e}'),
            ("Cyrillic", 'а'..='я'),
            ("digits", '0'..='9'),
            ("underscore", '_'..='_'),
            ("zero-width non-joiner", '\u{200c}'..='\u{200c}'),
        ] {
            assert!(has(range), "no {script} tags");
        }
    }

    /// Tag and language counts over the first `tweets` tweets, and the tweets themselves.
    fn census(generator: &Generator, tweets: u64) -> (HashMap<String, usize>, Vec<Tweet>) {
        let mut tags: HashMap<String, usize> = HashMap::new();
        for index in 0..tweets {
            for tag in generator.hashtags_of(index) {
                *tags.entry(tag).or_default() += 1;
            }
        }
        (tags, (0..tweets).map(|index| generator.tweet(index)).collect())
    }

    #[test]
    fn hashtag_popularity_is_zipf_skewed() {
        let generator = generator(60_000);
        let (tags, _) = census(&generator, 60_000);
        let mut counts: Vec<usize> = tags.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        assert!(counts[0] > 20 * counts[99], "top tag {} vs 100th {}", counts[0], counts[99]);
        assert!(counts[9] > 4 * counts[99], "10th tag {} vs 100th {}", counts[9], counts[99]);
        assert!(tags.len() > 5_000, "only {} distinct tags", tags.len());
    }

    #[test]
    fn languages_follow_the_configured_mix_and_match_their_hashtags() {
        let generator = generator(60_000);
        let mut languages: HashMap<&str, usize> = HashMap::new();
        let mut originals = 0;
        for tweet in generator.share(0, 1).filter(|tweet| tweet.retweet_of.is_none()) {
            originals += 1;
            let code = LANGUAGES.iter().find(|language| language.code == tweet.lang).map(|language| language.code);
            *languages.entry(code.expect("a known language")).or_default() += 1;
        }
        assert_eq!(languages.len(), LANGUAGES.len());
        for language in LANGUAGES {
            let share = languages[language.code] as f64 / originals as f64;
            let expected = language.weight as f64 / LANGUAGE_WEIGHT_TOTAL as f64;
            assert!((share - expected).abs() < 0.015 + expected * 0.1, "{}: {share:.3} for {expected}", language.code);
        }
        // Japanese tweets mostly carry Japanese tags.
        let (mut japanese_tags, mut all_tags) = (0, 0);
        for index in 0..20_000 {
            if generator.tweet(index).lang == "ja" {
                for tag in generator.hashtags_of(index) {
                    all_tags += 1;
                    japanese_tags += usize::from(tag.chars().any(|c| ('ぁ'..='鿿').contains(&c)));
                }
            }
        }
        assert!(japanese_tags as f64 > 0.7 * all_tags as f64, "{japanese_tags} of {all_tags}");
    }

    #[test]
    fn bursts_change_the_top_hashtag_between_ten_minute_periods() {
        let generator =
            Generator::new(GeneratorConfig { tweets: 72_000, rate_per_sec: 20.0, ..GeneratorConfig::default() })
                .expect("valid");
        let period = 12_000;
        let tops: Vec<String> = (0..6)
            .map(|nth| {
                let mut counts: HashMap<String, usize> = HashMap::new();
                for index in nth * period..(nth + 1) * period {
                    for tag in generator.hashtags_of(index) {
                        *counts.entry(tag).or_default() += 1;
                    }
                }
                let top = counts.into_iter().max_by_key(|(tag, count)| (*count, tag.clone()));
                top.map(|(tag, _)| tag).unwrap_or_default()
            })
            .collect();
        assert!(tops.iter().collect::<HashSet<_>>().len() >= 2, "the top hashtag never changed: {tops:?}");
    }

    #[test]
    fn retweets_repeat_earlier_originals_and_some_go_viral() {
        // 50 minutes of event time: five slots, each with a viral tweet.
        let generator =
            Generator::new(GeneratorConfig { tweets: 60_000, rate_per_sec: 20.0, ..GeneratorConfig::default() })
                .expect("valid");
        let tweets: Vec<Tweet> = generator.share(0, 1).collect();
        let by_id: HashMap<u64, &Tweet> = tweets.iter().map(|tweet| (tweet.id, tweet)).collect();
        let mut received: HashMap<u64, usize> = HashMap::new();
        for tweet in &tweets {
            let Some(original_id) = tweet.retweet_of else { continue };
            let original = by_id.get(&original_id).expect("a retweet of a generated tweet");
            assert!(original.id < tweet.id && original.created_at <= tweet.created_at);
            assert_eq!(original.retweet_of, None, "a retweet of a retweet");
            assert_eq!(original.lang, tweet.lang);
            let (prefix, text) = tweet.text.split_once(": ").expect("RT @author: text");
            assert!(prefix.starts_with("RT @"));
            assert_eq!(text, original.text);
            *received.entry(original_id).or_default() += 1;
        }
        let retweets: usize = received.values().sum();
        let share = retweets as f64 / tweets.len() as f64;
        assert!((0.18..0.22).contains(&share), "retweet share {share}");
        let most = received.values().max().copied().unwrap_or(0);
        assert!(most > 300, "no viral tweet: the most retweeted got {most} retweets");
    }

    #[test]
    fn validation_says_what_would_be_right() {
        assert_eq!(GeneratorConfig::default().validate(), Ok(()));
        let error = |config: GeneratorConfig| config.validate().expect_err("invalid");
        let default = GeneratorConfig::default;
        assert!(error(GeneratorConfig { rate_per_sec: 0.0, ..default() }).contains("use between"));
        assert!(error(GeneratorConfig { rate_per_sec: f64::NAN, ..default() }).contains("tweets per second"));
        assert!(error(GeneratorConfig { vocabulary: 10, ..default() }).contains("at least 1000"));
        assert!(error(GeneratorConfig { retweet_fraction: 1.0, ..default() }).contains("between 0 and 0.9"));
        assert!(error(GeneratorConfig { users: 0, ..default() }).contains("at least 1"));
        assert!(error(GeneratorConfig { start_ms: 0, ..default() }).contains("later start"));
        assert!(error(GeneratorConfig { disorder_ms: u64::MAX, ..default() }).contains("at most"));
        assert!(error(GeneratorConfig { zipf_exponent: 0.0, ..default() }).contains("near 1.1"));
        assert!(error(GeneratorConfig { tweets: 1 << 40, ..default() }).contains("fewer tweets or a higher rate"));
        assert!(Generator::new(GeneratorConfig { users: 0, ..default() }).is_err());
    }
}
