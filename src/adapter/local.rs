//! [`LocalNamespace`]: a namespace's sockets on this process, as an
//! adapter reaches them to apply what other servers sent.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{BroadcastAcks, BroadcastOptions, Packet, ServerEvent, SocketInfo};

/// What the socket layer does for an adapter, on this process only. The
/// socket layer implements it; adapters see it through [`LocalNamespace`].
pub(crate) trait LocalOps: Send + Sync {
    fn name(&self) -> &str;
    fn broadcast(&self, packet: Packet, opts: &BroadcastOptions);
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BroadcastAcks;
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo>;
    fn socket_ids(&self, opts: &BroadcastOptions) -> Vec<String>;
    fn rooms(&self) -> Vec<String>;
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]);
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]);
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);
    fn server_event(&self, event: ServerEvent) -> bool;
}

/// One namespace's sockets on this process: what an [`Adapter`](super::Adapter)
/// applies a remote server's broadcast or request to, and what the default
/// behaviour of each adapter method does. Cheap to clone.
#[derive(Clone)]
pub struct LocalNamespace {
    ops: Arc<dyn LocalOps>,
}

impl fmt::Debug for LocalNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalNamespace")
            .field("name", &self.name())
            .finish()
    }
}

impl LocalNamespace {
    pub(crate) fn new(ops: Arc<dyn LocalOps>) -> LocalNamespace {
        LocalNamespace { ops }
    }

    /// The namespace's name, e.g. `/` or `/chat`.
    pub fn name(&self) -> &str {
        self.ops.name()
    }

    /// Sends `packet` to the selected sockets here, encoded once per client
    /// generation. 0.6 clients get `message` events of one argument and
    /// skip the rest.
    pub fn broadcast(&self, packet: Packet, opts: &BroadcastOptions) {
        self.ops.broadcast(packet, opts);
    }

    /// Sends `packet` to the selected sockets here asking each for an
    /// acknowledgement: first [`AckEvent::Reached`](super::AckEvent::Reached)
    /// with how many it went to, then each answer that comes within
    /// `timeout`. Clients that cannot answer (0.6) are skipped.
    pub fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BroadcastAcks {
        self.ops.broadcast_with_ack(packet, opts, timeout)
    }

    /// The selected sockets here, described.
    pub fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        self.ops.fetch_sockets(opts)
    }

    /// The ids of the selected sockets here.
    pub fn socket_ids(&self, opts: &BroadcastOptions) -> Vec<String> {
        self.ops.socket_ids(opts)
    }

    /// Every room with a socket in it here, the id-rooms included.
    pub fn rooms(&self) -> Vec<String> {
        self.ops.rooms()
    }

    /// Makes the selected sockets here join `rooms`.
    pub fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.ops.add_sockets(opts, rooms);
    }

    /// Makes the selected sockets here leave `rooms`.
    pub fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.ops.del_sockets(opts, rooms);
    }

    /// Disconnects the selected sockets here; `close` closes each one's
    /// whole client connection.
    pub fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.ops.disconnect_sockets(opts, close);
    }

    /// Hands a server-side event to the namespace's handler
    /// ([`Router::on_server_event`](crate::Router::on_server_event));
    /// `false` when it has none (the event and its answer are dropped).
    pub fn server_event(&self, event: ServerEvent) -> bool {
        self.ops.server_event(event)
    }

    /// A handle that does not keep the namespace alive.
    pub fn downgrade(&self) -> WeakNamespace {
        WeakNamespace {
            ops: Arc::downgrade(&self.ops),
        }
    }
}

/// A [`LocalNamespace`] that does not keep the namespace alive: what an
/// adapter keeps between calls.
#[derive(Clone)]
pub struct WeakNamespace {
    ops: Weak<dyn LocalOps>,
}

impl fmt::Debug for WeakNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakNamespace").finish_non_exhaustive()
    }
}

impl WeakNamespace {
    /// The namespace, while its router lives.
    pub fn upgrade(&self) -> Option<LocalNamespace> {
        self.ops.upgrade().map(LocalNamespace::new)
    }

    /// Whether both handles name the same namespace of the same router.
    pub fn ptr_eq(&self, other: &WeakNamespace) -> bool {
        Weak::ptr_eq(&self.ops, &other.ops)
    }
}
