//! Socket.IO "protocol 1" (socket.io 0.7–0.9): a [`WsClient`] over the
//! `websocket` transport and a [`PollingClient`] over `xhr-polling`, as
//! `socket.io-client@0.9` opens them.
//!
//! The client asks for a session with an HTTP handshake
//! (`GET /socket.io/1/?t=…`, answered `sid:heartbeat:close:transports`),
//! then opens `ws://host:port/socket.io/1/websocket/{sid}`, or long polls
//! `GET /socket.io/1/xhr-polling/{sid}?t=…`, and waits for the server's
//! `1::`. Messages are `3:::text`: one per WebSocket frame; on polling one
//! bare packet per body, or several framed as `\u{fffd}LEN\u{fffd}packet`
//! (LEN in UTF-16 code units). The server's heartbeats (`2::`) are
//! answered with `2::`.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::polling::{get_text, post, timestamp};
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

/// A protocol-1 session over the `xhr-polling` transport.
///
/// Like a browser, the client keeps one keep-alive connection for polls
/// (the handshake included) and another for POSTs, so a POST never waits
/// behind a held poll.
pub struct PollingClient {
    addr: SocketAddr,
    path: String,
    session_id: String,
    poll_conn: Option<SendRequest<Full<Bytes>>>,
    send_conn: Option<SendRequest<Full<Bytes>>>,
    pending: VecDeque<String>,
    polls: u64,
}

impl PollingClient {
    /// Shakes hands at `/socket.io/1/` on `addr` and polls until the
    /// server said `1::` (connected). Packets that came with it are kept
    /// for [`PollingClient::recv`].
    pub async fn connect(addr: SocketAddr) -> io::Result<PollingClient> {
        let mut client = PollingClient {
            addr,
            path: String::new(),
            session_id: String::new(),
            poll_conn: None,
            send_conn: None,
            pending: VecDeque::new(),
            polls: 0,
        };
        let answer = client
            .get(&format!("{HANDSHAKE_PATH}?t={}", timestamp()))
            .await?;
        client.session_id = session_of(&answer, "xhr-polling")?;
        client.path = format!("/socket.io/1/xhr-polling/{}", client.session_id);
        match client.next_packet().await? {
            connected if connected == "1::" => Ok(client),
            other => Err(error(format!("expected 1::, got {other:?}"))),
        }
    }

    /// The session id of the handshake.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Sends one message packet, `3:::{text}`, in one POST.
    pub async fn send(&mut self, text: &str) -> io::Result<()> {
        self.send_payload(format!("3:::{text}")).await
    }

    /// POSTs a payload (one bare packet, or several framed) as the body.
    pub async fn send_payload(&mut self, payload: String) -> io::Result<()> {
        self.polls += 1;
        let path = format!("{}?t={}-{}", self.path, timestamp(), self.polls);
        let body = Bytes::from(payload);
        post(
            &mut self.send_conn,
            self.addr,
            &path,
            "text/plain;charset=UTF-8",
            body,
        )
        .await
    }

    /// The next packet that is not a heartbeat or a noop, as it came, long
    /// polling as needed. A disconnect (`0::`) is an error.
    pub async fn recv(&mut self) -> io::Result<String> {
        loop {
            match self.next_packet().await? {
                packet if packet == "8::" => {}
                packet if packet == "0::" => {
                    return Err(error("the server ended the session"));
                }
                packet => return Ok(packet),
            }
        }
    }

    /// The next packet, heartbeats answered and skipped.
    async fn next_packet(&mut self) -> io::Result<String> {
        loop {
            if let Some(packet) = self.pending.pop_front() {
                return Ok(packet);
            }
            self.polls += 1;
            let path = format!("{}?t={}-{}", self.path, timestamp(), self.polls);
            let body = self.get(&path).await?;
            let packets = split_payload(&body)?;
            let heartbeats = packets.iter().filter(|p| **p == "2::").count();
            self.pending.extend(
                packets
                    .into_iter()
                    .filter(|p| *p != "2::")
                    .map(str::to_owned),
            );
            for _ in 0..heartbeats {
                self.send_payload("2::".to_owned()).await?;
            }
        }
    }

    async fn get(&mut self, path: &str) -> io::Result<String> {
        get_text(&mut self.poll_conn, self.addr, path).await
    }
}

/// The packets of a polling payload: the body itself, or each
/// `\u{fffd}LEN\u{fffd}packet` of a batch, taken by its length (LEN counts
/// UTF-16 code units), never by splitting on the marker.
pub fn split_payload(body: &str) -> io::Result<Vec<&str>> {
    const MARK: char = '\u{fffd}';
    if !body.starts_with(MARK) {
        return Ok(vec![body]);
    }
    let bad = || error(format!("bad payload: {body:.80?}"));
    let mut packets = Vec::new();
    let mut rest = body;
    while let Some(framed) = rest.strip_prefix(MARK) {
        let (len, after) = framed.split_once(MARK).ok_or_else(bad)?;
        let len: usize = len.parse().map_err(|_| bad())?;
        let mut units = 0;
        let end = after
            .char_indices()
            .find_map(|(i, c)| {
                let at = (units == len).then_some(i);
                units += c.len_utf16();
                at
            })
            .or((units == len).then_some(after.len()))
            .ok_or_else(bad)?;
        packets.push(&after[..end]);
        rest = &after[end..];
    }
    if rest.is_empty() {
        Ok(packets)
    } else {
        Err(bad())
    }
}

/// The text of a message packet (`3:::text`), if `packet` is one.
pub fn message_text(packet: &str) -> Option<&str> {
    packet.strip_prefix("3:::")
}

/// The session id of a handshake answer
/// (`sid:heartbeat:close:transports`), which must offer `transport`.
fn session_of(body: &str, transport: &str) -> io::Result<String> {
    let fields: Vec<&str> = body.split(':').collect();
    match fields[..] {
        [sid, _, _, transports]
            if !sid.is_empty() && transports.split(',').any(|t| t == transport) =>
        {
            Ok(sid.to_owned())
        }
        _ => Err(error(format!(
            "handshake: unexpected body {body:?} (wanted {transport})"
        ))),
    }
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
    session_of(body, "websocket")
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

    #[test]
    fn payloads_split_by_length_in_utf16_units() {
        assert_eq!(split_payload("3:::a\u{fffd}b").unwrap(), ["3:::a\u{fffd}b"]);
        assert_eq!(
            split_payload("\u{fffd}3\u{fffd}2::\u{fffd}8\u{fffd}3:::é😀\u{fffd}").unwrap(),
            ["2::", "3:::é😀\u{fffd}"]
        );
        assert_eq!(split_payload("\u{fffd}0\u{fffd}").unwrap(), [""]);
        for bad in [
            "\u{fffd}4\u{fffd}2::",
            "\u{fffd}x\u{fffd}2::",
            "\u{fffd}3\u{fffd}2::x",
            "\u{fffd}3",
        ] {
            assert!(split_payload(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn handshakes_must_offer_the_transport() {
        let body = "abc:60:60:websocket,xhr-polling";
        assert_eq!(session_of(body, "xhr-polling").unwrap(), "abc");
        assert!(session_of("abc:60:60:websocket", "xhr-polling").is_err());
        assert!(session_of(":60:60:websocket", "websocket").is_err());
        assert!(session_of("abc:60:websocket", "websocket").is_err());
    }
}
