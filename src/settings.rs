//! Per-router settings and the transport names.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A transport, named as in the URL: the six of Socket.IO 0.6 (which
/// protocol-1 clients share, bar xhr-multipart) and Engine.IO's polling
/// (Engine.IO's `websocket` is [`Transport::WebSocket`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// HTML5 WebSocket (RFC 6455): `/{resource}/websocket` for 0.6 clients,
    /// `?transport=websocket` for Engine.IO clients.
    WebSocket,
    /// The Flash WebSocket emulation, `/{resource}/flashsocket`; the client
    /// first fetches the Flash policy (see [`SocketServer`](crate::SocketServer)).
    FlashSocket,
    /// A long multipart GET streaming payloads, POSTs to send.
    XhrMultipart,
    /// Long-polling GETs, POSTs to send.
    XhrPolling,
    /// Long polling through `<script>` tags (JSONP), form POSTs to send.
    JsonpPolling,
    /// A never-ending `text/html` response read by IE's htmlfile object.
    HtmlFile,
    /// Engine.IO's HTTP long-polling (`?transport=polling`), XHR or JSONP.
    Polling,
}

impl Transport {
    /// The six transports of Socket.IO 0.6, in the order its client tries them.
    pub const ALL: [Transport; 6] = [
        Transport::WebSocket,
        Transport::FlashSocket,
        Transport::HtmlFile,
        Transport::XhrMultipart,
        Transport::XhrPolling,
        Transport::JsonpPolling,
    ];

    /// The transports socket.io 0.9.17 enables by default for protocol-1
    /// clients (flashsocket stays off).
    pub const PROTO1: [Transport; 4] = [
        Transport::WebSocket,
        Transport::HtmlFile,
        Transport::XhrPolling,
        Transport::JsonpPolling,
    ];

    /// Every protocol-1 transport, in the order its client tries them.
    pub(crate) const PROTO1_ORDER: [Transport; 5] = [
        Transport::WebSocket,
        Transport::FlashSocket,
        Transport::HtmlFile,
        Transport::XhrPolling,
        Transport::JsonpPolling,
    ];

    /// The name used in URLs and by the client's `transports` option.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::FlashSocket => "flashsocket",
            Transport::XhrMultipart => "xhr-multipart",
            Transport::XhrPolling => "xhr-polling",
            Transport::JsonpPolling => "jsonp-polling",
            Transport::HtmlFile => "htmlfile",
            Transport::Polling => "polling",
        }
    }

    /// Whether the transport is a WebSocket (the browser's or Flash's).
    pub(crate) fn is_websocket(self) -> bool {
        matches!(self, Transport::WebSocket | Transport::FlashSocket)
    }

    /// Whether the transport keeps one connection open, with heartbeats,
    /// rather than polling (whose liveness is judged by
    /// [`Settings::session_expiry`] for 0.6 clients).
    pub fn is_persistent(self) -> bool {
        !matches!(
            self,
            Transport::XhrPolling | Transport::JsonpPolling | Transport::Polling
        )
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the transports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport")]
pub struct UnknownTransport;

impl FromStr for Transport {
    type Err = UnknownTransport;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .chain([Transport::Polling])
            .find(|t| t.as_str() == name)
            .ok_or(UnknownTransport)
    }
}

