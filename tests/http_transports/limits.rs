//! Hostile or broken POSTs: oversized bodies, malformed forms and frames.

use tornadio::Settings;

use crate::client::{self, xhr_form};
use crate::common::frame;
use crate::{Harness, patient};

const LIMIT: usize = 1024;

fn small_bodies() -> Settings {
    patient().max_body_size(LIMIT)
}

/// Checks that session `id` still takes messages and echoes them.
async fn still_works(h: &mut Harness, id: &str, text: &str) {
    let posted = client::post(
        format!("/socket.io/xhr-polling/{id}/send"),
        xhr_form(&frame(text)),
    )
    .send(h.addr())
    .await;
    assert_eq!(posted.status, 200);
    h.received(id, text).await;
    let answer = client::get(format!("/socket.io/xhr-polling/{id}/1"))
        .send(h.addr())
        .await;
    assert_eq!(answer.messages(), [text]);
}

#[tokio::test]
async fn an_announced_oversized_body_is_refused_before_it_is_sent() {
    let mut h = Harness::start(small_bodies()).await;
    let id = h.open_xhr().await;
    // Only the head is sent: the answer must not wait for the body.
    let mut conn = client::post(format!("/socket.io/xhr-polling/{id}/send"), Vec::new())
        .header("Content-Length", "100000000")
        .start(h.addr())
        .await;
    assert_eq!(conn.head().await.status, 413);
    still_works(&mut h, &id, "after 413").await;
}

#[tokio::test]
async fn an_oversized_chunked_body_is_refused() {
    let mut h = Harness::start(small_bodies()).await;
    let id = h.open_xhr().await;
    let mut conn = client::post(format!("/socket.io/xhr-polling/{id}/send"), Vec::new())
        .header("Transfer-Encoding", "chunked")
        .start(h.addr())
        .await;
    let chunk = format!("200\r\n{}\r\n", "a".repeat(0x200));
    // Keep sending until the server answers; it must not need the end.
    let writer = async {
        for _ in 0..64 {
            if conn.write(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
    };
    writer.await;
    assert_eq!(conn.head().await.status, 413);
    still_works(&mut h, &id, "after chunked 413").await;
}

#[tokio::test]
async fn bodies_up_to_the_limit_pass_chunked_or_not() {
    let mut h = Harness::start(small_bodies()).await;
    let id = h.open_xhr().await;
    let text = "b".repeat(LIMIT - xhr_form(&frame("")).len() - 4);
    let body = xhr_form(&frame(&text));
    assert!(body.len() <= LIMIT);
    let posted = client::post(format!("/socket.io/xhr-polling/{id}/send"), body.clone())
        .send(h.addr())
        .await;
    assert_eq!(posted.status, 200);
    h.received(&id, &text).await;
    let (a, b) = body.split_at(body.len() / 2);
    let chunked = format!("{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n", a.len(), b.len());
    let posted = client::post(format!("/socket.io/xhr-polling/{id}/send"), chunked)
        .header("Transfer-Encoding", "chunked")
        .send(h.addr())
        .await;
    assert_eq!(posted.status, 200);
    h.received(&id, &text).await;
    // One byte over is too much.
    let over = body.clone() + &"c".repeat(LIMIT + 1 - body.len());
    assert_eq!(over.len(), LIMIT + 1);
    let posted = client::post(format!("/socket.io/xhr-polling/{id}/send"), over)
        .send(h.addr())
        .await;
    assert_eq!(posted.status, 413);
}

#[tokio::test]
async fn malformed_forms_and_frames_get_400_and_end_only_their_session() {
    let mut h = Harness::start(patient()).await;
    let bystander = h.open_xhr().await;
    for body in [
        "nodata=1".to_owned(),
        "".to_owned(),
        "data=%FF%FE".to_owned(),
        "data=%E2%82".to_owned(),
        "data=garbage".to_owned(),
        "data=~m~99~m~short".to_owned(),
        "data=~m~~m~".to_owned(),
        format!("data=~m~{}~m~x", "9".repeat(30)),
        xhr_form(&frame("~j~{not json")),
    ] {
        let id = h.open_xhr().await;
        let posted = client::post(format!("/socket.io/xhr-polling/{id}/send"), body.clone())
            .send(h.addr())
            .await;
        assert_eq!(posted.status, 400, "{body:?}");
        // Nothing was delivered: a client speaking something else than the
        // protocol loses its session, as on websocket.
        h.closed(&id).await;
    }
    still_works(&mut h, &bystander, "unaffected").await;
}
