//! One client's trouble stays its own: a panicking callback, a callback
//! that never returns, a client that floods; and shutdown closes every
//! generation once.

use std::time::Duration;

use tokio::sync::mpsc;
use tornadio::{Connection, DisconnectReason, Event, Message, Router, Socket};

use crate::common::{WsClient, serve};
use crate::{SioClient, client, patient};

/// Panics on `boom`, hangs forever on `hang`, echoes the rest.
struct Moody {
    closes: mpsc::UnboundedSender<(String, DisconnectReason)>,
}

impl Connection for Moody {
    async fn on_message(&mut self, socket: &Socket, message: Message) {
        let _ = socket.send(message);
    }

    async fn on_event(&mut self, socket: &Socket, event: Event) {
        match event.name() {
            "boom" => panic!("a bug in the application"),
            "hang" => std::future::pending::<()>().await,
            _ => {
                let _ = socket.emit_args("echo", event.args().clone());
            }
        }
    }

    async fn on_close(&mut self, socket: &Socket, reason: DisconnectReason) {
        let _ = self.closes.send((socket.id().to_owned(), reason));
    }
}

async fn moody() -> (
    crate::common::TestServer,
    Router,
    mpsc::UnboundedReceiver<(String, DisconnectReason)>,
) {
    moody_on(Serving::Axum).await
}

/// How a test serves its router.
#[derive(Clone, Copy)]
enum Serving {
    /// Mounted in an axum application.
    Axum,
    /// Mounted in an axum application whose layer answers every request
    /// from a task of its own, as some layers do.
    AxumSpawning,
    /// Alone (`SocketServer::standalone`).
    Standalone,
}

/// `moody`, served as `serving` says.
async fn moody_on(
    serving: Serving,
) -> (
    crate::common::TestServer,
    Router,
    mpsc::UnboundedReceiver<(String, DisconnectReason)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = Router::new(move || Moody { closes: tx.clone() }).settings(patient());
    let server = match serving {
        Serving::Standalone => crate::common::serve_standalone(router.clone()).await,
        Serving::Axum => serve(axum::Router::new().merge(router.clone())).await,
        Serving::AxumSpawning => {
            let spawning = axum::middleware::from_fn(
                |request: axum::extract::Request, next: axum::middleware::Next| async move {
                    tokio::spawn(next.run(request))
                        .await
                        .expect("the request's task does not panic")
                },
            );
            serve(axum::Router::new().merge(router.clone()).layer(spawning)).await
        }
    };
    (server, router, rx)
}

async fn echoes(client: &mut SioClient, n: u32) {
    client.send(&format!("42[\"ping\",{n}]")).await;
    assert_eq!(
        client.recv().await.as_deref(),
        Some(format!("42[\"echo\",{n}]").as_str())
    );
}

