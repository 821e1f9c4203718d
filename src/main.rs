//! The `trendflow` command: parse, run, report the error chain once, exit non-zero on failure.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    match trendflow::cli::Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trendflow: {error:#}");
            ExitCode::FAILURE
        }
    }
}
