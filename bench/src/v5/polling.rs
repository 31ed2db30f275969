//! The `polling` transport over hyper's HTTP/1.1 client:
//! `GET /socket.io/?EIO=4&transport=polling` opens a session (its body is the
//! open packet), then `GET ...&sid=SID` long polls and `POST ...&sid=SID`
//! sends, with packets joined by `\x1e`. Like a browser, the client keeps one
//! keep-alive connection for polls and another for sends, so a send never
//! waits behind a held poll.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;

use super::codec::{self, kind};
use crate::client::error;
use crate::client::polling::{get_text, post};

/// The pong packet.
const PONG: &str = "3";

/// The path and query of a polling handshake.
pub const PATH: &str = "/socket.io/?EIO=4&transport=polling";

/// A Socket.IO v5 socket in the namespace `/`, over Engine.IO v4 polling.
pub struct PollingClient {
    addr: SocketAddr,
    /// `PATH&sid=SID`: where polls and sends go.
    session_path: String,
    engine_sid: String,
    sid: String,
    poll_conn: Option<SendRequest<Full<Bytes>>>,
    send_conn: Option<SendRequest<Full<Bytes>>>,
    /// Message packets a poll brought beyond the one returned.
    pending: VecDeque<String>,
}

impl PollingClient {
    /// Opens a session at `/socket.io/?EIO=4&transport=polling` on `addr`,
    /// sends CONNECT and polls until its reply arrived.
    pub async fn connect(addr: SocketAddr) -> io::Result<PollingClient> {
        let mut client = PollingClient {
            addr,
            session_path: String::new(),
            engine_sid: String::new(),
            sid: String::new(),
            poll_conn: None,
            send_conn: None,
            pending: VecDeque::new(),
        };
        let body = client.get(PATH).await?;
        let open = codec::split_payload(&body).next().unwrap_or_default();
        client.engine_sid = match open.strip_prefix('0').and_then(codec::sid) {
            Some(sid) => sid.into_owned(),
            None => return Err(error(format!("expected an open packet, got {body:?}"))),
        };
        client.session_path = format!("{PATH}&sid={}", client.engine_sid);
        client.send(codec::CONNECT).await?;
        while client.sid.is_empty() {
            for packet in client.poll().await? {
                if codec::is_connect_reply(&packet) {
                    let sid = codec::sid(&packet)
                        .ok_or_else(|| error(format!("CONNECT reply without sid: {packet:?}")))?;
                    client.sid = sid.into_owned();
                } else if codec::is_connect_error(&packet) {
                    return Err(error(format!("CONNECT refused: {packet:?}")));
                } else if !client.sid.is_empty()
                    && packet.as_bytes().first() == Some(&kind::MESSAGE)
                {
                    client.pending.push_back(packet);
                }
            }
        }
        Ok(client)
    }

    /// The Engine.IO session id (from the open packet).
    pub fn engine_sid(&self) -> &str {
        &self.engine_sid
    }

    /// The Socket.IO socket id (from the CONNECT reply).
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Sends one Engine.IO packet, e.g. `42["message","hi"]`, in one POST.
    pub async fn send(&mut self, packet: &str) -> io::Result<()> {
        self.post(Bytes::copy_from_slice(packet.as_bytes())).await
    }

    /// Sends several packets as one payload in one POST.
    pub async fn send_batch(&mut self, packets: &[&str]) -> io::Result<()> {
        let mut payload = String::new();
        for packet in packets {
            if !payload.is_empty() {
                payload.push(codec::SEPARATOR);
            }
            payload.push_str(packet);
        }
        self.post(Bytes::from(payload)).await
    }

    /// The next Engine.IO message packet (`4...`), long polling as needed.
    /// Pings are answered with one POST per poll; noops skipped.
    pub async fn recv(&mut self) -> io::Result<String> {
        loop {
            if let Some(packet) = self.pending.pop_front() {
                return Ok(packet);
            }
            let packets = self.poll().await?;
            self.pending.extend(
                packets
                    .into_iter()
                    .filter(|p| p.as_bytes().first() == Some(&kind::MESSAGE)),
            );
        }
    }

    /// One poll: its packets other than pings and noops (pings answered).
    async fn poll(&mut self) -> io::Result<Vec<String>> {
        let path = self.session_path.clone();
        let body = self.get(&path).await?;
        let mut pongs = 0;
        let mut packets = Vec::new();
        for packet in codec::split_payload(&body) {
            match packet.as_bytes().first() {
                Some(&kind::PING) => pongs += 1,
                Some(&kind::NOOP) => {}
                Some(&kind::CLOSE) => return Err(error("the server closed the session")),
                _ => packets.push(packet.to_owned()),
            }
        }
        if pongs > 0 {
            self.send_batch(&vec![PONG; pongs]).await?;
        }
        Ok(packets)
    }

    async fn post(&mut self, body: Bytes) -> io::Result<()> {
        let content_type = "text/plain;charset=UTF-8";
        post(
            &mut self.send_conn,
            self.addr,
            &self.session_path,
            content_type,
            body,
        )
        .await
    }

    async fn get(&mut self, path: &str) -> io::Result<String> {
        get_text(&mut self.poll_conn, self.addr, path).await
    }
}
