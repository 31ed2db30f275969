//! Namespaces: the connection type that serves each, the sockets connected
//! to it here, and their rooms (the in-process adapter).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use futures_util::future::BoxFuture;

use super::io::IoInner;
use super::{Event, Io, Socket};
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

/// Which sockets of a namespace a broadcast or an operation reaches.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    /// Sockets in any of these rooms; every socket when empty.
    pub(crate) rooms: Vec<Arc<str>>,
    /// Minus the sockets in any of these rooms.
    pub(crate) except: Vec<Arc<str>>,
}

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
}

impl Namespace {
    pub(crate) fn new(
        name: Arc<str>,
        factory: Factory,
        settings: Arc<Settings>,
        dynamic: bool,
        io: Weak<IoInner>,
    ) -> Namespace {
        Namespace {
            name,
            factory,
            settings,
            dynamic,
            io,
            members: RwLock::new(Members::default()),
            next_ack: AtomicU64::new(0),
        }
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

    /// The sockets a selector reaches, minus the ids in `except_ids`.
    pub(crate) fn select(&self, selector: &Selector, except_ids: &[Arc<str>]) -> Vec<Socket> {
        let members = self.read();
        let excluded = |id: &str| {
            except_ids.iter().any(|e| &**e == id)
                || selector
                    .except
                    .iter()
                    .any(|room| members.rooms.get(room).is_some_and(|set| set.contains(id)))
        };
        if selector.rooms.is_empty() {
            return members
                .sockets
                .iter()
                .filter(|(id, _)| !excluded(id))
                .map(|(_, m)| m.socket.clone())
                .collect();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for room in &selector.rooms {
            let Some(set) = members.rooms.get(room) else {
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
