//! Clusters: the same input gives the same final views with 1 worker, 2 workers, 2 processes on
//! loopback and 2 processes of 2 workers, for the demo, the batch layer and the speed layer; and
//! `scripts/cluster` runs a job from a hostfile.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

use common::{brokers, seed_dump, seed_tweets, stored_views, Services};
use trendflow_dataflows::graph::GraphConfig;
use trendflow_dataflows::reference;
use trendflow_dataflows::window::WindowSpec;

/// The layouts every job is run in: (processes, workers per process).
const LAYOUTS: [(usize, usize); 4] = [(1, 1), (1, 2), (2, 1), (2, 2)];

/// A hostfile of `processes` loopback addresses on ports that were free a moment ago.
fn loopback_hostfile(processes: usize) -> PathBuf {
    let listeners: Vec<TcpListener> = (0..processes).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let lines: Vec<String> =
        listeners.iter().map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port())).collect();
    let path = std::env::temp_dir().join(format!("trendflow-hosts-{}-{}", std::process::id(), lines[0]));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Runs a trendflow job as `processes` processes of `workers` workers each, and returns every
/// process's output once all have ended; fails the test if any fails.
fn run_cluster(s: &Services, processes: usize, workers: usize, args: &[&str]) -> Vec<Output> {
    let hostfile = loopback_hostfile(processes);
    let children: Vec<_> = (0..processes)
        .map(|process| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_trendflow"));
            command.args(args).args(["-w", &workers.to_string()]);
            if processes > 1 {
                let hostfile = hostfile.to_str().unwrap();
                command.args(["-n", &processes.to_string(), "-p", &process.to_string(), "--hostfile", hostfile]);
            }
            command
                .env("TRENDFLOW_MYSQL_URL", &s.mysql_url)
                .env("TRENDFLOW_BROKERS", brokers())
                .env("TRENDFLOW_TOPIC_PREFIX", &s.topic_prefix)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("starting a trendflow process")
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|child| child.wait_with_output().unwrap()).collect();
    for (process, output) in outputs.iter().enumerate() {
        assert!(
            output.status.success(),
            "process {process} of {processes}×{workers} {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::remove_file(hostfile).unwrap();
    outputs
}

/// The number right after `label` in each process's summary, summed over the processes.
fn summed_count(outputs: &[Output], label: &str) -> u64 {
    outputs
        .iter()
        .map(|output| {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let count = stdout.split(label).nth(1).and_then(|rest| rest.split(' ').next());
            count.and_then(|n| n.parse::<u64>().ok()).unwrap_or_else(|| panic!("no '{label}' summary: {stdout}"))
        })
        .sum()
}

/// Fresh services with the seed's tweets loaded into MySQL and produced into 4 partitions.
fn seed_in_mysql_and_kafka(name: &str) -> Services {
    let s = Services::fresh(name);
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "load", seed_dump().to_str().unwrap()]);
    s.succeed(&["topics", "create", "--partitions", "4"]);
    s.succeed(&["produce"]);
    s
}

fn specs() -> Vec<WindowSpec> {
    vec!["1m".parse().unwrap(), "5m/1m".parse().unwrap()]
}

#[test]
fn the_demo_prints_the_same_rankings_in_every_layout() {
    let s = Services::fresh("clusterdemo");
    let mut rankings = Vec::new();
    for (processes, workers) in LAYOUTS {
        let outputs = run_cluster(&s, processes, workers, &["demo", "--tweets", "30000"]);
        let mut lines = Vec::new();
        for output in &outputs {
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.contains("identical: yes"), "{stdout}");
            lines.extend(stdout.lines().filter(|line| line.contains(" ending ")).map(str::to_string));
        }
        lines.sort();
        assert!(lines.len() > 10, "{lines:?}");
        rankings.push(((processes, workers), lines));
    }
    for (layout, lines) in &rankings[1..] {
        assert!(lines == &rankings[0].1, "{layout:?} printed other rankings than one worker");
    }
}

#[test]
fn the_batch_layer_stores_the_reference_views_in_every_layout() {
    let s = Services::fresh("clusterbatch");
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "load", seed_dump().to_str().unwrap()]);
    let expected = reference::final_views(&seed_tweets(), &GraphConfig::new(specs(), 10, 60_000).unwrap());
    for (processes, workers) in LAYOUTS {
        let outputs = run_cluster(&s, processes, workers, &["batch", "--window", "1m", "--window", "5m/1m"]);
        assert_eq!(summed_count(&outputs, "batch: "), 8759, "the processes share the history without overlap");
        let stored = stored_views(&s.mysql_url, "batch", &specs());
        assert!(
            stored == expected,
            "{processes}×{workers}: {}",
            stored.first_difference(&expected).unwrap_or_default()
        );
    }
}

#[test]
fn the_speed_layer_verifies_against_a_one_process_batch_in_every_layout() {
    let s = seed_in_mysql_and_kafka("clusterstream");
    s.succeed(&["batch", "--window", "1m", "--window", "5m/1m"]);
    for (processes, workers) in LAYOUTS {
        let args =
            ["stream", "--window", "1m", "--window", "5m/1m", "--until-idle", "3s", "--no-archive", "--from-beginning"];
        let outputs = run_cluster(&s, processes, workers, &args);
        assert_eq!(summed_count(&outputs, "stream: "), 8759, "{processes}×{workers}: every partition read once");
        let verified = s.succeed(&["verify"]);
        assert!(
            verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"),
            "{processes}×{workers}: {verified}"
        );
    }
    // Run again without --from-beginning, two processes resume from the positions stored: they
    // read only the last window horizon (5 minutes) again, and rewrite the same views.
    let args = ["stream", "--window", "1m", "--window", "5m/1m", "--until-idle", "3s", "--no-archive"];
    let outputs = run_cluster(&s, 2, 1, &args);
    let resumed = summed_count(&outputs, "stream: ");
    assert!(resumed < 8759 * 3 / 4, "the resumed processes read {resumed} messages again");
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "resumed: {verified}");
}

#[test]
fn scripts_cluster_runs_stream_and_batch_from_a_hostfile_and_they_verify() {
    let s = seed_in_mysql_and_kafka("clusterscript");
    let hostfile = loopback_hostfile(2);
    let logs = std::env::temp_dir().join(format!("trendflow-cluster-logs-{}", std::process::id()));
    let script = |args: &[&str]| {
        let output = Command::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/cluster"))
            .arg(&hostfile)
            .args(args)
            .env("TRENDFLOW_BIN", env!("CARGO_BIN_EXE_trendflow"))
            .env("TRENDFLOW_CLUSTER_LOGS", &logs)
            .env("TRENDFLOW_MYSQL_URL", &s.mysql_url)
            .env("TRENDFLOW_BROKERS", brokers())
            .env("TRENDFLOW_TOPIC_PREFIX", &s.topic_prefix)
            .output()
            .expect("running scripts/cluster");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let (code, stdout, stderr) = script(&["stream", "--window", "1m", "--window", "5m/1m", "--until-idle", "3s"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("process 0 of 2: stream:") && stdout.contains("process 1 of 2: stream:"), "{stdout}");
    let (code, stdout, stderr) = script(&["batch", "--window", "1m", "--window", "5m/1m"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical"), "{verified}");

    // A process that fails is named, and the script exits with its status.
    let (code, _, stderr) =
        script(&["batch", "--mysql-url", "mysql://trendflow:x@127.0.0.1:1/none", "--mysql-wait", "0"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (exit status 1): see"), "{stderr}");
    std::fs::remove_file(hostfile).unwrap();
}
