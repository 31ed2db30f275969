//! The one task per protocol-1 session. It owns the application's
//! connection values (one per endpoint, in [`Endpoints`]), runs their
//! callbacks one at a time, in order, and decides the session's life:
//! heartbeats on the persistent transports, the close timeout of a
//! session no request carries, and the end, when every endpoint's
//! `on_close` runs exactly once. A session carried by a WebSocket has its
//! socket read and written here too.

use std::future::poll_fn;
use std::sync::Arc;

use crate::ws::Text as Utf8Bytes;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::carrier::{self, Carrier};
use super::endpoints::Endpoints;
use super::{Call, Inbound, Session};
use crate::connection::Handshake;
use crate::engine::{Beat, Flow, Heartbeat, later};
use crate::proto1::Registry;
use crate::protocol::engine::Version;
use crate::protocol::proto1::Packet;
use crate::settings::Settings;
use crate::socket::Io;
use crate::socket::client::Mailbox;
use crate::{DisconnectReason, Transport};

/// Everything a session's task needs, handed over by the handshake.
pub(crate) struct Actor {
    pub(crate) session: Arc<Session>,
    pub(crate) io: Io,
    pub(crate) settings: Arc<Settings>,
    /// Where the session is listed by id, for its transports.
    pub(crate) registry: Registry,
    /// The handshake's request; the endpoint `""` opens with it.
    pub(crate) handshake: Handshake,
    /// The server's shutdown, if it runs under one.
    pub(crate) shutdown: Option<CancellationToken>,
}

/// Whether the client is told `0::` when its session ends this way: when
/// the server or the client meant it. A client whose session ends for any
/// other reason is not told, so that it reconnects.
fn farewell(reason: DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::ServerNamespaceDisconnect
            | DisconnectReason::ForcedClose
            | DisconnectReason::ClientNamespaceDisconnect
    )
}

impl Actor {
    /// Runs the session to its end.
    pub(crate) async fn run(self) {
        let Actor {
            session,
            io,
            settings,
            registry,
            handshake,
            shutdown,
        } = self;
        let commands = Arc::new(Mailbox::default());
        let mut endpoints =
            Endpoints::new(Arc::clone(&session), io, Arc::clone(&commands), handshake);
        let mut clocks = Clocks::new(&session, &settings);
        let reason = clocks.drive(&mut endpoints, &commands).await;
        session.close_inbox();
        let websocket = clocks.websocket.take();
        session.close(reason);
        let reason = session.close_reason();
        tracing::debug!(%reason, "session closed");
        if farewell(reason) {
            session.outbox.push_control(Utf8Bytes::from_static("0::"));
        }
        endpoints.close_all(reason).await;
        session.outbox.close();
        if let Some(websocket) = websocket {
            carrier::farewell(&session, websocket, reason).await;
        }
        // 0.9.17 loses a `0::` that ends a poll: a polling client takes it
        // with its next GET, which must still find the session. (A client
        // that sent `0::` itself is not polling any more.)
        let polling = !session.transport().is_some_and(Transport::is_persistent);
        let server_ended = reason != DisconnectReason::ClientNamespaceDisconnect;
        if polling && server_ended && !session.outbox.is_empty() {
            let shutdown = async {
                match &shutdown {
                    Some(token) => token.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = session.outbox.drained() => {}
                () = tokio::time::sleep(settings.proto1_close_timeout) => {}
                () = shutdown => {}
            }
        }
        registry.remove(&session.id);
    }
}

/// The clocks of one session: its heartbeat (on persistent transports)
/// and its close timeout; and the WebSocket carrying it, if one does.
struct Clocks<'a> {
    session: &'a Session,
    settings: &'a Settings,
    heartbeat: Option<Heartbeat>,
    websocket: Option<Box<Carrier>>,
}

impl<'a> Clocks<'a> {
    fn new(session: &'a Session, settings: &'a Settings) -> Self {
        Clocks {
            session,
            settings,
            heartbeat: None,
            websocket: None,
        }
    }

    /// Feeds packets and commands to the endpoints until something ends
    /// the session.
    async fn drive(&mut self, endpoints: &mut Endpoints, commands: &Mailbox) -> DisconnectReason {
        let session = self.session;
        let close_timeout = self.settings.proto1_close_timeout;
        // Built once and reset, not rebuilt each turn: this loop runs per
        // packet.
        let far = later(Instant::now(), close_timeout);
        let idle = sleep_until(far);
        let beat = sleep_until(far);
        tokio::pin!(idle, beat);
        // What the two timers are set to: reset only when that changes (a
        // reset to the same time still costs a visit to the timer).
        let (mut idle_set, mut beat_set) = (far, far);
        // The idle clock ran out and must be set again.
        let mut idle_rang = false;
        loop {
            self.arm_heartbeat(endpoints);
            // A WebSocket it holds carries the session: no idle clock.
            // Otherwise each poll moves the deadline on, unseen (a poll
            // does not wake the actor): the clock is set again only when
            // the deadline comes sooner, or once it ran out early.
            let idle_at = match self.websocket {
                Some(_) => None,
                None => Some(session.idle_deadline(close_timeout)),
            };
            if let Some(at) = idle_at.filter(|&at| at < idle_set || idle_rang) {
                idle.as_mut().reset(at);
                idle_set = at;
                idle_rang = false;
            }
            if let Some(heartbeat) = &self.heartbeat {
                let at = heartbeat.next_deadline();
                if at != beat_set {
                    beat.as_mut().reset(at);
                    beat_set = at;
                }
            }
            let beating = self.heartbeat.is_some();
            let carried = self.websocket.is_some();
            let flow = tokio::select! {
                biased;
                call = poll_fn(|cx| session.poll_call(cx)) => match call {
                    Call::Close => return session.close_reason(),
                    Call::CarrierChanged => Flow::Continue,
                    Call::Commands => self.commands(endpoints, commands).await,
                    Call::Inbound => self.inbox(endpoints).await,
                },
                packets = poll_fn(|cx| session.outbox.poll_next(cx)), if carried => match packets {
                    Some(packets) => self.write(packets).await,
                    None => Flow::Close(session.close_reason()),
                },
                read = carrier::next_packets(&mut self.websocket) => match read {
                    Ok(packets) => {
                        // What the callbacks queue is taken in the next
                        // turn, just below: their pushes need not wake
                        // this very task.
                        session.outbox.mute();
                        self.packets(endpoints, packets).await
                    }
                    Err(reason) => Flow::Close(reason),
                },
                () = &mut idle, if idle_at.is_some() => {
                    idle_rang = true;
                    self.idle()
                }
                () = &mut beat, if beating => self.beat(),
            };
            if let Flow::Close(reason) = flow {
                return reason;
            }
        }
    }

