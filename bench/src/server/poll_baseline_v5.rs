//! The current-protocol long-poll baseline: a bare hyper HTTP/1.1 server
//! speaking just enough Engine.IO v4 polling / Socket.IO v5 for the bench's
//! clients: `GET /socket.io/?EIO=4&transport=polling` opens a session with
//! the open packet; a POSTed `40` queues the `40{"sid"}` reply, POSTed `42`
//! event packets are queued as-is (the echo); a GET takes the queue, joined
//! by `\x1e`, or a ping after 25 s.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::{PING_INTERVAL, announce, connect_reply, open_packet};

const PATH: &str = "/socket.io/";
const MAX_BODY: usize = 1 << 20;
const SEPARATOR: char = '\x1e';

struct Slot {
    n: u64,
    queue: Mutex<String>,
    ready: Notify,
}

#[derive(Default)]
struct State {
    sessions: Mutex<HashMap<String, Arc<Slot>>>,
    next: AtomicU64,
}

pub async fn serve() -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    announce(listener.local_addr()?)?;
    let state: Arc<State> = Arc::default();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::task::yield_now().await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&state), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != PATH {
        return Ok(reply(StatusCode::NOT_FOUND, String::new()));
    }
    let sid = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("sid="))
        .map(str::to_owned);
    Ok(match (request.method().clone(), sid) {
        (Method::GET, None) => open(&state),
        (Method::POST, Some(sid)) => match slot(&state, &sid) {
            Some(slot) => post(&state, &sid, &slot, request).await,
            None => reply(StatusCode::BAD_REQUEST, String::new()),
        },
        (Method::GET, Some(sid)) => match slot(&state, &sid) {
            Some(slot) => reply(StatusCode::OK, poll(&slot).await),
            None => reply(StatusCode::BAD_REQUEST, String::new()),
        },
        _ => reply(StatusCode::BAD_REQUEST, String::new()),
    })
}

fn open(state: &State) -> Response<Full<Bytes>> {
    let n = state.next.fetch_add(1, Ordering::Relaxed) + 1;
    let open = open_packet(n, r#"["websocket"]"#);
    let slot = Slot {
        n,
        queue: Mutex::default(),
        ready: Notify::new(),
    };
    let sid = super::session_id(n);
    lock(&state.sessions).insert(sid, Arc::new(slot));
    reply(StatusCode::OK, open)
}

fn slot(state: &State, sid: &str) -> Option<Arc<Slot>> {
    lock(&state.sessions).get(sid).cloned()
}

async fn post(
    state: &State,
    sid: &str,
    slot: &Slot,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Ok(body) = Limited::new(request.into_body(), MAX_BODY).collect().await else {
        return reply(StatusCode::PAYLOAD_TOO_LARGE, String::new());
    };
    let body = body.to_bytes();
    let Ok(payload) = std::str::from_utf8(&body) else {
        return reply(StatusCode::BAD_REQUEST, String::new());
    };
    let mut queue = lock(&slot.queue);
    for packet in payload.split(SEPARATOR) {
        let out = match packet.as_bytes() {
            [b'4', b'2', ..] => packet,
            [b'4', b'0', ..] => &connect_reply(slot.n),
            [b'1'] | [b'4', b'1', ..] => {
                lock(&state.sessions).remove(sid);
                continue;
            }
            _ => continue,
        };
        if !queue.is_empty() {
            queue.push(SEPARATOR);
        }
        queue.push_str(out);
    }
    drop(queue);
    slot.ready.notify_one();
    let mut ok = reply(StatusCode::OK, "ok".to_owned());
    ok.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html"),
    );
    ok
}

/// The queued packets, waiting for some up to the ping interval; a ping
/// then.
async fn poll(slot: &Slot) -> String {
    let deadline = tokio::time::sleep(PING_INTERVAL);
    tokio::pin!(deadline);
    loop {
        let queued = std::mem::take(&mut *lock(&slot.queue));
        if !queued.is_empty() {
            return queued;
        }
        tokio::select! {
            () = slot.ready.notified() => {}
            () = &mut deadline => return "2".to_owned(),
        }
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
