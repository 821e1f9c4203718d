//! `trendflow batch`: the graph over the full history in MySQL, final views into the view tables.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::Args;
use trendflow_dataflows::Tweet;

use crate::cluster::ClusterArgs;
use crate::harness::layer::{run_ordered, SharedSource, Source};
use crate::harness::memory::peak_rss_bytes;
use crate::harness::plan::LayerPlan;
use crate::jobs::graph_args::ViewArgs;
use crate::jobs::report::ReportArgs;
use crate::mysql::history::{push_history, Share};
use crate::mysql::schema::check_schema;
use crate::mysql::MysqlArgs;
use crate::mysql::ViewWriter;
use crate::sink::batch_metrics::{BatchMetrics, READ_COUNT_EVERY};
use crate::time::wall_clock_ms;
use crate::vocabulary::report::batch::{BatchReport, Boundary};
use crate::vocabulary::report::per_second;
use crate::vocabulary::Layer;

/// Flags of `trendflow batch`.
#[derive(Args, Debug, Clone)]
pub struct BatchArgs {
    #[command(flatten)]
    pub views: ViewArgs,
    #[command(flatten)]
    pub mysql: MysqlArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Serve Prometheus metrics at http://ADDRESS:PORT/metrics while the run lasts: tweets read,
    /// the newest event time read, windows written and the time each write took.
    #[arg(long = "metrics-listen", value_name = "ADDRESS:PORT")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Runs the batch layer and reports what it wrote.
pub fn run(args: BatchArgs) -> Result<()> {
    let config = args.mysql.config()?;
    let graph = args.views.batch_graph()?;
    let layout = args.cluster.layout()?;
    check_schema(&config)?;
    let mut writer = ViewWriter::new(&config, Layer::Batch)?;
    let metrics = Arc::new(BatchMetrics::new().map_err(|e| anyhow!("registering metrics: {e}"))?);
    if let Some(listen) = args.metrics_listen {
        let address = crate::metrics::expose(listen, metrics.registry.clone(), || {})?;
        println!("{}metrics on http://{address}/metrics", args.cluster.speaker());
    }
    let source_config = config.clone();
    let read_metrics = metrics.clone();
    let shares = Arc::new(Mutex::new(Vec::new()));
    let shares_read = shares.clone();
    let source: SharedSource = Arc::new(move |worker, peers, push| {
        let (mut counted, mut newest) = (0, 0);
        let mut push_counted = |tweet: Tweet| {
            (counted, newest) = (counted + 1, tweet.created_at);
            if counted == READ_COUNT_EVERY {
                read_metrics.read(std::mem::take(&mut counted), newest);
            }
            push(tweet)
        };
        let read = push_history(&source_config, Share { reader: worker, readers: peers }, &mut push_counted);
        read_metrics.read(counted, newest);
        shares_read.lock().map_err(|_| anyhow!("a reader failed"))?.push(read?);
        Ok(())
    });
    let plan = LayerPlan::history(graph.clone());
    let run = run_ordered(&plan, layout, Source::Ordered(source), |snapshot, _| {
        let started = Instant::now();
        writer.write(&snapshot)?;
        metrics.written(&snapshot, started.elapsed().as_secs_f64());
        Ok(())
    })?;
    // Each window length is published by one worker; in a cluster, a process clears stale windows
    // only of the specs it wrote, as the others' are not its own to judge.
    let owned = match args.cluster.processes {
        1 => graph.windows().to_vec(),
        _ => writer.written_specs(),
    };
    let stale = writer.remove_unwritten(&owned)?;
    // Only now, with every row written, may the serving layer answer from them.
    let boundaries = match run.newest {
        Some(newest) => writer.record_batch_run(&owned, run.tweets, newest, wall_clock_ms())?,
        None => Vec::new(),
    };
    let report = BatchReport {
        source: config.to_string(),
        tweets: run.tweets,
        seconds: run.elapsed.as_secs_f64(),
        tweets_per_second: per_second(run.tweets, run.elapsed.as_secs_f64()),
        windows_written: run.windows_closed,
        stale_views_removed: stale,
        boundaries: boundaries
            .into_iter()
            .map(|(spec, up_to_ms)| Boundary { window: spec.to_string(), up_to_ms })
            .collect(),
        shares: {
            let mut shares = std::mem::take(&mut *shares.lock().map_err(|_| anyhow!("a reader failed"))?);
            shares.sort_by_key(|share| share.reader);
            shares
        },
        peak_memory_bytes: peak_rss_bytes(),
    };
    args.report.publish(&args.cluster.speaker(), &report)?;
    Ok(())
}
