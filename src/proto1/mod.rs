//! socket.io 0.7–0.9 ("protocol 1"): the handshake, five transports, and
//! sessions whose endpoints are namespaces, served by the same
//! [`Connection`](crate::Connection) types as every other generation.
//!
//! A session starts with the handshake (`GET /{resource}/1/`), which
//! answers its id and clocks; the first transport that carries it opens
//! the endpoint `""` (namespace `/`), and the client joins others with
//! `1::/ep`. One actor task per session owns the connection value of each
//! endpoint (`session::actor`); the transports only move packets.

pub(crate) mod route;
pub(crate) mod session;
mod transport;

use std::sync::Arc;

use http::request::Parts;
use tracing::Instrument;

pub(crate) use route::{Paths, Route};
pub(crate) use session::{PushError, Session};
pub(crate) use transport::serve;

use crate::Transport;
use crate::connection::Handshake;
use crate::context;
use crate::error::Reject;
use crate::settings::Settings;
use crate::socket::Io;
use session::actor::Actor;

/// The live protocol-1 sessions of one router, by id, for their transports.
pub(crate) type Registry = crate::registry::Registry<Session>;

/// What the protocol-1 transports need of a router.
pub(crate) struct Core {
    pub(crate) settings: Arc<Settings>,
    pub(crate) io: Io,
    pub(crate) registry: Registry,
    pub(crate) paths: Paths,
}

impl Core {
    /// Opens a session for a handshake request and starts its actor.
    pub(crate) fn open(&self, request: &Parts) -> Result<Arc<Session>, Reject> {
        let context = context::of(request);
        let session = Session::new(self.settings.max_queued_bytes);
        let session = Arc::new(session);
        if !self
            .registry
            .insert_below(Arc::clone(&session), self.settings.max_sessions)
        {
            tracing::warn!(
                max = self.settings.max_sessions,
                "session limit reached; refusing a protocol-1 handshake"
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
        // The transport is set when one first carries the session.
        let handshake = Handshake::new(request, Transport::XhrPolling);
        let span = tracing::debug_span!("proto1", id = %session.id);
        let actor = Actor {
            session: Arc::clone(&session),
            io: self.io.clone(),
            settings: Arc::clone(&self.settings),
            registry: self.registry.clone(),
            handshake,
            shutdown: context.as_ref().map(|c| c.shutdown.clone()),
        };
        context::spawn(context.as_ref(), actor.run().instrument(span));
        tracing::debug!(id = %session.id, "protocol-1 handshake");
        Ok(session)
    }

    /// Whether a path belongs to protocol 1 rather than to the 0.6 grammar
    /// it also matches (a router whose `extra_re` takes `1`): the handshake
    /// does, and so do the requests of a live protocol-1 session.
    pub(crate) fn claims(&self, route: &Route<'_>) -> bool {
        match route {
            Route::Handshake => true,
            Route::Session { sid, .. } => self.registry.contains(sid),
        }
    }
}
