//! websocket and flashsocket: RFC 6455 over the HTTP connection, one text
//! message per payload each way. The session's own task carries it.

use axum::body::Body;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};

use super::Carrier;
use crate::error::Reject;
use crate::legacy::{Core, Route};

pub(crate) struct WebSocket;

impl Carrier for WebSocket {
    fn serve<'a>(
        &'a self,
        core: &'a Core,
        request: Request<Body>,
        route: Route<'a>,
    ) -> BoxFuture<'a, Result<Response<Body>, Reject>> {
        Box::pin(async move {
            if request.method() != Method::GET {
                return Err(Reject::Method);
            }
            let key = crate::ws::handshake_key(request.headers())
                .map_err(|problem| Reject::BadRequest(problem.into()))?;
            let (mut parts, _) = request.into_parts();
            let upgrade = parts
                .extensions
                .remove::<hyper::upgrade::OnUpgrade>()
                .ok_or_else(|| Reject::BadRequest("this connection cannot be upgraded".into()))?;
            // The session's own task takes the connection over once hyper
            // hands it on, after this answer.
            core.open_with(route.transport, &parts, route.extra.clone(), Some(upgrade))
                .await?;
            Ok(crate::ws::accept_response(&key))
        })
    }
}
