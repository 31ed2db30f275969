//! The upgrade from polling to WebSocket: a probe socket proves itself
//! (`2probe` → `3probe`), the client drains its polling requests and sends
//! `5`, and the WebSocket then carries the session.
//!
//! The whole exchange is bounded by `upgrade_timeout`: a probe that never
//! finishes is closed and the session goes on polling, never paused.

use std::sync::Arc;
use std::time::Duration;

use super::{Conn, Inbound, WsStream};
use crate::protocol::engine::{self, BinaryMode, Packet};
use crate::ws;

/// Runs one probe to its end: handed to the session, or closed.
pub(crate) async fn probe(conn: Arc<Conn>, ws: WsStream, mode: BinaryMode, timeout: Duration) {
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(timeout, exchange(&conn, ws)) => match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(session = %conn.sid, ?timeout, "upgrade not completed in time; polling goes on");
                None
            }
        },
        () = conn.closing() => None,
    };
    match outcome {
        Some(ws) => {
            conn.upgraded();
            let Some(inbox) = conn.inbox() else {
                return;
            };
            if inbox
                .send(Inbound::Upgraded(Box::new(ws), mode))
                .await
                .is_err()
            {
                tracing::debug!(session = %conn.sid, "session ended during its upgrade");
            }
        }
        None => conn.abort_upgrade(),
    }
}

/// `2probe` → `3probe`, then `5`. The stream back when the client
/// completed the upgrade; `None` when it sent anything else or left
/// (the stream is then dropped, closing the probe).
async fn exchange(conn: &Conn, mut ws: WsStream) -> Option<WsStream> {
    let version = conn.version;
    let mut probed = false;
    loop {
        let message = ws.next().await?.ok()?;
        let packet = match message {
            ws::Message::Text(text) => engine::decode_text(&text, version).ok(),
            _ => None,
        };
        match packet {
            Some(Packet::Ping(data)) if data == "probe" && !probed => {
                let answer = [ws::Payload::Text(ws::Text::from_static("3probe"))];
                ws.send(&answer).await.ok()?;
                probed = true;
                conn.probing();
            }
            Some(Packet::Upgrade) if probed => return Some(ws),
            other => {
                tracing::warn!(session = %conn.sid, ?other, "unexpected packet on a probe; upgrade aborted");
                let _ = ws.close(1000).await;
                return None;
            }
        }
    }
}
