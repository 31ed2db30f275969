//! Polling: handshakes, echo of text and binary in both versions' payloads,
//! batching, JSONP, limits.

use bytes::Bytes;
use serde_json::Value;
use tornadio::Data;

use crate::{Harness, Seen, client, error_code, patient};

#[tokio::test]
async fn the_v4_handshake_has_exactly_the_five_keys() {
    let mut h = Harness::start(patient()).await;
    let open = h.open_polling(4, "").await;
    let Value::Object(keys) = &open else {
        panic!("{open}")
    };
    let mut names: Vec<&str> = keys.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 20_000);
    assert_eq!(open["maxPayload"], 1_000_000);
    let sid = open["sid"].as_str().unwrap();
    assert!(sid.len() >= 20, "{sid}");
    assert!(
        sid.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
}

#[tokio::test]
async fn v4_polling_echoes_text_and_binary_in_one_payload() {
    let mut h = Harness::start(patient()).await;
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let posted = h.post(4, &sid, "4hello\u{1e}bAQIDBA==\u{1e}4😀").await;
    assert_eq!((posted.status, posted.text().as_str()), (200, "ok"));
    assert_eq!(posted.header("content-type"), Some("text/html"));
    let answer = h.poll(4, &sid).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(answer.text(), "4hello\u{1e}bAQIDBA==\u{1e}4😀");
    assert_eq!(
        h.next().await,
        Seen::Message(sid.clone(), Data::from("hello"))
    );
    assert_eq!(
        h.next().await,
        Seen::Message(sid.clone(), Data::Binary(Bytes::from_static(&[1, 2, 3, 4])))
    );
}

#[tokio::test]
async fn v3_polling_counts_utf16_units_and_answers_binary_payloads() {
    let mut h = Harness::start(patient()).await;
    // base64 mode: lengths in UTF-16 units, binary as b4...
    let sid = h.open_polling(3, "&b64=1").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let posted = h.post(3, &sid, "6:4hello3:4😀10:b4AQIDBA==").await;
    assert_eq!(posted.status, 200);
    assert_eq!(h.poll(3, &sid).await.text(), "6:4hello3:4😀10:b4AQIDBA==");
    // binary mode: the same echo comes back as a binary payload.
    let sid = h.open_polling(3, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let posted = h.post(3, &sid, "6:4hello10:b4AQIDBA==").await;
    assert_eq!(posted.status, 200);
    let answer = h.poll(3, &sid).await;
    assert_eq!(
        answer.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        answer.body,
        [
            0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4
        ]
    );
    // A v3 browser client may POST that binary form itself.
    let posted = client::post(
        format!("/engine.io/?EIO=3&transport=polling&sid={sid}"),
        vec![0, 2, 255, 52, 120, 1, 3, 255, 4, 9, 8],
    )
    .header("Content-Type", "application/octet-stream")
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    let answer = h.poll(3, &sid).await;
    assert_eq!(answer.body, [0, 2, 255, 52, 120, 1, 3, 255, 4, 9, 8]);
}

#[tokio::test]
async fn a_poll_waits_for_output_and_takes_all_of_it() {
    let mut h = Harness::start(patient()).await;
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let addr = h.addr();
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let waiting = tokio::spawn(async move { client::get(path).send(addr).await });
    // The poll is parked before anything is sent: nothing answers it yet.
    tokio::task::yield_now().await;
    for text in ["one", "two", "three"] {
        let posted = h.post(4, &sid, format!("4{text}")).await;
        assert_eq!(posted.status, 200);
    }
    let mut got = waiting.await.unwrap().text();
    while got.split('\u{1e}').count() < 3 {
        got.push('\u{1e}');
        got.push_str(&h.poll(4, &sid).await.text());
    }
    assert_eq!(got, "4one\u{1e}4two\u{1e}4three");
}

#[tokio::test]
async fn jsonp_polls_are_scripts_and_form_posts_restore_line_breaks() {
    let mut h = Harness::start(patient()).await;
    let answer = client::get("/engine.io/?EIO=3&transport=polling&j=7")
        .send(h.addr())
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let script = answer.text();
    let payload = script
        .strip_prefix("___eio[7](")
        .and_then(|s| s.strip_suffix(");"))
        .unwrap_or_else(|| panic!("{script}"));
    let payload: String = serde_json::from_str(payload).expect("a JS string literal");
    let open: Value = serde_json::from_str(&payload[payload.find('{').unwrap()..]).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    assert_eq!(h.next().await, Seen::Open(sid.clone()));
    // The form field `d`: a line feed written as backslash-n, a literal
    // backslash-n doubled, as engine.io-client's JSONP transport sends.
    let form = format!("d={}", urlencode("9:4a\\nb\\\\nc</"));
    let posted = client::post(
        format!("/engine.io/?EIO=3&transport=polling&sid={sid}&j=7"),
        form,
    )
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200, "{}", posted.text());
    assert_eq!(
        h.next().await,
        Seen::Message(sid.clone(), Data::from("a\nb\\nc</"))
    );
    let answer = client::get(format!("/engine.io/?EIO=3&transport=polling&sid={sid}&j=7"))
        .send(h.addr())
        .await;
    let script = answer.text();
    assert!(!script.contains("</"), "{script}");
    assert!(script.starts_with("___eio[7]("), "{script}");
    // An index that is not a number is refused.
    let answer = client::get("/engine.io/?EIO=3&transport=polling&j=abc")
        .send(h.addr())
        .await;
    assert_eq!(answer.status, 400);
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[tokio::test]
async fn a_post_over_max_payload_gets_413_and_the_session_goes_on() {
    let mut h = Harness::start(patient().max_payload(1000)).await;
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let big = format!("4{}", "x".repeat(1000));
    let answer = h.post(4, &sid, big.clone()).await;
    assert_eq!(answer.status, 413);
    // Chunked, announcing nothing: refused once past the limit.
    let mut request = client::post(
        format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        Vec::new(),
    )
    .header("Transfer-Encoding", "chunked")
    .start(h.addr())
    .await;
    let chunk = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let _ = request.write(chunk.as_bytes()).await;
    assert_eq!(request.head().await.status, 413);
    // The session still echoes.
    assert_eq!(h.post(4, &sid, "4small").await.status, 200);
    assert_eq!(h.poll(4, &sid).await.text(), "4small");
    assert_eq!(error_code(&h.poll(4, "nope").await), 1);
}
