//! websocket and flashsocket: RFC 6455 over the HTTP connection, one
//! packet per text message each way (never batched). Once upgraded, the
//! socket is the session actor's to read and write
//! (`proto1::session::carrier`).
//!
//! ```text
//! GET /{resource}/1/{websocket|flashsocket}/{sid}?{query}
//! ```

use crate::ws::{Payload, Text as Utf8Bytes};
use axum::body::Body;
use http::{Request, Response};

use super::UNKNOWN_SESSION;
use crate::error::Reject;
use crate::proto1::Core;
use crate::proto1::session::carrier::{self, CLOSE_GRACE, Carrier};
use crate::{DisconnectReason, Transport};

/// Answers the upgrade, then hands the socket to the session's actor.
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
        let Some(ws) = crate::ws::accept(upgrade, max).await else {
            session.close(DisconnectReason::TransportClose);
            return;
        };
        // From here on the session's actor reads and writes the socket.
        if let Err(carrier) = session
            .hand_over(Carrier {
                ws,
                _carrying: carrying,
            })
            .await
        {
            // It ended meanwhile: its farewell still goes out.
            let reason = session.close_reason();
            carrier::farewell(&session, carrier, reason).await;
        }
    });
    Ok(crate::ws::accept_response(&key))
}
