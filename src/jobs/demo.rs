//! `trendflow demo`: generated tweets through the graph as a stream and as a batch, compared.
//!
//! The embedded default needs no services. The stream run feeds tweets in arrival order (out of
//! event-time order by up to the generator's disorder), advances the graph's input frontier to a
//! watermark `lateness` behind the latest event time, and publishes every ranking change with a
//! fine tick; each window's hashtag ranking, and its trending hashtags, are printed as it closes. The batch run feeds the same
//! history with the coarsest tick and only final rankings. Both runs' final views must be
//! identical, window for window.

use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use trendflow_dataflows::views::{FinalViews, Snapshot};

use crate::cluster::{ClusterArgs, Layout};
use crate::harness::collect::print_line;
use crate::harness::layer::{run_ordered, LayerRun, SharedSource, Source};
use crate::harness::memory::peak_rss_bytes;
use crate::harness::plan::LayerPlan;
use crate::jobs::graph_args::{LiveArgs, ViewArgs};
use crate::jobs::report::ReportArgs;
use crate::sink::console::{ranking_line, trending_line};
use crate::source::generator::{Generator, GeneratorConfig};
use crate::vocabulary::report::demo::{DemoReport, DemoRun};
use crate::vocabulary::report::per_second;

/// Flags of `trendflow demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// How many tweets to generate.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub tweets: u64,
    #[command(flatten)]
    pub views: ViewArgs,
    /// The stream run's tick and lateness (the batch run uses the coarsest tick).
    #[command(flatten)]
    pub live: LiveArgs,
    /// Event-time rate of the generated stream, in tweets per second.
    #[arg(long, default_value_t = 100.0, value_name = "TWEETS_PER_SEC")]
    pub rate: f64,
    /// Seed of the generator: the same seed gives the same tweets.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Do not print each window's ranking as it closes, only the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Runs the demo and prints its summary; a difference between the layers is an error.
pub fn run(args: DemoArgs) -> Result<()> {
    let generator_config =
        GeneratorConfig { seed: args.seed, tweets: args.tweets, rate_per_sec: args.rate, ..GeneratorConfig::default() };
    let generator = Generator::new(generator_config).map_err(|e| anyhow!("invalid generator settings: {e}"))?;
    if args.live.lateness < generator.max_disorder_ms() {
        bail!(
            "--lateness {} ms is less than the generator's disorder of {} ms: tweets would arrive late and be dropped by the stream but not the batch; use --lateness {}ms or more",
            args.live.lateness,
            generator.max_disorder_ms(),
            generator.max_disorder_ms()
        );
    }
    let stream_graph = args.views.graph(args.live.tick)?;
    let batch_graph = args.views.batch_graph()?;
    let layout = args.cluster.layout()?;

    let windows: Vec<String> = stream_graph.windows().iter().map(|w| w.to_string()).collect();
    println!(
        "{}trendflow demo: {} generated tweets, windows {}, top {}, {}",
        args.cluster.speaker(),
        args.tweets,
        windows.join(" "),
        args.views.top,
        args.cluster.describe()
    );

    let stream_plan = LayerPlan::demo_stream(stream_graph, args.live.lateness, args.tweets);
    let (stream, stream_views) = run_generated(&stream_plan, &generator, layout.clone(), !args.quiet)?;
    let batch_plan = LayerPlan::demo_batch(batch_graph, generator.max_disorder_ms(), args.tweets);
    let (batch, batch_views) = run_generated(&batch_plan, &generator, layout, false)?;

    let figures = |run: &LayerRun, views: &FinalViews| DemoRun {
        tweets: run.tweets,
        seconds: run.elapsed.as_secs_f64(),
        tweets_per_second: per_second(run.tweets, run.elapsed.as_secs_f64()),
        windows: views.window_count(),
        ranking_updates: run.changes,
        late: run.late,
    };
    let first_difference = stream_views.first_difference(&batch_views);
    let report = DemoReport {
        stream: figures(&stream, &stream_views),
        batch: figures(&batch, &batch_views),
        peak_memory_bytes: peak_rss_bytes(),
        identical: first_difference.is_none(),
        first_difference,
    };
    args.report.publish("", &report)?;
    match report.first_difference {
        None => Ok(()),
        Some(difference) => bail!("stream and batch final views differ (left: stream, right: batch): {difference}"),
    }
}

/// Runs one layer over the generator's tweets, collecting its final views.
fn run_generated(
    plan: &LayerPlan,
    generator: &Generator,
    layout: Layout,
    print_closing: bool,
) -> Result<(LayerRun, FinalViews)> {
    let shared = generator.clone();
    let source: SharedSource = Arc::new(move |worker, peers, push| {
        shared.share(worker, peers).try_for_each(push)?;
        Ok(())
    });
    let mut views = FinalViews::default();
    let run = run_ordered(plan, layout, Source::Ordered(source), |snapshot, progress| {
        match (print_closing && snapshot.is_final(), &snapshot) {
            (true, Snapshot::Hashtags(ranking)) => print_line(progress, ranking_line(ranking)),
            (true, Snapshot::Trending(ranking)) => print_line(progress, trending_line(ranking)),
            _ => {}
        }
        views.record(snapshot);
        Ok(())
    })?;
    Ok((run, views))
}
