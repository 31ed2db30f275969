//! The connection API over the WebSocket and Flash socket transports, with
//! a real server on 127.0.0.1 and a real WebSocket client.

mod common;

use std::time::Duration;

use common::{Event, WsClient, frame, next_event, recorder_router, serve};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tornadio::{Message, Router, Settings, SocketServer, Transport};

#[tokio::test]
async fn handshake_gives_the_session_id_first_then_the_welcome() {
    let (router, mut events) = recorder_router();
    let server = serve(axum::Router::new().merge(router.clone())).await;
    let mut client = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    assert_eq!(client.id.len(), 22);
    assert!(client.id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(client.recv().await.as_deref(), Some("Welcome"));
    assert_eq!(
        next_event(&mut events).await,
        Event::Open {
            id: client.id.clone(),
            extra: None
        }
    );
    let socket = router.sockets().get(&client.id).expect("listed while open");
    assert_eq!(socket.transport(), Transport::WebSocket);
    assert_eq!(router.sockets().len(), 1);
}

#[tokio::test]
async fn echoes_text_json_batches_and_unicode() {
    let (router, mut events) = recorder_router();
    let server = serve(axum::Router::new().merge(router)).await;
    let mut client = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    assert_eq!(client.recv().await.as_deref(), Some("Welcome"));

    client.send("plain text").await;
    assert_eq!(client.recv().await.as_deref(), Some("plain text"));

    client.send("~j~{\"user\":\"ann\",\"n\":[1,2]}").await;
    let echoed = client.recv().await.unwrap();
    let value: serde_json::Value =
        serde_json::from_str(echoed.strip_prefix("~j~").unwrap()).unwrap();
    assert_eq!(value, json!({"user": "ann", "n": [1, 2]}));

    let tricky = "héllo 😀 ~m~3~m~ 日本 \u{2028}";
    client.send(tricky).await;
    assert_eq!(client.recv().await.as_deref(), Some(tricky));

    // A batch in one WebSocket message is several messages, in order.
    let batch = format!(
        "{}{}{}",
        frame("one"),
        frame("😀😀"),
        frame("~j~{\"k\":\"é\"}")
    );
    client.send_raw(&batch).await;
    assert_eq!(client.recv().await.as_deref(), Some("one"));
    assert_eq!(client.recv().await.as_deref(), Some("😀😀"));
    assert_eq!(client.recv().await.as_deref(), Some("~j~{\"k\":\"é\"}"));

    let _open = next_event(&mut events).await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        if let Event::Message { message, .. } = next_event(&mut events).await {
            seen.push(message);
        }
    }
    assert_eq!(seen[0], Message::Text("plain text".into()));
    assert_eq!(seen[1], Message::Json(json!({"user": "ann", "n": [1, 2]})));
    assert_eq!(seen[2], Message::Text(tricky.into()));
    assert_eq!(seen[5], Message::Json(json!({"k": "é"})));
}

#[tokio::test]
async fn send_of_a_list_is_one_write_of_several_frames() {
    struct Batcher;
    impl tornadio::Connection for Batcher {
        async fn on_open(
            &mut self,
            socket: &tornadio::Socket,
            _: &tornadio::OpenInfo,
        ) -> Result<(), tornadio::Refused> {
            socket
                .send(vec![Message::from("a"), json!({"b": 1}).into(), "ü".into()])
                .unwrap();
            Ok(())
        }
        async fn on_message(&mut self, _: &tornadio::Socket, _: Message) {}
    }
    let server = serve(axum::Router::new().merge(Router::new(|| Batcher))).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url("/socket.io/websocket"))
        .await
        .unwrap();
    use futures_util::StreamExt;
    // The session id and the batch were queued together: one payload.
    let payload = ws.next().await.unwrap().unwrap().into_text().unwrap();
    let parts = common::unframe(payload.as_str());
    assert_eq!(parts.len(), 4, "{payload}");
    assert_eq!(&parts[1..], ["a", "~j~{\"b\":1}", "ü"]);
}

