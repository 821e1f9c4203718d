//! The server's connections, held to limits so that no client, hostile or broken, holds the
//! server's resources for ever: at most [`ConnectionLimits::max_connections`] at once (the rest
//! wait in the kernel's backlog); a request's headers read within the header timeout, which also
//! closes a keep-alive connection left idle that long (hyper starts the timer whenever a
//! connection waits for a request); a write that makes no progress for the write timeout — a
//! client that stopped reading, a live-push client above all — ends its connection; and a stop
//! waits at most the grace period for the answers in flight. With a certificate, connections are
//! TLS ([`Tls`]), its handshake held to the header timeout too.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;

/// What one connection, and all of them, may take.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub write_timeout: Duration,
    /// How long a stop waits for the answers in flight before it drops them.
    pub grace: Duration,
}

/// The server's certificate and key, PEM files read again when either changes, so that a renewed
/// certificate takes effect without a restart.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    loaded: Mutex<Loaded>,
}

struct Loaded {
    modified: (Option<SystemTime>, Option<SystemTime>),
    looked_at: Instant,
    acceptor: TlsAcceptor,
}

/// How often the files are looked at again, at most.
const LOOK_AGAIN_AFTER: Duration = Duration::from_secs(1);

impl Tls {
    /// Reads the certificate chain and key: files that cannot be read or do not match are an
    /// error.
    pub fn open(cert: &Path, key: &Path) -> Result<Self> {
        let acceptor = acceptor(cert, key)?;
        let loaded = Loaded { modified: modified(cert, key), looked_at: Instant::now(), acceptor };
        Ok(Tls { cert: cert.to_path_buf(), key: key.to_path_buf(), loaded: Mutex::new(loaded) })
    }

    /// The acceptor for a new connection, the files read again first if they changed. Files that
    /// became unreadable keep the certificate read before, with a warning.
    fn acceptor(&self) -> Option<TlsAcceptor> {
        let mut loaded = self.loaded.lock().ok()?;
        if loaded.looked_at.elapsed() >= LOOK_AGAIN_AFTER {
            loaded.looked_at = Instant::now();
            let now = modified(&self.cert, &self.key);
            if now != loaded.modified {
                match acceptor(&self.cert, &self.key) {
                    Ok(acceptor) => {
                        log::info!("read the certificate {} again", self.cert.display());
                        (loaded.modified, loaded.acceptor) = (now, acceptor);
                    }
                    Err(error) => log::warn!("{error:#}; keeping the certificate read before"),
                }
            }
        }
        Some(loaded.acceptor.clone())
    }
}

fn modified(cert: &Path, key: &Path) -> (Option<SystemTime>, Option<SystemTime>) {
    let of = |path: &Path| std::fs::metadata(path).and_then(|meta| meta.modified()).ok();
    (of(cert), of(key))
}

/// A TLS acceptor for the certificate chain in `cert` and the private key in `key` (PEM).
fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .with_context(|| format!("reading the certificate chain {} (PEM)", cert.display()))?;
    if chain.is_empty() {
        bail!("{} holds no certificate (PEM)", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {} (PEM)", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the private key do not make a pair")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections on `listener` and answers them with `router` — over TLS with `tls` —
/// until `stopped` completes, then lets the answers in flight finish for the grace period.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<Arc<Tls>>,
    stopped: impl Future<Output = ()>,
) -> Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
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
        let socket = Box::pin(socket);
        let service = TowerToHyperService::new(router.clone());
        let (http, watcher, tls) = (http.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            let served = match tls.and_then(|tls| tls.acceptor()) {
                None => watcher.watch(http.serve_connection(TokioIo::new(socket), service)).await,
                Some(acceptor) => match tokio::time::timeout(limits.header_timeout, acceptor.accept(socket)).await {
                    Ok(Ok(stream)) => watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await,
                    Ok(Err(error)) => {
                        log::debug!("TLS handshake with {peer} failed: {error}");
                        Ok(())
                    }
                    Err(_) => {
                        log::debug!("TLS handshake with {peer} took longer than {:?}", limits.header_timeout);
                        Ok(())
                    }
                },
            };
            if let Err(error) = served {
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
