//! htmlfile and xhr-multipart: one GET opens the session and stays open,
//! streaming every payload; POSTs carry the client's messages.
//!
//! ```text
//! GET  /{resource}/{htmlfile|xhr-multipart}/{ts?}   opens and streams
//! POST /{resource}/{htmlfile|xhr-multipart}/{sid}/send
//! ```

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};

use super::{Carrier, js_string, post, text_response};
use crate::DisconnectReason;
use crate::Transport;
use crate::error::Reject;
use crate::legacy::session::Session;
use crate::legacy::{Core, Route};

/// IE renders nothing of an htmlfile stream before this much arrived.
const HTMLFILE_PADDING: usize = 256;

pub(crate) enum Streaming {
    HtmlFile,
    Multipart,
}

impl Streaming {
    fn transport(&self) -> Transport {
        match self {
            Streaming::HtmlFile => Transport::HtmlFile,
            Streaming::Multipart => Transport::XhrMultipart,
        }
    }

    fn content_type(&self) -> &'static str {
        match self {
            Streaming::HtmlFile => "text/html; charset=UTF-8",
            Streaming::Multipart => "multipart/x-mixed-replace;boundary=\"socketio\"",
        }
    }

    /// What the stream starts with.
    fn prelude(&self) -> String {
        match self {
            Streaming::HtmlFile => format!("<html><body>{}", " ".repeat(HTMLFILE_PADDING)),
            Streaming::Multipart => "--socketio\n".to_owned(),
        }
    }

    /// One payload in the stream's envelope.
    pub(crate) fn wrap(&self, payload: &str) -> String {
        match self {
            Streaming::HtmlFile => {
                format!(
                    "<script>parent.s._({}, document);</script>",
                    js_string(payload)
                )
            }
            // The fixed boundary is the 0.6 wire format; a payload holding
            // "\n--socketio\n" splits its part. Only multipart XHR (Firefox
            // before 22) reads this transport.
            Streaming::Multipart => format!("Content-Type: text/plain\n\n{payload}\n--socketio\n"),
        }
    }

    async fn open(
        &'static self,
        core: &Core,
        request: Request<Body>,
        route: Route<'_>,
    ) -> Result<Response<Body>, Reject> {
        let (parts, _) = request.into_parts();
        let session = core
            .open(self.transport(), &parts, route.extra.clone())
            .await?;
        let Some(carrying) = session.begin_request() else {
            return Err(Reject::Busy);
        };
        let stream = Stream {
            session: Arc::clone(&session),
            _carrying: carrying,
        };
        let first = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(
            self.prelude(),
        ))]);
        let rest = futures_util::stream::unfold(stream, move |stream| async move {
            let payload = stream.session.outbox.next().await?;
            Some((Ok(Bytes::from(self.wrap(&payload))), stream))
        });
        use futures_util::StreamExt;
        Ok(text_response(
            self.content_type(),
            Body::from_stream(first.chain(rest)),
        ))
    }
}

/// The open stream of a session; the session ends when it is dropped
/// (the client went away, or the session closed and the stream drained).
struct Stream {
    session: Arc<Session>,
    _carrying: crate::legacy::session::RequestGuard,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.session.close(DisconnectReason::TransportClose);
    }
}

impl Carrier for Streaming {
    fn serve<'a>(
        &'a self,
        core: &'a Core,
        request: Request<Body>,
        route: Route<'a>,
    ) -> BoxFuture<'a, Result<Response<Body>, Reject>> {
        let this: &'static Streaming = match self {
            Streaming::HtmlFile => &Streaming::HtmlFile,
            Streaming::Multipart => &Streaming::Multipart,
        };
        Box::pin(async move {
            match (request.method(), route.segment(1)) {
                (&Method::POST, Some("send")) => {
                    let id = route.session_id().to_owned();
                    post::receive(core, this.transport(), &id, request).await
                }
                (&Method::GET, _) => this.open(core, request, route).await,
                _ => Err(Reject::Method),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        assert!(Streaming::HtmlFile.prelude().starts_with("<html><body>"));
        assert!(Streaming::HtmlFile.prelude().len() >= "<html><body>".len() + 244);
        assert_eq!(
            Streaming::HtmlFile.wrap("~m~1~m~a"),
            "<script>parent.s._(\"~m~1~m~a\", document);</script>"
        );
        assert_eq!(
            Streaming::Multipart.wrap("~m~1~m~a"),
            "Content-Type: text/plain\n\n~m~1~m~a\n--socketio\n"
        );
    }
}
