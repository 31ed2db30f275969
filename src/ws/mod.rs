//! What every WebSocket transport shares: the RFC 6455 handshake, and the
//! server side of the protocol (frames, streams, shared text).

mod frame;
mod stream;
mod text;

pub(crate) use frame::{Opcode, Violation};
pub(crate) use stream::{Error, Message, Payload, Ws};
pub(crate) use text::Text;

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use hyper_util::rt::TokioIo;

/// An upgraded server-side WebSocket.
pub(crate) type WsStream = Ws<TokioIo<hyper::upgrade::Upgraded>>;

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
        Ok(upgraded) => Some(Ws::new(TokioIo::new(upgraded), max_message)),
        Err(error) => {
            tracing::debug!(%error, "upgrade failed");
            None
        }
    }
}

/// `Sec-WebSocket-Accept` for a key: base64 of SHA-1 of the key and the
/// protocol's GUID (RFC 6455, 4.2.2).
fn derive_accept_key(key: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::{Digest, Sha1};
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

#[cfg(test)]
mod tests {
    #[test]
    fn accept_key_of_the_rfc_example() {
        assert_eq!(
            super::derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
