//! The server's connections, held to limits so that no client, hostile or broken, holds the
//! server's resources for ever: at most [`ConnectionLimits::max_connections`] at once (the rest
//! wait in the kernel's backlog); a request's headers read within the header timeout, which also
//! closes a keep-alive connection left idle that long (hyper starts the timer whenever a
//! connection waits for a request); a write that makes no progress for the write timeout — a
//! client that stopped reading, a live-push client above all — ends its connection; and a stop
//! waits at most the grace period for the answers in flight.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_io_timeout::TimeoutStream;

/// What one connection, and all of them, may take.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub write_timeout: Duration,
    /// How long a stop waits for the answers in flight before it drops them.
    pub grace: Duration,
}

/// Accepts connections on `listener` and answers them with `router` until `stopped` completes,
/// then lets the answers in flight finish for the grace period.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stopped: impl Future<Output = ()>,
) -> Result<()> {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    tokio::pin!(stopped);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.context("the connection limit's semaphore closed")?,
            () = &mut stopped => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before it was taken: the
                // listener itself is fine.
                Err(error) => {
                    log::warn!("accepting a connection: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        let mut socket = TimeoutStream::new(socket);
        socket.set_write_timeout(Some(limits.write_timeout));
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(Box::pin(socket)), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                log::debug!("connection from {peer} ended: {error}");
            }
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.grace) => {
            log::warn!("answers still in flight after {:?}; stopping without them", limits.grace);
        }
    }
    Ok(())
}
