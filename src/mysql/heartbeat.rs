//! That a stream runs: a row per process in `stream_heartbeats`, beaten every second on the
//! MySQL server's clock by a thread of its own, and marked stopped when the stream ends, however
//! it ends short of being killed. The serving layer reads it to tell a running speed layer from a
//! dead one, whose last live snapshot would otherwise be shown as the open window for ever.
//!
//! A beat is advisory: one that fails (MySQL away) is logged and tried again a second later,
//! never a reason to stop a stream that is otherwise storing what it computes; and it runs off
//! the job's thread, so that waiting for MySQL to come back holds up nothing else.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;
use mysql::prelude::Queryable;
use mysql::Conn;

use crate::mysql::{explain, MysqlConfig};

/// How often a running stream beats.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);

/// How long a stream may go without a beat before readers take it for stopped: ten beats, so
/// that a busy MySQL or a slow scheduler does not flap the verdict.
pub const SILENT_AFTER: Duration = Duration::from_secs(10);

/// One stream process's heartbeat, beating until dropped; dropping it says the stream stopped.
pub struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Starts beating for `process` of the stream named `consumer`.
    pub fn start(config: &MysqlConfig, consumer: String, process: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let beating = stop.clone();
        let config = config.clone();
        let thread = std::thread::spawn(move || {
            let mut conn = None;
            while !beating.load(Ordering::Relaxed) {
                conn = beat(&config, conn, &consumer, process, false);
                std::thread::park_timeout(BEAT_EVERY);
            }
            beat(&config, conn, &consumer, process, true);
        });
        Heartbeat { stop, thread: Some(thread) }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            if thread.join().is_err() {
                log::warn!("the stream's heartbeat thread panicked");
            }
        }
    }
}

/// Writes one beat over `conn` (or a new connection); gives back the connection that worked.
fn beat(config: &MysqlConfig, conn: Option<Conn>, consumer: &str, process: usize, stopped: bool) -> Option<Conn> {
    let written = || -> Result<Conn> {
        let mut conn = match conn {
            Some(conn) => conn,
            None => config.connect()?,
        };
        conn.exec_drop(
            "INSERT INTO stream_heartbeats (consumer, process, beat_ms, stopped) \
             VALUES (?, ?, ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000), ?) \
             ON DUPLICATE KEY UPDATE beat_ms = VALUES(beat_ms), stopped = VALUES(stopped)",
            (consumer, process, stopped),
        )
        .map_err(|e| explain(e, config))?;
        Ok(conn)
    };
    written().map_err(|error| log::warn!("writing the stream's heartbeat: {error:#}; trying again")).ok()
}
