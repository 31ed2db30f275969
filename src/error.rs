//! Errors, one enum per boundary, and the one place that maps them to HTTP.

use std::io;

use axum::body::Body;
use http::{Response, StatusCode, header};

/// A payload from a 0.6 client that is not valid Socket.IO 0.6 framing.
///
/// Returned by the codec; the server answers `400 Bad Request` on HTTP
/// transports and closes the session on WebSocket ones.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A message did not start with the `~m~` marker.
    #[error("expected `~m~` at byte {offset}")]
    MissingMarker {
        /// Byte offset of the message in the payload.
        offset: usize,
    },
    /// The length field was empty or not a number.
    #[error("missing or invalid length at byte {offset}")]
    BadLength {
        /// Byte offset of the message in the payload.
        offset: usize,
    },
    /// The length field had more digits than any acceptable message.
    #[error("length too large at byte {offset}")]
    LengthTooLarge {
        /// Byte offset of the message in the payload.
        offset: usize,
    },
    /// The length pointed past the end of the payload.
    #[error("message at byte {offset} claims {expected} UTF-16 units, only {available} follow")]
    Truncated {
        /// Byte offset of the message in the payload.
        offset: usize,
        /// The length the message announced.
        expected: usize,
        /// The UTF-16 units actually present.
        available: usize,
    },
    /// The length ended in the middle of a surrogate pair.
    #[error("length of the message at byte {offset} splits a character")]
    SplitCharacter {
        /// Byte offset of the message in the payload.
        offset: usize,
    },
    /// The text after `~j~` was not valid JSON.
    #[error("invalid JSON in the message at byte {offset}: {source}")]
    BadJson {
        /// Byte offset of the message in the payload.
        offset: usize,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// The text after `~h~` was not a heartbeat number.
    #[error("invalid heartbeat in the message at byte {offset}")]
    BadHeartbeat {
        /// Byte offset of the message in the payload.
        offset: usize,
    },
}

/// Why [`Socket::send`](crate::Socket::send) could not queue a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closed; nothing more can be sent to it.
    #[error("the session is closed")]
    Closed,
    /// The client does not read fast enough: its outgoing queue passed
    /// [`Settings::max_queued_bytes`](crate::Settings::max_queued_bytes).
    /// The session has been closed.
    #[error("the client is not reading; its queue is full and the session was closed")]
    QueueFull,
    /// The value could not be serialised to JSON.
    #[error("the value could not be serialised to JSON: {0}")]
    Json(String),
    /// The client's protocol has no such thing: events (other than a
    /// `message` of one argument) to a Socket.IO 0.6 client, acks to a
    /// 0.6 client, binary to a protocol-1 client.
    #[error("the client's protocol cannot carry this")]
    Unsupported,
}

/// Errors of the server runner.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP port could not be bound.
    #[error("could not bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The Flash policy file could not be read.
    #[error("could not read the Flash policy file {path}: {source}")]
    PolicyFile {
        /// The path given.
        path: std::path::PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Another IO failure of the server itself (not of one client).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Why a request to a router was refused. Maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Reject {
    #[error("no such resource or transport")]
    NotFound,
    #[error("transport not enabled")]
    Disabled,
    #[error("origin not allowed")]
    Origin,
    #[error("connection refused by the application")]
    Refused,
    #[error("unknown or closed session")]
    UnknownSession,
    #[error("a request is already waiting on this session")]
    Busy,
    #[error("method not allowed")]
    Method,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    TooLarge,
    #[error("too many sessions")]
    Overloaded,
}

impl Reject {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Reject::NotFound => StatusCode::NOT_FOUND,
            Reject::Disabled | Reject::Origin | Reject::Refused => StatusCode::FORBIDDEN,
            Reject::UnknownSession => StatusCode::NOT_FOUND,
            Reject::Busy => StatusCode::CONFLICT,
            Reject::Method => StatusCode::METHOD_NOT_ALLOWED,
            Reject::BadRequest(_) => StatusCode::BAD_REQUEST,
            Reject::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Reject::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A plain-text response naming the problem.
    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::from(format!("{self}\n")));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        response
    }
}
