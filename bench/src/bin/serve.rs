//! The serving layer under load: window queries from `wrk` on loopback at several connection
//! counts, and the live push's fan-out to many clients.
//!
//! The history is generated into MySQL (`--tweets`, 100 a second of event time) and the batch
//! layer runs over it (`1m` and `5m/1m`); a live snapshot of the next `5m/1m` window is published
//! to `top_hashtags`, as the stream would. Then `trendflow serve` runs as a child process and:
//!
//! * **queries**: `wrk --latency` for `--seconds` at each of `--connections`, on the latest window
//!   (the live one, answered from memory), on the same from a second server over TLS with a token
//!   (what security costs, in the same run), and on a closed window at the batch boundary (read
//!   from MySQL once, then kept). wrk reports throughput and latency percentiles;
//! * **fan-out**: `--clients` clients (tasks on one thread) connect to `/api/v1/live`; `--events`
//!   snapshots are published to the broker, one every 100 ms, each stamped with the wall-clock
//!   time it was sent; for each, the time from its publication until the last client received it,
//!   and until the first did.
//!
//! ```sh
//! scripts/mysql.sh && scripts/kafka.sh && scripts/bench-tools.sh
//! cargo build --release && cargo run --release -p trendflow-bench --bin serve
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use trendflow::kafka::producer::KafkaSink;
use trendflow::kafka::Topic;
use trendflow::time::wall_clock_us;
use trendflow::vocabulary::report::batch::BatchReport;
use trendflow::vocabulary::snapshot::{Coverage, RankedRow, SnapshotMessage};
use trendflow::vocabulary::ViewKind;
use trendflow_bench::services::{Run, ServiceArgs};
use trendflow_bench::{machine, run_reported, write_results};
use trendflow_dataflows::views::HashtagCount;

#[derive(Parser, Debug)]
#[command(about = "Serving layer: window queries at several connection counts, live-push fan-out")]
struct Args {
    /// Tweets of history generated into MySQL.
    #[arg(long, default_value_t = 200_000)]
    tweets: u64,
    /// Concurrent connections wrk holds, one measurement each.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 64])]
    connections: Vec<usize>,
    /// Seconds wrk runs each measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Live-push clients.
    #[arg(long, default_value_t = 1_000)]
    clients: usize,
    /// Snapshots published to the live-push clients.
    #[arg(long, default_value_t = 50)]
    events: usize,
    #[command(flatten)]
    services: ServiceArgs,
}

/// What the benchmark writes to `bench/results/serve.json`.
#[derive(Serialize)]
struct ServeResults {
    machine: Value,
    tweets: u64,
    seconds: u64,
    queries: Vec<QueryResult>,
    fan_out: FanOut,
}

/// One wrk measurement of one query at one connection count.
#[derive(Serialize)]
struct QueryResult {
    query: &'static str,
    connections: usize,
    #[serde(flatten)]
    measured: WrkRun,
}

/// The live push's fan-out: from a snapshot's publication to the last client, and to the first.
#[derive(Serialize)]
struct FanOut {
    clients: usize,
    events: usize,
    last_p50_ms: f64,
    last_p99_ms: f64,
    last_max_ms: f64,
    first_p50_ms: f64,
    first_p99_ms: f64,
}

