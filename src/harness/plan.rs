//! How a layer feeds the graph, named after what each job means by it: the batch layer over the
//! stored history, the stream job, and the demo's two runs over generated tweets.

use trendflow_dataflows::config::GraphConfig;

/// Which rankings a layer's run hands its job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publishing {
    /// Each window's final ranking only: what a batch writes.
    FinalOnly,
    /// Every ranking, live and final, in the order computed.
    EveryChange,
    /// Live rankings too, but one is left out when a later ranking of the same view and window
    /// is already waiting beside it: what a sink that only keeps each window's latest ranking
    /// needs (see [`crate::harness::collect`]).
    LatestLive,
}

impl Publishing {
    /// Whether the graph publishes live rankings, not only final ones.
    pub fn live(self) -> bool {
        self != Publishing::FinalOnly
    }
}

/// How one layer feeds the graph; built by the constructor that names the job.
#[derive(Clone)]
pub struct LayerPlan {
    /// Shown in the progress line, and in the error of a run that failed.
    pub(crate) name: &'static str,
    pub(crate) graph: GraphConfig,
    /// For an ordered source: how far the input frontier trails the latest event time seen. A
    /// driven source advances the frontier itself.
    pub(crate) slack_ms: u64,
    pub(crate) publishing: Publishing,
    /// How many tweets to expect, for the progress bar, when known.
    pub(crate) expected_tweets: Option<u64>,
}

impl LayerPlan {
    /// The batch layer over the stored history, which each worker reads in event-time order (so
    /// nothing it reads later is older): final rankings only.
    pub fn history(graph: GraphConfig) -> Self {
        LayerPlan { name: "batch", graph, slack_ms: 0, publishing: Publishing::FinalOnly, expected_tweets: None }
    }

    /// The stream job: its source drives the input frontier, and its sinks (the ranking topics,
    /// keyed by window) keep each window's latest ranking.
    pub fn stream(graph: GraphConfig) -> Self {
        LayerPlan { name: "stream", graph, slack_ms: 0, publishing: Publishing::LatestLive, expected_tweets: None }
    }

    /// The demo's stream over `tweets` generated tweets that arrive out of event-time order: the
    /// frontier trails the latest event time by `lateness_ms`, and every ranking change is
    /// published.
    pub fn demo_stream(graph: GraphConfig, lateness_ms: u64, tweets: u64) -> Self {
        LayerPlan {
            name: "stream",
            graph,
            slack_ms: lateness_ms,
            publishing: Publishing::EveryChange,
            expected_tweets: Some(tweets),
        }
    }

    /// The demo's batch over the same `tweets` generated tweets: the frontier trails the latest
    /// event time by the generator's `disorder_ms`, so that no tweet is late, and only final
    /// rankings are published.
    pub fn demo_batch(graph: GraphConfig, disorder_ms: u64, tweets: u64) -> Self {
        LayerPlan {
            name: "batch",
            graph,
            slack_ms: disorder_ms,
            publishing: Publishing::FinalOnly,
            expected_tweets: Some(tweets),
        }
    }
}