/// How one [`Router`](crate::Router) behaves: TornadIO's settings for 0.6
/// clients, socket.io 0.9's for protocol-1 clients (`proto1_*`), node's for
/// current clients, and the limits a server on the open internet needs.
/// Defaults are TornadIO's, socket.io 0.9.17's and node's.
///
/// Start from the default and change what you need:
///
/// ```
/// use std::time::Duration;
/// use tornadio::{Settings, Transport};
///
/// let settings = Settings::default()
///     .enabled_protocols([Transport::WebSocket, Transport::XhrPolling])
///     .ping_interval(Duration::from_secs(10))
///     .max_payload(100_000);
/// assert_eq!(settings.ping_interval, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// 0.6 transports this router answers; requests for others get `403`.
    /// Default: all six.
    pub enabled_protocols: Vec<Transport>,
    /// How often a 0.6 polling session checks whether it expired. Default 15 s.
    pub session_check_interval: Duration,
    /// A 0.6 polling session with no GET for this long is closed. Default 30 s.
    pub session_expiry: Duration,
    /// 0.6 persistent transports (websocket, flashsocket, xhr-multipart,
    /// htmlfile) send a heartbeat `~h~N` after this long without other
    /// outgoing traffic. Default 12 s (the 0.6 client gives up after 15 s of
    /// silence).
    pub heartbeat_interval: Duration,
    /// A 0.6 client must echo a heartbeat within this time, or its session
    /// is closed. Default 12 s.
    pub heartbeat_timeout: Duration,
    /// A 0.6 xhr-polling or jsonp-polling GET with nothing to send is
    /// answered empty after this long. Default 20 s (the client's own
    /// timeout is 25 s).
    pub xhr_polling_timeout: Duration,
    /// Origins allowed to connect (`scheme://host[:port]`, as in the `Origin`
    /// header; `"*"` allows any). `None` allows any origin, without
    /// credentials. Listed origins (all, with `"*"`) also get
    /// `Access-Control-Allow-Credentials`. Requests without an `Origin`
    /// header, and same-origin requests, are always allowed; others get
    /// `403`. Default `None`.
    pub allowed_origins: Option<Vec<String>>,
    /// Largest accepted 0.6 or protocol-1 WebSocket message, in bytes;
    /// a larger one closes the session. Default 1 MiB.
    pub max_message_size: usize,
    /// Largest accepted 0.6 or protocol-1 POST body, in bytes; larger
    /// bodies get `413`. Default 1 MiB.
    pub max_body_size: usize,
    /// Largest outgoing queue of one client, in bytes. A client that stops
    /// reading and lets its queue grow past this is disconnected. Default 1 MiB.
    pub max_queued_bytes: usize,
    /// Most sessions this router holds at once, per generation; beyond it
    /// new sessions get `503`. Default `None` (no limit).
    pub max_sessions: Option<usize>,
    /// Engine.IO: how often the server pings a v4 client, and how often a
    /// v3 client must ping. Default 25 s (node's `pingInterval`).
    pub ping_interval: Duration,
    /// Engine.IO: how long a ping may go unanswered before the session
    /// closes. Default 20 s (node's `pingTimeout`).
    pub ping_timeout: Duration,
    /// Engine.IO: how long an upgrade from polling to WebSocket may take;
    /// an unfinished upgrade is dropped and polling goes on. Default 10 s
    /// (node's `upgradeTimeout`).
    pub upgrade_timeout: Duration,
    /// Engine.IO: the largest POST body or WebSocket message, in bytes
    /// (node's `maxHttpBufferSize`); a larger POST gets `413`, a larger
    /// WebSocket message closes the session. Default 1,000,000.
    pub max_payload: usize,
    /// Engine.IO transports this router answers: [`Transport::Polling`]
    /// and [`Transport::WebSocket`]. Default both.
    pub engine_transports: Vec<Transport>,
    /// Engine.IO: whether polling clients may upgrade to WebSocket.
    /// Default `true`.
    pub allow_upgrades: bool,
    /// Whether Engine.IO v3 clients (socket.io-client 1.x and 2.x) are
    /// served. Default `true`: every generation is served.
    pub allow_eio3: bool,
    /// Socket.IO: a client that joined no namespace within this time is
    /// disconnected. Default 45 s (node's `connectTimeout`).
    pub connect_timeout: Duration,
    /// Socket.IO: the most binary attachments one packet may announce.
    /// Default 10.
    pub max_attachments: usize,
    /// Socket.IO: the most namespaces one client may join at once (for a
    /// protocol-1 client, endpoints, `""` included); asking for more
    /// closes its connection. Default 100.
    pub max_namespaces_per_client: usize,
    /// Socket.IO: how long [`Socket::emit_with_ack`](crate::Socket::emit_with_ack)
    /// and broadcasts with acks wait by default. Default 10 s.
    pub ack_timeout: Duration,
    /// socket.io 0.7–0.9 ("protocol 1"): the transports this router answers
    /// and announces in the handshake, of [`Transport::WebSocket`],
    /// [`Transport::FlashSocket`], [`Transport::HtmlFile`],
    /// [`Transport::XhrPolling`] and [`Transport::JsonpPolling`]; requests
    /// for others get `403`. Empty turns protocol 1 off (the handshake gets
    /// `403`). Default: websocket, htmlfile, xhr-polling, jsonp-polling, as
    /// socket.io 0.9.17 (flashsocket also needs the client's
    /// `WebSocketMain.swf` served by the application).
    pub proto1_transports: Vec<Transport>,
    /// Protocol 1: on websocket, flashsocket and htmlfile the server sends a
    /// heartbeat `2::` this long after the client answered the last one.
    /// Keep it well below [`proto1_heartbeat_timeout`](Self::proto1_heartbeat_timeout):
    /// the client drops a connection that stays silent that long.
    /// Default 25 s (0.9.17's `heartbeat interval`).
    pub proto1_heartbeat_interval: Duration,
    /// Protocol 1: the heartbeat timeout announced in the handshake (in
    /// whole seconds, at least 1). The client closes a websocket, flashsocket
    /// or htmlfile connection on which nothing arrived for this long; the
    /// server closes a session whose answer to a heartbeat does not come
    /// within it. Default 60 s.
    pub proto1_heartbeat_timeout: Duration,
    /// Protocol 1: the close timeout announced in the handshake (in whole
    /// seconds, at least 1). The server ends a session that no transport
    /// carried for this long (a polling client that stopped polling, a
    /// handshake never followed by a transport); a polling client gives up
    /// when a poll goes unanswered this long. Default 60 s.
    pub proto1_close_timeout: Duration,
    /// Protocol 1: an xhr-polling or jsonp-polling GET with nothing to
    /// carry is answered with a noop `8::` after this long. Keep it below
    /// [`proto1_close_timeout`](Self::proto1_close_timeout). Default 20 s
    /// (0.9.17's `polling duration`).
    pub proto1_polling_duration: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled_protocols: Transport::ALL.to_vec(),
            session_check_interval: Duration::from_secs(15),
            session_expiry: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(12),
            heartbeat_timeout: Duration::from_secs(12),
            xhr_polling_timeout: Duration::from_secs(20),
            allowed_origins: None,
            max_message_size: 1 << 20,
            max_body_size: 1 << 20,
            max_queued_bytes: 1 << 20,
            max_sessions: None,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            upgrade_timeout: Duration::from_secs(10),
            max_payload: 1_000_000,
            engine_transports: vec![Transport::Polling, Transport::WebSocket],
            allow_upgrades: true,
            allow_eio3: true,
            connect_timeout: Duration::from_secs(45),
            max_attachments: 10,
            max_namespaces_per_client: 100,
            ack_timeout: Duration::from_secs(10),
            proto1_transports: Transport::PROTO1.to_vec(),
            proto1_heartbeat_interval: Duration::from_secs(25),
            proto1_heartbeat_timeout: Duration::from_secs(60),
            proto1_close_timeout: Duration::from_secs(60),
            proto1_polling_duration: Duration::from_secs(20),
        }
    }
}

