//! The vocabulary every edge shares: which layer wrote a view ([`Layer`]), which view
//! ([`ViewKind`]), a view's ranked rows ([`snapshot::ViewRows`]), the ranking snapshot as it
//! crosses the broker ([`snapshot::SnapshotMessage`]), a hashtag occurrence on the `hashtags` topic
//! ([`occurrence::HashtagOccurrence`]), why input is refused
//! ([`rejection::Reason`]), the dead letter that says so ([`dead_letter::DeadLetter`]) and what
//! each job reports when it ends ([`report`]). The Kafka sink, the MySQL view tables, `serve`,
//! `views`, `verify`, the tests and the benchmarks all speak it, so that a field has one name and
//! one type wherever it goes.
//!
//! Field names, one per field everywhere (topics, tables, the API, `views --format json`): a
//! view row's tally is `count` (the trending view's baseline tally `baseline`), a language code
//! is `language`.

pub mod dead_letter;
pub mod occurrence;
pub mod rejection;
pub mod report;
pub mod snapshot;

use serde::{Deserialize, Serialize};
use trendflow_dataflows::views::Snapshot;

/// Which layer wrote a view: the batch layer over the history, or the speed layer over the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Batch,
    Speed,
}

impl Layer {
    /// The layer's name, as flags, the view tables and the API spell it.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Batch => "batch",
            Layer::Speed => "speed",
        }
    }
}

/// Which view: each has a table of its own, keyed by layer, window spec, window end and rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    Hashtags,
    Tweets,
    Languages,
    Trending,
}

impl ViewKind {
    pub const ALL: [ViewKind; 4] = [ViewKind::Hashtags, ViewKind::Tweets, ViewKind::Languages, ViewKind::Trending];

    /// The view a snapshot belongs to.
    pub fn of(snapshot: &Snapshot) -> ViewKind {
        match snapshot {
            Snapshot::Hashtags(_) => ViewKind::Hashtags,
            Snapshot::Tweets(_) => ViewKind::Tweets,
            Snapshot::Languages(_) => ViewKind::Languages,
            Snapshot::Trending(_) => ViewKind::Trending,
        }
    }

    /// The name (before the prefix) of the topic the stream publishes the view's snapshots to;
    /// `None` for a view kept in MySQL alone.
    pub fn topic_name(self) -> Option<&'static str> {
        match self {
            ViewKind::Hashtags => Some("top_hashtags"),
            ViewKind::Tweets => Some("top_tweets"),
            ViewKind::Languages => None,
            ViewKind::Trending => Some("trending_hashtags"),
        }
    }

    /// The view's name, as flags, the API and the live push spell it.
    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Hashtags => "hashtags",
            ViewKind::Tweets => "tweets",
            ViewKind::Languages => "languages",
            ViewKind::Trending => "trending",
        }
    }
}
