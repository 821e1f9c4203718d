//! Where change capture resumes: per topic it sends to, the binary log position after the last
//! transaction whose tweets the broker has confirmed. A follower stopped at any moment, `kill -9`
//! included, resumes from there: what it sent after is sent again, and the stream drops a tweet
//! it has read already.
//!
//! The position is written on an [unfollowed](MysqlConfig::unfollowed) connection: storing it is
//! a write to the log the follower reads, and followed it would move the position on, to be
//! stored again.

use anyhow::{Context, Result};
use mysql::prelude::Queryable;
use mysql::Conn;

use crate::mysql::binlog::BinlogPosition;
use crate::mysql::{explain, MysqlConfig};
use crate::time::wall_clock_ms;

/// The stored positions of the followers of one database.
pub struct CapturePositions {
    conn: Conn,
    config: MysqlConfig,
}

impl CapturePositions {
    pub fn open(config: &MysqlConfig) -> Result<Self> {
        let config = config.unfollowed();
        Ok(CapturePositions { conn: config.connect()?, config })
    }

    /// The position stored for the follower sending to `topic`, if any.
    pub fn load(&mut self, topic: &str) -> Result<Option<BinlogPosition>> {
        let stored: Option<(String, u64)> =
            self.config.retrying(&mut self.conn, "reading change capture's stored position", |conn| {
                conn.exec_first("SELECT binlog_file, binlog_position FROM capture_positions WHERE topic = ?", (topic,))
            })?;
        Ok(stored.map(|(file, position)| BinlogPosition { file, position }))
    }

    /// Stores `position` for the follower sending to `topic`.
    pub fn store(&mut self, topic: &str, position: &BinlogPosition) -> Result<()> {
        self.config.retrying(&mut self.conn, "storing change capture's position", |conn| {
            conn.exec_drop(
                "INSERT INTO capture_positions (topic, binlog_file, binlog_position, stored_ms) VALUES (?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE binlog_file = VALUES(binlog_file), \
                 binlog_position = VALUES(binlog_position), stored_ms = VALUES(stored_ms)",
                (topic, &position.file, position.position, wall_clock_ms()),
            )
        })
    }

    /// Forgets the position of the follower sending to `topic`: it starts from a new snapshot.
    pub fn clear(&mut self, topic: &str) -> Result<()> {
        self.conn
            .exec_drop("DELETE FROM capture_positions WHERE topic = ?", (topic,))
            .map_err(|e| explain(e, &self.config))
            .context("forgetting change capture's stored position")
    }
}
