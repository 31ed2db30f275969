//! The [`Connection`] trait: what an application implements, and what its
//! callbacks are told.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, Uri};
use serde_json::Value;

use crate::{Event, Message, Socket, Transport};

/// One client's connection to one namespace, as the application sees it:
/// TornadIO's `SocketConnection`, grown to every client generation.
///
/// A [`Router`](crate::Router) makes one value per connected socket with
/// the factory of the socket's namespace. The value lives in the task of
/// its client's connection, so the callbacks run one at a time, in the
/// order things happened, with `&mut self`: no locks needed. Implement the
/// methods with `async fn`.
///
/// The same value serves every generation of client:
///
/// | callback | Socket.IO 0.6 | socket.io 0.7–0.9 | socket.io-client 1.x–4.x |
/// |---|---|---|---|
/// | [`on_open`](Self::on_open) | session opens | endpoint connects | namespace connects |
/// | [`on_message`](Self::on_message) | every message | `3`/`4` messages, `message` events of one argument, without data ack | `message` events of one argument, without ack |
/// | [`on_event`](Self::on_event) | — | every other event (`5`) | every other event |
/// | [`on_close`](Self::on_close) | session ends | endpoint or session ends | namespace or connection ends |
///
/// ```
/// use tornadio::{Connection, DisconnectReason, Event, Message, OpenInfo, Refused, Socket};
///
/// struct Chat;
///
/// impl Connection for Chat {
///     async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
///         if info.auth().and_then(|a| a.get("token")).is_none() && info.protocol().has_auth() {
///             return Err(Refused::because("no token"));
///         }
///         let _ = socket.join("lobby");
///         Ok(())
///     }
///
///     async fn on_message(&mut self, socket: &Socket, message: Message) {
///         let _ = socket.send(message);
///     }
///
///     async fn on_event(&mut self, socket: &Socket, mut event: Event) {
///         if event.name() == "shout" {
///             let text: (String,) = event.decode().unwrap_or_default();
///             let _ = socket.to("lobby").emit("shout", &text);
///             if let Some(ack) = event.take_ack() {
///                 let _ = ack.send(&"heard");
///             }
///         }
///     }
///
///     async fn on_close(&mut self, _socket: &Socket, reason: DisconnectReason) {
///         println!("gone: {reason}");
///     }
/// }
/// ```
pub trait Connection: Send + 'static {
    /// Called once when the socket connects, before anything else. What
    /// is sent from here reaches the client after its connection is
    /// confirmed. Returning `Err` refuses the client: a 0.6 session gets
    /// `403`, a protocol-1 endpoint the error packet `7::/ep:2` (its
    /// `connect_failed`; refusing the endpoint `""` ends the session), a
    /// current client a `CONNECT_ERROR` with the refusal's message;
    /// [`on_close`](Self::on_close) is not called.
    fn on_open(
        &mut self,
        socket: &Socket,
        info: &OpenInfo,
    ) -> impl Future<Output = Result<(), Refused>> + Send {
        let _ = (socket, info);
        async { Ok(()) }
    }

    /// Called for every message, in order: the messages of 0.6 and
    /// protocol-1 clients, and the `message` events of every client (what
    /// current clients' `socket.send(x)` emits) that carry one argument and
    /// want no acknowledgement. Text arrives as [`Message::Text`], other
    /// JSON as [`Message::Json`] (a protocol-1 JSON message `4` stays JSON,
    /// even a string).
    fn on_message(&mut self, socket: &Socket, message: Message) -> impl Future<Output = ()> + Send;

    /// Called for every event that is not a plain message: its name, its
    /// arguments (JSON values and binary attachments) and, when the client
    /// asked for one, an acknowledgement to answer with
    /// [`Event::take_ack`]. An acknowledgement dropped unanswered sends
    /// nothing. By default events are ignored.
    fn on_event(&mut self, socket: &Socket, event: Event) -> impl Future<Output = ()> + Send {
        let _ = (socket, event);
        async {}
    }

    /// Called exactly once when an opened socket ends, whatever the cause
    /// (see [`DisconnectReason`]). Sends from here fail with
    /// [`SendError::Closed`](crate::SendError::Closed).
    fn on_close(
        &mut self,
        socket: &Socket,
        reason: DisconnectReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (socket, reason);
        async {}
    }
}

