//! Property: whatever the arrival order, batching, tick and worker count, the graph's final views
//! equal the reference implementation's, and so does every live ranking over the span it states.

use proptest::prelude::*;
use trendflow_dataflows::config::{GraphConfig, TrendConfig};
use trendflow_dataflows::reference::{self, Tweets};
use trendflow_dataflows::testing::{published, Feed};
use trendflow_dataflows::views::{FinalViews, Ranking, Snapshot};
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::Tweet;

const TAGS: [&str; 6] = ["#rust", "#Rust", "#ida", "#東京", "#café", "#LLWS"];
const LANGS: [&str; 3] = ["en", "ja", "und"];

/// A test case: tweets in arrival order, split into batches, plus the graph configuration.
#[derive(Debug, Clone)]
struct Case {
    tweets: Vec<Tweet>,
    batch_ends: Vec<usize>,
    config: GraphConfig,
}

fn tweet_strategy() -> impl Strategy<Value = (u64, Vec<usize>, usize, Option<usize>)> {
    (
        // Event times within ten minutes, on whole seconds or anywhere, to hit window edges.
        prop_oneof![(0u64..600).prop_map(|s| s * 1_000), 0u64..600_000],
        prop::collection::vec(0..TAGS.len(), 0..4),
        0..LANGS.len(),
        prop::option::weighted(0.3, 0usize..1_000),
    )
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let specs = prop::sample::subsequence(vec!["1m", "3m/1m", "2m/40s", "150s/30s", "90s/90s"], 1..=3);
    // No trending view, or one with a baseline of twelve lengths, 30 s, 1 m or 2 m, a small
    // minimum count so that the few tweets of a case make candidates, and a minimum score that
    // takes every candidate, the default's, or between.
    let trend = prop::option::weighted(
        0.7,
        (
            prop::sample::select(vec![None, Some(30_000), Some(60_000), Some(120_000)]),
            1u64..4,
            prop::sample::select(vec![f64::MIN, 0.0, 1.5, TrendConfig::MIN_SCORE]),
        ),
    );
    (prop::collection::vec(tweet_strategy(), 0..80), specs, 1usize..5, 0usize..5, any::<u64>(), trend).prop_map(
        |(raw, specs, k, tick_choice, shuffle_seed, trend)| {
            let mut tweets: Vec<Tweet> = Vec::new();
            for (i, (created_at, tags, lang, retweet)) in raw.into_iter().enumerate() {
                let retweet_of = retweet.filter(|_| !tweets.is_empty()).map(|j| tweets[j % tweets.len()].id);
                let text = tags.iter().map(|t| TAGS[*t]).collect::<Vec<_>>().join(" ");
                tweets.push(Tweet {
                    id: 1_000 + i as u64,
                    text: format!("hello {text}"),
                    created_at,
                    lang: LANGS[lang].to_string(),
                    user_id: None,
                    retweet_of,
                });
            }
            let windows: Vec<WindowSpec> = specs.iter().map(|s| s.parse().expect("valid spec")).collect();
            // A fixed tick (1 ms, 1 s, 10 s, the coarsest for all specs) or each length's coarsest.
            let coarsest = GraphConfig::coarsest_tick(&windows);
            let config = match [1, 1_000, 10_000, coarsest].get(tick_choice) {
                Some(&tick) => GraphConfig::new(windows, k, if coarsest % tick == 0 { tick } else { 1 }),
                None => GraphConfig::coarsest(windows, k),
            };
            // A baseline that is no multiple of a fixed tick falls back to the default.
            let config = match trend {
                Some((baseline, min_count, min_score)) => config.and_then(|config| {
                    let trend = |baseline| {
                        TrendConfig::new(baseline, min_count)
                            .and_then(|trend| trend.with_min_score(min_score))
                            .expect("valid trend settings")
                    };
                    config.clone().with_trending(trend(baseline)).or_else(|_| config.with_trending(trend(None)))
                }),
                None => config,
            };
            // Arrival order: a deterministic shuffle of the tweets, cut into batches.
            let mut order: Vec<(u64, Tweet)> = tweets
                .into_iter()
                .enumerate()
                .map(|(i, t)| ((i as u64 + 1).wrapping_mul(shuffle_seed | 1).rotate_left(17), t))
                .collect();
            order.sort_by_key(|(key, _)| *key);
            let tweets: Vec<Tweet> = order.into_iter().map(|(_, t)| t).collect();
            let batch_ends =
                (1..=tweets.len()).filter(|i| (shuffle_seed >> (i % 64)) & 1 == 1 || *i == tweets.len()).collect();
            Case { tweets, batch_ends, config: config.expect("valid config") }
        },
    )
}

/// Every ranking the graph published over the case with `workers` threads, live ones too with
/// `live`; each worker feeds its share of every batch and then lets its input frontier advance as
/// far as its remaining tweets allow.
fn run_case(case: &Case, workers: usize, live: bool) -> Vec<Snapshot> {
    published(&Feed { tweets: &case.tweets, batch_ends: &case.batch_ends, config: &case.config, workers, live })
}

