//! Hardening over real sockets: limits, slow and silent clients, hostile
//! input, faults, and many sessions dropped at once. Each test asserts what
//! a user of the server would notice: a refusal, a closed session with its
//! `on_close`, other sessions still served, no panic.

mod common;

#[path = "http_transports/client.rs"]
#[allow(dead_code)]
mod client;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Mutex, Once};
use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tornadio::{
    Connection, Message, OpenInfo, Refused, Router, SendError, Settings, Socket, SocketServer,
};

use client::xhr_form;
use common::{Event, PATIENCE, TestServer, WsClient, frame, next_event, recorder_router};

/// How long a test waits for many sessions to wind down.
const LONG_PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Harness

/// Panics seen anywhere in this test binary, except the ones tests cause on
/// purpose (their message says so).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn watch_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info.to_string();
            if !message.contains("on purpose") {
                PANICS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(message);
            }
            previous(info);
        }));
    });
}

/// No code in this binary panicked, other than on purpose.
fn assert_no_panics() {
    // Copied out: the assertion's own panic goes through the hook, which
    // takes the lock.
    let panics = PANICS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(panics.is_empty(), "panicked: {panics:?}");
}

/// Serves `app` on 127.0.0.1 with a free port and the given header timeout.
async fn serve_with(app: axum::Router, header_read_timeout: Duration) -> TestServer {
    watch_panics();
    let server = SocketServer::new(app)
        .address("127.0.0.1".parse().unwrap())
        .port(0)
        .flash_policy_port(None)
        .header_read_timeout(header_read_timeout)
        .bind()
        .await
        .expect("bind 127.0.0.1:0");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        stop: Some(stop),
        task,
    }
}

/// A server of recording echo connections.
struct Harness {
    server: TestServer,
    router: Router,
    events: mpsc::UnboundedReceiver<Event>,
}

impl Harness {
    async fn start(settings: Settings) -> Harness {
        Harness::start_with_header_timeout(settings, Duration::from_secs(30)).await
    }

    async fn start_with_header_timeout(settings: Settings, header_timeout: Duration) -> Harness {
        let (router, events) = recorder_router();
        let router = router.settings(settings);
        let server = serve_with(axum::Router::new().merge(router.clone()), header_timeout).await;
        Harness {
            server,
            router,
            events,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    async fn ws(&self) -> WsClient {
        let mut client = WsClient::connect(&self.server.ws_url("/socket.io/websocket")).await;
        assert_eq!(client.recv().await.as_deref(), Some("Welcome"));
        client
    }

    /// Opens an xhr-polling session; returns its id.
    async fn xhr(&self) -> String {
        let opening = client::get("/socket.io/xhr-polling//1")
            .send(self.addr())
            .await;
        let messages = opening.messages();
        assert_eq!(messages[1..], ["Welcome"]);
        messages[0].clone()
    }

    /// Waits until session `id` has had its `on_close`, skipping other
    /// events.
    async fn closed(&mut self, id: &str) {
        loop {
            match next_event(&mut self.events).await {
                Event::Close { id: closed } if closed == id => return,
                Event::SentAfterClose { id } => panic!("{id}: a send after close passed"),
                _ => {}
            }
        }
    }

    /// Waits until session `id` has opened, skipping other events.
    async fn opened(&mut self, id: &str) {
        loop {
            if let Event::Open { id: opened, .. } = next_event(&mut self.events).await
                && opened == id
            {
                return;
            }
        }
    }
}

/// Echo settings, with nothing short that a test does not wait on.
fn settings() -> Settings {
    Settings::default().xhr_polling_timeout(Duration::from_secs(8))
}

/// A websocket session still echoes.
async fn ws_still_works(client: &mut WsClient, text: &str) {
    client.send(text).await;
    assert_eq!(client.recv().await.as_deref(), Some(text));
}

/// An xhr-polling session still takes messages and answers polls.
async fn xhr_still_works(addr: SocketAddr, id: &str, text: &str) {
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame(text)),
    )
    .send(addr)
    .await;
    assert_eq!(posted.status, 200, "{}", posted.text());
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/2"))
        .send(addr)
        .await;
    assert_eq!(answer.messages(), [text]);
}

/// Waits until `condition` holds, failing the test after `patience`.
async fn wait_until(what: &str, patience: Duration, mut condition: impl FnMut() -> bool) {
    let waiting = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    if tokio::time::timeout(patience, waiting).await.is_err() {
        panic!("timed out waiting until {what}");
    }
}

/// Whether the server closes `stream` (EOF or reset) while `writing` runs
/// on its write half, without the client ever finishing its request.
/// Whatever the server answers first (an error status, say) is read and
/// discarded.
async fn closed_by_server<F, W>(stream: TcpStream, writing: W) -> bool
where
    W: FnOnce(OwnedWriteHalf) -> F,
    F: Future<Output = ()>,
{
    let (mut read, write) = stream.into_split();
    let mut buf = [0u8; 1024];
    let reading = async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let writing = writing(write);
    let result = tokio::time::timeout(PATIENCE, async {
        tokio::select! {
            () = reading => true,
            () = writing => false,
        }
    })
    .await;
    matches!(result, Ok(true))
}