    /// Takes what the transports handed over, oldest first.
    async fn inbox(&mut self, endpoints: &mut Endpoints) -> Flow {
        while let Some(inbound) = self.session.take_inbound() {
            if let Flow::Close(reason) = self.inbound(endpoints, inbound).await {
                return Flow::Close(reason);
            }
        }
        Flow::Continue
    }

    async fn inbound(&mut self, endpoints: &mut Endpoints, inbound: Inbound) -> Flow {
        match inbound {
            Inbound::Opened(transport) => {
                tracing::debug!(%transport, "session connected");
                // Once per session: boxed, not a size of the actor's state.
                Box::pin(endpoints.open_root(transport)).await
            }
            Inbound::Packets(packets) => self.packets(endpoints, packets).await,
            Inbound::WebSocket(websocket) => {
                tracing::debug!("a websocket carries the session");
                self.websocket = Some(websocket);
                Flow::Continue
            }
        }
    }

    async fn packets(
        &mut self,
        endpoints: &mut Endpoints,
        packets: impl IntoIterator<Item = Packet>,
    ) -> Flow {
        for packet in packets {
            tracing::trace!(?packet, "packet");
            if let Flow::Close(reason) = endpoints.on_packet(packet, &mut self.heartbeat).await {
                return Flow::Close(reason);
            }
        }
        Flow::Continue
    }

    /// Carries out what the connections' handles asked, oldest first.
    async fn commands(&mut self, endpoints: &mut Endpoints, commands: &Mailbox) -> Flow {
        while let Some(command) = commands.take() {
            // Rare: boxed, not a size of the actor's state.
            if let Flow::Close(reason) = Box::pin(endpoints.command(command)).await {
                return Flow::Close(reason);
            }
        }
        Flow::Continue
    }

    /// Writes output to the WebSocket carrying the session.
    async fn write(&mut self, packets: Vec<Utf8Bytes>) -> Flow {
        let Some(websocket) = self.websocket.as_mut() else {
            return Flow::Continue;
        };
        let stall = self.settings.proto1_heartbeat_timeout;
        match carrier::write(self.session, &mut websocket.ws, packets, stall).await {
            Ok(()) => Flow::Continue,
            Err(reason) => {
                // A write given up may have left half a frame: nothing more
                // goes on this connection, not even a farewell.
                self.websocket = None;
                Flow::Close(reason)
            }
        }
    }

    /// Heartbeats start once the session is open on a persistent transport
    /// (a polling client shows life by polling); one such transport's end
    /// is the session's, so they never stop before it.
    fn arm_heartbeat(&mut self, endpoints: &Endpoints) {
        if self.heartbeat.is_none()
            && self.session.carrier().is_some_and(Transport::is_persistent)
            && endpoints.root_open()
        {
            self.heartbeat = Some(Heartbeat::new(
                Version::V4,
                self.settings.proto1_heartbeat_interval,
                self.settings.proto1_heartbeat_timeout,
                Instant::now(),
            ));
        }
    }

    /// The close timeout passed, unless a request carries the session now.
    fn idle(&self) -> Flow {
        let close_timeout = self.settings.proto1_close_timeout;
        if self.session.idle_expired(close_timeout, Instant::now()) {
            tracing::debug!("no transport within the close timeout");
            Flow::Close(DisconnectReason::PingTimeout)
        } else {
            Flow::Continue
        }
    }

    /// The heartbeat's deadline passed: beat, or give the client up.
    fn beat(&mut self) -> Flow {
        let Some(heartbeat) = &mut self.heartbeat else {
            return Flow::Continue;
        };
        match heartbeat.on_deadline(Instant::now()) {
            Beat::TimedOut => {
                tracing::debug!("no heartbeat answer in time");
                Flow::Close(DisconnectReason::PingTimeout)
            }
            Beat::SendPing => {
                tracing::trace!("heartbeat");
                // Past the queue's limit if need be: a lost beat would
                // leave the client to time out.
                self.session
                    .outbox
                    .push_control(Utf8Bytes::from_static("2::"));
                Flow::Continue
            }
            Beat::Wait => Flow::Continue,
        }
    }
}
