//! trendflow's topics: their roles and names, and creating and deleting them.

use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication, TopicResult};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaResult;
use rdkafka::types::RDKafkaErrorCode;

use super::KafkaConfig;
use crate::vocabulary::ViewKind;

/// trendflow's topics, by role (the prefix is added to their names); also the topic argument of
/// `trendflow topics read|write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Topic {
    /// Input: one message per tweet, key the tweet id, value the seed producer's JSON.
    Tweets,
    /// Output: one message per extracted hashtag occurrence.
    Hashtags,
    /// Output: ranking snapshots of hashtags, keyed by window spec and end.
    TopHashtags,
    /// Output: ranking snapshots of tweets, keyed by window spec and end.
    TopTweets,
    /// Output: ranking snapshots of trending hashtags, keyed by window spec and end.
    TrendingHashtags,
    /// Input that could not be used, with the reason.
    DeadLetter,
}

impl Topic {
    pub const ALL: [Topic; 6] = [
        Topic::Tweets,
        Topic::Hashtags,
        Topic::TopHashtags,
        Topic::TopTweets,
        Topic::TrendingHashtags,
        Topic::DeadLetter,
    ];

    /// The topic a view's snapshots are published to; `None` for a view kept in MySQL alone.
    pub fn of_view(kind: ViewKind) -> Option<Topic> {
        match kind {
            ViewKind::Hashtags => Some(Topic::TopHashtags),
            ViewKind::Tweets => Some(Topic::TopTweets),
            ViewKind::Trending => Some(Topic::TrendingHashtags),
            ViewKind::Languages => None,
        }
    }

    /// The view whose snapshots the topic carries, if it carries any.
    pub fn view(self) -> Option<ViewKind> {
        ViewKind::ALL.into_iter().find(|kind| Topic::of_view(*kind) == Some(self))
    }

    /// The topic's name before the prefix.
    pub fn base_name(self) -> &'static str {
        match self {
            Topic::Tweets => "tweets",
            Topic::Hashtags => "hashtags",
            Topic::TopHashtags => "top_hashtags",
            Topic::TopTweets => "top_tweets",
            Topic::TrendingHashtags => "trending_hashtags",
            Topic::DeadLetter => "tweets_dead_letter",
        }
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
        let names = Topic::ALL.iter().map(|t| self.topic(*t));
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
        assert_eq!(config.topic(Topic::TopHashtags), "t1.top_hashtags");
        assert_eq!(config.topic(Topic::DeadLetter), "t1.tweets_dead_letter");
    }
}
