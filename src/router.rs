//! [`Router`]: one connection type at one resource, as a tower `Service`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use regex::Regex;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::connection::{Connection, OpenInfo};
use crate::error::Reject;
use crate::server::ServerContext;
use crate::session::Session;
use crate::session::actor::{Actor, Opening};
use crate::{Settings, Socket, Sockets, Transport};

/// Serves one [`Connection`] type at one resource: TornadIO's
/// `get_router(MyConnection, settings, resource, extra_re, extra_sep)`.
///
/// A router answers every transport's URLs under
/// `/{resource}[{extra_sep}{extra}]/{transport}/...`. It is a tower
/// `Service`, and converts into an [`axum::Router`] to merge beside the
/// application's own routes; several routers (resources) merge into one
/// application.
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
/// struct Ping;
/// impl Connection for Ping {
///     async fn on_message(&mut self, socket: &Socket, message: Message) {
///         let _ = socket.send(message);
///     }
/// }
///
/// # async fn run() -> Result<(), tornadio::Error> {
/// let chat = Router::new(|| Chat).resource("chat").extra_re(r"\d+").extra_sep("/");
/// let ping = Router::new(|| Ping).resource("ping");
/// let app = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "hello" }))
///     .merge(chat)
///     .merge(ping);
/// SocketServer::new(app).port(8000).run().await
/// # }
/// ```
#[derive(Clone)]
pub struct Router {
    // Shared, so that handing the router a request is a reference count
    // bump and the regex keeps its match cache from request to request.
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    core: Core,
    resource: String,
    extra_re: Option<String>,
    extra_sep: String,
    path: Regex,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("resource", &self.inner.resource)
            .field("extra_re", &self.inner.extra_re)
            .field("extra_sep", &self.inner.extra_sep)
            .field("settings", &self.inner.core.settings)
            .finish()
    }
}

impl Router {
    /// A router making one connection per session with `factory`, at
    /// resource `socket.io`, with default [`Settings`].
    pub fn new<C, F>(factory: F) -> Router
    where
        C: Connection,
        F: Fn() -> C + Send + Sync + 'static,
    {
        let core = Core {
            settings: Arc::new(Settings::default()),
            sockets: Sockets::default(),
            factory: Arc::new(factory),
        };
        let inner = Inner {
            core,
            resource: "socket.io".to_owned(),
            extra_re: None,
            extra_sep: String::new(),
            path: Regex::new("$^").expect("a constant pattern"),
        };
        Router {
            inner: Arc::new(inner),
        }
        .compiled()
    }

    /// Serves at `/{resource}/...` instead of `/socket.io/...`. May contain
    /// `/`, as the client's `resource` option may.
    pub fn resource(mut self, resource: &str) -> Router {
        Arc::make_mut(&mut self.inner).resource = resource.trim_matches('/').to_owned();
        self.compiled()
    }

    /// Captures extra data after the resource, handed to
    /// [`Connection::on_open`] as [`OpenInfo::extra`]. With
    /// `resource("chat").extra_re(r"\d+").extra_sep("/")`, the client's
    /// `resource: 'chat/123'` gives extra `123`.
    ///
    /// # Panics
    /// When `pattern` is not a valid regular expression: a router is built
    /// once at start-up, from constants.
    pub fn extra_re(mut self, pattern: &str) -> Router {
        Arc::make_mut(&mut self.inner).extra_re = Some(pattern.to_owned());
        self.compiled()
    }

    /// What separates the resource from the extra data (TornadIO's
    /// default: nothing).
    pub fn extra_sep(mut self, separator: &str) -> Router {
        Arc::make_mut(&mut self.inner).extra_sep = separator.to_owned();
        self.compiled()
    }

    /// Replaces the settings.
    pub fn settings(mut self, settings: Settings) -> Router {
        Arc::make_mut(&mut self.inner).core.settings = Arc::new(settings.sane());
        self
    }

