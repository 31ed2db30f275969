//! What every WebSocket transport shares: the RFC 6455 handshake, the
//! stream type, and telling a broken client from a closed connection.

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// An upgraded server-side WebSocket.
pub(crate) type WsStream = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Read buffer per connection: small, so that many idle clients stay cheap.
const READ_BUFFER: usize = 4 * 1024;

/// Whether a request asks for a WebSocket upgrade.
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    has_token(headers, header::UPGRADE, "websocket")
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// The `Sec-WebSocket-Key` of a valid RFC 6455 upgrade request, or what
/// is wrong with it.
pub(crate) fn handshake_key(headers: &HeaderMap) -> Result<String, &'static str> {
    if !is_upgrade(headers) || !has_token(headers, header::CONNECTION, "upgrade") {
        return Err("expected a WebSocket upgrade");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err("only WebSocket version 13 is spoken");
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 64)
        .map(str::to_owned)
        .ok_or("missing Sec-WebSocket-Key")
}

/// The `101 Switching Protocols` answer to a handshake with `key`.
pub(crate) fn accept_response(key: &str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    // The accept key is base64: always a valid header value.
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// The stream once hyper hands over the upgraded connection; `None` when
/// the client went away first.
pub(crate) async fn accept(
    upgrade: hyper::upgrade::OnUpgrade,
    max_message: usize,
) -> Option<WsStream> {
    match upgrade.await {
        Ok(upgraded) => {
            let config = WebSocketConfig::default()
                .read_buffer_size(READ_BUFFER)
                .write_buffer_size(0)
                .max_message_size(Some(max_message))
                .max_frame_size(Some(max_message));
            Some(
                WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await,
            )
        }
        Err(error) => {
            tracing::debug!(%error, "upgrade failed");
            None
        }
    }
}

/// Whether a read error is the client breaking the protocol (an oversized
/// message, invalid UTF-8, a malformed frame) rather than the connection
/// ending, with or without a close frame.
pub(crate) fn is_violation(error: &WsError) -> bool {
    match error {
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => false,
        WsError::Capacity(_) | WsError::Utf8(_) | WsError::Protocol(_) => true,
        _ => false,
    }
}

/// Whether a read error is a message over the size limit.
pub(crate) fn is_too_big(error: &WsError) -> bool {
    matches!(error, WsError::Capacity(_))
}
