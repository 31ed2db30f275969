//! What one adapter shares between its public handle and its two tasks:
//! the namespaces it serves, the requests it waits on, the publish queue,
//! and how it answers what other servers send.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use rand::Rng;
use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, watch};
use tornadio::adapter::{
    AckEvent, AdapterError, BroadcastAcks, BroadcastOptions, LocalNamespace, ServerAck,
    ServerEvent, WeakNamespace,
};

use crate::wire::{self, Channel, Channels, RequestKind, ResponseKind, kind};

/// How many publishes may wait for the connection before new ones are
/// dropped (with a warning).
const QUEUE: usize = 16 * 1024;

/// A message to publish.
pub(crate) struct Outgoing {
    pub(crate) channel: String,
    pub(crate) payload: Vec<u8>,
}

/// What the subscriber task is asked to do besides reading.
#[derive(Debug)]
pub(crate) enum Control {
    Subscribe(String),
    Unsubscribe(String),
}

pub(crate) struct Shared {
    pub(crate) uid: String,
    pub(crate) channels: Channels,
    pub(crate) request_timeout: Duration,
    pub(crate) client: redis::Client,
    namespaces: Mutex<HashMap<String, WeakNamespace>>,
    pending: Mutex<HashMap<String, mpsc::UnboundedSender<ResponseKind>>>,
    queue: mpsc::Sender<Outgoing>,
    pub(crate) queue_rx: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    control: mpsc::UnboundedSender<Control>,
    pub(crate) control_rx: Mutex<Option<mpsc::UnboundedReceiver<Control>>>,
    /// The publisher's connection, for commands (`PUBSUB NUMSUB`), while up.
    pub(crate) commands: Mutex<Option<MultiplexedConnection>>,
    /// Whether the subscriber connection is up and subscribed.
    pub(crate) subscribed: watch::Sender<bool>,
    pub(crate) started: AtomicBool,
    /// Publishes dropped since the last report.
    pub(crate) dropped: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh id of 6 characters `[A-Za-z0-9_-]`, as node's `uid2(6)`.
pub(crate) fn new_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

impl Shared {
    pub(crate) fn new(client: redis::Client, prefix: &str, request_timeout: Duration) -> Shared {
        let (queue, queue_rx) = mpsc::channel(QUEUE);
        let (control, control_rx) = mpsc::unbounded_channel();
        Shared {
            uid: new_id(),
            channels: Channels::new(prefix),
            request_timeout,
            client,
            namespaces: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            queue,
            queue_rx: Mutex::new(Some(queue_rx)),
            control,
            control_rx: Mutex::new(Some(control_rx)),
            commands: Mutex::new(None),
            subscribed: watch::Sender::new(false),
            started: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    // --- namespaces ---

    pub(crate) fn add_namespace(&self, ns: &LocalNamespace) {
        lock(&self.namespaces).insert(ns.name().to_owned(), ns.downgrade());
        let _ = self.control.send(Control::Subscribe(ns.name().to_owned()));
    }

    pub(crate) fn remove_namespace(&self, ns: &LocalNamespace) {
        let mut map = lock(&self.namespaces);
        if map
            .get(ns.name())
            .is_some_and(|known| known.ptr_eq(&ns.downgrade()))
        {
            map.remove(ns.name());
            drop(map);
            let _ = self
                .control
                .send(Control::Unsubscribe(ns.name().to_owned()));
        }
    }

    pub(crate) fn namespace_names(&self) -> Vec<String> {
        lock(&self.namespaces).keys().cloned().collect()
    }

    fn namespace(&self, name: &str) -> Option<LocalNamespace> {
        lock(&self.namespaces).get(name)?.upgrade()
    }

    // --- publishing ---

    /// Queues a message; never waits. While Redis is unreachable the queue
    /// is drained and counted, not kept: late broadcasts help nobody.
    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) {
        match self.queue.try_send(Outgoing { channel, payload }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!("Redis publish queue full; dropping messages");
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    // --- what other servers send ---

    /// One message from the subscriber connection.
    pub(crate) fn dispatch(&self, channel: &str, from_pattern: bool, payload: &[u8]) {
        if from_pattern {
            self.on_broadcast(payload);
            return;
        }
        match self.channels.classify(channel) {
            Channel::Request(nsp) => self.on_request(nsp, payload),
            Channel::Response => self.on_response(payload),
            Channel::Other => {}
        }
    }

    fn on_broadcast(&self, payload: &[u8]) {
        let broadcast = match wire::decode_broadcast(payload) {
            Ok(broadcast) => broadcast,
            Err(error) => {
                tracing::warn!(%error, "undecodable broadcast from Redis ignored");
                return;
            }
        };
        if broadcast.uid == self.uid {
            return;
        }
        if let Some(ns) = self.namespace(&broadcast.nsp) {
            tracing::trace!(nsp = %broadcast.nsp, event = broadcast.packet.name(), "remote broadcast");
            ns.broadcast(broadcast.packet, &broadcast.opts);
        }
    }

    fn on_request(&self, nsp: &str, payload: &[u8]) {
        let request = match wire::decode_request(payload) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(%error, nsp, "undecodable request from Redis ignored");
                return;
            }
        };
        if request.uid.as_deref() == Some(self.uid.as_str()) {
            return;
        }
        let Some(ns) = self.namespace(nsp) else {
            return;
        };
        let respond = |payload: Vec<u8>| self.publish(self.channels.response(nsp), payload);
        match request.kind {
            RequestKind::Sockets { request_id, opts } => {
                respond(wire::ids_response(&request_id, &ns.socket_ids(&opts)));
            }
            RequestKind::AllRooms { request_id } => {
                respond(wire::rooms_response(&request_id, &ns.rooms()));
            }
            RequestKind::Join { opts, rooms } => ns.add_sockets(&opts, &rooms),
            RequestKind::Leave { opts, rooms } => ns.del_sockets(&opts, &rooms),
            RequestKind::Disconnect { opts, close } => ns.disconnect_sockets(&opts, close),
            RequestKind::OneSocket {
                request_id,
                kind,
                sid,
                room,
                close,
            } => {
                if one_socket(&ns, kind, sid, room, close) {
                    respond(wire::bare_response(&request_id));
                }
            }
            RequestKind::Fetch { request_id, opts } => {
                respond(wire::sockets_response(
                    &request_id,
                    &ns.fetch_sockets(&opts),
                ));
            }
            RequestKind::ServerSideEmit { request_id, packet } => {
                let (name, args) = packet.into_parts();
                let mut event = ServerEvent::new(name, args);
                if let Some(request_id) = request_id {
                    event = event.with_ack(self.server_ack(nsp, request_id));
                }
                ns.server_event(event);
            }
            RequestKind::Broadcast {
                request_id,
                packet,
                opts,
                timeout,
            } => {
                let timeout = timeout.unwrap_or(self.request_timeout);
                let acks = ns.broadcast_with_ack(packet, &opts, timeout);
                self.forward_acks(nsp, request_id, acks);
            }
            RequestKind::Unknown(kind) => {
                tracing::debug!(kind, "request of an unknown type ignored");
            }
        }
    }

    /// The answer to another server's server-side event: published once,
    /// to the namespace's response channel.
    fn server_ack(&self, nsp: &str, request_id: String) -> ServerAck {
        let queue = self.queue.clone();
        let channel = self.channels.response(nsp);
        ServerAck::new(move |value| {
            let payload = wire::server_ack_response(&request_id, &value);
            let _ = queue.try_send(Outgoing { channel, payload });
        })
    }

    /// Answers an acknowledged broadcast of another server: the client
    /// count, even `0`, then each client's answer as it comes.
    fn forward_acks(&self, nsp: &str, request_id: String, mut acks: BroadcastAcks) {
        let queue = self.queue.clone();
        let channel = self.channels.response(nsp);
        tokio::spawn(async move {
            while let Some(event) = acks.next().await {
                let payload = match &event {
                    AckEvent::Reached(count) => wire::client_count_response(&request_id, *count),
                    AckEvent::Answer(args) => wire::client_ack_response(&request_id, args),
                    _ => continue,
                };
                let outgoing = Outgoing {
                    channel: channel.clone(),
                    payload,
                };
                if queue.send(outgoing).await.is_err() {
                    return;
                }
            }
        });
    }

    fn on_response(&self, payload: &[u8]) {
        let response = match wire::decode_response(payload) {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(%error, "undecodable response ignored");
                return;
            }
        };
        let mut pending = lock(&self.pending);
        if let Some(sender) = pending.get(&response.request_id)
            && sender.send(response.kind).is_err()
        {
            pending.remove(&response.request_id);
        }
    }

