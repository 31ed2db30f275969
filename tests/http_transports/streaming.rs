//! htmlfile and xhr-multipart: one streaming GET, POSTs to send,
//! heartbeats.

use std::collections::VecDeque;

use crate::client::{self, Conn, Head, xhr_form};
use crate::common::{frame, unframe};
use crate::{Harness, patient, short_heartbeats};

const HTMLFILE_OPEN: &str = "<script>parent.s._(";
const HTMLFILE_CLOSE: &str = ", document);</script>";
const PART_HEAD: &str = "Content-Type: text/plain\n\n";
const BOUNDARY: &str = "\n--socketio\n";

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    HtmlFile,
    Multipart,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::HtmlFile => "htmlfile",
            Kind::Multipart => "xhr-multipart",
        }
    }
}

/// A client reading one streaming response, payload by payload.
struct StreamClient {
    kind: Kind,
    conn: Conn,
    head: Head,
    /// Bytes received and not yet parsed.
    buffer: Vec<u8>,
    /// Everything received, for assertions on the raw stream.
    raw: Vec<u8>,
    ended: bool,
    messages: VecDeque<String>,
    id: String,
}

fn find(haystack: &[u8], needle: &str) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

impl StreamClient {
    /// Opens the stream and reads the session id, the first message.
    async fn open(h: &Harness, kind: Kind) -> StreamClient {
        let path = match kind {
            Kind::HtmlFile => "/socket.io/htmlfile//1700000000000".to_owned(),
            Kind::Multipart => "/socket.io/xhr-multipart/".to_owned(),
        };
        let mut conn = client::get(path).start(h.addr()).await;
        let head = conn.head().await;
        assert_eq!(head.status, 200);
        let mut stream = StreamClient {
            kind,
            conn,
            head,
            buffer: Vec::new(),
            raw: Vec::new(),
            ended: false,
            messages: VecDeque::new(),
            id: String::new(),
        };
        stream.read_prelude().await;
        stream.id = stream.recv().await.expect("the session id");
        stream
    }

    async fn fill(&mut self) -> bool {
        if self.ended {
            return false;
        }
        match self.conn.chunk().await {
            Some(chunk) => {
                self.raw.extend_from_slice(&chunk);
                self.buffer.extend(chunk);
                true
            }
            None => {
                self.ended = true;
                false
            }
        }
    }

    async fn read_prelude(&mut self) {
        let prelude = match self.kind {
            Kind::HtmlFile => "<html><body>",
            Kind::Multipart => "--socketio\n",
        };
        while self.buffer.len() < prelude.len() {
            assert!(self.fill().await, "the stream ended in its prelude");
        }
        assert!(self.buffer.starts_with(prelude.as_bytes()));
        self.buffer.drain(..prelude.len());
        if self.kind == Kind::HtmlFile {
            // Padding, then the first script.
            while find(&self.buffer, "<").is_none() {
                assert!(self.fill().await, "the stream ended in its padding");
            }
            let padding = find(&self.buffer, "<").unwrap_or(0);
            assert!(self.buffer[..padding].iter().all(|&b| b == b' '));
            assert!(padding >= 244, "only {padding} bytes of padding");
            self.buffer.drain(..padding);
        }
    }

    /// One payload off the front of the buffer, if a whole one is there.
    fn parse_payload(&mut self) -> Option<String> {
        let (start, end) = match self.kind {
            Kind::HtmlFile => (HTMLFILE_OPEN, HTMLFILE_CLOSE),
            Kind::Multipart => (PART_HEAD, BOUNDARY),
        };
        if self.buffer.len() < start.len() {
            return None;
        }
        assert!(
            self.buffer.starts_with(start.as_bytes()),
            "unexpected stream content {:?}",
            String::from_utf8_lossy(&self.buffer)
        );
        let length = find(&self.buffer[start.len()..], end)?;
        let inner = String::from_utf8(self.buffer[start.len()..start.len() + length].to_vec())
            .expect("UTF-8 payload");
        self.buffer.drain(..start.len() + length + end.len());
        Some(match self.kind {
            Kind::HtmlFile => serde_json::from_str(&inner).expect("a JSON string argument"),
            Kind::Multipart => inner,
        })
    }

    /// The next payload; `None` once the stream ended.
    async fn payload(&mut self) -> Option<String> {
        loop {
            if let Some(payload) = self.parse_payload() {
                return Some(payload);
            }
            if !self.fill().await {
                assert!(self.buffer.is_empty(), "the stream ended mid-payload");
                return None;
            }
        }
    }

    /// The next message, heartbeats included; `None` once the stream ended.
    async fn recv_raw(&mut self) -> Option<String> {
        loop {
            if let Some(message) = self.messages.pop_front() {
                return Some(message);
            }
            let payload = self.payload().await?;
            self.messages.extend(unframe(&payload));
        }
    }

    /// The next message that is not a heartbeat (heartbeats are echoed).
    async fn recv(&mut self) -> Option<String> {
        loop {
            let message = self.recv_raw().await?;
            if message.starts_with("~h~") {
                self.post(&frame(&message)).await;
                continue;
            }
            return Some(message);
        }
    }

    fn send_path(&self) -> String {
        format!("/socket.io/{}/{}/send", self.kind.name(), self.id)
    }

    async fn post(&self, payload: &str) -> u16 {
        let addr = self.conn_addr();
        client::post(self.send_path(), xhr_form(payload))
            .send(addr)
            .await
            .status
    }

    fn conn_addr(&self) -> std::net::SocketAddr {
        self.conn.peer_addr()
    }
}

