//! trendflow's topics: their roles and names, and creating and deleting them.

use std::sync::LazyLock;

use anyhow::{bail, Context, Result};
use clap::builder::PossibleValue;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication, TopicResult};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaResult;
use rdkafka::types::RDKafkaErrorCode;

use super::KafkaConfig;
use crate::vocabulary::ViewKind;

/// trendflow's topics, by role (the prefix is added to their names); also the topic argument of
/// `trendflow topics read|write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// Input: one message per tweet, key the tweet id, value the seed producer's JSON.
    Tweets,
    /// Output: one message per extracted hashtag occurrence.
    Hashtags,
    /// Output: a view's ranking snapshots, keyed by window spec and end.
    Ranking(RankingTopic),
    /// Input that could not be used, with the reason.
    DeadLetter,
}

/// The ranking topic of a view that has one: made by [`Topic::of_view`] alone, so that a view
/// kept in MySQL alone has none. A new view with a topic needs nothing here: its
/// [`ViewKind::topic_name`] makes it one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankingTopic {
    view: ViewKind,
    name: &'static str,
}

impl Topic {
    /// Every topic, the views' ranking topics in the order of [`ViewKind::ALL`].
    pub fn all() -> impl Iterator<Item = Topic> {
        let rankings = ViewKind::ALL.into_iter().filter_map(Topic::of_view);
        [Topic::Tweets, Topic::Hashtags].into_iter().chain(rankings).chain([Topic::DeadLetter])
    }

    /// The topic a view's snapshots are published to; `None` for a view kept in MySQL alone.
    pub fn of_view(view: ViewKind) -> Option<Topic> {
        view.topic_name().map(|name| Topic::Ranking(RankingTopic { view, name }))
    }

    /// The view whose snapshots the topic carries, if it carries any.
    pub fn view(self) -> Option<ViewKind> {
        match self {
            Topic::Ranking(ranking) => Some(ranking.view),
            _ => None,
        }
    }

    /// The topic's name before the prefix.
    pub fn base_name(self) -> &'static str {
        match self {
            Topic::Tweets => "tweets",
            Topic::Hashtags => "hashtags",
            Topic::Ranking(ranking) => ranking.name,
            Topic::DeadLetter => "tweets_dead_letter",
        }
    }
}

/// `topics read|write NAME`: `tweets`, `hashtags`, a ranking topic's name with dashes
/// (`top-hashtags`), `dead-letter`.
impl clap::ValueEnum for Topic {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: LazyLock<Vec<Topic>> = LazyLock::new(|| Topic::all().collect());
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Topic::DeadLetter => PossibleValue::new("dead-letter"),
            topic => PossibleValue::new(topic.base_name().replace('_', "-")),
        })
    }
}

impl KafkaConfig {
    /// Creates every trendflow topic that does not exist yet; returns the names it created.
    /// Existing topics are left as they are, whatever their partition count.
    pub fn create_topics(&self, partitions: i32, replication: i32) -> Result<Vec<String>> {
        if partitions < 1 || replication < 1 {
            bail!("--partitions and --replication must be at least 1");
        }
        // Asking the broker first makes this quiet and idempotent on brokers that answer
        // create-topics for an existing topic with something other than TopicAlreadyExists.
        let names = self.trendflow_topics(false)?;
        if names.is_empty() {
            return Ok(names);
        }
        let new_topics: Vec<NewTopic> =
            names.iter().map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(replication))).collect();
        let (admin, options) = self.admin()?;
        let results = futures_executor::block_on(admin.create_topics(&new_topics, &options));
        self.check(results, RDKafkaErrorCode::TopicAlreadyExists, "creating")?;
        Ok(names)
    }

    /// Deletes whichever of trendflow's topics (under the prefix) exist, and returns their names.
    pub fn delete_topics(&self) -> Result<Vec<String>> {
        let names = self.trendflow_topics(true)?;
        if names.is_empty() {
            return Ok(names);
        }
        let topics: Vec<&str> = names.iter().map(String::as_str).collect();
        let (admin, options) = self.admin()?;
        let results = futures_executor::block_on(admin.delete_topics(&topics, &options));
        self.check(results, RDKafkaErrorCode::UnknownTopicOrPartition, "deleting")?;
        Ok(names)
    }

    /// The names of trendflow's topics (under the prefix) that the broker has (`existing`), or
    /// that it lacks.
    fn trendflow_topics(&self, existing: bool) -> Result<Vec<String>> {
        let metadata = self.metadata_client()?.fetch_metadata(None, self.wait()).map_err(|e| self.explain(e))?;
        let known: Vec<&str> = metadata.topics().iter().map(|t| t.name()).collect();
        let names = Topic::all().map(|topic| self.topic(topic));
        Ok(names.filter(|name| known.contains(&name.as_str()) == existing).collect())
    }

    fn admin(&self) -> Result<(AdminClient<DefaultClientContext>, AdminOptions)> {
        let admin =
            self.client_config().create().with_context(|| format!("creating a Kafka admin client for {self}"))?;
        Ok((admin, AdminOptions::new().operation_timeout(Some(self.wait()))))
    }

    /// The outcome of an admin request on topics: an error unless every topic succeeded or
    /// failed with `harmless` (it was already as asked).
    fn check(&self, results: KafkaResult<Vec<TopicResult>>, harmless: RDKafkaErrorCode, verb: &str) -> Result<()> {
        for result in results.map_err(|e| self.explain(e)).with_context(|| format!("{verb} topics"))? {
            match result {
                Err((name, code)) if code != harmless => bail!("{self}: {verb} topic '{name}': {code}"),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::config::tests::args;

    #[test]
    fn topics_carry_the_prefix() {
        let config = args(&[]).config().unwrap();
        assert_eq!(config.topic(Topic::of_view(ViewKind::Hashtags).unwrap()), "t1.top_hashtags");
        assert_eq!(config.topic(Topic::DeadLetter), "t1.tweets_dead_letter");
    }

    #[test]
    fn the_command_line_names_every_topic_as_before() {
        use clap::ValueEnum;
        let names: Vec<String> = Topic::value_variants()
            .iter()
            .map(|topic| topic.to_possible_value().unwrap().get_name().to_string())
            .collect();
        let expected = ["tweets", "hashtags", "top-hashtags", "top-tweets", "trending-hashtags", "dead-letter"];
        assert_eq!(names, expected);
        assert_eq!(Topic::from_str("top-tweets", false), Ok(Topic::of_view(ViewKind::Tweets).unwrap()));
        assert_eq!(Topic::of_view(ViewKind::Languages), None, "the languages view is kept in MySQL alone");
    }
}
