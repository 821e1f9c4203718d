//! `trendflow demo`: generated tweets through the graph as a stream and as a batch, compared.
//!
//! The embedded default needs no services. The stream run feeds tweets in arrival order (out of
//! event-time order by up to the generator's disorder), advances the graph's input frontier to a
//! watermark `lateness` behind the latest event time, and publishes every ranking change with a
//! fine tick; each window's hashtag ranking is printed as it closes. The batch run feeds the same
//! history with the coarsest tick and only final rankings. Both runs' final views must be
//! identical, window for window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use crossbeam_channel::RecvTimeoutError;
use differential_dataflow::input::{Input, InputSession};
use indicatif::{ProgressBar, ProgressStyle};
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::worker::Worker;
use trendflow_dataflows::graph::{rankings, GraphConfig};
use trendflow_dataflows::views::{FinalViews, Snapshot};
use trendflow_dataflows::window::{parse_duration, WindowSpec};
use trendflow_dataflows::{EventTime, Tweet};

use crate::cluster::ClusterArgs;
use crate::runner::memory::peak_rss_bytes;
use crate::sink::console::ranking_line;
use crate::source::generator::{Generator, GeneratorConfig};

/// Flags of `trendflow demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// How many tweets to generate.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub tweets: u64,
    /// A window spec LENGTH/SLIDE (`5m/1m`), or LENGTH for tumbling windows; repeat for several.
    #[arg(long = "window", value_name = "LENGTH/SLIDE", default_values = ["5m/1m", "1h/5m"])]
    pub windows: Vec<WindowSpec>,
    /// How many hashtags and tweets each ranking keeps.
    #[arg(long = "top", default_value_t = 10, value_name = "K")]
    pub top: usize,
    /// How often the stream run recomputes rankings, in event time; must divide every slide.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    pub tick: u64,
    /// How far the stream's watermark trails the latest event time; must cover the generator's disorder.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub lateness: u64,
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
}

/// What one layer's run measured.
struct LayerRun {
    views: FinalViews,
    elapsed: Duration,
    late: u64,
    changes: u64,
}

/// How one layer feeds the graph.
#[derive(Clone)]
struct LayerPlan {
    name: &'static str,
    graph: GraphConfig,
    /// How far the input frontier trails the latest event time seen.
    slack_ms: u64,
    /// Whether intermediate rankings are published too.
    changes: bool,
    /// Whether each window's final hashtag ranking is printed as it closes.
    print_closing: bool,
}

/// Runs the demo and prints its summary; a difference between the layers is an error.
pub fn run(args: DemoArgs) -> Result<()> {
    let generator_config =
        GeneratorConfig { seed: args.seed, tweets: args.tweets, rate_per_sec: args.rate, ..GeneratorConfig::default() };
    let generator = Generator::new(generator_config).map_err(|e| anyhow!("invalid generator settings: {e}"))?;
    if args.lateness < generator.max_disorder_ms() {
        bail!(
            "--lateness {} ms is less than the generator's disorder of {} ms: tweets would arrive late and be dropped by the stream but not the batch; use --lateness {}ms or more",
            args.lateness,
            generator.max_disorder_ms(),
            generator.max_disorder_ms()
        );
    }
    let stream_graph =
        GraphConfig::new(args.windows.clone(), args.top, args.tick).map_err(|e| anyhow!("--tick: {e}"))?;
    let batch_tick = GraphConfig::coarsest_tick(&args.windows);
    let batch_graph = GraphConfig::new(args.windows.clone(), args.top, batch_tick).map_err(|e| anyhow!(e))?;
    let timely_config = args.cluster.timely_config()?;

    let windows: Vec<String> = stream_graph.windows().iter().map(|w| w.to_string()).collect();
    println!(
        "trendflow demo: {} generated tweets, windows {}, top {}, {} worker(s)",
        args.tweets,
        windows.join(" "),
        args.top,
        args.cluster.workers
    );

    let stream_plan = LayerPlan {
        name: "stream",
        graph: stream_graph,
        slack_ms: args.lateness,
        changes: true,
        print_closing: !args.quiet,
    };
    let stream = run_layer(&stream_plan, &generator, timely_config.clone())?;
    let batch_plan = LayerPlan {
        name: "batch",
        graph: batch_graph,
        slack_ms: generator.max_disorder_ms(),
        changes: false,
        print_closing: false,
    };
    let batch = run_layer(&batch_plan, &generator, timely_config)?;

    let rate = |run: &LayerRun| args.tweets as f64 / run.elapsed.as_secs_f64();
    println!(
        "stream: {} tweets in {:.2} s ({:.0} tweets/s), {} windows, {} ranking updates, {} late",
        args.tweets,
        stream.elapsed.as_secs_f64(),
        rate(&stream),
        stream.views.window_count(),
        stream.changes,
        stream.late
    );
    println!(
        "batch:  {} tweets in {:.2} s ({:.0} tweets/s), {} windows",
        args.tweets,
        batch.elapsed.as_secs_f64(),
        rate(&batch),
        batch.views.window_count()
    );
    if let Some(bytes) = peak_rss_bytes() {
        println!("peak memory: {} MiB", bytes / (1024 * 1024));
    }
    match stream.views.first_difference(&batch.views) {
        None => {
            println!("identical: yes");
            Ok(())
        }
        Some(difference) => {
            println!("identical: no");
            bail!("stream and batch final views differ (left: stream, right: batch): {difference}")
        }
    }
}

