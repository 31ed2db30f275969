//! The tower `Service`s: [`Router`] tells a 0.6 request from a protocol-1
//! one and from an Engine.IO one, and answers them all; [`EngineRouter`]
//! serves bare Engine.IO.

mod cors;
mod engine_router;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};
use regex::Regex;

pub use engine_router::EngineRouter;

use crate::Refused;
use crate::adapter::{Adapter, ServerEvent};
use crate::connection::{Connection, OpenInfo};
use crate::engine::{EngineCore, EngineService};
use crate::error::Reject;
use crate::legacy::route::Located;
use crate::legacy::{self, Paths};
use crate::proto1;
use crate::settings::Settings;
use crate::socket::client::ClientFactory;
use crate::socket::namespace::{self, Factory, Middleware};
use crate::socket::{Cluster, Io, Sockets};

/// Serves Socket.IO at one resource, to every client generation:
/// TornadIO's `get_router(MyConnection, settings, resource, extra_re,
/// extra_sep)`, grown namespaces.
///
/// Under `/{resource}/` it answers
///
/// * Engine.IO v3 and v4 (`/{resource}/?EIO=4&transport=polling`, or
///   `websocket`): socket.io-client 1.x to 4.x, each namespace served by
///   the connection type given for it;
/// * socket.io 0.7–0.9, "protocol 1" (`/{resource}/1/` handshake, then
///   `/{resource}/1/{transport}/{sid}`): each endpoint is the namespace of
///   its name (`""` is `/`);
/// * Socket.IO 0.6 (`/{resource}[{extra_sep}{extra}]/{transport}/...`):
///   served by the connection type of the namespace `/`.
///
/// A router whose `extra_re` matches `1` (with `extra_sep("/")`) sees
/// `/{resource}/1/...` in both grammars: the protocol-1 handshake and the
/// requests of live protocol-1 sessions go to protocol 1, the rest to 0.6.
///
/// It is a tower `Service`, and converts into an [`axum::Router`] to merge
/// beside the application's own routes.
///
/// ```no_run
/// use tornadio::{Connection, Message, Router, Socket, SocketServer};
///
/// struct Chat;
/// impl Connection for Chat {
///     async fn on_message(&mut self, socket: &Socket, message: Message) {
///         socket.sockets().broadcast(message);
///     }
/// }
/// struct Admin;
/// impl Connection for Admin {
///     async fn on_message(&mut self, socket: &Socket, message: Message) {
///         let _ = socket.send(message);
///     }
/// }
///
/// # async fn run() -> Result<(), tornadio::Error> {
/// let router = Router::new(|| Chat).namespace("/admin", || Admin);
/// let app = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "hello" }))
///     .merge(router);
/// SocketServer::new(app).port(8000).run().await
/// # }
/// ```
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

/// What the builder methods set.
#[derive(Clone)]
struct Config {
    resource: String,
    extra_re: Option<String>,
    extra_sep: String,
    settings: Settings,
    namespaces: Vec<(String, Factory)>,
    dynamic: Vec<(Regex, Factory)>,
    middleware: Vec<Middleware>,
    cluster: Cluster,
}

/// A router built from its configuration.
struct Inner {
    config: Config,
    paths: Paths,
    settings: Arc<Settings>,
    io: Io,
    legacy: legacy::Core,
    proto1: proto1::Core,
    engine: Arc<EngineCore<ClientFactory>>,
    /// `/{resource}/`: where Engine.IO requests come.
    engine_path: String,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = &self.inner.config;
        f.debug_struct("Router")
            .field("resource", &config.resource)
            .field("extra_re", &config.extra_re)
            .field("extra_sep", &config.extra_sep)
            .field("namespaces", &self.inner.io.namespace_names())
            .field("settings", &config.settings)
            .finish()
    }
}

impl Router {
    /// A router whose namespace `/` makes one connection per socket with
    /// `factory`, at resource `socket.io`, with default [`Settings`].
    pub fn new<C, F>(factory: F) -> Router
    where
        C: Connection,
        F: Fn() -> C + Send + Sync + 'static,
    {
        Router::build(Config {
            resource: "socket.io".to_owned(),
            extra_re: None,
            extra_sep: String::new(),
            settings: Settings::default(),
            namespaces: vec![("/".to_owned(), namespace::factory(factory))],
            dynamic: Vec::new(),
            middleware: Vec::new(),
            cluster: Cluster::default(),
        })
    }

