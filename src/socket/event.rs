//! Events from clients, the acknowledgements they ask for, and the
//! acknowledgements the server asks for.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use super::{Args, Socket, SocketInner, Wire};
use crate::error::SendError;

/// An event from a client: its name, its arguments, and the
/// acknowledgement it asks for, if any.
#[derive(Debug)]
pub struct Event {
    pub(crate) name: String,
    pub(crate) args: Args,
    pub(crate) ack: Option<Ack>,
}

impl Event {
    /// The event's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The arguments as `T`: see [`Args::decode`].
    ///
    /// # Errors
    /// When the arguments do not fit `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.args.decode()
    }

    /// Whether the client asked for an acknowledgement.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// The acknowledgement to answer, if the client asked for one; answer
    /// it with [`Ack::send`] (now or later, from any task).
    pub fn take_ack(&mut self) -> Option<Ack> {
        self.ack.take()
    }

    /// The name, the arguments and the acknowledgement.
    pub fn into_parts(self) -> (String, Args, Option<Ack>) {
        (self.name, self.args, self.ack)
    }
}

/// An acknowledgement a client asked for; answer it once with
/// [`send`](Ack::send). Dropped unanswered, it sends nothing.
#[derive(Debug)]
pub struct Ack {
    pub(crate) socket: Socket,
    pub(crate) id: u64,
}

impl Ack {
    /// Answers with `data`: a tuple for several values, `()` for none.
    ///
    /// # Errors
    /// As [`Socket::emit`].
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), SendError> {
        let args = Args::from_serialize(data).map_err(|e| SendError::Json(e.to_string()))?;
        self.send_args(&args)
    }

    /// Answers with arguments as they are (an event's, echoed back).
    ///
    /// # Errors
    /// As [`Socket::emit`]: binary arguments to a protocol-1 client are
    /// [`SendError::Unsupported`].
    pub fn send_args(self, args: &Args) -> Result<(), SendError> {
        let socket = &self.socket;
        match &socket.inner.wire {
            Wire::Engine { conn, .. } => {
                let frames = super::encode::engine_ack(&socket.inner.ns.name, self.id, args);
                socket.push_engine(conn, &frames)
            }
            Wire::Proto1 { session, .. } => {
                match super::encode::proto1_ack(&socket.inner.ns.name, self.id, args) {
                    Some(frame) => socket.push_proto1(session, &[frame]),
                    None => Err(SendError::Unsupported),
                }
            }
            Wire::Legacy(_) => Err(SendError::Unsupported),
        }
    }
}

/// Why an acknowledgement did not come.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// No answer within the timeout.
    #[error("no acknowledgement within the timeout")]
    Timeout,
    /// The socket closed before it answered.
    #[error("the socket closed before acknowledging")]
    Closed,
    /// The event could not be sent.
    #[error("the event could not be sent: {0}")]
    Send(SendError),
}

/// The answer to [`Socket::emit_with_ack`]: resolves to the client's
/// acknowledgement arguments, or an [`AckError`].
#[must_use = "the acknowledgement is only awaited when the future is"]
pub struct AckFuture {
    state: AckState,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

enum AckState {
    Failed(Option<AckError>),
    Waiting {
        receiver: oneshot::Receiver<Args>,
        socket: Weak<SocketInner>,
        id: u64,
    },
}

impl std::fmt::Debug for AckFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckFuture")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AckFuture {
    pub(crate) fn failed(error: AckError, timeout: Duration) -> AckFuture {
        AckFuture {
            state: AckState::Failed(Some(error)),
            timeout,
            sleep: None,
        }
    }

    pub(crate) fn waiting(
        socket: &Socket,
        id: u64,
        receiver: oneshot::Receiver<Args>,
        timeout: Duration,
    ) -> AckFuture {
        AckFuture {
            state: AckState::Waiting {
                receiver,
                socket: Arc::downgrade(&socket.inner),
                id,
            },
            timeout,
            sleep: None,
        }
    }

    /// Waits at most `timeout` for the answer, counted from the first poll.
    pub fn timeout(mut self, timeout: Duration) -> AckFuture {
        self.timeout = timeout;
        self.sleep = None;
        self
    }
}

impl Future for AckFuture {
    type Output = Result<Args, AckError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let (receiver, socket, id) = match &mut this.state {
            AckState::Failed(error) => {
                return Poll::Ready(Err(error.take().unwrap_or(AckError::Closed)));
            }
            AckState::Waiting {
                receiver,
                socket,
                id,
            } => (receiver, socket, *id),
        };
        if let Poll::Ready(answer) = Pin::new(receiver).poll(cx) {
            this.state = AckState::Failed(None);
            return Poll::Ready(answer.map_err(|_| AckError::Closed));
        }
        let timeout = this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if sleep.as_mut().poll(cx).is_ready() {
            if let Some(inner) = socket.upgrade() {
                (Socket { inner }).forget_ack(id);
            }
            this.state = AckState::Failed(None);
            return Poll::Ready(Err(AckError::Timeout));
        }
        Poll::Pending
    }
}

impl Drop for AckFuture {
    fn drop(&mut self) {
        if let AckState::Waiting { socket, id, .. } = &self.state
            && let Some(inner) = socket.upgrade()
        {
            (Socket { inner }).forget_ack(*id);
        }
    }
}
