//! Whose checkpoint it is: the name a stream's positions, progress and heartbeats are stored
//! under in MySQL (their `consumer` column).
//!
//! Stored positions are only good for the views they were stored for: a restart rebuilds only the
//! windows that start after the stored rebuild point, and the earlier windows of other views were
//! never written. So a stream is named by what it computes, its graph's [`ViewSet`], which the
//! graph's configuration makes in one place; here it is only spelled, as JSON. A name that parses
//! back as a view set is this version's; one setting given two ways (an explicit baseline equal to
//! the default) is one view set, so one name.
//!
//! Earlier versions named a stream with a phrase (`stream 5m/1m,1h/5m top 10`, with clauses for
//! trending settings other than the default). `trendflow db init` renames what was stored under
//! such a name to the name of the same views ([`legacy_consumer_name`]), so that an upgraded
//! stream resumes where the old one stopped.

use trendflow_dataflows::config::{GraphConfig, TrendConfig, ViewSet};
use trendflow_dataflows::window::{parse_duration, WindowSpec};

/// The name a stream computing `graph`'s views stores its positions under: its [`ViewSet`] as
/// JSON, whatever its tick or where its input starts.
pub fn consumer_name(graph: &GraphConfig) -> String {
    serde_json::to_string(&graph.view_set()).expect("a view set, numbers in lists and maps, serialises")
}

/// Whether `name` is a name this version gives: a [`ViewSet`] as JSON.
pub fn is_consumer_name(name: &str) -> bool {
    serde_json::from_str::<ViewSet>(name).is_ok()
}

/// This version's name for the views an earlier version named `name` (such as
/// `stream 5m/1m,1h/5m top 10 trending baseline 2h,2h min 5`), or `None` when `name` is no such
/// phrase.
pub fn legacy_consumer_name(name: &str) -> Option<String> {
    legacy_graph(name).map(|graph| consumer_name(&graph))
}

/// The views a legacy name stands for: its window specs and top K, then `without trending`, or
/// the trending view with the default settings unless `trending baseline B,.. min N` says
/// otherwise, and a minimum score other than the default with `score Z`.
fn legacy_graph(name: &str) -> Option<GraphConfig> {
    let (specs, settings) = name.strip_prefix("stream ")?.split_once(" top ")?;
    let windows = specs.split(',').map(str::parse).collect::<Result<Vec<WindowSpec>, _>>().ok()?;
    let mut words = settings.split(' ');
    let top_k = words.next()?.parse().ok()?;
    // The tick is no part of the views: the coarsest takes any baseline.
    let graph = GraphConfig::coarsest(windows, top_k).ok()?;
    let (trend, score) = match words.collect::<Vec<_>>().as_slice() {
        ["without", "trending"] => return Some(graph),
        ["trending", "baseline", baselines, "min", min_count, score @ ..] => {
            (legacy_trend(&graph, baselines, min_count)?, score.to_vec())
        }
        score => (TrendConfig::default(), score.to_vec()),
    };
    let trend = match score.as_slice() {
        [] => trend,
        ["score", min_score] => trend.with_min_score(min_score.parse().ok()?).ok()?,
        _ => return None,
    };
    graph.with_trending(trend).ok()
}

