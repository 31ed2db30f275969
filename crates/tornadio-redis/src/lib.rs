//! # tornadio-redis
//!
//! A Redis [`Adapter`] for [tornadio]: several server processes
//! share their namespaces, rooms and broadcasts through Redis pub/sub,
//! speaking the wire format of node's `@socket.io/redis-adapter` 8, so a
//! tornadio process joins a cluster of node socket.io servers, and obeys
//! `@socket.io/redis-emitter` 5.
//!
//! ```no_run
//! use tornadio::{Connection, Message, Router, Socket, SocketServer};
//! use tornadio_redis::RedisAdapter;
//!
//! struct Chat;
//! impl Connection for Chat {
//!     async fn on_message(&mut self, socket: &Socket, message: Message) {
//!         // Every participant, on every process.
//!         socket.sockets().broadcast(message);
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let adapter = RedisAdapter::new("redis://127.0.0.1:6379")?.prefix("socket.io");
//!     let router = Router::new(|| Chat).adapter(adapter.clone());
//!     adapter.ready().await; // subscribed: remote broadcasts arrive from now on
//!     SocketServer::new(axum::Router::new().merge(router)).port(8001).run().await?;
//!     Ok(())
//! }
//! ```
//!
//! ## What goes through Redis
//!
//! | operation | tornadio | node |
//! |---|---|---|
//! | broadcast to all, rooms, `except`, binary | `io.of(nsp).to(r).except(x).emit(..)`, `socket.broadcast()`, `Sockets::broadcast` | `io.to(r).except(x).emit(..)` |
//! | acknowledged broadcast | `.timeout(d).emit_with_ack(..)` | `io.timeout(d).emit(.., cb)` |
//! | fetch sockets | `.fetch_sockets()` | `fetchSockets()` |
//! | all rooms | `.all_rooms()` | `adapter.allRooms()` |
//! | join, leave, disconnect | `.sockets_join(r)`, `.sockets_leave(r)`, `.disconnect_sockets()`, `.close_sockets()` | `socketsJoin`, `socketsLeave`, `disconnectSockets` |
//! | server-side events | `.server_side_emit(..)`, `.server_side_emit_with_ack(..)`, [`Router::on_server_event`](tornadio::Router::on_server_event) | `serverSideEmit`, `serverSideEmitWithAck`, `io.on(..)` |
//!
//! Each process keeps one subscriber connection (subscribed to every
//! namespace it serves) and one publishing connection. Node counts the
//! servers of a namespace by the subscribers of its request channel
//! (`PUBSUB NUMSUB`) and waits for an answer from each: this adapter
//! answers every request node sends.
//!
//! ## When Redis goes away
//!
//! Local delivery goes on. The adapter logs, reconnects with backoff (up to
//! a second between attempts) and resubscribes; what was to be published
//! meanwhile is dropped, as pub/sub would. Requests in flight (fetching
//! sockets, counting servers, acknowledgements) fail with an
//! [`AdapterError`] within the request
//! timeout, never hang. A server that leaves is no longer counted, so no
//! longer waited for.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod link;
mod shared;
mod value;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tornadio::adapter::{
    Adapter, AdapterError, BroadcastAcks, BroadcastOptions, LocalNamespace, Packet, ServerAckError,
    SocketInfo,
};

use shared::{Shared, new_id};
use wire::{ResponseKind, kind};

/// A Redis URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisAdapterError {
    /// The URL is not a Redis URL (`redis://host:port/db`,
    /// `redis+unix:///path`...).
    #[error("invalid Redis URL: {0}")]
    Url(#[source] redis::RedisError),
}

/// What a [`RedisAdapter`] is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// The key prefix of every channel (node's `key`): `socket.io`.
    pub prefix: String,
    /// How long a request to the other servers (fetching sockets, rooms,
    /// server-side acknowledgements) waits for their answers: 5 s, as node.
    pub request_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> RedisOptions {
        RedisOptions {
            prefix: "socket.io".to_owned(),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// The Redis adapter: give it to [`Router::adapter`](tornadio::Router::adapter).
/// Cheap to clone; clones are the same adapter. Its connections open on
/// first use inside a tokio runtime (build the router inside one, or
/// await [`ready`](Self::ready)).
#[derive(Clone)]
pub struct RedisAdapter {
    shared: Arc<Shared>,
    options: RedisOptions,
}

impl fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.shared.uid)
            .field("options", &self.options)
            .finish()
    }
}