/// The final views of [`run_case`].
fn run_graph(case: &Case, workers: usize, changes: bool) -> FinalViews {
    let mut views = FinalViews::default();
    for snapshot in run_case(case, workers, changes) {
        views.record(snapshot);
    }
    views
}

/// Checks one live ranking against the reference: its rows are the views over the span it states,
/// `as_of` lies inside the slide before the window it names and no later than the last tweet's
/// tick.
fn check_live<R: PartialEq + std::fmt::Debug>(
    ranking: &Ranking<R>,
    expected: impl FnOnce(&reference::SpanViews) -> Option<(Vec<R>, bool)>,
    case: &Case,
    all: &Tweets,
) -> Result<(), TestCaseError> {
    let window = ranking.window;
    let (start, end) = ranking.span();
    prop_assert!(!ranking.is_final);
    prop_assert!(
        window.end - window.spec.slide_ms() < ranking.as_of && ranking.as_of < window.end,
        "live ranking of {window:?} as of {}: not inside the slide before its end",
        ranking.as_of
    );
    // Nothing live once the input has ended: no ranking as of a tick after the last tweet's.
    let last_tick = case.tweets.iter().map(|tweet| case.config.enters_at(tweet.created_at)).max().unwrap_or(0);
    prop_assert!(
        ranking.as_of <= last_tick,
        "a live ranking as of {} after the last tweet's tick {last_tick}",
        ranking.as_of
    );
    prop_assert!(!ranking.rows.is_empty(), "a live ranking without rows of {window:?} as of {}", ranking.as_of);
    let span = all.views_over(&case.config, window.spec.length_ms(), ranking.as_of);
    let (rows, partial_baseline) = expected(&span).unwrap_or_default();
    prop_assert_eq!(&ranking.rows, &rows, "live ranking of {:?} over [{}, {})", window, start, end);
    prop_assert_eq!(ranking.partial_baseline, partial_baseline);
    Ok(())
}

/// Checks every live ranking of a run against the reference over its stated span.
fn check_every_live_ranking(case: &Case, workers: usize) -> Result<usize, TestCaseError> {
    let all = Tweets::new(&case.tweets);
    let mut live = 0;
    for snapshot in run_case(case, workers, true).into_iter().filter(|snapshot| !snapshot.is_final()) {
        live += 1;
        match &snapshot {
            Snapshot::Hashtags(r) => check_live(r, |span| Some((span.hashtags.clone(), false)), case, &all)?,
            Snapshot::Tweets(r) => check_live(r, |span| Some((span.tweets.clone(), false)), case, &all)?,
            Snapshot::Languages(r) => check_live(r, |span| Some((span.languages.clone(), false)), case, &all)?,
            Snapshot::Trending(r) => check_live(
                r,
                |span| span.trending.clone().map(|trending| (trending.rows, trending.partial_baseline)),
                case,
                &all,
            )?,
        }
    }
    Ok(live)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_live_ranking_equals_the_reference_over_the_span_it_states(
        case in case_strategy(),
        workers in 1usize..=3,
    ) {
        check_every_live_ranking(&case, workers)?;
    }

    #[test]
    fn final_views_equal_the_reference_with_one_worker(case in case_strategy(), changes in any::<bool>()) {
        let expected = reference::final_views(&case.tweets, &case.config);
        let actual = run_graph(&case, 1, changes);
        prop_assert!(actual == expected, "{}", actual.first_difference(&expected).unwrap_or_default());
    }

    #[test]
    fn final_views_equal_the_reference_with_several_workers(case in case_strategy(), workers in 2usize..=3) {
        let expected = reference::final_views(&case.tweets, &case.config);
        let actual = run_graph(&case, workers, true);
        prop_assert!(actual == expected, "{}", actual.first_difference(&expected).unwrap_or_default());
    }
}

#[test]
fn retweets_outrank_hashtags_and_credit_the_original() {
    let tweet = |id, text: &str, at, retweet_of| Tweet {
        id,
        text: text.into(),
        created_at: at,
        lang: "en".into(),
        user_id: None,
        retweet_of,
    };
    let tweets = vec![
        tweet(1, "#a #b #c", 1_000, None),
        tweet(2, "plain", 2_000, None),
        tweet(3, "RT plain", 3_000, Some(2)),
        tweet(4, "#a", 4_000, None),
    ];
    let config = GraphConfig::new(vec!["1m".parse().expect("valid spec")], 10, 1_000).expect("valid config");
    let case = Case { batch_ends: vec![tweets.len()], tweets, config };
    let views = run_graph(&case, 2, false);
    let ranking: Vec<(u64, u64, u64)> = views
        .tweets
        .values()
        .next()
        .expect("one window")
        .iter()
        .map(|t| (t.tweet_id, t.retweets, t.hashtags))
        .collect();
    assert_eq!(ranking, vec![(2, 1, 0), (1, 0, 3), (4, 0, 1)]);
    let top: Vec<(String, u64)> =
        views.hashtags.values().next().expect("one window").iter().map(|h| (h.hashtag.to_string(), h.count)).collect();
    assert_eq!(top, vec![("a".to_string(), 2), ("b".to_string(), 1), ("c".to_string(), 1)]);
}
