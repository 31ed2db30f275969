//! The one task per Engine.IO session. It owns the layer above (and with
//! it the application's values), the heartbeat, and the WebSocket once
//! one carries the session: a message is read, handled and answered in
//! this task, without a hop to another.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::conn::{Frame, control};
use super::heartbeat::{Beat, Heartbeat};
use super::{Conn, Data, Flow, Inbound, Registry, Upper, WsStream};
use crate::DisconnectReason;
use crate::protocol::engine::{self, BinaryMode, Outgoing, Packet, Version};
use crate::settings::Settings;

/// How long a closing session's last output may take to reach its client.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A running session.
pub(crate) struct Task {
    pub(crate) conn: Arc<Conn>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) registry: Registry,
    pub(crate) inbox: mpsc::Receiver<Inbound>,
    /// The WebSocket carrying the session, if one does, and how it sends
    /// binary.
    pub(crate) ws: Option<(WsStream, BinaryMode)>,
    /// The close code the WebSocket gets when the session ends.
    pub(crate) close_code: CloseCode,
}

impl Task {
    /// Runs the session to its end, then lets the layer above know.
    pub(crate) async fn run<U: Upper>(mut self, mut upper: U) {
        let reason = self.drive(&mut upper).await;
        self.conn.close(reason);
        let reason = self.conn.close_reason();
        tracing::debug!(%reason, "session closed");
        // Gone for every later request (`400`, unknown sid); a poll already
        // waiting takes what is left, and the close packet.
        self.registry.remove(&self.conn.sid);
        let leftovers = match self.ws {
            Some(_) => self.conn.take_all(),
            None => Vec::new(),
        };
        self.conn.close_queue();
        upper.closed(&self.conn, reason).await;
        self.farewell(reason, leftovers).await;
    }

    async fn drive<U: Upper>(&mut self, upper: &mut U) -> DisconnectReason {
        let conn = Arc::clone(&self.conn);
        let mut heartbeat = Heartbeat::new(
            conn.version,
            self.settings.ping_interval,
            self.settings.ping_timeout,
            Instant::now(),
        );
        if let Flow::Close(reason) = upper.opened(&conn).await {
            return reason;
        }
        if let Err(reason) = self.flush().await {
            return reason;
        }
        let deadline = sleep_until(heartbeat.next_deadline());
        tokio::pin!(deadline);
        loop {
            let flow = tokio::select! {
                biased;
                () = conn.closing() => return conn.close_reason(),
                () = &mut deadline => match heartbeat.on_deadline(Instant::now()) {
                    Beat::TimedOut => return DisconnectReason::PingTimeout,
                    Beat::SendPing => {
                        tracing::trace!("ping");
                        conn.push_control(control("2"));
                        Flow::Continue
                    }
                    Beat::Wait => Flow::Continue,
                },
                read = next_frame(&mut self.ws, conn.version) => match read {
                    Read::Packet(packet) => self.on_packet(upper, &mut heartbeat, packet).await,
                    Read::Close(reason) => Flow::Close(reason),
                    Read::TooBig => {
                        self.close_code = CloseCode::Size;
                        Flow::Close(DisconnectReason::ParseError)
                    }
                    Read::Nothing => Flow::Continue,
                },
                inbound = self.inbox.recv() => match inbound {
                    Some(Inbound::Packets(packets)) => {
                        let mut flow = Flow::Continue;
                        for packet in packets {
                            flow = self.on_packet(upper, &mut heartbeat, packet).await;
                            if flow != Flow::Continue {
                                break;
                            }
                        }
                        flow
                    }
                    Some(Inbound::Upgraded(ws, mode)) => {
                        tracing::debug!("upgraded to websocket");
                        self.ws = Some((*ws, mode));
                        Flow::Continue
                    }
                    None => Flow::Close(DisconnectReason::TransportClose),
                },
                () = conn.changed(), if self.ws.is_some() => Flow::Continue,
                wake = upper.wake() => upper.handle_wake(&conn, wake).await,
            };
            if let Flow::Close(reason) = flow {
                return reason;
            }
            if let Err(reason) = self.flush().await {
                return reason;
            }
            deadline.as_mut().reset(heartbeat.next_deadline());
        }
    }

