//! `trendflow verify`: the speed layer's final views against the batch layer's, window by window.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use clap::Args;
use mysql::prelude::Queryable;
use trendflow_dataflows::window::WindowSpec;

use crate::db::{explain, MysqlArgs};
use crate::jobs::views::{read_view, ViewRow};
use crate::sink::mysql::Layer;
use crate::sink::mysql::ViewKind;
use crate::time::format_event_time;

/// Flags of `trendflow verify`.
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// A window spec to compare (repeatable); by default every spec both layers have written.
    #[arg(long = "window", value_name = "LENGTH/SLIDE")]
    pub windows: Vec<WindowSpec>,
    /// How many differences to print before stopping.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub max_differences: usize,
    #[command(flatten)]
    pub mysql: MysqlArgs,
}

/// What a comparison found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Windows present in both layers and compared, per spec.
    pub compared: BTreeMap<String, usize>,
    /// Human-readable differences, the first ones only.
    pub differences: Vec<String>,
    /// The windows (spec, end) that differ in any view.
    pub differing_windows: BTreeSet<(String, u64)>,
}

/// Compares and prints the outcome; any difference, or nothing to compare, is an error.
pub fn run(args: VerifyArgs) -> Result<()> {
    let config = args.mysql.config()?;
    let mut conn = config.connect()?;
    let specs = match args.windows.is_empty() {
        true => specs_of_both_layers(&mut conn).map_err(|e| explain(e, &config)).context("reading the view tables")?,
        false => args.windows.clone(),
    };
    let mut comparison = Comparison::default();
    for spec in &specs {
        for kind in ViewKind::ALL {
            let speed = read_view(&mut conn, Layer::Speed, spec, kind).map_err(|e| explain(e, &config))?;
            let batch = read_view(&mut conn, Layer::Batch, spec, kind).map_err(|e| explain(e, &config))?;
            compare(spec, kind, speed, batch, args.max_differences, &mut comparison);
        }
    }
    let total: usize = comparison.compared.values().sum();
    if total == 0 {
        bail!("no window has final views from both the speed and the batch layer: run trendflow stream and trendflow batch first");
    }
    let covered: Vec<String> = comparison.compared.iter().map(|(spec, n)| format!("{n} windows of {spec}")).collect();
    if comparison.differing_windows.is_empty() {
        println!("identical: {} (hashtags, tweets, languages and trending)", covered.join(", "));
        return Ok(());
    }
    for difference in &comparison.differences {
        println!("{difference}");
    }
    bail!("the layers differ in {} of the {total} windows compared", comparison.differing_windows.len())
}

/// Window specs that both layers have written hashtag views for.
fn specs_of_both_layers(conn: &mut mysql::Conn) -> mysql::Result<Vec<WindowSpec>> {
    let specs: Vec<String> = conn.query(
        "SELECT window_spec FROM view_top_hashtags GROUP BY window_spec HAVING COUNT(DISTINCT layer) = 2 ORDER BY window_spec",
    )?;
    Ok(specs.iter().filter_map(|spec| spec.parse().ok()).collect())
}

/// Compares one view of one spec over the windows both layers have, recording into `comparison`.
pub fn compare(
    spec: &WindowSpec,
    kind: ViewKind,
    speed: Vec<ViewRow>,
    batch: Vec<ViewRow>,
    max_differences: usize,
    comparison: &mut Comparison,
) {
    let by_window = |rows: Vec<ViewRow>| {
        let mut windows: BTreeMap<u64, Vec<ViewRow>> = BTreeMap::new();
        for row in rows {
            windows.entry(row.window_end).or_default().push(row);
        }
        windows
    };
    let (speed, batch) = (by_window(speed), by_window(batch));
    let common: BTreeSet<u64> = speed.keys().filter(|end| batch.contains_key(end)).copied().collect();
    if kind == ViewKind::Hashtags {
        *comparison.compared.entry(spec.to_string()).or_default() += common.len();
    }
    for end in common {
        let (fast, slow) = (&speed[&end], &batch[&end]);
        if fast == slow {
            continue;
        }
        comparison.differing_windows.insert((spec.to_string(), end));
        if comparison.differences.len() < max_differences {
            let first = (0..fast.len().max(slow.len())).find(|&i| fast.get(i) != slow.get(i)).unwrap_or(0);
            let show = |row: Option<&ViewRow>| row.map_or("(none)".to_string(), |row| row.values.join(" "));
            comparison.differences.push(format!(
                "{kind:?} {spec} ending {}: rank {}: speed {} / batch {}",
                format_event_time(end),
                first + 1,
                show(fast.get(first)),
                show(slow.get(first)),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(end: u64, rank: i64, tag: &str, count: u64) -> ViewRow {
        ViewRow { window_end: end, rank, values: vec![tag.into(), count.to_string()] }
    }

    #[test]
    fn only_windows_of_both_layers_are_compared_and_the_first_differing_rank_is_shown() {
        let spec: WindowSpec = "1m".parse().unwrap();
        let speed = vec![row(60_000, 1, "#a", 2), row(120_000, 1, "#a", 1), row(120_000, 2, "#b", 1)];
        let batch =
            vec![row(60_000, 1, "#a", 2), row(120_000, 1, "#a", 1), row(120_000, 2, "#c", 1), row(180_000, 1, "#z", 9)];
        let mut comparison = Comparison::default();
        compare(&spec, ViewKind::Hashtags, speed, batch, 10, &mut comparison);
        assert_eq!(comparison.compared["1m"], 2);
        assert_eq!(comparison.differing_windows, BTreeSet::from([("1m".to_string(), 120_000)]));
        assert_eq!(
            comparison.differences,
            vec!["Hashtags 1m ending 1970-01-01 00:02:00: rank 2: speed #b 1 / batch #c 1"]
        );
    }
}
