//! Extraction agrees with Twitter's own hashtag entities, as the seed dump's `tweet_hashtags`
//! table records them, for at least 99.8% of the seed's tweets; and every seed date parses.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;

use crate::common::seed_dump;
use trendflow::source::seed_dump::{DumpReader, DumpRow};
use trendflow::source::seed_tweet::SeedTweet;
use trendflow_dataflows::hashtags::extract_hashtags;

/// A tweet extraction disagrees on: its id, text, the dump's tags and the extracted ones.
type Disagreement = (u64, String, Vec<String>, Vec<String>);

struct Seed {
    tweets: Vec<SeedTweet>,
    /// Each tweet's hashtags as Twitter reported them, as a sorted multiset.
    truth: HashMap<u64, Vec<String>>,
}

fn read_seed() -> Seed {
    let path = seed_dump();
    let file = File::open(&path).unwrap_or_else(|e| panic!("opening the seed dump {}: {e}", path.display()));
    let mut tweets = Vec::new();
    let mut names = HashMap::new();
    let mut links = Vec::new();
    for row in DumpReader::new(BufReader::new(file)) {
        match row.expect("the seed dump parses") {
            DumpRow::Tweet(tweet) => tweets.push(tweet),
            DumpRow::Hashtag { hashtag_id, hashtag } => {
                names.insert(hashtag_id, hashtag);
            }
            DumpRow::TweetHashtag { tweet_id, hashtag_id, count } => links.push((tweet_id, hashtag_id, count)),
        }
    }
    let mut truth: HashMap<u64, Vec<String>> = HashMap::new();
    for (tweet_id, hashtag_id, count) in links {
        let name =
            names.get(&hashtag_id).unwrap_or_else(|| panic!("tweet_hashtags names unknown hashtag {hashtag_id}"));
        truth.entry(tweet_id).or_default().extend(std::iter::repeat_n(name.clone(), count as usize));
    }
    truth.values_mut().for_each(|tags| tags.sort());
    Seed { tweets, truth }
}

/// Why extraction and the dump disagree on a tweet, as far as the texts show.
fn category(text: &str, expected: &[String], found: &[String]) -> &'static str {
    let missing: Vec<&String> = expected.iter().filter(|tag| !found.contains(tag)).collect();
    if missing.iter().any(|tag| tag.contains('?')) || text.contains("#?") {
        "emoji or other characters mangled to '?' in the dump"
    } else if text.ends_with('…') || missing.iter().any(|tag| !text.to_lowercase().contains(tag.as_str())) {
        "text truncated in the dump (the entity is not in the stored text)"
    } else if missing.is_empty() {
        "the dump's entities lack a tag that stands in the text"
    } else {
        "other"
    }
}

#[test]
fn extraction_agrees_with_the_dump_for_at_least_99_8_percent_of_tweets() {
    let seed = read_seed();
    assert_eq!(seed.tweets.len(), 8_759, "the seed dump has 8,759 tweets");
    let mut agreeing = 0;
    let mut disagreements: BTreeMap<&str, Vec<Disagreement>> = BTreeMap::new();
    for tweet in &seed.tweets {
        let text = tweet.tweet.clone().unwrap_or_default();
        let mut found = extract_hashtags(&text);
        found.sort();
        let expected = seed.truth.get(&tweet.tweet_id).cloned().unwrap_or_default();
        if found == expected {
            agreeing += 1;
        } else {
            let why = category(&text, &expected, &found);
            disagreements.entry(why).or_default().push((tweet.tweet_id, text, expected, found));
        }
    }
    let share = agreeing as f64 / seed.tweets.len() as f64;
    println!("extraction agrees with the dump on {agreeing}/{} tweets ({:.2}%)", seed.tweets.len(), share * 100.0);
    for (why, cases) in &disagreements {
        let (id, text, expected, found) = &cases[0];
        println!("  {} x {why}; e.g. tweet {id}: dump {expected:?}, extracted {found:?}, text {text:?}", cases.len());
    }
    assert!(share >= 0.998, "agreement {:.3}% is below 99.8%", share * 100.0);
}

#[test]
fn every_seed_tweet_becomes_a_tweet() {
    let seed = read_seed();
    let failures: Vec<String> =
        seed.tweets.into_iter().filter_map(|row| row.into_tweet().err()).map(|error| error.to_string()).collect();
    assert!(failures.is_empty(), "{} seed rows failed, e.g. {:?}", failures.len(), failures.first());
}
