//! Error answers as node gives them, concurrent polls, refusals, CORS.

use tornadio::DisconnectReason;

use crate::{Harness, client, error_code, patient};

#[tokio::test]
async fn every_error_code() {
    let h = Harness::start(patient()).await;
    let cases = [
        ("GET", "/engine.io/?EIO=4&transport=carrier-pigeon", 400, 0),
        ("GET", "/engine.io/?EIO=4", 400, 0),
        (
            "GET",
            "/engine.io/?EIO=4&transport=polling&sid=nope",
            400,
            1,
        ),
        ("POST", "/engine.io/?EIO=4&transport=polling", 400, 2),
        ("GET", "/engine.io/?transport=polling", 400, 5),
        ("GET", "/engine.io/?EIO=abc&transport=polling", 400, 5),
        ("GET", "/engine.io/?EIO=5&transport=polling", 400, 5),
        ("GET", "/engine.io/?EIO=4&transport=websocket", 400, 3),
    ];
    for (method, path, status, code) in cases {
        let request = match method {
            "GET" => client::get(path),
            _ => client::post(path, "4x"),
        };
        let answer = request.send(h.addr()).await;
        assert_eq!(answer.status, status, "{method} {path}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/json"),
            "{method} {path}"
        );
        assert_eq!(error_code(&answer), code, "{method} {path}");
    }
    // Without v3 support, EIO=3 is an unsupported version.
    let strict = Harness::start(patient().allow_eio3(false)).await;
    let answer = client::get("/engine.io/?EIO=3&transport=polling")
        .send(strict.addr())
        .await;
    assert_eq!(error_code(&answer), 5);
}

#[tokio::test]
async fn a_refusal_is_403_with_the_applications_message() {
    let h = Harness::start(patient()).await;
    let answer = client::get("/engine.io/?EIO=4&transport=polling&refuse=1")
        .send(h.addr())
        .await;
    assert_eq!(answer.status, 403);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body, serde_json::json!({"code": 4, "message": "go away"}));
    assert_eq!(h.router.session_count(), 0);
}

#[tokio::test]
async fn a_second_concurrent_poll_closes_the_session() {
    let mut h = Harness::start(patient()).await;
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let addr = h.addr();
    let path = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let first = tokio::spawn({
        let path = path.clone();
        async move { client::get(path).send(addr).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let second = client::get(path).send(addr).await;
    assert_eq!(second.status, 400);
    let first = first.await.unwrap();
    assert_eq!((first.status, first.text().as_str()), (200, "1"));
    assert_eq!(h.closed(&sid).await, DisconnectReason::TransportError);
    assert_eq!(error_code(&h.poll(4, &sid).await), 1);
}

#[tokio::test]
async fn a_client_close_frees_its_poll_with_a_noop() {
    let mut h = Harness::start(patient()).await;
    let sid = h.open_polling(3, "&b64=1").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let addr = h.addr();
    let path = format!("/engine.io/?EIO=3&transport=polling&sid={sid}");
    let waiting = tokio::spawn(async move { client::get(path).send(addr).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(h.post(3, &sid, "1:1").await.status, 200);
    assert_eq!(waiting.await.unwrap().text(), "1:6");
    assert_eq!(h.closed(&sid).await, DisconnectReason::TransportClose);
    assert_eq!(error_code(&h.post(3, &sid, "1:2").await), 1);
}

#[tokio::test]
async fn malformed_posts_get_400_and_close_only_their_session() {
    let mut h = Harness::start(patient()).await;
    let bystander = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in ["abc", "", "4a\u{1e}\u{1e}4b", "b***"] {
        let sid = h.open_polling(4, "").await["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        let answer = h.post(4, &sid, body).await;
        assert_eq!(answer.status, 400, "{body:?}");
        assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
        assert_eq!(error_code(&h.poll(4, &sid).await), 1);
    }
    for body in ["7:4hello", "x:4a", "99999999999:4"] {
        let sid = h.open_polling(3, "&b64=1").await["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(h.post(3, &sid, body).await.status, 400, "{body:?}");
        assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
    }
    // A v4 binary POST is not Engine.IO v4.
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = client::post(
        format!("/engine.io/?EIO=4&transport=polling&sid={sid}"),
        vec![1, 2, 3],
    )
    .header("Content-Type", "application/octet-stream")
    .send(h.addr())
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(h.closed(&sid).await, DisconnectReason::ParseError);
    // The bystander never noticed.
    assert_eq!(h.post(4, &bystander, "4ok").await.status, 200);
    assert_eq!(h.poll(4, &bystander).await.text(), "4ok");
}

#[tokio::test]
async fn cors_preflight_allow_list_and_credentials() {
    let h = Harness::start(patient().allowed_origins(["http://good.test"])).await;
    let preflight = client::options("/engine.io/?EIO=4&transport=polling")
        .header("Origin", "http://good.test")
        .header("Access-Control-Request-Headers", "content-type")
        .send(h.addr())
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://good.test")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type")
    );
    let good = client::get("/engine.io/?EIO=4&transport=polling")
        .header("Origin", "http://good.test")
        .send(h.addr())
        .await;
    assert_eq!(good.status, 200);
    assert_eq!(
        good.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(good.header("vary"), Some("Origin"));
    let bad = client::get("/engine.io/?EIO=4&transport=polling")
        .header("Origin", "http://evil.test")
        .send(h.addr())
        .await;
    assert_eq!((bad.status, error_code(&bad)), (403, 4));
    // Any origin allowed: the origin comes back, credentials do not.
    let open = Harness::start(patient()).await;
    let any = client::get("/engine.io/?EIO=4&transport=polling")
        .header("Origin", "http://anyone.test")
        .send(open.addr())
        .await;
    assert_eq!(
        any.header("access-control-allow-origin"),
        Some("http://anyone.test")
    );
    assert_eq!(any.header("access-control-allow-credentials"), None);
}

#[tokio::test]
async fn a_poll_aborted_by_its_client_closes_the_session() {
    let mut h = Harness::start(patient()).await;
    let sid = h.open_polling(4, "").await["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let pending = client::get(format!("/engine.io/?EIO=4&transport=polling&sid={sid}"))
        .start(h.addr())
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(pending);
    assert_eq!(h.closed(&sid).await, DisconnectReason::TransportError);
}
