//! Realistic synthetic tweets, deterministic from a seed, for the demo, tests and benchmarks.
//!
//! Every tweet is a pure function of the configuration and its index, so timely workers generate
//! their shares independently (`share(worker, peers)`) and any run with the same seed sees the
//! same tweets. What makes the stream realistic:
//!
//! * **Hashtags** are drawn from a Zipf distribution (exponent 1.1) over a large vocabulary. Each
//!   tag has a home language and is spelled in that language's script — Latin with accents,
//!   Japanese kana and kanji, Chinese, Korean, Arabic, Thai with its combining vowel and tone
//!   marks, Cyrillic — sometimes CamelCased in the text or suffixed with digits or `_`.
//! * **Languages** follow a mix close to Twitter's (en 40%, ja 15%, es 10%, ...): a tweet's
//!   language is its first hashtag's home language most of the time.
//! * **Trends**: every 15 minutes of event time, a tag from the long tail bursts into a large share
//!   of tweets, so rankings change over time.
//! * **Retweets** of earlier tweets (recent ones mostly, and each period's viral tweet), written
//!   `RT @user: <original text>` as Twitter does.
//! * **Arrival order** is index order, and event times run `disorder_ms` behind it at most.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
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
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 42,
            tweets: 1_000_000,
            rate_per_sec: 100.0,
            // 2021-08-29 23:51:27 UTC, when the seed dataset starts.
            start_ms: 1_630_281_087_000,
            vocabulary: 100_000,
            disorder_ms: 2_000,
            retweet_fraction: 0.2,
            users: 50_000,
        }
    }
}

/// A generator of tweets under one configuration.
#[derive(Clone, Debug)]
pub struct Generator {
    config: GeneratorConfig,
    hashtag_ranks: Zipf<f64>,
}

/// Twitter's snowflake epoch (2010-11-04), so generated ids look like real ones.
const SNOWFLAKE_EPOCH_MS: u64 = 1_288_834_974_657;
/// Event time between trend changes.
const TREND_PERIOD_MS: u64 = 15 * 60 * 1000;