    fn build(config: Config) -> Router {
        let paths = Paths::new(
            &config.resource,
            config.extra_re.as_deref(),
            &config.extra_sep,
        );
        let settings = Arc::new(config.settings.clone().sane());
        let io = Io::new(
            Arc::clone(&settings),
            config.namespaces.clone(),
            config.dynamic.clone(),
            config.middleware.clone(),
            config.cluster.clone(),
        );
        io.init_adapter();
        let root = io
            .namespace("/")
            .unwrap_or_else(|| unreachable!("every router serves `/`"));
        let legacy = legacy::Core {
            settings: Arc::clone(&settings),
            ns: root,
            registry: legacy::Registry::default(),
        };
        let proto1 = proto1::Core {
            settings: Arc::clone(&settings),
            io: io.clone(),
            registry: proto1::Registry::default(),
            paths: proto1::Paths::new(&config.resource),
        };
        let engine = Arc::new(EngineCore {
            settings: Arc::clone(&settings),
            registry: Default::default(),
            factory: ClientFactory { io: io.clone() },
        });
        let engine_path = format!("/{}/", paths.resource);
        Router {
            inner: Arc::new(Inner {
                config,
                paths,
                settings,
                io,
                legacy,
                proto1,
                engine,
                engine_path,
            }),
        }
    }

    fn rebuilt(self, change: impl FnOnce(&mut Config)) -> Router {
        let mut config = self.inner.config.clone();
        change(&mut config);
        Router::build(config)
    }

    /// Serves at `/{resource}/` instead of `/socket.io/`. May contain `/`,
    /// as the clients' `resource` / `path` options may.
    pub fn resource(self, resource: &str) -> Router {
        let resource = resource.trim_matches('/').to_owned();
        self.rebuilt(|c| c.resource = resource)
    }

    /// Captures extra data after the resource in 0.6 URLs, handed to
    /// [`Connection::on_open`] as [`OpenInfo::extra`]. With
    /// `resource("chat").extra_re(r"\d+").extra_sep("/")`, the 0.6 client's
    /// `resource: 'chat/123'` gives extra `123`.
    ///
    /// # Panics
    /// When `pattern` is not a valid regular expression: a router is built
    /// once at start-up, from constants.
    pub fn extra_re(self, pattern: &str) -> Router {
        let pattern = pattern.to_owned();
        self.rebuilt(|c| c.extra_re = Some(pattern))
    }

    /// What separates the resource from the extra data (TornadIO's
    /// default: nothing).
    pub fn extra_sep(self, separator: &str) -> Router {
        let separator = separator.to_owned();
        self.rebuilt(|c| c.extra_sep = separator)
    }

    /// Replaces the settings.
    pub fn settings(self, settings: Settings) -> Router {
        self.rebuilt(|c| c.settings = settings)
    }

    /// Serves the namespace `name` (e.g. `/admin`) with its own connection
    /// type: TornadIO2's endpoints. Current clients reach it with
    /// `io("/admin")`.
    ///
    /// # Panics
    /// When `name` does not start with `/`.
    pub fn namespace<C, F>(self, name: &str, factory: F) -> Router
    where
        C: Connection,
        F: Fn() -> C + Send + Sync + 'static,
    {
        assert!(
            name.starts_with('/'),
            "a namespace starts with `/`: {name:?}"
        );
        let name = name.to_owned();
        let factory = namespace::factory(factory);
        self.rebuilt(|c| {
            c.namespaces.retain(|(n, _)| *n != name);
            c.namespaces.push((name, factory));
        })
    }

    /// Serves every namespace whose name matches `pattern` (a regular
    /// expression, e.g. `^/room-\d+$`) with one connection type; each
    /// matching name is a namespace of its own, made on first connect and
    /// dropped when its last socket leaves.
    ///
    /// # Panics
    /// When `pattern` is not a valid regular expression.
    pub fn dynamic_namespace<C, F>(self, pattern: &str, factory: F) -> Router
    where
        C: Connection,
        F: Fn() -> C + Send + Sync + 'static,
    {
        let regex = Regex::new(pattern)
            .unwrap_or_else(|e| panic!("invalid namespace pattern {pattern:?}: {e}"));
        let factory = namespace::factory(factory);
        self.rebuilt(|c| c.dynamic.push((regex, factory)))
    }

