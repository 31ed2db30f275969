//! websocket and flashsocket: RFC 6455 over the HTTP connection, one
//! packet per text message each way (never batched).
//!
//! ```text
//! GET /{resource}/1/{websocket|flashsocket}/{sid}?{query}
//! ```

use std::sync::Arc;
use std::time::Duration;

use crate::ws::{self, Payload, Text as Utf8Bytes};
use axum::body::Body;
use http::{Request, Response};

use super::UNKNOWN_SESSION;
use crate::error::Reject;
use crate::proto1::Core;
use crate::proto1::session::{CarryGuard, Session};
use crate::protocol::proto1::{decode_packet, decode_payload};
use crate::{DisconnectReason, Transport};

/// How long a closing session's last output and close frame may take to
/// go out: a client that does not read must not hold its connection open.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Answers the upgrade, then carries the session on its own task.
pub(super) async fn serve(
    core: &Core,
    request: Request<Body>,
    transport: Transport,
    sid: &str,
) -> Result<Response<Body>, Reject> {
    let key = crate::ws::handshake_key(request.headers())
        .map_err(|problem| Reject::BadRequest(problem.into()))?;
    let (mut parts, _) = request.into_parts();
    let upgrade = parts
        .extensions
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or_else(|| Reject::BadRequest("this connection cannot be upgraded".into()))?;
    let context = crate::context::of(&parts);
    let max = core.settings.max_message_size;
    let session = core.registry.get(sid).filter(|s| !s.is_closing());
    let Some(session) = session else {
        // As 0.9.17: the client reads why, then the connection closes.
        crate::context::spawn(context.as_ref(), async move {
            if let Some(mut ws) = crate::ws::accept(upgrade, max).await {
                let goodbye = async {
                    ws.send(&[Payload::Text(Utf8Bytes::from_static(UNKNOWN_SESSION))])
                        .await?;
                    ws.close(1000).await
                };
                let _ = tokio::time::timeout(CLOSE_GRACE, goodbye).await;
            }
        });
        return Ok(crate::ws::accept_response(&key));
    };
    let Some(carrying) = session.carry(transport).await else {
        tracing::warn!(session = %sid, "second transport for a session refused");
        return Err(Reject::Busy);
    };
    // Tracked by the server, so that shutdown waits for the close frame.
    crate::context::spawn(context.as_ref(), async move {
        if let Some(ws) = crate::ws::accept(upgrade, max).await {
            carry(&session, ws, carrying).await;
        }
        session.close(DisconnectReason::TransportClose);
    });
    Ok(crate::ws::accept_response(&key))
}

/// Moves packets both ways until either side ends.
async fn carry<S>(session: &Arc<Session>, mut ws: ws::Ws<S>, _carrying: CarryGuard)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    // Kept across turns and renewed only once it yielded.
    let outgoing = session.outbox.next();
    tokio::pin!(outgoing);
    loop {
        tokio::select! {
            incoming = ws.next() => {
                if !receive(session, incoming).await {
                    break;
                }
            }
            packets = &mut outgoing => match packets {
                Some(packets) => {
                    outgoing.set(session.outbox.next());
                    if !send(session, &mut ws, packets).await {
                        return;
                    }
                }
                None => {
                    let _ = tokio::time::timeout(CLOSE_GRACE, ws.close(1000)).await;
                    return;
                }
            },
        }
    }
    if session.is_closing() {
        // What the actor still sends (its farewell) goes out if the client
        // takes it promptly.
        let farewell = async {
            while let Some(packets) = session.outbox.next().await {
                let payloads: Vec<Payload> = packets.into_iter().map(Payload::Text).collect();
                ws.send(&payloads).await?;
            }
            ws.close(1000).await
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, farewell).await;
    }
}

/// Writes packets, one message each. A client that does not read blocks
/// this write; once the session closes it gets a grace, not forever.
async fn send<S>(session: &Session, ws: &mut ws::Ws<S>, packets: Vec<Utf8Bytes>) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let payloads: Vec<Payload> = packets.into_iter().map(Payload::Text).collect();
    let write = ws.send(&payloads);
    let give_up = async {
        session.closing().await;
        tokio::time::sleep(CLOSE_GRACE).await;
    };
    tokio::select! {
        written = write => written.is_ok(),
        () = give_up => false,
    }
}

/// Hands one read from the client to the session; `false` when the
/// connection is done (it ended, or the client broke the protocol).
async fn receive(session: &Session, incoming: Option<Result<ws::Message, ws::Error>>) -> bool {
    let violation = match incoming {
        Some(Ok(ws::Message::Text(text))) => match decode(text.as_str()) {
            Ok(packets) => return session.deliver(packets).await,
            Err(problem) => problem,
        },
        Some(Ok(ws::Message::Binary(_))) => "binary message on a text protocol".to_owned(),
        // Closed, or gone without a close frame: its network dropped it.
        Some(Ok(ws::Message::Close(_))) | None => return false,
        Some(Err(ws::Error::Violation(violation))) => violation.to_string(),
        Some(Err(error)) => {
            tracing::debug!(session = %session.id, %error, "websocket failed");
            session.close(DisconnectReason::TransportError);
            return false;
        }
    };
    tracing::warn!(session = %session.id, %violation, "closing the session");
    session.close(DisconnectReason::ParseError);
    false
}

/// The packets of one message: one, as the clients send them (a framed
/// payload is read too).
fn decode(text: &str) -> Result<Vec<crate::protocol::proto1::Packet>, String> {
    decode_payload(text)
        .map_err(|e| format!("malformed message: {e}"))?
        .into_iter()
        .map(|packet| decode_packet(packet).map_err(|e| format!("malformed packet: {e}")))
        .collect()
}
