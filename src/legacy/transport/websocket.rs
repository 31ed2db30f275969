//! websocket and flashsocket: RFC 6455 over the HTTP connection, one text
//! message per payload each way.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};

use super::Carrier;
use crate::DisconnectReason;
use crate::error::Reject;
use crate::legacy::session::Session;
use crate::legacy::{Core, Route};
use crate::protocol::legacy;
use crate::ws;

/// How long a closing session's last output and close frame may take to go
/// out: a client that does not read must not hold its connection open.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

pub(crate) struct WebSocket;

impl Carrier for WebSocket {
    fn serve<'a>(
        &'a self,
        core: &'a Core,
        request: Request<Body>,
        route: Route<'a>,
    ) -> BoxFuture<'a, Result<Response<Body>, Reject>> {
        Box::pin(async move {
            if request.method() != Method::GET {
                return Err(Reject::Method);
            }
            let key = crate::ws::handshake_key(request.headers())
                .map_err(|problem| Reject::BadRequest(problem.into()))?;
            let (mut parts, _) = request.into_parts();
            let upgrade = parts
                .extensions
                .remove::<hyper::upgrade::OnUpgrade>()
                .ok_or_else(|| Reject::BadRequest("this connection cannot be upgraded".into()))?;
            let session = core
                .open(route.transport, &parts, route.extra.clone())
                .await?;
            let max = core.settings.max_message_size;
            // Tracked by the server, so that shutdown waits for the close
            // frame to go out.
            crate::context::spawn(crate::context::of(&parts), async move {
                if let Some(ws) = crate::ws::accept(upgrade, max).await {
                    carry(&session, ws).await;
                }
                session.close(DisconnectReason::TransportClose);
            });
            Ok(crate::ws::accept_response(&key))
        })
    }
}

/// Moves payloads both ways until either side ends.
async fn carry<S>(session: &Arc<Session>, mut ws: ws::Ws<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(_carrying) = session.begin_request() else {
        return;
    };
    // Kept across turns and renewed only once it yielded: this loop runs
    // per message, and the wait is cheaper to keep than to rebuild.
    let outgoing = session.outbox.next();
    tokio::pin!(outgoing);
    loop {
        tokio::select! {
            incoming = ws.next() => {
                if !receive(session, incoming).await {
                    break;
                }
            }
            payload = &mut outgoing => match payload {
                Some(payload) => {
                    outgoing.set(session.outbox.next());
                    // A client that does not read blocks this write; the
                    // session then closes (its queue fills, or its heartbeat
                    // goes unanswered) and must not wait on it.
                    let payload = [ws::Payload::OwnedText(payload)];
                    let sent = tokio::select! {
                        sent = ws.send(&payload) => sent.is_ok(),
                        () = session.closing() => false,
                    };
                    if !sent {
                        break;
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
        // Deliver what the application queued before it closed, if the
        // client takes it promptly. The outbox refuses sends first, so that
        // none is accepted after the last take and lost.
        session.outbox.close();
        let farewell = async {
            if let Some(payload) = session.outbox.take() {
                ws.send(&[ws::Payload::OwnedText(payload)]).await?;
            }
            ws.close(1000).await
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, farewell).await;
    }
}

/// Hands one read from the client to the session; `false` when the
/// connection is done (it ended, or the client broke the protocol).
async fn receive(session: &Session, incoming: Option<Result<ws::Message, ws::Error>>) -> bool {
    let violation = match incoming {
        Some(Ok(ws::Message::Text(text))) => match legacy::decode(text.as_str()) {
            Ok(frames) => return session.deliver(frames).await,
            Err(error) => format!("malformed message: {error}"),
        },
        Some(Ok(ws::Message::Binary(_))) => "binary message on a text protocol".to_owned(),
        Some(Ok(ws::Message::Close(_))) | None => return false,
        Some(Err(ws::Error::Violation(violation))) => violation.to_string(),
        Some(Err(error)) => {
            tracing::debug!(session = %session.id, %error, "websocket ended");
            return false;
        }
    };
    tracing::warn!(session = %session.id, %violation, "closing the session");
    session.close(DisconnectReason::ParseError);
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;

    /// A client that stops reading blocks the server's writes; closing its
    /// session must still end the connection, not leave it waiting forever.
    #[tokio::test]
    async fn a_client_that_does_not_read_cannot_hold_a_closing_session() {
        let (server_side, _client_side) = tokio::io::duplex(64);
        let ws = ws::Ws::new(server_side, 1 << 20);
        let (session, _inbox) = Session::new(Transport::WebSocket, 1 << 20, None);
        let session = Arc::new(session);
        // Far more than the pipe holds: the write blocks.
        session.outbox.push(&"x".repeat(64 * 1024)).unwrap();
        let carrying = tokio::spawn({
            let session = Arc::clone(&session);
            async move { carry(&session, ws).await }
        });
        while session.outbox.queued_len() > 0 {
            tokio::task::yield_now().await;
        }
        session.close(DisconnectReason::SlowClient);
        tokio::time::timeout(CLOSE_GRACE * 5, carrying)
            .await
            .expect("the connection ends although its client never reads")
            .unwrap();
    }
}
