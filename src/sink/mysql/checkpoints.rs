//! Where a restarted `stream` resumes: the [`Checkpoint`]s of its `tweets` partitions, stored in
//! MySQL next to the views they produced (written after them, like them), and loaded once at the
//! start. A restart reads each partition from its stored offset, rebuilds the windows that start
//! at or after the latest `rebuild_from` stored, and leaves the earlier ones, already written,
//! alone.
//!
//! In a cluster each process writes the rankings its own workers publish. A process therefore
//! records how far it has written (`stream_progress`), and stores a checkpoint only once every
//! process has written everything before it.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use mysql::prelude::Queryable;
use mysql::{Conn, TxOpts};
use trendflow_dataflows::EventTime;

use crate::checkpoint::{Checkpoint, PartitionPosition, ResumePoint};
use crate::db::{explain, MysqlConfig};

/// The stored positions of one consumer of one topic.
pub struct CheckpointStore {
    conn: Conn,
    config: MysqlConfig,
    /// Names the views the stream computes: a stream computing others must not skip windows it
    /// never wrote, so it keeps positions of its own.
    consumer: String,
    topic: String,
    process: usize,
    processes: usize,
    /// The newest checkpoint of each local worker not yet covered by every process's progress.
    pending: BTreeMap<usize, Checkpoint>,
    /// Checkpoints this run has stored.
    pub stored: u64,
}

impl CheckpointStore {
    pub fn new(
        config: &MysqlConfig,
        consumer: String,
        topic: String,
        process: usize,
        processes: usize,
    ) -> Result<Self> {
        let conn = config.connect()?;
        Ok(CheckpointStore {
            conn,
            config: config.clone(),
            consumer,
            topic,
            process,
            processes,
            pending: BTreeMap::new(),
            stored: 0,
        })
    }

    /// The stored positions, or none.
    pub fn load(&mut self) -> Result<ResumePoint> {
        let rows: Vec<(i32, i64, Option<i64>, i64)> = self
            .conn
            .exec(
                "SELECT kafka_partition, next_offset, handled_to, rebuild_from_ms FROM source_offsets \
                 WHERE consumer = ? AND topic = ?",
                (&self.consumer, &self.topic),
            )
            .map_err(|e| explain(e, &self.config))
            .context("reading the stream's stored positions")?;
        Ok(ResumePoint {
            offsets: rows.iter().map(|&(partition, offset, _, _)| (partition, offset)).collect(),
            handled_to: rows.iter().filter_map(|&(partition, _, handled, _)| Some((partition, handled?))).collect(),
            rebuild_from: rows.iter().map(|&(_, _, _, from)| from.max(0) as EventTime).max().unwrap_or(0),
        })
    }

    /// Forgets the stored positions and progress: the next run starts from the beginning.
    pub fn clear(&mut self) -> Result<()> {
        let key = (&self.consumer, &self.topic);
        self.conn
            .exec_drop("DELETE FROM source_offsets WHERE consumer = ? AND topic = ?", key)
            .and_then(|()| self.conn.exec_drop("DELETE FROM stream_progress WHERE consumer = ? AND topic = ?", key))
            .map_err(|e| explain(e, &self.config))
            .context("clearing the stream's stored positions")
    }

    /// Records that this process has written every ranking its workers published before
    /// `checkpoint.published_before` (the caller has, to MySQL and Kafka both), and stores each
    /// pending checkpoint whose windows every process has written.
    pub fn commit(&mut self, checkpoint: Checkpoint) -> Result<()> {
        let written_before = checkpoint.published_before;
        self.pending.insert(checkpoint.worker, checkpoint);
        let (consumer, topic, process, processes) = (&self.consumer, &self.topic, self.process, self.processes);
        let pending = &self.pending;
        let stored = self.config.retrying(&mut self.conn, "storing the stream's positions", |conn| {
            let mut tx = conn.start_transaction(TxOpts::default())?;
            tx.exec_drop(
                "INSERT INTO stream_progress (consumer, topic, process, published_before_ms) VALUES (?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE published_before_ms = GREATEST(published_before_ms, VALUES(published_before_ms))",
                (consumer, topic, process, written_before),
            )?;
            let (reported, everyone_before): (usize, Option<u64>) = tx
                .exec_first(
                    "SELECT COUNT(*), MIN(published_before_ms) FROM stream_progress \
                     WHERE consumer = ? AND topic = ? AND process < ?",
                    (consumer, topic, processes),
                )?
                .unwrap_or((0, None));
            let covered = everyone_before.filter(|_| reported == processes).unwrap_or(0);
            let ready: Vec<usize> = pending
                .iter()
                .filter(|(_, checkpoint)| checkpoint.published_before <= covered)
                .map(|(worker, _)| *worker)
                .collect();
            let rows = ready.iter().flat_map(|worker| {
                let checkpoint = &pending[worker];
                checkpoint.positions.iter().map(move |position| {
                    let PartitionPosition { partition, replay_from, handled_to } = *position;
                    (consumer, topic, partition, replay_from, handled_to, checkpoint.rebuilds_from)
                })
            });
            tx.exec_batch(
                "INSERT INTO source_offsets (consumer, topic, kafka_partition, next_offset, handled_to, rebuild_from_ms) \
                 VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE next_offset = VALUES(next_offset), \
                 handled_to = VALUES(handled_to), rebuild_from_ms = VALUES(rebuild_from_ms)",
                rows,
            )?;
            tx.commit()?;
            Ok(ready)
        })?;
        for worker in stored {
            self.pending.remove(&worker);
            self.stored += 1;
        }
        Ok(())
    }
}