    /// Adds a connect middleware: it sees what the client sent before
    /// [`Connection::on_open`] runs, for every namespace, and may refuse
    /// (the client gets the refusal's message).
    ///
    /// ```
    /// # use tornadio::{Refused, Router, Connection, Socket, Message};
    /// # struct Chat;
    /// # impl Connection for Chat { async fn on_message(&mut self, _: &Socket, _: Message) {} }
    /// let router = Router::new(|| Chat).middleware(|info| {
    ///     match info.auth().and_then(|a| a.get("token")) {
    ///         Some(_) => Ok(()),
    ///         None if !info.protocol().has_auth() => Ok(()),
    ///         None => Err(Refused::because("no token")),
    ///     }
    /// });
    /// ```
    pub fn middleware<F>(self, middleware: F) -> Router
    where
        F: Fn(&OpenInfo) -> Result<(), Refused> + Send + Sync + 'static,
    {
        let middleware: Middleware = Arc::new(middleware);
        self.rebuilt(|c| c.middleware.push(middleware))
    }

    /// Shares the router's namespaces with other server processes through
    /// `adapter` (node's `io.adapter(..)`): broadcasts and the operations of
    /// [`BroadcastOperator`](crate::BroadcastOperator) then reach the
    /// sockets of every server. The default, [`LocalAdapter`](crate::adapter::LocalAdapter),
    /// keeps everything in this process. One adapter value serves one
    /// router.
    ///
    /// ```no_run
    /// # use tornadio::{Router, Connection, Socket, Message};
    /// # struct Chat;
    /// # impl Connection for Chat { async fn on_message(&mut self, _: &Socket, _: Message) {} }
    /// # fn cluster_adapter() -> tornadio::adapter::LocalAdapter { tornadio::adapter::LocalAdapter }
    /// // e.g. tornadio_redis::RedisAdapter::new("redis://127.0.0.1:6379")?
    /// let router = Router::new(|| Chat).adapter(cluster_adapter());
    /// ```
    pub fn adapter(self, adapter: impl Adapter) -> Router {
        let adapter: Arc<dyn Adapter> = Arc::new(adapter);
        self.rebuilt(|c| c.cluster.adapter = adapter)
    }

    /// Handles the events other servers send to namespace `name` (node's
    /// `io.of(name).on(event, ..)` for `serverSideEmit`). The handler runs
    /// in the adapter's task: keep it short, spawn for longer work. An
    /// event that wants an answer carries a [`ServerAck`](crate::adapter::ServerAck).
    ///
    /// ```
    /// # use tornadio::{Router, Connection, Socket, Message};
    /// # struct Chat;
    /// # impl Connection for Chat { async fn on_message(&mut self, _: &Socket, _: Message) {} }
    /// let router = Router::new(|| Chat).on_server_event("/", |mut event| {
    ///     if event.name() == "ping" {
    ///         if let Some(ack) = event.take_ack() {
    ///             let _ = ack.send(&"pong");
    ///         }
    ///     }
    /// });
    /// ```
    pub fn on_server_event<F>(self, name: &str, handler: F) -> Router
    where
        F: Fn(ServerEvent) + Send + Sync + 'static,
    {
        let name = name.to_owned();
        let handler: namespace::ServerEventHandler = Arc::new(handler);
        self.rebuilt(|c| {
            c.cluster.server_events.insert(name, handler);
        })
    }

    /// The router's settings.
    pub fn get_settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The live sockets of the namespace `/` (0.6 sessions included).
    pub fn sockets(&self) -> Sockets {
        self.inner
            .io
            .sockets_of("/")
            .unwrap_or_else(|| unreachable!("every router serves `/`"))
    }

    /// The server handle: every namespace, from anywhere.
    pub fn io(&self) -> Io {
        self.inner.io.clone()
    }

    /// How many client connections are open: Engine.IO sessions plus
    /// protocol-1 and 0.6 sessions.
    pub fn connection_count(&self) -> usize {
        self.inner.engine.registry().len()
            + self.inner.proto1.registry.len()
            + self.inner.legacy.registry.len()
    }

    /// Which generation a path is for.
    fn generation(&self, path: &str) -> Result<Generation, Reject> {
        let inner = &self.inner;
        if path == inner.engine_path {
            return Ok(Generation::Engine);
        }
        let proto1 = inner.proto1.paths.route(path);
        // Asked first: the 0.6 grammar's regular expression then never runs
        // for a live protocol-1 session's requests.
        if proto1.is_some_and(|route| inner.proto1.claims(&route)) {
            return Ok(Generation::Proto1);
        }
        match (proto1, inner.paths.locate(path)) {
            (Some(_), None) => Ok(Generation::Proto1),
            (_, Some(located)) if inner.settings.is_enabled(located.transport) => {
                Ok(Generation::Legacy(located))
            }
            (_, Some(_)) => Err(Reject::Disabled),
            (None, None) => Err(Reject::NotFound),
        }
    }

