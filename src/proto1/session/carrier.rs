//! A WebSocket (or flashsocket) carrying a protocol-1 session, read and
//! written by the session's actor itself: a message is read, handled and
//! answered in one task, without a hop to another.
//!
//! One packet per text message each way (a framed payload is read too).

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use smallvec::SmallVec;

use super::{CarryGuard, Session};
use crate::DisconnectReason;
use crate::protocol::proto1::{FRAME_MARK, Packet, decode_packet, decode_payload};
use crate::ws::{self, Payload, Text as Utf8Bytes, WsStream};

/// How long a closing session's last output and close frame may take to
/// go out: a client that does not read must not hold its connection open.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A WebSocket that carries a session, with the mark that it does.
pub(crate) struct Carrier {
    pub(crate) ws: WsStream,
    /// Held, not read: the session counts as carried while it lives.
    pub(crate) _carrying: CarryGuard,
}

impl std::fmt::Debug for Carrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Carrier").finish_non_exhaustive()
    }
}

/// The packets of one message: one, as the clients send them.
pub(super) type Packets = SmallVec<[Packet; 1]>;

/// The packets of the next message; pending forever without a carrier.
pub(super) async fn next_packets(
    carrier: &mut Option<Box<Carrier>>,
) -> Result<Packets, DisconnectReason> {
    let Some(carrier) = carrier else {
        return std::future::pending().await;
    };
    let violation = match carrier.ws.next().await {
        Some(Ok(ws::Message::Text(text))) => match decode(&text) {
            Ok(packets) => return Ok(packets),
            Err(problem) => problem,
        },
        Some(Ok(ws::Message::Binary(_))) => "binary message on a text protocol".to_owned(),
        // Closed, or gone without a close frame: its network dropped it.
        Some(Ok(ws::Message::Close(_))) | None => return Err(DisconnectReason::TransportClose),
        Some(Err(ws::Error::Violation(violation))) => violation.to_string(),
        Some(Err(error)) => {
            tracing::debug!(%error, "websocket failed");
            return Err(DisconnectReason::TransportError);
        }
    };
    tracing::warn!(%violation, "closing the session");
    Err(DisconnectReason::ParseError)
}

/// The packets of one message: one, as the clients send them (a framed
/// payload is read too).
fn decode(text: &str) -> Result<Packets, String> {
    let packet = |packet| decode_packet(packet).map_err(|e| format!("malformed packet: {e}"));
    if !text.is_empty() && !text.starts_with(FRAME_MARK) {
        return Ok(smallvec::smallvec![packet(text)?]);
    }
    decode_payload(text)
        .map_err(|e| format!("malformed message: {e}"))?
        .into_iter()
        .map(packet)
        .collect()
}

/// Writes packets, one message each; `Err` says why the session must end.
///
/// A client that does not read blocks the write: it is given up after
/// `stall` (the client cannot be answering heartbeats in time either), or
/// a grace after the session is asked to close.
pub(super) async fn write(
    session: &Session,
    ws: &mut WsStream,
    packets: Vec<Utf8Bytes>,
    stall: Duration,
) -> Result<(), DisconnectReason> {
    let payloads: Vec<Payload> = packets.into_iter().map(Payload::Text).collect();
    let write = ws.send(&payloads);
    tokio::pin!(write);
    // Nearly every write completes at once: only one that does not needs
    // the clocks (a timer set per message would cost more than the write).
    let first = poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
    let written = match first {
        Poll::Ready(written) => written,
        Poll::Pending => {
            // Boxed: rare, and inline it would size every actor's state.
            let give_up = Box::pin(async {
                tokio::select! {
                    () = async {
                        session.closing().await;
                        tokio::time::sleep(CLOSE_GRACE).await;
                    } => session.close_reason(),
                    () = tokio::time::sleep(stall) => {
                        tracing::debug!("the client does not read");
                        DisconnectReason::PingTimeout
                    }
                }
            });
            tokio::select! {
                written = write => written,
                reason = give_up => return Err(reason),
            }
        }
    };
    written.map_err(|error| {
        tracing::debug!(%error, "websocket write failed");
        DisconnectReason::TransportError
    })
}

/// After the session ended: what it still queued (its farewell) goes out
/// if the client takes it promptly, then the close frame. A client that
/// went away gets nothing.
pub(crate) async fn farewell(
    session: &Session,
    mut carrier: Box<Carrier>,
    reason: DisconnectReason,
) {
    if matches!(
        reason,
        DisconnectReason::TransportClose | DisconnectReason::TransportError
    ) {
        return;
    }
    let ws = &mut carrier.ws;
    let goodbye = async {
        while let Some(packets) = session.outbox.next().await {
            let payloads: Vec<Payload> = packets.into_iter().map(Payload::Text).collect();
            ws.send(&payloads).await?;
        }
        ws.close(1000).await
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, goodbye).await;
}
