//! Generated histories in MySQL, kept for reruns: a benchmark's database `trendflow_bench_<N>`
//! is generated again only when it does not hold exactly N tweets; and `trendflow batch` timed
//! over one.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use mysql::prelude::Queryable;
use serde::Serialize;
use trendflow::service_env;

use crate::{median, run_measured, run_reported};
use trendflow::vocabulary::report::batch::BatchReport;

/// How long generating a history took: its tweets, and its rows in the three tables.
#[derive(Debug, Serialize)]
pub struct Generated {
    pub seconds: f64,
    pub tweets_per_second: f64,
    pub rows: u64,
    pub rows_per_second: f64,
}

/// Makes the database at `url` hold exactly `size` generated tweets (`trendflow db generate`), its
/// schema brought up to date (`trendflow db init`); returns the generation's figures when it had
/// to generate them.
pub fn fill_history(trendflow: &Path, url: &str, size: u64) -> Result<Option<Generated>> {
    let database = url.rsplit('/').next().unwrap_or_default();
    let server = url.trim_end_matches(database).trim_end_matches('/');
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(server)?).context("connecting to the benchmark server")?;
    let held: Option<u64> = conn
        .query_first(format!("SELECT COUNT(*) FROM `{database}`.tweets WHERE created_at_ms IS NOT NULL"))
        .unwrap_or(None);
    let init = || -> Result<()> {
        let init = Command::new(trendflow).args(["db", "init"]).env(service_env::MYSQL_URL, url).output()?;
        if !init.status.success() {
            bail!("trendflow db init failed: {}", String::from_utf8_lossy(&init.stderr));
        }
        Ok(())
    };
    if held == Some(size) {
        init()?;
        return Ok(None);
    }
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{database}`"))?;
    init()?;
    let run = run_measured(
        Command::new(trendflow)
            .args(["db", "generate", "--tweets", &size.to_string()])
            .env(service_env::MYSQL_URL, url),
    )?;
    let links: u64 = conn.query_first(format!("SELECT COUNT(*) FROM `{database}`.tweet_hashtags"))?.unwrap_or(0);
    let hashtags: u64 = conn.query_first(format!("SELECT COUNT(*) FROM `{database}`.hashtags"))?.unwrap_or(0);
    let seconds = run.wall.as_secs_f64();
    println!(
        "generated {size} tweets ({} rows with tweet_hashtags and hashtags) in {seconds:.1} s: {:.0} tweets/s, {:.0} rows/s",
        size + links + hashtags,
        size as f64 / seconds,
        (size + links + hashtags) as f64 / seconds
    );
    let rows = size + links + hashtags;
    Ok(Some(Generated {
        seconds,
        tweets_per_second: size as f64 / seconds,
        rows,
        rows_per_second: rows as f64 / seconds,
    }))
}

/// `trendflow batch ARGS` over the history at `url`, which holds `size` tweets, run `repeat`
/// times: the median wall time in seconds and the largest peak RSS in bytes. Fails if a run read
/// another number of tweets.
pub fn time_batch(trendflow: &Path, url: &str, size: u64, args: &[&str], repeat: usize) -> Result<(f64, u64)> {
    let (mut seconds, mut peak) = (Vec::new(), 0);
    for _ in 0..repeat {
        let (run, report): (_, BatchReport) =
            run_reported(Command::new(trendflow).arg("batch").args(args).env(service_env::MYSQL_URL, url))?;
        if report.tweets != size {
            bail!("the batch layer read {} tweets, not {size}: {report}", report.tweets);
        }
        seconds.push(run.wall.as_secs_f64());
        peak = peak.max(run.peak_rss_bytes);
    }
    Ok((median(seconds), peak))
}
