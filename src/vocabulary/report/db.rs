//! What `trendflow db load` and `db generate` report: the tweets stored, and what was left out
//! and why.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::vocabulary::rejection::{Reason, RejectionKind};

/// How many reasons of each sort a report keeps, to show: the counts cover the rest.
const EXAMPLES: usize = 10;

/// A load of a tweet file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// The tweets stored, or found stored with their values.
    pub loaded: u64,
    /// Where they went: `MySQL at HOST:PORT (user 'USER', database 'NAME')`.
    pub target: String,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub left_out: LeftOut,
}

/// A generation of tweets into MySQL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerateReport {
    pub generated: u64,
    pub target: String,
    pub seconds: f64,
    pub tweets_per_second: f64,
    pub left_out: LeftOut,
}

/// What a load left out, and why: records that hold no tweet, rows refused by the input rules,
/// and copies of stored tweets (first write wins).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// Records that hold no tweet, by what they are (`Twitter v1.1 delete notice`).
    pub skipped: BTreeMap<String, u64>,
    /// Rows refused, by the kind of their reason.
    pub rejected: BTreeMap<RejectionKind, u64>,
    /// The first reasons of those refusals.
    pub rejected_examples: Vec<String>,
    /// Tweets found stored already with the same values.
    pub unchanged: u64,
    /// Tweets found stored already with other values, left as stored.
    pub conflicts: u64,
    /// The first reasons of those conflicts.
    pub conflict_examples: Vec<String>,
}

impl LeftOut {
    /// Notes a row refused for `reason`.
    pub fn rejected(&mut self, reason: Reason) {
        *self.rejected.entry(reason.kind()).or_default() += 1;
        if self.rejected_examples.len() < EXAMPLES {
            self.rejected_examples.push(reason.to_string());
        }
    }

    /// Notes a record that holds no tweet, but `what`.
    pub fn skipped(&mut self, what: String) {
        *self.skipped.entry(what).or_default() += 1;
    }

    /// Notes a copy of a stored tweet with other values, refused for `reason`.
    pub fn conflict(&mut self, reason: &Reason) {
        self.conflicts += 1;
        if self.conflict_examples.len() < EXAMPLES {
            self.conflict_examples.push(reason.to_string());
        }
    }

    /// All the rows refused.
    pub fn rejected_count(&self) -> u64 {
        self.rejected.values().sum()
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loaded {} tweets into {} in {:.2} s ({:.0} rows/s){}",
            self.loaded, self.target, self.seconds, self.rows_per_second, self.left_out
        )
    }
}

impl fmt::Display for GenerateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "generated {} tweets into {} in {:.2} s ({:.0} tweets/s){}",
            self.generated, self.target, self.seconds, self.tweets_per_second, self.left_out
        )
    }
}

/// A line for each sort of row left out, each on a line of its own after the summary's.
impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.skipped.is_empty() {
            let kinds: Vec<String> = self.skipped.iter().map(|(what, count)| format!("{count} {what}")).collect();
            let total: u64 = self.skipped.values().sum();
            write!(f, "\nskipped {total} records that hold no tweet: {}", kinds.join(", "))?;
        }
        if !self.rejected.is_empty() {
            write!(f, "\nrejected {} rows, e.g.:", self.rejected_count())?;
            self.rejected_examples.iter().try_for_each(|reason| write!(f, "\n  {reason}"))?;
        }
        if self.unchanged > 0 {
            write!(f, "\n{} of the tweets were stored already with the same values", self.unchanged)?;
        }
        if self.conflicts > 0 {
            write!(
                f,
                "\nleft {} tweets as stored: they are stored already with other values (first write wins), e.g.:",
                self.conflicts
            )?;
            self.conflict_examples.iter().try_for_each(|reason| write!(f, "\n  {reason}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_kind_and_the_first_ten_shown() {
        let mut left_out = LeftOut::default();
        for id in 0..12 {
            left_out.rejected(Reason::new(RejectionKind::IdOutOfRange, format!("tweet_id {id} is outside")));
        }
        left_out.rejected(Reason::new(RejectionKind::InvalidDate, "tweet 7: 'soon' is not a date"));
        left_out.skipped("Twitter v1.1 delete notice".into());
        assert_eq!(left_out.rejected_count(), 13);
        assert_eq!(left_out.rejected[&RejectionKind::IdOutOfRange], 12);
        assert_eq!(left_out.rejected_examples.len(), 10);
        let json = serde_json::to_value(&left_out).unwrap();
        assert_eq!(
            (json["rejected"]["id_out_of_range"].as_u64(), json["rejected"]["invalid_date"].as_u64()),
            (Some(12), Some(1))
        );
        assert_eq!(serde_json::from_value::<LeftOut>(json).unwrap(), left_out);
    }

    #[test]
    fn a_load_s_summary_is_its_line_then_one_for_each_sort_left_out() {
        let mut left_out = LeftOut { unchanged: 3, ..LeftOut::default() };
        left_out.rejected(Reason::new(RejectionKind::InvalidDate, "tweet 7: 'soon' is not a date"));
        left_out.conflict(&Reason::new(RejectionKind::Conflict, "conflict: tweet 2 is stored already"));
        let report = LoadReport { loaded: 5, target: "MySQL".into(), seconds: 0.5, rows_per_second: 10.0, left_out };
        assert_eq!(
            report.to_string(),
            "loaded 5 tweets into MySQL in 0.50 s (10 rows/s)\n\
             rejected 1 rows, e.g.:\n  tweet 7: 'soon' is not a date\n\
             3 of the tweets were stored already with the same values\n\
             left 1 tweets as stored: they are stored already with other values (first write wins), e.g.:\n  \
             conflict: tweet 2 is stored already"
        );
        let quiet = GenerateReport {
            generated: 5,
            target: "MySQL".into(),
            seconds: 0.5,
            tweets_per_second: 10.0,
            left_out: LeftOut::default(),
        };
        assert_eq!(quiet.to_string(), "generated 5 tweets into MySQL in 0.50 s (10 tweets/s)");
    }
}
