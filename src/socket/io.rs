//! [`Io`], the server handle, and [`Sockets`], a namespace's live sockets.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock, Weak};

use regex::Regex;

use super::namespace::{Factory, Middleware, Namespace, ServerEventHandler};
use super::{BroadcastOperator, Socket};
use crate::adapter::{Adapter, LocalAdapter};
use crate::message::Outgoing;
use crate::settings::Settings;

/// The namespaces of one router and what serves them.
pub(crate) struct IoInner {
    pub(crate) settings: Arc<Settings>,
    namespaces: RwLock<HashMap<Arc<str>, Arc<Namespace>>>,
    dynamic: Vec<(Regex, Factory)>,
    pub(crate) middleware: Vec<Middleware>,
    adapter: Arc<dyn Adapter>,
    server_events: HashMap<String, ServerEventHandler>,
}

/// How a router's namespaces reach other servers: the adapter, and the
/// handlers of events other servers send, by namespace.
#[derive(Clone)]
pub(crate) struct Cluster {
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) server_events: HashMap<String, ServerEventHandler>,
}

impl Default for Cluster {
    fn default() -> Cluster {
        Cluster {
            adapter: Arc::new(LocalAdapter),
            server_events: HashMap::new(),
        }
    }
}

/// A cheap, cloneable handle on a router's namespaces, usable from
/// anywhere (an HTTP route, a timer): node's `io`.
///
/// ```no_run
/// # async fn demo(router: &tornadio::Router) {
/// let io = router.io();
/// let _ = io.of("/chat").to("lobby").emit("news", &"the server restarts at noon");
/// let everyone = io.of("/").sockets();
/// # }
/// ```
#[derive(Clone)]
pub struct Io {
    pub(crate) inner: Arc<IoInner>,
}

impl fmt::Debug for Io {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Io")
            .field("namespaces", &self.namespace_names())
            .finish()
    }
}

impl Io {
    /// Builds the namespaces of a router.
    pub(crate) fn new(
        settings: Arc<Settings>,
        namespaces: Vec<(String, Factory)>,
        dynamic: Vec<(Regex, Factory)>,
        middleware: Vec<Middleware>,
        cluster: Cluster,
    ) -> Io {
        let Cluster {
            adapter,
            server_events,
        } = cluster;
        let inner = Arc::new_cyclic(|weak: &Weak<IoInner>| {
            let map = namespaces
                .into_iter()
                .map(|(name, factory)| {
                    let ns = Namespace::new(
                        Arc::from(name.as_str()),
                        factory,
                        Arc::clone(&settings),
                        false,
                        weak.clone(),
                        Arc::clone(&adapter),
                        server_events.get(&name).cloned(),
                    );
                    (Arc::from(name.as_str()), Arc::new(ns))
                })
                .collect();
            IoInner {
                settings,
                namespaces: RwLock::new(map),
                dynamic,
                middleware,
                adapter,
                server_events,
            }
        });
        Io { inner }
    }

    /// Tells the adapter of every declared namespace (once the router is
    /// built).
    pub(crate) fn init_adapter(&self) {
        let namespaces: Vec<Arc<Namespace>> = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for ns in namespaces {
            self.inner.adapter.init(&ns.local());
        }
    }

    pub(crate) fn from_weak(weak: &Weak<IoInner>) -> Io {
        match weak.upgrade() {
            Some(inner) => Io { inner },
            // The router is gone; an empty handle does nothing.
            None => Io::new(
                Arc::new(Settings::default()),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Cluster::default(),
            ),
        }
    }

