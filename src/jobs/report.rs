//! `--report PATH`, the flag of every job that ends with a summary: the summary's human form is
//! printed, its JSON ([`crate::vocabulary::report`]) written to PATH for scripts and benchmarks.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The report flag, shared by every job that reports.
#[derive(Args, Debug, Clone, Default)]
pub struct ReportArgs {
    /// Also write the job's report to PATH as JSON: the figures of the summary it prints (counts,
    /// rates, durations, peak memory), for scripts to read. Replaced whole, never seen half
    /// written. In a cluster, give each process a path of its own.
    #[arg(long = "report", value_name = "PATH")]
    pub report: Option<PathBuf>,
}

impl ReportArgs {
    /// Prints `report`'s summary, its first line prefixed by `speaker` (`process 1 of 2: `), and
    /// writes its JSON to the report path, if one was given.
    pub fn publish<R: Serialize + Display>(&self, speaker: &str, report: &R) -> Result<()> {
        println!("{speaker}{report}");
        self.write(report)
    }

    /// Writes `report` to the report path as JSON, if one was given.
    pub fn write(&self, report: &impl Serialize) -> Result<()> {
        match &self.report {
            Some(path) => write_report(path, report),
            None => Ok(()),
        }
    }
}

/// Writes `report` to `path` as JSON. It goes to a file beside `path` first, then takes its
/// place: a reader polling `path` (a stream's report is written twice) never sees half a report.
pub fn write_report(path: &Path, report: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(report).context("encoding the report")?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, text + "\n").with_context(|| format!("writing the report to {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("moving the report to {}", path.display()))
}

/// Reads the report at `path` as a `T`; `None` while no report is there (a job that has not
/// written it yet). A reader never sees half a report: [`write_report`] replaces it whole.
pub fn read_report<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("reading the report {}", path.display())),
    };
    serde_json::from_slice(&text).map(Some).with_context(|| format!("decoding the report {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_written_whole_and_replaced_whole() {
        let path = std::env::temp_dir().join(format!("trendflow-report-{}.json", std::process::id()));
        let args = ReportArgs { report: Some(path.clone()) };
        args.write(&serde_json::json!({"tweets": 1})).unwrap();
        args.write(&serde_json::json!({"tweets": 2})).unwrap();
        let read: serde_json::Value = read_report(&path).unwrap().expect("the report");
        assert_eq!(read["tweets"], 2);
        assert!(!path.with_extension("json.partial").exists(), "nothing is left beside it");
        std::fs::remove_file(&path).unwrap();
        assert!(read_report::<serde_json::Value>(&path).unwrap().is_none(), "no report yet");
        ReportArgs::default().write(&1).unwrap();
    }

    #[test]
    fn a_report_that_cannot_be_written_says_where() {
        let args = ReportArgs { report: Some(PathBuf::from("/no/such/directory/report.json")) };
        let error = format!("{:#}", args.write(&1).unwrap_err());
        assert!(error.starts_with("writing the report to /no/such/directory/report.json.partial: "), "{error}");
    }
}