    /// Answers one request, without a service's boxing: what
    /// [`SocketServer::standalone`](crate::SocketServer::standalone) calls.
    /// What the head decides is decided before the future is made, which
    /// then holds only what the wait needs (hyper moves a request's future
    /// several times, copying every byte of it).
    pub(crate) fn respond(
        &self,
        request: Request<Body>,
    ) -> impl Future<Output = Response<Body>> + Send + use<> {
        use futures_util::future::{self, Either, FutureExt};
        let inner = &self.inner;
        let generation = match self.generation(request.uri().path()) {
            Ok(generation) => generation,
            Err(reject) => return Either::Left(future::ready(reject.into_response())),
        };
        let verdict = cors::judge(&inner.settings, request.headers());
        if verdict == cors::Verdict::Refused {
            tracing::debug!(path = request.uri().path(), "origin refused");
            return Either::Left(future::ready(match generation {
                Generation::Engine => crate::engine::forbidden(),
                _ => Reject::Origin.into_response(),
            }));
        }
        let decorate = move |mut response: Response<Body>| {
            cors::decorate(&mut response, &verdict);
            response
        };
        if request.method() == Method::OPTIONS {
            return Either::Left(future::ready(decorate(cors::preflight(&request))));
        }
        // Combinators, not an async block: they hold the inner future in
        // place, where a block would keep a second copy of it.
        match generation {
            Generation::Engine => Either::Right(Either::Left(
                crate::engine::serve(&inner.engine, request).map(decorate),
            )),
            // Boxed: their state would make every request's future large.
            Generation::Proto1 => {
                let router = self.clone();
                let other: BoxFuture<'static, Response<Body>> =
                    Box::pin(async move { proto1::serve(&router.inner.proto1, request).await });
                Either::Right(Either::Right(other.map(decorate)))
            }
            Generation::Legacy(located) => {
                let router = self.clone();
                let other: BoxFuture<'static, Response<Body>> =
                    Box::pin(async move { router.legacy(request, located).await });
                Either::Right(Either::Right(other.map(decorate)))
            }
        }
    }

    async fn legacy(&self, request: Request<Body>, located: Located) -> Response<Body> {
        let path = request.uri().path().to_owned();
        let route = located.route(&path);
        legacy::carrier(route.transport)
            .serve(&self.inner.legacy, request, route)
            .await
            .unwrap_or_else(Reject::into_response)
    }
}

impl<B> tower::Service<Request<B>> for Router
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let router = self.clone();
        Box::pin(futures_util::FutureExt::map(
            router.respond(request.map(Body::new)),
            Ok,
        ))
    }
}

/// The client generations a router tells apart by path.
#[derive(Debug, Clone)]
enum Generation {
    Engine,
    Proto1,
    /// Where in its path a 0.6 request says what it is.
    Legacy(Located),
}

impl From<Router> for axum::Router {
    fn from(router: Router) -> Self {
        let legacy = router.inner.paths.axum_pattern();
        let engine = router.inner.engine_path.clone();
        let [handshake, proto1] = router.inner.proto1.paths.axum_patterns();
        axum::Router::new()
            .route_service(&engine, router.clone())
            .route_service(&handshake, router.clone())
            .route_service(&proto1, router.clone())
            .route_service(&legacy, router)
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::legacy::route::proptests::path;
    use crate::testing::proptest_config as config;
    use crate::{Message, Socket};
    use http::StatusCode;
    use proptest::prelude::*;
    use proptest::test_runner::TestRunner;

    struct Nothing;
    impl Connection for Nothing {
        async fn on_message(&mut self, _: &Socket, _: Message) {}
    }

    fn routers() -> Vec<Router> {
        vec![
            Router::new(|| Nothing),
            Router::new(|| Nothing)
                .resource("chat")
                .extra_re(r"\d+")
                .extra_sep("/"),
            Router::new(|| Nothing).resource("a/b").extra_re("[a-z]+"),
            Router::new(|| Nothing).resource("x.y").extra_re(".*"),
        ]
    }

    /// Every router shape converts into an axum router (whose path
    /// patterns would panic on a conflict) that reaches every generation.
    #[test]
    fn routers_convert_into_axum_routers_that_reach_every_generation() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let paths = [
            ("/socket.io/?EIO=4&transport=polling", StatusCode::OK),
            ("/socket.io/1/?t=1", StatusCode::OK),
            ("/socket.io/1/xhr-polling/nosuchsid?t=1", StatusCode::OK),
            ("/socket.io/xhr-polling//1", StatusCode::OK),
            ("/chat/12/xhr-polling//1", StatusCode::OK),
            ("/chat/1/?t=1", StatusCode::OK),
            ("/a/bxyz/xhr-polling//1", StatusCode::OK),
            ("/a/b/1/?t=1", StatusCode::OK),
        ];
        for router in routers() {
            let resource = router.inner.config.resource.clone();
            let app: axum::Router = router.into();
            for (path, status) in paths {
                if !path.starts_with(&format!("/{resource}/")) {
                    continue;
                }
                let request = Request::get(path).body(Body::empty()).unwrap();
                let response = runtime
                    .block_on(tower::ServiceExt::oneshot(app.clone(), request))
                    .unwrap();
                assert_eq!(response.status(), status, "{path}");
            }
        }
    }

