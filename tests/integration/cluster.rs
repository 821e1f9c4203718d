//! Clusters: the same input gives the same final views with 1 worker, 2 workers, 2 processes on
//! loopback and 2 processes of 2 workers, for the demo, the batch layer and the speed layer; and
//! `scripts/cluster` runs a job from a hostfile. Faults: a process killed with SIGKILL stops the
//! rest through the launcher, and a restart in another layout resumes from the stored positions
//! with identical views. Clusters across hosts of their own are in [`crate::hosts`].

use std::path::PathBuf;
use std::process::Command;
use trendflow::vocabulary::Layer;

use crate::common::{
    default_graph, seed_dump, seed_tweets, stored_views, trendflow, unused_port, wait_for, Ended, Services, Watched,
    LIMIT,
};
use mysql::prelude::Queryable;
use trendflow_dataflows::config::TrendConfig;
use trendflow_dataflows::reference;
use trendflow_dataflows::window::WindowSpec;

/// The layouts every job is run in: (processes, workers per process).
const LAYOUTS: [(usize, usize); 4] = [(1, 1), (1, 2), (2, 1), (2, 2)];

/// A hostfile of `processes` loopback addresses, on ports no other socket is given meanwhile.
fn loopback_hostfile(processes: usize) -> PathBuf {
    let lines: Vec<String> = (0..processes).map(|_| format!("127.0.0.1:{}", unused_port())).collect();
    let path = std::env::temp_dir().join(format!("trendflow-hosts-{}-{}", std::process::id(), lines[0]));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Runs a trendflow job as `processes` processes of `workers` workers each, each pointed by
/// `point` (at services, or at none), and returns every process's output once all have ended;
/// fails the test if any fails or runs past [`LIMIT`].
fn run_cluster(
    processes: usize,
    workers: usize,
    args: &[&str],
    point: impl Fn(&mut Command) -> &mut Command,
) -> Vec<Ended> {
    let hostfile = loopback_hostfile(processes);
    let running: Vec<Watched> = (0..processes)
        .map(|process| {
            let mut command = trendflow(args);
            command.args(["-w", &workers.to_string()]);
            if processes > 1 {
                let hostfile = hostfile.to_str().unwrap();
                command.args(["-n", &processes.to_string(), "-p", &process.to_string(), "--hostfile", hostfile]);
            }
            point(&mut command);
            Watched::spawn(command)
        })
        .collect();
    let outputs: Vec<Ended> = running.into_iter().map(|process| process.finish(LIMIT)).collect();
    for (process, output) in outputs.iter().enumerate() {
        assert!(
            output.status.success(),
            "process {process} of {processes}×{workers} {args:?} failed:\n{}\n{}",
            output.stdout,
            output.stderr
        );
    }
    std::fs::remove_file(hostfile).unwrap();
    outputs
}

/// The number right after `label` in each process's summary, summed over the processes.
fn summed_count(outputs: &[Ended], label: &str) -> u64 {
    outputs
        .iter()
        .map(|output| {
            let count = output.stdout.split(label).nth(1).and_then(|rest| rest.split(' ').next());
            count
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no '{label}' summary: {}", output.stdout))
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
    let mut rankings = Vec::new();
    for (processes, workers) in LAYOUTS {
        let outputs = run_cluster(processes, workers, &["demo", "--tweets", "30000"], |command| command);
        let lines = ranking_lines(&outputs);
        assert!(lines.len() > 10, "{lines:?}");
        rankings.push(((processes, workers), lines));
    }
    for (layout, lines) in &rankings[1..] {
        assert!(lines == &rankings[0].1, "{layout:?} printed other rankings than one worker");
    }
}

/// Services of a layout's own: a fresh database, holding the seed's tweets.
fn seed_in_mysql(name: &str, (processes, workers): (usize, usize)) -> Services {
    let s = Services::fresh(&format!("{name}{processes}x{workers}"));
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "load", seed_dump().to_str().unwrap()]);
    s
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn the_batch_layer_stores_the_reference_views_in_every_layout() {
    let expected = reference::final_views(&seed_tweets(), &default_graph(specs()));
    for layout @ (processes, workers) in LAYOUTS {
        // A database per layout: one that wrote nothing cannot pass on an earlier one's rows.
        let s = seed_in_mysql("clusterbatch", layout);
        let outputs =
            run_cluster(processes, workers, &["batch", "--window", "1m", "--window", "5m/1m"], |c| s.point(c));
        assert_eq!(summed_count(&outputs, "batch: "), 8759, "the processes share the history without overlap");
        let stored = stored_views(&s.mysql_url, Layer::Batch, &specs());
        assert!(
            stored == expected,
            "{processes}×{workers}: {}",
            stored.first_difference(&expected).unwrap_or_default()
        );
    }
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn the_speed_layer_stores_the_reference_views_and_verifies_against_the_batch_in_every_layout() {
    let topics = seed_in_mysql_and_kafka("clusterstream");
    // A trend baseline of a minute: the horizon a restart reads again is six minutes of the
    // seed's nine, not the default hour's baseline that would take all of them.
    let views = ["--window", "1m", "--window", "5m/1m", "--trend-baseline", "1m"];
    let trending = TrendConfig::new(Some(60_000), TrendConfig::MIN_COUNT).expect("a one-minute baseline");
    let config = default_graph(specs()).with_trending(trending).expect("a baseline of whole ticks");
    let expected = reference::final_views(&seed_tweets(), &config);
    let mut last = None;
    for layout @ (processes, workers) in LAYOUTS {
        // A database per layout, reading the same topics: each layout's views are its own.
        let s = Services { topic_prefix: topics.topic_prefix.clone(), ..seed_in_mysql("clusterstream", layout) };
        s.succeed(&[&["batch"][..], &views].concat());
        let args = [&["stream"][..], &views, &["--until-idle", "3s", "--no-archive", "--from-beginning"]].concat();
        let outputs = run_cluster(processes, workers, &args, |c| s.point(c));
        assert_eq!(summed_count(&outputs, "stream: "), 8759, "{processes}×{workers}: every partition read once");
        let stored = stored_views(&s.mysql_url, Layer::Speed, &specs());
        assert!(
            stored == expected,
            "{processes}×{workers}: {}",
            stored.first_difference(&expected).unwrap_or_default()
        );
        let verified = s.succeed(&["verify"]);
        assert!(
            verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"),
            "{processes}×{workers}: {verified}"
        );
        last = Some(s);
    }
    // Run again without --from-beginning, two processes resume from the positions the last layout
    // stored: they read only the last horizon (6 minutes) again, and rewrite the same views.
    let s = last.expect("a layout ran");
    let args = [&["stream"][..], &views, &["--until-idle", "3s", "--no-archive"]].concat();
    let outputs = run_cluster(2, 1, &args, |c| s.point(c));
    let resumed = summed_count(&outputs, "stream: ");
    assert!(resumed < 8759 * 3 / 4, "the resumed processes read {resumed} messages again");
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "resumed: {verified}");
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn scripts_cluster_runs_stream_and_batch_from_a_hostfile_and_they_verify() {
    let s = seed_in_mysql_and_kafka("clusterscript");
    let hostfile = loopback_hostfile(2);
    let script = |args: &[&str]| {
        let ended = launch(&s, &hostfile, args).finish(LIMIT);
        (ended.status.code(), ended.stdout, ended.stderr)
    };
    let (code, stdout, stderr) = script(&["stream", "--window", "1m", "--window", "5m/1m", "--until-idle", "3s"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("process 0 of 2: stream:") && stdout.contains("process 1 of 2: stream:"), "{stdout}");
    let (code, stdout, stderr) = script(&["batch", "--window", "1m", "--window", "5m/1m"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "{verified}");

    // A process that fails is named, and the script exits with its status.
    let (code, _, stderr) =
        script(&["batch", "--mysql-url", "mysql://trendflow:x@127.0.0.1:1/none", "--mysql-wait", "0"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("failed (exit status 1): see"), "{stderr}");
    std::fs::remove_file(hostfile).unwrap();
}

/// `scripts/cluster` running `args` on the processes of `hostfile`, against `s`, watched.
fn launch(s: &Services, hostfile: &std::path::Path, args: &[&str]) -> Watched {
    let logs = std::env::temp_dir().join(format!("trendflow-cluster-logs-{}", std::process::id()));
    let mut command = Command::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/cluster"));
    command
        .arg(hostfile)
        .args(args)
        .env("TRENDFLOW_BIN", env!("CARGO_BIN_EXE_trendflow"))
        .env("TRENDFLOW_CLUSTER_LOGS", &logs);
    s.point(&mut command);
    Watched::spawn(command)
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_killed_process_stops_its_cluster_and_a_restart_in_another_layout_resumes_identically() {
    let s = Services::fresh("clusterkill");
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "load", seed_dump().to_str().unwrap()]);
    s.succeed(&["topics", "create", "--partitions", "4"]);
    s.succeed(&["batch", "--window", "1m", "--window", "5m/1m"]);
    // Paced, so that the cluster is still consuming when one of its processes dies.
    let producer = s.watch(&["produce", "--rate", "1000"]);
    let hostfile = loopback_hostfile(2);
    let stream = ["stream", "--window", "1m", "--window", "5m/1m", "--no-archive"];
    let mut launcher = launch(&s, &hostfile, &[&stream[..], &["-w", "2"]].concat());
    launcher.wait_for_output("process 1 on ", LIMIT);
    let printed = launcher.printed();
    let pid = printed.split("process 1 on ").nth(1).and_then(|rest| rest.split(": pid ").nth(1));
    let pid = pid.and_then(|rest| rest.split(',').next()).expect("the launcher names process 1's pid").to_string();
    let stored = || -> u64 { s.mysql().query_first("SELECT COUNT(*) FROM source_offsets").unwrap().unwrap_or(0) };
    wait_for("the cluster to store positions", LIMIT, || stored() > 0);

    let killed = Command::new("kill").args(["-KILL", &pid]).status().expect("running kill");
    assert!(killed.success(), "kill -KILL {pid}");
    let ended = launcher.finish(LIMIT);
    assert!(!ended.status.success(), "the launcher succeeded with a killed process:\n{}", ended.stderr);
    assert!(ended.stderr.contains("process 1 (127.0.0.1:"), "{}", ended.stderr);
    assert!(ended.stderr.contains("failed with exit status 137; stopping the others"), "{}", ended.stderr);
    producer.finish(LIMIT).succeeded();

    // Restarted as one process of two workers, then as two of one: each resumes from the positions
    // stored, and the views verify against the batch layer's.
    for (processes, workers) in [(1, 2), (2, 1)] {
        let outputs = run_cluster(processes, workers, &[&stream[..], &["--until-idle", "3s"]].concat(), |c| s.point(c));
        let printed: String = outputs.iter().map(|output| output.stdout.as_str()).collect();
        assert!(printed.contains("resuming from stored positions"), "{processes}×{workers}: {printed}");
        let verified = s.succeed(&["verify"]);
        assert!(
            verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"),
            "{processes}×{workers}: {verified}"
        );
    }
    std::fs::remove_file(hostfile).unwrap();
}

#[test]
#[ignore = "needs MariaDB and a Kafka-API broker: scripts/test.sh starts them and runs this"]
fn a_sink_failing_in_a_cluster_ends_every_process() {
    let s = seed_in_mysql_and_kafka("clustersink");
    let message = s.refuse_writes("view_top_hashtags");
    let hostfile = loopback_hostfile(2);
    let processes: Vec<Watched> = (0..2)
        .map(|process| {
            let cluster = ["-n", "2", "-p", &process.to_string(), "--hostfile", hostfile.to_str().unwrap()];
            s.watch(&[&["stream", "--window", "1m", "--no-archive"][..], &cluster].concat())
        })
        .collect();
    let ended: Vec<_> = processes.into_iter().map(|process| process.finish(LIMIT)).collect();
    for (process, end) in ended.iter().enumerate() {
        assert!(!end.status.success(), "process {process} succeeded:\n{}", end.stdout);
    }
    assert!(ended.iter().any(|end| end.stderr.contains(&message)), "{}\n{}", ended[0].stderr, ended[1].stderr);
    std::fs::remove_file(hostfile).unwrap();
}

/// The demo's closing rankings as printed, sorted.
pub(crate) fn ranking_lines(outputs: &[Ended]) -> Vec<String> {
    let mut lines = Vec::new();
    for output in outputs {
        assert!(output.succeeded().contains("identical: yes"), "{}", output.stdout);
        lines.extend(output.stdout.lines().filter(|line| line.contains(" ending ")).map(str::to_string));
    }
    lines.sort();
    lines
}
