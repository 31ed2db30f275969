//! WebSocket sessions: the open packet, echo of text and binary in both
//! versions' framing, base64 binary, the size limit.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Message as Ws;
use tornadio::{Data, DisconnectReason};

use crate::{Harness, Seen, WsConn, patient};

#[tokio::test]
async fn a_websocket_session_opens_with_no_upgrades_and_echoes() {
    let mut h = Harness::start(patient()).await;
    let (mut ws, open) = WsConn::open(&mut h, 4).await;
    assert_eq!(open["upgrades"], serde_json::json!([]));
    let sid = open["sid"].as_str().unwrap().to_owned();
    ws.text("4héllo 😀").await;
    assert_eq!(ws.recv_text().await, "4héllo 😀");
    ws.send(Ws::binary(vec![1, 2, 3])).await;
    assert_eq!(ws.recv().await, Some(Ws::binary(vec![1, 2, 3])));
    assert_eq!(
        h.next().await,
        Seen::Message(sid.clone(), Data::from("héllo 😀"))
    );
    // A burst keeps its order.
    for i in 0..200 {
        ws.text(&format!("4m{i}")).await;
    }
    for i in 0..200 {
        assert_eq!(ws.recv_text().await, format!("4m{i}"));
    }
    // The client's close packet ends the session.
    ws.text("1").await;
    assert_eq!(h.closed(&sid).await, DisconnectReason::TransportClose);
}

#[tokio::test]
async fn v3_binary_frames_carry_their_type_byte_and_b64_sends_text() {
    let mut h = Harness::start(patient()).await;
    let (mut ws, open) = WsConn::open(&mut h, 3).await;
    assert!(open["sid"].is_string());
    ws.send(Ws::binary(vec![4, 9, 8, 7])).await;
    assert_eq!(ws.recv().await, Some(Ws::binary(vec![4, 9, 8, 7])));
    // Base64 on this socket: binary goes as text `b4...`.
    let mut b64 = h.ws("EIO=3&transport=websocket&b64=1").await;
    let _open = b64.recv_text().await;
    b64.text("b4AQID").await;
    assert_eq!(b64.recv_text().await, "b4AQID");
    let mut v4 = h.ws("EIO=4&transport=websocket&b64=1").await;
    let _open = v4.recv_text().await;
    v4.send(Ws::binary(Bytes::from_static(&[1, 2, 3]))).await;
    assert_eq!(v4.recv_text().await, "bAQID");
}

#[tokio::test]
async fn a_message_over_max_payload_closes_with_1009() {
    let mut h = Harness::start(patient().max_payload(1000)).await;
    let (mut ws, open) = WsConn::open(&mut h, 4).await;
    let sid = open["sid"].as_str().unwrap().to_owned();
    ws.text(&format!("4{}", "x".repeat(2000))).await;
    assert_eq!(ws.closed().await, Some(1009));
    assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
    // Others are unaffected.
    let (mut other, _) = WsConn::open(&mut h, 4).await;
    other.text("4fine").await;
    assert_eq!(other.recv_text().await, "4fine");
}

#[tokio::test]
async fn malformed_packets_close_the_session() {
    let mut h = Harness::start(patient()).await;
    for garbage in ["", "9", "xyz", "b!!!"] {
        let (mut ws, open) = WsConn::open(&mut h, 4).await;
        let sid = open["sid"].as_str().unwrap().to_owned();
        ws.text(garbage).await;
        assert!(ws.closed().await.is_some(), "{garbage:?}");
        assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
    }
    // A v3 binary frame of another type than message.
    let (mut ws, open) = WsConn::open(&mut h, 3).await;
    let sid = open["sid"].as_str().unwrap().to_owned();
    ws.send(Ws::binary(vec![2, 1])).await;
    assert!(ws.closed().await.is_some());
    assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
}
