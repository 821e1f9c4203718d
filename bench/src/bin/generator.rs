//! How fast the generator makes tweets on one thread: the ceiling of every benchmark and demo
//! that feeds on it.
//!
//! ```sh
//! cargo run --release -p trendflow-bench --bin generator -- --tweets 4000000
//! ```

use std::time::Instant;

use anyhow::{anyhow, Result};
use clap::Parser;
use serde_json::json;
use trendflow::source::generator::{Generator, GeneratorConfig};
use trendflow_bench::{machine, write_results};

#[derive(Parser, Debug)]
#[command(about = "Generator throughput on one thread")]
struct Args {
    /// How many tweets to generate.
    #[arg(long, default_value_t = 4_000_000)]
    tweets: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let machine = machine();
    let config = GeneratorConfig { tweets: args.tweets, ..GeneratorConfig::default() };
    let generator = Generator::new(config).map_err(|e| anyhow!("invalid generator settings: {e}"))?;
    let started = Instant::now();
    let bytes: usize = generator.share(0, 1).map(|tweet| tweet.text.len() + tweet.lang.len()).sum();
    let seconds = started.elapsed().as_secs_f64();
    let rate = args.tweets as f64 / seconds;
    println!("{} tweets in {seconds:.2} s: {rate:.0} tweets/s, {bytes} bytes of text", args.tweets);
    let path = write_results(
        "generator",
        &json!({"benchmark": "generator", "machine": machine, "tweets": args.tweets, "seconds": seconds, "tweets_per_second": rate}),
    )?;
    println!("results: {}", path.display());
    Ok(())
}
