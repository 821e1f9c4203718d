//! Property: for tweets with tricky texts and retweets, whatever the window specs, K, tick, trending
//! settings, arrival order, batching and worker count, every final view and every live ranking
//! the graph publishes equals the oracle's.
//!
//! The case's shape follows `dataflows/tests/graph_matches_reference.rs`; its texts are made of
//! fragments that each try one rule of hashtag extraction, glued together or apart.

use proptest::prelude::*;
use trendflow_dataflows::config::GraphConfig;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::Tweet;

use crate::compare::check;
use crate::oracle::{Oracle, Settings, Trending};
use trendflow_dataflows::testing::{arrival, case_graph, published, trend_strategy, Feed};

/// Hashtags that recur, in several spellings of the same tag, so that windows have counts to
/// rank and trends to find.
const COMMON: [&str; 6] = ["#rust", "#Rust", "#ida", "#IDA", "#東京", "＃東京"];

/// Fragments that each try one rule of extraction.
const TRICKY: [&str; 31] = [
    // Scripts, combining marks and the zero-width non-joiner; precomposed and combining spellings
    // are two tags.
    "#café",
    "#cafe\u{301}",
    "#می\u{200c}خواهم",
    "#กินข้าว",
    // Unicode lowercasing: a dotted capital I, a final sigma.
    "#İstanbul",
    "#ISTANBUL",
    "#ΟΔΟΣ",
    // Underscores, and runs without a letter.
    "#a_b",
    "#_tag",
    "#tag_",
    "#_",
    "#_1",
    // Digits: all-digit runs in three scripts are no tags; digits beside letters are.
    "#2021",
    "＃２０２１",
    "#١٢٣",
    "#100daysofcode",
    // No tag after a word character or `&`; one after an emoji's variation selector.
    "&#39;",
    "&#rust",
    "a#rust",
    "7#rust",
    "_#rust",
    "\u{301}#rust",
    "\u{200c}#rust",
    "❤\u{fe0f}#rust",
    // Keycap emoji.
    "#\u{fe0f}\u{20e3}",
    "#\u{20e3}",
    // What a tag may be glued to when no separator follows it.
    "://",
    "#",
    "＃",
    "\u{301}",
    "\u{200c}",
];

/// Other words, some of which change a neighbour glued to them.
const WORDS: [&str; 7] = ["hello", "RT @ida_news:", "x", "東京", "7", "_", "é"];

/// What follows each fragment: mostly a space, sometimes nothing (gluing it to the next).
const SEPARATORS: [&str; 6] = [" ", " ", " ", "", "\n", ", "];

const LANGS: [&str; 5] = ["en", "ja", "und", "fa", "tr"];

/// Window specs as (length, slide): tumbling, sliding, and a length no multiple of its slide.
const SPECS: [(u64, u64); 5] =
    [(60_000, 60_000), (180_000, 60_000), (120_000, 40_000), (150_000, 30_000), (90_000, 90_000)];

/// A test case: tweets in arrival order, cut into batches, and the graph's and oracle's settings.
#[derive(Debug, Clone)]
struct Case {
    tweets: Vec<Tweet>,
    batch_ends: Vec<usize>,
    config: GraphConfig,
    settings: Settings,
}

fn text_strategy() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        4 => prop::sample::select(COMMON.to_vec()),
        3 => prop::sample::select(TRICKY.to_vec()),
        1 => prop::sample::select(WORDS.to_vec()),
    ];
    prop::collection::vec((fragment, prop::sample::select(SEPARATORS.to_vec())), 0..7)
        .prop_map(|parts| parts.into_iter().flat_map(|(fragment, separator)| [fragment, separator]).collect())
}

/// A tweet's event time, text, language and what it retweets: an earlier tweet (by index), or
/// one the input does not hold.
fn tweet_strategy() -> impl Strategy<Value = (u64, String, &'static str, Option<usize>)> {
    (
        // Event times within ten minutes, on whole seconds or anywhere, to hit window edges.
        prop_oneof![(0u64..600).prop_map(|s| s * 1_000), 0u64..600_000],
        text_strategy(),
        prop::sample::select(LANGS.to_vec()),
        prop::option::weighted(0.3, 0usize..1_000),
    )
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let specs = prop::sample::subsequence(SPECS.to_vec(), 1..=3);
    let trend = trend_strategy();
    (prop::collection::vec(tweet_strategy(), 0..80), specs, 1usize..5, 0usize..5, any::<u64>(), trend).prop_map(
        |(raw, specs, k, tick_choice, shuffle_seed, trend)| {
            let mut tweets: Vec<Tweet> = Vec::new();
            for (i, (created_at, text, lang, retweet)) in raw.into_iter().enumerate() {
                let retweet_of = retweet.filter(|_| !tweets.is_empty()).map(|j| match j % 10 {
                    0 => 1,
                    _ => tweets[j % tweets.len()].id,
                });
                tweets.push(Tweet {
                    id: 1_000 + i as u64,
                    text,
                    created_at,
                    lang: lang.to_string(),
                    user_id: None,
                    retweet_of,
                });
            }
            let windows: Vec<WindowSpec> =
                specs.iter().map(|&(length, slide)| WindowSpec::new(length, slide).expect("a valid spec")).collect();
            let (config, trend) = case_graph(windows, k, tick_choice, trend);
            let trending =
                trend.map(|(baseline_ms, min_count, min_score)| Trending { baseline_ms, min_count, min_score });
            let settings = Settings { windows: specs, top_k: k, trending };
            let (tweets, batch_ends) = arrival(tweets, shuffle_seed);
            Case { tweets, batch_ends, config, settings }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_final_view_and_live_ranking_equals_the_oracle(
        case in case_strategy(),
        workers in 1usize..=3,
        live in prop::bool::weighted(0.8),
    ) {
        let feed = Feed { tweets: &case.tweets, batch_ends: &case.batch_ends, config: &case.config, workers, live };
        let snapshots = published(&feed);
        let compared = check(&snapshots, &Oracle::new(&case.tweets), &case.settings).map_err(TestCaseError::fail)?;
        prop_assert!(live || compared.live == 0, "live rankings from a run that asked for none");
        prop_assert!(case.tweets.is_empty() || compared.finals > 0, "tweets, yet no final ranking");
    }
}
