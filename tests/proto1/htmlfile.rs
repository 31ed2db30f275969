//! htmlfile: one streamed `text/html` GET of `<script>_("payload");</script>`
//! chunks, with heartbeats; POSTs as xhr-polling's.

use std::collections::VecDeque;
use std::time::Duration;

use tornadio::{DisconnectReason, Transport};

use crate::p1::{self, Poller};
use crate::{Harness, Seen, http, patient};

/// The reading end of an htmlfile stream, decoding its scripts as the
/// 0.9.17 client does (a JavaScript string, then every `\/` made `/`).
struct Stream {
    conn: http::Conn,
    text: String,
    packets: VecDeque<String>,
}

impl Stream {
    async fn open(h: &Harness, sid: &str) -> Stream {
        let mut conn = http::get(format!("/socket.io/1/htmlfile/{sid}?t=1"))
            .start(h.addr())
            .await;
        let head = conn.head().await;
        assert_eq!(head.status, 200);
        assert_eq!(
            head.header("content-type"),
            Some("text/html; charset=UTF-8")
        );
        let mut stream = Stream {
            conn,
            text: String::new(),
            packets: VecDeque::new(),
        };
        let prelude =
            "<html><body><script>var _ = function (msg) { parent.s._(msg, document); };</script>";
        while stream.text.len() < 256 {
            stream.read().await.expect("the prelude");
        }
        assert!(stream.text.starts_with(prelude), "{}", stream.text);
        stream.text = stream
            .text
            .trim_start_matches(prelude)
            .trim_start()
            .to_owned();
        stream
    }

    async fn read(&mut self) -> Option<()> {
        let chunk = self.conn.chunk().await?;
        self.text
            .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        Some(())
    }

    /// The next packet; `None` once the stream ended.
    async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(packet) = self.packets.pop_front() {
                return Some(packet);
            }
            while let Some(end) = self.text.find(");</script>") {
                let script = self.text[..end].to_owned();
                self.text.drain(..end + ");</script>".len());
                let literal = script.strip_prefix("<script>_(").expect("a script");
                let data: String = serde_json::from_str(literal).expect("a string literal");
                self.packets.extend(p1::unbatch(&data.replace("\\/", "/")));
            }
            if self.packets.is_empty() {
                self.read().await?;
            }
        }
    }
}

#[tokio::test]
async fn htmlfile_streams_every_payload_as_a_script() {
    let mut h = Harness::start(patient()).await;
    let sid = p1::handshake(h.addr()).await;
    let mut stream = Stream::open(&h, &sid).await;
    assert_eq!(stream.next().await.as_deref(), Some("1::"));
    assert_eq!(stream.next().await.as_deref(), Some("3:::Welcome"));
    let Seen::Open { transport, .. } = h.opened("/").await else {
        unreachable!()
    };
    assert_eq!(transport, Transport::HtmlFile);

    let sender = Poller::new(h.addr(), &sid, "htmlfile");
    // Slashes, escaped slashes and script ends come through as sent.
    for text in ["a/b", "a\\/b", "\\\\/", "</script><script>x</script>"] {
        sender.post(&format!("3:::{text}")).await;
        h.message("/", text).await;
        assert_eq!(stream.next().await, Some(format!("3:::{text}")));
    }
    drop(stream);
    h.closed("/", DisconnectReason::TransportClose).await;
    h.no_sessions().await;
}

#[tokio::test]
async fn an_unknown_sid_reads_not_handshaken_in_a_script() {
    let h = Harness::start(patient()).await;
    let response = http::get("/socket.io/1/htmlfile/nosuchsession?t=1")
        .send(h.addr())
        .await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .text()
            .ends_with("<script>_(\"7:::1+0\");</script>"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn htmlfile_beats_and_a_silent_client_times_out() {
    let mut h = Harness::start(
        patient()
            .proto1_heartbeat_interval(Duration::from_millis(100))
            .proto1_heartbeat_timeout(Duration::from_secs(2)),
    )
    .await;
    let sid = p1::handshake(h.addr()).await;
    let mut stream = Stream::open(&h, &sid).await;
    assert_eq!(stream.next().await.as_deref(), Some("1::"));
    assert_eq!(stream.next().await.as_deref(), Some("3:::Welcome"));
    h.opened("/").await;
    let sender = Poller::new(h.addr(), &sid, "htmlfile");
    // Answered beats keep it open.
    for _ in 0..3 {
        assert_eq!(stream.next().await.as_deref(), Some("2::"));
        sender.post("2::").await;
    }
    h.quiet();
    // Unanswered, the session ends and so does the stream.
    while let Some(packet) = stream.next().await {
        assert_eq!(packet, "2::");
    }
    h.closed("/", DisconnectReason::PingTimeout).await;
}
