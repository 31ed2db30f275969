//! xhr-polling and jsonp-polling GETs: one long poll at a time takes
//! everything queued, as one payload (`\u{fffd}LEN\u{fffd}` framed when
//! there are several packets), or a noop `8::` after the polling duration.
//!
//! ```text
//! xhr-polling    GET /{resource}/1/xhr-polling/{sid}?t=..         text
//! jsonp-polling  GET /{resource}/1/jsonp-polling/{sid}?t=..&i=N   io.j[N]("...");
//! ```

use axum::body::Body;
use http::{Request, Response};

use super::{UNKNOWN_SESSION, jsonp, jsonp_index, text_response};
use crate::Transport;
use crate::error::Reject;
use crate::proto1::Core;
use crate::protocol::proto1::encode_payload;

/// What a poll's answer looks like.
#[derive(Debug, Clone, Copy)]
pub(super) enum Envelope {
    Text,
    Jsonp(u32),
}

impl Envelope {
    pub(super) fn of(transport: Transport, query: &str) -> Result<Envelope, Reject> {
        match transport {
            Transport::JsonpPolling => Ok(Envelope::Jsonp(jsonp_index(query, "i")?.unwrap_or(0))),
            _ => Ok(Envelope::Text),
        }
    }

    pub(super) fn wrap(self, payload: String) -> Response<Body> {
        match self {
            Envelope::Text => text_response("text/plain; charset=UTF-8", payload),
            Envelope::Jsonp(index) => jsonp(index, &crate::js::string_literal(&payload)),
        }
    }
}

/// A polling GET: waits for output, at most the polling duration.
pub(super) async fn get(
    core: &Core,
    request: Request<Body>,
    transport: Transport,
    sid: &str,
) -> Result<Response<Body>, Reject> {
    // Decided before anything is taken: once output is taken, answering
    // it must not fail.
    let envelope = Envelope::of(transport, request.uri().query().unwrap_or(""))?;
    let Some(session) = core.registry.get(sid) else {
        return Ok(envelope.wrap(UNKNOWN_SESSION.to_owned()));
    };
    let Some(_carrying) = session.carry(transport).await else {
        tracing::warn!(session = %sid, "second concurrent poll refused");
        return Err(Reject::Busy);
    };
    // Nothing is taken unless it is answered at once: a GET dropped while
    // it waits (its client went away) leaves the output for the next one.
    let packets = tokio::select! {
        packets = session.outbox.next() => packets,
        () = tokio::time::sleep(core.settings.proto1_polling_duration) => Some(Vec::new()),
    };
    let payload = match packets {
        Some(packets) if packets.is_empty() => "8::".to_owned(),
        Some(packets) => encode_payload(&packets),
        // The session ended and nothing is left for the client.
        None => UNKNOWN_SESSION.to_owned(),
    };
    Ok(envelope.wrap(payload))
}
