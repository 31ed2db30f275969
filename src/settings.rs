//! Per-router settings and the transport names.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One of the six Socket.IO 0.6 transports, named as in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTML5 WebSocket (RFC 6455), `/{resource}/websocket`.
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
}

impl Transport {
    /// Every transport, in the order the 0.6 client tries them.
    pub const ALL: [Transport; 6] = [
        Transport::WebSocket,
        Transport::FlashSocket,
        Transport::HtmlFile,
        Transport::XhrMultipart,
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
        }
    }

    /// Whether the transport keeps one connection open, with heartbeats,
    /// rather than polling (whose liveness is judged by
    /// [`Settings::session_expiry`]).
    pub fn is_persistent(self) -> bool {
        !matches!(self, Transport::XhrPolling | Transport::JsonpPolling)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the six transports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport")]
pub struct UnknownTransport;

impl FromStr for Transport {
    type Err = UnknownTransport;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Transport::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or(UnknownTransport)
    }
}

/// How one [`Router`](crate::Router) behaves: TornadIO's settings, plus the
/// limits a server on the open internet needs.
///
/// Build it with struct update syntax:
///
/// ```
/// use std::time::Duration;
/// use tornadio::{Settings, Transport};
///
/// let settings = Settings {
///     enabled_protocols: vec![Transport::WebSocket, Transport::XhrPolling],
///     heartbeat_interval: Duration::from_secs(10),
///     ..Settings::default()
/// };
/// # let _ = settings;
/// ```
#[derive(Debug, Clone)]
pub struct Settings {
    /// Transports this router answers; requests for others get `403`.
    /// Default: all six.
    pub enabled_protocols: Vec<Transport>,
    /// How often a polling session checks whether it expired. Default 15 s.
    pub session_check_interval: Duration,
    /// A polling session with no GET for this long is closed. Default 30 s.
    pub session_expiry: Duration,
    /// Persistent transports (websocket, flashsocket, xhr-multipart,
    /// htmlfile) send a heartbeat `~h~N` after this long without other
    /// outgoing traffic. Default 12 s (the 0.6 client gives up after 15 s of
    /// silence).
    pub heartbeat_interval: Duration,
    /// A client must echo a heartbeat within this time, or its session is
    /// closed. Default 12 s.
    pub heartbeat_timeout: Duration,
    /// An xhr-polling or jsonp-polling GET with nothing to send is answered
    /// empty after this long. Default 20 s (the client's own timeout is 25 s).
    pub xhr_polling_timeout: Duration,
    /// Origins allowed to connect (`scheme://host[:port]`, as in the `Origin`
    /// header; `"*"` allows any). `None` allows any origin. Requests without
    /// an `Origin` header, and same-origin requests (an `Origin` naming the
    /// `Host` the request was sent to), are always allowed; others get `403`
    /// on every transport. Default `None`.
    pub allowed_origins: Option<Vec<String>>,
    /// Largest accepted WebSocket message, in bytes. Default 1 MiB.
    pub max_message_size: usize,
    /// Largest accepted POST body, in bytes; larger bodies get `413`.
    /// Default 1 MiB.
    pub max_body_size: usize,
    /// Largest outgoing queue of one session, in bytes. A client that stops
    /// reading and lets its queue grow past this is disconnected. Default 1 MiB.
    pub max_queued_bytes: usize,
    /// Most sessions this router holds at once; beyond it new sessions get
    /// `503`. Default `None` (no limit).
    pub max_sessions: Option<usize>,
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
        }
    }
}

impl Settings {
    /// The same settings with every clock at 1 ms at least: a zero interval
    /// would make a session's timers spin.
    pub(crate) fn sane(mut self) -> Settings {
        let at_least = |d: &mut Duration| *d = (*d).max(Duration::from_millis(1));
        at_least(&mut self.session_check_interval);
        at_least(&mut self.session_expiry);
        at_least(&mut self.heartbeat_interval);
        at_least(&mut self.heartbeat_timeout);
        at_least(&mut self.xhr_polling_timeout);
        self
    }

    pub(crate) fn is_enabled(&self, transport: Transport) -> bool {
        self.enabled_protocols.contains(&transport)
    }

    pub(crate) fn origin_allowed(&self, origin: &str) -> bool {
        match &self.allowed_origins {
            None => true,
            Some(list) => list.iter().any(|o| o == origin || o == "*"),
        }
    }
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
