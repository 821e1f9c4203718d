//! The serving layer, the Lambda architecture's third: `trendflow serve` answers queries from the
//! batch and speed layers' view tables and from the speed layer's live snapshots, merging them
//! by one rule ([`merge`]). It reads what the other jobs write and writes nothing itself.
//!
//! The HTTP API ([`api`]), and the dashboard built on it ([`dashboard`]), run on tokio; MySQL reads ([`store`]) run on tokio's blocking threads
//! with a deadline, and a thread of its own follows the ranking topics ([`live`]), so that MySQL
//! or the broker being away makes only what needs it answer 503, and the server recovers by
//! itself when they return.

pub mod answers;
pub mod api;
pub mod auth;
pub mod closed_windows;
pub mod connections;
pub mod dashboard;
pub mod error;
pub mod gate;
pub mod health;
pub mod hosts;
pub mod live;
pub mod merge;
pub mod metrics;
pub mod params;
pub mod push;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

use crate::kafka::KafkaConfig;
use crate::mysql::MysqlConfig;
use crate::serve::auth::Access;
use crate::serve::connections::{ConnectionLimits, Tls};
use crate::serve::hosts::AllowedHosts;

/// How the server meets the network: its connections' limits, TLS, the Host names it answers
/// for, and who may read.
pub struct Exposure {
    pub limits: ConnectionLimits,
    pub tls: Option<Tls>,
    pub hosts: AllowedHosts,
    pub access: Access,
}

/// Serves on `listen`, exposed as `exposure` says, until `stop` is set.
pub fn serve(
    listen: SocketAddr,
    exposure: Exposure,
    mysql: &MysqlConfig,
    kafka: KafkaConfig,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let Exposure { limits, tls, hosts, access } = exposure;
    let live = Arc::new(RwLock::new(live::LiveViews::default()));
    let follower = crate::kafka::follower::follow(kafka, live.clone(), stop.clone());
    let (stopping, stopping_seen) = tokio::sync::watch::channel(false);
    let state = Arc::new(api::AppState {
        store: crate::mysql::serving::ViewStore::new(mysql.request_pool(api::MYSQL_DEADLINE)?),
        marks: RwLock::new(None),
        live,
        metrics: metrics::Metrics::new().map_err(|e| anyhow!("registering metrics: {e}"))?,
        stopping: stopping_seen,
        hosts,
        access,
        https: tls.is_some(),
        closed_windows: closed_windows::ClosedWindows::default(),
    });
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the server's runtime")?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
            format!("listening on {listen}; is another server using the port? choose one with --listen")
        })?;
        let scope = match listen.ip().is_loopback() {
            true => " (loopback only: --listen 0.0.0.0:PORT --auth-token-file FILE serves other hosts)",
            false => "",
        };
        tokio::spawn(api::refresh_marks(state.clone()));
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("serving on {scheme}://{}{scope}", listener.local_addr().context("the listening address")?);
        // Live pushes never end by themselves: told of the stop, they end, and the connections
        // under them can close.
        let stopped = async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            stopping.send_replace(true);
        };
        let tls = tls.map(Arc::new);
        connections::serve_connections(listener, api::router(state), limits, tls, stopped).await.context("serving HTTP")
    });
    // A MySQL read stuck past its deadline must not hold the exit up.
    runtime.shutdown_timeout(limits.grace);
    served?;
    follower.join().map_err(|_| anyhow!("the live follower panicked"))
}
