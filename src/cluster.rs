//! Worker flags, following timely's own conventions, turned into a validated `timely::Config`.

use anyhow::{bail, Result};
use clap::Args;

/// How many timely workers run the job.
#[derive(Args, Clone, Debug)]
pub struct ClusterArgs {
    /// Worker threads in this process.
    #[arg(short = 'w', long = "workers", default_value_t = 1, value_name = "N")]
    pub workers: usize,
}

impl ClusterArgs {
    /// How many workers the whole cluster runs.
    pub fn total_workers(&self) -> usize {
        self.workers
    }

    /// The timely configuration for these flags.
    pub fn timely_config(&self) -> Result<timely::Config> {
        if self.workers == 0 {
            bail!("--workers must be at least 1");
        }
        Ok(timely::Config::process(self.workers))
    }
}
