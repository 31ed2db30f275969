//! jsonp-polling: script answers, index validation, form POSTs.

use crate::client::{self, Response, browser_form, xhr_form};
use crate::common::{frame, unframe};
use crate::{Harness, patient, short_polls};

/// The index and payload of `io.JSONP[index]._("payload");`.
fn jsonp_call(answer: &Response) -> (String, String) {
    assert_eq!(answer.status, 200, "body: {}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let text = answer.text();
    let rest = text.strip_prefix("io.JSONP[").expect("io.JSONP[");
    let (index, rest) = rest.split_once("]._(").expect("]._(");
    let argument = rest.strip_suffix(");").expect("a call ending in );");
    let payload: String = serde_json::from_str(argument).expect("one JSON string argument");
    (index.to_owned(), payload)
}

async fn open_jsonp(h: &mut Harness, index: &str) -> String {
    let opening = client::get(format!("/socket.io/jsonp-polling//1700000000000/{index}"))
        .send(h.addr())
        .await;
    let (called, payload) = jsonp_call(&opening);
    assert_eq!(called, index);
    let messages = unframe(&payload);
    assert_eq!(messages[1..], ["Welcome"]);
    h.opened(&messages[0]).await;
    messages[0].clone()
}

#[tokio::test]
async fn a_session_opens_sends_and_receives_through_script_answers() {
    let mut h = Harness::start(patient()).await;
    let id = open_jsonp(&mut h, "3").await;
    // The form is built once: every POST reuses the same timestamp.
    let action = format!("/socket.io/jsonp-polling/{id}/1700000000000/3");
    for text in ["first message", "second + message & more=1 %20"] {
        let posted = client::post(action.clone(), browser_form(&frame(text)))
            .header("Origin", "http://page.example")
            .send(h.addr())
            .await;
        assert_eq!(posted.status, 200);
        h.received(&id, text).await;
    }
    let answer = client::get(format!("/socket.io/jsonp-polling/{id}/1700000000005/3"))
        .send(h.addr())
        .await;
    let (index, payload) = jsonp_call(&answer);
    assert_eq!(index, "3");
    assert_eq!(
        unframe(&payload),
        ["first message", "second + message & more=1 %20"]
    );
}

#[tokio::test]
async fn the_polling_timeout_still_calls_back_so_that_the_client_polls_again() {
    let mut h = Harness::start(short_polls()).await;
    let id = open_jsonp(&mut h, "0").await;
    let answer = client::get(format!("/socket.io/jsonp-polling/{id}/1/0"))
        .send(h.addr())
        .await;
    assert_eq!(answer.text(), r#"io.JSONP[0]._("");"#);
    assert_eq!(jsonp_call(&answer), ("0".to_owned(), String::new()));
}

#[tokio::test]
async fn a_non_digit_index_is_refused_and_never_reflected() {
    let mut h = Harness::start(patient()).await;
    for index in [
        "abc",
        "1%3Balert(document.domain)%2F%2F",
        "0)%3Balert(1)%3B(",
        "%3Cscript%3E",
        "1e3",
        "-1",
        "99999999999999999999",
    ] {
        let answer = client::get(format!("/socket.io/jsonp-polling//1/{index}"))
            .send(h.addr())
            .await;
        assert!(
            (400..500).contains(&answer.status),
            "{index}: {}",
            answer.status
        );
        let body = answer.text();
        assert!(!body.contains("alert") && !body.contains("script") && !body.contains("abc"));
        assert!(!body.contains("io.JSONP"));
    }
    // Leading zeros are not written into script (octal in old JavaScript).
    let answer = client::get("/socket.io/jsonp-polling//1/007")
        .send(h.addr())
        .await;
    let (index, payload) = jsonp_call(&answer);
    assert_eq!(index, "7");
    let id = unframe(&payload)[0].clone();
    h.opened(&id).await;
    h.sockets.get(&id).unwrap().close();
    h.closed(&id).await;
    // None of the others opened a session.
    h.quiet();
    assert!(h.sockets.is_empty());
    // Nor is a bad index accepted on a live session.
    let id = open_jsonp(&mut h, "1").await;
    let answer = client::get(format!("/socket.io/jsonp-polling/{id}/1/x1"))
        .send(h.addr())
        .await;
    assert!((400..500).contains(&answer.status));
    assert!(!answer.text().contains("x1"));
}

#[tokio::test]
async fn script_answers_escape_what_could_end_a_script_or_a_string() {
    let mut h = Harness::start(patient()).await;
    let id = open_jsonp(&mut h, "0").await;
    let hostile = "</script><script>alert(1)</script>\u{2028}\u{2029}\"'\\<!--";
    let posted = client::post(
        format!("/socket.io/jsonp-polling/{id}/1/0"),
        xhr_form(&frame(hostile)),
    )
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    h.received(&id, hostile).await;
    let answer = client::get(format!("/socket.io/jsonp-polling/{id}/2/0"))
        .send(h.addr())
        .await;
    let body = answer.text();
    assert!(!body.contains("</script"));
    assert!(!body.contains("<!--"));
    assert!(!body.contains('\u{2028}') && !body.contains('\u{2029}'));
    assert_eq!(unframe(&jsonp_call(&answer).1), [hostile]);
}

#[tokio::test]
async fn line_breaks_survive_the_form_post() {
    // A textarea's line breaks reach the server as CRLF, one unit longer
    // than the length the client framed them with.
    let mut h = Harness::start(patient()).await;
    let id = open_jsonp(&mut h, "0").await;
    let framed = frame("two\nlines") + &frame("cr\r\nlf") + &frame("and\nmore\n");
    let posted = client::post(
        format!("/socket.io/jsonp-polling/{id}/1/0"),
        browser_form(&framed.replace("\r\n", "\n").replace('\n', "\r\n")),
    )
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    h.received(&id, "two\nlines").await;
    h.received(&id, "cr\r\nlf").await;
    h.received(&id, "and\nmore\n").await;
}
