//! Clusters across hosts: network namespaces on a bridge ([`Network`]), so that what crosses
//! between the processes, and between them and the services, crosses a network. The demo on two
//! hosts prints what one process does; the batch and speed layers on two hosts, with MariaDB and
//! the broker on a third, store what one process does, each worker of the batch reading its own
//! quarter of the history; and a host cut off mid-run (its link
//! taken down: no connection closes, nothing tells the others) makes the other process stop with
//! an error naming it, after which a restart resumes and the views are identical.

use std::path::PathBuf;

use mysql::prelude::Queryable;
use trendflow::vocabulary::report::batch::{BatchReport, ShareRead};
use trendflow::vocabulary::Layer;
use trendflow_dataflows::reference;
use trendflow_dataflows::window::WindowSpec;

use crate::cluster::ranking_lines;
use crate::common::{
    default_graph, report_path, run_bounded, seed_dump, seed_tweets, stored_views, take_report, trendflow, wait_for,
    Ended, Metrics, Network, Services, Watched, LIMIT,
};

fn specs() -> Vec<WindowSpec> {
    vec!["1m".parse().unwrap(), "5m/1m".parse().unwrap()]
}

/// Starts `args` as one process on each of `hosts` (a cluster from a hostfile), pointed at `s`.
fn start_cluster(network: &Network, hosts: &[usize], s: &Services, args: &[&str]) -> Vec<Watched> {
    start_cluster_with(network, hosts, s, |_| args.iter().map(|arg| arg.to_string()).collect())
}

/// Starts a cluster as [`start_cluster`] does, process `p` with the arguments `args(p)`.
fn start_cluster_with(
    network: &Network,
    hosts: &[usize],
    s: &Services,
    args: impl Fn(usize) -> Vec<String>,
) -> Vec<Watched> {
    let hostfile = network.hostfile(hosts);
    let processes = hosts.len().to_string();
    hosts
        .iter()
        .enumerate()
        .map(|(process, &host)| {
            let mut command = network.trendflow(host);
            command.args(args(process)).args(["-n", &processes, "-p", &process.to_string()]);
            command.arg("--hostfile").arg(&hostfile);
            s.point(&mut command);
            Watched::spawn(command)
        })
        .collect()
}

/// Runs `args` as one process on each of `hosts` to their end; fails the test if one fails.
fn run_cluster(network: &Network, hosts: &[usize], s: &Services, args: &[&str]) -> Vec<Ended> {
    let outputs: Vec<Ended> =
        start_cluster(network, hosts, s, args).into_iter().map(|process| process.finish(LIMIT)).collect();
    for output in &outputs {
        output.succeeded();
    }
    outputs
}

#[test]
#[ignore = "needs root for network namespaces: scripts/test.sh runs this"]
fn a_cluster_whose_hosts_are_separate_network_stacks_computes_what_one_process_does() {
    let network = Network::new(2);
    let demo = ["demo", "--tweets", "30000", "-w", "2"];
    let outputs = run_cluster(&network, &[0, 1], &Services::with_mysql_url(""), &demo);
    let alone = run_bounded(trendflow(&["demo", "--tweets", "30000"]));
    let (across, one) = (ranking_lines(&outputs), ranking_lines(&[alone]));
    assert!(across.len() > 10, "{across:?}");
    assert!(across == one, "the two hosts printed other rankings than one process");
}

/// The seed loaded into MariaDB and produced into 4 partitions, on the services' host.
fn seed_on(network: &Network, host: usize, name: &str) -> Services {
    let s = network.start_services(host, name);
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "load", seed_dump().to_str().unwrap()]);
    s.succeed(&["topics", "create", "--partitions", "4"]);
    s.succeed(&["produce"]);
    s
}

#[test]
#[ignore = "needs root for network namespaces, and MariaDB and the broker's build: scripts/test.sh runs this"]
fn the_layers_on_two_hosts_with_their_services_on_a_third_store_what_one_process_does() {
    let network = Network::new(3);
    let s = seed_on(&network, 0, "hosts");
    let views = ["--window", "1m", "--window", "5m/1m"];
    // Each process reports what its workers read: a quarter of the history each, of the four.
    let reports: Vec<PathBuf> = (0..2).map(|process| report_path(&format!("hosts_batch_{process}"))).collect();
    let batch = |process: usize| {
        let report = reports[process].to_str().unwrap().to_string();
        [&["batch", "-w", "2", "--report", &report][..], &views].concat().iter().map(|arg| arg.to_string()).collect()
    };
    for process in start_cluster_with(&network, &[1, 2], &s, batch) {
        process.finish(LIMIT).succeeded();
    }
    let expected = reference::final_views(&seed_tweets(), &default_graph(specs()));
    let stored = stored_views(&s.mysql_url, Layer::Batch, &specs());
    assert!(stored == expected, "batch: {}", stored.first_difference(&expected).unwrap_or_default());
    let shares: Vec<ShareRead> = reports.iter().flat_map(|report| take_report::<BatchReport>(report).shares).collect();
    let readers: Vec<usize> = shares.iter().map(|share| share.reader).collect();
    assert_eq!(readers, [0, 1, 2, 3], "{shares:?}");
    assert_eq!(shares.iter().map(|share| share.rows).sum::<u64>(), 8759, "{shares:?}");
    let quarter = 8759.0 / 4.0;
    assert!(shares.iter().all(|share| share.rows_examined as f64 <= 1.2 * quarter), "{shares:?}");

    let stream = [&["stream"][..], &views, &["--until-idle", "3s", "--no-archive", "--from-beginning"]].concat();
    let outputs = run_cluster(&network, &[1, 2], &s, &stream);
    assert!(outputs.iter().all(|output| output.stdout.contains("stream: ")), "each process summarises its share");
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "{verified}");
}