#[tokio::test]
async fn a_panicking_callback_closes_only_its_own_client() {
    let (server, _router, mut closes) = moody().await;
    let mut bystander = SioClient::connect(server.addr, 4).await;
    bystander.join_namespace("/", None).await;
    let mut victim = SioClient::connect(server.addr, 4).await;
    let victim_id = victim.join_namespace("/", None).await;
    victim.send("42[\"boom\"]").await;
    assert!(victim.closed().await);
    let (id, reason) = tokio::time::timeout(Duration::from_secs(10), closes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((id, reason), (victim_id, DisconnectReason::HandlerPanicked));
    echoes(&mut bystander, 1).await;
}

#[tokio::test]
async fn a_callback_that_never_returns_holds_back_only_its_client() {
    let (server, _router, _closes) = moody().await;
    let mut bystander = SioClient::connect(server.addr, 4).await;
    bystander.join_namespace("/", None).await;
    let mut stuck = SioClient::connect(server.addr, 4).await;
    stuck.join_namespace("/", None).await;
    stuck.send("42[\"hang\"]").await;
    // The stuck client floods; the server stops reading it once its
    // backlog is full, and memory stays bounded by that and the socket
    // buffers. Sends eventually block or fail; either is fine.
    let flood = async {
        for i in 0..100_000u32 {
            if !stuck.send(&format!("42[\"ping\",{i}]")).await {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), flood).await;
    // Everyone else is served throughout.
    for n in 0..20 {
        echoes(&mut bystander, n).await;
    }
}

#[tokio::test]
async fn shutdown_closes_every_generation_once_with_its_close_packet() {
    shutdown_closes_every_generation(Serving::Axum).await;
}

#[tokio::test]
async fn sessions_opened_from_another_task_are_still_the_servers() {
    // A layer moved each request to a task of its own: the sessions are
    // still closed by the server's shutdown, each once.
    shutdown_closes_every_generation(Serving::AxumSpawning).await;
}

#[tokio::test]
async fn a_standalone_server_serves_every_generation_and_shuts_them_down() {
    let (server, _router, _closes) = moody_on(Serving::Standalone).await;
    // Nothing but the router: any other path is not found.
    let other = client::get("/index.html").send(server.addr).await;
    assert_eq!(other.status, 404);
    let handshake = client::get("/socket.io/1/?t=1").send(server.addr).await;
    assert_eq!(handshake.status, 200, "{}", handshake.text());
    server.shutdown().await;
    shutdown_closes_every_generation(Serving::Standalone).await;
}

async fn shutdown_closes_every_generation(serving: Serving) {
    let (server, router, mut closes) = moody_on(serving).await;
    let addr = server.addr;
    let mut v5 = SioClient::connect(addr, 4).await;
    v5.join_namespace("/", None).await;
    let mut v4 = SioClient::connect(addr, 3).await;
    assert_eq!(v4.recv().await.as_deref(), Some("40"));
    let mut legacy = WsClient::connect(&format!("ws://{addr}/socket.io/websocket")).await;
    // A polling client with its poll waiting.
    let open = client::get("/socket.io/?EIO=4&transport=polling")
        .send(addr)
        .await;
    let open: serde_json::Value = serde_json::from_str(&open.text()[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(
        client::post(path.clone(), "40").send(addr).await.status,
        200
    );
    assert!(
        client::get(path.clone())
            .send(addr)
            .await
            .text()
            .starts_with("40{")
    );
    let waiting = tokio::spawn(async move { client::get(path).send(addr).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(router.sockets().len(), 4);

    server.shutdown().await;

    // The waiting poll got the close packet; sockets got their close frame.
    let answer = waiting.await.unwrap();
    assert_eq!(answer.status, 200);
    assert!(answer.text().ends_with('1'), "{}", answer.text());
    assert!(v5.closed().await);
    assert!(v4.closed().await);
    assert!(legacy.recv().await.is_none());
    let mut reasons = Vec::new();
    while let Ok((_, reason)) = closes.try_recv() {
        reasons.push(reason);
    }
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|r| *r == DisconnectReason::ServerShuttingDown),
        "{reasons:?}"
    );
    assert!(router.sockets().is_empty());
}

#[tokio::test]
async fn dynamic_namespaces_are_dropped_when_their_last_socket_leaves() {
    let (tx, _rx) = mpsc::unbounded_channel();
    let router = Router::new({
        let tx = tx.clone();
        move || Moody { closes: tx.clone() }
    })
    .dynamic_namespace(r"^/room-\d+$", move || Moody { closes: tx.clone() })
    .settings(patient().max_namespaces_per_client(1000));
    let io = router.io();
    let server = serve(axum::Router::new().merge(router)).await;
    let mut client = SioClient::connect(server.addr, 4).await;
    for n in 0..500 {
        let nsp = format!("/room-{n}");
        client.join_namespace(&nsp, None).await;
        client.send(&format!("41{nsp},")).await;
    }
    // Names that match no pattern are refused, not created.
    client.send("40/elsewhere,").await;
    assert_eq!(
        client.recv().await.as_deref(),
        Some("44/elsewhere,{\"message\":\"Invalid namespace\"}")
    );
    let names = io.namespace_names();
    assert!(
        names.len() <= 2,
        "{} namespaces kept: {names:?}",
        names.len()
    );
}

#[tokio::test]
async fn a_socket_disconnected_from_another_task_is_told_at_once() {
    let mut h = crate::Harness::start(patient()).await;
    let (mut idle, idle_id) = h.client().await;
    let (mut busy, busy_id) = h.client().await;
    // One socket idles; the other's callback waits for the client's answer
    // when the disconnect comes.
    busy.send("42[\"ask-inline\"]").await;
    let question = busy.recv().await.expect("the question");
    assert!(question.starts_with("42") && question.contains("question"));
    for id in [&idle_id, &busy_id] {
        let socket = h.router.sockets().get(id).expect("a live socket");
        tokio::spawn(async move { socket.disconnect() })
            .await
            .expect("the disconnecting task");
    }
    assert_eq!(idle.recv().await.as_deref(), Some("41"));
    assert_eq!(
        h.closed(&idle_id).await,
        DisconnectReason::ServerNamespaceDisconnect
    );
    // The waiting callback still gets its answer; then the disconnect.
    let ack = question
        .strip_prefix("42")
        .and_then(|rest| rest.split('[').next());
    busy.send(&format!("43{}[42]", ack.expect("an ack id")))
        .await;
    assert_eq!(busy.recv().await.as_deref(), Some("42[\"answered\",42]"));
    assert_eq!(busy.recv().await.as_deref(), Some("41"));
    assert_eq!(
        h.closed(&busy_id).await,
        DisconnectReason::ServerNamespaceDisconnect
    );
}
