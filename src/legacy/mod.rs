//! Socket.IO 0.6: its six transports, its URL grammar, and its sessions.
//! A 0.6 session is a socket in the namespace `/` whose `message` events
//! are its messages.

pub(crate) mod route;
pub(crate) mod session;
mod transport;

use std::sync::Arc;

use http::request::Parts;
use tokio::sync::oneshot;
use tracing::Instrument;

pub(crate) use route::{Paths, Route};
pub(crate) use session::{PushError, Session};
pub(crate) use transport::carrier;

use crate::Transport;
use crate::connection::{Handshake, OpenInfo, Protocol};
use crate::context;
use crate::error::Reject;
use crate::settings::Settings;
use crate::socket::namespace::Namespace;
use crate::socket::{Socket, Wire};
use session::actor::{Actor, Opening};

/// The live 0.6 sessions of one router, by id, for their transports.
pub(crate) type Registry = crate::registry::Registry<Session>;

/// What the 0.6 transports need of a router.
pub(crate) struct Core {
    pub(crate) settings: Arc<Settings>,
    /// The namespace `/`, whose connection type serves 0.6 clients.
    pub(crate) ns: Arc<Namespace>,
    pub(crate) registry: Registry,
}

impl Core {
    /// Opens a session for `request` and runs `on_open`; the session id and
    /// whatever `on_open` sent are queued when this returns.
    pub(crate) async fn open(
        &self,
        transport: Transport,
        request: &Parts,
        extra: Option<String>,
    ) -> Result<Arc<Session>, Reject> {
        self.open_with(transport, request, extra, None).await
    }

    /// As [`open`](Self::open), a WebSocket session handing its upgrade to
    /// the session's task.
    pub(crate) async fn open_with(
        &self,
        transport: Transport,
        request: &Parts,
        extra: Option<String>,
        upgrade: Option<hyper::upgrade::OnUpgrade>,
    ) -> Result<Arc<Session>, Reject> {
        let context = context::of(request);
        let (session, inbox) = Session::new(transport, self.settings.max_queued_bytes);
        let session = Arc::new(session);
        let handshake = Arc::new(Handshake::new(request, transport));
        if !self
            .registry
            .insert_below(Arc::clone(&session), self.settings.max_sessions)
        {
            tracing::warn!(
                max = self.settings.max_sessions,
                "session limit reached; refusing a new session"
            );
            return Err(Reject::Overloaded);
        }
        if let Some(context) = &context {
            self.registry.watch(context);
            // Listed before this check: a shutdown that began meanwhile
            // either found the session in the registry or is seen here.
            if context.shutdown.is_cancelled() {
                session.close(crate::DisconnectReason::ServerShuttingDown);
            }
        }
        let socket = Socket::new(
            Arc::from(session.id.as_str()),
            Arc::clone(&self.ns),
            Protocol::SocketIo06,
            Arc::clone(&handshake),
            Wire::Legacy(Arc::clone(&session)),
        );
        self.ns.insert(socket.clone());
        let info = OpenInfo {
            handshake,
            extra,
            namespace: Arc::clone(&self.ns.name),
            auth: None,
            protocol: Protocol::SocketIo06,
        };
        let (opened, accepted) = oneshot::channel();
        let span = tracing::debug_span!("session", id = %session.id, %transport);
        let actor = Actor {
            connection: (self.ns.factory)(),
            opening: Opening {
                socket,
                info,
                inbox,
                upgrade,
                settings: Arc::clone(&self.settings),
                registry: self.registry.clone(),
                opened,
            },
        };
        context::spawn(context.as_ref(), actor.run().instrument(span));
        match accepted.await {
            Ok(true) => Ok(session),
            _ => Err(Reject::Refused),
        }
    }

    /// The live session `id` opened with `transport`.
    pub(crate) fn find(&self, id: &str, transport: Transport) -> Result<Arc<Session>, Reject> {
        match self.registry.get(id) {
            Some(session) if session.transport == transport && !session.is_closing() => Ok(session),
            _ => Err(Reject::UnknownSession),
        }
    }
}