    /// The router's settings.
    pub fn get_settings(&self) -> &Settings {
        &self.inner.core.settings
    }

    /// The live sessions of this router.
    pub fn sockets(&self) -> Sockets {
        self.inner.core.sockets.clone()
    }

    fn compiled(mut self) -> Router {
        let inner = Arc::make_mut(&mut self.inner);
        let resource = regex::escape(&inner.resource);
        let extra = match &inner.extra_re {
            Some(re) => format!("{}(?P<extra>{re})", regex::escape(&inner.extra_sep)),
            None => String::new(),
        };
        let pattern = format!("^/{resource}{extra}/(?P<transport>[a-z-]+)(?P<rest>/.*)?$");
        inner.path = Regex::new(&pattern)
            .unwrap_or_else(|e| panic!("invalid extra_re {:?}: {e}", inner.extra_re));
        self
    }

    /// The axum path pattern that reaches this router.
    fn axum_pattern(&self) -> String {
        let inner = &self.inner;
        match (&inner.extra_re, inner.extra_sep.ends_with('/')) {
            (Some(_), false) => {
                format!("/{}{}{{extra}}/{{*rest}}", inner.resource, inner.extra_sep)
            }
            _ => format!("/{}/{{*rest}}", inner.resource),
        }
    }

    /// Splits a request path into its extra data, transport and the rest.
    fn route<'p>(&self, path: &'p str) -> Option<Route<'p>> {
        let captures = self.inner.path.captures(path)?;
        let transport = captures.name("transport")?.as_str().parse().ok()?;
        let rest = captures.name("rest").map_or("", |m| m.as_str());
        Some(Route {
            extra: captures.name("extra").map(|m| m.as_str().to_owned()),
            transport,
            segments: rest.split('/').skip(1).collect(),
        })
    }

    async fn handle(self, request: Request<Body>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        let Some(route) = self.route(&path) else {
            return Reject::NotFound.into_response();
        };
        let settings = &self.inner.core.settings;
        let origin = request.headers().get(header::ORIGIN).cloned();
        let with_cookie = request.headers().contains_key(header::COOKIE);
        let refusal = if !settings.is_enabled(route.transport) {
            Some(Reject::Disabled)
        } else if origin
            .as_ref()
            .is_some_and(|o| !origin_allowed(settings, o, request.headers().get(header::HOST)))
        {
            Some(Reject::Origin)
        } else {
            None
        };
        if let Some(reject) = refusal {
            tracing::debug!(path, %reject, "refused");
            return reject.into_response();
        }
        let mut response = if request.method() == Method::OPTIONS {
            preflight(&request)
        } else {
            crate::transport::carrier(route.transport)
                .serve(&self.inner.core, request, route)
                .await
                .unwrap_or_else(Reject::into_response)
        };
        if let Some(origin) = origin {
            allow_origin(&mut response, origin, with_cookie);
        }
        response
    }
}

/// The parts of a request path after the resource.
pub(crate) struct Route<'p> {
    pub(crate) extra: Option<String>,
    pub(crate) transport: Transport,
    /// Path segments after the transport: session id, then the rest.
    pub(crate) segments: Vec<&'p str>,
}

impl Route<'_> {
    /// The session id in the URL; empty when the request opens a session.
    pub(crate) fn session_id(&self) -> &str {
        self.segments.first().copied().unwrap_or("")
    }
}

