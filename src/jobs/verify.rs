//! `trendflow verify`: the speed layer's final views against the batch layer's, window by window.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use clap::Args;
use mysql::prelude::Queryable;
use trendflow_dataflows::window::WindowSpec;

use crate::jobs::report::ReportArgs;
use crate::mysql::views::{read_windows, table};
use crate::mysql::{explain, MysqlArgs};
use crate::time::format_event_time;
use crate::vocabulary::report::verify::{ComparedWindows, VerifyReport};
use crate::vocabulary::snapshot::ViewRows;
use crate::vocabulary::{Layer, ViewKind};
use trendflow_dataflows::EventTime;

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
    #[command(flatten)]
    pub report: ReportArgs,
}

/// What a comparison found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Per spec, the windows compared: every window either layer holds, of any view, in the range
    /// of window ends both layers cover.
    pub compared: BTreeMap<String, Compared>,
    /// Human-readable differences, the first ones only.
    pub differences: Vec<String>,
    /// The windows (spec, end) that differ in any view, or that one layer lacks.
    pub differing_windows: BTreeSet<(String, u64)>,
}

/// The windows of one spec compared, and the range of their ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compared {
    pub windows: usize,
    /// The first and last window end both layers cover; `None` when their windows do not overlap.
    pub range: Option<(EventTime, EventTime)>,
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
        let mut views = Vec::new();
        for kind in ViewKind::ALL {
            let mut read = |layer| {
                read_windows(&mut conn, layer, kind, &spec.to_string(), 0..=i64::MAX as u64, usize::MAX)
                    .map_err(|e| explain(e, &config))
                    .context("reading the view tables")
            };
            let speed = read(Layer::Speed)?;
            let batch = read(Layer::Batch)?;
            views.push((kind, speed, batch));
        }
        compare(spec, views, args.max_differences, &mut comparison);
    }
    let report = VerifyReport {
        compared: comparison
            .compared
            .iter()
            .map(|(spec, compared)| ComparedWindows {
                window: spec.clone(),
                windows: compared.windows,
                first_end_ms: compared.range.map(|(first, _)| first),
                last_end_ms: compared.range.map(|(_, last)| last),
            })
            .collect(),
        differing_windows: comparison.differing_windows.len(),
        differences: comparison.differences,
    };
    let total = report.windows_compared();
    if total == 0 {
        bail!("no window has final views from both the speed and the batch layer: run trendflow stream and trendflow batch first");
    }
    args.report.publish("", &report)?;
    if !report.identical() {
        bail!("the layers differ in {} of the {total} windows compared ({})", report.differing_windows, report.scope());
    }
    Ok(())
}

/// Window specs that both layers have written some view for.
fn specs_of_both_layers(conn: &mut mysql::Conn) -> mysql::Result<Vec<WindowSpec>> {
    let tables: Vec<String> = ViewKind::ALL
        .iter()
        .map(|kind| format!("SELECT DISTINCT layer, window_spec FROM `{}`", table(*kind).0))
        .collect();
    let specs: Vec<String> = conn.query(format!(
        "SELECT window_spec FROM ({}) written GROUP BY window_spec HAVING COUNT(DISTINCT layer) = 2 ORDER BY window_spec",
        tables.join(" UNION ")
    ))?;
    Ok(specs.iter().filter_map(|spec| spec.parse().ok()).collect())
}

/// One layer's rows of one view, by window end.
type Windows = BTreeMap<EventTime, ViewRows>;

