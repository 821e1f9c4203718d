//! Tweet files as people hold them: the seed's SQL dump, CSV with the seed's columns, or JSON
//! lines of any [`Format`] — each plain or compressed (`.gz`, `.bz2`, `.zst`), told by the file's
//! extensions (`tweets.jsonl.gz`) and decompressed while read, never held whole in memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::source::formats::{parse_record, Format, Parsed};
use crate::source::seed_dump::{DumpError, DumpReader, DumpRow};
use crate::source::seed_tweet::SeedTweet;
use crate::vocabulary::rejection::{Reason, RejectionKind};

/// What a file holds, by its extension under any compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contents {
    /// The seed's SQL dump (`.sql`): its tweets, and Twitter's hashtag entities.
    Dump,
    /// CSV with the seed's columns (`.csv`).
    Csv,
    /// JSON lines, one record of any format a line (`.jsonl`, `.ndjson`, `.json`).
    JsonLines,
}

/// An open tweet file: what it holds, and its bytes, decompressed.
pub struct TweetFile {
    pub contents: Contents,
    pub reader: Box<dyn BufRead + Send>,
}

/// Opens `path`, reading the file through `wrap` (a progress bar counts the bytes of the file as
/// stored, compressed or not).
pub fn open(path: &Path, wrap: impl FnOnce(File) -> Box<dyn Read + Send>) -> Result<TweetFile> {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_ascii_lowercase();
    let mut extensions = name.rsplit('.');
    let last = extensions.next().unwrap_or_default();
    let (compression, inner) = match last {
        "gz" | "bz2" | "zst" => (Some(last), extensions.next().unwrap_or_default()),
        _ => (None, last),
    };
    let contents = match inner {
        "sql" => Contents::Dump,
        "csv" => Contents::Csv,
        "jsonl" | "ndjson" | "json" => Contents::JsonLines,
        other => bail!(
            "cannot tell what {} holds from its extension '{other}'; use .sql, .csv or .jsonl, \
             optionally compressed as .gz, .bz2 or .zst (tweets.jsonl.gz)",
            path.display()
        ),
    };
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let raw = wrap(file);
    let reader: Box<dyn BufRead + Send> = match compression {
        Some("gz") => Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(raw))),
        Some("bz2") => Box::new(BufReader::new(bzip2::read::MultiBzDecoder::new(raw))),
        Some(_) => Box::new(BufReader::new(
            zstd::stream::read::Decoder::new(raw).with_context(|| format!("reading {} as zstd", path.display()))?,
        )),
        None => Box::new(BufReader::new(raw)),
    };
    Ok(TweetFile { contents, reader })
}

impl TweetFile {
    /// The file's records, each the tweets it holds, or what it is instead, or why it is neither;
    /// JSON lines are read as `format`. A dump yields its tweets (its hashtag rows are Twitter's
    /// entities, which only `db load` keeps) and ends at its first broken statement.
    pub fn records(self, format: Format) -> Box<dyn Iterator<Item = Result<Parsed, Reason>> + Send> {
        match self.contents {
            Contents::Dump => Box::new(
                DumpReader::new(self.reader)
                    .scan(false, |failed, row| match (*failed, row) {
                        (true, _) => None,
                        (false, Ok(DumpRow::Tweet(row))) => Some(Some(Ok(Parsed::Rows(vec![row])))),
                        (false, Ok(_)) => Some(None),
                        (false, Err(error)) => {
                            *failed = true;
                            let kind = match error {
                                DumpError::Io(_) => RejectionKind::Unreadable,
                                DumpError::Syntax { .. } => RejectionKind::MalformedDump,
                            };
                            Some(Some(Err(Reason::new(kind, error.to_string()))))
                        }
                    })
                    .flatten(),
            ),
            Contents::Csv => Box::new(csv_rows(self.reader).map(|row| row.map(|row| Parsed::Rows(vec![row])))),
            Contents::JsonLines => Box::new(json_lines(self.reader, format)),
        }
    }
}