/// The application declined a connection in [`Connection::on_open`] or a
/// connect middleware.
///
/// Current clients see the message (and data) in their `connect_error`
/// event; a 0.6 client gets `403`; a protocol-1 client's endpoint gets
/// `connect_failed` (its protocol carries no message).
///
/// ```
/// use tornadio::Refused;
///
/// let refused = Refused::because("bad token").with_data(serde_json::json!({"retry": false}));
/// assert_eq!(refused.message(), Some("bad token"));
/// assert_eq!(Refused::new().message(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Refused {
    message: Option<String>,
    data: Option<Value>,
}

impl Refused {
    /// A refusal without a reason (clients see `"Not authorized"`).
    pub fn new() -> Refused {
        Refused::default()
    }

    /// A refusal whose message the client sees.
    pub fn because(message: impl Into<String>) -> Refused {
        Refused {
            message: Some(message.into()),
            data: None,
        }
    }

    /// Adds data for the client (`err.data` in socket.io-client 4).
    pub fn with_data(mut self, data: Value) -> Refused {
        self.data = Some(data);
        self
    }

    /// The message, if one was given.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The data, if any was given.
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }

    /// What clients are told.
    pub(crate) fn text(&self) -> &str {
        self.message.as_deref().unwrap_or("Not authorized")
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection refused: {}", self.text())
    }
}

impl std::error::Error for Refused {}

/// Why a socket ended, as node's socket.io reports it (`Display` gives
/// node's string, e.g. `ping timeout`).
///
/// ```
/// use tornadio::DisconnectReason;
///
/// assert_eq!(DisconnectReason::PingTimeout.to_string(), "ping timeout");
/// assert_eq!(DisconnectReason::ClientNamespaceDisconnect.as_str(), "client namespace disconnect");
/// ```
///
/// The 0.6 generation's endings map onto these: a missed heartbeat echo or an
/// expired polling session is [`PingTimeout`](Self::PingTimeout), a closed
/// transport [`TransportClose`](Self::TransportClose), malformed framing
/// [`ParseError`](Self::ParseError), [`Socket::close`](crate::Socket::close)
/// [`ServerNamespaceDisconnect`](Self::ServerNamespaceDisconnect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed its connection (or sent a close packet), or its
    /// network dropped it.
    TransportClose,
    /// The connection failed: an aborted poll, a broken WebSocket.
    TransportError,
    /// The client stopped answering heartbeats, or stopped polling.
    PingTimeout,
    /// The client sent something that is not the protocol.
    ParseError,
    /// The server disconnected the socket ([`Socket::disconnect`]).
    ServerNamespaceDisconnect,
    /// The client left the namespace.
    ClientNamespaceDisconnect,
    /// The server closed the client's whole connection.
    ForcedClose,
    /// The client joined no namespace within the connect timeout.
    ForcedServerClose,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The client did not read what it was sent; its queue filled up.
    SlowClient,
    /// A callback of the application panicked.
    HandlerPanicked,
}

impl DisconnectReason {
    /// Node's name for the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::SlowClient => "slow client",
            DisconnectReason::HandlerPanicked => "handler panicked",
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The generation of Socket.IO a client speaks.
///
/// ```
/// # use tornadio::{OpenInfo, Protocol};
/// fn greeting(info: &OpenInfo) -> &'static str {
///     match info.protocol() {
///         Protocol::SocketIo06 => "hello from 2011",
///         p if p.has_auth() => "hello, you may send auth",
///         _ => "hello",
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// Socket.IO 0.6 (2011): messages only, one namespace.
    SocketIo06,
    /// socket.io 0.7–0.9, "protocol 1": messages, events, acks, endpoints.
    SocketIo09,
    /// Socket.IO protocol 4 over Engine.IO 3: socket.io-client 1.x and 2.x.
    SocketIo2,
    /// Socket.IO protocol 5 over Engine.IO 4: socket.io-client 3.x and 4.x.
    SocketIo4,
}

impl Protocol {
    /// Whether the client can send events (all but 0.6).
    pub fn has_events(self) -> bool {
        self != Protocol::SocketIo06
    }

    /// Whether the client sends an `auth` payload when it connects (v5).
    pub fn has_auth(self) -> bool {
        self == Protocol::SocketIo4
    }

