//! The handshake: `GET /{resource}/1/?t=..` answers
//! `sid:heartbeatTimeout:closeTimeout:transports`; with `&jsonp=N` (a
//! cross-origin client without CORS) as `io.j[N]("...");`.

use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, Response};

use super::{jsonp, jsonp_index, text_response};
use crate::error::Reject;
use crate::proto1::Core;
use crate::settings::Settings;

/// A duration as the handshake announces it: whole seconds, rounded up,
/// never 0 (an empty or zero heartbeat timeout breaks the 0.9.17 client).
fn seconds(duration: Duration) -> u64 {
    let whole = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    whole.max(1)
}

/// The handshake's body for session `sid`.
pub(super) fn body(sid: &str, settings: &Settings) -> String {
    let transports: Vec<&str> = settings.proto1_enabled().map(|t| t.as_str()).collect();
    format!(
        "{sid}:{}:{}:{}",
        seconds(settings.proto1_heartbeat_timeout),
        seconds(settings.proto1_close_timeout),
        transports.join(",")
    )
}

/// Answers a handshake: a new session, or why there is none.
pub(super) fn answer(core: &Core, request: Request<Body>) -> Response<Body> {
    let (parts, _) = request.into_parts();
    let index = match jsonp_index(parts.uri.query().unwrap_or(""), "jsonp") {
        Ok(index) => index,
        Err(reject) => return reject.into_response(),
    };
    // The spec says POST; the clients send GET.
    let outcome = if parts.method != Method::GET && parts.method != Method::POST {
        Err(Reject::Method)
    } else if core.settings.proto1_enabled().next().is_none() {
        Err(Reject::Disabled)
    } else {
        core.open(&parts)
    };
    match (outcome, index) {
        (Ok(session), None) => text_response(
            "text/plain; charset=UTF-8",
            body(&session.id, &core.settings),
        ),
        (Ok(session), Some(index)) => {
            let body = body(&session.id, &core.settings);
            jsonp(index, &crate::js::string_literal(&body))
        }
        // A script cannot read a status: the client's callback gets an
        // Error, whose message it reports (0.9.17 does the same).
        (Err(reject), Some(index)) => {
            let message = crate::js::string_literal(&reject.to_string());
            jsonp(index, &format!("new Error({message})"))
        }
        (Err(reject), None) => reject.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;

    #[test]
    fn announces_whole_positive_seconds_and_the_enabled_transports() {
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::ZERO), 1);
        assert_eq!(seconds(Duration::from_millis(60_000)), 60);
        assert_eq!(seconds(Duration::from_millis(60_001)), 61);
        let settings = Settings::default();
        assert_eq!(
            body("abc", &settings),
            "abc:60:60:websocket,htmlfile,xhr-polling,jsonp-polling"
        );
        let settings = settings
            .proto1_transports([Transport::JsonpPolling, Transport::FlashSocket])
            .proto1_heartbeat_timeout(Duration::from_millis(1500));
        assert_eq!(body("x", &settings), "x:2:60:flashsocket,jsonp-polling");
    }
}
