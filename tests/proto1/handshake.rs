//! `GET /socket.io/1/`: the session id and the clocks, as text or JSONP,
//! and what the client reads when there is no session for it.

use std::time::Duration;

use tornadio::{Settings, Transport};

use crate::p1::{self, Poller};
use crate::{Harness, http, patient};

#[tokio::test]
async fn the_handshake_announces_a_long_random_sid_the_clocks_and_the_transports() {
    let h = Harness::start(Settings::default()).await;
    let response = http::get("/socket.io/1/?t=1700000000000")
        .send(h.addr())
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    let first = p1::handshake_with(h.addr(), "").await;
    let second = p1::handshake_with(h.addr(), "").await;
    for hs in [&first, &second] {
        // 22 of [0-9A-Za-z]: 130 bits from the CSPRNG.
        assert_eq!(hs.sid.len(), 22, "{}", hs.sid);
        assert!(hs.sid.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!((hs.heartbeat.as_str(), hs.close.as_str()), ("60", "60"));
        assert_eq!(
            hs.transports,
            "websocket,htmlfile,xhr-polling,jsonp-polling"
        );
    }
    assert_ne!(first.sid, second.sid);
}

#[tokio::test]
async fn the_handshake_follows_the_settings() {
    let settings = Settings::default()
        .proto1_heartbeat_timeout(Duration::from_millis(1500))
        .proto1_close_timeout(Duration::from_secs(30))
        .proto1_transports([Transport::XhrPolling, Transport::FlashSocket]);
    let h = Harness::start(settings).await;
    let hs = p1::handshake_with(h.addr(), "user=ann&").await;
    // Whole seconds, rounded up, in the client's order.
    assert_eq!(
        (
            hs.heartbeat.as_str(),
            hs.close.as_str(),
            hs.transports.as_str()
        ),
        ("2", "30", "flashsocket,xhr-polling")
    );
    // Transports not enabled are refused.
    let ws = http::get(format!("/socket.io/1/websocket/{}", hs.sid))
        .send(h.addr())
        .await;
    assert_eq!(ws.status, 403);

    let off = Harness::start(Settings::default().proto1_transports([])).await;
    let response = http::get("/socket.io/1/?t=1").send(off.addr()).await;
    assert_eq!(response.status, 403);
}

#[tokio::test]
async fn a_jsonp_handshake_calls_the_clients_callback() {
    let h = Harness::start(Settings::default().max_sessions(Some(1))).await;
    let response = http::get("/socket.io/1/?t=1&jsonp=3").send(h.addr()).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let text = response.text();
    let literal = text
        .strip_prefix("io.j[3](")
        .and_then(|t| t.strip_suffix(");"))
        .unwrap_or_else(|| panic!("{text}"));
    let body: String = serde_json::from_str(literal).unwrap();
    assert!(body.ends_with(":60:60:websocket,htmlfile,xhr-polling,jsonp-polling"));

    // Over the session limit: `503` as text, an Error through JSONP.
    let refused = http::get("/socket.io/1/?t=2").send(h.addr()).await;
    assert_eq!(refused.status, 503);
    let refused = http::get("/socket.io/1/?t=2&jsonp=0").send(h.addr()).await;
    assert_eq!(refused.status, 200);
    assert!(
        refused.text().starts_with("io.j[0](new Error(\""),
        "{}",
        refused.text()
    );
    // An index that is not digits would be script: refused.
    let hostile = http::get("/socket.io/1/?t=2&jsonp=alert(1)")
        .send(h.addr())
        .await;
    assert_eq!(hostile.status, 400);
}

#[tokio::test]
async fn a_handshake_never_followed_by_a_transport_expires_after_the_close_timeout() {
    let mut h = Harness::start(patient().proto1_close_timeout(Duration::from_millis(300))).await;
    let poller = Poller::handshake(h.addr(), "xhr-polling").await;
    assert_eq!(h.router.connection_count(), 1);
    h.no_sessions().await;
    // Nothing opened, so nothing closes; the client learns on its poll.
    h.quiet();
    assert_eq!(poller.get().await, ["7:::1+0"]);
}

#[tokio::test]
async fn cross_origin_clients_get_their_origin_and_credentials_back() {
    // The 0.9 client always sends credentials cross-origin: its origin
    // must be allowed by name (or "*").
    let h = Harness::start(patient().allowed_origins(["http://page.test"])).await;
    let response = http::get("/socket.io/1/?t=1")
        .header("Origin", "http://page.test")
        .send(h.addr())
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://page.test")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    let sid = response.text().split(':').next().unwrap().to_owned();
    let poller = Poller::new(h.addr(), &sid, "xhr-polling");
    let post = poller
        .post_request("3:::hi")
        .header("Origin", "http://page.test")
        .send(h.addr())
        .await;
    assert_eq!(
        post.header("access-control-allow-credentials"),
        Some("true")
    );
    let other = http::get("/socket.io/1/?t=1")
        .header("Origin", "http://evil.test")
        .send(h.addr())
        .await;
    assert_eq!(other.status, 403);
}