    // --- this server's requests ---

    /// Waits for the answers to request `request_id`; registered before the
    /// request is published, unregistered when dropped.
    pub(crate) fn expect(self: &Arc<Self>, request_id: &str) -> Pending {
        let (sender, receiver) = mpsc::unbounded_channel();
        lock(&self.pending).insert(request_id.to_owned(), sender);
        Pending {
            shared: Arc::clone(self),
            request_id: request_id.to_owned(),
            receiver,
        }
    }

    /// How many servers serve `nsp`, this one included: the subscribers of
    /// its request channel, as node counts them.
    pub(crate) async fn server_count(&self, nsp: &str) -> Result<usize, AdapterError> {
        if !*self.subscribed.borrow() {
            return Err(AdapterError::Unavailable(
                "not subscribed to Redis (reconnecting)".into(),
            ));
        }
        let connection = lock(&self.commands).clone();
        let Some(mut connection) = connection else {
            return Err(AdapterError::Unavailable(
                "not connected to Redis (reconnecting)".into(),
            ));
        };
        let mut command = redis::cmd("PUBSUB");
        command.arg("NUMSUB").arg(self.channels.request(nsp));
        let query = command.query_async::<(String, i64)>(&mut connection);
        match tokio::time::timeout(self.request_timeout, query).await {
            Ok(Ok((_, count))) => Ok(usize::try_from(count).unwrap_or(0)),
            Ok(Err(error)) => Err(AdapterError::Unavailable(error.to_string())),
            Err(_) => Err(AdapterError::Unavailable("PUBSUB NUMSUB timed out".into())),
        }
    }

