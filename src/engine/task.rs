//! The one task per Engine.IO session. It owns the layer above (and with
//! it the application's values), the heartbeat, and the WebSocket once
//! one carries the session: a message is read, handled and answered in
//! this task, without a hop to another.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::conn::{Frame, Queue, control};
use super::heartbeat::{Beat, Heartbeat};
use super::{Conn, Data, Flow, Inbound, Registry, Shortcut, Upper, WsStream};
use crate::DisconnectReason;
use crate::protocol::engine::{self, BinaryMode, Outgoing, Packet, Version};
use crate::settings::Settings;
use crate::ws::{self, Payload};

/// Packets that may wait while a callback runs before the client is held
/// back.
const BACKLOG: usize = 64;
/// How long a closing session's last output may take to reach its client.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// A running session.
pub(crate) struct Task {
    conn: Arc<Conn>,
    settings: Arc<Settings>,
    registry: Registry,
    inbox: Option<mpsc::Receiver<Inbound>>,
    /// The WebSocket carrying the session, if one does, and how it sends
    /// binary.
    ws: Option<(WsStream, BinaryMode)>,
    /// The close code the WebSocket gets when the session ends.
    close_code: u16,
    /// What arrived while a callback ran, to handle after it.
    backlog: VecDeque<Incoming>,
    /// When the session was created: its heartbeat counts from there, as
    /// node's does, not from the task's first turn (which comes after the
    /// handshake's answer went out).
    opened: Instant,
}

impl Task {
    /// A session's task, carried by polling until a WebSocket comes.
    pub(crate) fn new(
        conn: Arc<Conn>,
        settings: Arc<Settings>,
        registry: Registry,
        inbox: Option<mpsc::Receiver<Inbound>>,
    ) -> Task {
        Task {
            conn,
            settings,
            registry,
            inbox,
            ws: None,
            close_code: 1000,
            backlog: VecDeque::new(),
            opened: Instant::now(),
        }
    }

    /// Runs a session opened by a WebSocket handshake, once hyper hands over
    /// the connection (one future: the task's values are not kept twice).
    pub(crate) async fn run_upgraded<U: Upper>(
        mut self,
        upgrade: hyper::upgrade::OnUpgrade,
        mode: BinaryMode,
        upper: U,
    ) {
        let mut upper = upper;
        match crate::ws::accept(upgrade, self.settings.max_payload).await {
            Some(ws) => {
                self.ws = Some((ws, mode));
                self.run_borrowed(&mut upper).await;
            }
            None => {
                self.conn.close(DisconnectReason::TransportError);
                self.registry.remove(&self.conn.sid);
            }
        }
    }

    /// Runs the session to its end, then lets the layer above know.
    pub(crate) async fn run<U: Upper>(mut self, mut upper: U) {
        self.run_borrowed(&mut upper).await;
    }

    /// The session's life, on borrowed values: a future that owns the task
    /// and its layer above keeps them once, not once more per step.
    async fn run_borrowed<U: Upper>(&mut self, upper: &mut U) {
        let reason = self.drive(upper).await;
        self.conn.close(reason);
        let reason = self.conn.close_reason();
        tracing::debug!(%reason, "session closed");
        // Gone for every later request (`400`, unknown sid); a poll already
        // waiting takes what is left, and the close packet.
        self.registry.remove(&self.conn.sid);
        let leftovers = match self.ws {
            Some(_) => self.conn.take_all(),
            None => Queue::new(),
        };
        self.conn.close_queue();
        // Boxed, as every rare step: the task's own size is what each idle
        // session costs.
        Box::pin(upper.closed(&self.conn, reason)).await;
        Box::pin(self.farewell(reason, leftovers)).await;
    }

