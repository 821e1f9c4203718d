//! `trendflow views`: the final views stored in MySQL, as a table, TSV or JSON lines.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use mysql::prelude::Queryable;
use trendflow_dataflows::window::WindowSpec;

use crate::db::{explain, MysqlArgs};
use crate::sink::console::format_event_time;
use crate::sink::mysql::Layer;

/// Which view to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ViewKind {
    Hashtags,
    Tweets,
    Languages,
}

/// How to print rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns with a header.
    Table,
    /// Tab-separated, no header: window end (UTC), rank, then the view's columns.
    Tsv,
    /// One JSON object per row.
    Json,
}

/// Flags of `trendflow views`.
#[derive(Args, Debug, Clone)]
pub struct ViewsArgs {
    /// Which layer's views.
    #[arg(long, value_enum)]
    pub layer: Layer,
    /// The window spec, as given to the job that computed the views.
    #[arg(long = "window", value_name = "LENGTH/SLIDE")]
    pub window: WindowSpec,
    #[arg(long, value_enum, default_value = "hashtags")]
    pub kind: ViewKind,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    #[command(flatten)]
    pub mysql: MysqlArgs,
}

/// Prints the stored rows ordered by window end, then rank. A reader that stops early (`| head`)
/// ends the output quietly.
pub fn run(args: ViewsArgs) -> Result<()> {
    match print_views(&args, &mut std::io::stdout().lock()) {
        Err(error)
            if error.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        result => result,
    }
}

fn print_views(args: &ViewsArgs, out: &mut impl Write) -> Result<()> {
    let config = args.mysql.config()?;
    let (table, columns) = match args.kind {
        ViewKind::Hashtags => ("view_top_hashtags", ["hashtag", "occurrences", ""]),
        ViewKind::Tweets => ("view_top_tweets", ["tweet_id", "retweets", "hashtags"]),
        ViewKind::Languages => ("view_languages", ["language", "tweets", ""]),
    };
    let selected: Vec<&str> = columns.iter().copied().filter(|c| !c.is_empty()).collect();
    let query = format!(
        "SELECT window_end_ms, position, {} FROM `{table}` WHERE layer = ? AND window_spec = ? ORDER BY window_end_ms, position",
        selected.iter().map(|c| format!("CAST(`{c}` AS CHAR)")).collect::<Vec<_>>().join(", ")
    );
    let mut conn = config.connect()?;
    let rows: Vec<mysql::Row> = conn
        .exec(query, (args.layer.name(), args.window.to_string()))
        .map_err(|e| explain(e, &config))
        .context("reading the view tables")?;
    if args.format == Format::Table {
        writeln!(out, "{:<19}  {:>4}  {}", "window end (UTC)", "rank", selected.join("  "))?;
    }
    for row in rows {
        let end: i64 = row.get(0).context("window_end_ms")?;
        let rank: i64 = row.get(1).context("position")?;
        let values: Vec<String> =
            (0..selected.len()).map(|i| row.get::<String, _>(i + 2).unwrap_or_default()).collect();
        let end = format_event_time(end as u64);
        match args.format {
            Format::Tsv => writeln!(out, "{end}\t{rank}\t{}", values.join("\t"))?,
            Format::Table => writeln!(out, "{end:<19}  {rank:>4}  {}", values.join("  "))?,
            Format::Json => {
                let mut object = serde_json::Map::new();
                object.insert("window_end".into(), end.into());
                object.insert("rank".into(), rank.into());
                for (name, value) in selected.iter().zip(values) {
                    let value = value.parse::<i64>().map(Into::into).unwrap_or(serde_json::Value::String(value));
                    object.insert(name.to_string(), value);
                }
                writeln!(out, "{}", serde_json::Value::Object(object))?;
            }
        }
    }
    Ok(())
}
