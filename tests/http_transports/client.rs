//! A deliberately small HTTP/1.1 client over a raw `TcpStream`: it sends
//! exactly the bytes a test asks for (chunked bodies, lying lengths,
//! vanishing mid-request) and reads responses, whole or chunk by chunk.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::common::{PATIENCE, unframe};

/// A whole response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }

    /// The messages of an xhr-polling answer.
    pub fn messages(&self) -> Vec<String> {
        assert_eq!(self.status, 200, "body: {}", self.text());
        unframe(&self.text())
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A request to be written.
pub struct Request {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

pub fn get(path: impl Into<String>) -> Request {
    Request {
        method: "GET",
        path: path.into(),
        headers: Vec::new(),
        body: None,
    }
}

pub fn post(path: impl Into<String>, body: impl Into<Vec<u8>>) -> Request {
    Request {
        method: "POST",
        path: path.into(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        )],
        body: Some(body.into()),
    }
}

pub fn options(path: impl Into<String>) -> Request {
    Request {
        method: "OPTIONS",
        path: path.into(),
        headers: Vec::new(),
        body: None,
    }
}

impl Request {
    /// Sets a header, replacing one of the same name.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The request's bytes: head, then the body with a `Content-Length`
    /// unless the test set its own framing headers.
    fn bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\n", self.method, self.path);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let framed = header(&self.headers, "content-length").is_some()
            || header(&self.headers, "transfer-encoding").is_some();
        if let (Some(body), false) = (&self.body, framed) {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if let Some(body) = &self.body {
            bytes.extend_from_slice(body);
        }
        bytes
    }

    /// Writes the request on a new connection and returns it unread.
    pub async fn start(&self, addr: SocketAddr) -> Conn {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(&self.bytes(addr))
            .await
            .expect("write request");
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// Sends the request and reads the whole response.
    pub async fn send(self, addr: SocketAddr) -> Response {
        self.start(addr).await.response().await
    }
}

/// One connection with a request written on it.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

/// The status line and headers of a response.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }
}

impl Conn {
    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.reader
            .get_ref()
            .peer_addr()
            .expect("a connected socket")
    }

    /// Writes more bytes on the connection (the rest of a body).
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.reader.get_mut().write_all(bytes).await
    }

    async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let read = tokio::time::timeout(PATIENCE, self.reader.read_line(&mut line))
            .await
            .expect("the server answers in time")
            .ok()?;
        (read > 0).then(|| line.trim_end_matches(['\r', '\n']).to_owned())
    }

    /// Reads the status line and headers.
    pub async fn head(&mut self) -> Head {
        let status_line = self.line().await.expect("a status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line().await.expect("a header line");
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("name: value");
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        Head { status, headers }
    }

    /// The next chunk of a chunked body; `None` at its end or when the
    /// connection closed.
    pub async fn chunk(&mut self) -> Option<Vec<u8>> {
        let size_line = self.line().await?;
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return None;
        }
        let mut chunk = vec![0; size + 2];
        tokio::time::timeout(PATIENCE, self.reader.read_exact(&mut chunk))
            .await
            .expect("the chunk in time")
            .ok()?;
        chunk.truncate(size);
        Some(chunk)
    }

    /// Whether the server closes the connection (end of stream, or a reset)
    /// within the test's patience, rather than keeping it open; whatever it
    /// still sends before is read and dropped.
    pub async fn closed_by_server(&mut self) -> bool {
        let mut scratch = [0u8; 4096];
        let until_closed = async {
            loop {
                match self.reader.read(&mut scratch).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        tokio::time::timeout(PATIENCE, until_closed).await.is_ok()
    }

    /// Reads a whole response.
    pub async fn response(mut self) -> Response {
        let head = self.head().await;
        let mut body = Vec::new();
        if head.is_chunked() {
            while let Some(chunk) = self.chunk().await {
                body.extend(chunk);
            }
        } else if let Some(length) = head.header("content-length") {
            body.resize(length.parse().expect("a length"), 0);
            tokio::time::timeout(PATIENCE, self.reader.read_exact(&mut body))
                .await
                .expect("the body in time")
                .expect("the whole body");
        } else if head.status != 204 && head.status != 304 {
            tokio::time::timeout(PATIENCE, self.reader.read_to_end(&mut body))
                .await
                .expect("the body in time")
                .expect("the body");
        }
        Response {
            status: head.status,
            headers: head.headers,
            body,
        }
    }
}

/// `data=` plus the payload as the 0.6 client's XHR sends it
/// (`encodeURIComponent`).
pub fn xhr_form(payload: &str) -> String {
    let mut out = String::from("data=");
    for byte in payload.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `data=` plus the payload as a browser submits a form
/// (`application/x-www-form-urlencoded`: spaces as `+`).
pub fn browser_form(payload: &str) -> String {
    let mut out = String::from("data=");
    for byte in payload.bytes() {
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
