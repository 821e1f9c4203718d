//! Event times filled in: a row another client wrote with the seed's columns only (the mysql
//! client loading the seed's dump, an application inserting tweets) has a `date_time` text and
//! no `created_at_ms`, by which the batch layer reads the history and the stream compares copies.
//! `db init` fills in every row's ([`fill_missing`]); change capture fills in each followed
//! row's before it sends it ([`fill`]). A time stored already stays.

use anyhow::Result;
use mysql::prelude::Queryable;
use mysql::{Conn, Value};
use trendflow_dataflows::EventTime;

use super::schema::InitReport;
use super::{explain, MysqlConfig, ROWS_PER_STATEMENT};
use crate::time::parse_created_at;

/// Parses `date_time` into `created_at_ms` for every stored row without one; a row whose
/// `date_time` is no date is left as it is, and reported.
pub fn fill_missing(conn: &mut Conn, config: &MysqlConfig) -> Result<InitReport> {
    let mut report = InitReport::default();
    let mut after: i64 = i64::MIN;
    loop {
        let rows: Vec<(i64, Option<String>)> = conn
            .exec(
                "SELECT tweet_id, date_time FROM tweets WHERE created_at_ms IS NULL AND tweet_id > ? ORDER BY tweet_id LIMIT 5000",
                (after,),
            )
            .map_err(|e| explain(e, config))?;
        let Some((last, _)) = rows.last() else { return Ok(report) };
        after = *last;
        let mut times = Vec::new();
        for (id, date_time) in rows {
            match date_time.as_deref().map(parse_created_at) {
                Some(Ok(time)) => times.push((id, time)),
                Some(Err(reason)) => report.note_unreadable(format!("tweet {id}: {reason}")),
                None => report.note_unreadable(format!("tweet {id}: no date_time")),
            }
        }
        report.event_times_filled += times.len() as u64;
        fill(config, conn, &times)?;
    }
}

/// Stores the event times `(tweet_id, event time)` of tweets stored without one, in one statement
/// (one round trip, one commit) per [`ROWS_PER_STATEMENT`] tweets: change capture waits for it
/// before it sends them.
pub fn fill(config: &MysqlConfig, conn: &mut Conn, times: &[(i64, EventTime)]) -> Result<()> {
    config.retrying(conn, "filling in event times", |conn| {
        for chunk in times.chunks(ROWS_PER_STATEMENT) {
            let cases = " WHEN ? THEN ?".repeat(chunk.len());
            let ids = vec!["?"; chunk.len()].join(", ");
            let mut params: Vec<Value> = chunk.iter().flat_map(|&(id, time)| [id.into(), time.into()]).collect();
            params.extend(chunk.iter().map(|&(id, _)| Value::from(id)));
            conn.exec_drop(
                format!(
                    "UPDATE tweets SET created_at_ms = CASE tweet_id{cases} END \
                     WHERE tweet_id IN ({ids}) AND created_at_ms IS NULL"
                ),
                params,
            )?;
        }
        Ok(())
    })
}