#[tokio::test]
async fn heartbeats_are_sent_echoed_and_missing_echoes_close_the_session() {
    let (router, mut events) = recorder_router();
    let settings = Settings::default()
        .heartbeat_interval(Duration::from_millis(100))
        .heartbeat_timeout(Duration::from_millis(1500));
    let router = router.settings(settings);
    let server = serve(axum::Router::new().merge(router.clone())).await;

    // A client that echoes stays connected across many heartbeats.
    let mut good = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    let mut beats = Vec::new();
    while beats.len() < 5 {
        let data = good.recv_raw().await.expect("connection stays open");
        if let Some(n) = data.strip_prefix("~h~") {
            beats.push(n.parse::<u64>().unwrap());
            good.send(&data).await;
        }
    }
    assert_eq!(beats, [1, 2, 3, 4, 5]);
    let good_id = good.id.clone();
    // Keep echoing in the background while the silent client is tested.
    let echoing = tokio::spawn(async move { while good.recv().await.is_some() {} });

    // A client that stays silent is disconnected, and on_close runs.
    let mut silent = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    let silent_id = silent.id.clone();
    while silent.recv_raw().await.is_some() {}
    loop {
        if next_event(&mut events).await
            == (Event::Close {
                id: silent_id.clone(),
            })
        {
            break;
        }
    }
    assert!(router.sockets().get(&silent_id).is_none());
    assert!(router.sockets().get(&good_id).is_some());
    echoing.abort();
}

#[tokio::test]
async fn on_close_runs_once_when_the_client_leaves() {
    let (router, mut events) = recorder_router();
    let server = serve(axum::Router::new().merge(router.clone())).await;
    let client = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    let id = client.id.clone();
    drop(client);
    assert!(matches!(next_event(&mut events).await, Event::Open { .. }));
    assert_eq!(next_event(&mut events).await, Event::Close { id });
    assert!(router.sockets().is_empty());
    // Nothing more arrives for that session.
    let more = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(more.is_err(), "unexpected {more:?}");
}

#[tokio::test]
async fn close_from_the_server_ends_the_connection() {
    let (router, mut events) = recorder_router();
    let server = serve(axum::Router::new().merge(router.clone())).await;
    let mut client = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    assert_eq!(client.recv().await.as_deref(), Some("Welcome"));
    client.send("close-me").await;
    assert_eq!(client.recv().await, None);
    let _open = next_event(&mut events).await;
    let _message = next_event(&mut events).await;
    assert_eq!(
        next_event(&mut events).await,
        Event::Close {
            id: client.id.clone()
        }
    );
    assert!(router.sockets().is_empty());
}

#[tokio::test]
async fn extra_data_reaches_on_open() {
    let (router, mut events) = recorder_router();
    let router = router.resource("chat").extra_re(r"\d+").extra_sep("/");
    let server = serve(axum::Router::new().merge(router)).await;
    let client = WsClient::connect(&server.ws_url("/chat/123/websocket")).await;
    assert_eq!(
        next_event(&mut events).await,
        Event::Open {
            id: client.id.clone(),
            extra: Some("123".into())
        }
    );
    let refused = tokio_tungstenite::connect_async(server.ws_url("/chat/abc/websocket")).await;
    assert!(refused.is_err(), "extra not matching extra_re is not found");
}

#[tokio::test]
async fn two_routers_and_the_application_share_one_server() {
    let (chat, mut chat_events) = recorder_router();
    let (ping, mut ping_events) = recorder_router();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the page" }))
        .merge(chat.resource("chat"))
        .merge(ping.resource("ping"));
    let server = serve(app).await;
    let c = WsClient::connect(&server.ws_url("/chat/websocket")).await;
    let p = WsClient::connect(&server.ws_url("/ping/flashsocket")).await;
    assert!(matches!(next_event(&mut chat_events).await, Event::Open { id, .. } if id == c.id));
    assert!(matches!(next_event(&mut ping_events).await, Event::Open { id, .. } if id == p.id));
    let page = http_get(server.addr, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.ends_with("the page"));
    let missing = http_get(server.addr, "/socket.io/websocket").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}

#[tokio::test]
async fn disabled_and_unknown_transports_are_refused() {
    let (router, _events) = recorder_router();
    let router =
        router.settings(Settings::default().enabled_protocols(vec![Transport::XhrPolling]));
    let server = serve(axum::Router::new().merge(router)).await;
    let disabled = http_get(server.addr, "/socket.io/websocket").await;
    assert!(disabled.starts_with("HTTP/1.1 403"), "{disabled}");
    let unknown = http_get(server.addr, "/socket.io/carrier-pigeon").await;
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
}

