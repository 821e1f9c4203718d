//! What trendflow's benchmark programs share: running the `trendflow` binary as a measured child
//! process (wall time and its own peak RSS) and reading the report it writes (`--report`, never
//! what it prints), the machine's description, and result files.
//!
//! Each program under `src/bin` is one scenario; `README.md` has the commands and the figures.

pub mod broker_baseline;
pub mod cost;
pub mod history;
pub mod mock_broker;
pub mod open_loop;
pub mod plot;
pub mod services;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use trendflow::jobs::report::read_report;

/// A finished child process: how long it took, the processor time it used (user and system, all
/// threads), its peak resident memory, and what it printed.
pub struct ChildRun {
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss_bytes: u64,
    pub stdout: String,
}

/// Runs `command` to completion and measures it. The peak RSS comes from the kernel's accounting
/// of that one child (`wait4`), so it covers the whole process, allocator and libraries included.
pub fn run_measured(command: &mut Command) -> Result<ChildRun> {
    let started = Instant::now();
    let child = command.stdout(Stdio::piped()).spawn().with_context(|| format!("starting {command:?}"))?;
    wait_measured(child, started, &format!("{command:?}"))
}

/// Waits for `child`, started at `started`, to end, and measures it as [`run_measured`] does;
/// `what` names it in errors.
pub fn wait_measured(mut child: Child, started: Instant, what: &str) -> Result<ChildRun> {
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout).with_context(|| format!("reading the output of {what}"))?;
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if pid < 0 {
        bail!("waiting for {what}: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{what} failed (wait status {status}); its output:\n{stdout}");
    }
    let seconds = |time: libc::timeval| Duration::new(time.tv_sec as u64, time.tv_usec as u32 * 1_000);
    let cpu = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    Ok(ChildRun { wall, cpu, peak_rss_bytes: usage.ru_maxrss as u64 * 1024, stdout })
}

/// Runs `command`, a job that reports (`trendflow batch`, `demo`, `stream`, the `cost` program),
/// to completion and measures it, as [`run_measured`]; returns the run and the report the job
/// wrote, read from a temporary file it was given with `--report`.
pub fn run_reported<T: DeserializeOwned>(command: &mut Command) -> Result<(ChildRun, T)> {
    let report = ReportFile::new("run");
    let run = run_measured(report.pass_to(command))?;
    Ok((run, report.written()?))
}

/// A temporary file for a job's report (`--report PATH`), read back as its type; removed when
/// dropped.
pub struct ReportFile {
    path: PathBuf,
}

impl ReportFile {
    /// A file of this process's own in the temporary directory, named after `what` it reports.
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("trendflow-bench-{}-{number}-{what}.json", std::process::id());
        ReportFile { path: std::env::temp_dir().join(name) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds `--report PATH` to `command`'s arguments.
    pub fn pass_to<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command.arg("--report").arg(&self.path)
    }

    /// The report, once the job has written it; `None` before.
    pub fn read<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        read_report(&self.path)
    }

    /// The report; an error if the job wrote none.
    pub fn written<T: DeserializeOwned>(&self) -> Result<T> {
        self.read()?.with_context(|| format!("the job wrote no report to {}", self.path.display()))
    }
}

