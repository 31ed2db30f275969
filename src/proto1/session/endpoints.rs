//! The endpoints of one protocol-1 session, in its actor: the
//! application's connection value of each endpoint joined, and what each
//! packet from the client does to them.
//!
//! An endpoint is a namespace: `""` is `/`, `/chat` is `/chat`. The
//! endpoint `""` opens when the first transport carries the session (the
//! client then reads `1::`); the others when the client asks (`1::/chat`,
//! answered `1::/chat`, or `7::/chat:2` when refused or unknown).

use std::sync::Arc;

use crate::ws::Text as Utf8Bytes;
use serde_json::Value;
use tokio::time::Instant;

use super::{PushError, Session};
use crate::connection::{Handshake, OpenInfo, Protocol};
use crate::engine::{Flow, Heartbeat};
use crate::message::Message;
use crate::panic::guarded;
use crate::protocol::proto1::{self, ErrorReason, MessageId, Packet};
use crate::registry::IdMap;
use crate::socket::client::{Command, Mailbox, Slot, close_slot, on_event, query_object};
use crate::socket::encode::proto1_endpoint;
use crate::socket::namespace::Namespace;
use crate::socket::{Args, Io, Socket, Wire};
use crate::{DisconnectReason, Transport};

/// The application's side of one session.
pub(super) struct Endpoints {
    session: Arc<Session>,
    io: Io,
    commands: Arc<Mailbox>,
    /// The handshake's request, until the endpoint `""` opens with it.
    pending_handshake: Option<Handshake>,
    handshake: Option<Arc<Handshake>>,
    /// By namespace. Looked up for every packet, so not with SipHash: at
    /// most `max_namespaces_per_client` entries, which no choice of names
    /// can make cost more than a scan of them.
    slots: IdMap<Arc<str>, Slot>,
}

/// The namespace of an endpoint: `""` (and `/`) is `/`.
fn namespace_of(endpoint: &str) -> &str {
    if endpoint.is_empty() { "/" } else { endpoint }
}

/// One packet, encoded.
fn encoded(packet: &Packet) -> Utf8Bytes {
    let mut out = String::with_capacity(16);
    proto1::encode_packet(packet, &mut out);
    Utf8Bytes::from(out)
}

/// `7:[ep]:2`: refused, or not there. The 0.9 client fires `connect_failed`
/// on that endpoint.
fn unauthorized(endpoint: &str) -> Utf8Bytes {
    encoded(&Packet::Error {
        endpoint: endpoint.to_owned(),
        reason: Some(ErrorReason::Unauthorized),
        advice: None,
    })
}

impl Endpoints {
    pub(super) fn new(
        session: Arc<Session>,
        io: Io,
        commands: Arc<Mailbox>,
        handshake: Handshake,
    ) -> Endpoints {
        Endpoints {
            session,
            io,
            commands,
            pending_handshake: Some(handshake),
            handshake: None,
            slots: IdMap::default(),
        }
    }

    /// Queues a protocol reply within the queue's limit: a client that
    /// floods the server with packets to answer, and reads nothing, fills
    /// its queue and is closed.
    fn reply(&self, packet: Utf8Bytes) -> Flow {
        match self.session.outbox.push_all([packet]) {
            Ok(()) | Err(PushError::Closed) => Flow::Continue,
            Err(PushError::Full) => {
                tracing::warn!("client is not reading its replies; closing");
                Flow::Close(DisconnectReason::SlowClient)
            }
        }
    }

    /// The first transport carries the session: the endpoint `""` opens.
    pub(super) async fn open_root(&mut self, transport: Transport) -> Flow {
        let Some(mut handshake) = self.pending_handshake.take() else {
            return Flow::Continue;
        };
        handshake.transport = transport;
        self.handshake = Some(Arc::new(handshake));
        self.connect(Arc::from("/"), None).await
    }

    /// Whether the endpoint `""` is open.
    pub(super) fn root_open(&self) -> bool {
        self.slots.contains_key("/")
    }

