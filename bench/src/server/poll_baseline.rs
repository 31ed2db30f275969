//! The long-poll baseline: a bare hyper HTTP/1.1 server answering the same
//! requests as tornadio's xhr-polling transport (open, POST a message, GET
//! it back) with no Socket.IO logic: the POSTed payload is queued as-is and
//! the next GET takes the queue.

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

use super::{announce, session_id};

const PREFIX: &str = "/socket.io/xhr-polling/";
const POLL_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_BODY: usize = 1 << 20;

#[derive(Default)]
struct Slot {
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
    let path = request.uri().path();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(reply(StatusCode::NOT_FOUND, String::new()));
    };
    let (sid, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (sid, tail) = (sid.to_owned(), tail.to_owned());
    Ok(match (request.method().clone(), sid.is_empty()) {
        (Method::GET, true) => open(&state),
        (Method::POST, false) if tail == "send" => match slot(&state, &sid) {
            Some(slot) => post(&slot, request).await,
            None => reply(StatusCode::NOT_FOUND, String::new()),
        },
        (Method::GET, false) => match slot(&state, &sid) {
            Some(slot) => reply(StatusCode::OK, poll(&slot).await),
            None => reply(StatusCode::NOT_FOUND, String::new()),
        },
        _ => reply(StatusCode::METHOD_NOT_ALLOWED, String::new()),
    })
}

fn open(state: &State) -> Response<Full<Bytes>> {
    let id = session_id(state.next.fetch_add(1, Ordering::Relaxed) + 1);
    lock(&state.sessions).insert(id.clone(), Arc::default());
    reply(StatusCode::OK, codec::encode(&id))
}

fn slot(state: &State, sid: &str) -> Option<Arc<Slot>> {
    lock(&state.sessions).get(sid).cloned()
}

async fn post(slot: &Slot, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let Ok(body) = Limited::new(request.into_body(), MAX_BODY).collect().await else {
        return reply(StatusCode::PAYLOAD_TOO_LARGE, String::new());
    };
    let body = body.to_bytes();
    let data = body
        .split(|&b| b == b'&')
        .find_map(|field| field.strip_prefix(b"data="))
        .and_then(form_decode);
    let Some(data) = data else {
        return reply(StatusCode::BAD_REQUEST, String::new());
    };
    lock(&slot.queue).push_str(&data);
    slot.ready.notify_one();
    reply(StatusCode::OK, "ok".to_owned())
}

async fn poll(slot: &Slot) -> String {
    let deadline = tokio::time::sleep(POLL_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let queued = std::mem::take(&mut *lock(&slot.queue));
        if !queued.is_empty() {
            return queued;
        }
        tokio::select! {
            () = slot.ready.notified() => {}
            () = &mut deadline => return String::new(),
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
