//! What `trendflow verify` reports: the windows it compared, and any difference between the layers.

use std::fmt;

use serde::{Deserialize, Serialize};
use trendflow_dataflows::EventTime;

use crate::time::format_event_time;

/// A comparison of the speed layer's final views with the batch layer's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Per window spec: every window either layer holds, of any view, where both layers cover.
    pub compared: Vec<ComparedWindows>,
    /// The windows that differ in any view, or that one layer lacks.
    pub differing_windows: usize,
    /// The first differences, as a person reads them.
    pub differences: Vec<String>,
}

/// The windows of one spec compared, and the range of their ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparedWindows {
    /// The window spec, as written on the command line (`5m/1m`).
    pub window: String,
    pub windows: usize,
    /// The first and last window end both layers cover; `None` when their windows do not overlap.
    pub first_end_ms: Option<EventTime>,
    pub last_end_ms: Option<EventTime>,
}

impl VerifyReport {
    /// Whether the layers agree on every window compared.
    pub fn identical(&self) -> bool {
        self.differing_windows == 0
    }

    /// Every window compared, of every spec.
    pub fn windows_compared(&self) -> usize {
        self.compared.iter().map(|compared| compared.windows).sum()
    }

    /// What was compared: the views, and the range of window ends of each spec.
    pub fn scope(&self) -> String {
        let ranges: Vec<String> = self
            .compared
            .iter()
            .filter_map(|compared| {
                let (first, last) = (compared.first_end_ms?, compared.last_end_ms?);
                Some(format!("{} ending {} to {}", compared.window, format_event_time(first), format_event_time(last)))
            })
            .collect();
        format!(
            "hashtags, tweets, languages and trending; every window either layer holds where both cover: {}",
            ranges.join(", ")
        )
    }
}

/// `identical: ...` with what was compared, or the differences found, one a line.
impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.identical() {
            return f.write_str(&self.differences.join("\n"));
        }
        let covered: Vec<String> = self
            .compared
            .iter()
            .map(|compared| format!("{} windows of {}", compared.windows, compared.window))
            .collect();
        write!(f, "identical: {} ({})", covered.join(", "), self.scope())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_layers_say_what_was_compared_and_differing_ones_what_differs() {
        let mut report = VerifyReport {
            compared: vec![
                ComparedWindows {
                    window: "1m".into(),
                    windows: 10,
                    first_end_ms: Some(60_000),
                    last_end_ms: Some(600_000),
                },
                ComparedWindows { window: "5m/1m".into(), windows: 0, first_end_ms: None, last_end_ms: None },
            ],
            differing_windows: 0,
            differences: Vec::new(),
        };
        let line = report.to_string();
        assert!(line.starts_with("identical: 10 windows of 1m, 0 windows of 5m/1m (hashtags, tweets"), "{line}");
        assert!(line.ends_with("both cover: 1m ending 1970-01-01 00:01:00 to 1970-01-01 00:10:00)"), "{line}");
        assert_eq!(report.windows_compared(), 10);
        (report.differing_windows, report.differences) = (1, vec!["a".into(), "b".into()]);
        assert_eq!(report.to_string(), "a\nb");
        assert_eq!(serde_json::from_value::<VerifyReport>(serde_json::to_value(&report).unwrap()).unwrap(), report);
    }
}