    /// A router whose `extra_re` takes `1` still serves 0.6 clients with
    /// extra `1` and protocol-1 handshakes and sessions.
    #[test]
    fn an_extra_of_1_and_protocol_1_share_their_paths() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let router = Router::new(|| Nothing)
            .resource("chat")
            .extra_re(r"\d+")
            .extra_sep("/");
        let get = |path: &str| {
            let request = Request::get(path).body(Body::empty()).unwrap();
            runtime.block_on(router.respond(request))
        };
        let body = |response: Response<Body>| {
            let bytes = runtime
                .block_on(http_body_util::BodyExt::collect(response.into_body()))
                .unwrap()
                .to_bytes();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        let handshake = body(get("/chat/1/?t=1"));
        let sid = handshake.split(':').next().unwrap().to_owned();
        assert_eq!(sid.len(), 22, "{handshake}");
        // A 0.6 poll opening a session with extra `1`: its id, framed.
        let legacy = body(get("/chat/1/xhr-polling//1700000000000"));
        assert!(legacy.starts_with("~m~22~m~"), "{legacy}");
        // An unknown protocol-1 sid there is a 0.6 path (a 0.6 session
        // that does not exist); a live one is protocol 1's.
        assert_eq!(
            get("/chat/1/xhr-polling/nosuchsession").status(),
            StatusCode::NOT_FOUND
        );
        let request = Request::post(format!("/chat/1/xhr-polling/{sid}"))
            .body(Body::from("2::"))
            .unwrap();
        let answer = runtime.block_on(router.respond(request));
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(body(answer), "1");
    }

    /// The whole service, on arbitrary paths and methods: an answer, never
    /// a panic or a server error.
    #[test]
    fn the_service_answers_any_path_without_a_server_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let routers = routers();
        let methods = [Method::GET, Method::POST, Method::PUT, Method::OPTIONS];
        // What a client cannot put in a request line raw; `%` stays, so
        // percent junk reaches the router as sent.
        const RAW: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
            .add(b' ')
            .add(b'"')
            .add(b'#')
            .add(b'<')
            .add(b'>')
            .add(b'?')
            .add(b'`')
            .add(b'{')
            .add(b'}')
            .add(b'\\')
            .add(b'^')
            .add(b'|');
        let seen = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let mut runner = TestRunner::new(config(5_000));
        let strategy = (path(), 0usize..4, 0usize..4);
        runner
            .run(&strategy, |(path, method, router)| {
                let path = percent_encoding::utf8_percent_encode(&path, RAW).to_string();
                let request = Request::builder()
                    .method(methods[method].clone())
                    .uri(path.as_str())
                    .body(Body::empty());
                prop_assert!(request.is_ok(), "{path:?} is not a request target");
                let request = request.unwrap();
                let router = routers[router].clone();
                let response = runtime.block_on(router.respond(request));
                seen.borrow_mut().insert(response.status());
                prop_assert!(
                    !response.status().is_server_error(),
                    "{} {path:?}: {}",
                    methods[method],
                    response.status()
                );
                Ok(())
            })
            .unwrap();
        // The paths reached the transports, not only the 404 of a mismatch.
        let seen = seen.into_inner();
        for status in [
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::BAD_REQUEST,
        ] {
            assert!(seen.contains(&status), "no {status} among {seen:?}");
        }
    }
}
