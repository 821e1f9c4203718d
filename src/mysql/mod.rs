//! MySQL, every use of it in one place: reaching the server ([`connection`]), the schema and its
//! migrations ([`schema`]), the master dataset's tweets ([`tweets`]; the stream's by a thread of
//! their own, [`archive`]) and the batch layer's read of them ([`history`]), the view tables
//! ([`views`]) and the serving layer's queries of them ([`serving`]), where a restarted stream
//! resumes ([`checkpoints`]) and that a stream runs ([`heartbeat`]); change capture's reading of
//! the binary log ([`binlog`]) and where a follower resumes it ([`capture_positions`]); event
//! times filled in for rows other clients wrote without one ([`event_times`]).
//!
//! Every write is idempotent — a tweet is stored once, by first write wins (a copy with its values
//! is a no-op, one with other values a reported conflict), a window's view rows are replaced as a
//! whole, a checkpoint overwrites the one before — so a rerun, or a restart halfway, repairs
//! rather than duplicates. Rows go in multi-row parameterised statements, a thousand at a time,
//! which is what makes loading fast.

pub mod archive;
pub mod binlog;
pub mod capture_positions;
pub mod checkpoints;
pub mod connection;
pub mod event_times;
pub mod heartbeat;
pub mod history;
pub mod schema;
pub mod serving;
pub mod tweets;
pub mod views;

use mysql::prelude::Queryable;
use mysql::Value;

pub use archive::Archive;
pub use checkpoints::CheckpointStore;
pub use connection::{explain, MysqlArgs, MysqlConfig};
pub use heartbeat::Heartbeat;
pub use tweets::{
    conflict_reason, new_hashtag_id, Conflict, FirstCopy, FirstWrites, KeptTweet, SeedRowWriter, StoredTweet,
    StoredTweets, TweetWriter,
};
pub use views::ViewWriter;

/// Rows per multi-row statement: large enough to amortise round trips, small enough to stay far
/// below the server's packet and placeholder limits.
const ROWS_PER_STATEMENT: usize = 1_000;

/// Inserts `rows` into `table` in multi-row statements; `upsert` is the `ON DUPLICATE KEY UPDATE`
/// clause that makes repeating the insert harmless.
pub(crate) fn insert_rows(
    conn: &mut impl Queryable,
    table: &str,
    columns: &[&str],
    upsert: &str,
    rows: Vec<Vec<Value>>,
) -> mysql::Result<()> {
    let names = columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    let placeholder = format!("({})", vec!["?"; columns.len()].join(", "));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        let values = vec![placeholder.as_str(); chunk.len()].join(", ");
        let statement = format!("INSERT INTO `{table}` ({names}) VALUES {values} {upsert}");
        conn.exec_drop(statement, chunk.into_iter().flatten().collect::<Vec<Value>>())?;
    }
    Ok(())
}
