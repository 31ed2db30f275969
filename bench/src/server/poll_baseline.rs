//! The long-poll baseline: a bare hyper HTTP/1.1 server answering the same
//! requests as tornadio's xhr-polling transport (open, POST a message, GET
//! it back) with no Socket.IO logic: the POSTed payload is queued as-is and
//! the next GET takes the queue.
//!
//! 0.6 opens a session with its first GET (`/socket.io/xhr-polling//{ts}`,
//! answered with the framed session id) and POSTs a form field `data`.
//! Protocol 1 shakes hands first (`GET /socket.io/1/?t=…`, answered
//! `sid:60:60:xhr-polling`), greets the first poll with `1::` and POSTs
//! the payload as the body. Its packets are not self-delimiting: a poll
//! taking one answers it bare, several framed `\u{fffd}LEN\u{fffd}packet`
//! (the bench's clients POST one packet at a time).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tornadio_bench::client::form_decode;
use tornadio_bench::codec;

use super::{Protocol, announce, session_id};

const PREFIX: &str = "/socket.io/xhr-polling/";
const PROTO1_HANDSHAKE: &str = "/socket.io/1/";
const PROTO1_PREFIX: &str = "/socket.io/1/xhr-polling/";
const POLL_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_BODY: usize = 1 << 20;

#[derive(Default)]
struct Slot {
    /// What the next poll takes: 0.6 frames, or protocol-1 packets.
    queue: Mutex<Vec<String>>,
    ready: Notify,
}

struct State {
    protocol: Protocol,
    sessions: Mutex<HashMap<String, Arc<Slot>>>,
    next: AtomicU64,
}

pub async fn serve(protocol: Protocol) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    announce(listener.local_addr()?)?;
    let state = Arc::new(State {
        protocol,
        sessions: Mutex::default(),
        next: AtomicU64::new(0),
    });
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
    let path = request.uri().path();
    let proto1 = state.protocol == Protocol::Proto1;
    if proto1 && path == PROTO1_HANDSHAKE && request.method() == Method::GET {
        return Ok(open(&state));
    }
    let prefix = if proto1 { PROTO1_PREFIX } else { PREFIX };
    let Some(rest) = path.strip_prefix(prefix) else {
        return Ok(reply(StatusCode::NOT_FOUND, String::new()));
    };
    let (sid, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (sid, tail) = (sid.to_owned(), tail.to_owned());
    let sends = if proto1 {
        tail.is_empty()
    } else {
        tail == "send"
    };
    Ok(match (request.method().clone(), sid.is_empty()) {
        (Method::GET, true) if !proto1 => open(&state),
        (Method::POST, false) if sends => match slot(&state, &sid) {
            Some(slot) => post(state.protocol, &slot, request).await,
            None => reply(StatusCode::NOT_FOUND, String::new()),
        },
        (Method::GET, false) => match slot(&state, &sid) {
            Some(slot) => reply(StatusCode::OK, poll(state.protocol, &slot).await),
            None => reply(StatusCode::NOT_FOUND, String::new()),
        },
        _ => reply(StatusCode::METHOD_NOT_ALLOWED, String::new()),
    })
}

/// A new session: 0.6's framed id, or protocol 1's handshake answer (its
/// first poll then takes `1::`).
fn open(state: &State) -> Response<Full<Bytes>> {
    let id = session_id(state.next.fetch_add(1, Ordering::Relaxed) + 1);
    let slot = Slot::default();
    let answer = match state.protocol {
        Protocol::Proto1 => {
            lock(&slot.queue).push("1::".to_owned());
            format!("{id}:60:60:xhr-polling")
        }
        _ => codec::encode(&id),
    };
    lock(&state.sessions).insert(id, Arc::new(slot));
    reply(StatusCode::OK, answer)
}

fn slot(state: &State, sid: &str) -> Option<Arc<Slot>> {
    lock(&state.sessions).get(sid).cloned()
}

async fn post(
    protocol: Protocol,
    slot: &Slot,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Ok(body) = Limited::new(request.into_body(), MAX_BODY).collect().await else {
        return reply(StatusCode::PAYLOAD_TOO_LARGE, String::new());
    };
    let body = body.to_bytes();
    let (data, answer) = match protocol {
        Protocol::Proto1 => (String::from_utf8(body.to_vec()).ok(), "1"),
        _ => (
            body.split(|&b| b == b'&')
                .find_map(|field| field.strip_prefix(b"data="))
                .and_then(form_decode),
            "ok",
        ),
    };
    let Some(data) = data else {
        return reply(StatusCode::BAD_REQUEST, String::new());
    };
    lock(&slot.queue).push(data);
    slot.ready.notify_one();
    reply(StatusCode::OK, answer.to_owned())
}

async fn poll(protocol: Protocol, slot: &Slot) -> String {
    let deadline = tokio::time::sleep(POLL_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let queued = std::mem::take(&mut *lock(&slot.queue));
        match queued.len() {
            0 => {}
            1 => return queued.into_iter().collect(),
            _ if protocol == Protocol::Proto1 => return frame(&queued),
            _ => return queued.concat(),
        }
        tokio::select! {
            () = slot.ready.notified() => {}
            () = &mut deadline => {
                return if protocol == Protocol::Proto1 { "8::".to_owned() } else { String::new() };
            }
        }
    }
}

/// Protocol 1's batch: each packet as `\u{fffd}LEN\u{fffd}packet`, LEN in
/// UTF-16 code units.
fn frame(packets: &[String]) -> String {
    packets
        .iter()
        .map(|p| format!("\u{fffd}{}\u{fffd}{p}", p.encode_utf16().count()))
        .collect()
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