    /// The namespace named `name`, if it exists now.
    pub(crate) fn namespace(&self, name: &str) -> Option<Arc<Namespace>> {
        self.inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// The namespace a client connects to: a declared one, or a child of a
    /// dynamic pattern made on first use. `None`: no such namespace.
    pub(crate) fn namespace_for_connect(&self, name: &str) -> Option<Arc<Namespace>> {
        if let Some(ns) = self.namespace(name) {
            return Some(ns);
        }
        let (_, factory) = self
            .inner
            .dynamic
            .iter()
            .find(|(re, _)| re.is_match(name))?;
        let mut map = self
            .inner
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let mut created = false;
        let ns = map.entry(Arc::from(name)).or_insert_with(|| {
            created = true;
            Arc::new(Namespace::new(
                Arc::from(name),
                Arc::clone(factory),
                Arc::clone(&self.inner.settings),
                true,
                Arc::downgrade(&self.inner),
                Arc::clone(&self.inner.adapter),
                self.inner.server_events.get(name).cloned(),
            ))
        });
        let ns = Arc::clone(ns);
        drop(map);
        if created {
            self.inner.adapter.init(&ns.local());
        }
        Some(ns)
    }

    /// Drops a dynamic namespace that has no socket left.
    pub(crate) fn forget_if_empty(&self, ns: &Arc<Namespace>) {
        if !ns.dynamic {
            return;
        }
        let mut map = self
            .inner
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let listed = map.get(&*ns.name).is_some_and(|m| Arc::ptr_eq(m, ns));
        if listed && ns.len() == 0 {
            map.remove(&*ns.name);
            drop(map);
            self.inner.adapter.close(&ns.local());
        }
    }

    /// The names of the namespaces that exist now.
    pub fn namespace_names(&self) -> Vec<String> {
        self.inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    /// Selects every socket of namespace `name`: `io.of("/chat").emit(..)`.
    /// An unknown namespace selects nothing.
    pub fn of(&self, name: &str) -> BroadcastOperator {
        match self.namespace(name) {
            Some(ns) => BroadcastOperator::new(ns),
            None => BroadcastOperator::nothing(),
        }
    }

    /// The sockets of namespace `name`, as the 0.6 API lists them.
    pub fn sockets_of(&self, name: &str) -> Option<Sockets> {
        self.namespace(name).map(Sockets::new)
    }
}

/// The live sockets of one namespace on this server: count them, look one
/// up, broadcast messages to all. The 0.6 API's view; [`BroadcastOperator`]
/// does more. With a cluster adapter ([`Router::adapter`](crate::Router::adapter))
/// [`broadcast`](Self::broadcast) and [`broadcast_except`](Self::broadcast_except)
/// reach the sockets of every server; the rest stays local.
///
/// A socket is listed from just before [`on_open`](crate::Connection::on_open)
/// until just before [`on_close`](crate::Connection::on_close).
#[derive(Clone)]
pub struct Sockets {
    ns: Arc<Namespace>,
}

impl fmt::Debug for Sockets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sockets")
            .field("namespace", &self.ns.name)
            .field("len", &self.len())
            .finish()
    }
}

impl Sockets {
    pub(crate) fn new(ns: Arc<Namespace>) -> Sockets {
        Sockets { ns }
    }

    /// Number of live sockets.
    pub fn len(&self) -> usize {
        self.ns.len()
    }

    /// Whether there is no live socket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The socket with this id, if it is live.
    pub fn get(&self, id: &str) -> Option<Socket> {
        self.ns.get(id)
    }

    /// The ids of the live sockets.
    pub fn ids(&self) -> Vec<String> {
        self.ns.ids()
    }

    /// Sends a message to every live socket (of every server, with a
    /// cluster adapter): a message to 0.6 clients, a `message` event to
    /// current ones. Encoded once per client generation. Sockets whose
    /// queue is full are closed (see [`Socket::send`]).
    pub fn broadcast(&self, message: impl Into<Outgoing>) {
        BroadcastOperator::new(Arc::clone(&self.ns)).send(message);
    }

    /// Sends a message to every live socket but the one with id `except`.
    pub fn broadcast_except(&self, message: impl Into<Outgoing>, except: &str) {
        BroadcastOperator::new(Arc::clone(&self.ns))
            .except_socket(Arc::from(except))
            .send(message);
    }

    /// Every room with a socket in it, the sockets' own id-rooms included.
    pub fn rooms(&self) -> Vec<String> {
        self.ns.all_rooms()
    }

    /// Closes every live socket of this server (each gets its `on_close`).
    pub fn close_all(&self) {
        BroadcastOperator::new(Arc::clone(&self.ns))
            .local()
            .disconnect();
    }
}
