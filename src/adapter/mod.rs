//! Adapters: how a namespace's broadcasts and cluster-wide operations reach
//! the sockets of other server processes.
//!
//! Every broadcast and every operation on a selection of sockets starts at
//! a [`BroadcastOperator`](crate::BroadcastOperator), which hands it to the
//! router's [`Adapter`]. The default, [`LocalAdapter`], does everything on
//! this process. A cluster adapter (the `tornadio-redis` crate) does the
//! same locally, tells the other servers, and applies what they tell it
//! through the [`LocalNamespace`] of each namespace.
//!
//! ```no_run
//! use tornadio::adapter::{Adapter, BroadcastOptions, LocalNamespace, Packet};
//!
//! /// Logs every broadcast, then does what the default does.
//! struct Logged;
//!
//! impl Adapter for Logged {
//!     fn broadcast(&self, ns: &LocalNamespace, packet: Packet, opts: BroadcastOptions) {
//!         println!("{} to {:?} in {}", packet.name(), opts.rooms, ns.name());
//!         ns.broadcast(packet, &opts);
//!     }
//! }
//!
//! # struct Chat;
//! # impl tornadio::Connection for Chat {
//! #     async fn on_message(&mut self, _: &tornadio::Socket, _: tornadio::Message) {}
//! # }
//! let router = tornadio::Router::new(|| Chat).adapter(Logged);
//! ```
//!
//! This module sits below the socket layer: it knows packets, selections
//! and the [`LocalNamespace`] seam, never sockets or wires.

mod error;
mod local;
mod types;

use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use serde_json::Value;

pub use error::{AdapterError, ServerAckError};
pub(crate) use local::LocalOps;
pub use local::{LocalNamespace, WeakNamespace};
pub(crate) use types::PacketBody;
pub use types::{
    AckEvent, BroadcastAcks, BroadcastOptions, Packet, ServerAck, ServerEvent, SocketInfo,
};

/// How the namespaces of one router reach beyond this process: node's
/// `Adapter`, one value for every namespace of a router.
///
/// Every method has a default that acts on this process alone (what
/// [`LocalAdapter`] does); a cluster adapter overrides them to also tell
/// the other servers, and applies their messages through the
/// [`LocalNamespace`] it was given in [`init`](Self::init). Methods that
/// only send return at once (queue what is to be published); those that
/// wait return a future that ends within the adapter's request timeout.
///
/// Calls that name `local` selections (`io.local()` in node) never reach
/// the adapter: the operator acts on this process itself.
pub trait Adapter: Send + Sync + 'static {
    /// A namespace exists on this process from now on: when a router is
    /// built (it may be rebuilt by its builder methods; the latest handle
    /// for a name wins), or when a client first connects to a namespace of
    /// a dynamic pattern. Subscribe to what other servers send it here.
    fn init(&self, ns: &LocalNamespace) {
        let _ = ns;
    }

    /// A dynamic namespace lost its last socket and was dropped.
    fn close(&self, ns: &LocalNamespace) {
        let _ = ns;
    }

    /// Sends `packet` to the selected sockets of every server.
    fn broadcast(&self, ns: &LocalNamespace, packet: Packet, opts: BroadcastOptions) {
        ns.broadcast(packet, &opts);
    }

    /// Sends `packet` to the selected sockets of every server, asking each
    /// client for an acknowledgement. Every server, this one included,
    /// reports how many clients it reached; the operator waits until
    /// [`server_count`](Self::server_count) servers reported and all their
    /// clients answered, or `timeout`.
    fn broadcast_with_ack(
        &self,
        ns: &LocalNamespace,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BroadcastAcks {
        ns.broadcast_with_ack(packet, &opts, timeout)
    }

    /// How many servers serve this namespace, this one included.
    fn server_count(&self, ns: &LocalNamespace) -> BoxFuture<'static, Result<usize, AdapterError>> {
        let _ = ns;
        Box::pin(future::ready(Ok(1)))
    }

    /// The selected sockets of every server.
    fn fetch_sockets(
        &self,
        ns: &LocalNamespace,
        opts: BroadcastOptions,
    ) -> BoxFuture<'static, Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(future::ready(Ok(ns.fetch_sockets(&opts))))
    }

    /// Every room with a socket in it on any server.
    fn all_rooms(
        &self,
        ns: &LocalNamespace,
    ) -> BoxFuture<'static, Result<Vec<String>, AdapterError>> {
        Box::pin(future::ready(Ok(ns.rooms())))
    }

    /// Makes the selected sockets of every server join `rooms`.
    fn add_sockets(&self, ns: &LocalNamespace, opts: BroadcastOptions, rooms: Vec<String>) {
        ns.add_sockets(&opts, &rooms);
    }

    /// Makes the selected sockets of every server leave `rooms`.
    fn del_sockets(&self, ns: &LocalNamespace, opts: BroadcastOptions, rooms: Vec<String>) {
        ns.del_sockets(&opts, &rooms);
    }

    /// Disconnects the selected sockets of every server; `close` closes
    /// each one's whole client connection.
    fn disconnect_sockets(&self, ns: &LocalNamespace, opts: BroadcastOptions, close: bool) {
        ns.disconnect_sockets(&opts, close);
    }

    /// Sends an event to the other servers' handlers of this namespace
    /// (not this one's).
    fn server_side_emit(&self, ns: &LocalNamespace, packet: Packet) {
        let _ = (ns, packet);
    }

    /// Sends an event to the other servers' handlers of this namespace and
    /// collects one answer per server, within `timeout` (`None`: the
    /// adapter's own request timeout, as node's).
    fn server_side_emit_with_ack(
        &self,
        ns: &LocalNamespace,
        packet: Packet,
        timeout: Option<Duration>,
    ) -> BoxFuture<'static, Result<Vec<Value>, ServerAckError>> {
        let _ = (ns, packet, timeout);
        Box::pin(future::ready(Ok(Vec::new())))
    }
}

/// The default adapter: one process, every operation local.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalAdapter;

impl Adapter for LocalAdapter {}