#[tokio::test]
async fn htmlfile_streams_padded_html_with_one_script_per_payload() {
    let mut h = Harness::start(patient()).await;
    let mut stream = StreamClient::open(&h, Kind::HtmlFile).await;
    assert_eq!(
        stream.head.header("content-type"),
        Some("text/html; charset=UTF-8")
    );
    assert_eq!(stream.head.header("transfer-encoding"), Some("chunked"));
    h.opened(&stream.id).await;
    assert_eq!(stream.recv().await.as_deref(), Some("Welcome"));
    assert_eq!(stream.post(&(frame("hi") + &frame("there"))).await, 200);
    h.received(&stream.id, "hi").await;
    h.received(&stream.id, "there").await;
    assert_eq!(stream.recv().await.as_deref(), Some("hi"));
    assert_eq!(stream.recv().await.as_deref(), Some("there"));
    let raw = String::from_utf8_lossy(&stream.raw).into_owned();
    assert!(raw.starts_with("<html><body>"));
    assert!(raw.contains("<script>parent.s._(\""));
}

#[tokio::test]
async fn htmlfile_scripts_cannot_be_closed_or_broken_by_the_payload() {
    let mut h = Harness::start(patient()).await;
    let mut stream = StreamClient::open(&h, Kind::HtmlFile).await;
    h.opened(&stream.id).await;
    assert_eq!(stream.recv().await.as_deref(), Some("Welcome"));
    let hostile = "</script><script>alert(1)</script>\u{2028}x\u{2029}<!--</SCRIPT>";
    assert_eq!(stream.post(&frame(hostile)).await, 200);
    assert_eq!(stream.recv().await.as_deref(), Some(hostile));
    let raw = String::from_utf8_lossy(&stream.raw).to_lowercase();
    // Every `</script>` in the stream is one the server wrote.
    assert_eq!(
        raw.matches("</script").count(),
        raw.matches("<script>parent.s._(").count()
    );
    assert!(!raw.contains("alert(1)</"));
    assert!(!raw.contains("<!--"));
    assert!(!raw.contains('\u{2028}') && !raw.contains('\u{2029}'));
}

#[tokio::test]
async fn multipart_frames_each_payload_as_a_part() {
    let mut h = Harness::start(patient()).await;
    let mut stream = StreamClient::open(&h, Kind::Multipart).await;
    assert_eq!(
        stream.head.header("content-type"),
        Some("multipart/x-mixed-replace;boundary=\"socketio\"")
    );
    h.opened(&stream.id).await;
    assert_eq!(stream.recv().await.as_deref(), Some("Welcome"));
    assert_eq!(stream.post(&frame("multi")).await, 200);
    h.received(&stream.id, "multi").await;
    assert_eq!(stream.recv().await.as_deref(), Some("multi"));
    let raw = String::from_utf8_lossy(&stream.raw).into_owned();
    let id = &stream.id;
    let expected = format!(
        "--socketio\nContent-Type: text/plain\n\n{}\n--socketio\n",
        frame(id) + &frame("Welcome")
    );
    assert!(raw.starts_with(&expected), "stream: {raw:?}");
    assert!(raw.ends_with(&format!(
        "Content-Type: text/plain\n\n{}\n--socketio\n",
        frame("multi")
    )));
}

#[tokio::test]
async fn streams_carry_heartbeats_and_end_the_session_when_they_go_unanswered() {
    for kind in [Kind::HtmlFile, Kind::Multipart] {
        let mut h = Harness::start(short_heartbeats()).await;
        let mut stream = StreamClient::open(&h, kind).await;
        h.opened(&stream.id).await;
        assert_eq!(stream.recv_raw().await.as_deref(), Some("Welcome"));
        // Answered heartbeats keep the session alive.
        for n in 1..=3 {
            let beat = stream.recv_raw().await.expect("a heartbeat");
            assert_eq!(beat, format!("~h~{n}"));
            assert_eq!(stream.post(&frame(&beat)).await, 200);
        }
        h.quiet();
        // Then the client stops answering: the session ends, and so does
        // the stream.
        while let Some(message) = stream.recv_raw().await {
            assert!(message.starts_with("~h~"), "{message}");
        }
        h.closed(&stream.id).await;
    }
}

#[tokio::test]
async fn a_stream_whose_client_leaves_ends_its_session() {
    for kind in [Kind::HtmlFile, Kind::Multipart] {
        let mut h = Harness::start(patient()).await;
        let mut stream = StreamClient::open(&h, kind).await;
        h.opened(&stream.id).await;
        assert_eq!(stream.recv().await.as_deref(), Some("Welcome"));
        let id = stream.id.clone();
        let addr = h.addr();
        drop(stream);
        h.closed(&id).await;
        let late = client::post(
            format!("/socket.io/{}/{id}/send", kind.name()),
            xhr_form(&frame("late")),
        )
        .send(addr)
        .await;
        assert!((400..500).contains(&late.status));
    }
}

#[tokio::test]
async fn a_second_stream_for_a_session_cannot_be_opened_and_ids_are_distinct() {
    let mut h = Harness::start(patient()).await;
    let a = StreamClient::open(&h, Kind::HtmlFile).await;
    let b = StreamClient::open(&h, Kind::Multipart).await;
    assert_ne!(a.id, b.id);
    h.opened(&a.id).await;
    h.opened(&b.id).await;
    // A streaming session is not reachable through another transport.
    let answer = client::post(
        format!("/socket.io/xhr-multipart/{}/send", a.id),
        xhr_form(&frame("x")),
    )
    .send(h.addr())
    .await;
    assert!((400..500).contains(&answer.status));
}
