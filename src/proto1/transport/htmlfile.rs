//! htmlfile: one GET, read by IE's `htmlfile` ActiveX document, streams
//! every payload as a `<script>` calling the page's `_`. Heartbeats keep
//! it alive; when it ends, the session ends. The client's packets come by
//! POST, as xhr-polling's.
//!
//! ```text
//! GET  /{resource}/1/htmlfile/{sid}?t=..
//! ```

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use http::Response;

use super::{UNKNOWN_SESSION, text_response};
use crate::error::Reject;
use crate::proto1::Core;
use crate::proto1::session::{CarryGuard, Session};
use crate::protocol::proto1::encode_payload;
use crate::{DisconnectReason, Transport};

/// What the stream starts with: the function the payloads call, then
/// padding (IE renders nothing of a stream before 256 bytes arrived).
fn prelude() -> String {
    format!(
        "<html><body><script>var _ = function (msg) {{ parent.s._(msg, document); }};</script>{}",
        " ".repeat(173)
    )
}

/// One payload as a script. The client undoes every `\/` in what it reads
/// (socket.io GH-1251), so a `\/` in the payload itself is written `\\/`
/// to come through as sent.
fn script(payload: &str) -> String {
    let mut guarded = String::with_capacity(payload.len() + 8);
    let mut after_backslash = false;
    for c in payload.chars() {
        if c == '/' && after_backslash {
            guarded.push('\\');
        }
        guarded.push(c);
        after_backslash = c == '\\';
    }
    format!(
        "<script>_({});</script>",
        crate::js::string_literal(&guarded)
    )
}

/// The GET that carries the session for its whole life.
pub(super) async fn serve(core: &Core, sid: &str) -> Result<Response<Body>, Reject> {
    let html = "text/html; charset=UTF-8";
    let Some(session) = core.registry.get(sid) else {
        return Ok(text_response(html, prelude() + &script(UNKNOWN_SESSION)));
    };
    let Some(carrying) = session.carry(Transport::HtmlFile).await else {
        tracing::warn!(session = %sid, "second htmlfile stream refused");
        return Err(Reject::Busy);
    };
    let stream = Stream {
        session: Arc::clone(&session),
        _carrying: carrying,
    };
    let first =
        futures_util::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(prelude()))]);
    let rest = futures_util::stream::unfold(stream, |stream| async move {
        let packets = stream.session.outbox.next().await?;
        let chunk = Bytes::from(script(&encode_payload(&packets)));
        Some((Ok(chunk), stream))
    });
    Ok(text_response(html, Body::from_stream(first.chain(rest))))
}

/// The open stream of a session; the session ends when it is dropped
/// (the client went away, or the session closed and the stream drained).
struct Stream {
    session: Arc<Session>,
    _carrying: CarryGuard,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.session.close(DisconnectReason::TransportClose);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the client's `_` does to the string it is called with.
    fn client_unescape(data: &str) -> String {
        data.replace("\\/", "/")
    }

    #[test]
    fn scripts_survive_the_clients_unescaping_and_cannot_end_early() {
        for payload in [
            "3:::a/b",
            "3:::a\\/b",
            "3:::\\\\/",
            "3:::</script><script>alert(1)</script>",
            "\u{fffd}3\u{fffd}2::\u{fffd}5\u{fffd}3:::\\/",
        ] {
            let script = script(payload);
            let inner = script
                .strip_prefix("<script>_(")
                .and_then(|s| s.strip_suffix(");</script>"))
                .unwrap();
            assert!(!inner.contains("</"), "{script}");
            let literal: String = serde_json::from_str(inner).unwrap();
            assert_eq!(client_unescape(&literal), payload);
        }
        assert!(prelude().len() >= 256);
    }
}