impl RedisAdapter {
    /// An adapter for the Redis server at `url`, with the default options.
    /// Nothing connects yet.
    ///
    /// # Errors
    /// [`RedisAdapterError::Url`] when `url` is not a Redis URL.
    pub fn new(url: &str) -> Result<RedisAdapter, RedisAdapterError> {
        RedisAdapter::with_options(url, RedisOptions::default())
    }

    /// An adapter with the given options.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(
        url: &str,
        options: RedisOptions,
    ) -> Result<RedisAdapter, RedisAdapterError> {
        let client = redis::Client::open(url).map_err(RedisAdapterError::Url)?;
        let shared = Arc::new(Shared::new(
            client,
            &options.prefix,
            options.request_timeout,
        ));
        Ok(RedisAdapter { shared, options })
    }

    fn rebuilt(self, change: impl FnOnce(&mut RedisOptions)) -> RedisAdapter {
        let mut options = self.options;
        change(&mut options);
        let client = self.shared.client.clone();
        let shared = Arc::new(Shared::new(
            client,
            &options.prefix,
            options.request_timeout,
        ));
        RedisAdapter { shared, options }
    }

    /// Uses `prefix` for every channel instead of `socket.io` (node's
    /// `key` option). Call before giving the adapter to a router.
    pub fn prefix(self, prefix: &str) -> RedisAdapter {
        let prefix = prefix.to_owned();
        self.rebuilt(|o| o.prefix = prefix)
    }

    /// How long requests to the other servers wait (default 5 s). Call
    /// before giving the adapter to a router.
    pub fn request_timeout(self, timeout: Duration) -> RedisAdapter {
        self.rebuilt(|o| o.request_timeout = timeout)
    }

    /// The options in force.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// This server's id in the cluster (6 characters, as node's).
    pub fn uid(&self) -> &str {
        &self.shared.uid
    }

    /// Resolves once the subscriber connection is up and subscribed to
    /// every namespace of the router (again, after a reconnection). Starts
    /// the connections if the router was built outside a runtime.
    pub async fn ready(&self) {
        link::start(&self.shared);
        let mut subscribed = self.shared.subscribed.subscribe();
        let _ = subscribed.wait_for(|up| *up).await;
    }

    /// Whether the subscriber connection is up now.
    pub fn is_connected(&self) -> bool {
        *self.shared.subscribed.borrow()
    }

    fn publish_request(&self, nsp: &str, payload: Vec<u8>) {
        link::start(&self.shared);
        self.shared
            .publish(self.shared.channels.request(nsp), payload);
    }
}

impl Adapter for RedisAdapter {
    fn init(&self, ns: &LocalNamespace) {
        self.shared.add_namespace(ns);
        if !link::start(&self.shared) {
            tracing::debug!("no tokio runtime yet: Redis connections open on first use");
        }
    }

    fn close(&self, ns: &LocalNamespace) {
        self.shared.remove_namespace(ns);
    }

    fn broadcast(&self, ns: &LocalNamespace, packet: Packet, opts: BroadcastOptions) {
        link::start(&self.shared);
        let channel = self.shared.channels.broadcast_to(ns.name(), &opts);
        let payload = wire::broadcast(&self.shared.uid, ns.name(), &packet, &opts);
        self.shared.publish(channel, payload);
        ns.broadcast(packet, &opts);
    }

    fn broadcast_with_ack(
        &self,
        ns: &LocalNamespace,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BroadcastAcks {
        let request_id = new_id();
        let remote = self.shared.remote_acks(&request_id, timeout);
        let request = wire::broadcast_request(
            &self.shared.uid,
            &request_id,
            ns.name(),
            &packet,
            &opts,
            timeout,
        );
        self.publish_request(ns.name(), request);
        ns.broadcast_with_ack(packet, &opts, timeout).merge(remote)
    }

    fn server_count(&self, ns: &LocalNamespace) -> BoxFuture<'static, Result<usize, AdapterError>> {
        link::start(&self.shared);
        let shared = Arc::clone(&self.shared);
        let nsp = ns.name().to_owned();
        Box::pin(async move { shared.server_count(&nsp).await })
    }

