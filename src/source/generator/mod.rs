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

mod config;
mod languages;
mod random;
#[cfg(test)]
mod tests;
mod text;
mod trends;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use trendflow_dataflows::Tweet;

pub use config::GeneratorConfig;
use config::*;
use languages::*;
use random::*;
use text::*;
use trends::*;

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
