//! Rankings as lines of text for a terminal.

use trendflow_dataflows::views::{Ranking, TrendingHashtag};
use trendflow_dataflows::window::Window;

use crate::time::format_event_time;

/// A window as its spec and end: `5m/1m ending 2021-08-30 00:05:00`.
pub fn format_window(window: &Window) -> String {
    format!("{:>6} ending {}", window.spec.to_string(), format_event_time(window.end))
}

/// One line for a ranking: the window, then its rows best first.
pub fn ranking_line<R: std::fmt::Display>(ranking: &Ranking<R>) -> String {
    let rows: Vec<String> = ranking.rows.iter().map(|row| row.to_string()).collect();
    format!("{}  {}", format_window(&ranking.window), rows.join(" · "))
}

/// One line for a trending ranking: the window, marked when its baseline is partial, then its
/// rows best first with their scores and counts against the expected ones.
pub fn trending_line(ranking: &Ranking<TrendingHashtag>) -> String {
    let rows: Vec<String> = ranking
        .rows
        .iter()
        .map(|row| format!("#{} z={:.1} ({} vs {:.1})", row.hashtag, row.score, row.count, row.expected))
        .collect();
    let partial = if ranking.partial_baseline { " (partial baseline)" } else { "" };
    format!("{} trending{partial}  {}", format_window(&ranking.window), rows.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trending_line_shows_scores_and_marks_a_partial_baseline() {
        let ranking = Ranking {
            window: Window { spec: "5m/1m".parse().unwrap(), end: 1_630_281_300_000 },
            rows: vec![TrendingHashtag::new("ida".into(), 30, 60, 300_000, 3_600_000)],
            is_final: true,
            as_of: 1_630_281_300_000,
            partial_baseline: true,
        };
        assert_eq!(
            trending_line(&ranking),
            " 5m/1m ending 2021-08-29 23:55:00 trending (partial baseline)  #ida z=10.2 (30 vs 5.0)"
        );
    }

    #[test]
    fn event_times_print_as_utc() {
        assert_eq!(format_event_time(1_630_281_087_000), "2021-08-29 23:51:27");
    }
}
