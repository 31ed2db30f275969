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
use crate::legacy::{Core, Route};

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
        Transport::XhrPolling | Transport::Polling => &polling::Polling::Xhr,
        Transport::JsonpPolling => &polling::Polling::Jsonp,
        Transport::HtmlFile => &streaming::Streaming::HtmlFile,
        Transport::XhrMultipart => &streaming::Streaming::Multipart,
    }
}

/// A payload as a JavaScript string literal safe inside `<script>`.
pub(crate) fn js_string(payload: &str) -> String {
    crate::js::string_literal(payload)
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
