//! [`SocketServer`]: bind, serve, answer Flash policy requests, shut down
//! gracefully.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::error::Error;
use crate::flash;

/// How long a client may take to send its request headers, by default.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for sessions and connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What the server hands every request, so that routers tie their sessions
/// to its lifetime and know the peer.
#[derive(Clone)]
pub(crate) struct ServerContext {
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) peer_addr: SocketAddr,
}

/// The one-call server, TornadIO's `SocketServer`: serves an application
/// (an [`axum::Router`] holding one or more [`Router`](crate::Router)s) and
/// the Flash policy.
///
/// The policy server listens on [`flash_policy_port`](Self::flash_policy_port)
/// (843 by default; binding it needs privileges, and when it fails the
/// server logs a warning and goes on). The policy is also answered inline on
/// the HTTP port, for Flash clients that ask there.
///
/// On Ctrl-C or SIGTERM ([`run`](Self::run)) the server stops accepting,
/// closes every session (each gets its `on_close`), and returns.
///
/// ```no_run
/// # use tornadio::{Connection, Message, Router, Socket, SocketServer};
/// # struct Echo;
/// # impl Connection for Echo {
/// #     async fn on_message(&mut self, socket: &Socket, message: Message) { let _ = socket.send(message); }
/// # }
/// #[tokio::main]
/// async fn main() -> Result<(), tornadio::Error> {
///     let app = axum::Router::new().merge(Router::new(|| Echo));
///     SocketServer::new(app).port(8001).run().await
/// }
/// ```
#[derive(Debug)]
pub struct SocketServer {
    app: axum::Router,
    address: IpAddr,
    port: u16,
    flash_policy_port: Option<u16>,
    flash_policy_file: Option<PathBuf>,
    header_read_timeout: Duration,
}

impl SocketServer {
    /// A server for `app`, on `0.0.0.0:8001`, policy on port 843.
    pub fn new(app: impl Into<axum::Router>) -> SocketServer {
        SocketServer {
            app: app.into(),
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8001,
            flash_policy_port: Some(843),
            flash_policy_file: None,
            header_read_timeout: HEADER_TIMEOUT,
        }
    }

    /// The address to listen on. Default `0.0.0.0`.
    pub fn address(mut self, address: IpAddr) -> SocketServer {
        self.address = address;
        self
    }

    /// The HTTP port (TornadIO's `socket_io_port`); 0 picks a free one.
    /// Default 8001.
    pub fn port(mut self, port: u16) -> SocketServer {
        self.port = port;
        self
    }

    /// The Flash policy port; `None` runs no policy server (the inline
    /// answer on the HTTP port stays). Default `Some(843)`.
    pub fn flash_policy_port(mut self, port: Option<u16>) -> SocketServer {
        self.flash_policy_port = port;
        self
    }

    /// A policy file to serve instead of the default allow-all policy.
    pub fn flash_policy_file(mut self, path: impl Into<PathBuf>) -> SocketServer {
        self.flash_policy_file = Some(path.into());
        self
    }

    /// How long a new connection (or an idle kept-alive one) may take to
    /// send a request's headers before it is closed, so that a client
    /// trickling bytes, or sending none, cannot hold a connection forever.
    /// This includes a WebSocket whose upgrade request never ends. Default
    /// 30 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> SocketServer {
        self.header_read_timeout = timeout;
        self
    }

    /// Binds the ports, without serving yet.
    ///
    /// # Errors
    /// When the HTTP port cannot be bound or the policy file cannot be read.
    /// A policy port that cannot be bound is only a warning.
    pub async fn bind(self) -> Result<BoundServer, Error> {
        let policy: Arc<[u8]> = match &self.flash_policy_file {
            Some(path) => tokio::fs::read(path)
                .await
                .map_err(|source| Error::PolicyFile {
                    path: path.clone(),
                    source,
                })?
                .into(),
            None => flash::DEFAULT_POLICY.as_bytes().into(),
        };
        let addr = SocketAddr::new(self.address, self.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let policy_listener = match self.flash_policy_port {
            Some(port) => match TcpListener::bind((self.address, port)).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    tracing::warn!(
                        port,
                        %error,
                        "Flash policy server not started (port 843 needs privileges); \
                         policy requests are still answered on the HTTP port"
                    );
                    None
                }
            },
            None => None,
        };
        Ok(BoundServer {
            app: self.app,
            listener,
            policy_listener,
            policy,
            header_read_timeout: self.header_read_timeout,
        })
    }

    /// Binds and serves until Ctrl-C or SIGTERM, then shuts down gracefully.
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    pub async fn run(self) -> Result<(), Error> {
        self.bind().await?.run().await
    }
}

/// A bound [`SocketServer`], ready to serve.
#[derive(Debug)]
pub struct BoundServer {
    app: axum::Router,
    listener: TcpListener,
    policy_listener: Option<TcpListener>,
    policy: Arc<[u8]>,
    header_read_timeout: Duration,
}

impl BoundServer {
    /// The HTTP address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The Flash policy server's address, when it runs.
    pub fn flash_policy_addr(&self) -> Option<SocketAddr> {
        self.policy_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves until Ctrl-C or SIGTERM, then shuts down gracefully.
    ///
    /// # Errors
    /// Never for one client's failure; only if the server itself fails.
    pub async fn run(self) -> Result<(), Error> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes, then stops accepting, closes every
    /// session (each gets its `on_close`) and waits for them, up to 10 s.
    ///
    /// # Errors
    /// Never for one client's failure; only if the server itself fails.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> Result<(), Error> {
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let connections = TaskTracker::new();
        if let Some(listener) = self.policy_listener {
            tokio::spawn(flash::serve(
                listener,
                Arc::clone(&self.policy),
                shutdown.clone(),
            ));
        }
        tracing::info!(addr = %self.listener.local_addr()?, "serving");
        tokio::pin!(signal);
        loop {
            let (stream, peer_addr) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors, most likely: wait, do not spin.
                        tracing::warn!(%error, "could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut signal => break,
            };
            let context = ServerContext {
                shutdown: shutdown.clone(),
                tracker: tracker.clone(),
                peer_addr,
            };
            let connection = Connection {
                app: self.app.clone(),
                context,
                policy: Arc::clone(&self.policy),
                header_read_timeout: self.header_read_timeout,
            };
            connections.spawn(connection.serve(stream));
        }
        tracing::info!("shutting down: closing every session");
        drop(self.listener);
        shutdown.cancel();
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("sessions still closing after the grace period");
        }
        connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the grace period");
        }
        Ok(())
    }
}

/// One accepted TCP connection.
struct Connection {
    app: axum::Router,
    context: ServerContext,
    policy: Arc<[u8]>,
    header_read_timeout: Duration,
}

impl Connection {
    async fn serve(self, stream: TcpStream) {
        if flash::wants_policy(&stream, self.header_read_timeout).await {
            flash::answer(stream, &self.policy).await;
            return;
        }
        let Connection {
            app,
            context,
            header_read_timeout,
            ..
        } = self;
        let shutdown = context.shutdown.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(context.clone());
            app.clone().oneshot(request.map(Body::new))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = shutdown.cancelled() => {
                // Let the request in flight finish (its session is closing),
                // then close the connection.
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                    Ok(result) => result,
                    Err(_) => return,
                }
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "connection ended with an error");
        }
    }
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