    /// Handles one packet from the client.
    async fn on_packet<U: Upper>(
        &mut self,
        upper: &mut U,
        heartbeat: &mut Heartbeat,
        packet: Packet,
    ) -> Flow {
        match packet {
            Packet::Text(text) => upper.message(&self.conn, Data::Text(text)).await,
            Packet::Binary(data) => upper.message(&self.conn, Data::Binary(data)).await,
            Packet::Pong(_) => {
                if heartbeat.on_pong(Instant::now()) {
                    Flow::Continue
                } else {
                    tracing::warn!("pong from a v3 client, which must ping; closing");
                    Flow::Close(DisconnectReason::ParseError)
                }
            }
            Packet::Ping(_) => {
                if heartbeat.on_ping(Instant::now()) {
                    self.conn.push_control(control("3"));
                    Flow::Continue
                } else {
                    tracing::warn!("ping from a v4 client, which must pong; closing");
                    Flow::Close(DisconnectReason::ParseError)
                }
            }
            Packet::Close => Flow::Close(DisconnectReason::TransportClose),
            Packet::Noop => Flow::Continue,
            Packet::Open | Packet::Upgrade => {
                // Node ignores these out of place; so do we, noisily.
                tracing::warn!(?packet, "packet out of place ignored");
                Flow::Continue
            }
        }
    }

    /// Writes everything queued to the WebSocket, if one carries the
    /// session. A client that does not read blocks this write; the session
    /// then closes (queue full, or ping timeout) and must not wait on it.
    async fn flush(&mut self) -> Result<(), DisconnectReason> {
        let Some((ws, mode)) = &mut self.ws else {
            return Ok(());
        };
        let frames = self.conn.take_all();
        if frames.is_empty() {
            return Ok(());
        }
        let version = self.conn.version;
        let write = async {
            for frame in frames {
                ws.feed(ws_message(frame, version, *mode)).await?;
            }
            ws.flush().await
        };
        tokio::select! {
            written = write => written.map_err(|error| {
                tracing::debug!(%error, "websocket write failed");
                DisconnectReason::TransportError
            }),
            () = self.conn.closing() => Err(self.conn.close_reason()),
        }
    }

    /// After the session ended: the client learns it, if it can.
    async fn farewell(&mut self, reason: DisconnectReason, leftovers: Vec<Frame>) {
        let gone = matches!(
            reason,
            DisconnectReason::TransportClose
                | DisconnectReason::TransportError
                | DisconnectReason::PingTimeout
        );
        if let Some((ws, mode)) = &mut self.ws {
            let frames = leftovers;
            let version = self.conn.version;
            let mode = *mode;
            let code = self.close_code;
            let goodbye = async {
                if !gone {
                    for frame in frames {
                        ws.feed(ws_message(frame, version, mode)).await?;
                    }
                }
                ws.close(Some(CloseFrame {
                    code,
                    reason: "".into(),
                }))
                .await
            };
            let _ = tokio::time::timeout(CLOSE_GRACE, goodbye).await;
        }
    }
}

/// What one read from the WebSocket gave.
enum Read {
    Packet(Packet),
    Close(DisconnectReason),
    /// A message over the size limit: closed with code 1009, as node does.
    TooBig,
    /// A control frame: nothing for the session.
    Nothing,
}

/// The next packet from the WebSocket; pending forever when there is none.
async fn next_frame(ws: &mut Option<(WsStream, BinaryMode)>, version: Version) -> Read {
    let Some((stream, _)) = ws else {
        return std::future::pending().await;
    };
    let decoded = match stream.next().await {
        Some(Ok(WsMessage::Text(text))) => engine::decode_text(&text, version),
        Some(Ok(WsMessage::Binary(data))) => engine::decode_binary_frame(data, version),
        Some(Ok(WsMessage::Close(_))) | None => {
            return Read::Close(DisconnectReason::TransportClose);
        }
        Some(Ok(_)) => return Read::Nothing,
        Some(Err(error)) if crate::ws::is_too_big(&error) => {
            tracing::warn!(%error, "websocket message over max_payload; closing");
            return Read::TooBig;
        }
        Some(Err(error)) if crate::ws::is_violation(&error) => {
            tracing::warn!(%error, "websocket protocol violation; closing");
            return Read::Close(DisconnectReason::ParseError);
        }
        Some(Err(error)) => {
            tracing::debug!(%error, "websocket ended");
            return Read::Close(DisconnectReason::TransportError);
        }
    };
    match decoded {
        Ok(packet) => Read::Packet(packet),
        Err(error) => {
            tracing::warn!(%error, "malformed packet; closing");
            Read::Close(DisconnectReason::ParseError)
        }
    }
}

/// One queued packet as a WebSocket message for this session.
pub(crate) fn ws_message(frame: Frame, version: Version, mode: BinaryMode) -> WsMessage {
    match frame {
        Outgoing::Text(text) => WsMessage::Text(text),
        Outgoing::Binary(data) => match (mode, version) {
            (BinaryMode::Base64, _) => {
                let mut text = String::with_capacity(data.len() * 4 / 3 + 4);
                engine::binary_as_text(&data, version, &mut text);
                WsMessage::text(text)
            }
            (BinaryMode::Native, Version::V4) => WsMessage::Binary(data),
            (BinaryMode::Native, Version::V3) => WsMessage::Binary(engine::binary_frame_v3(&data)),
        },
    }
}
