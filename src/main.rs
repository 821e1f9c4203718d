//! The `trendflow` command: parse, run, report the error chain once, exit non-zero on failure.

use std::process::ExitCode;

use clap::Parser;

// The graph's state is many small strings allocated and freed across worker threads; glibc's
// per-thread arenas fragment under that pattern and hold on to freed memory, which shows as RSS
// that creeps with stream length. jemalloc keeps it flat and is faster here.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
