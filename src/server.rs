//! [`SocketServer`]: bind, serve, answer Flash policy requests, shut down
//! gracefully.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::FutureExt;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::context::ServerContext;
use crate::error::Error;
use crate::flash;

/// How long a client may take to send its request headers, by default.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a write may make no progress before the connection is dropped,
/// by default.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for sessions and connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
    app: App,
    address: IpAddr,
    port: u16,
    flash_policy_port: Option<u16>,
    flash_policy_file: Option<PathBuf>,
    header_read_timeout: Duration,
    write_timeout: Duration,
}

impl SocketServer {
    /// A server for `app`, on `0.0.0.0:8001`, policy on port 843.
    pub fn new(app: impl Into<axum::Router>) -> SocketServer {
        SocketServer::serving(App::Axum(app.into()))
    }

    /// A server for one [`Router`](crate::Router) and nothing else, on
    /// `0.0.0.0:8001`, policy on port 843: every request goes straight to
    /// the router, without passing through axum's routing first (which
    /// costs several allocations per request, felt most by long-polling
    /// clients, who make two requests per message). A path the router
    /// does not serve gets `404`, as under [`new`](Self::new).
    ///
    /// ```no_run
    /// # use tornadio::{Connection, Message, Router, Socket, SocketServer};
    /// # struct Echo;
    /// # impl Connection for Echo {
    /// #     async fn on_message(&mut self, socket: &Socket, message: Message) { let _ = socket.send(message); }
    /// # }
    /// # async fn demo() -> Result<(), tornadio::Error> {
    /// SocketServer::standalone(Router::new(|| Echo)).port(8001).run().await
    /// # }
    /// ```
    pub fn standalone(router: crate::Router) -> SocketServer {
        SocketServer::serving(App::Router(router))
    }

    fn serving(app: App) -> SocketServer {
        SocketServer {
            app,
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8001,
            flash_policy_port: Some(843),
            flash_policy_file: None,
            header_read_timeout: HEADER_TIMEOUT,
            write_timeout: WRITE_TIMEOUT,
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

    /// How long a write to a client may make no progress (the client does
    /// not read what it is sent) before its connection is dropped. Without
    /// it, a client that never reads would hold its connection and the
    /// kernel's buffers for it forever, even after its session closed.
    /// Applies to every response and to upgraded WebSockets. Default 30 s.
    pub fn write_timeout(mut self, timeout: Duration) -> SocketServer {
        self.write_timeout = timeout;
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
            write_timeout: self.write_timeout,
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
///
/// ```no_run
/// # async fn demo(app: axum::Router) -> Result<(), tornadio::Error> {
/// let server = tornadio::SocketServer::new(app).port(0).bind().await?;
/// println!("listening on {}", server.local_addr());
/// server.run_until(async { /* a shutdown signal of your own */ }).await
/// # }
/// ```
#[derive(Debug)]
pub struct BoundServer {
    app: App,
    listener: TcpListener,
    policy_listener: Option<TcpListener>,
    policy: Arc<[u8]>,
    header_read_timeout: Duration,
    write_timeout: Duration,
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
        let hooks = crate::context::ShutdownHooks::default();
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
                hooks: hooks.clone(),
            };
            let connection = Connection {
                app: self.app.clone(),
                context,
                policy: Arc::clone(&self.policy),
                header_read_timeout: self.header_read_timeout,
                write_timeout: self.write_timeout,
            };
            // Socket.IO writes small packets and waits for small answers:
            // Nagle's algorithm would hold them for the peer's delayed ACK.
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not disable Nagle's algorithm");
            }
            let context = connection.context.clone();
            // Its requests find the server's context in the task.
            connections.spawn(crate::context::scope(context, connection.serve(stream)));
        }
        tracing::info!("shutting down: closing every session");
        drop(self.listener);
        shutdown.cancel();
        hooks.run();
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

/// What a server serves.
#[derive(Debug, Clone)]
enum App {
    /// An application, routed by axum.
    Axum(axum::Router),
    /// One socket router, called directly.
    Router(crate::Router),
}

/// One accepted TCP connection.
struct Connection {
    app: App,
    context: ServerContext,
    policy: Arc<[u8]>,
    header_read_timeout: Duration,
    write_timeout: Duration,
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
            write_timeout,
            ..
        } = self;
        let shutdown = context.shutdown.clone();
        let io = TokioIo::new(StallLimit::new(stream, write_timeout));
        // No timer of hyper's: its header-read timeout sets and clears one
        // per request. The connection's watch below does that job.
        let http = hyper::server::conn::http1::Builder::new();
        let watch = Arc::new(HeadWatch::new());
        let watching = Arc::clone(&watch);
        match app {
            App::Axum(app) => {
                // The context rides in each request too: the application's
                // layers may move a request to a task of their own.
                let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(context.clone());
                    let watch = watching.serving();
                    app.clone()
                        .oneshot(request.map(Body::new))
                        .map(move |response| response.map(|r| r.map(|body| watch.body(body))))
                });
                let connection = http.serve_connection(io, service).with_upgrades();
                drive(connection, shutdown, &watch, header_read_timeout).await;
            }
            App::Router(router) => {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let watch = watching.serving();
                    // Mapped, not awaited in a block, which would hold a
                    // second copy of the future.
                    router
                        .respond(request.map(Body::new))
                        .map(move |response| Ok::<_, Infallible>(response.map(|b| watch.body(b))))
                });
                let connection = http.serve_connection(io, service).with_upgrades();
                drive(connection, shutdown, &watch, header_read_timeout).await;
            }
        }
    }
}

