//! Liveness: v4 server pings answered by pongs, v3 client pings answered
//! by the server, and sessions whose client stopped answering closed.

use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as Ws;
use tornadio::DisconnectReason;

use crate::{Harness, WsConn, error_code, patient};

fn quick() -> tornadio::Settings {
    patient()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(1500))
}

#[tokio::test]
async fn v4_pings_are_answered_and_a_silent_client_times_out() {
    let mut h = Harness::start(quick()).await;
    let (mut ws, open) = WsConn::open(&mut h, 4).await;
    assert_eq!(open["pingInterval"], 200);
    for _ in 0..3 {
        assert_eq!(ws.recv_text().await, "2");
        ws.text("3").await;
    }
    let sid = open["sid"].as_str().unwrap().to_owned();
    // Stop answering: closed, reason ping timeout.
    assert_eq!(ws.recv_text().await, "2");
    assert_eq!(h.closed(&sid).await, DisconnectReason::PingTimeout);
    // Polling: the ping rides a GET, the pong a POST.
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        assert_eq!(h.poll(4, &sid).await.text(), "2");
        assert_eq!(h.post(4, &sid, "3").await.status, 200);
    }
    assert_eq!(h.poll(4, &sid).await.text(), "2");
    assert_eq!(h.closed(&sid).await, DisconnectReason::PingTimeout);
    assert_eq!(error_code(&h.poll(4, &sid).await), 1);
}

#[tokio::test]
async fn liveness_is_checked_while_the_server_sends() {
    let mut h = Harness::start(quick()).await;
    let (mut ws, open) = WsConn::open(&mut h, 4).await;
    let sid = open["sid"].as_str().unwrap().to_owned();
    // The client keeps the server busy echoing but never pongs.
    let closed = async {
        loop {
            // Once the server gave up, a write may find the socket gone.
            if ws.ws.send(Ws::text("4busy")).await.is_err() {
                return;
            }
            if matches!(ws.recv().await, None | Some(Ws::Close(_))) {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("the session closed although traffic flowed");
    assert_eq!(h.closed(&sid).await, DisconnectReason::PingTimeout);
}

#[tokio::test]
async fn v3_client_pings_are_answered_and_a_silent_client_times_out() {
    let settings = patient()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(300));
    let mut h = Harness::start(settings).await;
    let (mut ws, open) = WsConn::open(&mut h, 3).await;
    let sid = open["sid"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        ws.text("2").await;
        assert_eq!(ws.recv_text().await, "3");
    }
    // The wrong direction closes a v3 session.
    ws.text("3").await;
    assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
    // A v3 client that stops pinging is closed after interval + timeout.
    let (mut ws, open) = WsConn::open(&mut h, 3).await;
    let sid = open["sid"].as_str().unwrap().to_owned();
    assert_eq!(h.closed(&sid).await, DisconnectReason::PingTimeout);
    ws.closed().await;
    // And a v4 client that pings breaks the protocol.
    let (mut ws, open) = WsConn::open(&mut h, 4).await;
    let sid = open["sid"].as_str().unwrap().to_owned();
    ws.text("2").await;
    assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
}
