//! The `trendflow` command: parse, run, report the error chain once, exit non-zero on failure.

use std::process::ExitCode;

use clap::Parser;

// The graph's state is many small strings allocated and freed across worker threads; glibc's
// per-thread arenas fragment under that pattern and hold on to freed memory, which shows as RSS
// that creeps with stream length. jemalloc keeps it flat and is faster here.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // librdkafka logs every failed connection attempt at error level; trendflow reports what the
    // user must know itself, once, with what to do. RUST_LOG=librdkafka=debug brings them back.
    // rustls warns of every TLS client that names the server by its IP address (as curl and wrk
    // do), which is no fault of the server's: only its errors are shown.
    let default_filter = "warn,librdkafka=off,rdkafka::client=off,rustls=error";
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter)).init();
    match trendflow::cli::Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trendflow: {error:#}");
            ExitCode::FAILURE
        }
    }
}