/// Writes `lines` one at a time, slowly, forever: a request that never
/// ends. Writing is best effort: once the server has gone, the reading side
/// notices.
/// Sends 16 KiB messages to a client that does not read until the server
/// refuses one; fails the test if it never does.
async fn send_until_refused(socket: &tornadio::Socket, fill: char) -> SendError {
    let chunk = fill.to_string().repeat(16 * 1024);
    let mut sent = 0usize;
    loop {
        match socket.send(chunk.as_str()) {
            Ok(()) => sent += chunk.len(),
            Err(error) => return error,
        }
        // Far more than any socket buffer: the queue must have filled.
        assert!(
            sent < 512 << 20,
            "sent {sent} bytes and the queue never filled"
        );
        tokio::task::yield_now().await;
    }
}

async fn trickle(mut write: OwnedWriteHalf, first: String) {
    let _ = write.write_all(first.as_bytes()).await;
    let mut n = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        n += 1;
        let _ = write
            .write_all(format!("X-Slow-{n}: {n}\r\n").as_bytes())
            .await;
    }
}

/// The head of a WebSocket upgrade request for `path`.
fn upgrade_head(addr: SocketAddr, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

/// Upgrades a raw TCP connection to a WebSocket and reads the `101` head;
/// the session is open when this returns.
async fn raw_websocket(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(upgrade_head(addr, "/socket.io/websocket").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut byte))
            .await
            .expect("the upgrade answer in time")
            .unwrap();
        assert_eq!(n, 1, "connection closed during the upgrade");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

// ---------------------------------------------------------------------------
// Limits

#[tokio::test]
async fn a_websocket_message_over_max_message_size_closes_the_session() {
    let mut h = Harness::start(settings().max_message_size(4096)).await;
    let mut bystander = h.ws().await;
    let mut client = h.ws().await;
    // Up to the limit is fine.
    let fits = "a".repeat(4000);
    ws_still_works(&mut client, &fits).await;
    client.send(&"b".repeat(5000)).await;
    assert_eq!(
        client.recv().await,
        None,
        "the server closes the connection"
    );
    h.closed(&client.id).await;
    assert!(h.router.sockets().get(&client.id).is_none());
    ws_still_works(&mut bystander, "unaffected").await;
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_that_never_reads_is_closed_once_its_queue_is_full() {
    const LIMIT: usize = 64 * 1024;
    let mut h = Harness::start(settings().max_queued_bytes(LIMIT)).await;
    let mut bystander = h.ws().await;
    // This client never reads again: what the server sends fills the TCP
    // buffers, then the session's queue.
    let silent = h.ws().await;
    let socket = h.router.sockets().get(&silent.id).expect("a live session");
    let refusal = send_until_refused(&socket, 'x').await;
    assert_eq!(refusal, SendError::QueueFull);
    h.closed(&silent.id).await;
    assert!(h.router.sockets().get(&silent.id).is_none());
    assert!(socket.send("more").is_err());
    ws_still_works(&mut bystander, "unaffected").await;
    drop(silent);
    assert_no_panics();
}

#[tokio::test]
async fn a_polling_client_that_stops_polling_is_closed_once_its_queue_is_full() {
    const LIMIT: usize = 64 * 1024;
    let mut h = Harness::start(settings().max_queued_bytes(LIMIT)).await;
    let bystander = h.xhr().await;
    let id = h.xhr().await;
    let socket = h.router.sockets().get(&id).expect("a live session");
    let chunk = "y".repeat(16 * 1024);
    let mut sends = 0;
    let refusal = loop {
        match socket.send(chunk.as_str()) {
            Ok(()) => sends += 1,
            Err(error) => break error,
        }
        assert!(sends <= LIMIT / chunk.len(), "the queue passed its limit");
    };
    assert_eq!(refusal, SendError::QueueFull);
    h.closed(&id).await;
    // The session is gone for its client too.
    let poll = client::get(format!("/socket.io/xhr-polling/{id}/3"))
        .send(h.addr())
        .await;
    assert_eq!(poll.status, 404);
    xhr_still_works(h.addr(), &bystander, "unaffected").await;
    assert_no_panics();
}

#[tokio::test]
async fn sessions_past_max_sessions_get_503_on_every_transport() {
    let mut h = Harness::start(settings().max_sessions(Some(3))).await;
    let first = h.ws().await;
    let _second = h.ws().await;
    let polling = h.xhr().await;
    assert_eq!(h.router.sockets().len(), 3);

    let refused = tokio_tungstenite::connect_async(h.server.ws_url("/socket.io/websocket")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("expected 503, got {other:?}"),
    }
    for path in [
        "/socket.io/xhr-polling//9",
        "/socket.io/jsonp-polling//9/0",
        "/socket.io/htmlfile//9",
        "/socket.io/xhr-multipart/",
    ] {
        let answer = client::get(path).send(h.addr()).await;
        assert_eq!(answer.status, 503, "{path}");
    }
    assert_eq!(h.router.sockets().len(), 3);
    // Existing sessions are served as before.
    xhr_still_works(h.addr(), &polling, "still here").await;

    // Once one leaves, there is room again.
    let first_id = first.id.clone();
    drop(first);
    h.closed(&first_id).await;
    let mut again = h.ws().await;
    ws_still_works(&mut again, "room again").await;
    assert_no_panics();
}

// ---------------------------------------------------------------------------
// Slow and silent clients

#[tokio::test]
async fn a_client_trickling_request_headers_is_dropped() {
    let mut h = Harness::start_with_header_timeout(settings(), Duration::from_millis(300)).await;
    let stream = TcpStream::connect(h.addr()).await.unwrap();
    let first = "GET /socket.io/xhr-polling//1 HTTP/1.1\r\n".to_owned();
    assert!(
        closed_by_server(stream, |write| trickle(write, first)).await,
        "the server kept a connection whose headers never end"
    );
    // No session was opened for it, and the server serves others.
    assert!(h.router.sockets().is_empty());
    let id = h.xhr().await;
    h.opened(&id).await;
    assert_no_panics();
}

#[tokio::test]
async fn a_silent_connection_is_dropped() {
    let h = Harness::start_with_header_timeout(settings(), Duration::from_millis(300)).await;
    let stream = TcpStream::connect(h.addr()).await.unwrap();
    let silence = |write: OwnedWriteHalf| async move {
        let _keep_open = write;
        std::future::pending::<()>().await
    };
    assert!(
        closed_by_server(stream, silence).await,
        "the server kept a connection that never sent a byte"
    );
    // The same once a first request was answered and the connection is
    // kept alive for the next one that never comes.
    let mut stream = TcpStream::connect(h.addr()).await.unwrap();
    let request = format!(
        "GET /socket.io/nothing HTTP/1.1\r\nHost: {}\r\n\r\n",
        h.addr()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with(b"HTTP/1.1 404"));
    assert_no_panics();
}

#[tokio::test]
async fn a_long_poll_outlasting_the_header_timeout_keeps_its_connection() {
    // The header timeout bounds the wait for a request's headers, not the
    // time a request is served: a long poll answered after several
    // timeouts gets its answer, and its connection, kept alive, then
    // serves the next request.
    let timeout = Duration::from_millis(300);
    let mut h = Harness::start_with_header_timeout(settings(), timeout).await;
    let id = h.xhr().await;
    h.opened(&id).await;
    let mut stream = TcpStream::connect(h.addr()).await.unwrap();
    let poll = format!(
        "GET /socket.io/xhr-polling/{id}/2 HTTP/1.1\r\nHost: {}\r\n\r\n",
        h.addr()
    );
    stream.write_all(poll.as_bytes()).await.unwrap();
    tokio::time::sleep(timeout * 3).await;
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame("late")),
    )
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200, "{}", posted.text());
    let answer = read_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(&frame("late")), "{answer}");
    let next = format!(
        "GET /socket.io/nothing HTTP/1.1\r\nHost: {}\r\n\r\n",
        h.addr()
    );
    stream.write_all(next.as_bytes()).await.unwrap();
    let answer = read_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    // Then, idle, it is closed like any other.
    read_until_closed(&mut stream).await;
    assert_no_panics();
}

