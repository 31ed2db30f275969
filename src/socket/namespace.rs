//! Namespaces: the connection type that serves each, the sockets connected
//! to it here, and their rooms (the in-process adapter).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use futures_util::future::BoxFuture;

use super::io::IoInner;
use super::{Event, Io, Socket};
use crate::adapter::{Adapter, BroadcastOptions, LocalNamespace, ServerEvent};
use crate::connection::{Connection, OpenInfo};
use crate::message::Message;
use crate::settings::Settings;
use crate::{DisconnectReason, Refused};

/// A [`Connection`] behind a pointer: the namespaces of one client may be
/// served by different types.
pub(crate) trait DynConnection: Send {
    fn on_open<'a>(
        &'a mut self,
        socket: &'a Socket,
        info: &'a OpenInfo,
    ) -> BoxFuture<'a, Result<(), Refused>>;
    fn on_message<'a>(&'a mut self, socket: &'a Socket, message: Message) -> BoxFuture<'a, ()>;
    fn on_event<'a>(&'a mut self, socket: &'a Socket, event: Event) -> BoxFuture<'a, ()>;
    fn on_close<'a>(
        &'a mut self,
        socket: &'a Socket,
        reason: DisconnectReason,
    ) -> BoxFuture<'a, ()>;
}

impl<C: Connection> DynConnection for C {
    fn on_open<'a>(
        &'a mut self,
        socket: &'a Socket,
        info: &'a OpenInfo,
    ) -> BoxFuture<'a, Result<(), Refused>> {
        Box::pin(Connection::on_open(self, socket, info))
    }
    fn on_message<'a>(&'a mut self, socket: &'a Socket, message: Message) -> BoxFuture<'a, ()> {
        Box::pin(Connection::on_message(self, socket, message))
    }
    fn on_event<'a>(&'a mut self, socket: &'a Socket, event: Event) -> BoxFuture<'a, ()> {
        Box::pin(Connection::on_event(self, socket, event))
    }
    fn on_close<'a>(
        &'a mut self,
        socket: &'a Socket,
        reason: DisconnectReason,
    ) -> BoxFuture<'a, ()> {
        Box::pin(Connection::on_close(self, socket, reason))
    }
}

/// Makes a connection value per socket.
pub(crate) type Factory = Arc<dyn Fn() -> Box<dyn DynConnection> + Send + Sync>;

/// Wraps an application factory.
pub(crate) fn factory<C, F>(make: F) -> Factory
where
    C: Connection,
    F: Fn() -> C + Send + Sync + 'static,
{
    Arc::new(move || Box::new(make()) as Box<dyn DynConnection>)
}

/// A connect middleware: sees the handshake, may refuse.
pub(crate) type Middleware = Arc<dyn Fn(&OpenInfo) -> Result<(), Refused> + Send + Sync>;

/// One socket's entry: the handle and the rooms it is in.
struct Member {
    socket: Socket,
    rooms: Vec<Arc<str>>,
}

#[derive(Default)]
struct Members {
    sockets: HashMap<Arc<str>, Member>,
    rooms: HashMap<Arc<str>, HashSet<Arc<str>>>,
}

/// What the application does with events from other servers of a
/// namespace ([`Router::on_server_event`](crate::Router::on_server_event)).
pub(crate) type ServerEventHandler = Arc<dyn Fn(ServerEvent) + Send + Sync>;

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .finish()
    }
}

pub(crate) struct Namespace {
    pub(crate) name: Arc<str>,
    pub(crate) factory: Factory,
    pub(crate) settings: Arc<Settings>,
    /// Created for a dynamic pattern: dropped once its last socket leaves.
    pub(crate) dynamic: bool,
    io: Weak<IoInner>,
    members: RwLock<Members>,
    next_ack: AtomicU64,
    /// How broadcasts and operations reach other servers.
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) server_events: Option<ServerEventHandler>,
}

impl Namespace {
    pub(crate) fn new(
        name: Arc<str>,
        factory: Factory,
        settings: Arc<Settings>,
        dynamic: bool,
        io: Weak<IoInner>,
        adapter: Arc<dyn Adapter>,
        server_events: Option<ServerEventHandler>,
    ) -> Namespace {
        Namespace {
            name,
            factory,
            settings,
            dynamic,
            io,
            members: RwLock::new(Members::default()),
            next_ack: AtomicU64::new(0),
            adapter,
            server_events,
        }
    }

