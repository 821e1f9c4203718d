//! `trendflow views`: the final views stored in MySQL, as a table, TSV or JSON lines.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use mysql::prelude::Queryable;
use trendflow_dataflows::window::WindowSpec;

use crate::db::{explain, MysqlArgs};
use crate::sink::mysql::{Layer, ViewKind};
use crate::time::format_event_time;

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

/// One stored row of a view.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ViewRow {
    pub window_end: u64,
    pub rank: i64,
    /// The view's own columns ([`ViewKind::table`]), as text.
    pub values: Vec<String>,
}

/// The stored rows of one layer's view for one window spec, ordered by window end, then rank.
pub fn read_view(
    conn: &mut mysql::Conn,
    layer: Layer,
    spec: &WindowSpec,
    kind: ViewKind,
) -> mysql::Result<Vec<ViewRow>> {
    let (table, columns) = kind.table();
    let query = format!(
        "SELECT window_end_ms, position, {} FROM `{table}` WHERE layer = ? AND window_spec = ? ORDER BY window_end_ms, position",
        columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    );
    let rows: Vec<mysql::Row> = conn.exec(query, (layer.name(), spec.to_string()))?;
    Ok(rows
        .into_iter()
        .map(|row| ViewRow {
            window_end: row.get::<i64, _>(0).unwrap_or_default() as u64,
            rank: row.get(1).unwrap_or_default(),
            values: (0..columns.len()).map(|i| row.as_ref(i + 2).map(value_text).unwrap_or_default()).collect(),
        })
        .collect())
}

/// A stored value as text. A `DOUBLE` (the trending view's expected count and score) comes over
/// the binary protocol as the f64 it is and is written as the shortest text that reads back to
/// the same bits, so two layers' values compare equal as text exactly when their bits do.
fn value_text(value: &mysql::Value) -> String {
    match value {
        mysql::Value::Bytes(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        mysql::Value::Int(n) => n.to_string(),
        mysql::Value::UInt(n) => n.to_string(),
        mysql::Value::Double(x) => x.to_string(),
        mysql::Value::Float(x) => x.to_string(),
        other => other.as_sql(true),
    }
}

fn print_views(args: &ViewsArgs, out: &mut impl Write) -> Result<()> {
    let config = args.mysql.config()?;
    let (_, columns) = args.kind.table();
    let mut conn = config.connect()?;
    let rows = read_view(&mut conn, args.layer, &args.window, args.kind)
        .map_err(|e| explain(e, &config))
        .context("reading the view tables")?;
    if args.format == Format::Table {
        writeln!(out, "{:<19}  {:>4}  {}", "window end (UTC)", "rank", columns.join("  "))?;
    }
    for ViewRow { window_end, rank, values } in rows {
        let end = format_event_time(window_end);
        match args.format {
            Format::Tsv => writeln!(out, "{end}\t{rank}\t{}", values.join("\t"))?,
            Format::Table => writeln!(out, "{end:<19}  {rank:>4}  {}", values.join("  "))?,
            Format::Json => {
                let mut object = serde_json::Map::new();
                object.insert("window_end".into(), end.into());
                object.insert("rank".into(), rank.into());
                for (name, value) in columns.iter().zip(values) {
                    // Hashtags and language codes stay text, even when they look like numbers.
                    let textual = matches!(*name, "hashtag" | "language");
                    let value = match (value.parse::<i64>(), value.parse::<f64>()) {
                        _ if textual => serde_json::Value::String(value),
                        (Ok(integer), _) => integer.into(),
                        (_, Ok(real)) if real.is_finite() => real.into(),
                        _ => serde_json::Value::String(value),
                    };
                    object.insert(name.to_string(), value);
                }
                writeln!(out, "{}", serde_json::Value::Object(object))?;
            }
        }
    }
    Ok(())
}