/// Waits for the process of `processes` that did not lose its peer to stop with an error naming
/// process `lost` (at `address`), and kills the cut-off one, as an operator would.
fn expect_stopped_naming(processes: Vec<Watched>, lost: usize, address: &str) {
    let mut processes = processes.into_iter();
    let (first, second) = (processes.next().expect("process 0"), processes.next().expect("process 1"));
    let (left, cut_off) = if lost == 1 { (first, second) } else { (second, first) };
    let ended = left.finish(LIMIT);
    assert!(!ended.status.success(), "the process left succeeded:\n{}", ended.stdout);
    let named = format!("process {lost} ({address}:2101) has not been heard from for 3s");
    assert!(ended.stderr.contains(&named), "{}", ended.stderr);
    cut_off.kill();
}

#[test]
#[ignore = "needs root for network namespaces, and MariaDB and the broker's build: scripts/test.sh runs this"]
fn a_host_cut_off_mid_run_stops_the_other_process_naming_it_and_a_restart_resumes_identically() {
    let network = Network::new(3);
    let s = network.start_services(0, "hostcut");
    s.succeed(&["db", "init"]);
    s.succeed(&["db", "load", seed_dump().to_str().unwrap()]);
    s.succeed(&["topics", "create", "--partitions", "4"]);
    let views = ["--window", "1m", "--window", "5m/1m"];
    s.succeed(&[&["batch"][..], &views].concat());

    // The speed layer: host 2 (process 1) cut off while the cluster consumes a paced producer.
    let producer = s.watch(&["produce", "--rate", "1000"]);
    let stream = [&["stream", "--no-archive", "--peer-timeout", "3s"][..], &views].concat();
    let cluster = start_cluster(&network, &[1, 2], &s, &stream);
    let stored = || -> u64 { s.mysql().query_first("SELECT COUNT(*) FROM source_offsets").unwrap().unwrap_or(0) };
    wait_for("the cluster to store positions", LIMIT, || stored() > 0);
    network.cut(2);
    expect_stopped_naming(cluster, 1, &network.address(2));
    network.mend(2);
    producer.finish(LIMIT).succeeded();
    let outputs = run_cluster(&network, &[1, 2], &s, &[&stream[..], &["--until-idle", "3s"]].concat());
    let printed: String = outputs.iter().map(|output| output.stdout.as_str()).collect();
    assert!(printed.contains("resuming from stored positions"), "{printed}");
    let verified = s.succeed(&["verify"]);
    assert!(verified.starts_with("identical: 10 windows of 1m, 14 windows of 5m/1m"), "{verified}");

    // The batch layer, over a larger history: host 1 (process 0) cut off once reading has begun.
    let history = Services { mysql_url: s.mysql_url.replace("hostcut", "hostcutbatch"), ..s };
    history.succeed(&["db", "init"]);
    history.succeed(&["db", "generate", "--tweets", "300000"]);
    history.succeed(&[&["batch"][..], &views].concat());
    let one_process = stored_views(&history.mysql_url, Layer::Batch, &specs());
    // Each process serves its metrics on its own host; process 1's host stays on the network.
    let batch = [&["batch", "--peer-timeout", "3s", "--metrics-listen", "0.0.0.0:9464"][..], &views].concat();
    let metrics = format!("{}:9464", network.address(2));
    let cluster = start_cluster(&network, &[1, 2], &history, &batch);
    let read = || {
        let scraped = ureq::get(&format!("http://{metrics}/metrics")).call().ok()?.body_mut().read_to_string().ok()?;
        Metrics::parse(scraped).value("trendflow_batch_tweets_read_total", &[])
    };
    wait_for("the batch to be reading", LIMIT, || read().is_some_and(|tweets| tweets > 0.0));
    network.cut(1);
    expect_stopped_naming(cluster, 0, &network.address(1));
    network.mend(1);
    run_cluster(&network, &[1, 2], &history, &[&["batch"][..], &views].concat());
    let rerun = stored_views(&history.mysql_url, Layer::Batch, &specs());
    assert!(rerun == one_process, "{}", rerun.first_difference(&one_process).unwrap_or_default());
}