/// What is left to read from a kept-alive connection that the server must
/// close once idle; fails if it stays open.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the server kept an idle kept-alive connection"
    );
    rest
}

#[tokio::test]
async fn a_stream_outlasting_the_header_timeout_keeps_flowing() {
    // The same for a streaming response (htmlfile): it is being answered
    // for as long as it lasts.
    let timeout = Duration::from_millis(300);
    let mut h = Harness::start_with_header_timeout(settings(), timeout).await;
    let mut stream = client::get("/socket.io/htmlfile//1").start(h.addr()).await;
    assert_eq!(stream.head().await.status, 200);
    let id = match next_event(&mut h.events).await {
        Event::Open { id, .. } => id,
        other => panic!("expected an open session, got {other:?}"),
    };
    tokio::time::sleep(timeout * 3).await;
    let socket = h.router.sockets().get(&id).expect("a live session");
    socket.send("still here").unwrap();
    let arrived = async {
        while let Some(chunk) = stream.chunk().await {
            if String::from_utf8_lossy(&chunk).contains("still here") {
                return true;
            }
        }
        false
    };
    let arrived = tokio::time::timeout(PATIENCE, arrived).await;
    assert_eq!(arrived, Ok(true), "the stream ended before the message");
    assert_no_panics();
}

/// One response with a `Content-Length` from a kept-alive connection, as
/// text.
async fn read_response(stream: &mut TcpStream) -> String {
    let reading = async {
        let mut data = Vec::new();
        loop {
            let text = String::from_utf8_lossy(&data).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .expect("a content-length");
                if data.len() >= end + 4 + length {
                    return text;
                }
            }
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed mid-response: {text}");
            data.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(PATIENCE, reading)
        .await
        .expect("a response in time")
}

#[tokio::test]
async fn a_websocket_upgrade_that_never_ends_is_dropped() {
    let h = Harness::start_with_header_timeout(settings(), Duration::from_millis(300)).await;
    let stream = TcpStream::connect(h.addr()).await.unwrap();
    let head = upgrade_head(h.addr(), "/socket.io/websocket");
    // Everything but the blank line that ends the request.
    let unfinished = head.trim_end_matches("\r\n").to_owned() + "\r\n";
    assert!(
        closed_by_server(stream, |write| trickle(write, unfinished)).await,
        "the server kept an upgrade request that never ends"
    );
    assert!(h.router.sockets().is_empty());
    assert_no_panics();
}

#[tokio::test]
async fn an_upgraded_websocket_that_never_speaks_is_closed_by_its_heartbeat() {
    let mut h = Harness::start(
        settings()
            .heartbeat_interval(Duration::from_millis(100))
            .heartbeat_timeout(Duration::from_millis(500)),
    )
    .await;
    // The upgrade completes, then the client neither reads nor writes.
    let stream = raw_websocket(h.addr()).await;
    let id = match next_event(&mut h.events).await {
        Event::Open { id, .. } => id,
        other => panic!("expected an open session, got {other:?}"),
    };
    h.closed(&id).await;
    assert!(h.router.sockets().is_empty());
    // The server also ended the connection: after what it sent, EOF.
    let silence = |write: OwnedWriteHalf| async move {
        let _keep_open = write;
        std::future::pending::<()>().await
    };
    assert!(closed_by_server(stream, silence).await);
    assert_no_panics();
}

// ---------------------------------------------------------------------------
// Panics in user code

/// An echo connection whose callbacks panic on request: `on_open` when the
/// query says `panic`, `on_message` on the text `boom`, `on_close` after a
/// `boom-later`. It reports opens and closes like the recorder.
struct Panicky {
    events: mpsc::UnboundedSender<Event>,
    panic_on_close: bool,
}

impl Connection for Panicky {
    async fn on_open(&mut self, socket: &Socket, info: &OpenInfo) -> Result<(), Refused> {
        if info.query() == Some("panic") {
            panic!("on purpose: in on_open");
        }
        let _ = self.events.send(Event::Open {
            id: socket.id().to_owned(),
            extra: None,
        });
        Ok(())
    }

    async fn on_message(&mut self, socket: &Socket, message: Message) {
        match message.as_text() {
            Some("boom") => panic!("on purpose: in on_message"),
            Some("boom-later") => {
                self.panic_on_close = true;
                socket.close();
            }
            _ => {
                let _ = socket.send(message);
            }
        }
    }

    async fn on_close(&mut self, socket: &Socket, _reason: tornadio::DisconnectReason) {
        let _ = self.events.send(Event::Close {
            id: socket.id().to_owned(),
        });
        if self.panic_on_close {
            panic!("on purpose: in on_close");
        }
    }
}

#[tokio::test]
async fn a_panicking_callback_closes_only_its_session() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let router = Router::new(move || Panicky {
        events: tx.clone(),
        panic_on_close: false,
    })
    .settings(settings());
    let server = serve_with(
        axum::Router::new().merge(router.clone()),
        Duration::from_secs(30),
    )
    .await;
    let url = server.ws_url("/socket.io/websocket");
    let mut bystander = WsClient::connect(&url).await;
    let mut victim = WsClient::connect(&url).await;

    // A panic in on_message: the session closes, on_close runs.
    victim.send("boom").await;
    assert_eq!(
        victim.recv().await,
        None,
        "the server closes the connection"
    );
    // The first session to close is the victim.
    loop {
        if let Event::Close { id } = next_event(&mut events).await {
            assert_eq!(id, victim.id);
            break;
        }
    }
    assert!(router.sockets().get(&victim.id).is_none());
    ws_still_works(&mut bystander, "still served").await;

    // A panic in on_close: the session is still gone.
    let mut later = WsClient::connect(&url).await;
    later.send("boom-later").await;
    assert_eq!(later.recv().await, None);
    loop {
        if let Event::Close { id } = next_event(&mut events).await {
            assert_eq!(id, later.id);
            break;
        }
    }
    wait_until("the session is gone", PATIENCE, || {
        router.sockets().get(&later.id).is_none()
    })
    .await;

    // A panic in on_open refuses that connection only.
    let refused =
        tokio_tungstenite::connect_async(server.ws_url("/socket.io/websocket?panic")).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status().is_client_error()),
        "{refused:?}"
    );
    ws_still_works(&mut bystander, "and still").await;
    let mut fresh = WsClient::connect(&url).await;
    ws_still_works(&mut fresh, "new sessions too").await;
    assert_eq!(router.sockets().len(), 2);
    assert_no_panics();
}