/// Builder methods, one per field.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl Settings {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Settings {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`session_check_interval`](Settings::session_check_interval).
    session_check_interval: Duration;
    /// Sets [`session_expiry`](Settings::session_expiry).
    session_expiry: Duration;
    /// Sets [`heartbeat_interval`](Settings::heartbeat_interval).
    heartbeat_interval: Duration;
    /// Sets [`heartbeat_timeout`](Settings::heartbeat_timeout).
    heartbeat_timeout: Duration;
    /// Sets [`xhr_polling_timeout`](Settings::xhr_polling_timeout).
    xhr_polling_timeout: Duration;
    /// Sets [`max_message_size`](Settings::max_message_size).
    max_message_size: usize;
    /// Sets [`max_body_size`](Settings::max_body_size).
    max_body_size: usize;
    /// Sets [`max_queued_bytes`](Settings::max_queued_bytes).
    max_queued_bytes: usize;
    /// Sets [`max_sessions`](Settings::max_sessions).
    max_sessions: Option<usize>;
    /// Sets [`ping_interval`](Settings::ping_interval).
    ping_interval: Duration;
    /// Sets [`ping_timeout`](Settings::ping_timeout).
    ping_timeout: Duration;
    /// Sets [`upgrade_timeout`](Settings::upgrade_timeout).
    upgrade_timeout: Duration;
    /// Sets [`max_payload`](Settings::max_payload).
    max_payload: usize;
    /// Sets [`allow_upgrades`](Settings::allow_upgrades).
    allow_upgrades: bool;
    /// Sets [`allow_eio3`](Settings::allow_eio3).
    allow_eio3: bool;
    /// Sets [`connect_timeout`](Settings::connect_timeout).
    connect_timeout: Duration;
    /// Sets [`max_attachments`](Settings::max_attachments).
    max_attachments: usize;
    /// Sets [`max_namespaces_per_client`](Settings::max_namespaces_per_client).
    max_namespaces_per_client: usize;
    /// Sets [`ack_timeout`](Settings::ack_timeout).
    ack_timeout: Duration;
    /// Sets [`proto1_heartbeat_interval`](Settings::proto1_heartbeat_interval).
    proto1_heartbeat_interval: Duration;
    /// Sets [`proto1_heartbeat_timeout`](Settings::proto1_heartbeat_timeout).
    proto1_heartbeat_timeout: Duration;
    /// Sets [`proto1_close_timeout`](Settings::proto1_close_timeout).
    proto1_close_timeout: Duration;
    /// Sets [`proto1_polling_duration`](Settings::proto1_polling_duration).
    proto1_polling_duration: Duration;
}