/// Compares the views of one spec, each as `(kind, speed rows, batch rows)`, over the window ends
/// both layers cover: from the later of the layers' first window ends (of any view) to the
/// earlier of their last. Inside that range a window one layer holds and the other lacks, in any
/// view, is a difference; outside it, only one layer ran. Records into `comparison`.
pub fn compare(
    spec: &WindowSpec,
    views: Vec<(ViewKind, Windows, Windows)>,
    max_differences: usize,
    comparison: &mut Comparison,
) {
    // The first and last window end a layer holds, of any view.
    let ends = |layer: fn(&(ViewKind, Windows, Windows)) -> &Windows| {
        let ends: BTreeSet<u64> = views.iter().flat_map(|view| layer(view).keys().copied()).collect();
        ends.first().copied().zip(ends.last().copied())
    };
    let speed = ends(|(_, speed, _)| speed);
    let batch = ends(|(_, _, batch)| batch);
    let range = speed
        .zip(batch)
        .map(|((speed_first, speed_last), (batch_first, batch_last))| {
            (speed_first.max(batch_first), speed_last.min(batch_last))
        })
        .filter(|(from, to)| from <= to);
    let compared = comparison.compared.entry(spec.to_string()).or_default();
    compared.range = range;
    let Some((from, to)) = range else { return };
    let mut windows = BTreeSet::new();
    for (kind, speed, batch) in &views {
        let ends: BTreeSet<u64> = speed.range(from..=to).chain(batch.range(from..=to)).map(|(end, _)| *end).collect();
        for end in ends {
            windows.insert(end);
            let (fast, slow) = (speed.get(&end), batch.get(&end));
            if fast == slow {
                continue;
            }
            comparison.differing_windows.insert((spec.to_string(), end));
            if comparison.differences.len() >= max_differences {
                continue;
            }
            let ending = format!("{kind:?} {spec} ending {}", format_event_time(end));
            let difference = match (fast, slow) {
                (Some(fast), Some(slow)) => {
                    let first =
                        (0..fast.len().max(slow.len())).find(|&i| fast.describe(i) != slow.describe(i)).unwrap_or(0);
                    let show = |rows: &ViewRows| rows.describe(first).unwrap_or_else(|| "(none)".to_string());
                    format!("{ending}: rank {}: speed {} / batch {}", first + 1, show(fast), show(slow))
                }
                (None, _) => format!("{ending}: missing from the speed layer (the batch layer has it)"),
                (_, None) => format!("{ending}: missing from the batch layer (the speed layer has it)"),
            };
            comparison.differences.push(difference);
        }
    }
    compared.windows = windows.len();
}

#[cfg(test)]
mod tests {
    use trendflow_dataflows::views::HashtagCount;

    use super::*;
    use crate::vocabulary::snapshot::RankedRow;

    /// Windows of top hashtags, each `(end, hashtags and counts)`.
    fn windows(windows: &[(EventTime, &[(&str, u64)])]) -> Windows {
        let ranked = |(index, (hashtag, count)): (usize, &(&str, u64))| RankedRow {
            rank: index + 1,
            row: HashtagCount { hashtag: (*hashtag).into(), count: *count },
            partial_baseline: None,
        };
        windows
            .iter()
            .map(|(end, rows)| (*end, ViewRows::Hashtags(rows.iter().enumerate().map(ranked).collect())))
            .collect()
    }

    fn compared(views: Vec<(ViewKind, Windows, Windows)>) -> Comparison {
        let mut comparison = Comparison::default();
        compare(&"1m".parse().unwrap(), views, 10, &mut comparison);
        comparison
    }

    #[test]
    fn windows_both_layers_cover_are_compared_and_the_first_differing_rank_is_shown() {
        let speed = windows(&[(60_000, &[("a", 2)]), (120_000, &[("a", 1), ("b", 1)])]);
        let batch = windows(&[(60_000, &[("a", 2)]), (120_000, &[("a", 1), ("c", 1)]), (180_000, &[("z", 9)])]);
        let comparison = compared(vec![(ViewKind::Hashtags, speed, batch)]);
        // The batch layer's later window is past the speed layer's last: only one layer ran there.
        assert_eq!(comparison.compared["1m"], Compared { windows: 2, range: Some((60_000, 120_000)) });
        assert_eq!(comparison.differing_windows, BTreeSet::from([("1m".to_string(), 120_000)]));
        assert_eq!(
            comparison.differences,
            vec!["Hashtags 1m ending 1970-01-01 00:02:00: rank 2: speed #b 1 / batch #c 1"]
        );
    }

    #[test]
    fn a_view_or_a_window_one_layer_lost_is_a_difference() {
        let two = || windows(&[(60_000, &[("a", 1)]), (120_000, &[("a", 1)])]);
        let hashtags = (ViewKind::Hashtags, two(), two());
        // Every speed-layer row of trending deleted; one window of languages deleted from the batch layer.
        let trending = (ViewKind::Trending, Windows::new(), two());
        let languages = (ViewKind::Languages, two(), windows(&[(60_000, &[("a", 1)])]));
        let comparison = compared(vec![hashtags, trending, languages]);
        assert_eq!(comparison.compared["1m"].windows, 2);
        assert_eq!(comparison.differing_windows.len(), 2);
        assert!(
            comparison.differences.contains(
                &"Trending 1m ending 1970-01-01 00:01:00: missing from the speed layer (the batch layer has it)"
                    .to_string()
            ),
            "{:?}",
            comparison.differences
        );
        assert!(
            comparison.differences.contains(
                &"Languages 1m ending 1970-01-01 00:02:00: missing from the batch layer (the speed layer has it)"
                    .to_string()
            ),
            "{:?}",
            comparison.differences
        );
    }
}
