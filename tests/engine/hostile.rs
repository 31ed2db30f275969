//! Hostile Engine.IO clients: packets out of place, floods, lying v3
//! lengths, requests after an upgrade; each gets node's answer and the
//! server goes on serving others.

use std::time::Duration;

use tokio_tungstenite::tungstenite::Message as Ws;
use tornadio::DisconnectReason;

use crate::{Harness, WsConn, error_code, patient};

/// A fresh session still echoes: the server is fine.
async fn still_serves(h: &mut Harness) {
    let (mut ws, _) = WsConn::open(h, 4).await;
    ws.text("4alive").await;
    assert_eq!(ws.recv_text().await, "4alive");
}

#[tokio::test]
async fn packets_out_of_place_are_ignored_and_a_pong_storm_is_harmless() {
    let mut h = Harness::start(patient()).await;
    let (mut ws, _open) = WsConn::open(&mut h, 4).await;
    for packet in ["0", "5", "6", "0{\"sid\":\"x\"}"] {
        ws.text(packet).await;
    }
    for _ in 0..10_000 {
        ws.text("3").await;
    }
    ws.text("4after").await;
    assert_eq!(ws.recv_text().await, "4after");
    still_serves(&mut h).await;
}

#[tokio::test]
async fn lying_v3_lengths_close_the_session() {
    let mut h = Harness::start(patient()).await;
    let bodies = [
        "2:4😀",
        "1:4😀",
        "4:4😀",
        "3:4😀2:4",
        "999999999:4",
        "12345678901:4",
        "-1:4",
        "a:4",
        ":4",
        "1:",
    ];
    for body in bodies {
        let sid = h.open_polling(3, "&b64=1").await["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        let answer = h.post(3, &sid, body).await;
        assert_eq!(answer.status, 400, "{body:?}");
        assert_eq!(
            h.closed(&sid).await,
            DisconnectReason::ParseError,
            "{body:?}"
        );
    }
    // Binary payloads that lie: no delimiter, a length past the end.
    for body in [vec![0u8, 5, 5], vec![1, 9, 255, 4, 1], vec![7, 1, 255, 52]] {
        let sid = h.open_polling(3, "").await["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        let answer = crate::client::post(
            format!("/engine.io/?EIO=3&transport=polling&sid={sid}"),
            body.clone(),
        )
        .header("Content-Type", "application/octet-stream")
        .send(h.addr())
        .await;
        assert_eq!(answer.status, 400, "{body:?}");
        assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
    }
    still_serves(&mut h).await;
}

#[tokio::test]
async fn requests_after_the_upgrade_are_bad_requests() {
    let mut h = Harness::start(patient()).await;
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = h.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    ws.text("5").await;
    // The switch is done once the socket carries output.
    ws.text("4ready").await;
    assert_eq!(ws.recv_text().await, "4ready");
    let poll = h.poll(4, &sid).await;
    assert_eq!((poll.status, error_code(&poll)), (400, 3));
    let post = h.post(4, &sid, "4late").await;
    assert_eq!((post.status, error_code(&post)), (400, 3));
    // The session is unharmed.
    ws.send(Ws::text("4still")).await;
    assert_eq!(ws.recv_text().await, "4still");
}

#[tokio::test]
async fn forged_and_closed_session_ids_are_unknown() {
    let mut h = Harness::start(patient()).await;
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut forged = sid.clone();
    forged.pop();
    forged.push(if sid.ends_with('A') { 'B' } else { 'A' });
    for id in [forged.as_str(), "", "../../etc", "%00", &"x".repeat(5000)] {
        let poll = h.poll(4, id).await;
        assert_eq!(poll.status, 400, "{id:?}");
    }
    // Closed: the client said goodbye.
    assert_eq!(h.post(4, &sid, "1").await.status, 200);
    assert_eq!(h.closed(&sid).await, DisconnectReason::TransportClose);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(error_code(&h.poll(4, &sid).await), 1);
    still_serves(&mut h).await;
}