impl Generator {
    /// A generator for `config`, or why the configuration is unusable.
    pub fn new(config: GeneratorConfig) -> Result<Self, String> {
        if !(config.rate_per_sec.is_finite() && config.rate_per_sec > 0.0) {
            return Err(format!("rate {} is not a positive number of tweets per second", config.rate_per_sec));
        }
        if config.vocabulary < 100 {
            return Err(format!("vocabulary {} is too small; use at least 100 hashtags", config.vocabulary));
        }
        if !(0.0..=0.9).contains(&config.retweet_fraction) {
            return Err(format!("retweet fraction {} must be between 0 and 0.9", config.retweet_fraction));
        }
        if config.users == 0 {
            return Err("users must be at least 1".into());
        }
        let hashtag_ranks =
            Zipf::new(config.vocabulary as f64, 1.1).map_err(|e| format!("hashtag distribution: {e}"))?;
        Ok(Generator { config, hashtag_ranks })
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

    /// The tweet with this index.
    ///
    /// ```
    /// use trendflow::source::generator::{Generator, GeneratorConfig};
    /// let generator = Generator::new(GeneratorConfig::default()).unwrap();
    /// assert_eq!(generator.tweet(7), generator.tweet(7));
    /// assert!(generator.tweet(8).id > generator.tweet(7).id);
    /// ```
    pub fn tweet(&self, index: u64) -> Tweet {
        let mut rng = self.rng(index, 0);
        let arrival_ms = self.arrival_ms(index);
        let created_at = arrival_ms.saturating_sub(rng.random_range(0..=self.config.disorder_ms));
        let user_id = Some(rng.random_range(0..self.config.users) as u64 + 1);
        let id = snowflake(arrival_ms, index);
        if let Some(original) = self.retweeted_index(index) {
            let original_tweet = self.original(original);
            return Tweet {
                id,
                text: format!("RT @user{}: {}", original_tweet.user_id.unwrap_or(0), original_tweet.text),
                created_at,
                lang: original_tweet.lang,
                user_id,
                retweet_of: Some(original_tweet.id),
            };
        }
        let original = self.original(index);
        Tweet { id, created_at, user_id, ..original }
    }

    /// The hashtags tweet `index` carries, lowercased as extraction yields them.
    pub fn hashtags(&self, index: u64) -> Vec<String> {
        let source = self.retweeted_index(index).unwrap_or(index);
        self.tags_of(source).0.iter().map(|tag| tag.to_lowercase()).collect()
    }

    /// A per-index random stream: `(seed, index, stream)` hashed into a small fast generator.
    fn rng(&self, index: u64, stream: u64) -> SmallRng {
        SmallRng::seed_from_u64(mix(mix(self.config.seed ^ stream.rotate_left(32)) ^ index))
    }

    fn arrival_ms(&self, index: u64) -> u64 {
        self.config.start_ms + (index as f64 * 1000.0 / self.config.rate_per_sec) as u64
    }

    /// Whether tweet `index` is a retweet: a draw of its own, so that looking it up is cheap.
    fn is_retweet(&self, index: u64) -> bool {
        index > 0 && self.rng(index, 3).random_bool(self.config.retweet_fraction)
    }

    /// Which earlier tweet `index` retweets, if it is a retweet: mostly a recent one, sometimes the
    /// viral tweet of its trend period. Always an original, never itself a retweet.
    fn retweeted_index(&self, index: u64) -> Option<u64> {
        if !self.is_retweet(index) {
            return None;
        }
        let mut rng = self.rng(index, 4);
        let candidate = match self.viral_index(index) {
            Some(viral) if rng.random_bool(0.3) => viral,
            _ => {
                // Distances spread log-uniformly from 1 to ~100k tweets back.
                let distance = (rng.random_range(0.0..11.5f64)).exp() as u64 + 1;
                index.saturating_sub(distance)
            }
        };
        (0..=candidate).rev().take(64).find(|&j| !self.is_retweet(j))
    }

    /// The tweet of the current trend period that goes viral, once the period has begun.
    fn viral_index(&self, index: u64) -> Option<u64> {
        let period_start = self.trend_period(index) * TREND_PERIOD_MS;
        let first = (period_start as f64 * self.config.rate_per_sec / 1000.0).ceil() as u64;
        let viral = first + mix(self.config.seed ^ first) % 16;
        (viral < index).then_some(viral)
    }

    fn trend_period(&self, index: u64) -> u64 {
        (self.arrival_ms(index) - self.config.start_ms) / TREND_PERIOD_MS
    }

    /// Tweet `index` as an original: its text, language and author (id and time left to `tweet`).
    fn original(&self, index: u64) -> Tweet {
        let mut rng = self.rng(index, 1);
        let (tags, first_rank) = self.tags_of(index);
        let language = match first_rank {
            Some(rank) if rng.random_bool(0.8) => home_language(rank),
            _ => pick_language(rng.random_range(0..LANGUAGE_WEIGHT_TOTAL)),
        };
        let mut text = String::with_capacity(160);
        if rng.random_bool(0.15) {
            text.push_str(&format!("@user{} ", rng.random_range(1..=self.config.users)));
        }
        let words = rng.random_range(3..10);
        let mut tags = tags.into_iter().peekable();
        for word in 0..words {
            if word > 0 {
                text.push(' ');
            }
            text.push_str(language.words[rng.random_range(0..language.words.len())]);
            if tags.peek().is_some() && rng.random_bool(0.3) {
                text.push_str(" #");
                text.push_str(&tags.next().unwrap_or_default());
            }
        }
        for tag in tags {
            text.push_str(" #");
            text.push_str(&tag);
        }
        if rng.random_bool(0.3) {
            text.push_str(&format!(" https://t.co/{:010x}", rng.random::<u64>() & 0xff_ffff_ffff));
        }
        let user_id = Some(rng.random_range(0..self.config.users) as u64 + 1);
        Tweet {
            id: snowflake(self.arrival_ms(index), index),
            text,
            created_at: self.arrival_ms(index),
            lang: language.code.to_string(),
            user_id,
            retweet_of: None,
        }
    }

    /// Tweet `index`'s hashtags as written in its text (mixed case), 0 to 4 of them plus perhaps
    /// the trending one, and the popularity rank of the first (which decides the language).
    fn tags_of(&self, index: u64) -> (Vec<String>, Option<u64>) {
        let mut rng = self.rng(index, 2);
        let count = match rng.random_range(0..100u32) {
            0..40 => 0,
            40..75 => 1,
            75..90 => 2,
            90..97 => 3,
            _ => 4,
        };
        let mut tags: Vec<String> = Vec::with_capacity(count + 1);
        let mut first_rank = None;
        for _ in 0..count {
            let rank = self.hashtag_ranks.sample(&mut rng) as u64 - 1;
            first_rank.get_or_insert(rank);
            tags.push(spell_tag(self.config.seed, rank, rng.random_bool(0.3)));
        }
        // The period's trending tag joins a large share of tweets while it trends.
        let period = self.trend_period(index);
        let trend_share = 0.05 + (mix(self.config.seed ^ period) % 20) as f64 / 100.0;
        if rng.random_bool(trend_share) {
            let trending = 500 + mix(self.config.seed.wrapping_add(period)) % 5_000;
            tags.push(spell_tag(self.config.seed, trending % self.config.vocabulary as u64, true));
        }
        (tags, first_rank)
    }
}

/// A snowflake-like id: milliseconds since Twitter's epoch above 22 bits of the index, so ids grow
/// with arrival and never collide.
fn snowflake(arrival_ms: u64, index: u64) -> u64 {
    (arrival_ms.saturating_sub(SNOWFLAKE_EPOCH_MS) << 22) | (index & 0x3f_ffff)
}

/// SplitMix64's finaliser: spreads nearby seeds over the whole range.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A language: its code, share of tweets, script for its hashtags and some words for its texts.
struct Language {
    code: &'static str,
    weight: u32,
    syllables: &'static [&'static str],
    words: &'static [&'static str],
}

