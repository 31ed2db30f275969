//! The `websocket` transport straight away (no polling first), as
//! socket.io-client does with `transports: ["websocket"]`:
//! `ws://host:port/socket.io/?EIO=4&transport=websocket`.

use std::io;
use std::net::SocketAddr;

use super::codec::{self, kind};
use crate::client::{self, Stream, error};

/// The path and query a current client opens a WebSocket session at.
pub const PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// A Socket.IO v5 socket in the namespace `/`, over an Engine.IO v4
/// WebSocket session.
///
/// [`WsClient::connect`] returns once the server accepted the Socket.IO
/// CONNECT. [`WsClient::recv`] answers pings itself and yields every
/// Engine.IO message packet (`4...`) as it came, one per frame.
pub struct WsClient {
    stream: Stream,
    engine_sid: String,
    sid: String,
    /// Pongs owed to the server, written before the next send or receive
    /// (so a cancelled `recv` never loses one).
    owed_pongs: usize,
}

impl WsClient {
    /// Opens `/socket.io/?EIO=4&transport=websocket` on `addr`, sends CONNECT
    /// and waits for its reply.
    pub async fn connect(addr: SocketAddr) -> io::Result<WsClient> {
        WsClient::connect_path(addr, PATH).await
    }

    /// Like [`WsClient::connect`], at another path and query.
    pub async fn connect_path(addr: SocketAddr, path: &str) -> io::Result<WsClient> {
        let mut client = WsClient {
            stream: client::open(addr, path).await?,
            engine_sid: String::new(),
            sid: String::new(),
            owed_pongs: 0,
        };
        let open = client.next_packet().await?;
        client.engine_sid = match open.strip_prefix('0').and_then(codec::sid) {
            Some(sid) => sid.into_owned(),
            None => return Err(error(format!("expected an open packet, got {open:?}"))),
        };
        client.send(codec::CONNECT).await?;
        loop {
            let packet = client.next_packet().await?;
            if codec::is_connect_reply(&packet) {
                let sid = codec::sid(&packet)
                    .ok_or_else(|| error(format!("CONNECT reply without sid: {packet:?}")))?;
                client.sid = sid.into_owned();
                return Ok(client);
            }
            if codec::is_connect_error(&packet) {
                return Err(error(format!("CONNECT refused: {packet:?}")));
            }
        }
    }

    /// The Engine.IO session id (from the open packet).
    pub fn engine_sid(&self) -> &str {
        &self.engine_sid
    }

    /// The Socket.IO socket id (from the CONNECT reply).
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Sends one Engine.IO packet as-is, e.g. `42["message","hi"]`.
    pub async fn send(&mut self, packet: &str) -> io::Result<()> {
        self.pay_owed().await?;
        client::send_text(&mut self.stream, packet).await
    }

    /// The next Engine.IO message packet (`4...`: a Socket.IO packet after
    /// the `4`). Pings are answered; noops skipped.
    ///
    /// Cancel-safe: a packet is taken off the connection only when returned.
    pub async fn recv(&mut self) -> io::Result<String> {
        loop {
            let packet = self.next_packet().await?;
            if packet.as_bytes().first() == Some(&kind::MESSAGE) {
                return Ok(packet);
            }
        }
    }

    /// Closes the WebSocket politely.
    pub async fn close(self) -> io::Result<()> {
        client::close(self.stream).await
    }

    /// The next packet that is not a ping or a noop; a close is an error.
    async fn next_packet(&mut self) -> io::Result<String> {
        loop {
            self.pay_owed().await?;
            let text = client::next_text(&mut self.stream).await?;
            match text.as_bytes().first() {
                Some(&kind::PING) => self.owed_pongs += 1,
                Some(&kind::NOOP) => {}
                Some(&kind::CLOSE) => return Err(error("the server closed the session")),
                _ => return Ok(text.as_str().to_owned()),
            }
        }
    }

    async fn pay_owed(&mut self) -> io::Result<()> {
        while self.owed_pongs > 0 {
            client::send_text(&mut self.stream, "3").await?;
            self.owed_pongs -= 1;
        }
        Ok(())
    }
}
