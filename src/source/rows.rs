//! Files of the seed's columns (`tweet_id`, `tweet`, `date_time`, `language`, and trendflow's
//! optional `user_id`, `retweet_of`): CSV and JSON lines, read row by row, each row a
//! [`SeedTweet`] or the reason, with its place in the file, why it is not one.

use std::io::{BufRead, Read};

use crate::source::seed_tweet::SeedTweet;

/// The rows of a CSV file with a header line.
pub fn csv_rows(input: impl Read) -> impl Iterator<Item = Result<SeedTweet, String>> {
    csv::Reader::from_reader(input)
        .into_deserialize::<SeedTweet>()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| format!("CSV record {}: {e}", i + 1)))
}

/// The rows of a JSON-lines file, one object a line; blank lines are skipped.
pub fn json_lines_rows(input: impl BufRead) -> impl Iterator<Item = Result<SeedTweet, String>> {
    input.lines().enumerate().filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty())).map(
        |(i, line)| {
            let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
            serde_json::from_str::<SeedTweet>(&line).map_err(|e| format!("line {}: {e}", i + 1))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_name_the_record_that_failed() {
        let file = "tweet_id,tweet,date_time,language\n7,#a,2021-08-29 19:51:27 EDT,en\nx,#b,,\n";
        let rows: Vec<_> = csv_rows(file.as_bytes()).collect();
        assert_eq!(rows[0].as_ref().map(|row| row.tweet_id), Ok(7));
        assert!(rows[1].as_ref().unwrap_err().starts_with("CSV record 2: "), "{:?}", rows[1]);
    }

    #[test]
    fn json_lines_skip_blank_lines_and_name_bad_ones() {
        let file = "{\"tweet_id\": 7, \"tweet\": \"#a\"}\n\n  \n{\"tweet_id\": -1}\n";
        let rows: Vec<_> = json_lines_rows(file.as_bytes()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].as_ref().map(|row| row.tweet_id), Ok(7));
        assert!(rows[1].as_ref().unwrap_err().starts_with("line 4: "), "{:?}", rows[1]);
    }
}
