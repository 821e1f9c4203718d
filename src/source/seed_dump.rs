//! Reading the seed's MySQL dump (phpMyAdmin / mysqldump `INSERT` statements) as rows.
//!
//! The reader streams: it holds one statement at a time (a dump's extended inserts are bounded
//! in size), so dumps far larger than memory load too. It understands what such dumps contain:
//! single-quoted strings with MySQL's escapes and `''`, `NULL`, numbers, backticked names,
//! comments, and strings spanning lines. Statements other than inserts into `tweets`,
//! `hashtags` and `tweet_hashtags` are skipped.

use std::io::BufRead;

use thiserror::Error;

use crate::source::seed_tweet::SeedTweet;

/// One row of the seed's tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DumpRow {
    Tweet(SeedTweet),
    Hashtag { hashtag_id: u64, hashtag: String },
    TweetHashtag { tweet_id: u64, hashtag_id: u64, count: u32 },
}

/// Why the dump could not be read.
#[derive(Debug, Error)]
pub enum DumpError {
    #[error("reading the dump: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: String },
}

/// A streaming reader of a dump's rows.
pub struct DumpReader<R> {
    input: R,
    line: usize,
    rows: std::vec::IntoIter<DumpRow>,
    done: bool,
}

impl<R: BufRead> DumpReader<R> {
    /// Reads the dump from `input`.
    pub fn new(input: R) -> Self {
        DumpReader { input, line: 0, rows: Vec::new().into_iter(), done: false }
    }

    /// The next complete statement and the line it starts on, or `None` at the end.
    fn next_statement(&mut self) -> Result<Option<(usize, String)>, DumpError> {
        let mut statement = String::new();
        let mut start_line = self.line + 1;
        let mut scanner = Scanner::default();
        let mut buffer = String::new();
        loop {
            buffer.clear();
            if self.input.read_line(&mut buffer)? == 0 {
                return match statement.trim().is_empty() || !scanner.in_text() {
                    true if statement.trim().is_empty() => Ok(None),
                    _ => Err(DumpError::Syntax { line: start_line, reason: "the dump ends inside a statement".into() }),
                };
            }
            self.line += 1;
            if statement.trim().is_empty() && !scanner.in_text() {
                statement.clear();
                start_line = self.line;
            }
            match scanner.scan(&buffer) {
                Scanned::Ends(end) => {
                    statement.push_str(&buffer[..end]);
                    return Ok(Some((start_line, statement)));
                }
                Scanned::Continues(end) => statement.push_str(&buffer[..end]),
            }
        }
    }
}