impl Drop for ReportFile {
    fn drop(&mut self) {
        // Absent when the job never wrote it.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The `trendflow` binary of the same build as this benchmark (`cargo build --release` puts both
/// in the same directory).
pub fn trendflow_binary() -> Result<PathBuf> {
    sibling_binary("trendflow", "cargo build --release")
}

/// A binary of the same build as this benchmark, beside it in the target directory; `build` is
/// the command that makes it, for the error when it is missing (`cargo run` builds only the
/// benchmark it runs).
pub fn sibling_binary(name: &str, build: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this benchmark's executable")?;
    let binary = exe.with_file_name(name);
    if !binary.exists() {
        bail!("{} is missing: build it first with {build}", binary.display());
    }
    Ok(binary)
}

/// The median of some measurements (the upper middle one for an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// What the figures were measured on: cores, memory, and the load when the run started.
pub fn machine() -> Value {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let memory_kib: u64 = read("/proc/meminfo")
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let cpu_model = read("/proc/cpuinfo")
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split(':').nth(1).map(|model| model.trim().to_string()))
        .unwrap_or_default();
    json!({
        "cpu_model": cpu_model,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": (memory_kib as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "load_average": read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

/// The commit the benchmark was built from, `-dirty` if the tree had changes; `unknown` outside
/// a git checkout.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        // Results written before, by this run or another, are no change to what is measured.
        Some(head)
            if git(&["status", "--porcelain", "--", ":/", ":(exclude,top)bench/results"])
                .is_some_and(|changes| !changes.is_empty()) =>
        {
            format!("{head}-dirty")
        }
        Some(head) => head,
        None => "unknown".into(),
    }
}

/// `bench/results`, where every benchmark writes its figures; created if missing.
pub fn results_dir() -> Result<PathBuf> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&directory).with_context(|| format!("creating {}", directory.display()))?;
    Ok(directory)
}

/// Writes `results` to `bench/results/NAME.json` and returns the path.
///
/// The results are stamped with what they measured: the commit (`-dirty` with uncommitted
/// changes), the date, and the machine when the benchmark did not record it itself.
pub fn write_results(name: &str, results: &impl Serialize) -> Result<PathBuf> {
    let path = results_dir()?.join(format!("{name}.json"));
    let mut results = serde_json::to_value(results).context("encoding the results")?;
    if let Value::Object(fields) = &mut results {
        fields.insert("commit".into(), commit().into());
        fields.insert("date".into(), trendflow::time::rfc3339(trendflow::time::wall_clock_us() / 1_000).into());
        fields.entry("machine").or_insert_with(machine);
    }
    let text = serde_json::to_string_pretty(&results).context("encoding the results")?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_measured_and_a_failing_one_is_an_error() {
        let run = run_measured(Command::new("sh").args(["-c", "echo hello"])).unwrap();
        assert_eq!(run.stdout, "hello\n");
        assert!(run.peak_rss_bytes > 0);
        let busy =
            run_measured(Command::new("sh").args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])).unwrap();
        assert!(busy.cpu > Duration::ZERO && busy.cpu <= busy.wall + Duration::from_millis(50));
        let error = run_measured(Command::new("sh").args(["-c", "echo oops; exit 3"])).err().unwrap().to_string();
        assert!(error.contains("oops"), "{error}");
    }

    #[test]
    fn a_report_is_read_as_its_type_once_written_and_removed_after() {
        let report = ReportFile::new("test");
        assert_eq!(report.read::<Value>().unwrap(), None);
        let (run, written): (ChildRun, Value) =
            run_reported(Command::new("sh").args(["-c", "echo '{\"tweets\": 3}' > \"$2\"", "sh"])).unwrap();
        assert_eq!((run.stdout.as_str(), written["tweets"].as_u64()), ("", Some(3)));
        std::fs::write(report.path(), "{}").unwrap();
        let path = report.path().to_path_buf();
        drop(report);
        assert!(!path.exists(), "removed once dropped");
        let error = run_reported::<Value>(&mut Command::new("true")).err().unwrap().to_string();
        assert!(error.starts_with("the job wrote no report to "), "{error}");
    }

    #[test]
    fn a_missing_binary_says_how_to_build_it() {
        let error = sibling_binary("no-such-binary", "cargo build --bin no-such-binary").unwrap_err().to_string();
        assert!(
            error.ends_with("no-such-binary is missing: build it first with cargo build --bin no-such-binary"),
            "{error}"
        );
    }

    #[test]
    fn the_median_is_the_middle_value() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 3.0);
    }
}