    async fn drive<U: Upper>(&mut self, upper: &mut U) -> DisconnectReason {
        let conn = Arc::clone(&self.conn);
        let mut heartbeat = Heartbeat::new(
            conn.version,
            self.settings.ping_interval,
            self.settings.ping_timeout,
            self.opened,
        );
        if let Flow::Close(reason) = Box::pin(upper.opened(&conn)).await {
            return reason;
        }
        if let Err(reason) = self.flush().await {
            return reason;
        }
        let next_deadline = |heartbeat: &Heartbeat, upper: &U| match upper.deadline() {
            Some(own) => own.min(heartbeat.next_deadline()),
            None => heartbeat.next_deadline(),
        };
        let mut armed = next_deadline(&heartbeat, upper);
        let deadline = sleep_until(armed);
        tokio::pin!(deadline);
        let shortcut = upper.shortcut();
        loop {
            if conn.is_closing() {
                return conn.close_reason();
            }
            // A signal (it rings the doorbell), then what arrived while a
            // callback ran, in order.
            let flow = if conn.take_signal() {
                Box::pin(upper.on_signal(&conn)).await
            } else if let Some(incoming) = self.backlog.pop_front() {
                self.on_incoming(upper, &mut heartbeat, &conn, &shortcut, incoming)
                    .await
            } else {
                // The doorbell first: a session asked to end ends, a signal
                // is seen, and a task woken to write output polls nothing
                // else for it.
                tokio::select! {
                    biased;
                    () = poll_fn(|cx| conn.poll_doorbell(cx)) => Flow::Continue,
                    () = &mut deadline => {
                        let now = Instant::now();
                        match heartbeat.on_deadline(now) {
                            Beat::TimedOut => return DisconnectReason::PingTimeout,
                            Beat::SendPing => {
                                tracing::trace!("ping");
                                conn.push_control(control("2"));
                            }
                            Beat::Wait => {}
                        }
                        match upper.deadline() {
                            Some(own) if own <= now => upper.on_deadline(),
                            _ => Flow::Continue,
                        }
                    }
                    read = next_frame(&mut self.ws, conn.version) => {
                        let incoming = Incoming::from(read);
                        self.on_incoming(upper, &mut heartbeat, &conn, &shortcut, incoming).await
                    }
                    inbound = receive(&mut self.inbox) => {
                        self.backlog.extend(Incoming::from_inbox(inbound));
                        Flow::Continue
                    }
                }
            };
            if let Flow::Close(reason) = flow {
                return reason;
            }
            if let Err(reason) = self.flush().await {
                return reason;
            }
            // Re-armed only when it moved: a timer reset is not free.
            let next = next_deadline(&heartbeat, upper);
            if next != armed {
                armed = next;
                deadline.as_mut().reset(armed);
            }
        }
    }

    /// Handles what arrived from the client or for the session.
    async fn on_incoming<U: Upper>(
        &mut self,
        upper: &mut U,
        heartbeat: &mut Heartbeat,
        conn: &Arc<Conn>,
        shortcut: &Option<Arc<dyn Shortcut>>,
        incoming: Incoming,
    ) -> Flow {
        match incoming {
            Incoming::Packet(Packet::Text(text)) => {
                self.call(upper, heartbeat, conn, shortcut, Data::Text(text))
                    .await
            }
            Incoming::Packet(Packet::Binary(data)) => {
                self.call(upper, heartbeat, conn, shortcut, Data::Binary(data))
                    .await
            }
            Incoming::Packet(packet) => self.on_packet(heartbeat, packet),
            Incoming::Close(reason) => Flow::Close(reason),
            Incoming::TooBig => {
                self.close_code = 1009;
                Flow::Close(DisconnectReason::ParseError)
            }
            Incoming::Violation(code) => {
                self.close_code = code;
                Flow::Close(DisconnectReason::ParseError)
            }
            Incoming::Upgraded(ws, mode) => {
                tracing::debug!("upgraded to websocket");
                self.ws = Some((*ws, mode));
                Flow::Continue
            }
        }
    }

    /// Runs a callback of the layer above on a message. Meanwhile the
    /// client is still read: pongs and what the shortcut takes are handled
    /// at once, the rest waits its turn in the backlog (bounded: once full,
    /// reading stops and the client is held back).
    async fn call<U: Upper>(
        &mut self,
        upper: &mut U,
        heartbeat: &mut Heartbeat,
        conn: &Arc<Conn>,
        shortcut: &Option<Arc<dyn Shortcut>>,
        data: Data,
    ) -> Flow {
        // What the callback queues is written right after it; a callback
        // that waits is watched below. Either way its own pushes need not
        // wake this task (which would then turn once more for nothing).
        conn.mute_doorbell();
        // Boxed: only a running callback pays for its state, not every idle
        // session's task.
        let mut callback = Box::pin(upper.message(conn, data));
        loop {
            let room = self.backlog.len() < BACKLOG;
            tokio::select! {
                biased;
                flow = &mut callback => return flow,
                read = next_frame(&mut self.ws, conn.version), if room => {
                    match Incoming::from(read) {
                        Incoming::Packet(packet) => self.early(heartbeat, shortcut, packet),
                        other => self.backlog.push_back(other),
                    }
                }
                inbound = receive(&mut self.inbox), if room => {
                    for incoming in Incoming::from_inbox(inbound) {
                        match incoming {
                            Incoming::Packet(packet) => self.early(heartbeat, shortcut, packet),
                            other => self.backlog.push_back(other),
                        }
                    }
                }
                // What the callback sends goes out now: it may be the
                // question whose answer the callback awaits.
                () = poll_fn(|cx| conn.poll_doorbell(cx)), if self.ws.is_some() => {
                    if let Err(reason) = Box::pin(self.flush()).await {
                        conn.close(reason);
                    }
                }
            }
        }
    }

    /// A packet that arrived while a callback ran: taken now if it can be.
    fn early(
        &mut self,
        heartbeat: &mut Heartbeat,
        shortcut: &Option<Arc<dyn Shortcut>>,
        packet: Packet,
    ) {
        let taken = match (&packet, shortcut) {
            (Packet::Pong(_), _) => heartbeat.on_pong(Instant::now()),
            (Packet::Text(text), Some(shortcut)) => shortcut.text(text),
            (Packet::Binary(data), Some(shortcut)) => shortcut.binary(data),
            _ => false,
        };
        if !taken {
            self.backlog.push_back(Incoming::Packet(packet));
        }
    }