impl Settings {
    /// Sets [`enabled_protocols`](Settings::enabled_protocols).
    pub fn enabled_protocols(
        mut self,
        transports: impl IntoIterator<Item = Transport>,
    ) -> Settings {
        self.enabled_protocols = transports.into_iter().collect();
        self
    }

    /// Sets [`engine_transports`](Settings::engine_transports).
    pub fn engine_transports(
        mut self,
        transports: impl IntoIterator<Item = Transport>,
    ) -> Settings {
        self.engine_transports = transports.into_iter().collect();
        self
    }

    /// Sets [`proto1_transports`](Settings::proto1_transports).
    pub fn proto1_transports(
        mut self,
        transports: impl IntoIterator<Item = Transport>,
    ) -> Settings {
        self.proto1_transports = transports.into_iter().collect();
        self
    }

    /// Sets [`allowed_origins`](Settings::allowed_origins) to a list.
    pub fn allowed_origins<S: Into<String>>(
        mut self,
        origins: impl IntoIterator<Item = S>,
    ) -> Settings {
        self.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Allows any origin: [`allowed_origins`](Settings::allowed_origins)
    /// `None`.
    pub fn any_origin(mut self) -> Settings {
        self.allowed_origins = None;
        self
    }

    /// The same settings with every clock at 1 ms at least: a zero interval
    /// would make a session's timers spin.
    pub(crate) fn sane(mut self) -> Settings {
        let at_least = |d: &mut Duration| *d = (*d).max(Duration::from_millis(1));
        at_least(&mut self.session_check_interval);
        at_least(&mut self.session_expiry);
        at_least(&mut self.heartbeat_interval);
        at_least(&mut self.heartbeat_timeout);
        at_least(&mut self.xhr_polling_timeout);
        at_least(&mut self.ping_interval);
        at_least(&mut self.ping_timeout);
        at_least(&mut self.upgrade_timeout);
        at_least(&mut self.connect_timeout);
        at_least(&mut self.ack_timeout);
        at_least(&mut self.proto1_heartbeat_interval);
        at_least(&mut self.proto1_heartbeat_timeout);
        at_least(&mut self.proto1_close_timeout);
        at_least(&mut self.proto1_polling_duration);
        self
    }

    pub(crate) fn is_enabled(&self, transport: Transport) -> bool {
        self.enabled_protocols.contains(&transport)
    }

    pub(crate) fn engine_transport_enabled(&self, transport: Transport) -> bool {
        self.engine_transports.contains(&transport)
    }

    /// The protocol-1 transports enabled, in the order the client tries them.
    pub(crate) fn proto1_enabled(&self) -> impl Iterator<Item = Transport> + '_ {
        Transport::PROTO1_ORDER
            .into_iter()
            .filter(|t| self.proto1_transports.contains(t))
    }

    /// Whether `origin` is allowed, and whether with credentials.
    pub(crate) fn origin_policy(&self, origin: &str) -> OriginPolicy {
        match &self.allowed_origins {
            None => OriginPolicy::Allowed,
            Some(list) if list.iter().any(|o| o == origin || o == "*") => {
                OriginPolicy::Credentialed
            }
            Some(_) => OriginPolicy::Refused,
        }
    }
}

/// What the settings say of one origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OriginPolicy {
    /// Any origin may connect, without credentials.
    Allowed,
    /// A listed origin: allowed with credentials.
    Credentialed,
    Refused,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Transport::ALL {
            assert_eq!(t.as_str().parse::<Transport>(), Ok(t));
        }
        assert!("WebSocket".parse::<Transport>().is_err());
    }
}