    /// This namespace as adapters see it.
    pub(crate) fn local(self: &Arc<Self>) -> LocalNamespace {
        LocalNamespace::new(Arc::clone(self) as Arc<dyn crate::adapter::LocalOps>)
    }

    fn read(&self) -> RwLockReadGuard<'_, Members> {
        self.members.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Members> {
        self.members.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The server handle.
    pub(crate) fn io(&self) -> Io {
        Io::from_weak(&self.io)
    }

    /// A fresh acknowledgement id (node counts per namespace).
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    /// Lists a socket, in the room named by its id.
    pub(crate) fn insert(&self, socket: Socket) {
        let id = Arc::clone(&socket.inner.id);
        let mut members = self.write();
        members
            .rooms
            .entry(Arc::clone(&id))
            .or_default()
            .insert(Arc::clone(&id));
        members.sockets.insert(
            Arc::clone(&id),
            Member {
                socket,
                rooms: vec![id],
            },
        );
    }

    /// Unlists a socket and takes it out of its rooms. `true` when the
    /// namespace is left empty.
    pub(crate) fn remove(&self, id: &str) -> bool {
        let mut members = self.write();
        if let Some(member) = members.sockets.remove(id) {
            for room in member.rooms {
                if let Some(set) = members.rooms.get_mut(&room) {
                    set.remove(id);
                    if set.is_empty() {
                        members.rooms.remove(&room);
                    }
                }
            }
        }
        members.sockets.is_empty()
    }

    pub(crate) fn join(&self, id: &str, rooms: &[String]) {
        let mut members = self.write();
        let Some(key) = members
            .sockets
            .get_key_value(id)
            .map(|(k, _)| Arc::clone(k))
        else {
            return;
        };
        for room in rooms {
            let room: Arc<str> = match members.rooms.get_key_value(room.as_str()) {
                Some((existing, _)) => Arc::clone(existing),
                None => Arc::from(room.as_str()),
            };
            let fresh = members
                .rooms
                .entry(Arc::clone(&room))
                .or_default()
                .insert(Arc::clone(&key));
            if fresh && let Some(member) = members.sockets.get_mut(id) {
                member.rooms.push(room);
            }
        }
    }

    pub(crate) fn leave(&self, id: &str, room: &str) {
        let mut members = self.write();
        let Some(member) = members.sockets.get_mut(id) else {
            return;
        };
        member.rooms.retain(|r| &**r != room);
        if let Some(set) = members.rooms.get_mut(room) {
            set.remove(id);
            if set.is_empty() {
                members.rooms.remove(room);
            }
        }
    }

    pub(crate) fn rooms_of(&self, id: &str) -> Vec<String> {
        self.read()
            .sockets
            .get(id)
            .map(|m| m.rooms.iter().map(|r| r.to_string()).collect())
            .unwrap_or_default()
    }

    /// Every room with a socket in it here.
    pub(crate) fn all_rooms(&self) -> Vec<String> {
        self.read().rooms.keys().map(|r| r.to_string()).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.read().sockets.len()
    }

    pub(crate) fn get(&self, id: &str) -> Option<Socket> {
        self.read().sockets.get(id).map(|m| m.socket.clone())
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.read()
            .sockets
            .keys()
            .map(|id| id.to_string())
            .collect()
    }

    /// The sockets `opts` selects. A name in `except` leaves out the
    /// sockets in that room and the socket with that id.
    pub(crate) fn select(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        let members = self.read();
        let excluded = |id: &str| {
            opts.except.iter().any(|room| {
                room == id
                    || members
                        .rooms
                        .get(room.as_str())
                        .is_some_and(|set| set.contains(id))
            })
        };
        if opts.rooms.is_empty() {
            return members
                .sockets
                .iter()
                .filter(|(id, _)| !excluded(id))
                .map(|(_, m)| m.socket.clone())
                .collect();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for room in &opts.rooms {
            let Some(set) = members.rooms.get(room.as_str()) else {
                continue;
            };
            for id in set {
                if seen.insert(Arc::clone(id))
                    && !excluded(id)
                    && let Some(member) = members.sockets.get(id)
                {
                    out.push(member.socket.clone());
                }
            }
        }
        out
    }
}
