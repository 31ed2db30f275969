//! The shared state of one Engine.IO session: its outgoing queue, which
//! transport carries it, and the inbox of its task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use smallvec::SmallVec;
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, mpsc};

use super::Inbound;
use crate::DisconnectReason;
use crate::latch::Latch;
use crate::protocol::engine::{BinaryMode, Outgoing, Version};
use crate::ws::Text;

/// One packet waiting for a transport: text (the whole packet, type digit
/// included) or a binary message. Cheap to clone: a broadcast shares one.
pub(crate) type Frame = Outgoing<Text>;

/// Which transport carries the session's output now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carrier {
    /// Long-polling GETs take the queue.
    Polling,
    /// A WebSocket probe answered `3probe`: GETs get a noop at once and
    /// take nothing, so the client's poll returns and it can send `5`.
    Probing,
    /// The session task writes the queue to its WebSocket.
    WebSocket,
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The session is closed.
    Closed,
    /// The queue would pass its byte limit: the client does not read.
    Full,
}

struct State {
    queue: Queue,
    bytes: usize,
    /// No more pushes; what is queued may still be taken.
    closed: bool,
    carrier: Carrier,
    /// A WebSocket probe exists for this session (a second is refused).
    upgrading: bool,
    /// A polling GET is waiting for output.
    get_pending: bool,
    /// A polling POST is being read.
    post_pending: bool,
}

/// One Engine.IO session, shared by its task, the requests that carry it
/// and the handles of the layers above.
pub(crate) struct Conn {
    pub(crate) sid: Box<str>,
    pub(crate) version: Version,
    /// How a polling GET sends binary (`b64=1`, JSONP: base64).
    pub(crate) binary_mode: BinaryMode,
    state: Mutex<State>,
    /// Wakes a polling GET waiting for output (and a GET waiting out a
    /// probe).
    ready: Notify,
    /// Wakes the session's task: output to write while a WebSocket
    /// carries the session, or the session asked to end.
    doorbell: Doorbell,
    /// The layer above has business of its own for the task (commands
    /// from its handles).
    signaled: AtomicBool,
    /// Polling sessions only: what POSTs and a probe hand the task.
    inbox: Option<mpsc::Sender<Inbound>>,
    /// Raised once the session is asked to end.
    closing: Latch,
    reason: OnceLock<DisconnectReason>,
    limit: usize,
}

impl crate::registry::Listed for Conn {
    fn id(&self) -> &str {
        &self.sid
    }

    fn close(&self, reason: DisconnectReason) {
        Conn::close(self, reason);
    }
}