    /// The stream of another servers' answers to an acknowledged broadcast,
    /// ending at `timeout`.
    pub(crate) fn remote_acks(
        self: &Arc<Self>,
        request_id: &str,
        timeout: Duration,
    ) -> BroadcastAcks {
        let pending = self.expect(request_id);
        let deadline = deadline_after(timeout);
        let events = stream::unfold(pending, move |mut pending| async move {
            loop {
                let answer = tokio::time::timeout_at(deadline, pending.receiver.recv()).await;
                match answer {
                    Ok(Some(ResponseKind::ClientCount(count))) => {
                        return Some((AckEvent::Reached(count), pending));
                    }
                    Ok(Some(ResponseKind::ClientAck(args))) => {
                        return Some((AckEvent::Answer(args), pending));
                    }
                    Ok(Some(_)) => continue,
                    _ => return None,
                }
            }
        });
        BroadcastAcks::from_stream(events)
    }
}

/// Old adapters' join, leave or disconnect of one socket by id: done if
/// the socket is here (`true`: then it is answered).
fn one_socket(ns: &LocalNamespace, kind: u64, sid: String, room: String, close: bool) -> bool {
    let opts = BroadcastOptions::new().rooms([sid]);
    if ns.socket_ids(&opts).is_empty() {
        return false;
    }
    match kind {
        kind::REMOTE_JOIN => ns.add_sockets(&opts, &[room]),
        kind::REMOTE_LEAVE => ns.del_sockets(&opts, &[room]),
        _ => ns.disconnect_sockets(&opts, close),
    }
    true
}

/// When a wait of `timeout` (from configuration) ends; a year for absurd
/// values rather than an overflow.
fn deadline_after(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

/// A request's answers as they come.
pub(crate) struct Pending {
    shared: Arc<Shared>,
    request_id: String,
    receiver: mpsc::UnboundedReceiver<ResponseKind>,
}

impl Pending {
    /// The answers of `expected` servers, or what came before the timeout.
    pub(crate) async fn gather(
        mut self,
        expected: usize,
        timeout: Duration,
    ) -> Result<Vec<ResponseKind>, (AdapterError, Vec<ResponseKind>)> {
        let deadline = deadline_after(timeout);
        let mut answers = Vec::with_capacity(expected);
        while answers.len() < expected {
            match tokio::time::timeout_at(deadline, self.receiver.recv()).await {
                Ok(Some(answer)) => answers.push(answer),
                Ok(None) | Err(_) => {
                    let error = AdapterError::Timeout {
                        answered: answers.len(),
                        expected,
                        timeout,
                    };
                    return Err((error, answers));
                }
            }
        }
        Ok(answers)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        lock(&self.shared.pending).remove(&self.request_id);
    }
}