/// The trending settings that gave a legacy name's `baselines` (one per window length, in
/// increasing order of length, as durations) and `min_count`: one baseline for every length, or
/// each length's default.
fn legacy_trend(graph: &GraphConfig, baselines: &str, min_count: &str) -> Option<TrendConfig> {
    let baselines = baselines.split(',').map(parse_duration).collect::<Result<Vec<u64>, _>>().ok()?;
    let lengths = graph.lengths();
    let same = baselines.first().copied().filter(|first| baselines.iter().all(|baseline| baseline == first));
    let trend = TrendConfig::new(same, min_count.parse().ok()?).ok()?;
    let given = baselines.len() == lengths.len()
        && lengths.iter().zip(&baselines).all(|(length, baseline)| trend.baseline_ms(*length) == *baseline);
    given.then_some(trend)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn graph(trending: Option<TrendConfig>) -> GraphConfig {
        let specs = vec!["5m/1m".parse().expect("a spec"), "1h/5m".parse().expect("a spec")];
        let graph = GraphConfig::new(specs, 10, 1_000).expect("a graph");
        match trending {
            Some(trend) => graph.with_trending(trend).expect("a trending graph"),
            None => graph,
        }
    }

    fn trend(baseline_ms: Option<u64>, min_count: u64) -> Option<TrendConfig> {
        Some(TrendConfig::new(baseline_ms, min_count).expect("trend settings"))
    }

    fn scored(min_score: f64) -> Option<TrendConfig> {
        Some(TrendConfig::default().with_min_score(min_score).expect("trend settings"))
    }

    fn one_spec(trending: TrendConfig) -> GraphConfig {
        let graph = GraphConfig::new(vec!["5m/1m".parse().expect("a spec")], 10, 1_000).expect("a graph");
        graph.with_trending(trending).expect("a trending graph")
    }

    #[test]
    fn stored_positions_belong_to_the_trending_settings_too() {
        let settings = [Some(TrendConfig::default()), None, trend(Some(7_200_000), 5), trend(None, 7), scored(0.5)];
        let names: BTreeSet<String> = settings.into_iter().map(|trending| consumer_name(&graph(trending))).collect();
        assert_eq!(names.len(), 5, "{names:?}");
    }

    #[test]
    fn one_trending_setting_given_two_ways_names_the_same_views() {
        let an_hour = TrendConfig::new(Some(3_600_000), TrendConfig::MIN_COUNT).expect("trend settings");
        assert_eq!(consumer_name(&one_spec(an_hour)), consumer_name(&one_spec(TrendConfig::default())));
    }

    /// The name is what stored positions are found by: a change of it (of [`ViewSet`]'s fields, or
    /// of how a window spec serialises) strands every stream's positions unless `db init` renames
    /// them.
    #[test]
    fn a_name_is_the_view_set_as_json() {
        let name = consumer_name(&graph(Some(TrendConfig::default())));
        assert_eq!(
            name,
            r#"{"windows":[{"length_ms":300000,"slide_ms":60000},{"length_ms":3600000,"slide_ms":300000}],"top_k":10,"trending":{"baselines_ms":{"300000":3600000,"3600000":43200000},"min_count":5,"min_score":2.0}}"#
        );
        assert!(is_consumer_name(&name));
        assert!(!is_consumer_name("stream 5m/1m,1h/5m top 10"));
    }

    /// The names the previous version gave these views (its own tests' expectations).
    #[test]
    fn an_earlier_versions_name_stands_for_the_same_views() {
        let named = [
            ("stream 5m/1m,1h/5m top 10", graph(Some(TrendConfig::default()))),
            ("stream 5m/1m,1h/5m top 10 without trending", graph(None)),
            ("stream 5m/1m,1h/5m top 10 trending baseline 2h,2h min 5", graph(trend(Some(7_200_000), 5))),
            ("stream 5m/1m,1h/5m top 10 trending baseline 1h,12h min 7", graph(trend(None, 7))),
            ("stream 5m/1m,1h/5m top 10 score 0.5", graph(scored(0.5))),
            ("stream 5m/1m top 10", one_spec(TrendConfig::default())),
            ("stream 5m/1m top 10 trending baseline 2h min 3 score 1.5", {
                let trend = TrendConfig::new(Some(7_200_000), 3).and_then(|trend| trend.with_min_score(1.5));
                one_spec(trend.expect("trend settings"))
            }),
        ];
        for (legacy, graph) in named {
            assert_eq!(legacy_consumer_name(legacy), Some(consumer_name(&graph)), "{legacy}");
        }
    }

    #[test]
    fn a_name_no_version_gave_is_not_taken_for_one() {
        let current = consumer_name(&graph(None));
        for name in [
            current.as_str(),
            "batch 5m/1m top 10",
            "stream 5x top 10",
            "stream 5m/1m top ten",
            "stream 5m/1m top 10 without",
            "stream 5m/1m,1h/5m top 10 trending baseline 1h min 5",
            "stream 5m/1m,1h/5m top 10 trending baseline 2h,3h min 5",
            "stream 5m/1m top 10 score high",
        ] {
            assert_eq!(legacy_consumer_name(name), None, "{name}");
        }
    }
}
