//! Rooms and broadcasts reach protocol-1 sockets beside Engine.IO (v4)
//! and 0.6 ones, each in its own wire format.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{self, PATIENCE};
use crate::p1::WsClient;
use crate::{Harness, j, patient};

/// A socket.io-client 4 over a WebSocket, in the namespace `/`.
struct V4 {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl V4 {
    async fn connect(addr: SocketAddr) -> V4 {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("v4 ws");
        let mut client = V4 { ws };
        assert!(client.recv().await.starts_with("0{"));
        client.send("40").await;
        assert!(client.recv().await.starts_with("40{\"sid\":"));
        client
    }

    async fn send(&mut self, text: &str) {
        self.ws.send(Ws::text(text)).await.unwrap();
    }

    /// The next packet but pings.
    async fn recv(&mut self) -> String {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a v4 message in time");
            match next {
                Some(Ok(Ws::Text(text))) if text.as_str() == "2" => self.send("3").await,
                Some(Ok(Ws::Text(text))) => return text.to_string(),
                Some(Ok(_)) => {}
                other => panic!("v4 connection ended: {other:?}"),
            }
        }
    }
}

/// Three clients of three generations in `/`, all in room `r`.
async fn three_generations(h: &mut Harness) -> (WsClient, V4, common::WsClient) {
    let (_, mut p1) = WsClient::open(h.addr()).await;
    p1.expect("3:::Welcome").await;
    h.opened("/").await;
    let mut v4 = V4::connect(h.addr()).await;
    assert_eq!(v4.recv().await, r#"42["message","Welcome"]"#);
    h.opened("/").await;
    let mut old = common::WsClient::connect(&h.server.ws_url("/socket.io/websocket")).await;
    assert_eq!(old.recv().await.as_deref(), Some("Welcome"));
    h.opened("/").await;

    p1.send("3:::join:r").await;
    p1.expect("3:::joined:r").await;
    v4.send(r#"42["message","join:r"]"#).await;
    assert_eq!(v4.recv().await, r#"42["message","joined:r"]"#);
    old.send("join:r").await;
    assert_eq!(old.recv().await.as_deref(), Some("joined:r"));
    for _ in 0..3 {
        h.next().await;
    }
    (p1, v4, old)
}

#[tokio::test]
async fn room_events_and_broadcast_messages_reach_every_generation_in_its_format() {
    let mut h = Harness::start(patient()).await;
    let (mut p1, mut v4, mut old) = three_generations(&mut h).await;

    // An event to the room, from the v4 client: the protocol-1 client gets
    // `5`; the 0.6 client, which has no events, is skipped.
    v4.send(r#"42["message","news:héllo"]"#).await;
    p1.expect(r#"5:::{"name":"news","args":["héllo"]}"#).await;

    // A message to everyone, from the 0.6 client.
    old.send("shout:all of you").await;
    p1.expect("3:::all of you").await;
    assert_eq!(v4.recv().await, r#"42["message","all of you"]"#);
    assert_eq!(old.recv().await.as_deref(), Some("all of you"));

    // From outside any handler, to a protocol-1 endpoint.
    p1.send("1::/custom").await;
    p1.expect("1::/custom").await;
    p1.expect("3::/custom:Welcome").await;
    h.router
        .io()
        .of("/custom")
        .emit("tick", &(1, "two"))
        .unwrap();
    p1.expect(r#"5::/custom:{"name":"tick","args":[1,"two"]}"#)
        .await;
}

#[tokio::test]
async fn a_broadcast_with_acks_collects_the_protocol_1_answer_too() {
    let mut h = Harness::start(patient()).await;
    let (mut p1, mut v4, _old) = three_generations(&mut h).await;
    let io = h.router.io();
    let asking = tokio::spawn(async move { io.of("/").to("r").emit_with_ack("poll", &"q?").await });

    let question = p1.recv().await.unwrap();
    let (id, rest) = question
        .strip_prefix("5:")
        .and_then(|q| q.split_once("+::"))
        .unwrap_or_else(|| panic!("{question}"));
    assert_eq!(rest, r#"{"name":"poll","args":["q?"]}"#);
    p1.send(&format!("6:::{id}+[\"from p1\"]")).await;

    let question = v4.recv().await;
    let id = question
        .strip_prefix("42")
        .and_then(|q| q.strip_suffix(r#"["poll","q?"]"#))
        .unwrap_or_else(|| panic!("{question}"));
    v4.send(&format!("43{id}[\"from v4\"]")).await;

    let answers = asking.await.unwrap().expect("every client answered");
    let mut answers: Vec<_> = answers.iter().map(|a| a.values()[0].clone()).collect();
    answers.sort_by_key(|v| v.to_string());
    assert_eq!(answers, [j("\"from p1\""), j("\"from v4\"")]);
}
