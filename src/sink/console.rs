//! Rankings as lines of text for a terminal.

use trendflow_dataflows::views::Ranking;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_print_as_utc() {
        assert_eq!(format_event_time(1_630_281_087_000), "2021-08-29 23:51:27");
    }
}