const LATIN_EN: &[&str] = &[
    "ba", "ce", "di", "fo", "gu", "ha", "je", "ki", "lo", "mu", "na", "pe", "ri", "so", "tu", "vy", "wa", "xe", "zo",
    "st", "th", "ch", "ar", "en",
];
const LATIN_ROMANCE: &[&str] = &[
    "ba", "cé", "dí", "fo", "gú", "ña", "je", "lá", "mó", "nu", "pe", "çã", "rí", "so", "tu", "vê", "za", "lo", "ma",
    "te", "ão", "ré", "ci", "ol",
];
const KANA: &[&str] = &[
    "あ", "い", "う", "か", "き", "さ", "し", "た", "な", "の", "は", "ま", "や", "ら", "わ", "ア", "カ", "サ", "タ",
    "ナ", "東", "京", "日", "本",
];
const HAN: &[&str] = &[
    "中", "国", "人", "大", "新", "闻", "今", "天", "电", "影", "音", "乐", "北", "上", "海", "港", "台", "学", "生",
    "爱",
];
const HANGUL: &[&str] = &[
    "가", "나", "다", "라", "마", "바", "사", "아", "자", "하", "방", "탄", "소", "년", "단", "한", "국", "서", "울",
    "팬",
];
const ARABIC: &[&str] =
    &["ال", "ب", "ت", "ج", "ح", "د", "ر", "س", "ش", "ع", "ف", "ق", "ك", "ل", "م", "ن", "ه", "و", "ي", "ة"];
// Thai consonants each with a combining vowel or tone mark, which extraction must keep.
const THAI: &[&str] =
    &["กิ", "ขี", "คุ", "งู", "จั", "ชื", "ซ่", "ดิ", "ตี", "ทุ", "นั", "บ้", "ปิ", "พี", "มุ", "ยั", "รื", "ลิ", "วั", "สุ"];
const CYRILLIC: &[&str] =
    &["ма", "ко", "ри", "та", "не", "ло", "ва", "ду", "ск", "пр", "зи", "бы", "ге", "жу", "ши", "щё"];

