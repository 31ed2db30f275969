//! xhr-polling and jsonp-polling: one long-polling GET at a time carries
//! everything queued; POSTs carry the client's messages.
//!
//! ```text
//! xhr-polling    GET  /{resource}/xhr-polling/{sid?}/{ts}
//!                POST /{resource}/xhr-polling/{sid}/send
//! jsonp-polling  GET  /{resource}/jsonp-polling/{sid?}/{ts}/{index}
//!                POST /{resource}/jsonp-polling/{sid}/{ts}/{index}
//! ```

use axum::body::Body;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};

use super::{Carrier, js_string, post, text_response};
use crate::Transport;
use crate::error::Reject;
use crate::legacy::session::Session;
use crate::legacy::{Core, Route};

pub(crate) enum Polling {
    Xhr,
    Jsonp,
}

impl Polling {
    fn transport(&self) -> Transport {
        match self {
            Polling::Xhr => Transport::XhrPolling,
            Polling::Jsonp => Transport::JsonpPolling,
        }
    }

    /// How a GET is answered: xhr-polling as text, jsonp-polling as a call
    /// of the client's callback `index`.
    fn envelope(&self, route: &Route<'_>) -> Result<Envelope, Reject> {
        match self {
            Polling::Xhr => Ok(Envelope::Text),
            Polling::Jsonp => jsonp_index(route).map(Envelope::Jsonp),
        }
    }
    async fn get(
        &self,
        core: &Core,
        request: Request<Body>,
        route: Route<'_>,
    ) -> Result<Response<Body>, Reject> {
        // Decided before anything is taken from the outbox: once output is
        // taken, answering it must not fail.
        let envelope = self.envelope(&route)?;
        let id = route.session_id();
        if id.is_empty() {
            let (parts, _) = request.into_parts();
            let session = core
                .open(self.transport(), &parts, route.extra.clone())
                .await?;
            let payload = session.outbox.take().unwrap_or_default();
            return Ok(envelope.wrap(&payload));
        }
        let session = core.find(id, self.transport())?;
        let Some(_carrying) = session.begin_request() else {
            tracing::warn!(session = %id, "second concurrent poll refused");
            return Err(Reject::Busy);
        };
        let payload = wait_for_output(&session, core).await;
        Ok(envelope.wrap(&payload))
    }
}

/// What a polling GET's answer looks like.
enum Envelope {
    Text,
    Jsonp(u32),
}

impl Envelope {
    fn wrap(&self, payload: &str) -> Response<Body> {
        match self {
            Envelope::Text => text_response("text/plain; charset=UTF-8", payload.to_owned()),
            Envelope::Jsonp(index) => {
                let script = format!("io.JSONP[{index}]._({});", js_string(payload));
                text_response("text/javascript; charset=UTF-8", script)
            }
        }
    }
}

/// The JSONP callback index. It is written into script, so it must be
/// digits only, and is written back as a plain number (`007` would be an
/// octal literal, or a syntax error in strict code).
fn jsonp_index(route: &Route<'_>) -> Result<u32, Reject> {
    let index = route.segment(2).unwrap_or("0");
    if index.is_empty() || index.len() > 9 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject::BadRequest("the JSONP index must be digits".into()));
    }
    index
        .parse()
        .map_err(|_| Reject::BadRequest("the JSONP index must be digits".into()))
}

/// Waits for output until the polling timeout; empty when none came.
/// Nothing is taken from the outbox unless it is answered at once: when
/// the request is dropped while waiting (hyper drops it when its client
/// goes away), what is queued stays for the next GET.
async fn wait_for_output(session: &Session, core: &Core) -> String {
    let timeout = core.settings.xhr_polling_timeout;
    tokio::select! {
        payload = session.outbox.next() => payload.unwrap_or_default(),
        () = session.closing() => session.outbox.take().unwrap_or_default(),
        () = tokio::time::sleep(timeout) => String::new(),
    }
}

impl Carrier for Polling {
    fn serve<'a>(
        &'a self,
        core: &'a Core,
        request: Request<Body>,
        route: Route<'a>,
    ) -> BoxFuture<'a, Result<Response<Body>, Reject>> {
        Box::pin(async move {
            match *request.method() {
                Method::GET => self.get(core, request, route).await,
                Method::POST => {
                    let id = route.session_id().to_owned();
                    post::receive(core, self.transport(), &id, request).await
                }
                _ => Err(Reject::Method),
            }
        })
    }
}