    /// Whether the client takes binary arguments (the Engine.IO generations).
    pub fn has_binary(self) -> bool {
        matches!(self, Protocol::SocketIo2 | Protocol::SocketIo4)
    }
}

/// What the request that opened a client's connection carried. Shared by
/// every namespace the client connects.
#[derive(Debug, Clone)]
pub(crate) struct Handshake {
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) transport: Transport,
    pub(crate) issued: SystemTime,
}

impl Handshake {
    /// What `request` carried, in memory of its own: hyper's header values
    /// and URI are slices of the connection's read buffer, and keeping them
    /// would keep that whole buffer (8 KiB) alive as long as the session.
    pub(crate) fn new(request: &http::request::Parts, transport: Transport) -> Handshake {
        let mut headers = HeaderMap::with_capacity(request.headers.len());
        for (name, value) in &request.headers {
            if let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes()) {
                headers.append(name.clone(), value);
            }
        }
        let uri =
            Uri::from_maybe_shared(bytes::Bytes::from(request.uri.to_string())).unwrap_or_default();
        Handshake {
            uri,
            headers,
            peer_addr: crate::context::peer_addr(request),
            transport,
            issued: SystemTime::now(),
        }
    }
}

/// What a connecting socket's client sent, for [`Connection::on_open`].
///
/// ```
/// use tornadio::{Connection, Message, OpenInfo, Refused, Socket};
///
/// struct Guarded;
///
/// impl Connection for Guarded {
///     async fn on_open(&mut self, _socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
///         let token = info
///             .auth()
///             .and_then(|auth| auth.get("token"))
///             .and_then(|t| t.as_str())
///             .map(str::to_owned)
///             .or_else(|| info.query_param("token"));
///         match token {
///             Some(t) if t == "secret" => Ok(()),
///             _ => Err(Refused::because("unauthorized")),
///         }
///     }
///
///     async fn on_message(&mut self, _: &Socket, _: Message) {}
/// }
/// ```
#[derive(Debug, Clone)]
pub struct OpenInfo {
    pub(crate) handshake: Arc<Handshake>,
    pub(crate) extra: Option<String>,
    pub(crate) namespace: Arc<str>,
    pub(crate) auth: Option<Value>,
    pub(crate) protocol: Protocol,
}

impl OpenInfo {
    /// The part of the URL matched by the router's `extra_re`, if set (0.6
    /// clients; `None` for the others). With `resource("chat").extra_re(r"\d+").extra_sep("/")`,
    /// a client at `/chat/123/websocket` gives `Some("123")`.
    pub fn extra(&self) -> Option<&str> {
        self.extra.as_deref()
    }

    /// The headers of the request that opened the connection (cookies,
    /// user agent, origin...).
    pub fn headers(&self) -> &HeaderMap {
        &self.handshake.headers
    }

    /// The query string of that request, without `?`. For current clients
    /// it holds their `query` option beside `EIO`, `transport` and `t`; for
    /// protocol-1 clients it is their handshake's: their `query` option
    /// (`io.connect('http://h/?x=1')`), then `t`.
    pub fn query(&self) -> Option<&str> {
        self.handshake.uri.query()
    }

    /// The value of one query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        crate::query::param(self.handshake.uri.query()?, name)
    }

    /// The URI of that request.
    pub fn uri(&self) -> &Uri {
        &self.handshake.uri
    }

    /// The client's address, when the server knows it (always under
    /// [`SocketServer`](crate::SocketServer); under axum, when served
    /// `into_make_service_with_connect_info::<SocketAddr>()`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.handshake.peer_addr
    }

    /// The transport the client opened its connection with (protocol 1:
    /// the first that carried its session).
    pub fn transport(&self) -> Transport {
        self.handshake.transport
    }

    /// The namespace being connected: `/` for 0.6 clients and for the
    /// default namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The `auth` payload of a socket.io-client 3+ connection (`{}`-less
    /// clients send none). A socket.io-client 2 connection to a namespace
    /// with a query (`/admin?token=1`) gets it here as an object, and so
    /// does a protocol-1 endpoint's query (`1::/admin?token=1`).
    pub fn auth(&self) -> Option<&Value> {
        self.auth.as_ref()
    }

    /// The generation of the client's protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
}
