//! Prometheus metrics of a long-running job: their text format, and an HTTP listener that serves
//! them at `/metrics` beside the job's own work (`stream --metrics-listen`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, Registry, TextEncoder};

/// Every metric of `registry` in Prometheus' text format.
pub fn render(registry: &Registry) -> prometheus::Result<String> {
    let mut text = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut text)?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Serves `registry` at `http://listen/metrics` on a thread of its own until the process ends,
/// calling `refresh` before each scrape (to bring counts kept elsewhere up to date). Returns the
/// address it listens on.
pub fn expose(
    listen: SocketAddr,
    registry: Registry,
    refresh: impl Fn() + Send + Sync + 'static,
) -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!("listening for metrics on {listen}; is the port taken? choose one with --metrics-listen")
    })?;
    listener.set_nonblocking(true).context("the metrics listener")?;
    let address = listener.local_addr().context("the metrics listener's address")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("the metrics runtime")?;
    let scrape = Arc::new(move || {
        refresh();
        render(&registry).map_err(|e| anyhow!("rendering metrics: {e}"))
    });
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            let route = get(move || async move {
                match scrape() {
                    Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
                    Err(error) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
                }
            });
            if let Err(error) = axum::serve(listener, Router::new().route("/metrics", route)).await {
                log::warn!("serving metrics on {address}: {error}");
            }
        })
    });
    Ok(address)
}
