//! `trendflow serve`: the serving layer's HTTP server (see [`crate::serve`]), until stopped.

use std::net::SocketAddr;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use trendflow_dataflows::window::parse_duration;

use crate::harness::signal::stop_flag;
use crate::kafka::KafkaArgs;
use crate::mysql::schema::check_schema;
use crate::mysql::MysqlArgs;
use crate::serve::auth::{Access, TokenFile};
use crate::serve::connections::{ConnectionLimits, Tls};
use crate::serve::hosts::AllowedHosts;
use crate::serve::Exposure;

/// Flags of `trendflow serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Where to listen. Loopback by default; another address needs --auth-token-file (or
    /// --insecure-no-auth).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDRESS:PORT")]
    pub listen: SocketAddr,
    /// The names a request's Host header may give (repeat the flag for several; a port after the
    /// name is ignored). A browser page on another site that resolves its own name to this
    /// server's address (DNS rebinding) is refused. Default: localhost and the loopback
    /// addresses when listening on loopback, any name otherwise.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    /// Answer only requests with one of the tokens in FILE (one a line; `#` starts a comment),
    /// as `Authorization: Bearer TOKEN`, or the cookie the dashboard's sign-in sets. The file is
    /// read again when it changes. `/healthz` and `/readyz` stay open.
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
    /// With --auth-token-file: serve `/metrics` without a token too, for a scraper that has none.
    #[arg(long, requires = "auth_token_file")]
    pub metrics_open: bool,
    /// Serve other hosts than this one without authentication: anyone who reaches the port reads
    /// every view. Without it, a --listen address other than loopback needs --auth-token-file.
    #[arg(long, conflicts_with = "auth_token_file")]
    pub insecure_no_auth: bool,
    /// Speak TLS with the certificate chain in FILE (PEM); read again when it changes, so a renewed
    /// certificate needs no restart.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The most connections served at once; the rest wait to be accepted.
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// A request's headers must arrive within this, and a keep-alive connection idle this long is
    /// closed.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub header_timeout: u64,
    /// A connection whose writes make no progress for this long (a client that stopped reading,
    /// such as a live-push client left behind) is closed.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub write_timeout: u64,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub mysql: MysqlArgs,
}

/// How long a stop waits for the answers in flight: live pushes end at once, so only ordinary
/// requests are left, and those have a deadline of their own.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Serves until a signal (Ctrl-C, SIGTERM) stops it.
pub fn run(args: ServeArgs) -> Result<()> {
    let access = access(&args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::open(cert, key)?),
        _ => None,
    };
    let stop = stop_flag()?;
    let mysql = args.mysql.config()?;
    check_schema(&mysql)?;
    let limits = ConnectionLimits {
        max_connections: args.max_connections as usize,
        header_timeout: Duration::from_millis(args.header_timeout),
        write_timeout: Duration::from_millis(args.write_timeout),
        grace: SHUTDOWN_GRACE,
    };
    let hosts = AllowedHosts::new(&args.allow_hosts, args.listen);
    let exposure = Exposure { limits, tls, hosts, access };
    crate::serve::serve(args.listen, exposure, &mysql, args.kafka.config()?, stop)
}

/// Who may read, from the flags: a server that other hosts reach needs tokens, unless the user
/// says, by name, that it does not.
fn access(args: &ServeArgs) -> Result<Access> {
    match &args.auth_token_file {
        Some(path) => Ok(Access::Tokens { file: TokenFile::open(path)?, metrics_open: args.metrics_open }),
        None if args.insecure_no_auth || args.listen.ip().is_loopback() => Ok(Access::Open),
        None => bail!(
            "--listen {} serves other hosts, and without authentication anyone who reaches it reads every view: \
             give --auth-token-file FILE (a token a line), or --insecure-no-auth to serve them all anyway",
            args.listen
        ),
    }
}
