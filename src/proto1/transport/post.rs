//! The POSTs of the HTTP transports: the client's packets, one bare or
//! several framed. xhr-polling and htmlfile post the payload as the body
//! (`text/plain`); jsonp-polling posts a form whose field `d` holds it as
//! a JSON string.
//!
//! ```text
//! POST /{resource}/1/{xhr-polling|htmlfile|jsonp-polling}/{sid}?t=..
//! ```

use std::time::Duration;

use axum::body::Body;
use http::{Request, Response, header};
use http_body_util::{BodyExt, Limited};

use super::text_response;
use crate::error::Reject;
use crate::proto1::Core;
use crate::protocol::proto1::{Packet, decode_packet, decode_payload};
use crate::{DisconnectReason, Transport};

/// How long a client may take to send a POST body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What every POST gets that was taken (0.9.17's answer).
fn accepted() -> Response<Body> {
    text_response("text/plain; charset=UTF-8", "1")
}

/// Delivers the packets of a POST to session `sid`.
pub(super) async fn receive(
    core: &Core,
    request: Request<Body>,
    transport: Transport,
    sid: &str,
) -> Result<Response<Body>, Reject> {
    // As 0.9.17: a POST to a session that is gone is answered, and the
    // client learns of it from its next GET.
    let Some(session) = core.registry.get(sid).filter(|s| !s.is_closing()) else {
        return Ok(accepted());
    };
    let body = read_body(request, core.settings.max_body_size).await?;
    let packets = decode(transport, &body).map_err(|problem| {
        tracing::warn!(session = %sid, %problem, "malformed POST; closing the session");
        session.close(DisconnectReason::ParseError);
        Reject::BadRequest(problem)
    })?;
    session.deliver(packets).await;
    Ok(accepted())
}

/// Reads a body of at most `limit` bytes: `413` past it, announced or not.
async fn read_body(request: Request<Body>, limit: usize) -> Result<bytes::Bytes, Reject> {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit as u64) {
        return Err(Reject::TooLarge);
    }
    let collected = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(request.into_body(), limit).collect(),
    )
    .await
    .map_err(|_| Reject::BadRequest("request body too slow".into()))?;
    match collected {
        Ok(body) => Ok(body.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Reject::TooLarge),
        Err(_) => Err(Reject::BadRequest("request body cut short".into())),
    }
}

/// The packets of a POST body.
fn decode(transport: Transport, body: &[u8]) -> Result<Vec<Packet>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_owned())?;
    let unwrapped;
    let payload = if transport == Transport::JsonpPolling {
        unwrapped = jsonp_data(text)?;
        unwrapped.as_str()
    } else {
        text
    };
    decode_payload(payload)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|packet| decode_packet(packet).map_err(|e| format!("{e}: {packet:.64?}")))
        .collect()
}

/// The payload in a jsonp-polling form: field `d`, a JSON string (the
/// client stringifies the payload so that a form cannot turn its `\n`
/// into `\r\n`).
fn jsonp_data(form: &str) -> Result<String, String> {
    let field = crate::query::param(form, "d").ok_or("form field `d` is missing")?;
    serde_json::from_str(&field).map_err(|_| "form field `d` is not a JSON string".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_xhr_bodies_and_jsonp_forms() {
        let packets = decode(
            Transport::XhrPolling,
            "\u{fffd}3\u{fffd}2::\u{fffd}7\u{fffd}3:::a:b".as_bytes(),
        )
        .unwrap();
        assert_eq!(packets.len(), 2);
        assert_eq!(packets[0], Packet::Heartbeat);
        let form = "d=%223%3A%3A%3Ahello+world%5Cn%22";
        let packets = decode(Transport::JsonpPolling, form.as_bytes()).unwrap();
        assert_eq!(
            packets,
            [Packet::Message {
                id: None,
                endpoint: String::new(),
                data: "hello world\n".into()
            }]
        );
        for bad in [&b"d=3%3A%3A%3Ahi"[..], b"x=1", b"\xff"] {
            assert!(decode(Transport::JsonpPolling, bad).is_err());
        }
        assert!(decode(Transport::XhrPolling, "\u{fffd}9\u{fffd}2::".as_bytes()).is_err());
        assert!(decode(Transport::XhrPolling, b"9::").is_err());
    }
}