fn preflight(request: &Request<Body>) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let asked = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("Content-Type"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

/// Whether a request with this `Origin` may use the router: the settings
/// allow it, or it is the server's own origin (browsers send `Origin` on
/// same-origin POSTs too, and a page may always talk to its own server).
fn origin_allowed(settings: &Settings, origin: &HeaderValue, host: Option<&HeaderValue>) -> bool {
    let origin = origin.to_str().unwrap_or("");
    if settings.origin_allowed(origin) {
        return true;
    }
    let authority = origin.split_once("://").map(|(_, authority)| authority);
    let host = host.and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Lets the browser hand the response to a page of `origin`. `Origin:
/// null` (sandboxed frames, `file:` pages) is answered with `*`, as the
/// node server did; credentials are never allowed with `*`.
fn allow_origin(response: &mut Response<Body>, origin: HeaderValue, with_cookie: bool) {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    let any = origin.as_bytes() == b"null";
    let allowed = if any {
        HeaderValue::from_static("*")
    } else {
        origin
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    if with_cookie && !any {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// Starts the task of a new session with a fresh connection value.
trait StartSession: Send + Sync {
    fn start(&self, opening: Opening) -> BoxFuture<'static, ()>;
}

impl<C, F> StartSession for F
where
    C: Connection,
    F: Fn() -> C + Send + Sync + 'static,
{
    fn start(&self, opening: Opening) -> BoxFuture<'static, ()> {
        let actor = Actor {
            connection: self(),
            opening,
        };
        Box::pin(actor.run())
    }
}

/// What transports need of a router, free of the connection type.
#[derive(Clone)]
pub(crate) struct Core {
    pub(crate) settings: Arc<Settings>,
    pub(crate) sockets: Sockets,
    factory: Arc<dyn StartSession>,
}

impl Core {
    /// Opens a session for `request` and runs `on_open`; the session id and
    /// whatever `on_open` sent are queued when this returns.
    pub(crate) async fn open(
        &self,
        transport: Transport,
        request: &http::request::Parts,
        extra: Option<String>,
    ) -> Result<Arc<Session>, Reject> {
        let context = request.extensions.get::<ServerContext>();
        let (session, inbox) = Session::new(
            transport,
            self.settings.max_queued_bytes,
            context.map(|c| &c.shutdown),
        );
        let session = Arc::new(session);
        let peer_addr = context.map(|c| c.peer_addr).or_else(|| {
            request
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
        });
        let info = OpenInfo {
            extra,
            uri: owned_uri(&request.uri),
            headers: owned_headers(&request.headers),
            peer_addr,
            transport,
        };
        if !self
            .sockets
            .insert_below(Arc::clone(&session), self.settings.max_sessions)
        {
            tracing::warn!(
                max = self.settings.max_sessions,
                "session limit reached; refusing a new session"
            );
            return Err(Reject::Overloaded);
        }
        let socket = Socket::new(Arc::clone(&session), self.sockets.clone());
        let (opened, accepted) = oneshot::channel();
        let span = tracing::debug_span!("session", id = %session.id, %transport);
        let task = self
            .factory
            .start(Opening {
                socket,
                info,
                inbox,
                settings: Arc::clone(&self.settings),
                opened,
            })
            .instrument(span);
        match context {
            Some(context) => drop(context.tracker.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
        match accepted.await {
            Ok(true) => Ok(session),
            _ => Err(Reject::Refused),
        }
    }

    /// The live session `id` opened with `transport`.
    pub(crate) fn find(&self, id: &str, transport: Transport) -> Result<Arc<Session>, Reject> {
        match self.sockets.session(id) {
            Some(session) if session.transport == transport && !session.is_closing() => Ok(session),
            _ => Err(Reject::UnknownSession),
        }
    }
}

/// A copy of `headers` in memory of its own. hyper's header values are
/// slices of the connection's read buffer: keeping them would keep that
/// whole buffer (8 KiB) alive for as long as the session lives.
fn owned_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    let mut owned = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
            owned.append(name.clone(), value);
        }
    }
    owned
}

/// A copy of `uri` in memory of its own, for the same reason.
fn owned_uri(uri: &http::Uri) -> http::Uri {
    http::Uri::from_maybe_shared(Bytes::from(uri.to_string())).unwrap_or_default()
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
        Box::pin(async move { Ok(router.handle(request.map(Body::new)).await) })
    }
}

impl From<Router> for axum::Router {
    fn from(router: Router) -> Self {
        axum::Router::new().route_service(&router.axum_pattern(), router)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    struct Nothing;
    impl Connection for Nothing {
        async fn on_message(&mut self, _: &Socket, _: Message) {}
    }

    #[test]
    fn parses_paths() {
        let router = Router::new(|| Nothing);
        let route = router.route("/socket.io/xhr-polling//1700").unwrap();
        assert_eq!(route.transport, Transport::XhrPolling);
        assert_eq!(route.segments, vec!["", "1700"]);
        assert_eq!(route.session_id(), "");
        let route = router.route("/socket.io/websocket").unwrap();
        assert_eq!(route.transport, Transport::WebSocket);
        assert!(route.segments.is_empty());
        assert!(router.route("/socket.io/unknown").is_none());
        assert!(router.route("/other/websocket").is_none());
        assert!(router.route("/socket.io").is_none());
    }

    #[test]
    fn captures_extra() {
        let router = Router::new(|| Nothing)
            .resource("chat")
            .extra_re(r"\d+")
            .extra_sep("/");
        let route = router.route("/chat/123/websocket").unwrap();
        assert_eq!(route.extra.as_deref(), Some("123"));
        assert!(router.route("/chat/abc/websocket").is_none());
        assert!(router.route("/chat/websocket").is_none());
        let glued = Router::new(|| Nothing).resource("a/b").extra_re("[a-z]+");
        let route = glued.route("/a/bxyz/jsonp-polling/sid/1/2").unwrap();
        assert_eq!(route.extra.as_deref(), Some("xyz"));
        assert_eq!(route.segments, vec!["sid", "1", "2"]);
    }
}

/// Property tests: path matching never panics, whatever the path, and
/// splits every well-formed URL into the parts it was made of.
///
/// Each property runs `PROPTEST_CASES` cases when that variable is set,
/// otherwise its default below (together over 100,000 per run).
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::Message;
    use proptest::prelude::*;
    use proptest::test_runner::TestRunner;

    struct Nothing;
    impl Connection for Nothing {
        async fn on_message(&mut self, _: &Socket, _: Message) {}
    }

    use crate::testing::proptest_config as config;

    /// Routers with every shape of resource and extra data, built once:
    /// compiling their patterns costs more than matching thousands of paths.
    fn routers() -> &'static [Router] {
        static ROUTERS: std::sync::OnceLock<Vec<Router>> = std::sync::OnceLock::new();
        ROUTERS.get_or_init(|| {
            vec![
                Router::new(|| Nothing),
                Router::new(|| Nothing)
                    .resource("chat")
                    .extra_re(r"\d+")
                    .extra_sep("/"),
                Router::new(|| Nothing).resource("a/b").extra_re("[a-z]+"),
                Router::new(|| Nothing).resource("x.y").extra_re(".*"),
            ]
        })
    }

    /// Path segments, weighted towards what a router looks at and what a
    /// hostile client tries: traversal, percent junk, NULs, odd Unicode.
    /// One mapped integer rather than a union of strategies: faster.
    fn segment() -> impl Strategy<Value = String> {
        const PIECES: [&str; 28] = [
            "socket.io",
            "chat",
            "a",
            "b",
            "x.y",
            "websocket",
            "flashsocket",
            "xhr-polling",
            "jsonp-polling",
            "htmlfile",
            "xhr-multipart",
            "send",
            "",
            "..",
            ".",
            "%2e%2e",
            "%2F",
            "%00",
            "%ZZ",
            "%",
            "%C3%28",
            "%FF%FE",
            "\0",
            "\n",
            "é",
            "😀",
            "\u{2028}",
            "123",
        ];
        (any::<u32>(), any::<char>()).prop_map(|(x, c)| {
            let (kind, n) = (x % 4, x / 4);
            match kind {
                0 | 1 => PIECES[n as usize % PIECES.len()].to_owned(),
                2 => n.to_string(),
                _ => String::from(c),
            }
        })
    }

    /// A path of up to a dozen segments, with odd separators at times, and
    /// often after a prefix that a router matches, so that hostile tails
    /// reach the transports.
    fn path() -> impl Strategy<Value = String> {
        const PREFIXES: [&str; 10] = [
            "",
            "",
            "/socket.io",
            "/socket.io/websocket",
            "/socket.io/xhr-polling",
            "/socket.io/jsonp-polling",
            "/socket.io/htmlfile",
            "/chat/12/xhr-multipart",
            "/a/bxyz/flashsocket",
            "/x.y/jsonp-polling",
        ];
        let segments = prop::collection::vec(segment(), 0..12);
        (segments, any::<u8>(), any::<u8>()).prop_map(|(segments, sep, prefix)| {
            let prefix = PREFIXES[usize::from(prefix) % PREFIXES.len()];
            let sep = match sep % 8 {
                0 => "//",
                1 => "\\",
                2 => "/./",
                _ => "/",
            };
            format!("{prefix}/{}", segments.join(sep))
        })
    }

    const ALPHANUMERIC: &[char] = &[
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'x', 'y', 'z', 'A', 'B',
        'Y', 'Z',
    ];

    /// Checks a route against the path it came from.
    fn check(router: &Router, path: &str) -> Result<(), TestCaseError> {
        if let Some(route) = router.route(path) {
            let name = route.transport.as_str();
            let prefix = format!("/{}", router.inner.resource);
            prop_assert!(path.starts_with(&prefix), "{path:?} matched {prefix}");
            let rest: String = route.segments.iter().map(|s| format!("/{s}")).collect();
            prop_assert!(
                path.ends_with(&format!("/{name}{rest}")),
                "{path:?} gave transport {name} and segments {:?}",
                route.segments
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config(35_000))]

        #[test]
        fn matching_never_panics_on_segment_soup(path in path()) {
            for router in routers() {
                check(router, &path)?;
            }
        }

        #[test]
        fn matching_never_panics_on_any_text(path in any::<String>()) {
            let router = &routers()[0];
            check(router, &path)?;
            check(router, &format!("/socket.io/{path}"))?;
        }

        #[test]
        fn well_formed_urls_split_into_their_parts(
            transport in prop::sample::select(Transport::ALL.to_vec()),
            id in prop::collection::vec(prop::sample::select(ALPHANUMERIC), 0..22),
            rest in prop::collection::vec(0u32..100_000, 0..4),
            extra in 0u32..1_000_000,
        ) {
            let id = String::from_iter(id);
            let rest: Vec<String> = rest.iter().map(u32::to_string).collect();
            let extra = extra.to_string();
            let tail: String = rest.iter().map(|s| format!("/{s}")).collect();
            let router = &routers()[1];
            let path = format!("/chat/{extra}/{transport}/{id}{tail}");
            let route = router.route(&path);
            prop_assert!(route.is_some(), "{} did not match", path);
            let route = route.unwrap();
            prop_assert_eq!(route.transport, transport);
            prop_assert_eq!(route.extra.as_deref(), Some(extra.as_str()));
            prop_assert_eq!(route.session_id(), id.as_str());
            prop_assert_eq!(&route.segments[1..], &rest[..]);
        }
    }

    /// Paths of up to 100 KB: matching stays linear and never panics.
    #[test]
    fn very_long_paths() {
        let routers = routers();
        let mut runner = TestRunner::new(config(200));
        let strategy = (prop::collection::vec(segment(), 1..8), 1usize..100_000);
        runner
            .run(&strategy, |(segments, len)| {
                let unit = format!("/{}", segments.join("/"));
                let repeated = unit.repeat(len / unit.len().max(1) + 1);
                for prefix in ["", "/socket.io", "/socket.io/xhr-polling"] {
                    let path = format!("{prefix}{repeated}");
                    for router in routers {
                        check(router, &path)?;
                    }
                }
                Ok(())
            })
            .unwrap();
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
                let response = runtime.block_on(router.handle(request));
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