/// The rows of a CSV file of the seed's columns, with a header line; a reason names its record.
pub fn csv_rows(input: impl Read) -> impl Iterator<Item = Result<SeedTweet, Reason>> {
    csv::Reader::from_reader(input).into_deserialize::<SeedTweet>().enumerate().map(|(i, row)| {
        row.map_err(|e| {
            let kind = match e.kind() {
                csv::ErrorKind::Deserialize { .. } => RejectionKind::InvalidField,
                csv::ErrorKind::Utf8 { .. } => RejectionKind::InvalidUtf8,
                csv::ErrorKind::Io(_) => RejectionKind::Unreadable,
                _ => RejectionKind::MalformedCsv,
            };
            Reason::new(kind, format!("CSV record {}: {e}", i + 1))
        })
    })
}

/// The records of JSON lines of `format`, blank lines skipped; a reason names its line.
pub fn json_lines(input: impl BufRead + Send, format: Format) -> impl Iterator<Item = Result<Parsed, Reason>> + Send {
    input.lines().enumerate().filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty())).map(
        move |(i, line)| {
            let line =
                line.map_err(|e| Reason::new(RejectionKind::Unreadable, e.to_string()).at(format!("line {}", i + 1)))?;
            parse_record(&line, format).map_err(|reason| reason.at(format!("line {}", i + 1)))
        },
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn written(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("trendflow-files-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn tweet_ids(path: &Path) -> Vec<u64> {
        let file = open(path, |file| Box::new(file)).unwrap();
        file.records(Format::Auto)
            .flat_map(|record| match record.unwrap() {
                Parsed::Rows(rows) => rows.into_iter().map(|row| row.tweet_id).collect(),
                Parsed::Skipped(_) => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn compressed_files_read_like_plain_ones() {
        let lines = b"{\"tweet_id\": 1, \"tweet\": \"#a\"}\n{\"delete\": {}}\n\n{\"id\": \"2\", \"text\": \"#b\"}\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(lines).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(lines).unwrap();
        let files = [
            written("a.jsonl", lines),
            written("a.jsonl.gz", &gz.finish().unwrap()),
            written("a.ndjson.bz2", &bz.finish().unwrap()),
            written("a.json.zst", &zstd::encode_all(&lines[..], 3).unwrap()),
        ];
        for path in &files {
            assert_eq!(tweet_ids(path), [1, 2], "{}", path.display());
            std::fs::remove_file(path).unwrap();
        }
    }

    #[test]
    fn csv_rows_name_the_record_that_failed() {
        let file = "tweet_id,tweet,date_time,language\n7,#a,2021-08-29 19:51:27 EDT,en\nx,#b,,\n";
        let rows: Vec<_> = csv_rows(file.as_bytes()).collect();
        assert_eq!(rows[0].as_ref().map(|row| row.tweet_id), Ok(7));
        let reason = rows[1].as_ref().unwrap_err();
        assert!(reason.detail().starts_with("CSV record 2: "), "{reason}");
        assert_eq!(reason.kind(), RejectionKind::InvalidField);
    }

    #[test]
    fn json_lines_skip_blank_lines_and_name_bad_ones() {
        let file = "{\"tweet_id\": 7, \"tweet\": \"#a\"}\n\n  \n{\"tweet_id\": -1}\n";
        let records: Vec<_> = json_lines(file.as_bytes(), Format::Auto).collect();
        assert_eq!(records.len(), 2);
        assert!(matches!(&records[0], Ok(Parsed::Rows(rows)) if rows[0].tweet_id == 7));
        let reason = records[1].as_ref().unwrap_err();
        assert!(reason.detail().starts_with("line 4: "), "{reason}");
        assert_eq!(reason.kind(), RejectionKind::InvalidField);
    }

    #[test]
    fn an_unknown_extension_says_what_would_do() {
        let error = open(Path::new("tweets.parquet"), |file| Box::new(file)).err().unwrap().to_string();
        assert!(error.contains("use .sql, .csv or .jsonl, optionally compressed"), "{error}");
    }
}