    fn fetch_sockets(
        &self,
        ns: &LocalNamespace,
        opts: BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, AdapterError>> {
        let mut sockets = ns.fetch_sockets(&opts);
        let this = self.clone();
        let nsp = ns.name().to_owned();
        Box::pin(async move {
            let request_id = new_id();
            let payload = wire::fetch_request(&this.shared.uid, &request_id, &opts);
            for answer in this.ask(&nsp, &request_id, payload).await? {
                if let ResponseKind::Sockets(found) = answer {
                    sockets.extend(found);
                }
            }
            Ok(sockets)
        })
    }

    fn all_rooms(
        &self,
        ns: &LocalNamespace,
    ) -> BoxFuture<'static, Result<Vec<String>, AdapterError>> {
        let mut rooms = ns.rooms();
        let this = self.clone();
        let nsp = ns.name().to_owned();
        Box::pin(async move {
            let request_id = new_id();
            let payload = wire::all_rooms_request(&this.shared.uid, &request_id);
            for answer in this.ask(&nsp, &request_id, payload).await? {
                if let ResponseKind::Rooms(found) = answer {
                    rooms.extend(found);
                }
            }
            rooms.sort();
            rooms.dedup();
            Ok(rooms)
        })
    }

    fn add_sockets(&self, ns: &LocalNamespace, opts: BroadcastOptions, rooms: Vec<String>) {
        let request = wire::rooms_request(&self.shared.uid, kind::REMOTE_JOIN, &opts, &rooms);
        self.publish_request(ns.name(), request);
        ns.add_sockets(&opts, &rooms);
    }

    fn del_sockets(&self, ns: &LocalNamespace, opts: BroadcastOptions, rooms: Vec<String>) {
        let request = wire::rooms_request(&self.shared.uid, kind::REMOTE_LEAVE, &opts, &rooms);
        self.publish_request(ns.name(), request);
        ns.del_sockets(&opts, &rooms);
    }

    fn disconnect_sockets(&self, ns: &LocalNamespace, opts: BroadcastOptions, close: bool) {
        let request = wire::disconnect_request(&self.shared.uid, &opts, close);
        self.publish_request(ns.name(), request);
        ns.disconnect_sockets(&opts, close);
    }

    fn server_side_emit(&self, ns: &LocalNamespace, packet: Packet) {
        let request = wire::server_side_emit_request(&self.shared.uid, None, &packet);
        self.publish_request(ns.name(), request);
    }

    fn server_side_emit_with_ack(
        &self,
        ns: &LocalNamespace,
        packet: Packet,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Value>, ServerAckError>> {
        let this = self.clone();
        let timeout = timeout.unwrap_or(self.shared.request_timeout);
        let nsp = ns.name().to_owned();
        Box::pin(async move {
            let servers = this
                .shared
                .server_count(&nsp)
                .await
                .map_err(|e| ServerAckError::new(e, Vec::new()))?;
            let expected = servers.saturating_sub(1);
            if expected == 0 {
                return Ok(Vec::new());
            }
            let request_id = new_id();
            let pending = this.shared.expect(&request_id);
            let payload =
                wire::server_side_emit_request(&this.shared.uid, Some(&request_id), &packet);
            this.publish_request(&nsp, payload);
            let answers = |kinds: Vec<ResponseKind>| -> Vec<Value> {
                kinds
                    .into_iter()
                    .filter_map(|k| match k {
                        ResponseKind::ServerAck(value) => Some(value),
                        _ => None,
                    })
                    .collect()
            };
            match pending.gather(expected, timeout).await {
                Ok(kinds) => Ok(answers(kinds)),
                Err((error, kinds)) => Err(ServerAckError::new(error, answers(kinds))),
            }
        })
    }
}

impl RedisAdapter {
    /// Sends a request every other server answers, and collects their
    /// answers: as many as the request channel has other subscribers.
    async fn ask(
        &self,
        nsp: &str,
        request_id: &str,
        payload: Vec<u8>,
    ) -> Result<Vec<ResponseKind>, AdapterError> {
        let expected = self.shared.server_count(nsp).await?.saturating_sub(1);
        if expected == 0 {
            return Ok(Vec::new());
        }
        let pending = self.shared.expect(request_id);
        self.publish_request(nsp, payload);
        pending
            .gather(expected, self.shared.request_timeout)
            .await
            .map_err(|(error, _)| error)
    }
}