/// Serves one connection to its end; on shutdown, lets the request in
/// flight finish (its session is closing), then closes it. A connection
/// that serves no request for `header_read_timeout` (it sends nothing, or
/// headers that never end) is dropped.
async fn drive<S>(
    connection: hyper::server::conn::http1::UpgradeableConnection<
        TokioIo<StallLimit<TcpStream>>,
        S,
    >,
    shutdown: CancellationToken,
    watch: &HeadWatch,
    header_read_timeout: Duration,
) where
    S: hyper::service::HttpService<Incoming, ResBody = Watched>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(connection);
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    // One timer for the connection's life, which wakes once per timeout,
    // not once per request.
    let check = tokio::time::sleep(header_read_timeout);
    tokio::pin!(check);
    let result = loop {
        tokio::select! {
            biased;
            result = connection.as_mut() => break result,
            () = cancelled.as_mut() => {
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                    Ok(result) => break result,
                    Err(_) => return,
                }
            }
            () = check.as_mut() => {
                let now = tokio::time::Instant::now();
                match watch.due(header_read_timeout) {
                    Some(due) if due > now => check.as_mut().reset(due),
                    Some(_) => {
                        tracing::debug!(
                            timeout = ?header_read_timeout,
                            "no request's headers within the timeout; dropping the connection"
                        );
                        return;
                    }
                    // Serving: looked at again a timeout later.
                    None => check.as_mut().reset(now + header_read_timeout),
                }
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Whether a connection is serving a request, and since when it is not:
/// from a request's complete head to the end of its response it is
/// serving; otherwise it waits for the next request's headers, which must
/// come within the header-read timeout. Two stores per request instead of
/// a timer set and cleared.
struct HeadWatch {
    serving: AtomicBool,
    /// When the last response ended (or the connection opened), in
    /// milliseconds since `opened`.
    idle_since: AtomicU64,
    opened: tokio::time::Instant,
}

impl HeadWatch {
    fn new() -> HeadWatch {
        HeadWatch {
            serving: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            opened: tokio::time::Instant::now(),
        }
    }

    /// A request's head arrived: serving until its response's body is
    /// dropped.
    fn serving(self: &Arc<Self>) -> Arc<HeadWatch> {
        self.serving.store(true, Ordering::Relaxed);
        Arc::clone(self)
    }

    /// The response's body, which ends the serving when hyper drops it.
    fn body(self: Arc<Self>, body: Body) -> Watched {
        Watched { body, watch: self }
    }

    fn idle(&self) {
        let since = self.opened.elapsed().as_millis();
        self.idle_since
            .store(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.serving.store(false, Ordering::Release);
    }

    /// When the connection must have sent its next request's headers;
    /// `None` while it is serving one.
    fn due(&self, timeout: Duration) -> Option<tokio::time::Instant> {
        if self.serving.load(Ordering::Acquire) {
            return None;
        }
        let since = Duration::from_millis(self.idle_since.load(Ordering::Relaxed));
        Some(self.opened + since + timeout)
    }
}

/// A response's body; dropped by hyper once the response is written (or
/// the connection failed), which makes its connection idle again.
struct Watched {
    body: Body,
    watch: Arc<HeadWatch>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.watch.idle();
    }
}

/// A connection whose writes fail once they have made no progress for
/// `timeout`: the client stopped reading and its buffers are full.
struct StallLimit<T> {
    inner: T,
    timeout: Duration,
    /// Set while a write is blocked: when it gives up.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> StallLimit<T> {
    fn new(inner: T, timeout: Duration) -> Self {
        StallLimit {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// Tracks a write's outcome: progress resets the clock, a blocked write
    /// runs it, and one blocked too long fails.
    fn track<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.timeout;
        let deadline = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                tracing::debug!(?timeout, "client stopped reading; dropping the connection");
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallLimit<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallLimit<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.track(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.track(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.track(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.track(cx, polled)
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_write_the_client_never_reads_fails_after_the_timeout() {
        let (server_side, mut client_side) = tokio::io::duplex(64);
        let mut limited = StallLimit::new(server_side, Duration::from_millis(50));
        let blocked = limited.write_all(&[b'x'; 4096]).await;
        assert_eq!(blocked.map_err(|e| e.kind()), Err(io::ErrorKind::TimedOut));
        // A client that reads keeps the writes going, however slowly.
        let mut limited = StallLimit::new(limited.inner, Duration::from_millis(50));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                match client_side.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        });
        limited.write_all(&[b'y'; 4096]).await.unwrap();
        drop(limited);
        reader.await.unwrap();
    }
}
