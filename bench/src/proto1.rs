//! Socket.IO "protocol 1" (socket.io 0.7–0.9): a [`WsClient`] over the
//! `websocket` transport, as `socket.io-client@0.9` opens it.
//!
//! The client asks for a session with an HTTP handshake
//! (`GET /socket.io/1/?t=…`, answered `sid:heartbeat:close:transports`),
//! then opens `ws://host:port/socket.io/1/websocket/{sid}` and waits for the
//! server's `1::`. Messages are `3:::text`, one per WebSocket frame; the
//! server's heartbeats (`2::`) are answered with `2::`.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{self, Stream, error};

/// The path of the handshake.
pub const HANDSHAKE_PATH: &str = "/socket.io/1/";

/// The largest handshake answer read (a session id and three short fields).
const MAX_HANDSHAKE: usize = 16 * 1024;

/// A protocol-1 session over the `websocket` transport.
///
/// [`WsClient::connect`] returns once the server said `1::` (connected).
/// [`WsClient::recv`] answers heartbeats itself and yields every other
/// packet as it came, one per frame.
pub struct WsClient {
    stream: Stream,
    session_id: String,
    /// Heartbeats owed to the server, written before the next send or
    /// receive (so a cancelled `recv` never loses one).
    owed_heartbeats: usize,
}

impl WsClient {
    /// Shakes hands at `/socket.io/1/` on `addr`, opens the session's
    /// WebSocket and waits for `1::`.
    pub async fn connect(addr: SocketAddr) -> io::Result<WsClient> {
        let session_id = handshake(addr).await?;
        let path = format!("/socket.io/1/websocket/{session_id}");
        let mut client = WsClient {
            stream: client::open(addr, &path).await?,
            session_id,
            owed_heartbeats: 0,
        };
        match client.recv().await? {
            connected if connected == "1::" => Ok(client),
            other => Err(error(format!("expected 1::, got {other:?}"))),
        }
    }

    /// The session id of the handshake.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Sends one message packet, `3:::{text}`.
    pub async fn send(&mut self, text: &str) -> io::Result<()> {
        self.send_packet(&format!("3:::{text}")).await
    }

    /// Sends one packet as-is, e.g. `5:::{"name":"ev"}`.
    pub async fn send_packet(&mut self, packet: &str) -> io::Result<()> {
        self.pay_owed().await?;
        client::send_text(&mut self.stream, packet).await
    }

    /// The next packet that is not a heartbeat or a noop, as it came. A
    /// disconnect (`0::`) or a closed connection is an error.
    ///
    /// Cancel-safe: a packet is taken off the connection only when returned.
    pub async fn recv(&mut self) -> io::Result<String> {
        loop {
            self.pay_owed().await?;
            let text = client::next_text(&mut self.stream).await?;
            match text.as_str() {
                "2::" => self.owed_heartbeats += 1,
                "8::" => {}
                "0::" => return Err(error("the server ended the session")),
                _ => return Ok(text.as_str().to_owned()),
            }
        }
    }

    /// Closes the WebSocket politely.
    pub async fn close(self) -> io::Result<()> {
        client::close(self.stream).await
    }

    async fn pay_owed(&mut self) -> io::Result<()> {
        while self.owed_heartbeats > 0 {
            client::send_text(&mut self.stream, "2::").await?;
            self.owed_heartbeats -= 1;
        }
        Ok(())
    }
}

/// The text of a message packet (`3:::text`), if `packet` is one.
pub fn message_text(packet: &str) -> Option<&str> {
    packet.strip_prefix("3:::")
}

/// `GET /socket.io/1/?t=0` on a connection of its own; the session id of
/// the answer.
async fn handshake(addr: SocketAddr) -> io::Result<String> {
    let mut tcp = TcpStream::connect(addr).await?;
    let request =
        format!("GET {HANDSHAKE_PATH}?t=0 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    (&mut tcp)
        .take(MAX_HANDSHAKE as u64)
        .read_to_end(&mut answer)
        .await?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| error(format!("handshake: no answer: {answer:?}")))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(error(format!("handshake refused: {head:?}")));
    }
    match body.split(':').next() {
        Some(sid) if !sid.is_empty() && body.split(':').count() == 4 => Ok(sid.to_owned()),
        _ => Err(error(format!("handshake: unexpected body {body:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_packets_give_their_text() {
        assert_eq!(message_text("3:::hello: there"), Some("hello: there"));
        assert_eq!(message_text("3:::"), Some(""));
        assert_eq!(message_text("5:::{}"), None);
        assert_eq!(message_text("3:1::x"), None);
    }
}
