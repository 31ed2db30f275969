//! The six transports, behind one small trait.
//!
//! A transport only moves opaque payloads: it hands what the client sent
//! to the session (decoded by the protocol codec) and carries what the
//! session's outbox holds to the client, in its own envelope.

mod polling;
mod post;
mod streaming;
mod websocket;

use axum::body::Body;
use futures_util::future::BoxFuture;
use http::{Request, Response};

use crate::Transport;
use crate::error::Reject;
use crate::router::{Core, Route};

/// How one transport answers the requests addressed to it.
pub(crate) trait Carrier: Sync {
    /// Answers one request: opening a session, carrying output, or taking
    /// input, as the method and route say.
    fn serve<'a>(
        &'a self,
        core: &'a Core,
        request: Request<Body>,
        route: Route<'a>,
    ) -> BoxFuture<'a, Result<Response<Body>, Reject>>;
}

/// The carrier for a transport.
pub(crate) fn carrier(transport: Transport) -> &'static dyn Carrier {
    match transport {
        Transport::WebSocket | Transport::FlashSocket => &websocket::WebSocket,
        Transport::XhrPolling => &polling::Polling::Xhr,
        Transport::JsonpPolling => &polling::Polling::Jsonp,
        Transport::HtmlFile => &streaming::Streaming::HtmlFile,
        Transport::XhrMultipart => &streaming::Streaming::Multipart,
    }
}

/// A payload as a JavaScript string literal that is safe inside an HTML
/// `<script>` element: it cannot end the element (`</script>`), open a
/// comment, or break the string (U+2028, U+2029).
pub(crate) fn js_string(payload: &str) -> String {
    let json = serde_json::Value::from(payload).to_string();
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

fn text_response(content_type: &'static str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    // Client text inside: never let a browser sniff it into another type.
    response.headers_mut().insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_strings_cannot_escape_their_script() {
        assert_eq!(js_string("a\"b"), r#""a\"b""#);
        let hostile = js_string("</script><script>alert(1)</script>\u{2028}\u{2029}<!--");
        assert!(!hostile.contains('<'));
        assert!(!hostile.contains('\u{2028}'));
        assert!(!hostile.contains('\u{2029}'));
        let back: String = serde_json::from_str(&hostile).unwrap();
        assert_eq!(
            back,
            "</script><script>alert(1)</script>\u{2028}\u{2029}<!--"
        );
    }
}
