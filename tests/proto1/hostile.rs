//! Hostile input: malformed packets and payloads, lying lengths, huge
//! bodies and messages, odd paths. Each gets a clear error or a closed
//! session; the server goes on serving everyone else.

use tokio_tungstenite::tungstenite::Message as Ws;

use futures_util::SinkExt;
use tornadio::DisconnectReason;

use crate::p1::{self, Poller, WsClient};
use crate::{Harness, http, patient};

#[tokio::test]
async fn malformed_posts_get_400_and_end_only_their_session() {
    let mut h = Harness::start(patient()).await;
    let bystander = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    let hostile = [
        // Lengths that lie: past the end, short of the next frame, inside
        // a surrogate pair, not digits, absurdly long.
        "\u{fffd}99\u{fffd}3:::x".to_owned(),
        "\u{fffd}2\u{fffd}3:::x".to_owned(),
        "\u{fffd}5\u{fffd}3:::😀".to_owned(),
        "\u{fffd}x\u{fffd}3:::x".to_owned(),
        format!("\u{fffd}{}\u{fffd}3:::x", "9".repeat(40)),
        // Packets that are not the protocol.
        "9::".to_owned(),
        "3".to_owned(),
        "4:::{".to_owned(),
        "5:::[\"not\",\"an object\"]".to_owned(),
        "6:::x+[1]".to_owned(),
        "2::/ep".to_owned(),
        "3:1x::x".to_owned(),
        "3::ep:no slash".to_owned(),
        format!("4:::{}", "[".repeat(10_000)),
    ];
    for payload in &hostile {
        let poller = Poller::open(h.addr(), "xhr-polling").await;
        h.opened("/").await;
        let response = poller.post_raw(payload).await;
        assert_eq!(response.status, 400, "{payload:.40?}: {}", response.text());
        h.closed("/", DisconnectReason::ParseError).await;
        assert_eq!(poller.get().await, ["7:::1+0"]);
    }
    // A jsonp form without `d`, or whose `d` is not a JSON string.
    for form in ["x=1", "d=3%3A%3A%3Ahi"] {
        let poller = Poller::open(h.addr(), "jsonp-polling").await;
        h.opened("/").await;
        let response = http::post(format!("{}?t=1&i=0", poller.path()), form)
            .send(h.addr())
            .await;
        assert_eq!(response.status, 400, "{form}");
        h.closed("/", DisconnectReason::ParseError).await;
    }
    bystander.post("3:::still fine").await;
    h.message("/", "still fine").await;
    assert_eq!(bystander.get().await, ["3:::still fine"]);
}

#[tokio::test]
async fn malformed_websocket_messages_close_the_session() {
    let mut h = Harness::start(patient()).await;
    for bad in [
        Ws::text("not a packet"),
        Ws::text("\u{fffd}9\u{fffd}2::"),
        Ws::binary(vec![3, 58, 58]),
    ] {
        let (_, mut client) = WsClient::open(h.addr()).await;
        client.expect("3:::Welcome").await;
        h.opened("/").await;
        client.ws.send(bad).await.unwrap();
        assert_eq!(client.until_closed().await, Vec::<String>::new());
        h.closed("/", DisconnectReason::ParseError).await;
    }
    h.no_sessions().await;
}

#[tokio::test]
async fn huge_bodies_and_messages_are_bounded_by_the_settings() {
    let mut h = Harness::start(patient().max_body_size(1024).max_message_size(1024)).await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    let huge = format!("3:::{}", "x".repeat(2000));
    assert_eq!(poller.post_raw(&huge).await.status, 413);
    // Announced, and refused before it is sent.
    let announced = http::post(format!("{}?t=1", poller.path()), "3:::x")
        .header("Content-Length", "100000000")
        .start(h.addr())
        .await
        .response()
        .await;
    assert_eq!(announced.status, 413);
    // The session goes on.
    poller.post("3:::small").await;
    h.message("/", "small").await;
    assert_eq!(poller.get().await, ["3:::small"]);

    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    client.send(&huge).await;
    assert_eq!(client.until_closed().await, Vec::<String>::new());
    h.closed("/", DisconnectReason::ParseError).await;
}

#[tokio::test]
async fn odd_requests_get_clear_errors_never_a_server_error() {
    let h = Harness::start(patient()).await;
    let sid = p1::handshake(h.addr()).await;
    let cases = [
        (http::get("/socket.io/1/xhr-polling/"), 404),
        (http::get("/socket.io/1/bogus/x"), 404),
        (
            http::get(format!("/socket.io/1/xhr-polling/{sid}/x/y")),
            404,
        ),
        (
            http::get(format!("/socket.io/1/jsonp-polling/{sid}?i=1x")),
            400,
        ),
        (http::get(format!("/socket.io/1/websocket/{sid}")), 400),
        (
            http::post(format!("/socket.io/1/websocket/{sid}"), "x"),
            405,
        ),
        (
            http::options(format!("/socket.io/1/xhr-polling/{sid}")),
            204,
        ),
    ];
    for (request, status) in cases {
        assert_eq!(request.send(h.addr()).await.status, status);
    }
    // The session was not disturbed.
    let poller = Poller::new(h.addr(), &sid, "xhr-polling");
    assert_eq!(poller.get().await, ["1::", "3:::Welcome"]);
}
