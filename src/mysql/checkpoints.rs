//! Where a restarted `stream` resumes: the [`Checkpoint`]s of its `tweets` partitions, stored in
//! MySQL next to the views they produced (written after them, like them), and loaded once at the
//! start. A restart reads each partition from its stored offset, rebuilds the windows that start
//! at or after the latest `rebuild_from` stored, and leaves the earlier ones, already written,
//! alone.
//!
//! In a cluster each process writes the rankings its own workers publish. A process therefore
//! records how far it has written (`stream_progress`), and stores a checkpoint only once every
//! process has written everything before it.
//!
//! What is stored belongs to a stream by its name ([`crate::checkpoint::consumer`]), which
//! [`migrate_consumer_names`] brings up to date when `trendflow db init` runs.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use mysql::prelude::Queryable;
use mysql::{Conn, TxOpts};
use trendflow_dataflows::EventTime;

use crate::checkpoint::consumer::{is_consumer_name, legacy_consumer_name};
use crate::checkpoint::{Checkpoint, PartitionPosition, ResumePoint};
use crate::mysql::{explain, MysqlConfig};

/// The tables whose rows belong to a stream by its name, in their `consumer` column.
const NAMED_BY_CONSUMER: [&str; 3] = ["source_offsets", "stream_progress", "stream_heartbeats"];

/// The longest name the `consumer` columns hold: a stream's view set as JSON takes about 60
/// characters per window spec, so a stream of up to about fifteen specs.
pub const CONSUMER_NAME_CHARS: usize = 1024;

/// The `consumer` columns' type, as `information_schema` writes it, and its definition: ASCII,
/// which every name is (numbers, and the view set's field names), so that the name and the topic
/// fit in a primary key; compared byte for byte, as a name is an exact key.
const CONSUMER_COLUMN: (&str, &str) = ("varchar(1024)", "varchar(1024) CHARACTER SET ascii COLLATE ascii_bin NOT NULL");

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
        let mut conn = config.connect()?;
        check_consumer_columns(&mut conn, config)?;
        if consumer.len() > CONSUMER_NAME_CHARS {
            bail!(
                "the stream's views are named by {} characters, more than the {CONSUMER_NAME_CHARS} its stored \
                 positions can be found by; run fewer window specs in one stream",
                consumer.len()
            );
        }
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

/// Refuses tables an earlier version made, whose positions are stored under its names: a
/// stream would not find them, and start again from the beginning.
fn check_consumer_columns(conn: &mut Conn, config: &MysqlConfig) -> Result<()> {
    let outdated = outdated_consumer_columns(conn, config)?;
    if let Some(table) = outdated.first() {
        bail!(
            "{config}: table {table} names streams as an earlier trendflow did; run trendflow db init, which \
             carries their stored positions over"
        );
    }
    Ok(())
}

/// The tables of [`NAMED_BY_CONSUMER`] whose `consumer` column is not yet [`CONSUMER_COLUMN`].
fn outdated_consumer_columns(conn: &mut Conn, config: &MysqlConfig) -> Result<Vec<&'static str>> {
    let columns: Vec<(String, String, Option<String>)> = conn
        .query(
            "SELECT table_name, column_type, character_set_name FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND column_name = 'consumer'",
        )
        .map_err(|e| explain(e, config))
        .context("reading the type of the stream's stored names")?;
    let current = |table: &str| {
        columns.iter().any(|(name, kind, charset)| {
            name == table && kind == CONSUMER_COLUMN.0 && charset.as_deref() == Some("ascii")
        })
    };
    Ok(NAMED_BY_CONSUMER.into_iter().filter(|table| !current(table)).collect())
}

/// Brings the tables named by stream up to this version, as `trendflow db init` runs: widens
/// their `consumer` column to [`CONSUMER_COLUMN`], then renames what each stream stored under an
/// earlier version's name (positions, progress, heartbeats) to this version's name for the same
/// views, so that it resumes where it stopped. Where a stream of this version has stored under
/// the new name already, its rows are newer and the old ones are dropped. A name neither version
/// gives is left as it is, with a warning: nothing reads it. Gives back how many names it renamed.
pub fn migrate_consumer_names(conn: &mut Conn, config: &MysqlConfig) -> Result<usize> {
    for table in outdated_consumer_columns(conn, config)? {
        conn.query_drop(format!("ALTER TABLE `{table}` MODIFY COLUMN `consumer` {}", CONSUMER_COLUMN.1))
            .map_err(|e| explain(e, config))
            .with_context(|| format!("widening {table}'s names of streams"))?;
    }
    let names: Vec<String> = conn
        .query(NAMED_BY_CONSUMER.map(|table| format!("SELECT consumer FROM `{table}`")).join(" UNION "))
        .map_err(|e| explain(e, config))
        .context("reading the names of the streams stored")?;
    let mut renamed = 0;
    for name in names.iter().filter(|name| !is_consumer_name(name)) {
        let Some(new_name) = legacy_consumer_name(name) else {
            log::warn!(
                "stored positions of a stream named '{name}', which no trendflow version gives, are left as they are"
            );
            continue;
        };
        rename_consumer(conn, name, &new_name)
            .map_err(|e| explain(e, config))
            .with_context(|| format!("renaming the stored positions of '{name}'"))?;
        renamed += 1;
    }
    Ok(renamed)
}

/// Moves one stream's rows from `old` to `new` in every table, in one transaction.
fn rename_consumer(conn: &mut Conn, old: &str, new: &str) -> mysql::Result<()> {
    let mut tx = conn.start_transaction(TxOpts::default())?;
    for table in NAMED_BY_CONSUMER {
        let newer: Option<u8> = tx.exec_first(format!("SELECT 1 FROM `{table}` WHERE consumer = ? LIMIT 1"), (new,))?;
        match newer {
            Some(_) => tx.exec_drop(format!("DELETE FROM `{table}` WHERE consumer = ?"), (old,))?,
            None => tx.exec_drop(format!("UPDATE `{table}` SET consumer = ? WHERE consumer = ?"), (new, old))?,
        }
    }
    tx.commit()
}