#[tokio::test]
async fn on_open_may_refuse() {
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let router = Router::new(move || common::Recorder {
        events: events.clone(),
        refuse: true,
    });
    let sockets = router.sockets();
    let server = serve(axum::Router::new().merge(router)).await;
    let refused = tokio_tungstenite::connect_async(server.ws_url("/socket.io/websocket")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(sockets.is_empty());
}

#[tokio::test]
async fn broadcast_reaches_every_session_but_the_excepted_one() {
    let (router, _events) = recorder_router();
    let server = serve(axum::Router::new().merge(router.clone())).await;
    let mut a = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    let mut b = WsClient::connect(&server.ws_url("/socket.io/websocket")).await;
    assert_eq!(a.recv().await.as_deref(), Some("Welcome"));
    assert_eq!(b.recv().await.as_deref(), Some("Welcome"));
    router.sockets().broadcast_except("not for a", &a.id);
    router.sockets().broadcast(json!({"to": "all"}));
    assert_eq!(b.recv().await.as_deref(), Some("not for a"));
    assert_eq!(b.recv().await.as_deref(), Some("~j~{\"to\":\"all\"}"));
    assert_eq!(a.recv().await.as_deref(), Some("~j~{\"to\":\"all\"}"));
}

#[tokio::test]
async fn flash_policy_is_served_on_its_port_and_inline() {
    let (router, _events) = recorder_router();
    let server = SocketServer::new(axum::Router::new().merge(router))
        .address("127.0.0.1".parse().unwrap())
        .port(0)
        .flash_policy_port(Some(0))
        .bind()
        .await
        .unwrap();
    let http = server.local_addr();
    let policy_port = server.flash_policy_addr().expect("policy server bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    for addr in [policy_port, http] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"<policy-file-request/>\0").await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(common::PATIENCE, stream.read_to_end(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.last(), Some(&0), "policy ends with NUL");
        let text = String::from_utf8(answer).unwrap();
        assert!(text.contains("<cross-domain-policy>"), "{text}");
        assert!(text.contains("allow-access-from domain=\"*\""), "{text}");
    }
    // HTTP still works on the same port.
    assert!(
        http_get(http, "/socket.io/nothing")
            .await
            .starts_with("HTTP/1.1 404")
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_policy_port_that_cannot_be_bound_is_only_a_warning() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (router, _events) = recorder_router();
    let server = SocketServer::new(axum::Router::new().merge(router))
        .address("127.0.0.1".parse().unwrap())
        .port(0)
        .flash_policy_port(Some(port))
        .bind()
        .await
        .expect("the HTTP server starts anyway");
    assert!(server.flash_policy_addr().is_none());
}

#[tokio::test]
async fn graceful_shutdown_calls_on_close_for_every_session() {
    let (router, mut events) = recorder_router();
    let server = serve(axum::Router::new().merge(router.clone())).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(WsClient::connect(&server.ws_url("/socket.io/websocket")).await);
    }
    for _ in 0..3 {
        assert!(matches!(next_event(&mut events).await, Event::Open { .. }));
    }
    server.shutdown().await;
    let mut closed = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Event::Close { id } = event {
            closed.push(id);
        }
    }
    closed.sort();
    let mut ids: Vec<String> = clients.iter().map(|c| c.id.clone()).collect();
    ids.sort();
    assert_eq!(
        closed, ids,
        "every session got on_close before the server returned"
    );
    assert!(router.sockets().is_empty());
    for client in &mut clients {
        // Each client sees its connection end.
        while client.recv().await.is_some() {}
    }
}

/// A plain HTTP/1.1 GET; the whole response as text.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(common::PATIENCE, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
}

#[tokio::test]
async fn mounts_in_a_plain_axum_server() {
    let (router, mut events) = recorder_router();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "home" }))
        .merge(router);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut client = WsClient::connect(&format!("ws://{addr}/socket.io/websocket")).await;
    assert_eq!(client.recv().await.as_deref(), Some("Welcome"));
    client.send("through axum").await;
    assert_eq!(client.recv().await.as_deref(), Some("through axum"));
    assert!(matches!(next_event(&mut events).await, Event::Open { .. }));
    assert!(http_get(addr, "/").await.ends_with("home"));
}
