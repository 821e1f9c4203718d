use std::collections::{BTreeSet, HashMap, HashSet};

use differential_dataflow::input::Input;
use trendflow_dataflows::config::{GraphConfig, TrendConfig};
use trendflow_dataflows::graph::rankings;
use trendflow_dataflows::hashtags::extract_hashtags;
use trendflow_dataflows::views::FinalViews;
use trendflow_dataflows::window::{Window, WindowSpec};
use trendflow_dataflows::Contribution;

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
        let generator = Generator::new(GeneratorConfig { tweets: 20_000, disorder_ms, ..GeneratorConfig::default() })
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
    let has = |range: std::ops::RangeInclusive<char>| tags.iter().any(|tag| tag.chars().any(|c| range.contains(&c)));
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

/// The final views of `tweets` (fed in event-time order) through the graph of `config`.
fn graph_views(tweets: &[Tweet], config: &GraphConfig) -> FinalViews {
    let views = std::sync::Arc::new(std::sync::Mutex::new(FinalViews::default()));
    let (sink, config) = (views.clone(), config.clone());
    let mut tweets = tweets.to_vec();
    tweets.sort_by_key(|tweet| tweet.created_at);
    timely::execute_directly(move |worker| {
        let mut input = worker.dataflow(|scope| {
            let (input, contributions) = scope.new_collection::<Contribution, isize>();
            let sink = sink.clone();
            rankings(contributions, &config).publish(false, move |snapshot| sink.lock().unwrap().record(snapshot));
            input
        });
        for tweet in tweets {
            let at = tweet.created_at;
            input.update_at(Contribution::of(tweet), at, 1);
        }
    });
    let views = views.lock().unwrap().clone();
    views
}

#[test]
fn a_burst_trends_within_one_slide_of_its_start() {
    // Three hours at 20 tweets/s; the hour's baseline of `5m/1m` is full from the 65th minute.
    let generator =
        Generator::new(GeneratorConfig { tweets: 216_000, rate_per_sec: 20.0, ..GeneratorConfig::default() })
            .expect("valid");
    let spec: WindowSpec = "5m/1m".parse().expect("a spec");
    let trend = TrendConfig::default();
    let config = GraphConfig::new(vec![spec], 10, 60_000).and_then(|c| c.with_trending(trend)).expect("valid");
    let tweets: Vec<Tweet> = generator.share(0, 1).collect();
    let views = graph_views(&tweets, &config);
    let start = generator.config().start_ms;
    let slide = spec.slide_ms();
    let full_baseline_from = start + spec.length_ms() + trend.baseline_ms(spec.length_ms());
    let last_end = tweets.iter().map(|tweet| tweet.created_at).max().unwrap_or(start) / slide * slide;
    let mut found_at = Vec::new();
    for slot in 0..(last_end - start) / SLOT_MS {
        let Some(burst) = generator.burst(generator.slot_event(slot)) else { continue };
        let burst_start = start + burst.start;
        let first_end = (burst_start / slide + 1) * slide;
        if first_end < full_baseline_from || first_end + 2 * slide > last_end {
            continue;
        }
        let mut tag = String::new();
        generator.write_tag_name(burst.tag, Style::Lower, &mut tag);
        // The first window in which the burst's tag is a candidate: it must trend there.
        let mut end = first_end;
        let first_candidate = loop {
            let window = Window { spec, end };
            let count: u64 = tweets
                .iter()
                .filter(|tweet| window.start() <= tweet.created_at && tweet.created_at < end)
                .map(|tweet| extract_hashtags(&tweet.text).iter().filter(|t| **t == tag).count() as u64)
                .sum();
            if count >= trend.min_count() || end >= burst_start + burst.duration {
                break (count >= trend.min_count()).then_some(window);
            }
            end += slide;
        };
        let Some(window) = first_candidate else { continue };
        let trending = views.trending.get(&window).map(|w| &w.rows[..]).unwrap_or_default();
        let rank = trending.iter().position(|row| row.hashtag == tag);
        assert!(rank.is_some(), "#{tag} bursting from {burst_start} is not trending in {window:?}: {trending:?}");
        assert!(!views.trending[&window].partial_baseline);
        found_at.push((tag, (window.end - first_end) / slide, rank));
    }
    assert!(found_at.len() >= 3, "too few bursts to check: {found_at:?}");
    assert!(
        found_at.iter().all(|(_, slides, _)| *slides <= 1),
        "every burst trends within one slide of the first window after its start: {found_at:?}"
    );
}