    /// Connects an endpoint: middleware, `on_open`, then `1::ep` and what
    /// `on_open` sent; or `7::ep:2`. A refused endpoint `""` ends the
    /// session (the client reads `7:::2`, then `0::`).
    async fn connect(&mut self, nsp: Arc<str>, auth: Option<Value>) -> Flow {
        let root = &*nsp == "/";
        let refused = if root {
            Flow::Close(DisconnectReason::ServerNamespaceDisconnect)
        } else {
            Flow::Continue
        };
        let endpoint = proto1_endpoint(&nsp).to_owned();
        let (Some(ns), Some(handshake)) =
            (self.io.namespace_for_connect(&nsp), self.handshake.clone())
        else {
            tracing::debug!(%nsp, "connect to an unknown endpoint refused");
            self.session.outbox.push_control(unauthorized(&endpoint));
            return refused;
        };
        let socket = Socket::new(
            Arc::clone(&self.session.id),
            Arc::clone(&ns),
            Protocol::SocketIo09,
            Arc::clone(&handshake),
            Wire::Proto1 {
                session: Arc::clone(&self.session),
                commands: self.commands.clone(),
            },
        );
        let info = OpenInfo {
            handshake,
            extra: None,
            namespace: Arc::clone(&nsp),
            auth,
            protocol: Protocol::SocketIo09,
        };
        ns.insert(socket.clone());
        let mut connection = (ns.factory)();
        let verdict = match self.io.inner.middleware.iter().try_for_each(|m| m(&info)) {
            Err(refusal) => Some(Err(refusal)),
            Ok(()) => guarded("on_open", connection.on_open(&socket, &info)).await,
        };
        drop(info);
        match verdict {
            None => {
                self.unlist(&ns, &socket);
                return Flow::Close(DisconnectReason::HandlerPanicked);
            }
            Some(Err(refusal)) => {
                self.unlist(&ns, &socket);
                tracing::debug!(%nsp, %refusal, "endpoint refused");
                self.session.outbox.push_control(unauthorized(&endpoint));
                return refused;
            }
            Some(Ok(())) => {}
        }
        let reply = encoded(&Packet::Connect {
            endpoint,
            query: None,
        });
        if socket
            .confirm(crate::socket::encode::text_frame(&reply))
            .is_err()
        {
            // The session is closing: `close_all` will not see this slot.
            self.unlist(&ns, &socket);
            let reason = self.session.close_reason();
            guarded("on_close", connection.on_close(&socket, reason)).await;
            return Flow::Continue;
        }
        tracing::debug!(%nsp, "endpoint connected");
        self.slots.insert(nsp, Slot { socket, connection });
        Flow::Continue
    }

    fn unlist(&self, ns: &Arc<Namespace>, socket: &Socket) {
        ns.remove(socket.id());
        socket.mark_closed();
        self.io.forget_if_empty(ns);
    }

    /// Ends one endpoint's socket.
    async fn leave(&mut self, nsp: &str, reason: DisconnectReason) {
        if let Some(slot) = self.slots.remove(nsp) {
            close_slot(&self.io, slot, reason).await;
        }
    }

    /// Ends every endpoint: `nsp` with `reason`, the others as forced
    /// closes.
    async fn leave_all(&mut self, nsp: &str, reason: DisconnectReason) {
        let names: Vec<Arc<str>> = self.slots.keys().cloned().collect();
        for name in names {
            let reason = if &*name == nsp {
                reason
            } else {
                DisconnectReason::ForcedClose
            };
            self.leave(&name, reason).await;
        }
    }

    /// The session ended: every endpoint still open closes with `reason`.
    pub(super) async fn close_all(&mut self, reason: DisconnectReason) {
        for (_, slot) in self.slots.drain() {
            close_slot(&self.io, slot, reason).await;
        }
    }

    /// What a `Socket` handle asked.
    pub(super) async fn command(&mut self, command: Command) -> Flow {
        match command {
            Command::Disconnect(nsp) if &*nsp == "/" => {
                self.leave_all(&nsp, DisconnectReason::ServerNamespaceDisconnect)
                    .await;
                Flow::Close(DisconnectReason::ServerNamespaceDisconnect)
            }
            Command::Disconnect(nsp) => {
                if self.slots.contains_key(&nsp) {
                    self.session
                        .outbox
                        .push_control(encoded(&Packet::Disconnect {
                            endpoint: nsp.to_string(),
                        }));
                    self.leave(&nsp, DisconnectReason::ServerNamespaceDisconnect)
                        .await;
                }
                Flow::Continue
            }
            Command::CloseAll(nsp) => {
                self.leave_all(&nsp, DisconnectReason::ServerNamespaceDisconnect)
                    .await;
                Flow::Close(DisconnectReason::ForcedClose)
            }
        }
    }

    /// Handles one packet from the client. What a session does rarely
    /// (join, leave) runs in a future of its own, boxed when it is needed:
    /// inline, it would size the state of every session's actor, idle or
    /// not.
    pub(super) async fn on_packet(
        &mut self,
        packet: Packet,
        heartbeat: &mut Option<Heartbeat>,
    ) -> Flow {
        match packet {
            Packet::Heartbeat => {
                if let Some(heartbeat) = heartbeat {
                    heartbeat.on_pong(Instant::now());
                }
                Flow::Continue
            }
            Packet::Noop => Flow::Continue,
            Packet::Error { endpoint, .. } => {
                tracing::warn!(%endpoint, "error packet from a client ignored");
                Flow::Continue
            }
            Packet::Disconnect { endpoint } => match namespace_of(&endpoint) {
                "/" => Flow::Close(DisconnectReason::ClientNamespaceDisconnect),
                nsp => {
                    Box::pin(self.leave(nsp, DisconnectReason::ClientNamespaceDisconnect)).await;
                    Flow::Continue
                }
            },
            Packet::Connect { endpoint, query } => {
                Box::pin(self.on_connect(&endpoint, query)).await
            }
            Packet::Message { id, endpoint, data } => {
                self.on_message(id, &endpoint, Message::Text(data)).await
            }
            Packet::Json { id, endpoint, data } => {
                self.on_message(id, &endpoint, Message::Json(data)).await
            }
            Packet::Event {
                id,
                endpoint,
                name,
                args,
            } => self.on_event(id, &endpoint, name, args).await,
            Packet::Ack {
                endpoint,
                ack_id,
                args,
            } => {
                let nsp = namespace_of(&endpoint);
                let Some(slot) = self.slots.get(nsp) else {
                    tracing::warn!(%endpoint, "ack for an endpoint not joined ignored");
                    return Flow::Continue;
                };
                let args = Args::new(args.unwrap_or_default(), Vec::new());
                if !slot.socket.resolve_ack(ack_id, args) {
                    tracing::warn!(%endpoint, ack_id, "ack for an unknown id ignored");
                }
                Flow::Continue
            }
        }
    }

