//! Engine.IO v3 and v4 over real sockets: handshakes, polling and
//! WebSocket echo, the upgrade, heartbeats, limits, errors, CORS, JSONP.
//! The server is a bare `EngineRouter` whose connection echoes and reports
//! its callbacks; the clients are raw HTTP and tungstenite.

#[path = "../http_transports/client.rs"]
#[allow(dead_code)]
mod client;
#[path = "../common/mod.rs"]
mod common;

mod errors;
mod heartbeat;
mod hostile;
mod polling;
mod upgrade;
mod websocket;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tornadio::{
    Data, DisconnectReason, EngineConnection, EngineRouter, EngineSocket, OpenInfo, Refused,
    Settings,
};

use common::{PATIENCE, TestServer, serve};

/// What the echo connection saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Open(String),
    Message(String, Data),
    Close(String, DisconnectReason),
}

/// Echoes every message; refuses clients whose query holds `refuse`.
struct Echo {
    seen: mpsc::UnboundedSender<Seen>,
}

impl EngineConnection for Echo {
    async fn on_open(&mut self, socket: &EngineSocket, info: &OpenInfo) -> Result<(), Refused> {
        if info.query().is_some_and(|q| q.contains("refuse")) {
            return Err(Refused::because("go away"));
        }
        let _ = self.seen.send(Seen::Open(socket.id().to_owned()));
        Ok(())
    }

    async fn on_message(&mut self, socket: &EngineSocket, data: Data) {
        let _ = self
            .seen
            .send(Seen::Message(socket.id().to_owned(), data.clone()));
        let _ = socket.send(data);
    }

    async fn on_close(&mut self, socket: &EngineSocket, reason: DisconnectReason) {
        let _ = self.seen.send(Seen::Close(socket.id().to_owned(), reason));
    }
}

/// A server with the bare echo at `/engine.io/`.
pub struct Harness {
    pub server: TestServer,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    pub router: EngineRouter,
}

/// Settings with clocks long enough that a busy machine does not trip them.
pub fn patient() -> Settings {
    Settings::default()
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20))
}

impl Harness {
    pub async fn start(settings: Settings) -> Harness {
        let (tx, seen) = mpsc::unbounded_channel();
        let router = EngineRouter::new(move || Echo { seen: tx.clone() }).settings(settings);
        let server = serve(axum::Router::new().merge(router.clone())).await;
        Harness {
            server,
            seen,
            router,
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    /// The next callback seen, failing the test after [`PATIENCE`].
    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(PATIENCE, self.seen.recv())
            .await
            .expect("a callback in time")
            .expect("the channel is open")
    }

    /// Waits until `sid` closed and returns the reason.
    pub async fn closed(&mut self, sid: &str) -> DisconnectReason {
        loop {
            if let Seen::Close(id, reason) = self.next().await
                && id == sid
            {
                return reason;
            }
        }
    }

    /// Opens a polling session of `version` (3 or 4, with `extra` query)
    /// and returns its open packet's JSON.
    pub async fn open_polling(&mut self, version: u8, extra: &str) -> Value {
        let path = format!("/engine.io/?EIO={version}&transport=polling{extra}");
        let answer = client::get(path).send(self.addr()).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let text = answer.text();
        let packet = match version {
            3 => text
                .split_once(':')
                .expect("a v3 length prefix")
                .1
                .to_owned(),
            _ => text,
        };
        let open = packet.strip_prefix('0').expect("an open packet");
        let open: Value = serde_json::from_str(open).expect("open JSON");
        let sid = open["sid"].as_str().expect("a sid").to_owned();
        self.opened(&sid).await;
        open
    }

    /// Waits until `sid` opened, skipping what other sessions reported.
    pub async fn opened(&mut self, sid: &str) {
        loop {
            if let Seen::Open(id) = self.next().await {
                assert_eq!(id, sid, "another session opened first");
                return;
            }
        }
    }

    /// A polling GET of session `sid`.
    pub async fn poll(&self, version: u8, sid: &str) -> client::Response {
        client::get(format!(
            "/engine.io/?EIO={version}&transport=polling&sid={sid}"
        ))
        .send(self.addr())
        .await
    }

    /// A polling POST of session `sid`.
    pub async fn post(&self, version: u8, sid: &str, body: impl Into<Vec<u8>>) -> client::Response {
        client::post(
            format!("/engine.io/?EIO={version}&transport=polling&sid={sid}"),
            body,
        )
        .header("Content-Type", "text/plain;charset=UTF-8")
        .send(self.addr())
        .await
    }

    /// A WebSocket to `query` (after `?`).
    pub async fn ws(&self, query: &str) -> WsConn {
        let url = format!("ws://{}/engine.io/?{query}", self.addr());
        let (ws, _) = tokio::time::timeout(
            PATIENCE,
            tokio_tungstenite::connect_async_with_config(url, None, true),
        )
        .await
        .expect("connect in time")
        .expect("websocket handshake");
        WsConn { ws }
    }
}

/// A client WebSocket speaking raw Engine.IO frames.
pub struct WsConn {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsConn {
    pub async fn send(&mut self, message: Ws) {
        self.ws.send(message).await.expect("send");
    }

    pub async fn text(&mut self, text: &str) {
        self.send(Ws::text(text)).await;
    }

    /// The next data frame; `None` once the server closed.
    pub async fn recv(&mut self) -> Option<Ws> {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame in time");
            match next {
                Some(Ok(Ws::Text(t))) => return Some(Ws::Text(t)),
                Some(Ok(Ws::Binary(b))) => return Some(Ws::Binary(b)),
                Some(Ok(Ws::Close(frame))) => {
                    return frame.map(|f| Ws::Close(Some(f)));
                }
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next text frame, which must be one.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Some(Ws::Text(t)) => t.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Reads until the server ends the connection; the close frame's code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.recv().await {
                Some(Ws::Close(Some(frame))) => return Some(frame.code.into()),
                None => return None,
                Some(_) => {}
            }
        }
    }

    /// Opens a WebSocket session and returns its open packet.
    pub async fn open(h: &mut Harness, version: u8) -> (WsConn, Value) {
        let mut ws = h.ws(&format!("EIO={version}&transport=websocket")).await;
        let open = ws.recv_text().await;
        let open: Value =
            serde_json::from_str(open.strip_prefix('0').expect("open packet")).expect("open JSON");
        let sid = open["sid"].as_str().expect("sid").to_owned();
        h.opened(&sid).await;
        (ws, open)
    }
}

/// The `{"code":N,...}` of an error answer.
pub fn error_code(response: &client::Response) -> i64 {
    let body: Value = serde_json::from_slice(&response.body).expect("a JSON error");
    body["code"].as_i64().expect("a code")
}