/// A live snapshot as the stream publishes one, stamped with the moment it was sent: the server
/// passes every field of a snapshot on to its live push, and the clients read the stamp back.
#[derive(Serialize, Deserialize)]
struct StampedSnapshot {
    #[serde(flatten)]
    snapshot: SnapshotMessage<Vec<RankedRow<HashtagCount>>>,
    sent_at_us: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk is missing: scripts/bench-tools.sh installs it");
    }
    let machine = machine();
    let mut services = args.services.connect()?;
    let run = services.fresh("serve", 1)?;
    run.succeed(&["db", "generate", "--tweets", &args.tweets.to_string()])?;
    let (_, batch): (_, BatchReport) =
        run_reported(&mut run.command(&["batch", "--window", "1m", "--window", "5m/1m"]))?;
    let boundary = batch
        .boundaries
        .iter()
        .find(|boundary| boundary.window == "5m/1m")
        .map(|boundary| boundary.up_to_ms)
        .context("the batch run recorded no 5m/1m boundary")?;
    let kafka = run.kafka()?;
    let snapshots = KafkaSink::new(&kafka)?;
    let top_hashtags = kafka.topic(Topic::of_view(ViewKind::Hashtags).context("the hashtags view's topic")?);
    let publish = |end: u64| -> Result<()> {
        let stamped =
            serde_json::to_string(&StampedSnapshot { snapshot: live_snapshot(end), sent_at_us: wall_clock_us() })?;
        snapshots.send(&top_hashtags, b"5m/1m", stamped.as_bytes())?;
        snapshots.flush().map(|_| ())
    };
    publish(boundary + 60_000)?;

    let (mut server, base) = start_server(&run, &[])?;
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let live_url = format!("{base}/api/v1/windows/hashtags?spec=5m/1m");
    wait_for_the_live_window(&agent, &live_url, None)?;
    let secure = SecureServer::start(&run)?;

    let targets = [
        ("latest window (live, from memory)", live_url.clone(), false),
        ("latest window, TLS and token", secure.live_url.clone(), true),
        ("closed window (batch, kept once read)", format!("{live_url}&at={boundary}"), false),
    ];
    let queries = measure_queries(&targets, &args)?;
    let fan_out =
        fan_out(&agent, &base, args.clients, args.events, |i| publish(boundary + 120_000 + i as u64 * 60_000))?;
    println!(
        "live push to {} clients, {} snapshots: publish to last client p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         to first client p50 {:.1} ms",
        fan_out.clients,
        fan_out.events,
        fan_out.last_p50_ms,
        fan_out.last_p99_ms,
        fan_out.last_max_ms,
        fan_out.first_p50_ms
    );
    server.kill().ok();
    server.wait().ok();
    drop(secure);
    let results = ServeResults { machine, tweets: args.tweets, seconds: args.seconds, queries, fan_out };
    println!("results: {}", write_results("serve", &results)?.display());
    Ok(())
}

/// The live snapshot of the `5m/1m` window ending at `end`, one row, as the stream would publish it.
fn live_snapshot(end: u64) -> SnapshotMessage<Vec<RankedRow<HashtagCount>>> {
    let as_of = end - 1_000;
    SnapshotMessage {
        window: "5m/1m".into(),
        coverage: Coverage::rolling(end - 300_000, end, as_of - 300_000, as_of),
        partial_baseline: None,
        rows: RankedRow::numbered(&[HashtagCount { hashtag: "breaking".into(), count: 3 }], None),
    }
}

