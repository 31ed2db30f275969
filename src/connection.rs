//! The [`Connection`] trait: what an application implements.

use std::future::Future;
use std::net::SocketAddr;

use http::{HeaderMap, Uri};

use crate::{Message, Socket, Transport};

/// One client's connection, as the application sees it: TornadIO's
/// `SocketConnection`.
///
/// A [`Router`](crate::Router) makes one value per session with its factory
/// and hands it to the session's own task, so the callbacks run one at a
/// time, in the order things happened, with `&mut self`: no locks needed.
/// Implement the methods with `async fn`.
///
/// ```
/// use tornadio::{Connection, Message, OpenInfo, Refused, Socket};
///
/// struct Echo;
///
/// impl Connection for Echo {
///     async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
///         let _ = socket.send(format!("Welcome, extra = {:?}", info.extra()));
///         Ok(())
///     }
///
///     async fn on_message(&mut self, socket: &Socket, message: Message) {
///         let _ = socket.send(message);
///     }
/// }
/// ```
pub trait Connection: Send + 'static {
    /// Called once when the session opens, before any message. Messages
    /// sent here follow the session id on the wire. Returning
    /// `Err(Refused)` answers the opening request with `403` and ends the
    /// session without calling [`on_close`](Connection::on_close).
    fn on_open(
        &mut self,
        socket: &Socket,
        info: &OpenInfo,
    ) -> impl Future<Output = Result<(), Refused>> + Send {
        let _ = (socket, info);
        async { Ok(()) }
    }

    /// Called for every message the client sends, in order. A JSON message
    /// arrives decoded as [`Message::Json`].
    fn on_message(&mut self, socket: &Socket, message: Message) -> impl Future<Output = ()> + Send;

    /// Called exactly once when an opened session ends, whatever the cause:
    /// the client left or its network failed, a heartbeat or expiry timeout,
    /// [`Socket::close`], or the server shutting down. Sends from here fail
    /// with [`SendError::Closed`](crate::SendError::Closed).
    fn on_close(&mut self, socket: &Socket) -> impl Future<Output = ()> + Send {
        let _ = socket;
        async {}
    }
}

/// The application declined a connection in [`Connection::on_open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, thiserror::Error)]
#[error("connection refused by the application")]
pub struct Refused;

/// What the opening request carried, for [`Connection::on_open`].
#[derive(Debug, Clone)]
pub struct OpenInfo {
    pub(crate) extra: Option<String>,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) transport: Transport,
}

impl OpenInfo {
    /// The part of the URL matched by the router's `extra_re`, if set.
    /// With `resource("chat").extra_re(r"\d+").extra_sep("/")`, a client at
    /// `/chat/123/websocket` gives `Some("123")`.
    pub fn extra(&self) -> Option<&str> {
        self.extra.as_deref()
    }

    /// The request's headers (cookies, user agent, origin...).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The client's address, when the server knows it (always under
    /// [`SocketServer`](crate::SocketServer); under axum, when served
    /// `into_make_service_with_connect_info::<SocketAddr>()`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// The transport the client opened the session with.
    pub fn transport(&self) -> Transport {
        self.transport
    }
}
