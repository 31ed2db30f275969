//! Engine.IO sessions, versions 3 and 4: the sid registry, the outgoing
//! queue, who carries it (a polling GET, a WebSocket), the upgrade from
//! one to the other, heartbeats and expiry.
//!
//! The engine knows sessions and liveness, never events or rooms: it
//! hands each message to the layer above through [`Upper`], which the
//! Socket.IO layer implements, and so does the bare Engine.IO API
//! ([`EngineRouter`]).

mod api;
pub(crate) mod conn;
mod heartbeat;
mod http;
mod task;
mod upgrade;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

pub(crate) use crate::ws::WsStream;
pub(crate) use api::BareFactory;
pub use api::{EngineConnection, EngineSocket};
pub(crate) use conn::Conn;
pub(crate) use heartbeat::{Beat, Heartbeat, later};
pub(crate) use http::{EngineCore, EngineService, StartUpper, serve};

use crate::connection::Handshake;
use crate::protocol::engine::{BinaryMode, Packet};
use crate::{DisconnectReason, Refused};

/// One message of the bare Engine.IO API: text or binary.
///
/// ```
/// use tornadio::Data;
///
/// assert_eq!(Data::from("hi"), Data::Text("hi".into()));
/// assert!(matches!(Data::from(vec![1u8]), Data::Binary(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

impl From<&str> for Data {
    fn from(text: &str) -> Self {
        Data::Text(text.to_owned())
    }
}

impl From<String> for Data {
    fn from(text: String) -> Self {
        Data::Text(text)
    }
}

impl From<Bytes> for Data {
    fn from(data: Bytes) -> Self {
        Data::Binary(data)
    }
}

impl From<Vec<u8>> for Data {
    fn from(data: Vec<u8>) -> Self {
        Data::Binary(Bytes::from(data))
    }
}

/// What reaches a session's task from outside it.
pub(crate) enum Inbound {
    /// Packets a polling POST carried, in order.
    Packets(Vec<Packet>),
    /// The probe finished: this WebSocket carries the session from now on.
    Upgraded(Box<WsStream>, BinaryMode),
}

/// Whether a session goes on after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close(DisconnectReason),
}

/// What the layer above can take from the client at once, even while one
/// of its callbacks runs: acknowledgements, which only resolve what another
/// task awaits. A callback that awaits a client's acknowledgement would
/// otherwise wait on itself.
pub(crate) trait Shortcut: Send + Sync {
    /// Takes a text message now; `false`: it waits its turn.
    fn text(&self, text: &str) -> bool;
    /// Takes a binary message now; `false`: it waits its turn.
    fn binary(&self, data: &Bytes) -> bool;
}

/// The layer above the engine: what a session's task calls. Its value
/// lives in that task, so every call runs there, one at a time.
pub(crate) trait Upper: Send + 'static {
    /// Before the handshake is answered: may refuse the client (`403`).
    fn open(
        &mut self,
        conn: &Arc<Conn>,
        handshake: &Arc<Handshake>,
    ) -> impl Future<Output = Result<(), Refused>> + Send;

    /// What may be taken while a callback runs (see [`Shortcut`]).
    fn shortcut(&self) -> Option<Arc<dyn Shortcut>> {
        None
    }

    /// The session is open and its task runs.
    fn opened(&mut self, conn: &Arc<Conn>) -> impl Future<Output = Flow> + Send;

    /// A message from the client.
    fn message(&mut self, conn: &Arc<Conn>, data: Data) -> impl Future<Output = Flow> + Send;

    /// [`Conn::signal`] was raised (from any task, when the layer has
    /// business of its own, such as commands from its handles): handles
    /// what is pending.
    fn on_signal(&mut self, conn: &Arc<Conn>) -> impl Future<Output = Flow> + Send {
        let _ = conn;
        async { Flow::Continue }
    }

    /// A deadline of the layer's own (a connect timeout), if it has one.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        None
    }

    /// The deadline passed.
    fn on_deadline(&mut self) -> Flow {
        Flow::Continue
    }

    /// The session ended; called exactly once after `opened`.
    fn closed(
        &mut self,
        conn: &Arc<Conn>,
        reason: DisconnectReason,
    ) -> impl Future<Output = ()> + Send;
}

/// The answer to a request from a refused origin: node's `403` code 4.
pub(crate) fn forbidden() -> axum::response::Response {
    http::EngineError::Forbidden.response(None)
}

/// The live Engine.IO connections of one router, by sid.
pub(crate) type Registry = crate::registry::Registry<Conn>;

/// A fresh session id: 20 characters of base64url from the CSPRNG (120
/// bits), as long as node's.
pub(crate) fn new_sid() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sids_are_twenty_url_safe_characters_and_distinct() {
        let a = super::new_sid();
        assert_eq!(a.len(), 20);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, super::new_sid());
    }
}
