//! A minimal protocol-1 client, written from the wire format (not from
//! the library): handshake, a WebSocket that answers heartbeats, polling
//! GETs and POSTs, and a payload decoder of its own.

use std::collections::VecDeque;
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{PATIENCE, utf16_len};
use crate::http;

/// `\u{fffd}LEN\u{fffd}packet` for each packet, LEN in UTF-16 units.
pub fn batch(packets: &[&str]) -> String {
    packets
        .iter()
        .map(|p| format!("\u{fffd}{}\u{fffd}{p}", utf16_len(p)))
        .collect()
}

/// The packets of a payload: one bare, or framed by UTF-16 lengths.
pub fn unbatch(payload: &str) -> Vec<String> {
    if !payload.starts_with('\u{fffd}') {
        return vec![payload.to_owned()];
    }
    let mut out = Vec::new();
    let mut rest = payload;
    while let Some(after) = rest.strip_prefix('\u{fffd}') {
        let (len, after) = after.split_once('\u{fffd}').expect("a length");
        let len: usize = len.parse().expect("digits");
        let units: Vec<u16> = after.encode_utf16().take(len).collect();
        let packet = String::from_utf16(&units).expect("whole characters");
        rest = &after[packet.len()..];
        out.push(packet);
    }
    assert!(rest.is_empty(), "junk after the frames: {rest:?}");
    out
}

/// The handshake's fields.
pub struct Handshake {
    pub sid: String,
    pub heartbeat: String,
    pub close: String,
    pub transports: String,
}

/// Handshakes with `query` (`""` or `x=1&`) before `t`.
pub async fn handshake_with(addr: SocketAddr, query: &str) -> Handshake {
    let response = http::get(format!("/socket.io/1/?{query}t=1700000000000"))
        .send(addr)
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.text();
    let fields: Vec<&str> = body.split(':').collect();
    assert_eq!(fields.len(), 4, "{body}");
    Handshake {
        sid: fields[0].into(),
        heartbeat: fields[1].into(),
        close: fields[2].into(),
        transports: fields[3].into(),
    }
}

/// Handshakes and returns the session id.
pub async fn handshake(addr: SocketAddr) -> String {
    handshake_with(addr, "").await.sid
}

/// A protocol-1 WebSocket: one packet per message.
pub struct WsClient {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: VecDeque<String>,
}

impl WsClient {
    /// Connects to `path` (a transport URL).
    pub async fn connect(addr: SocketAddr, path: &str) -> WsClient {
        let url = format!("ws://{addr}{path}");
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("websocket handshake");
        WsClient {
            ws,
            pending: VecDeque::new(),
        }
    }

    /// Handshakes, connects over websocket, and reads `1::`.
    pub async fn open(addr: SocketAddr) -> (String, WsClient) {
        let sid = handshake(addr).await;
        let mut client = WsClient::connect(addr, &format!("/socket.io/1/websocket/{sid}")).await;
        client.expect("1::").await;
        (sid, client)
    }

    pub async fn send(&mut self, packet: &str) {
        self.ws.send(Ws::text(packet)).await.expect("send");
    }

    /// The next packet, heartbeats answered and skipped; `None` once the
    /// server closed the connection.
    pub async fn recv(&mut self) -> Option<String> {
        loop {
            let packet = self.recv_raw().await?;
            if packet == "2::" {
                self.send("2::").await;
                continue;
            }
            return Some(packet);
        }
    }