/// Runs one layer on timely workers: each generates its share of the tweets and feeds it to the
/// graph, while this thread collects the published rankings and shows progress.
fn run_layer(plan: &LayerPlan, generator: &Generator, config: timely::Config) -> Result<LayerRun> {
    let (sender, receiver) = crossbeam_channel::unbounded::<Snapshot>();
    let fed = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let guards = {
        let (plan, generator, fed, late) = (plan.clone(), generator.clone(), fed.clone(), late.clone());
        timely::execute(config, move |worker| {
            let sender = sender.clone();
            let (mut input, probe) = worker.dataflow(|scope| {
                let (input, tweets) = scope.new_collection::<Tweet, isize>();
                let (probe, tweets) = tweets.probe();
                // A send fails only once the collecting thread is gone, when nobody needs rankings.
                rankings(tweets, &plan.graph).publish(plan.changes, move |snapshot| {
                    let _ = sender.send(snapshot);
                });
                (input, probe)
            });
            let tweets = generator.share(worker.index(), worker.peers());
            feed(worker, &mut input, &probe, tweets, plan.slack_ms, &fed, &late);
        })
        .map_err(|e| anyhow!("starting timely workers: {e}"))?
    };

    let progress = ProgressBar::new(generator.config().tweets).with_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} tweets, {per_sec}, {msg}")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    progress.set_prefix(plan.name);
    let mut views = FinalViews::default();
    let mut changes = 0;
    let mut closed = 0;
    loop {
        match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(snapshot) => {
                if !snapshot.is_final() {
                    changes += 1;
                    continue;
                }
                if let Snapshot::Hashtags(ranking) = &snapshot {
                    closed += 1;
                    progress.set_message(format!("{closed} windows closed"));
                    if plan.print_closing {
                        // A hidden bar (output is not a terminal) drops println, so print directly.
                        match progress.is_hidden() {
                            true => println!("{}", ranking_line(ranking)),
                            false => progress.println(ranking_line(ranking)),
                        }
                    }
                }
                views.record(snapshot);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        progress.set_position(fed.load(Ordering::Relaxed));
    }
    progress.finish_and_clear();
    for result in guards.join() {
        result.map_err(|e| anyhow!("a timely worker failed: {e}"))?;
    }
    Ok(LayerRun { views, elapsed: started.elapsed(), late: late.load(Ordering::Relaxed), changes })
}

/// How many tweets go in between two advances of the input frontier.
const BATCH: u64 = 4_096;

/// Feeds `tweets` at their event times, keeping the input frontier `slack_ms` behind the latest
/// event time seen. A tweet already behind the frontier is late: counted, not fed.
fn feed(
    worker: &mut Worker,
    input: &mut InputSession<EventTime, Tweet, isize>,
    probe: &ProbeHandle<EventTime>,
    tweets: impl Iterator<Item = Tweet>,
    slack_ms: u64,
    fed: &AtomicU64,
    late: &AtomicU64,
) {
    let mut latest = 0;
    let mut batch = 0;
    for tweet in tweets {
        if tweet.created_at < *input.time() {
            late.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        latest = latest.max(tweet.created_at);
        let at = tweet.created_at;
        input.update_at(tweet, at, 1);
        batch += 1;
        if batch == BATCH {
            fed.fetch_add(batch, Ordering::Relaxed);
            batch = 0;
            let watermark = latest.saturating_sub(slack_ms);
            if watermark > *input.time() {
                input.advance_to(watermark);
            }
            input.flush();
            worker.step_while(|| probe.less_than(input.time()));
        }
    }
    fed.fetch_add(batch, Ordering::Relaxed);
}
