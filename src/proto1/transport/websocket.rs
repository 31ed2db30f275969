//! websocket and flashsocket: RFC 6455 over the HTTP connection, one
//! packet per text message each way (never batched).
//!
//! ```text
//! GET /{resource}/1/{websocket|flashsocket}/{sid}?{query}
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_tungstenite::tungstenite::error::ProtocolError;

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
        crate::context::spawn(context, async move {
            if let Some(mut ws) = crate::ws::accept(upgrade, max).await {
                let goodbye = async {
                    ws.send(WsMessage::text(UNKNOWN_SESSION)).await?;
                    ws.close(None).await
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
    crate::context::spawn(context, async move {
        if let Some(ws) = crate::ws::accept(upgrade, max).await {
            carry(&session, ws, carrying).await;
        }
        session.close(DisconnectReason::TransportClose);
    });
    Ok(crate::ws::accept_response(&key))
}

/// Moves packets both ways until either side ends.
async fn carry<S>(session: &Arc<Session>, mut ws: WebSocketStream<S>, _carrying: CarryGuard)
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
                    let _ = tokio::time::timeout(CLOSE_GRACE, ws.close(None)).await;
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
                for packet in packets {
                    ws.feed(WsMessage::Text(packet)).await?;
                }
                ws.flush().await?;
            }
            ws.close(None).await
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, farewell).await;
    }
}

/// Writes packets, one message each. A client that does not read blocks
/// this write; once the session closes it gets a grace, not forever.
async fn send<S>(session: &Session, ws: &mut WebSocketStream<S>, packets: Vec<Utf8Bytes>) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let write = async {
        for packet in packets {
            ws.feed(WsMessage::Text(packet)).await?;
        }
        ws.flush().await
    };
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
async fn receive(session: &Session, incoming: Option<Result<WsMessage, WsError>>) -> bool {
    let violation = match incoming {
        Some(Ok(WsMessage::Text(text))) => match decode(text.as_str()) {
            Ok(packets) => return session.deliver(packets).await,
            Err(problem) => problem,
        },
        Some(Ok(WsMessage::Binary(_))) => "binary message on a text protocol".to_owned(),
        Some(Ok(WsMessage::Close(_))) | None => return false,
        Some(Ok(_)) => return true,
        Some(Err(error)) if crate::ws::is_violation(&error) => {
            format!("websocket protocol violation: {error}")
        }
        // Gone without a close frame: its network dropped it.
        Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => return false,
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
