//! Property: whatever the arrival order, batching, tick and worker count, the graph's final views
//! equal the reference implementation's, and so does every live ranking over the span it states.

use proptest::prelude::*;
use trendflow_dataflows::config::GraphConfig;
use trendflow_dataflows::reference::{self, Tweets};
use trendflow_dataflows::testing::{arrival, case_graph, published, trend_strategy, Feed};
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
    let trend = trend_strategy();
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
            let (config, _) = case_graph(windows, k, tick_choice, trend);
            let (tweets, batch_ends) = arrival(tweets, shuffle_seed);
            Case { tweets, batch_ends, config }
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
