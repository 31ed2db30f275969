//! What the one-call server gives every request it serves, so that
//! sessions are tied to its lifetime and know their peer. Under a plain axum
//! server there is none, and sessions run as free tasks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::request::Parts;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Set by [`SocketServer`](crate::SocketServer) for the task serving each
/// connection, a task-local read by the few requests that open a session.
/// Requests for an axum application also carry it in their extensions, in
/// case the application's layers move them to another task; a standalone
/// router's requests do not pay for that allocation.
#[derive(Clone)]
pub(crate) struct ServerContext {
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) peer_addr: SocketAddr,
    /// What must run when the server stops (closing every session of a
    /// registry that watches no token of its own).
    pub(crate) hooks: ShutdownHooks,
}

/// Functions the server calls once, after cancelling its token, when it
/// shuts down.
#[derive(Clone, Default)]
pub(crate) struct ShutdownHooks(Arc<Mutex<Vec<Hook>>>);

type Hook = Box<dyn Fn() + Send + Sync>;

impl ShutdownHooks {
    pub(crate) fn add(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(hook));
    }

    /// Adds the hook `make` makes, unless `watched` (a registry's flag,
    /// shared by its clones) says it was added already.
    pub(crate) fn add_once<H>(&self, watched: &std::sync::OnceLock<()>, make: impl FnOnce() -> H)
    where
        H: Fn() + Send + Sync + 'static,
    {
        if watched.set(()).is_ok() {
            self.add(make());
        }
    }

    pub(crate) fn run(&self) {
        let hooks = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for hook in hooks {
            hook();
        }
    }
}

tokio::task_local! {
    static CONTEXT: ServerContext;
}

/// Runs `connection` with `context` as the context of its requests.
pub(crate) fn scope<F: Future>(
    context: ServerContext,
    connection: F,
) -> impl Future<Output = F::Output> {
    CONTEXT.scope(context, connection)
}

/// The server's context of a request, if it runs under one: from the
/// request (an application's layers may have moved it to another task), or
/// from the task serving its connection.
pub(crate) fn of(parts: &Parts) -> Option<ServerContext> {
    match parts.extensions.get::<ServerContext>() {
        Some(context) => Some(context.clone()),
        None => CONTEXT.try_with(ServerContext::clone).ok(),
    }
}

/// The client's address: from the server, or from axum's `ConnectInfo`.
pub(crate) fn peer_addr(parts: &Parts) -> Option<SocketAddr> {
    of(parts).map(|c| c.peer_addr).or_else(|| {
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
    })
}

/// Runs a session's task: tracked by the server, so that shutdown waits
/// for it, or free under a plain axum server.
pub(crate) fn spawn<F>(context: Option<&ServerContext>, task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match context {
        Some(context) => drop(context.tracker.spawn(task)),
        None => drop(tokio::spawn(task)),
    }
}
