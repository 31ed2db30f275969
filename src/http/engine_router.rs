//! [`EngineRouter`]: bare Engine.IO, as node's `engine.io` package serves it.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};

use super::cors;
use crate::engine::{BareFactory, EngineConnection, EngineCore, EngineService};
use crate::settings::Settings;

/// Serves bare Engine.IO (v3 and v4, polling, JSONP, WebSocket, upgrade) at
/// `/{path}/`, handing each session's text and binary messages to an
/// [`EngineConnection`]. What a Socket.IO [`Router`](crate::Router) is
/// built on, for applications that want Engine.IO alone.
///
/// ```no_run
/// use tornadio::{Data, EngineConnection, EngineRouter, EngineSocket, SocketServer};
///
/// struct Echo;
/// impl EngineConnection for Echo {
///     async fn on_message(&mut self, socket: &EngineSocket, data: Data) {
///         let _ = socket.send(data);
///     }
/// }
///
/// # async fn run() -> Result<(), tornadio::Error> {
/// let app = axum::Router::new().merge(EngineRouter::new(|| Echo).path("engine.io"));
/// SocketServer::new(app).port(3000).run().await
/// # }
/// ```
#[derive(Clone)]
pub struct EngineRouter {
    path: String,
    settings: Arc<Settings>,
    service: Arc<dyn EngineService>,
    make: Arc<dyn Fn(Arc<Settings>) -> Arc<dyn EngineService> + Send + Sync>,
}

impl std::fmt::Debug for EngineRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineRouter")
            .field("path", &self.path)
            .field("settings", &self.settings)
            .finish()
    }
}

impl EngineRouter {
    /// Serves `/engine.io/` with one `factory` value per session, with
    /// default [`Settings`].
    pub fn new<C, F>(factory: F) -> EngineRouter
    where
        C: EngineConnection,
        F: Fn() -> C + Send + Sync + 'static,
    {
        let factory = Arc::new(factory);
        let make = Arc::new(move |settings: Arc<Settings>| {
            let factory = Arc::clone(&factory);
            Arc::new(EngineCore {
                settings,
                registry: Default::default(),
                factory: BareFactory(move || factory()),
            }) as Arc<dyn EngineService>
        });
        let settings = Arc::new(Settings::default());
        EngineRouter {
            path: "/engine.io/".to_owned(),
            service: make(Arc::clone(&settings)),
            settings,
            make,
        }
    }

    /// Serves at `/{path}/` instead.
    pub fn path(mut self, path: &str) -> EngineRouter {
        self.path = format!("/{}/", path.trim_matches('/'));
        self
    }

    /// Replaces the settings (the Engine.IO ones apply).
    pub fn settings(mut self, settings: Settings) -> EngineRouter {
        self.settings = Arc::new(settings.sane());
        self.service = (self.make)(Arc::clone(&self.settings));
        self
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.service.registry().len()
    }

    async fn handle(self, request: Request<Body>) -> Response<Body> {
        if request.uri().path() != self.path {
            return crate::error::Reject::NotFound.into_response();
        }
        let verdict = cors::judge(&self.settings, request.headers());
        if verdict == cors::Verdict::Refused {
            return crate::engine::forbidden();
        }
        let mut response = if request.method() == Method::OPTIONS {
            cors::preflight(&request)
        } else {
            Arc::clone(&self.service).serve(request).await
        };
        cors::decorate(&mut response, &verdict);
        response
    }
}

impl<B> tower::Service<Request<B>> for EngineRouter
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

impl From<EngineRouter> for axum::Router {
    fn from(router: EngineRouter) -> Self {
        let path = router.path.clone();
        axum::Router::new().route_service(&path, router)
    }
}
