//! The protocol-1 requests: the handshake, then per session its transport
//! requests (websocket and flashsocket, htmlfile, xhr-polling and
//! jsonp-polling GETs), the POSTs that carry the client's packets, and
//! the client's `?disconnect`.
//!
//! A transport only moves opaque packets: what the client sent, decoded
//! by the codec, goes to the session's actor; what the session's outbox
//! holds goes to the client in the transport's envelope.

mod handshake;
mod htmlfile;
mod polling;
mod post;
mod websocket;

use axum::body::Body;
use http::{HeaderValue, Method, Request, Response, header};

use super::{Core, Route};
use crate::error::Reject;
use crate::{DisconnectReason, Transport};

/// What a request for an unknown (or ended) session gets, in the
/// transport's envelope: error "client not handshaken", advice
/// "reconnect". The client then reconnects with a new handshake.
const UNKNOWN_SESSION: &str = "7:::1+0";

/// Answers one protocol-1 request.
pub(crate) async fn serve(core: &Core, request: Request<Body>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let answer = match core.paths.route(&path) {
        None => Err(Reject::NotFound),
        Some(Route::Handshake) => Ok(handshake::answer(core, request)),
        Some(Route::Session { transport, sid }) => {
            session_request(core, request, transport, sid).await
        }
    };
    answer.unwrap_or_else(Reject::into_response)
}

async fn session_request(
    core: &Core,
    request: Request<Body>,
    transport: &str,
    sid: &str,
) -> Result<Response<Body>, Reject> {
    let query = request.uri().query().unwrap_or("");
    if crate::query::param(query, "disconnect").is_some() {
        return Ok(disconnect(core, sid));
    }
    let transport = match transport {
        "websocket" => Transport::WebSocket,
        "flashsocket" => Transport::FlashSocket,
        "htmlfile" => Transport::HtmlFile,
        "xhr-polling" => Transport::XhrPolling,
        "jsonp-polling" => Transport::JsonpPolling,
        _ => return Err(Reject::NotFound),
    };
    if !core.settings.proto1_transports.contains(&transport) {
        return Err(Reject::Disabled);
    }
    match (transport, request.method().clone()) {
        (Transport::WebSocket | Transport::FlashSocket, Method::GET) => {
            websocket::serve(core, request, transport, sid).await
        }
        (Transport::HtmlFile, Method::GET) => htmlfile::serve(core, sid).await,
        (_, Method::GET) => polling::get(core, request, transport, sid).await,
        (Transport::WebSocket | Transport::FlashSocket, _) => Err(Reject::Method),
        (_, Method::POST) => post::receive(core, request, transport, sid).await,
        _ => Err(Reject::Method),
    }
}

/// The client's `?disconnect` (its page unloads): the session ends, and
/// the answer is `200` whether it was known or not.
fn disconnect(core: &Core, sid: &str) -> Response<Body> {
    if let Some(session) = core.registry.get(sid) {
        tracing::debug!(session = %sid, "the client disconnects");
        session.close(DisconnectReason::TransportClose);
    }
    text_response("text/plain; charset=UTF-8", "")
}

fn text_response(content_type: &'static str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Client text inside: never let a browser sniff it into another type.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `io.j[index](literal);`: a JSONP answer calling the client's callback
/// `index` with `argument` (a JavaScript expression).
fn jsonp(index: u32, argument: &str) -> Response<Body> {
    text_response(
        "text/javascript; charset=UTF-8",
        format!("io.j[{index}]({argument});"),
    )
}

/// A JSONP callback index: digits only (it is written into script), and
/// written back as a plain number. `Ok(None)` when the query has none.
fn jsonp_index(query: &str, name: &str) -> Result<Option<u32>, Reject> {
    let Some(index) = crate::query::param(query, name) else {
        return Ok(None);
    };
    if index.is_empty() || index.len() > 9 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject::BadRequest("the JSONP index must be digits".into()));
    }
    index
        .parse()
        .map(Some)
        .map_err(|_| Reject::BadRequest("the JSONP index must be digits".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonp_indexes_are_digits() {
        assert_eq!(jsonp_index("t=1&i=3", "i").unwrap(), Some(3));
        assert_eq!(jsonp_index("i=007", "i").unwrap(), Some(7));
        assert_eq!(jsonp_index("t=1", "i").unwrap(), None);
        for bad in ["i=", "i=1a", "i=alert(1)", "i=1234567890", "i=-1"] {
            assert!(jsonp_index(bad, "i").is_err(), "{bad}");
        }
    }
}