    /// Handles one Engine.IO packet other than a message.
    fn on_packet(&mut self, heartbeat: &mut Heartbeat, packet: Packet) -> Flow {
        match packet {
            Packet::Text(_) | Packet::Binary(_) => Flow::Continue,
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
        self.conn.answer_doorbell();
        let frames = self.conn.take_all();
        if frames.is_empty() {
            return Ok(());
        }
        let version = self.conn.version;
        let mode = *mode;
        let write = async {
            if mode == BinaryMode::Native && version == Version::V4
                || frames.iter().all(|f| matches!(f, Outgoing::Text(_)))
            {
                // Sent as they are, from the queue's own bytes.
                ws.send_frames(frames.iter().map(|frame| match frame {
                    Outgoing::Text(text) => (ws::Opcode::Text, text.as_bytes()),
                    Outgoing::Binary(data) => (ws::Opcode::Binary, &data[..]),
                }))
                .await
            } else {
                let payloads: Vec<Payload> = frames
                    .into_iter()
                    .map(|frame| ws_payload(frame, version, mode))
                    .collect();
                ws.send(&payloads).await
            }
        };
        tokio::select! {
            biased;
            written = write => written.map_err(|error| {
                tracing::debug!(%error, "websocket write failed");
                DisconnectReason::TransportError
            }),
            () = poll_fn(|cx| self.conn.poll_closing(cx)) => Err(self.conn.close_reason()),
        }
    }

    /// After the session ended: the client learns it, if it can.
    async fn farewell(&mut self, reason: DisconnectReason, leftovers: Queue) {
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
                    let payloads: Vec<Payload> = frames
                        .into_iter()
                        .map(|frame| ws_payload(frame, version, mode))
                        .collect();
                    ws.send(&payloads).await?;
                }
                ws.close(code).await
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
    /// A broken frame: closed with this code.
    Violation(u16),
}

/// Something for the session from its client or its carriers, in the order
/// it must be handled.
enum Incoming {
    Packet(Packet),
    Close(DisconnectReason),
    TooBig,
    Violation(u16),
    Upgraded(Box<WsStream>, BinaryMode),
}

impl From<Read> for Incoming {
    fn from(read: Read) -> Incoming {
        match read {
            Read::Packet(packet) => Incoming::Packet(packet),
            Read::Close(reason) => Incoming::Close(reason),
            Read::TooBig => Incoming::TooBig,
            Read::Violation(code) => Incoming::Violation(code),
        }
    }
}

impl Incoming {
    /// What one receive from the inbox gave.
    fn from_inbox(inbound: Option<Inbound>) -> impl Iterator<Item = Incoming> {
        let (packets, last) = match inbound {
            Some(Inbound::Packets(packets)) => (packets, None),
            Some(Inbound::Upgraded(ws, mode)) => (Vec::new(), Some(Incoming::Upgraded(ws, mode))),
            None => (
                Vec::new(),
                Some(Incoming::Close(DisconnectReason::TransportClose)),
            ),
        };
        packets.into_iter().map(Incoming::Packet).chain(last)
    }
}

/// The next thing in the inbox; pending forever for a session without one.
async fn receive(inbox: &mut Option<mpsc::Receiver<Inbound>>) -> Option<Inbound> {
    match inbox {
        Some(inbox) => inbox.recv().await,
        None => std::future::pending().await,
    }
}

/// The next packet from the WebSocket; pending forever when there is none.
async fn next_frame(ws: &mut Option<(WsStream, BinaryMode)>, version: Version) -> Read {
    let Some((stream, _)) = ws else {
        return std::future::pending().await;
    };
    let decoded = match stream.next().await {
        Some(Ok(ws::Message::Text(text))) => engine::decode_text_owned(text, version),
        Some(Ok(ws::Message::Binary(data))) => engine::decode_binary_frame(data, version),
        Some(Ok(ws::Message::Close(_))) | None => {
            return Read::Close(DisconnectReason::TransportClose);
        }
        Some(Err(ws::Error::Violation(ws::Violation::TooBig))) => {
            tracing::warn!("websocket message over max_payload; closing");
            return Read::TooBig;
        }
        Some(Err(ws::Error::Violation(violation))) => {
            tracing::warn!(%violation, "closing");
            return Read::Violation(violation.close_code());
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
pub(crate) fn ws_payload(frame: Frame, version: Version, mode: BinaryMode) -> Payload {
    match frame {
        Outgoing::Text(text) => Payload::Text(text),
        Outgoing::Binary(data) => match (mode, version) {
            (BinaryMode::Base64, _) => {
                let mut text = String::with_capacity(data.len() * 4 / 3 + 4);
                engine::binary_as_text(&data, version, &mut text);
                Payload::OwnedText(text)
            }
            (BinaryMode::Native, Version::V4) => Payload::Binary(data),
            (BinaryMode::Native, Version::V3) => Payload::Binary(engine::binary_frame_v3(&data)),
        },
    }
}