impl Conn {
    pub(crate) fn new(
        sid: String,
        version: Version,
        binary_mode: BinaryMode,
        carrier: Carrier,
        limit: usize,
        inbox: Option<mpsc::Sender<Inbound>>,
    ) -> Conn {
        Conn {
            sid: sid.into_boxed_str(),
            version,
            binary_mode,
            state: Mutex::new(State {
                queue: Queue::new(),
                bytes: 0,
                closed: false,
                carrier,
                upgrading: false,
                get_pending: false,
                post_pending: false,
            }),
            ready: Notify::new(),
            doorbell: Doorbell::default(),
            signaled: AtomicBool::new(false),
            inbox,
            closing: Latch::default(),
            reason: OnceLock::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole: a panic elsewhere
        // cannot poison it into something half-made.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues packets together: nothing else is queued between them (a
    /// binary event and its attachments stay contiguous).
    pub(crate) fn push_all(
        &self,
        frames: impl IntoIterator<Item = Frame>,
    ) -> Result<(), PushError> {
        let carrier = {
            let mut state = self.lock();
            if state.closed {
                return Err(PushError::Closed);
            }
            let start = state.queue.len();
            let mut bytes = state.bytes;
            for frame in frames {
                bytes += frame_len(&frame);
                state.queue.push(frame);
            }
            if bytes > self.limit {
                state.queue.truncate(start);
                return Err(PushError::Full);
            }
            state.bytes = bytes;
            state.carrier
        };
        self.wake_carrier(carrier);
        Ok(())
    }

    /// Queues one packet.
    pub(crate) fn push(&self, frame: Frame) -> Result<(), PushError> {
        self.push_all([frame])
    }

    /// Queues a packet even past the byte limit (heartbeats and control
    /// packets must not be lost to a full queue); `false` once closed.
    pub(crate) fn push_control(&self, frame: Frame) -> bool {
        let carrier = {
            let mut state = self.lock();
            if state.closed {
                return false;
            }
            state.bytes += frame_len(&frame);
            state.queue.push(frame);
            state.carrier
        };
        self.wake_carrier(carrier);
        true
    }

    /// Wakes whoever writes the queue: the session's task while a
    /// WebSocket carries it, else a waiting GET.
    fn wake_carrier(&self, carrier: Carrier) {
        match carrier {
            Carrier::WebSocket => self.doorbell.ring(),
            Carrier::Polling | Carrier::Probing => self.ready.notify_one(),
        }
    }

    /// Everything queued, oldest first; the queue is then empty.
    pub(crate) fn take_all(&self) -> Queue {
        let mut state = self.lock();
        state.bytes = 0;
        std::mem::take(&mut state.queue)
    }

    /// Resolves when something was queued for a GET or the carrier changed
    /// since the last wake-up (maybe spuriously: check again).
    pub(crate) fn changed(&self) -> Notified<'_> {
        self.ready.notified()
    }

    /// The session's task: ready once output was queued for its WebSocket
    /// or the session was asked to end since it last was (maybe
    /// spuriously: check both). Meant for one task, the session's own.
    pub(crate) fn poll_doorbell(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.doorbell.poll(cx)
    }

    /// The session's task is about to queue output itself, and already
    /// writes it afterwards: its own pushes need not wake it.
    pub(crate) fn mute_doorbell(&self) {
        self.doorbell.mute();
    }

    /// The session's task is about to take the queue: a ring from before
    /// is answered by what it takes.
    pub(crate) fn answer_doorbell(&self) {
        self.doorbell.answer();
    }

    /// Asks the session's task, from any task, to call the layer above's
    /// `on_signal`.
    pub(crate) fn signal(&self) {
        self.signaled.store(true, Ordering::Release);
        self.doorbell.ring();
    }

    /// Whether a signal was raised since the last look.
    pub(crate) fn take_signal(&self) -> bool {
        self.signaled.load(Ordering::Relaxed) && self.signaled.swap(false, Ordering::AcqRel)
    }

    /// Ready once the session is asked to end; for the session's task
    /// while it waits on something else (it shares the doorbell, and
    /// leaves a ring for the task's next look).
    pub(crate) fn poll_closing(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_closing() {
            return Poll::Ready(());
        }
        self.doorbell.watch(cx);
        if self.is_closing() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    pub(crate) fn carrier(&self) -> Carrier {
        self.lock().carrier
    }

    /// Refuses further pushes and wakes whoever carries output.
    pub(crate) fn close_queue(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// Asks the session's task to end the session; the first reason wins.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        let _ = self.reason.set(reason);
        self.closing.raise();
        self.doorbell.ring();
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.is_raised()
    }

    /// Resolves once the session is asked to end.
    pub(crate) async fn closing(&self) {
        self.closing.raised().await
    }

    /// Why the session ends.
    pub(crate) fn close_reason(&self) -> DisconnectReason {
        self.reason
            .get()
            .copied()
            .unwrap_or(DisconnectReason::ServerShuttingDown)
    }

    /// The session's task inbox (polling sessions have one).
    pub(crate) fn inbox(&self) -> Option<&mpsc::Sender<Inbound>> {
        self.inbox.as_ref()
    }

    /// Claims the GET side of polling. `Err` with the reason the request
    /// must be refused.
    pub(crate) fn begin_get(&self) -> Result<Claim, ClaimError> {
        let mut state = self.lock();
        match state.carrier {
            Carrier::WebSocket => Err(ClaimError::Upgraded),
            _ if state.get_pending => Err(ClaimError::Concurrent),
            Carrier::Probing => Err(ClaimError::Probing),
            Carrier::Polling => {
                state.get_pending = true;
                Ok(Claim::Get)
            }
        }
    }

    /// Claims the POST side of polling.
    pub(crate) fn begin_post(&self) -> Result<Claim, ClaimError> {
        let mut state = self.lock();
        match state.carrier {
            Carrier::WebSocket => Err(ClaimError::Upgraded),
            _ if state.post_pending => Err(ClaimError::Concurrent),
            _ => {
                state.post_pending = true;
                Ok(Claim::Post)
            }
        }
    }

    pub(crate) fn end(&self, claim: Claim) {
        let mut state = self.lock();
        match claim {
            Claim::Get => state.get_pending = false,
            Claim::Post => state.post_pending = false,
        }
    }

    /// What a waiting GET should answer now, if anything: the queue while
    /// polling carries it, a noop once a probe or WebSocket took over, the
    /// rest of the queue and a close packet once the session closed.
    pub(crate) fn poll_answer(&self) -> Option<PollAnswer> {
        let mut state = self.lock();
        if state.carrier != Carrier::Polling {
            return Some(PollAnswer::Noop);
        }
        if state.closed {
            state.bytes = 0;
            return Some(PollAnswer::Closing(std::mem::take(&mut state.queue)));
        }
        if state.queue.is_empty() {
            return None;
        }
        state.bytes = 0;
        Some(PollAnswer::Frames(std::mem::take(&mut state.queue)))
    }

    /// Starts a probe; `false` when one exists or the session is not on
    /// polling.
    pub(crate) fn begin_upgrade(&self) -> bool {
        let mut state = self.lock();
        if state.upgrading || state.carrier != Carrier::Polling {
            return false;
        }
        state.upgrading = true;
        true
    }

    /// The probe answered `3probe`: pending and later GETs get a noop.
    pub(crate) fn probing(&self) {
        self.lock().carrier = Carrier::Probing;
        self.ready.notify_one();
    }

    /// The probe ended without `5`: back to polling.
    pub(crate) fn abort_upgrade(&self) {
        let mut state = self.lock();
        state.upgrading = false;
        if state.carrier == Carrier::Probing {
            state.carrier = Carrier::Polling;
        }
    }

    /// The client sent `5`: the WebSocket carries the session from now on.
    pub(crate) fn upgraded(&self) {
        let mut state = self.lock();
        state.upgrading = false;
        state.carrier = Carrier::WebSocket;
        drop(state);
        self.ready.notify_one();
        // What was queued for polling meanwhile is the task's to write now.
        self.doorbell.ring();
    }
}

/// A wake-up for one task, cheaper than a `Notify` for the one waiter it
/// has: a flag and a registered waker, no lock and no list. The session's
/// task is woken through it once per message it must write, so this is on
/// the path of every broadcast copy.
#[derive(Default)]
struct Doorbell {
    rung: AtomicBool,
    waker: AtomicWaker,
}

impl Doorbell {
    fn ring(&self) {
        self.rung.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        // Checked before registering: a task woken by the ring does not
        // register again for nothing.
        if self.rung.load(Ordering::Acquire) && self.rung.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        if self.rung.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Wakes this task at the next ring without taking the ring: for a
    /// task that waits on something else meanwhile.
    fn watch(&self, cx: &mut Context<'_>) {
        self.waker.register(cx.waker());
    }

    fn mute(&self) {
        drop(self.waker.take());
    }

    fn answer(&self) {
        // Acquire: a ring read here makes the push before it visible to
        // the take that follows.
        self.rung.swap(false, Ordering::Acquire);
    }
}

/// Which side of polling a request holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Get,
    Post,
}

/// Why a polling request cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// The session moved to WebSocket.
    Upgraded,
    /// Another request of the same kind is open.
    Concurrent,
    /// A probe is under way: answer a noop.
    Probing,
}

/// What a polling GET answers.
#[derive(Debug)]
pub(crate) enum PollAnswer {
    Frames(Queue),
    Noop,
    /// The session closed: what was left, then a close packet.
    Closing(Queue),
}

/// A session's outgoing packets. A few wait at a time, the common case:
/// they are kept inline, in the session's own memory, so a broadcast's
/// push to each of thousands of sessions, and the session's take, touch no
/// buffer of its own and allocate nothing.
pub(crate) type Queue = SmallVec<[Frame; 2]>;

fn frame_len(frame: &Frame) -> usize {
    match frame {
        Outgoing::Text(text) => text.len(),
        Outgoing::Binary(data) => data.len(),
    }
}

/// A text frame from a `String` without copying it.
pub(crate) fn text(packet: String) -> Frame {
    Outgoing::Text(Text::from(packet))
}

/// A static text frame (`2`, `3`, `6`...).
pub(crate) fn control(packet: &'static str) -> Frame {
    Outgoing::Text(Text::from_static(packet))
}

/// A binary frame.
pub(crate) fn binary(data: Bytes) -> Frame {
    Outgoing::Binary(data)
}
