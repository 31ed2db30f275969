//! The `websocket` transport: `ws://host:port/{resource}/websocket`.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use super::{Stream, error};
use crate::codec::{self, Frame};

/// A Socket.IO 0.6 session over WebSocket.
///
/// [`WsClient::connect`] returns once the server's first message (the session
/// id) arrived. [`WsClient::recv`] answers heartbeats itself and yields every
/// other message, one [`Frame`] at a time even when the server batched them.
pub struct WsClient {
    stream: Stream,
    session_id: String,
    pending: VecDeque<Frame>,
    /// Heartbeat echoes owed to the server, written before the next send or
    /// receive (so a cancelled `recv` never loses one).
    owed: VecDeque<String>,
}

impl WsClient {
    /// Opens `/{resource}/websocket` on `addr` and waits for the session id.
    pub async fn connect(addr: SocketAddr, resource: &str) -> io::Result<WsClient> {
        WsClient::connect_path(addr, &format!("/{resource}/websocket")).await
    }

    /// Opens the WebSocket at `path` on `addr` and waits for the session id.
    pub async fn connect_path(addr: SocketAddr, path: &str) -> io::Result<WsClient> {
        let mut client = WsClient {
            stream: super::open(addr, path).await?,
            session_id: String::new(),
            pending: VecDeque::new(),
            owed: VecDeque::new(),
        };
        match client.recv().await? {
            Frame::Text(id) if !id.is_empty() => client.session_id = id,
            other => return Err(error(format!("expected a session id, got {other:?}"))),
        }
        Ok(client)
    }

    /// The session id the server gave this client.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Sends one message (`data` is framed as-is: plain text, or `~j~JSON`).
    pub async fn send(&mut self, data: &str) -> io::Result<()> {
        self.send_payload(codec::encode(data)).await
    }

    /// Sends several messages as one batch in one WebSocket frame.
    pub async fn send_batch(&mut self, data: &[&str]) -> io::Result<()> {
        self.send_payload(codec::encode_batch(data.iter().copied()))
            .await
    }

    /// Sends an already framed payload.
    pub async fn send_payload(&mut self, payload: String) -> io::Result<()> {
        self.pay_owed().await?;
        super::send_text(&mut self.stream, payload).await
    }

    /// The next message that is not a heartbeat. Heartbeats are echoed.
    ///
    /// Cancel-safe: a message is taken off the connection only when it is
    /// returned or queued.
    pub async fn recv(&mut self) -> io::Result<Frame> {
        loop {
            self.pay_owed().await?;
            if let Some(frame) = self.pending.pop_front() {
                return Ok(frame);
            }
            let text = super::next_text(&mut self.stream).await?;
            let parts = codec::split(&text).map_err(|e| error(format!("bad payload: {e}")))?;
            for data in parts {
                match Frame::from_data(data) {
                    Frame::Heartbeat(_) => self.owed.push_back(codec::encode(data)),
                    frame => self.pending.push_back(frame),
                }
            }
        }
    }

    /// Closes the WebSocket politely.
    pub async fn close(self) -> io::Result<()> {
        super::close(self.stream).await
    }

    async fn pay_owed(&mut self) -> io::Result<()> {
        while let Some(echo) = self.owed.front() {
            super::send_text(&mut self.stream, echo.clone()).await?;
            self.owed.pop_front();
        }
        Ok(())
    }
}
