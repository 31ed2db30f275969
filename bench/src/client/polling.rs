//! The `xhr-polling` transport over hyper's HTTP/1.1 client.
//!
//! What the 0.6 browser client requests:
//! `GET /{resource}/xhr-polling//{ts}` opens a session (the body's first
//! message is the session id), `GET /{resource}/xhr-polling/{sid}/{ts}` long
//! polls, `POST /{resource}/xhr-polling/{sid}/send` with a form field `data`
//! sends. Like a browser, the client keeps one keep-alive connection for
//! polls and another for sends, so a send never waits behind a held poll.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{error, form_encode};
use crate::codec::{self, Frame};

/// A Socket.IO 0.6 session over xhr-polling.
pub struct PollingClient {
    addr: SocketAddr,
    base: String,
    session_id: String,
    poll_conn: Option<SendRequest<Full<Bytes>>>,
    send_conn: Option<SendRequest<Full<Bytes>>>,
    pending: VecDeque<Frame>,
    polls: u64,
}

impl PollingClient {
    /// Opens a session at `/{resource}/xhr-polling` on `addr`; returns once
    /// the session id arrived. Messages batched after the id are kept for
    /// [`PollingClient::recv`].
    pub async fn connect(addr: SocketAddr, resource: &str) -> io::Result<PollingClient> {
        let mut client = PollingClient {
            addr,
            base: format!("/{resource}/xhr-polling"),
            session_id: String::new(),
            poll_conn: None,
            send_conn: None,
            pending: VecDeque::new(),
            polls: 0,
        };
        let path = format!("{}//{}", client.base, timestamp());
        let body = client.get(&path).await?;
        let mut frames = codec::decode(&body)
            .map_err(|e| error(format!("bad handshake payload: {e}")))?
            .into_iter();
        match frames.next() {
            Some(Frame::Text(id)) if !id.is_empty() => client.session_id = id,
            other => return Err(error(format!("expected a session id, got {other:?}"))),
        }
        client.pending.extend(frames);
        Ok(client)
    }

    /// The session id the server gave this client.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Sends one message in one POST.
    pub async fn send(&mut self, data: &str) -> io::Result<()> {
        self.send_payload(&codec::encode(data)).await
    }

    /// Sends several messages as one batch in one POST.
    pub async fn send_batch(&mut self, data: &[&str]) -> io::Result<()> {
        self.send_payload(&codec::encode_batch(data.iter().copied()))
            .await
    }

    /// POSTs an already framed payload as the form field `data`.
    pub async fn send_payload(&mut self, payload: &str) -> io::Result<()> {
        let body = format!("data={}", form_encode(payload));
        let path = format!("{}/{}/send", self.base, self.session_id);
        post(
            &mut self.send_conn,
            self.addr,
            &path,
            "application/x-www-form-urlencoded",
            Bytes::from(body),
        )
        .await
    }

    /// The next message that is not a heartbeat, long polling as needed.
    /// Heartbeats (if the server sends any on polling) are echoed.
    pub async fn recv(&mut self) -> io::Result<Frame> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Ok(frame);
            }
            self.polls += 1;
            let path = format!(
                "{}/{}/{}{}",
                self.base,
                self.session_id,
                timestamp(),
                self.polls
            );
            let body = self.get(&path).await?;
            let parts = codec::split(&body).map_err(|e| error(format!("bad payload: {e}")))?;
            let mut owed = Vec::new();
            for data in parts {
                match Frame::from_data(data) {
                    Frame::Heartbeat(_) => owed.push(data.to_owned()),
                    frame => self.pending.push_back(frame),
                }
            }
            if !owed.is_empty() {
                let owed: Vec<&str> = owed.iter().map(String::as_str).collect();
                self.send_batch(&owed).await?;
            }
        }
    }

    async fn get(&mut self, path: &str) -> io::Result<String> {
        get_text(&mut self.poll_conn, self.addr, path).await
    }
}

/// Sends `request` on the keep-alive connection in `slot`, opening a new one
/// when there is none or the server closed it.
pub(crate) async fn request_on(
    slot: &mut Option<SendRequest<Full<Bytes>>>,
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> io::Result<(StatusCode, Bytes)> {
    let usable = match slot {
        Some(sender) => sender.ready().await.is_ok(),
        None => false,
    };
    if !usable {
        *slot = Some(open(addr).await?);
    }
    let Some(sender) = slot.as_mut() else {
        return Err(error("no connection"));
    };
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| error(format!("HTTP request: {e}")))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| error(format!("HTTP body: {e}")))?
        .to_bytes();
    Ok((status, body))
}

/// `GET path` on the keep-alive connection in `slot`: the body, which must
/// come with `200` and be UTF-8.
pub(crate) async fn get_text(
    slot: &mut Option<SendRequest<Full<Bytes>>>,
    addr: SocketAddr,
    path: &str,
) -> io::Result<String> {
    let request = Request::builder()
        .uri(path)
        .header(header::HOST, addr.to_string())
        .body(Full::new(Bytes::new()))
        .map_err(|e| error(format!("building request: {e}")))?;
    let (status, body) = request_on(slot, addr, request).await?;
    if status != StatusCode::OK {
        return Err(error(format!("GET {path} answered {status}")));
    }
    String::from_utf8(body.to_vec()).map_err(|_| error("GET body is not UTF-8"))
}

/// `POST path` with `body` of `content_type` on the keep-alive connection
/// in `slot`, which must be answered `200`.
pub(crate) async fn post(
    slot: &mut Option<SendRequest<Full<Bytes>>>,
    addr: SocketAddr,
    path: &str,
    content_type: &'static str,
    body: Bytes,
) -> io::Result<()> {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, addr.to_string())
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body))
        .map_err(|e| error(format!("building request: {e}")))?;
    let (status, _) = request_on(slot, addr, request).await?;
    if status != StatusCode::OK {
        return Err(error(format!("POST answered {status}")));
    }
    Ok(())
}

async fn open(addr: SocketAddr) -> io::Result<SendRequest<Full<Bytes>>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| error(format!("HTTP handshake: {e}")))?;
    tokio::spawn(async move {
        // Ends when the server closes or the sender is dropped.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Milliseconds since the epoch, the cache buster the browser client appends.
pub(crate) fn timestamp() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
