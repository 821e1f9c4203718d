//! `trendflow views`: the final views stored in MySQL, as a table, TSV or JSON lines.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use trendflow_dataflows::window::WindowSpec;
use trendflow_dataflows::EventTime;

use crate::mysql::views::{read_windows, stored_text, table};
use crate::mysql::{explain, MysqlArgs};
use crate::time::format_event_time;
use crate::vocabulary::{Layer, ViewKind};

/// How to print rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns with a header.
    Table,
    /// Tab-separated, no header: window end (UTC), rank, then the view's columns.
    Tsv,
    /// One JSON object per row: `window_end`, `window_end_ms`, then the row as the API has it.
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

/// A stored row as `--format json` prints it: its window's end, then the row as the API has it.
#[derive(Serialize)]
struct StoredRow {
    window_end: String,
    window_end_ms: EventTime,
    #[serde(flatten)]
    row: serde_json::Value,
}

fn print_views(args: &ViewsArgs, out: &mut impl Write) -> Result<()> {
    let config = args.mysql.config()?;
    let mut conn = config.connect()?;
    let windows =
        read_windows(&mut conn, args.layer, args.kind, &args.window.to_string(), 0..=i64::MAX as u64, usize::MAX)
            .map_err(|e| explain(e, &config))
            .context("reading the view tables")?;
    if args.format == Format::Table {
        writeln!(out, "{:<19}  {:>4}  {}", "window end (UTC)", "rank", table(args.kind).1.join("  "))?;
    }
    for (window_end, rows) in windows {
        let end = format_event_time(window_end);
        if args.format == Format::Json {
            // A view's rows serialise as a list of rows.
            let rows = match serde_json::to_value(&rows)? {
                serde_json::Value::Array(rows) => rows,
                row => vec![row],
            };
            for row in rows {
                let stored = StoredRow { window_end: end.clone(), window_end_ms: window_end, row };
                writeln!(out, "{}", serde_json::to_string(&stored)?)?;
            }
            continue;
        }
        for (rank, values) in stored_text(&rows)?.into_iter().enumerate().map(|(index, values)| (index + 1, values)) {
            match args.format {
                Format::Tsv => writeln!(out, "{end}\t{rank}\t{}", values.join("\t"))?,
                _ => writeln!(out, "{end:<19}  {rank:>4}  {}", values.join("  "))?,
            }
        }
    }
    Ok(())
}
