//! The stream's publishing, on the calling thread: each ranking the graph publishes goes to its
//! ranking topic and the view tables, and each checkpoint is stored once the broker has confirmed
//! the rankings ahead of it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use trendflow_dataflows::config::GraphConfig;
use trendflow_dataflows::views::Snapshot;
use trendflow_dataflows::EventTime;

use crate::checkpoint::Checkpoint;
use crate::harness::layer::Output;
use crate::kafka::producer::{KafkaSink, SentBefore};
use crate::kafka::{KafkaConfig, Topic};
use crate::mysql::MysqlConfig;
use crate::mysql::{CheckpointStore, ViewWriter};
use crate::sink::stream_metrics::StreamMetrics;
use crate::vocabulary::snapshot::{snapshot_json, window_key};
use crate::vocabulary::{Layer, ViewKind};

/// What the stream published, for its summary.
pub(super) struct Published {
    /// Ranking snapshots sent to the ranking topics.
    pub snapshots: u64,
    /// Of those, the ones the broker confirmed.
    pub confirmed: u64,
    pub checkpoints_stored: u64,
}

/// Where the stream's rankings and checkpoints go.
pub(super) struct Publisher {
    views: ViewWriter,
    rankings: KafkaSink,
    topics: RankingTopics,
    checkpoints: CheckpointStore,
    unconfirmed: UnconfirmedCheckpoints,
    metrics: Arc<StreamMetrics>,
    publishable: Publishable,
    snapshots: u64,
}

/// Which rankings are complete enough to publish: not those a restart wrote before and did not
/// rebuild in full, nor those a stop by a signal closed early.
pub(super) struct Publishable {
    /// The graph, and the first event time it rebuilds in full after a restart.
    graph: GraphConfig,
    rebuild_from: EventTime,
    stop: Arc<AtomicBool>,
    /// The local workers, and how many of them have handed over their last checkpoint.
    local_workers: usize,
    finished_workers: usize,
}

impl Publishable {
    /// The rankings of `graph` that reach no earlier than `rebuild_from`, until `stop` is set and
    /// every one of the `local_workers` has handed over its last checkpoint.
    pub fn new(graph: GraphConfig, rebuild_from: EventTime, stop: Arc<AtomicBool>, local_workers: usize) -> Self {
        Publishable { graph, rebuild_from, stop, local_workers, finished_workers: 0 }
    }

    fn checkpoint(&mut self, checkpoint: &Checkpoint) {
        self.finished_workers += usize::from(checkpoint.last);
    }

    fn admits(&self, snapshot: &Snapshot) -> bool {
        // Once stopped by a signal, the workers close their inputs after their last checkpoint
        // and the graph closes every window: those rankings are incomplete, and must not be
        // published as final.
        let stopped = self.stop.load(Ordering::Relaxed) && self.finished_workers == self.local_workers;
        // Written before the restart, and not rebuilt in full: the tweets they began with (for a
        // trending window, its baseline's) were not read again.
        !stopped && self.graph.reaches_from(snapshot) >= self.rebuild_from
    }
}

/// The ranking topics' names, by view ([`Topic::of_view`]); a view without one is not published.
struct RankingTopics(HashMap<ViewKind, String>);

impl RankingTopics {
    fn new(kafka: &KafkaConfig) -> Self {
        RankingTopics(
            ViewKind::ALL.into_iter().filter_map(|kind| Some((kind, kafka.topic(Topic::of_view(kind)?)))).collect(),
        )
    }

    fn of(&self, snapshot: &Snapshot) -> Option<&str> {
        self.0.get(&ViewKind::of(snapshot)).map(String::as_str)
    }
}

impl Publisher {
    /// Publishes the `publishable` rankings into the speed layer's view tables and the ranking
    /// topics, and stores checkpoints in `checkpoints`.
    pub fn open(
        kafka: &KafkaConfig,
        mysql: &MysqlConfig,
        publishable: Publishable,
        checkpoints: CheckpointStore,
        metrics: Arc<StreamMetrics>,
    ) -> Result<Self> {
        let topics = RankingTopics::new(kafka);
        Ok(Publisher {
            views: ViewWriter::new(mysql, Layer::Speed)?,
            rankings: KafkaSink::new(kafka)?,
            topics,
            checkpoints,
            unconfirmed: UnconfirmedCheckpoints::default(),
            metrics,
            publishable,
            snapshots: 0,
        })
    }

    /// Handles one output of the graph's run; whatever came, the broker may have confirmed what
    /// a waiting checkpoint covers.
    pub fn handle(&mut self, output: Output<Checkpoint>) -> Result<()> {
        match output {
            Output::Checkpoint(checkpoint) => {
                self.publishable.checkpoint(&checkpoint);
                self.unconfirmed.push(checkpoint, &self.rankings);
            }
            Output::Snapshot(snapshot) => self.publish(&snapshot)?,
            Output::Quiet => {}
        }
        self.unconfirmed.store_confirmed(&self.rankings, &mut self.checkpoints, &self.metrics)
    }

    fn publish(&mut self, snapshot: &Snapshot) -> Result<()> {
        if !self.publishable.admits(snapshot) {
            return Ok(());
        }
        if let Some(topic) = self.topics.of(snapshot) {
            let key = window_key(&snapshot.window());
            let message = snapshot_json(snapshot).context("encoding a ranking snapshot")?;
            self.rankings.send(topic, key.as_bytes(), message.as_bytes())?;
            self.rankings.poll();
            self.snapshots += 1;
            self.metrics.published(snapshot.window().end);
        }
        self.views.write(snapshot)
    }

    /// Waits for the broker to confirm every ranking sent, and stores the checkpoints that waited
    /// for it.
    pub fn finish(mut self) -> Result<Published> {
        let delivered = self.rankings.flush()?;
        self.unconfirmed.store_confirmed(&self.rankings, &mut self.checkpoints, &self.metrics)?;
        Ok(Published {
            snapshots: self.snapshots,
            confirmed: delivered.delivered,
            checkpoints_stored: self.checkpoints.stored,
        })
    }
}

/// The checkpoints whose rankings the broker has yet to confirm, in the order taken. The rankings
/// ahead of a checkpoint are in the view tables when it arrives (each write commits), but a
/// restart may skip them only once the broker has them too. Waiting for that at each checkpoint
/// would hold up publishing for a broker round trip every second, so the job goes on and stores
/// each checkpoint once the broker has confirmed the rankings sent before it.
#[derive(Default)]
struct UnconfirmedCheckpoints(VecDeque<(Checkpoint, SentBefore)>);

impl UnconfirmedCheckpoints {
    fn push(&mut self, checkpoint: Checkpoint, rankings: &KafkaSink) {
        self.0.push_back((checkpoint, rankings.sent_so_far()));
    }

    /// Stores, in order, each checkpoint whose rankings the broker has confirmed, without waiting.
    fn store_confirmed(
        &mut self,
        rankings: &KafkaSink,
        store: &mut CheckpointStore,
        metrics: &StreamMetrics,
    ) -> Result<()> {
        let stored = store.stored;
        while let Some((_, sent)) = self.0.front() {
            if !rankings.confirmed(*sent)? {
                break;
            }
            if let Some((checkpoint, _)) = self.0.pop_front() {
                store.commit(checkpoint)?;
            }
        }
        if store.stored > stored {
            metrics.checkpoint_stored();
        }
        Ok(())
    }
}
