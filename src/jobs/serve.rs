//! `trendflow serve`: the serving layer's HTTP server (see [`crate::serve`]), until stopped.

use std::net::SocketAddr;

use anyhow::Result;
use clap::Args;

use crate::db::MysqlArgs;
use crate::harness::signal::stop_flag;
use crate::kafka::KafkaArgs;
use crate::source::mysql::check_schema;

/// Flags of `trendflow serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Where to listen. Loopback by default: the API has no authentication.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDRESS:PORT")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub mysql: MysqlArgs,
}

/// Serves until a signal (Ctrl-C, SIGTERM) stops it.
pub fn run(args: ServeArgs) -> Result<()> {
    let stop = stop_flag()?;
    let mysql = args.mysql.config()?;
    check_schema(&mysql)?;
    crate::serve::serve(args.listen, &mysql, args.kafka.config()?, stop)
}