const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        weight: 40,
        syllables: LATIN_EN,
        words: &["the", "game", "tonight", "love", "this", "new", "great", "news", "people", "watch", "today", "wow"],
    },
    Language {
        code: "ja",
        weight: 15,
        syllables: KANA,
        words: &["今日", "は", "とても", "楽しい", "です", "ありがとう", "新しい", "ニュース"],
    },
    Language {
        code: "es",
        weight: 10,
        syllables: LATIN_ROMANCE,
        words: &["hoy", "el", "partido", "mañana", "gracias", "nuevo", "qué", "noticias", "año"],
    },
    Language {
        code: "pt",
        weight: 5,
        syllables: LATIN_ROMANCE,
        words: &["hoje", "jogo", "obrigado", "notícia", "você", "não", "amanhã", "coração"],
    },
    Language {
        code: "ar", weight: 4, syllables: ARABIC, words: &["اليوم", "شكرا", "جديد", "أخبار", "مباراة", "الله"]
    },
    Language {
        code: "fr",
        weight: 3,
        syllables: LATIN_ROMANCE,
        words: &["aujourd'hui", "merci", "très", "été", "nouvelle", "ça", "match"],
    },
    Language {
        code: "th", weight: 3, syllables: THAI, words: &["วันนี้", "ขอบคุณ", "ข่าว", "ใหม่", "สนุก"]
    },
    Language {
        code: "ko", weight: 3, syllables: HANGUL, words: &["오늘", "감사합니다", "뉴스", "새로운", "경기"]
    },
    Language {
        code: "ru", weight: 2, syllables: CYRILLIC, words: &["сегодня", "спасибо", "новости", "игра", "новый"]
    },
    Language {
        code: "tr", weight: 2, syllables: LATIN_EN, words: &["bugün", "teşekkürler", "haber", "maç", "yeni"]
    },
    Language { code: "zh", weight: 2, syllables: HAN, words: &["今天", "谢谢", "新闻", "比赛", "新的"] },
    Language {
        code: "in",
        weight: 2,
        syllables: LATIN_EN,
        words: &["hari", "ini", "terima", "kasih", "berita", "baru"],
    },
    Language { code: "de", weight: 1, syllables: LATIN_ROMANCE, words: &["heute", "danke", "schön", "Spiel", "für"] },
    Language {
        code: "it",
        weight: 1,
        syllables: LATIN_ROMANCE,
        words: &["oggi", "grazie", "partita", "perché", "città"],
    },
    Language {
        code: "und", weight: 7, syllables: LATIN_EN, words: &["lol", "ok", "😂", "🔥", "👀", "!!!", "…"]
    },
];

const LANGUAGE_WEIGHT_TOTAL: u32 = {
    let mut total = 0;
    let mut i = 0;
    while i < LANGUAGES.len() {
        total += LANGUAGES[i].weight;
        i += 1;
    }
    total
};

fn pick_language(mut draw: u32) -> &'static Language {
    for language in LANGUAGES {
        if draw < language.weight {
            return language;
        }
        draw -= language.weight;
    }
    &LANGUAGES[0]
}

/// The language a hashtag of this rank belongs to, by the same weights as tweets.
fn home_language(rank: u64) -> &'static Language {
    pick_language((mix(rank) % LANGUAGE_WEIGHT_TOTAL as u64) as u32)
}

