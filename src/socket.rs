//! [`Socket`], the application's handle on one session, and [`Sockets`], a
//! router's registry of live sessions.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::Transport;
use crate::error::SendError;
use crate::message::Outgoing;
use crate::session::{CloseReason, PushError, Session};

/// A cheap, cloneable handle on one session: send to the client, close it.
///
/// Usable from any task; sends are queued in order and never wait. Once the
/// session is closed, [`send`](Socket::send) returns [`SendError::Closed`].
#[derive(Clone)]
pub struct Socket {
    pub(crate) session: Arc<Session>,
    sockets: Sockets,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id())
            .field("transport", &self.transport())
            .finish()
    }
}

impl Socket {
    pub(crate) fn new(session: Arc<Session>, sockets: Sockets) -> Socket {
        Socket { session, sockets }
    }

    /// The session id, unguessable (130 bits from a CSPRNG), `[0-9A-Za-z]`.
    pub fn id(&self) -> &str {
        &self.session.id
    }

    /// The transport the client uses.
    pub fn transport(&self) -> Transport {
        self.session.transport
    }

    /// Queues a message for the client: text as is, a
    /// [`serde_json::Value`] as JSON, a `Vec` as a batch of messages
    /// written together (see [`Outgoing`]).
    ///
    /// ```no_run
    /// # fn demo(socket: &tornadio::Socket) -> Result<(), tornadio::SendError> {
    /// socket.send("plain text")?;
    /// socket.send(serde_json::json!({"user": "ann", "text": "hi"}))?;
    /// socket.send(vec!["one", "two", "three"])?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`SendError::Closed`] once the session ended; [`SendError::QueueFull`]
    /// when the client stopped reading, which also closes the session.
    pub fn send(&self, message: impl Into<Outgoing>) -> Result<(), SendError> {
        let mut frames = String::new();
        message.into().encode(&mut frames);
        self.push(&frames)
    }

    /// Queues any serialisable value as a JSON message.
    ///
    /// # Errors
    /// As [`send`](Socket::send), plus [`SendError::Json`] when `value`
    /// cannot be serialised.
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), SendError> {
        let json = serde_json::to_string(value).map_err(|e| SendError::Json(e.to_string()))?;
        let mut frames = String::new();
        crate::protocol::legacy::encode_json_text(&mut frames, &json);
        self.push(&frames)
    }

    fn push(&self, frames: &str) -> Result<(), SendError> {
        push_to(&self.session, frames)
    }

    /// Ends the session. [`Connection::on_close`](crate::Connection::on_close)
    /// follows, once. Messages queued before are still delivered to a
    /// client connected at that moment.
    pub fn close(&self) {
        self.session.close(CloseReason::Server);
    }

    /// Whether the session has ended or is ending.
    pub fn is_closed(&self) -> bool {
        self.session.is_closing()
    }

    /// The live sessions of the router this session belongs to.
    pub fn sockets(&self) -> &Sockets {
        &self.sockets
    }
}

/// The live sessions of one [`Router`](crate::Router): count them, look one
/// up, broadcast to all. Cheap to clone.
///
/// A session is listed from just before
/// [`on_open`](crate::Connection::on_open) until just before
/// [`on_close`](crate::Connection::on_close).
#[derive(Clone, Default)]
pub struct Sockets {
    inner: Arc<Mutex<HashMap<String, Arc<Session>>>>,
}

impl fmt::Debug for Sockets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sockets").field("len", &self.len()).finish()
    }
}

impl Sockets {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether there is no live session.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// The session with this id, if it is live.
    pub fn get(&self, id: &str) -> Option<Socket> {
        let session = self.map().get(id).cloned()?;
        Some(Socket::new(session, self.clone()))
    }

    /// The ids of the live sessions.
    pub fn ids(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    /// Sends a message to every live session. The message is encoded once.
    /// Sessions whose queue is full are closed (see [`Socket::send`]).
    pub fn broadcast(&self, message: impl Into<Outgoing>) {
        self.broadcast_encoded(message.into(), None);
    }

    /// Sends a message to every live session but the one with id `except`.
    pub fn broadcast_except(&self, message: impl Into<Outgoing>, except: &str) {
        self.broadcast_encoded(message.into(), Some(except));
    }

    fn broadcast_encoded(&self, message: Outgoing, except: Option<&str>) {
        let mut frames = String::new();
        message.encode(&mut frames);
        let targets: Vec<Arc<Session>> = self
            .map()
            .values()
            .filter(|s| Some(s.id.as_str()) != except)
            .cloned()
            .collect();
        for session in targets {
            // A closed session is leaving the registry; nothing to report.
            let _ = push_to(&session, &frames);
        }
    }

    /// Closes every live session (each gets its `on_close`).
    pub fn close_all(&self) {
        let sessions: Vec<Arc<Session>> = self.map().values().cloned().collect();
        for session in sessions {
            session.close(CloseReason::Server);
        }
    }

    /// Lists a new session, unless `max` sessions are live already.
    pub(crate) fn insert_below(&self, session: Arc<Session>, max: Option<usize>) -> bool {
        let mut map = self.map();
        if max.is_some_and(|max| map.len() >= max) {
            return false;
        }
        map.insert(session.id.clone(), session);
        true
    }

    pub(crate) fn remove(&self, id: &str) {
        self.map().remove(id);
    }

    pub(crate) fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.map().get(id).cloned()
    }
}

/// Queues encoded frames on a session; a full queue closes it.
fn push_to(session: &Session, frames: &str) -> Result<(), SendError> {
    match session.outbox.push(frames) {
        Ok(()) => Ok(()),
        Err(PushError::Closed) => Err(SendError::Closed),
        Err(PushError::Full) => {
            tracing::warn!(
                session = %session.id,
                queued = session.outbox.queued_len(),
                "client is not reading its messages; closing the session"
            );
            session.close(CloseReason::QueueFull);
            Err(SendError::QueueFull)
        }
    }
}