/// Runs wrk on each target at each of `--connections`, printing a table as it goes.
fn measure_queries(targets: &[(&'static str, String, bool)], args: &Args) -> Result<Vec<QueryResult>> {
    let mut queries = Vec::new();
    println!("{:>38}  {:>11}  {:>12}  {:>9}  {:>9}", "query", "connections", "requests/s", "p50", "p99");
    for (query, url, secure) in targets {
        for &connections in &args.connections {
            let measured = wrk(url, connections, args.seconds, secure.then_some(TOKEN))?;
            println!(
                "{query:>38}  {connections:>11}  {:>12.0}  {:>6.2} ms  {:>6.2} ms",
                measured.requests_per_sec, measured.p50_ms, measured.p99_ms
            );
            queries.push(QueryResult { query, connections, measured });
        }
    }
    Ok(queries)
}

/// The same server over TLS with a token, beside the plain one: what security costs, measured in
/// the same run. Its certificate is made here (openssl), for 127.0.0.1; stopped when dropped.
struct SecureServer {
    server: std::process::Child,
    live_url: String,
    dir: PathBuf,
}

impl SecureServer {
    fn start(run: &Run) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("{}tls", run.prefix));
        std::fs::create_dir_all(&dir)?;
        let (cert, key, tokens) = (dir.join("served.crt"), dir.join("served.key"), dir.join("tokens"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .context("running openssl to make a certificate")?;
        if !made.status.success() {
            bail!("openssl made no certificate: {}", String::from_utf8_lossy(&made.stderr));
        }
        std::fs::write(&tokens, format!("{TOKEN}\n"))?;
        let path = |file: &Path| file.to_string_lossy().into_owned();
        let flags = ["--tls-cert", &path(&cert), "--tls-key", &path(&key), "--auth-token-file", &path(&tokens)];
        let (server, base) = start_server(run, &flags)?;
        let unverified = ureq::tls::TlsConfig::builder().disable_verification(true).build();
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).tls_config(unverified).build().into();
        let live_url = format!("{base}/api/v1/windows/hashtags?spec=5m/1m");
        let secure = SecureServer { server, live_url, dir };
        wait_for_the_live_window(&agent, &secure.live_url, Some(TOKEN))?;
        Ok(secure)
    }
}

impl Drop for SecureServer {
    fn drop(&mut self) {
        self.server.kill().ok();
        self.server.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// The token the TLS server is measured with.
const TOKEN: &str = "bench-reader";

/// Starts `trendflow serve` with `flags` on a port of its own; gives the process and the address
/// it says it serves on.
fn start_server(run: &Run, flags: &[&str]) -> Result<(std::process::Child, String)> {
    let mut server =
        run.command(&[&["serve", "--listen", "127.0.0.1:0"], flags].concat()).stdout(Stdio::piped()).spawn()?;
    let mut first_line = String::new();
    BufReader::new(server.stdout.take().context("the server's output")?).read_line(&mut first_line)?;
    let base = first_line
        .split_whitespace()
        .find(|word| word.starts_with("http"))
        .with_context(|| format!("the server's address in: {first_line}"))?
        .to_string();
    Ok((server, base))
}

/// Waits until `url` answers the live window, presenting `token`.
fn wait_for_the_live_window(agent: &ureq::Agent, url: &str, token: Option<&str>) -> Result<()> {
    wait_until(|| {
        let mut request = agent.get(url);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .is_some_and(|body| body.contains("\"live\""))
    })
}

/// Polls `ready` until it holds, for up to a minute.
fn wait_until(mut ready: impl FnMut() -> bool) -> Result<()> {
    for _ in 0..600 {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the server was not ready within a minute")
}

/// What one wrk run measured.
#[derive(Serialize)]
struct WrkRun {
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs wrk against `url` with `connections` connections for `seconds`, presenting `token`.
fn wrk(url: &str, connections: usize, seconds: u64, token: Option<&str>) -> Result<WrkRun> {
    let threads = connections.min(2).to_string();
    let mut command = Command::new("wrk");
    command.args(["-t", &threads, "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--latency"]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let output = command.arg(url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() || text.contains("Non-2xx") {
        bail!("wrk failed or got errors: {text}{}", String::from_utf8_lossy(&output.stderr));
    }
    let field = |prefix: &str| {
        text.lines().find_map(|line| line.trim().strip_prefix(prefix).map(str::trim).map(str::to_string))
    };
    let latency = |percentile: &str| -> Result<f64> {
        let value = field(percentile).with_context(|| format!("no {percentile} latency in: {text}"))?;
        milliseconds(&value).with_context(|| format!("wrk's latency {value}"))
    };
    let requests_per_sec =
        field("Requests/sec:").and_then(|rate| rate.parse().ok()).with_context(|| format!("no rate in: {text}"))?;
    Ok(WrkRun { requests_per_sec, p50_ms: latency("50%")?, p99_ms: latency("99%")? })
}

/// A wrk duration (`812.00us`, `1.25ms`, `2.01s`) in milliseconds.
fn milliseconds(text: &str) -> Option<f64> {
    let digits = text.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = text.split_at(digits);
    let scale = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1_000.0,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// Connects `clients` live-push clients, publishes `events` snapshots with `publish`, one every
/// 100 ms, and measures each one's way from publication to the first and the last client. The
/// clients are tasks on one thread (as a load generator holds connections), so that receiving
/// costs the machine little beside the server.
fn fan_out(
    agent: &ureq::Agent,
    base: &str,
    clients: usize,
    events: usize,
    publish: impl Fn(usize) -> Result<()>,
) -> Result<FanOut> {
    let (receipts, received) = mpsc::channel::<(u64, u64, u64)>();
    let address = base.trim_start_matches("http://").to_string();
    let request = format!("GET /api/v1/live?spec=5m/1m&kind=hashtags HTTP/1.1\r\nHost: {address}\r\n\r\n");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let connected = runtime.block_on(async {
        let mut connected = Vec::with_capacity(clients);
        for _ in 0..clients {
            let mut stream = tokio::net::TcpStream::connect(&address).await.context("connecting a live-push client")?;
            stream.write_all(request.as_bytes()).await?;
            connected.push(stream);
        }
        anyhow::Ok(connected)
    })?;
    let readers = std::thread::spawn(move || {
        runtime.block_on(async move {
            let tasks: Vec<_> = connected
                .into_iter()
                .map(|stream| tokio::spawn(read_events(stream, events, receipts.clone())))
                .collect();
            for task in tasks {
                let _ = task.await;
            }
        })
    });
    // Every client subscribed before anything is published: the server counts them.
    wait_until(|| {
        let metrics =
            agent.get(format!("{base}/metrics")).call().ok().and_then(|mut r| r.body_mut().read_to_string().ok());
        metrics.is_some_and(|text| text.lines().any(|line| line == format!("trendflow_serve_live_clients {clients}")))
    })?;
    for event in 0..events {
        publish(event)?;
        std::thread::sleep(Duration::from_millis(100));
    }
    readers.join().map_err(|_| anyhow::anyhow!("the live-push clients' thread panicked"))?;
    let mut by_snapshot: std::collections::BTreeMap<u64, (u64, u64, u64, usize)> = Default::default();
    for (end, sent, at) in received.try_iter() {
        let entry = by_snapshot.entry(end).or_insert((sent, u64::MAX, 0, 0));
        entry.1 = entry.1.min(at);
        entry.2 = entry.2.max(at);
        entry.3 += 1;
    }
    if by_snapshot.len() != events || by_snapshot.values().any(|(_, _, _, count)| *count != clients) {
        bail!("not every client received every snapshot: {:?}", by_snapshot.values().map(|v| v.3).collect::<Vec<_>>());
    }
    let ms = |mut values: Vec<f64>, percentile: f64| {
        values.sort_by(f64::total_cmp);
        values[((values.len() - 1) as f64 * percentile).round() as usize]
    };
    let last: Vec<f64> =
        by_snapshot.values().map(|(sent, _, last, _)| last.saturating_sub(*sent) as f64 / 1_000.0).collect();
    let first: Vec<f64> =
        by_snapshot.values().map(|(sent, first, _, _)| first.saturating_sub(*sent) as f64 / 1_000.0).collect();
    Ok(FanOut {
        clients,
        events,
        last_p50_ms: ms(last.clone(), 0.5),
        last_p99_ms: ms(last.clone(), 0.99),
        last_max_ms: ms(last, 1.0),
        first_p50_ms: ms(first.clone(), 0.5),
        first_p99_ms: ms(first, 0.99),
    })
}

/// Reads one client's stream until it has `events` snapshots, sending for each its window end,
/// the time it was published and the time it arrived (wall clock, µs).
async fn read_events(stream: tokio::net::TcpStream, events: usize, receipts: mpsc::Sender<(u64, u64, u64)>) {
    let mut lines = tokio::io::BufReader::new(stream);
    let (mut seen, mut line) = (0, String::new());
    while seen < events {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let Some(data) = line.trim_end().strip_prefix("data:") else { continue };
        let at = wall_clock_us();
        let Ok(stamped) = serde_json::from_str::<StampedSnapshot>(data.trim()) else { continue };
        let _ = receipts.send((stamped.snapshot.coverage.window_end_ms, stamped.sent_at_us, at));
        seen += 1;
    }
}