// ---------------------------------------------------------------------------
// Hostile input

#[tokio::test]
async fn malformed_websocket_frames_close_only_their_session() {
    let mut h = Harness::start(settings()).await;
    let mut bystander = h.ws().await;
    let polling = h.xhr().await;
    let forty_digits = "1234567890".repeat(4);
    let payloads: Vec<Ws> = vec![
        Ws::text("garbage"),
        Ws::text("~m~"),
        Ws::text("~m~~m~"),
        Ws::text("~m~x~m~abc"),
        Ws::text("~m~-1~m~a"),
        Ws::text("~m~5~m~abc"),
        Ws::text("~m~99999999999~m~abc"),
        Ws::text(format!("~m~{forty_digits}~m~abc")),
        Ws::text("~m~1~m~😀"),
        Ws::text("~m~1~m~a~m~"),
        Ws::text(frame("~j~{not json")),
        Ws::text(frame("~j~")),
        Ws::text(frame("~h~x")),
        Ws::text(frame("~h~99999999999999999999999")),
        // Nested deeper than the JSON parser's recursion limit.
        Ws::text(frame(&format!(
            "~j~{}{}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        ))),
        Ws::binary(vec![0xff, 0xfe, 0x00]),
        // A text frame that is not UTF-8, written raw.
        Ws::Frame(Frame::message(
            vec![b'~', b'm', b'~', b'2', b'~', b'm', b'~', 0xff, 0xfe],
            OpCode::Data(Data::Text),
            true,
        )),
    ];
    for payload in payloads {
        let shown = format!("{payload:?}");
        let mut client = h.ws().await;
        client.ws.send(payload).await.expect("send");
        assert_eq!(client.recv().await, None, "{shown}: connection stays open");
        h.closed(&client.id).await;
        assert!(h.router.sockets().get(&client.id).is_none(), "{shown}");
    }
    ws_still_works(&mut bystander, "unaffected").await;
    xhr_still_works(h.addr(), &polling, "unaffected").await;
    assert_eq!(h.router.sockets().len(), 2);
    assert_no_panics();
}

#[tokio::test]
async fn malformed_post_bodies_get_400_and_close_only_their_session() {
    let mut h = Harness::start(settings()).await;
    let mut bystander = h.ws().await;
    let forty_digits = "1234567890".repeat(4);
    let bodies: Vec<Vec<u8>> = vec![
        b"data=%FF%FE".to_vec(),
        b"data=\xff\xfe\xfd".to_vec(),
        b"\xff=\xfe&data=~m~".to_vec(),
        b"data=%".to_vec(),
        b"data=%G1".to_vec(),
        xhr_form("~m~5~m~abc").into_bytes(),
        xhr_form(&format!("~m~{forty_digits}~m~abc")).into_bytes(),
        xhr_form(&frame("~j~[1,")).into_bytes(),
        xhr_form("~m~1~m~😀").into_bytes(),
    ];
    for body in bodies {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let id = h.xhr().await;
        let posted = client::post(format!("/socket.io/xhr-polling/{id}/send"), body)
            .send(h.addr())
            .await;
        assert_eq!(posted.status, 400, "{shown}");
        h.closed(&id).await;
    }
    ws_still_works(&mut bystander, "unaffected").await;
    assert_eq!(h.router.sockets().len(), 1);
    assert_no_panics();
}

#[tokio::test]
async fn malformed_urls_and_wrong_methods_get_4xx() {
    let mut h = Harness::start(settings()).await;
    let mut bystander = h.ws().await;
    let polling = h.xhr().await;
    let long = format!("/socket.io/xhr-polling/{}", "a".repeat(100 * 1024));
    let long_segments = format!("/socket.io/xhr-polling/{}", "../".repeat(30_000));
    let requests = [
        client::get("/socket.io/../websocket"),
        client::get("/socket.io/../../../../etc/passwd"),
        client::get("/socket.io/%2e%2e/websocket"),
        client::get("/socket.io/websocket/../xhr-polling//1"),
        client::get("/socket.io/%ZZ%00%/xhr-polling"),
        client::get("/socket.io/xhr-polling/%ZZ%FF%00/1"),
        client::get(format!("/socket.io/xhr-polling/{polling}%00/1")),
        client::get("/socket.io/jsonp-polling//1/%3Cscript%3E"),
        client::get("/socket.io/jsonp-polling//1/99999999999999999999"),
        client::get("/socket.io/WEBSOCKET"),
        client::get("/socket.io//websocket"),
        client::get("/socket.io"),
        client::get("/%%%%"),
        client::get(long),
        client::get(long_segments),
        client::post("/socket.io/xhr-polling//send", xhr_form(&frame("x"))),
        client::post("/socket.io/xhr-polling/%00/send", xhr_form(&frame("x"))),
        client::post("/socket.io/htmlfile/nosuchid/send", xhr_form(&frame("x"))),
        client::post("/socket.io/websocket", "x"),
    ];
    for request in requests {
        let answer = request.send(h.addr()).await;
        assert!(
            (400..500).contains(&answer.status),
            "{}: {}",
            answer.status,
            answer.text()
        );
    }
    for method in ["PUT", "DELETE", "PATCH", "TRACE", "BREW", "HEAD"] {
        for path in [
            "/socket.io/websocket".to_owned(),
            "/socket.io/xhr-polling//1".to_owned(),
            format!("/socket.io/xhr-polling/{polling}/send"),
            "/socket.io/htmlfile//1".to_owned(),
        ] {
            let mut stream = TcpStream::connect(h.addr()).await.unwrap();
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                h.addr()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
                .await
                .expect("an answer in time")
                .expect("an answer");
            let answer = String::from_utf8_lossy(&answer);
            let status: u16 = answer
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{method} {path}: {answer:?}"));
            assert!((400..500).contains(&status), "{method} {path}: {status}");
        }
    }
    // Not HTTP at all.
    for junk in [
        &b"\x16\x03\x01\x02\x00"[..],
        b"GARBAGE\r\n\r\n",
        b"\0\0\0\0\r\n\r\n",
    ] {
        let stream = TcpStream::connect(h.addr()).await.unwrap();
        let junk = junk.to_vec();
        let send = |mut write: OwnedWriteHalf| async move {
            let _ = write.write_all(&junk).await;
            std::future::pending::<()>().await
        };
        assert!(closed_by_server(stream, send).await);
    }
    // Every request above was refused before it could open a session.
    assert_eq!(h.router.sockets().len(), 2);
    ws_still_works(&mut bystander, "unaffected").await;
    xhr_still_works(h.addr(), &polling, "unaffected").await;
    h.opened(&polling).await;
    assert_no_panics();
}

// ---------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn a_websocket_dropped_without_a_close_frame_runs_on_close() {
    let mut h = Harness::start(settings()).await;
    let mut bystander = h.ws().await;
    h.opened(&bystander.id).await;
    // Right after the upgrade.
    let stream = raw_websocket(h.addr()).await;
    let first = match next_event(&mut h.events).await {
        Event::Open { id, .. } => id,
        other => panic!("expected an open session, got {other:?}"),
    };
    drop(stream);
    h.closed(&first).await;
    // In the middle of a frame: a masked text frame announcing 100 bytes,
    // of which only a few arrive.
    let mut stream = raw_websocket(h.addr()).await;
    let second = match next_event(&mut h.events).await {
        Event::Open { id, .. } => id,
        other => panic!("expected an open session, got {other:?}"),
    };
    stream
        .write_all(&[0x81, 0x80 | 100, 1, 2, 3, 4, b'~' ^ 1, b'm' ^ 2])
        .await
        .unwrap();
    drop(stream);
    h.closed(&second).await;
    assert_eq!(h.router.sockets().len(), 1);
    ws_still_works(&mut bystander, "unaffected").await;
    assert_no_panics();
}

#[tokio::test]
async fn a_post_cut_short_or_badly_chunked_gets_400_and_the_session_still_works() {
    let mut h = Harness::start(settings()).await;
    let id = h.xhr().await;
    h.opened(&id).await;
    let body = xhr_form(&frame("this message never arrives whole"));
    let mut stream = TcpStream::connect(h.addr()).await.unwrap();
    let head = format!(
        "POST /socket.io/xhr-polling/{id}/send HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        h.addr(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    // The client stops sending: the body ends early.
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .expect("an answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    // A chunked body whose framing breaks off into junk: refused too.
    let mut stream = TcpStream::connect(h.addr()).await.unwrap();
    let head = format!(
        "POST /socket.io/xhr-polling/{id}/send HTTP/1.1\r\nHost: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n5\r\ndata=\r\nzz-not-a-size\r\n",
        h.addr(),
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    // Nothing of either was delivered; the session goes on.
    xhr_still_works(h.addr(), &id, "after the cut").await;
    match next_event(&mut h.events).await {
        Event::Message { id: from, message } => {
            assert_eq!(from, id);
            assert_eq!(message.as_text(), Some("after the cut"));
        }
        other => panic!("expected the next message, got {other:?}"),
    }
    assert_no_panics();
}

// ---------------------------------------------------------------------------
// Many sessions, dropped at once

/// A client connection holding one session open, in whatever state a
/// dropped client leaves it: a websocket, a long poll left waiting, an
/// htmlfile stream with its head read.
type Held = Box<dyn std::any::Any + Send>;

/// Opens session number `n`: websocket, xhr-polling, htmlfile,
/// jsonp-polling or xhr-multipart in turn.
async fn open_one(server: &TestServer, n: usize) -> Held {
    match n % 5 {
        0 => Box::new(WsClient::connect(&server.ws_url("/socket.io/websocket")).await),
        1 | 3 => {
            let (transport, tail) = if n % 5 == 1 {
                ("xhr-polling", String::new())
            } else {
                ("jsonp-polling", "/0".to_owned())
            };
            let opening = client::get(format!("/socket.io/{transport}//{n}{tail}"))
                .send(server.addr)
                .await;
            assert_eq!(opening.status, 200);
            let body = opening.text();
            // The session id is the first message, in whatever envelope.
            let id: String = body
                .split("~m~")
                .nth(2)
                .expect("a framed session id")
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            assert_eq!(id.len(), 22, "{body}");
            // A long poll, left waiting.
            Box::new(
                client::get(format!("/socket.io/{transport}/{id}/{n}{tail}"))
                    .start(server.addr)
                    .await,
            )
        }
        _ => {
            let path = if n % 5 == 2 {
                format!("/socket.io/htmlfile//{n}")
            } else {
                "/socket.io/xhr-multipart/".to_owned()
            };
            let mut stream = client::get(path).start(server.addr).await;
            assert_eq!(stream.head().await.status, 200);
            Box::new(stream)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_sessions_on_mixed_transports_dropped_abruptly_all_close_exactly_once() {
    const SESSIONS: usize = 500;
    let (router, mut events) = recorder_router();
    let router = router.settings(
        Settings::default()
            .session_expiry(Duration::from_millis(300))
            .session_check_interval(Duration::from_millis(100))
            .heartbeat_interval(Duration::from_millis(200))
            .heartbeat_timeout(Duration::from_secs(1))
            .xhr_polling_timeout(Duration::from_secs(8)),
    );
    let sockets = router.sockets();
    let server = serve_with(axum::Router::new().merge(router), Duration::from_secs(30)).await;

    // Open them all, a few dozen at a time, and hold them.
    let mut held = Vec::with_capacity(SESSIONS);
    for wave in 0..SESSIONS / 50 {
        let opening = (0..50).map(|i| open_one(&server, wave * 50 + i));
        held.extend(futures_util::future::join_all(opening).await);
    }
    assert_eq!(held.len(), SESSIONS);
    assert_eq!(sockets.len(), SESSIONS);

    // Every client vanishes at once, without a goodbye.
    drop(held);

    let mut opened: HashMap<String, usize> = HashMap::new();
    let mut closed: HashMap<String, usize> = HashMap::new();
    let counting = async {
        while closed.len() < SESSIONS || !sockets.is_empty() {
            match events.recv().await {
                Some(Event::Open { id, .. }) => *opened.entry(id).or_default() += 1,
                Some(Event::Close { id }) => *closed.entry(id).or_default() += 1,
                Some(Event::Message { .. }) => {}
                Some(Event::SentAfterClose { id }) => panic!("{id}: a send after close passed"),
                None => break,
            }
        }
    };
    if tokio::time::timeout(LONG_PATIENCE, counting).await.is_err() {
        panic!(
            "{} of {SESSIONS} sessions closed; {} still live",
            closed.len(),
            sockets.len()
        );
    }
    assert_eq!(sockets.len(), 0);

    // Once the server has stopped, every session task has ended: any second
    // on_close would have been reported by now.
    server.shutdown().await;
    while let Ok(event) = events.try_recv() {
        match event {
            Event::Open { id, .. } => *opened.entry(id).or_default() += 1,
            Event::Close { id } => *closed.entry(id).or_default() += 1,
            Event::Message { .. } => {}
            Event::SentAfterClose { id } => panic!("{id}: a send after close passed"),
        }
    }
    assert_eq!(opened.len(), SESSIONS);
    assert!(opened.values().all(|&n| n == 1));
    let mut opened: Vec<_> = opened.into_keys().collect();
    let mut twice: Vec<_> = closed.iter().filter(|(_, n)| **n != 1).collect();
    twice.sort();
    assert!(twice.is_empty(), "on_close more than once: {twice:?}");
    let mut closed: Vec<_> = closed.into_keys().collect();
    opened.sort();
    closed.sort();
    assert_eq!(opened, closed, "every opened session got its on_close");
    assert_no_panics();
}

#[tokio::test]
async fn oversized_request_heads_are_refused() {
    let mut h = Harness::start(settings()).await;
    let mut bystander = h.ws().await;
    let many = (0..200).fold(client::get("/socket.io/xhr-polling//1"), |r, n| {
        r.header(&format!("X-Many-{n}"), "1")
    });
    let answer = many.send(h.addr()).await;
    assert_eq!(answer.status, 431);
    // A megabyte of header: refused, or at least cut off. The server may
    // close before it has read everything, and a reset can then beat its
    // answer to the client.
    let mut stream = TcpStream::connect(h.addr()).await.unwrap();
    let head = format!(
        "GET /socket.io/xhr-polling//1 HTTP/1.1\r\nHost: {}\r\nX-Huge: {}\r\n\r\n",
        h.addr(),
        "h".repeat(1 << 20)
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the server answers or closes in time");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer:?}"
    );
    assert_eq!(h.router.sockets().len(), 1);
    ws_still_works(&mut bystander, "unaffected").await;
    h.opened(&bystander.id).await;
    assert_no_panics();
}

#[tokio::test]
async fn shutdown_closes_sessions_on_every_transport_with_on_close() {
    let mut h = Harness::start(settings()).await;
    let ws = h.ws().await;
    // A polling session with output waiting that nobody collects.
    let polling = h.xhr().await;
    h.router
        .sockets()
        .get(&polling)
        .expect("a live session")
        .send("never collected")
        .unwrap();
    let mut stream = client::get("/socket.io/htmlfile//1").start(h.addr()).await;
    assert_eq!(stream.head().await.status, 200);
    wait_until("three sessions are open", PATIENCE, || {
        h.router.sockets().len() == 3
    })
    .await;
    let router = h.router.clone();
    h.server.shutdown().await;
    let mut closed = Vec::new();
    while let Ok(event) = h.events.try_recv() {
        match event {
            Event::Close { id } => closed.push(id),
            Event::SentAfterClose { id } => panic!("{id}: a send after close passed"),
            _ => {}
        }
    }
    assert_eq!(closed.len(), 3, "{closed:?}");
    assert!(closed.contains(&ws.id) && closed.contains(&polling));
    assert!(router.sockets().is_empty());
    assert_no_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_htmlfile_client_that_never_reads_loses_its_session_and_connection() {
    const LIMIT: usize = 64 * 1024;
    // An idle kept-alive connection is closed after the header timeout.
    let mut h = Harness::start_with_header_timeout(
        settings().max_queued_bytes(LIMIT),
        Duration::from_secs(2),
    )
    .await;
    let mut stream = client::get("/socket.io/htmlfile//1").start(h.addr()).await;
    assert_eq!(stream.head().await.status, 200);
    let id = match next_event(&mut h.events).await {
        Event::Open { id, .. } => id,
        other => panic!("expected an open session, got {other:?}"),
    };
    let socket = h.router.sockets().get(&id).expect("a live session");
    let refusal = send_until_refused(&socket, 'z').await;
    assert_eq!(refusal, SendError::QueueFull);
    h.closed(&id).await;
    // The server gave up on the connection too: once what it holds is read,
    // the connection ends (at the latest after the header timeout), not held
    // open for good.
    while stream.chunk().await.is_some() {}
    assert!(
        stream.closed_by_server().await,
        "the connection stayed open after the body"
    );
    assert_no_panics();
}

/// A connection whose `on_open` waits until the test lets it go on.
struct SlowOpen {
    events: mpsc::UnboundedSender<Event>,
    started: mpsc::UnboundedSender<()>,
    release: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Connection for SlowOpen {
    async fn on_open(&mut self, socket: &Socket, _info: &OpenInfo) -> Result<(), Refused> {
        let _ = self.started.send(());
        let _permit = self.release.acquire().await;
        let _ = self.events.send(Event::Open {
            id: socket.id().to_owned(),
            extra: None,
        });
        Ok(())
    }

    async fn on_message(&mut self, _: &Socket, _: Message) {}

    async fn on_close(&mut self, socket: &Socket, _reason: tornadio::DisconnectReason) {
        let _ = self.events.send(Event::Close {
            id: socket.id().to_owned(),
        });
    }
}

#[tokio::test]
async fn a_client_gone_while_on_open_runs_still_gets_on_close() {
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let router = Router::new({
        let release = std::sync::Arc::clone(&release);
        move || SlowOpen {
            events: events_tx.clone(),
            started: started_tx.clone(),
            release: std::sync::Arc::clone(&release),
        }
    })
    .settings(
        settings()
            .session_expiry(Duration::from_millis(300))
            .session_check_interval(Duration::from_millis(100)),
    );
    let sockets = router.sockets();
    let server = serve_with(axum::Router::new().merge(router), Duration::from_secs(30)).await;
    for path in ["/socket.io/xhr-polling//1", "/socket.io/htmlfile//1"] {
        let conn = client::get(path).start(server.addr).await;
        tokio::time::timeout(PATIENCE, started.recv())
            .await
            .expect("on_open starts");
        // The client gives up while the application is still opening.
        drop(conn);
        tokio::time::sleep(Duration::from_millis(100)).await;
        release.add_permits(1);
        let id = match next_event(&mut events).await {
            Event::Open { id, .. } => id,
            other => panic!("expected on_open to finish, got {other:?}"),
        };
        // on_open accepted the session: its on_close must follow.
        assert_eq!(next_event(&mut events).await, Event::Close { id });
    }
    wait_until("no session is left", PATIENCE, || sockets.is_empty()).await;
    assert_no_panics();
}