    async fn on_connect(&mut self, endpoint: &str, query: Option<String>) -> Flow {
        let nsp = namespace_of(endpoint);
        if nsp == "/" {
            // The endpoint `""` opens with the first transport, unasked.
            return Flow::Continue;
        }
        if self.slots.contains_key(nsp) {
            // A client that asks again is told again, once more opened.
            return self.reply(encoded(&Packet::Connect {
                endpoint: endpoint.to_owned(),
                query: None,
            }));
        }
        let max = self.io.inner.settings.max_namespaces_per_client;
        if self.slots.len() >= max {
            tracing::warn!(%nsp, max, "too many endpoints for one client; closing");
            return Flow::Close(DisconnectReason::ParseError);
        }
        if !self.root_open() {
            tracing::warn!(%nsp, "endpoint asked for before the session opened");
            return self.reply(unauthorized(endpoint));
        }
        self.connect(Arc::from(nsp), query.as_deref().map(query_object))
            .await
    }

    /// Answers a protocol ack (`6::ep:id`), which the client asked for with
    /// an id without `+`: at once, before the application sees the packet,
    /// as socket.io 0.9 does.
    fn protocol_ack(&self, endpoint: &str, id: u64) -> Flow {
        self.reply(encoded(&Packet::Ack {
            endpoint: endpoint.to_owned(),
            ack_id: id,
            args: None,
        }))
    }

    /// A message (`3`) or JSON (`4`). With a data ack (`3:1+::x`, which the
    /// 0.9 client never sends) it is a `message` event asking for an
    /// answer, as a current client's `send(x, ack)` is.
    async fn on_message(
        &mut self,
        id: Option<MessageId>,
        endpoint: &str,
        message: Message,
    ) -> Flow {
        let nsp = namespace_of(endpoint);
        let ack = match id {
            Some(MessageId { id, data_ack: true }) => Some(id),
            Some(MessageId { id, .. }) => {
                // Acked only for an endpoint the client joined.
                if !self.slots.contains_key(nsp) {
                    return self.not_joined(endpoint);
                }
                match self.protocol_ack(endpoint, id) {
                    Flow::Continue => None,
                    close => return close,
                }
            }
            None => None,
        };
        // One lookup on the path of every message.
        let Some(slot) = self.slots.get_mut(nsp) else {
            return self.not_joined(endpoint);
        };
        if let Some(id) = ack {
            let args = Args::new(vec![message.into_value()], Vec::new());
            return on_event(slot, "message".to_owned(), args, Some(id)).await;
        }
        tracing::trace!(?message, "message");
        match guarded(
            "on_message",
            slot.connection.on_message(&slot.socket, message),
        )
        .await
        {
            Some(()) => Flow::Continue,
            None => Flow::Close(DisconnectReason::HandlerPanicked),
        }
    }

    /// An event (`5`): to `on_event` with its ack when it has a data ack;
    /// a `message` of one argument without one is a message.
    async fn on_event(
        &mut self,
        id: Option<MessageId>,
        endpoint: &str,
        name: String,
        args: Vec<Value>,
    ) -> Flow {
        let nsp = namespace_of(endpoint);
        if !self.slots.contains_key(nsp) {
            return self.not_joined(endpoint);
        }
        let ack = match id {
            Some(MessageId { id, data_ack: true }) => Some(id),
            Some(MessageId { id, .. }) => match self.protocol_ack(endpoint, id) {
                Flow::Continue => None,
                close => return close,
            },
            None => None,
        };
        if proto1::is_reserved_event(&name) {
            tracing::warn!(%name, "reserved event from a client ignored");
            return Flow::Continue;
        }
        let Some(slot) = self.slots.get_mut(nsp) else {
            return Flow::Continue;
        };
        on_event(slot, name, Args::new(args, Vec::new()), ack).await
    }

    /// A message or event for an endpoint the client has not joined (or
    /// was refused): it is told `7::ep:2` again.
    fn not_joined(&self, endpoint: &str) -> Flow {
        tracing::warn!(%endpoint, "packet for an endpoint not joined");
        self.reply(unauthorized(endpoint))
    }
}