/// Spells hashtag `rank` in its home language's script: the rank's digits in base "number of
/// syllables", at least two syllables, so distinct ranks give distinct tags. `camel` capitalises
/// each syllable, as people write `#GoPats`; extraction lowercases it again.
fn spell_tag(seed: u64, rank: u64, camel: bool) -> String {
    let language = home_language(rank);
    let syllables = language.syllables;
    let base = syllables.len() as u64;
    let mut tag = String::new();
    let mut rest = rank;
    let mut written = 0;
    while rest > 0 || written < 2 {
        let syllable = syllables[(rest % base) as usize];
        if camel {
            let mut chars = syllable.chars();
            if let Some(first) = chars.next() {
                tag.extend(first.to_uppercase());
                tag.push_str(chars.as_str());
            }
        } else {
            tag.push_str(syllable);
        }
        rest /= base;
        written += 1;
    }
    match mix(seed ^ rank) % 10 {
        0 => tag.push_str(&format!("{}", 2000 + rank % 30)),
        1 => tag.push_str("_tv"),
        _ => {}
    }
    tag
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use trendflow_dataflows::hashtags::extract_hashtags;

    use super::*;

    fn generator(tweets: u64) -> Generator {
        Generator::new(GeneratorConfig { tweets, ..GeneratorConfig::default() }).expect("valid config")
    }

    #[test]
    fn the_same_seed_gives_the_same_tweets_and_shares_partition_them() {
        let generator = generator(3_000);
        let all: Vec<Tweet> = generator.share(0, 1).collect();
        let again: Vec<Tweet> = generator.share(0, 1).collect();
        assert_eq!(all, again);
        let mut shared: Vec<Tweet> = (0..3).flat_map(|worker| generator.share(worker, 3)).collect();
        shared.sort_by_key(|tweet| tweet.id);
        assert_eq!(shared, all);
        let other = Generator::new(GeneratorConfig { seed: 7, tweets: 3_000, ..GeneratorConfig::default() }).unwrap();
        assert_ne!(other.tweet(5).text, generator.tweet(5).text);
    }

    #[test]
    fn ids_grow_with_arrival_and_event_times_stay_within_the_disorder() {
        let generator = generator(20_000);
        let tweets: Vec<Tweet> = generator.share(0, 1).collect();
        let mut latest = 0;
        for pair in tweets.windows(2) {
            assert!(pair[0].id < pair[1].id);
        }
        for tweet in &tweets {
            latest = latest.max(tweet.created_at);
            assert!(tweet.created_at + generator.max_disorder_ms() >= latest);
        }
    }

    #[test]
    fn extraction_finds_exactly_the_generated_hashtags() {
        let generator = generator(20_000);
        for index in 0..20_000 {
            let tweet = generator.tweet(index);
            assert_eq!(extract_hashtags(&tweet.text), generator.hashtags(index), "tweet {index}: {}", tweet.text);
        }
    }

    #[test]
    fn hashtags_are_skewed_languages_mixed_and_retweets_point_back() {
        let generator = generator(60_000);
        let tweets: Vec<Tweet> = generator.share(0, 1).collect();
        let mut tag_counts: HashMap<String, usize> = HashMap::new();
        let mut languages: HashMap<String, usize> = HashMap::new();
        let ids: HashSet<u64> = tweets.iter().map(|t| t.id).collect();
        let mut retweets = 0;
        for (index, tweet) in tweets.iter().enumerate() {
            for tag in generator.hashtags(index as u64) {
                *tag_counts.entry(tag).or_default() += 1;
            }
            *languages.entry(tweet.lang.clone()).or_default() += 1;
            if let Some(original) = tweet.retweet_of {
                retweets += 1;
                assert!(ids.contains(&original) && original < tweet.id, "retweet of an unknown or later tweet");
            }
        }
        let mut counts: Vec<usize> = tag_counts.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        assert!(counts[0] > 20 * counts[100], "top tag {} vs 100th {}", counts[0], counts[100]);
        assert!(tag_counts.len() > 5_000, "only {} distinct tags", tag_counts.len());
        assert!(languages.len() >= 12, "only {} languages", languages.len());
        let english = languages["en"] as f64 / tweets.len() as f64;
        assert!((0.3..0.55).contains(&english), "english share {english}");
        let retweet_share = retweets as f64 / tweets.len() as f64;
        assert!((0.15..0.25).contains(&retweet_share), "retweet share {retweet_share}");
    }

    #[test]
    fn trends_change_the_top_hashtag_over_time() {
        let generator = generator(400_000);
        let period_tweets = TREND_PERIOD_MS / 1000 * 100;
        let top_of = |period: u64| {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for index in period * period_tweets..(period + 1) * period_tweets {
                for tag in generator.hashtags(index) {
                    *counts.entry(tag).or_default() += 1;
                }
            }
            counts.into_iter().max_by_key(|(tag, count)| (*count, tag.clone())).map(|(tag, _)| tag)
        };
        let tops: HashSet<Option<String>> = (0..4).map(top_of).collect();
        assert!(tops.len() >= 2, "the top hashtag never changed: {tops:?}");
    }
}