impl<R: BufRead> Iterator for DumpReader<R> {
    type Item = Result<DumpRow, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.rows.next() {
                return Some(Ok(row));
            }
            if self.done {
                return None;
            }
            match self.next_statement() {
                Ok(Some((line, statement))) => match parse_insert(&statement) {
                    Ok(rows) => self.rows = rows.into_iter(),
                    Err(reason) => {
                        self.done = true;
                        return Some(Err(DumpError::Syntax { line, reason }));
                    }
                },
                Ok(None) => self.done = true,
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

/// What a line holds of the current statement.
enum Scanned {
    /// The statement ends just before this byte offset (past its `;`).
    Ends(usize),
    /// The statement goes on; the line's text up to this offset belongs to it (a line comment
    /// starts there, or the line ends).
    Continues(usize),
}

/// Finds where a statement ends, line by line, outside strings, names and comments.
#[derive(Default)]
struct Scanner {
    quote: Option<char>,
    escaped: bool,
    block_comment: bool,
}

impl Scanner {
    fn in_text(&self) -> bool {
        self.quote.is_some() || self.block_comment
    }

    /// Where the statement ends in `line`, or how much of the line belongs to it.
    fn scan(&mut self, line: &str) -> Scanned {
        let mut chars = line.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if let Some(quote) = self.quote {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' && quote == '\'' {
                    self.escaped = true;
                } else if c == quote {
                    self.quote = None;
                }
            } else if self.block_comment {
                if c == '*' && chars.peek().is_some_and(|(_, n)| *n == '/') {
                    chars.next();
                    self.block_comment = false;
                }
            } else {
                match c {
                    '\'' | '`' | '"' => self.quote = Some(c),
                    '/' if chars.peek().is_some_and(|(_, n)| *n == '*') => self.block_comment = true,
                    '-' if line[at..].starts_with("-- ") || line[at..].trim_end() == "--" => {
                        return Scanned::Continues(at)
                    }
                    '#' => return Scanned::Continues(at),
                    ';' => return Scanned::Ends(at + 1),
                    _ => {}
                }
            }
        }
        Scanned::Continues(line.len())
    }
}

/// A literal value of an insert.
#[derive(Debug, PartialEq)]
enum Value {
    Null,
    Text(String),
}

/// The rows of an `INSERT INTO` one of the seed's tables; other statements give none.
fn parse_insert(statement: &str) -> Result<Vec<DumpRow>, String> {
    let mut parser = Parser { text: statement.trim_start(), at: 0 };
    if !parser.keyword("INSERT") {
        return Ok(Vec::new());
    }
    parser.keyword("IGNORE");
    if !parser.keyword("INTO") {
        return Err("expected INTO after INSERT".into());
    }
    let table = parser.name()?;
    let columns: Vec<String> = match parser.peek() {
        Some('(') => parser.list(|p| p.name())?,
        _ => Vec::new(),
    };
    if !parser.keyword("VALUES") {
        return Err(format!("expected VALUES in the insert into {table}"));
    }
    let defaults: &[&str] = match table.as_str() {
        "tweets" => &["tweet_id", "tweet", "date_time", "language"],
        "hashtags" => &["hashtag_id", "hashtag"],
        "tweet_hashtags" => &["tweet_id", "hashtag_id", "count"],
        _ => return Ok(Vec::new()),
    };
    let columns: Vec<String> = match columns.is_empty() {
        true => defaults.iter().map(|c| c.to_string()).collect(),
        false => columns,
    };
    let mut rows = Vec::new();
    loop {
        let values = parser.list(|p| p.value())?;
        if values.len() != columns.len() {
            return Err(format!("a row of {table} has {} values for {} columns", values.len(), columns.len()));
        }
        rows.push(to_row(&table, &columns, values)?);
        match parser.peek() {
            Some(',') => parser.at += 1,
            Some(';') | None => return Ok(rows),
            Some(other) => return Err(format!("unexpected '{other}' between rows of {table}")),
        }
    }
}

fn to_row(table: &str, columns: &[String], values: Vec<Value>) -> Result<DumpRow, String> {
    let mut fields: std::collections::HashMap<&str, Value> = columns.iter().map(String::as_str).zip(values).collect();
    let mut text = |name: &str| match fields.remove(name) {
        Some(Value::Text(text)) => Some(text),
        _ => None,
    };
    // A column that may be NULL; a value that is no number is refused, never taken for NULL.
    let optional = |value: Option<String>, name: &str| -> Result<Option<u64>, String> {
        let parse = |value: String| {
            value.parse().map_err(|_| format!("{table}.{name} '{value}' is not a non-negative integer"))
        };
        value.map(parse).transpose()
    };
    let number = |value: Option<String>, name: &str| -> Result<u64, String> {
        optional(value, name)?.ok_or_else(|| format!("{table}.{name} is missing or NULL"))
    };
    Ok(match table {
        "tweets" => DumpRow::Tweet(SeedTweet {
            tweet_id: number(text("tweet_id"), "tweet_id")?,
            tweet: text("tweet"),
            date_time: text("date_time"),
            language: text("language"),
            user_id: optional(text("user_id"), "user_id")?,
            retweet_of: optional(text("retweet_of"), "retweet_of")?,
        }),
        "hashtags" => DumpRow::Hashtag {
            hashtag_id: number(text("hashtag_id"), "hashtag_id")?,
            hashtag: text("hashtag").unwrap_or_default(),
        },
        _ => DumpRow::TweetHashtag {
            tweet_id: number(text("tweet_id"), "tweet_id")?,
            hashtag_id: number(text("hashtag_id"), "hashtag_id")?,
            count: number(text("count"), "count")?.try_into().map_err(|_| "tweet_hashtags.count is too large")?,
        },
    })
}

/// A cursor over one statement's text.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        let rest = &self.text[self.at..];
        self.at += rest.len() - rest.trim_start().len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.text[self.at..].chars().next()
    }

    fn keyword(&mut self, word: &str) -> bool {
        self.skip_space();
        let rest = &self.text[self.at..];
        let matches = rest.get(..word.len()).is_some_and(|head| head.eq_ignore_ascii_case(word))
            && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if matches {
            self.at += word.len();
        }
        matches
    }

    fn name(&mut self) -> Result<String, String> {
        self.skip_space();
        let rest = &self.text[self.at..];
        if let Some(quoted) = rest.strip_prefix('`') {
            let end = quoted.find('`').ok_or("unterminated `name`")?;
            self.at += end + 2;
            return Ok(quoted[..end].to_string());
        }
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if end == 0 {
            return Err(format!("expected a name at '{}'", rest.chars().take(20).collect::<String>()));
        }
        self.at += end;
        Ok(rest[..end].to_string())
    }

    /// `( item, item, ... )`.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T, String>) -> Result<Vec<T>, String> {
        if self.peek() != Some('(') {
            return Err("expected '('".into());
        }
        self.at += 1;
        let mut items = Vec::new();
        loop {
            items.push(item(self)?);
            match self.peek() {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => return Err("expected ',' or ')' in a list".into()),
            }
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_space();
        let rest = &self.text[self.at..];
        if rest.starts_with('\'') {
            return self.string().map(Value::Text);
        }
        if self.keyword("NULL") {
            return Ok(Value::Null);
        }
        let end = rest.find(|c: char| c == ',' || c == ')' || c.is_whitespace()).unwrap_or(rest.len());
        let literal = &rest[..end];
        if literal.is_empty()
            || !literal.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            return Err(format!("unexpected value '{}'", rest.chars().take(20).collect::<String>()));
        }
        self.at += end;
        Ok(Value::Text(literal.to_string()))
    }

    /// A single-quoted string with MySQL's backslash escapes and `''`.
    fn string(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = self.text[self.at + 1..].char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(match escaped {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        '0' => '\0',
                        'Z' => '\u{1a}',
                        'b' => '\u{8}',
                        other => other,
                    }),
                    None => return Err("a string ends in a backslash".into()),
                },
                '\'' if self.text[self.at + 1 + at + 1..].starts_with('\'') => {
                    out.push('\'');
                    chars.next();
                }
                '\'' => {
                    self.at += 1 + at + 1;
                    return Ok(out);
                }
                other => out.push(other),
            }
        }
        Err("unterminated string".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(dump: &str) -> Vec<DumpRow> {
        DumpReader::new(dump.as_bytes()).collect::<Result<_, _>>().expect("dump parses")
    }

    #[test]
    fn inserts_of_the_three_tables_become_rows() {
        let dump = "-- comment; with semicolon\nSET NAMES utf8mb4;\n/*!40101 SET x=1 */;\n\
            INSERT INTO `hashtags` (`hashtag_id`, `hashtag`) VALUES\n(0, 'legendary'),\n(1, 'まいふみメモ');\n\
            INSERT INTO `tweets` (`tweet_id`, `tweet`, `date_time`, `language`) VALUES\n\
            (1, 'It\\'s a #test;\\nline two', '2021-08-29 19:51:27 EDT', 'en'),\n(2, 'don''t', NULL, 'und');\n\
            INSERT INTO `tweet_hashtags` (`tweet_id`, `hashtag_id`, `count`) VALUES (1, 0, 2);\n\
            ALTER TABLE `tweets` ADD PRIMARY KEY (`tweet_id`);\n";
        let rows = rows(dump);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[1], DumpRow::Hashtag { hashtag_id: 1, hashtag: "まいふみメモ".into() });
        match &rows[2] {
            DumpRow::Tweet(t) => assert_eq!(t.tweet.as_deref(), Some("It's a #test;\nline two")),
            other => panic!("expected a tweet, got {other:?}"),
        }
        match &rows[3] {
            DumpRow::Tweet(t) => assert_eq!((t.tweet.as_deref(), t.date_time.as_deref()), (Some("don't"), None)),
            other => panic!("expected a tweet, got {other:?}"),
        }
        assert_eq!(rows[4], DumpRow::TweetHashtag { tweet_id: 1, hashtag_id: 0, count: 2 });
    }

    #[test]
    fn strings_may_span_lines() {
        let rows = rows("INSERT INTO tweets VALUES (5, 'first\nsecond; still', '2021-08-29 19:51:27 EDT', 'en');\n");
        match &rows[0] {
            DumpRow::Tweet(t) => assert_eq!(t.tweet.as_deref(), Some("first\nsecond; still")),
            other => panic!("expected a tweet, got {other:?}"),
        }
    }

    #[test]
    fn an_author_or_retweet_id_that_is_no_number_refuses_the_row_rather_than_vanishing() {
        let insert = |user_id: &str, retweet_of: &str| {
            format!(
                "INSERT INTO tweets (tweet_id, tweet, date_time, language, user_id, retweet_of) \
                 VALUES (7, 'x', '2021-08-29 19:51:27 EDT', 'en', {user_id}, {retweet_of});\n"
            )
        };
        let read = |dump: String| DumpReader::new(dump.as_bytes()).collect::<Result<Vec<_>, _>>();
        match &read(insert("'12'", "NULL")).unwrap()[0] {
            DumpRow::Tweet(t) => assert_eq!((t.user_id, t.retweet_of), (Some(12), None)),
            other => panic!("expected a tweet, got {other:?}"),
        }
        for (user_id, retweet_of, named) in
            [("'abc'", "NULL", "user_id 'abc'"), ("3", "'18446744073709551616'", "retweet_of '18446744073709551616'")]
        {
            let error = read(insert(user_id, retweet_of)).unwrap_err().to_string();
            assert!(error.contains(named), "{error}");
        }
    }

    #[test]
    fn broken_statements_report_their_line() {
        let result: Result<Vec<_>, _> =
            DumpReader::new("SET a=1;\n\nINSERT INTO `tweets` VALUES (1, 'x', 'y');\n".as_bytes()).collect();
        let error = result.unwrap_err().to_string();
        assert!(error.starts_with("line 3:"), "{error}");
        let result: Result<Vec<_>, _> = DumpReader::new("INSERT INTO `tweets` VALUES (1, 'open".as_bytes()).collect();
        assert!(result.is_err());
    }
}
