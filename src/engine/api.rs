//! The bare Engine.IO API, as node's `engine.io` package offers it: opaque
//! text and binary messages, with open, message and close callbacks.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::conn::{self, PushError};
use super::{Conn, Data, Flow, StartUpper, Upper};
use crate::connection::{Handshake, OpenInfo, Protocol};
use crate::protocol::engine::Version;
use crate::{DisconnectReason, Refused, SendError};

/// One Engine.IO client, as a bare Engine.IO application sees it. Served
/// by an [`EngineRouter`](crate::EngineRouter).
///
/// The value lives in the task of its session, so the callbacks run one at
/// a time, in order, with `&mut self`.
///
/// ```
/// use tornadio::{Data, EngineConnection, EngineSocket};
///
/// struct Echo;
///
/// impl EngineConnection for Echo {
///     async fn on_message(&mut self, socket: &EngineSocket, data: Data) {
///         let _ = socket.send(data);
///     }
/// }
/// ```
pub trait EngineConnection: Send + 'static {
    /// Called before the handshake is answered; `Err` refuses the client
    /// with `403`. [`OpenInfo::protocol`] tells the Engine.IO revision
    /// ([`Protocol::SocketIo2`] for v3, [`Protocol::SocketIo4`] for v4).
    fn on_open(
        &mut self,
        socket: &EngineSocket,
        info: &OpenInfo,
    ) -> impl Future<Output = Result<(), Refused>> + Send {
        let _ = (socket, info);
        async { Ok(()) }
    }

    /// Called for every message, in order.
    fn on_message(&mut self, socket: &EngineSocket, data: Data) -> impl Future<Output = ()> + Send;

    /// Called exactly once when an opened session ends.
    fn on_close(
        &mut self,
        socket: &EngineSocket,
        reason: DisconnectReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (socket, reason);
        async {}
    }
}

/// A cheap, cloneable handle on one Engine.IO session.
///
/// ```
/// # fn demo(socket: &tornadio::EngineSocket) {
/// let _ = socket.send("text");
/// let _ = socket.send(vec![1u8, 2, 3]);
/// if socket.protocol_version() == 3 {
///     socket.close();
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct EngineSocket {
    conn: Arc<Conn>,
}

impl fmt::Debug for EngineSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineSocket")
            .field("id", &self.id())
            .finish()
    }
}

impl EngineSocket {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.conn.sid
    }

    /// The Engine.IO revision the client speaks: 3 or 4.
    pub fn protocol_version(&self) -> u8 {
        match self.conn.version {
            Version::V3 => 3,
            Version::V4 => 4,
        }
    }

    /// Queues a message: text as a text message, bytes as binary.
    ///
    /// # Errors
    /// [`SendError::Closed`] once the session ended; [`SendError::QueueFull`]
    /// when the client stopped reading, which also closes the session.
    pub fn send(&self, data: impl Into<Data>) -> Result<(), SendError> {
        let frame = match data.into() {
            Data::Text(text) => conn::text(format!("4{text}")),
            Data::Binary(bytes) => conn::binary(bytes),
        };
        push(&self.conn, frame)
    }

    /// Ends the session; `on_close` follows with
    /// [`DisconnectReason::ForcedClose`].
    pub fn close(&self) {
        self.conn.close(DisconnectReason::ForcedClose);
    }
}

/// Queues a frame; a full queue closes the session.
pub(crate) fn push(conn: &Conn, frame: conn::Frame) -> Result<(), SendError> {
    match conn.push(frame) {
        Ok(()) => Ok(()),
        Err(PushError::Closed) => Err(SendError::Closed),
        Err(PushError::Full) => {
            tracing::warn!(session = %conn.sid, "client is not reading; closing the session");
            conn.close(DisconnectReason::SlowClient);
            Err(SendError::QueueFull)
        }
    }
}

/// The bare API's connection value as the layer above the engine.
pub(crate) struct Bare<C> {
    connection: C,
    socket: Option<EngineSocket>,
}

impl<C: EngineConnection> Upper for Bare<C> {
    async fn open(&mut self, conn: &Arc<Conn>, handshake: &Arc<Handshake>) -> Result<(), Refused> {
        let socket = EngineSocket {
            conn: Arc::clone(conn),
        };
        let info = OpenInfo {
            handshake: Arc::clone(handshake),
            extra: None,
            namespace: Arc::from("/"),
            auth: None,
            protocol: match conn.version {
                Version::V3 => Protocol::SocketIo2,
                Version::V4 => Protocol::SocketIo4,
            },
        };
        let opened = self.connection.on_open(&socket, &info).await;
        self.socket = Some(socket);
        opened
    }

    async fn opened(&mut self, _conn: &Arc<Conn>) -> Flow {
        Flow::Continue
    }

    async fn message(&mut self, _conn: &Arc<Conn>, data: Data) -> Flow {
        if let Some(socket) = &self.socket {
            self.connection.on_message(socket, data).await;
        }
        Flow::Continue
    }

    async fn closed(&mut self, _conn: &Arc<Conn>, reason: DisconnectReason) {
        if let Some(socket) = &self.socket {
            self.connection.on_close(socket, reason).await;
        }
    }
}

/// Makes a [`Bare`] upper per session from the application's factory.
pub(crate) struct BareFactory<F>(pub(crate) F);

impl<C, F> StartUpper for BareFactory<F>
where
    C: EngineConnection,
    F: Fn() -> C + Send + Sync + 'static,
{
    type Upper = Bare<C>;

    fn make(&self) -> Bare<C> {
        Bare {
            connection: (self.0)(),
            socket: None,
        }
    }
}
