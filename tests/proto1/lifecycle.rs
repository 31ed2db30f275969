//! The clocks and the ends of a session: heartbeats on the persistent
//! transports, a client that stops reading, the server shutting down.

use std::time::Duration;

use tornadio::DisconnectReason;

use crate::p1::{Poller, WsClient};
use crate::{Harness, Seen, patient};

fn short_heartbeats() -> tornadio::Settings {
    patient()
        .proto1_heartbeat_interval(Duration::from_millis(100))
        .proto1_heartbeat_timeout(Duration::from_secs(2))
}

#[tokio::test]
async fn answered_heartbeats_keep_a_websocket_and_a_silent_one_times_out() {
    let mut h = Harness::start(short_heartbeats()).await;
    let hs = crate::p1::handshake_with(h.addr(), "").await;
    // Announced in whole seconds.
    assert_eq!(hs.heartbeat, "2");
    let path = format!("/socket.io/1/websocket/{}", hs.sid);
    let mut client = WsClient::connect(h.addr(), &path).await;
    client.expect("1::").await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    for _ in 0..5 {
        assert_eq!(client.recv_raw().await.as_deref(), Some("2::"));
        client.send("2::").await;
    }
    h.quiet();
    // The next beat goes unanswered.
    assert_eq!(client.recv_raw().await.as_deref(), Some("2::"));
    assert_eq!(client.recv_raw().await, None, "closed, without a `0::`");
    h.closed("/", DisconnectReason::PingTimeout).await;
    h.no_sessions().await;
}

#[tokio::test]
async fn a_client_that_lets_its_queue_fill_is_closed() {
    let mut h = Harness::start(patient().max_queued_bytes(4096)).await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    // Every message is echoed; nothing is polled.
    let big = format!("3:::{}", "x".repeat(1000));
    for _ in 0..5 {
        let response = poller.post_raw(&big).await;
        assert_eq!(response.status, 200);
    }
    assert_eq!(
        h.next_after_messages().await,
        Seen::Close {
            nsp: "/".into(),
            reason: DisconnectReason::SlowClient
        }
    );
}

#[tokio::test]
async fn a_websocket_client_that_stops_reading_is_given_up() {
    // A queue too large to fill first: only the stalled write can end it,
    // after the heartbeat timeout, long before any heartbeat is due.
    let settings = patient()
        .max_queued_bytes(1 << 30)
        .proto1_heartbeat_interval(Duration::from_secs(60))
        .proto1_heartbeat_timeout(Duration::from_secs(1));
    let mut h = Harness::start(settings).await;
    let (_, mut client) = WsClient::open(h.addr()).await;
    client.expect("3:::Welcome").await;
    h.opened("/").await;
    // Every message is echoed, and the client reads none of them: the
    // connection fills and the server's write stalls.
    let big = format!("3:::{}", "x".repeat(64 * 1024));
    let sender = tokio::spawn(async move {
        use futures_util::SinkExt;
        let message = tokio_tungstenite::tungstenite::Message::text(big);
        while client.ws.send(message.clone()).await.is_ok() {}
    });
    assert_eq!(
        h.next_after_messages().await,
        Seen::Close {
            nsp: "/".into(),
            reason: DisconnectReason::PingTimeout
        }
    );
    h.no_sessions().await;
    // Its connection is closed too: the sender's writes fail.
    tokio::time::timeout(Duration::from_secs(10), sender)
        .await
        .expect("the connection closed")
        .unwrap();
}

#[tokio::test]
async fn shutdown_closes_sessions_without_a_0_so_that_clients_reconnect() {
    let mut h = Harness::start(patient()).await;
    let (_, mut ws) = WsClient::open(h.addr()).await;
    ws.expect("3:::Welcome").await;
    h.opened("/").await;
    let poller = Poller::open(h.addr(), "xhr-polling").await;
    h.opened("/").await;
    let poll = || {
        let request = poller.get_request();
        let addr = h.addr();
        tokio::spawn(async move { request.send(addr).await })
    };
    let (mut a, mut b) = (poll(), poll());
    // One poll waits once the other is refused.
    let (refused, waiting) = tokio::select! {
        done = &mut a => (done.unwrap(), b),
        done = &mut b => (done.unwrap(), a),
    };
    assert_eq!(refused.status, 409);
    let Harness {
        server, mut seen, ..
    } = h;
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(ws.until_closed().await, Vec::<String>::new());
    let answer = waiting.await.unwrap();
    assert_eq!(crate::p1::unbatch(&answer.text()), ["7:::1+0"]);
    stopping.await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            seen.recv().await,
            Some(Seen::Close {
                nsp: "/".into(),
                reason: DisconnectReason::ServerShuttingDown
            })
        );
    }
}