    /// The next packet, heartbeats included and not answered.
    pub async fn recv_raw(&mut self) -> Option<String> {
        loop {
            if let Some(packet) = self.pending.pop_front() {
                return Some(packet);
            }
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a message in time");
            match next {
                Some(Ok(Ws::Text(text))) => self.pending.extend(unbatch(text.as_str())),
                Some(Ok(Ws::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Reads `packet` next.
    pub async fn expect(&mut self, packet: &str) {
        assert_eq!(self.recv().await.as_deref(), Some(packet));
    }

    /// Waits for the server to close the connection; returns what came
    /// before (heartbeats answered and left out).
    pub async fn until_closed(&mut self) -> Vec<String> {
        let mut seen = Vec::new();
        while let Some(packet) = self.recv().await {
            seen.push(packet);
        }
        // Reading on answers the server's close frame, as a browser does.
        let rest = async { while self.ws.next().await.is_some() {} };
        let _ = tokio::time::timeout(PATIENCE, rest).await;
        seen
    }
}

/// The polling side of one session: GETs and POSTs on one transport.
pub struct Poller {
    pub addr: SocketAddr,
    pub sid: String,
    pub transport: &'static str,
}

impl Poller {
    pub fn new(addr: SocketAddr, sid: &str, transport: &'static str) -> Poller {
        Poller {
            addr,
            sid: sid.into(),
            transport,
        }
    }

    /// Handshakes; the first GET is left to the test.
    pub async fn handshake(addr: SocketAddr, transport: &'static str) -> Poller {
        let sid = handshake(addr).await;
        Poller::new(addr, &sid, transport)
    }

    /// Handshakes and polls once, which must carry `1::` then `Welcome`.
    pub async fn open(addr: SocketAddr, transport: &'static str) -> Poller {
        let poller = Poller::handshake(addr, transport).await;
        assert_eq!(poller.get().await, ["1::", "3:::Welcome"]);
        poller
    }

    pub fn path(&self) -> String {
        format!("/socket.io/1/{}/{}", self.transport, self.sid)
    }

    /// A GET request, as the client makes it.
    pub fn get_request(&self) -> http::Request {
        let index = if self.transport == "jsonp-polling" {
            "&i=0"
        } else {
            ""
        };
        http::get(format!("{}?t=1700000000000{index}", self.path()))
    }

    /// One poll's response.
    pub async fn get_raw(&self) -> http::Response {
        self.get_request().send(self.addr).await
    }

    /// One poll's payload, out of its envelope.
    pub async fn get_payload(&self) -> String {
        let response = self.get_raw().await;
        assert_eq!(response.status, 200, "{}", response.text());
        let text = response.text();
        if self.transport != "jsonp-polling" {
            return text;
        }
        let literal = text
            .strip_prefix("io.j[0](")
            .and_then(|t| t.strip_suffix(");"))
            .unwrap_or_else(|| panic!("not a JSONP answer: {text}"));
        serde_json::from_str(literal).expect("a string literal")
    }

    /// One poll's packets.
    pub async fn get(&self) -> Vec<String> {
        unbatch(&self.get_payload().await)
    }

    /// Polls until `n` packets came (noops left out).
    pub async fn get_n(&self, n: usize) -> Vec<String> {
        let mut seen = Vec::new();
        while seen.len() < n {
            seen.extend(self.get().await.into_iter().filter(|p| p != "8::"));
        }
        seen
    }

    /// A POST request carrying `payload` in this transport's envelope.
    pub fn post_request(&self, payload: &str) -> http::Request {
        let path = format!("{}?t=1700000000001", self.path());
        if self.transport == "jsonp-polling" {
            let form = form_encode(&serde_json::Value::from(payload).to_string());
            http::post(format!("{path}&i=0"), format!("d={form}"))
        } else {
            http::post(path, payload.as_bytes().to_vec())
        }
    }

    /// POSTs `payload`; the response.
    pub async fn post_raw(&self, payload: &str) -> http::Response {
        self.post_request(payload).send(self.addr).await
    }

    /// POSTs `payload`, which must be taken (`200 1`).
    pub async fn post(&self, payload: &str) {
        let response = self.post_raw(payload).await;
        assert_eq!((response.status, response.text().as_str()), (200, "1"));
    }
}

/// `application/x-www-form-urlencoded` as a browser submits a form.
pub fn form_encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"*-._".contains(&byte) {
            out.push(byte as char);
        } else if byte == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
