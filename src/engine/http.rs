//! The Engine.IO requests: handshakes, polling GETs and POSTs (XHR and
//! JSONP), WebSocket handshakes and upgrades, answered as node answers them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::conn::{Carrier, Claim, ClaimError, PollAnswer, control, text};
use super::task::Task;
use super::{Conn, Inbound, Registry, Upper, new_sid, upgrade};
use crate::connection::Handshake;
use crate::context::{self, ServerContext};
use crate::protocol::engine::{self, BinaryMode, Outgoing, Payload, Version};
use crate::query::EngineQuery;
use crate::settings::Settings;
use crate::{DisconnectReason, Transport};

/// Polling POSTs a session's task may lag behind.
const INBOX_DEPTH: usize = 8;
/// How long a client may take to send a POST body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a GET that arrives during a probe waits before its noop, so
/// that an upgrade completing meanwhile answers it `400` as node does.
const PROBE_POLL_DELAY: Duration = Duration::from_millis(100);

/// An Engine.IO error answer: `400 {"code":N,"message":M}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EngineError {
    UnknownTransport,
    UnknownSid,
    BadHandshakeMethod,
    BadRequest,
    Forbidden,
    UnsupportedProtocol,
    TooLarge,
    Overloaded,
}

impl EngineError {
    fn code_and_message(self) -> (u8, &'static str) {
        match self {
            EngineError::UnknownTransport => (0, "Transport unknown"),
            EngineError::UnknownSid => (1, "Session ID unknown"),
            EngineError::BadHandshakeMethod => (2, "Bad handshake method"),
            EngineError::BadRequest => (3, "Bad request"),
            EngineError::Forbidden => (4, "Forbidden"),
            EngineError::UnsupportedProtocol => (5, "Unsupported protocol version"),
            EngineError::TooLarge => (3, "Payload too large"),
            EngineError::Overloaded => (3, "Too many sessions"),
        }
    }

    fn status(self) -> StatusCode {
        match self {
            EngineError::Forbidden => StatusCode::FORBIDDEN,
            EngineError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EngineError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON answer node gives.
    pub(crate) fn response(self, message: Option<&str>) -> Response<Body> {
        let (code, default) = self.code_and_message();
        let body = serde_json::json!({"code": code, "message": message.unwrap_or(default)});
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// What serves the Engine.IO requests of one router, free of the type of
/// the layer above.
pub(crate) trait EngineService: Send + Sync + 'static {
    fn serve(self: Arc<Self>, request: Request<Body>) -> BoxFuture<'static, Response<Body>>;
    fn registry(&self) -> &Registry;
}

/// Makes the layer above for each new session.
pub(crate) trait StartUpper: Send + Sync + 'static {
    type Upper: Upper;
    fn make(&self) -> Self::Upper;
}

/// The Engine.IO side of a router.
pub(crate) struct EngineCore<F> {
    pub(crate) settings: Arc<Settings>,
    pub(crate) registry: Registry,
    pub(crate) factory: F,
}

impl<F: StartUpper> EngineService for EngineCore<F> {
    fn serve(self: Arc<Self>, request: Request<Body>) -> BoxFuture<'static, Response<Body>> {
        Box::pin(serve(&self, request))
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Answers one Engine.IO request. What can be answered from the head is,
/// before the future is made: it then holds only what the wait needs
/// (hyper moves a request's future several times; every byte of it is
/// copied each time).
pub(crate) fn serve<F: StartUpper>(
    core: &Arc<EngineCore<F>>,
    request: Request<Body>,
) -> impl Future<Output = Response<Body>> + Send + use<F> {
    // The URI's bytes are shared, not copied: the query borrows from them
    // while the request moves on.
    let uri = request.uri().clone();
    let query = EngineQuery::parse(uri.query().unwrap_or(""));
    let wait = route(core, request, &query);
    async move {
        let answer = match wait {
            Wait::Ready(answer) => answer,
            Wait::Poll(conn, jsonp) => poll(conn, jsonp).await,
            Wait::Post(post) => post.run().await,
            Wait::Handshake(handshake) => handshake.await,
        };
        match answer {
            Ok(response) => response,
            Err((error, message)) => {
                tracing::debug!(?error, ?message, "engine.io request refused");
                error.response(message.as_deref())
            }
        }
    }
}

type Answer = Result<Response<Body>, (EngineError, Option<String>)>;

fn fail(error: EngineError) -> Answer {
    Err((error, None))
}

/// What is left of a request once its head is read.
enum Wait {
    Ready(Answer),
    /// A polling GET, waiting for output; its JSONP index.
    Poll(Arc<Conn>, Option<u32>),
    /// A polling POST, its body to read.
    Post(Post),
    /// Boxed: a handshake's state (the layer above opening) is large and
    /// rare.
    Handshake(BoxFuture<'static, Answer>),
}

impl From<Answer> for Wait {
    fn from(answer: Answer) -> Wait {
        Wait::Ready(answer)
    }
}

fn route<F: StartUpper>(
    core: &Arc<EngineCore<F>>,
    request: Request<Body>,
    query: &EngineQuery<'_>,
) -> Wait {
    let settings = &core.settings;
    let transport = match query.transport.as_deref() {
        Some("polling") if settings.engine_transport_enabled(Transport::Polling) => {
            Transport::Polling
        }
        Some("websocket") if settings.engine_transport_enabled(Transport::WebSocket) => {
            Transport::WebSocket
        }
        _ => return fail(EngineError::UnknownTransport).into(),
    };
    if let Some(sid) = &query.sid {
        let Some(conn) = core.registry.get(sid) else {
            return fail(EngineError::UnknownSid).into();
        };
        return match (transport, request.method()) {
            (Transport::WebSocket, _) => upgrade(core, conn, request, query).into(),
            (_, &Method::GET) => match jsonp_index(query) {
                Ok(jsonp) => Wait::Poll(conn, jsonp),
                Err(refused) => Err(refused).into(),
            },
            (_, &Method::POST) => match Post::begin(core, conn, request, query) {
                Ok(post) => Wait::Post(post),
                Err(refused) => Err(refused).into(),
            },
            // A known session, a method polling has no use for.
            _ => fail(EngineError::BadRequest).into(),
        };
    }
    let version = match query.eio.as_deref().and_then(Version::from_query) {
        Some(Version::V3) if !settings.allow_eio3 => {
            return fail(EngineError::UnsupportedProtocol).into();
        }
        Some(version) => version,
        None => return fail(EngineError::UnsupportedProtocol).into(),
    };
    if request.method() != Method::GET {
        return fail(EngineError::BadHandshakeMethod).into();
    }
    let jsonp = match jsonp_index(query) {
        Ok(jsonp) => jsonp,
        Err(refused) => return Err(refused).into(),
    };
    let core = Arc::clone(core);
    let b64 = query.b64;
    Wait::Handshake(Box::pin(async move {
        handshake(&core, request, jsonp, b64, version, transport).await
    }))
}

/// Opens a session: polling GET or WebSocket.
async fn handshake<F: StartUpper>(
    core: &EngineCore<F>,
    request: Request<Body>,
    jsonp: Option<u32>,
    b64: bool,
    version: Version,
    transport: Transport,
) -> Answer {
    let settings = &core.settings;
    let ws_key = if transport == Transport::WebSocket {
        Some(
            crate::ws::handshake_key(request.headers())
                .map_err(|_| (EngineError::BadRequest, None))?,
        )
    } else {
        None
    };
    let (mut parts, _) = request.into_parts();
    let mode = match transport {
        Transport::WebSocket if !b64 => BinaryMode::Native,
        Transport::WebSocket => BinaryMode::Base64,
        // A v3 polling client takes binary payloads unless it asked for
        // base64 or polls by JSONP; v4 polling is always base64.
        _ if version == Version::V3 && !b64 && jsonp.is_none() => BinaryMode::Native,
        _ => BinaryMode::Base64,
    };
    let context = context::of(&parts);
    // A WebSocket session reads its client itself: no inbox to allocate.
    let (inbox, receiver) = match transport {
        Transport::WebSocket => (None, None),
        _ => {
            let (inbox, receiver) = mpsc::channel(INBOX_DEPTH);
            (Some(inbox), Some(receiver))
        }
    };
    let carrier = match transport {
        Transport::WebSocket => Carrier::WebSocket,
        _ => Carrier::Polling,
    };
    let conn = Arc::new(Conn::new(
        new_sid(),
        version,
        mode,
        carrier,
        settings.max_queued_bytes,
        inbox,
    ));
    let handshake = Arc::new(Handshake::new(&parts, transport));
    let mut upper = core.factory.make();
    let span = tracing::debug_span!("engine", sid = %conn.sid, %transport);
    if let Err(refused) = upper.open(&conn, &handshake).instrument(span.clone()).await {
        return Err((EngineError::Forbidden, refused.message().map(str::to_owned)));
    }
    if !core
        .registry
        .insert_below(Arc::clone(&conn), settings.max_sessions)
    {
        tracing::warn!(
            max = settings.max_sessions,
            "session limit reached; refusing a new session"
        );
        return fail(EngineError::Overloaded);
    }
    if let Some(context) = &context {
        core.registry.watch(context);
        // Listed before this check: a shutdown that began meanwhile either
        // found the session in the registry or is seen here.
        if context.shutdown.is_cancelled() {
            conn.close(DisconnectReason::ServerShuttingDown);
        }
    }
    let upgrades: &[&str] = match transport {
        Transport::Polling
            if settings.allow_upgrades
                && settings.engine_transport_enabled(Transport::WebSocket) =>
        {
            &["websocket"]
        }
        _ => &[],
    };
    let open = engine::open_packet(
        &conn.sid,
        upgrades,
        settings.ping_interval.as_millis(),
        settings.ping_timeout.as_millis(),
        settings.max_payload,
    );
    tracing::debug!(parent: &span, ?version, "session open");
    let task = Task::new(
        Arc::clone(&conn),
        Arc::clone(settings),
        core.registry.clone(),
        receiver,
    );
    match ws_key {
        None => {
            spawn(context.as_ref(), task.run(upper), span);
            let payload = engine::encode_payload(&[Outgoing::Text(open.as_str())], version, mode);
            Ok(poll_response(payload, jsonp))
        }
        Some(key) => {
            let upgrade = parts
                .extensions
                .remove::<hyper::upgrade::OnUpgrade>()
                .ok_or((EngineError::BadRequest, None))?;
            conn.push_control(text(open));
            let run = task.run_upgraded(upgrade, mode, upper);
            spawn(context.as_ref(), run, span);
            Ok(crate::ws::accept_response(&key))
        }
    }
}

/// Runs a session's task, in its span when someone listens: entering a
/// span on every poll is not free, and most servers log at `info`.
fn spawn<F>(context: Option<&ServerContext>, task: F, span: tracing::Span)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if span.is_disabled() {
        context::spawn(context, task);
    } else {
        context::spawn(context, task.instrument(span));
    }
}

/// A WebSocket for an existing polling session: the probe.
fn upgrade<F: StartUpper>(
    core: &EngineCore<F>,
    conn: Arc<Conn>,
    request: Request<Body>,
    query: &EngineQuery<'_>,
) -> Answer {
    let key =
        crate::ws::handshake_key(request.headers()).map_err(|_| (EngineError::BadRequest, None))?;
    if !core.settings.allow_upgrades {
        return fail(EngineError::BadRequest);
    }
    let (mut parts, _) = request.into_parts();
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        return fail(EngineError::BadRequest);
    };
    if !conn.begin_upgrade() {
        // A second WebSocket for a session upgrading or upgraded: node
        // completes its handshake, then closes it.
        tracing::warn!(session = %conn.sid, "second websocket for a session; closing it");
        context::spawn(context::of(&parts).as_ref(), async move {
            if let Some(mut ws) = crate::ws::accept(on_upgrade, 1024).await {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(1000)).await;
            }
        });
        return Ok(crate::ws::accept_response(&key));
    }
    let mode = if query.b64 {
        BinaryMode::Base64
    } else {
        BinaryMode::Native
    };
    let max = core.settings.max_payload;
    let timeout = core.settings.upgrade_timeout;
    let span = tracing::debug_span!("engine", sid = %conn.sid, transport = "websocket");
    let run = async move {
        match crate::ws::accept(on_upgrade, max).await {
            Some(ws) => upgrade::probe(conn, ws, mode, timeout).await,
            None => conn.abort_upgrade(),
        }
    };
    context::spawn(context::of(&parts).as_ref(), run.instrument(span));
    Ok(crate::ws::accept_response(&key))
}

/// Releases a polling claim when the request ends, however it ends. A GET
/// dropped while it waits (its client went away) closes the session, as
/// node closes it (`transport error`).
struct ClaimGuard {
    conn: Arc<Conn>,
    claim: Claim,
    done: bool,
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        self.conn.end(self.claim);
        if !self.done && self.claim == Claim::Get {
            tracing::debug!(session = %self.conn.sid, "poll aborted by its client");
            self.conn.close(DisconnectReason::TransportError);
        }
    }
}

/// A polling GET: waits for output and takes it all.
async fn poll(conn: Arc<Conn>, jsonp: Option<u32>) -> Answer {
    let claim = match conn.begin_get() {
        Ok(claim) => claim,
        Err(ClaimError::Upgraded) => return fail(EngineError::BadRequest),
        Err(ClaimError::Concurrent) => {
            tracing::warn!(session = %conn.sid, "second concurrent poll; closing the session");
            conn.close(DisconnectReason::TransportError);
            return fail(EngineError::BadRequest);
        }
        Err(ClaimError::Probing) => {
            let _ = Box::pin(tokio::time::timeout(PROBE_POLL_DELAY, async {
                while conn.carrier() == Carrier::Probing {
                    conn.changed().await;
                }
            }))
            .await;
            if conn.carrier() == Carrier::WebSocket {
                return fail(EngineError::BadRequest);
            }
            let noop = [control("6")];
            return Ok(poll_response(payload(&conn, &noop), jsonp));
        }
    };
    let mut guard = ClaimGuard {
        conn: Arc::clone(&conn),
        claim,
        done: false,
    };
    let answer = loop {
        if let Some(answer) = conn.poll_answer() {
            break answer;
        }
        conn.changed().await;
    };
    guard.done = true;
    let frames = match answer {
        PollAnswer::Frames(frames) => frames,
        PollAnswer::Noop => smallvec::smallvec![control("6")],
        PollAnswer::Closing(mut frames) => {
            if conn.close_reason() == DisconnectReason::TransportClose {
                // The client asked to close: its pending poll just ends.
                smallvec::smallvec![control("6")]
            } else {
                frames.push(control("1"));
                frames
            }
        }
    };
    Ok(poll_response(payload(&conn, &frames), jsonp))
}

fn payload(conn: &Conn, frames: &[super::conn::Frame]) -> Payload {
    engine::encode_payload(frames, conn.version, conn.binary_mode)
}

/// A polling POST, its session claimed: the client's packets, read, then
/// handed to the session's task.
struct Post {
    guard: ClaimGuard,
    body: Body,
    announced: Option<u64>,
    limit: usize,
    octets: bool,
    jsonp: bool,
}

impl Post {
    fn begin<F: StartUpper>(
        core: &EngineCore<F>,
        conn: Arc<Conn>,
        request: Request<Body>,
        query: &EngineQuery<'_>,
    ) -> Result<Post, (EngineError, Option<String>)> {
        let claim = match conn.begin_post() {
            Ok(claim) => claim,
            Err(ClaimError::Concurrent) => {
                tracing::warn!(session = %conn.sid, "second concurrent POST; closing the session");
                conn.close(DisconnectReason::TransportError);
                return Err((EngineError::BadRequest, None));
            }
            Err(_) => return Err((EngineError::BadRequest, None)),
        };
        let headers = request.headers();
        let octets = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/octet-stream"));
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        Ok(Post {
            guard: ClaimGuard {
                conn,
                claim,
                done: true,
            },
            body: request.into_body(),
            announced,
            limit: core.settings.max_payload,
            octets,
            jsonp: query.jsonp.is_some(),
        })
    }

    async fn run(self) -> Answer {
        let Post {
            guard,
            body,
            announced,
            limit,
            octets,
            jsonp,
        } = self;
        let conn = &guard.conn;
        let body = read_body(body, announced, limit).await?;
        let packets = match decode_post(conn, &body, octets, jsonp) {
            Ok(packets) => packets,
            Err(problem) => {
                tracing::warn!(session = %conn.sid, %problem, "malformed POST; closing the session");
                conn.close(DisconnectReason::ParseError);
                return fail(EngineError::BadRequest);
            }
        };
        let Some(inbox) = conn.inbox() else {
            return fail(EngineError::BadRequest);
        };
        if inbox.send(Inbound::Packets(packets)).await.is_err() {
            return fail(EngineError::UnknownSid);
        }
        let mut response = Response::new(Body::from("ok"));
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        no_store(&mut response);
        Ok(response)
    }
}

/// Reads a POST body of at most `limit` bytes: `413` past it (announced or
/// not), the session kept, as node keeps it.
async fn read_body(
    body: Body,
    announced: Option<u64>,
    limit: usize,
) -> Result<Bytes, (EngineError, Option<String>)> {
    if announced.is_some_and(|len| len > limit as u64) {
        return fail_body(EngineError::TooLarge);
    }
    let collect = Limited::new(body, limit).collect();
    tokio::pin!(collect);
    // A small body usually came with its headers: only one that has not
    // needs a clock (a timer armed per POST is not free).
    let collected = match futures_util::poll!(collect.as_mut()) {
        std::task::Poll::Ready(collected) => collected,
        // Boxed, as every rare wait here: a timer is large, and a request's
        // future is moved whole by hyper.
        std::task::Poll::Pending => Box::pin(tokio::time::timeout(BODY_TIMEOUT, collect))
            .await
            .map_err(|_| {
                (
                    EngineError::BadRequest,
                    Some("request body too slow".to_owned()),
                )
            })?,
    };
    match collected {
        Ok(body) => Ok(body.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => fail_body(EngineError::TooLarge),
        Err(_) => fail_body(EngineError::BadRequest),
    }
}

fn fail_body(error: EngineError) -> Result<Bytes, (EngineError, Option<String>)> {
    Err((error, None))
}

/// The packets of a POST body, by version and envelope.
fn decode_post(
    conn: &Conn,
    body: &[u8],
    octets: bool,
    jsonp: bool,
) -> Result<Vec<engine::Packet>, String> {
    if octets {
        return match conn.version {
            Version::V3 => engine::decode_payload_v3_binary(body).map_err(|e| e.to_string()),
            Version::V4 => Err("binary payloads are not Engine.IO v4".to_owned()),
        };
    }
    let text = std::str::from_utf8(body).map_err(|_| "payload is not UTF-8".to_owned())?;
    let unwrapped;
    let text = if jsonp {
        unwrapped = jsonp_data(text).ok_or("JSONP form without `d`")?;
        &unwrapped
    } else {
        text
    };
    match conn.version {
        Version::V4 => engine::decode_payload_v4(text),
        Version::V3 => engine::decode_payload_v3(text),
    }
    .map_err(|e| e.to_string())
}

/// The `d` field of a JSONP form POST, with the client's line-break
/// escaping undone: `\n` (backslash, n) was a line feed, `\\n` a literal
/// backslash-n.
fn jsonp_data(form: &str) -> Option<String> {
    let data = form.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == "d").then(|| crate::query::decode(value))
    })?;
    let mut out = String::with_capacity(data.len());
    let mut rest = data.as_str();
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("\\\\n") {
            out.push_str("\\n");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("\\n") {
            out.push('\n');
            rest = after;
        } else {
            out.push('\\');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Some(out)
}

/// The JSONP callback index: digits only (node drops the rest; we refuse
/// an index with nothing left, which no client sends).
fn jsonp_index(query: &EngineQuery<'_>) -> Result<Option<u32>, (EngineError, Option<String>)> {
    let Some(raw) = &query.jsonp else {
        return Ok(None);
    };
    let digits: String = raw.chars().filter(char::is_ascii_digit).take(9).collect();
    digits.parse().map(Some).map_err(|_| {
        (
            EngineError::BadRequest,
            Some("the JSONP index must be digits".to_owned()),
        )
    })
}

/// A polling GET's answer.
fn poll_response(payload: Payload, jsonp: Option<u32>) -> Response<Body> {
    let mut response = match (payload, jsonp) {
        (Payload::Text(text), Some(index)) => {
            let script = format!("___eio[{index}]({});", crate::js::string_literal(&text));
            with_type(Body::from(script), "text/javascript; charset=UTF-8")
        }
        (Payload::Text(text), None) => with_type(Body::from(text), "text/plain; charset=UTF-8"),
        (Payload::Binary(bytes), _) => with_type(Body::from(bytes), "application/octet-stream"),
    };
    no_store(&mut response);
    response
}

fn with_type(body: Body, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn no_store(response: &mut Response<Body>) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoes_jsonp_line_break_escaping() {
        assert_eq!(jsonp_data("d=4a%5Cnb").as_deref(), Some("4a\nb"));
        assert_eq!(jsonp_data("d=4a%5C%5Cnb").as_deref(), Some("4a\\nb"));
        assert_eq!(jsonp_data("d=4a%5Cxb").as_deref(), Some("4a\\xb"));
        assert_eq!(jsonp_data("x=1&d=6%3A4hello").as_deref(), Some("6:4hello"));
        assert_eq!(jsonp_data("x=1"), None);
    }

    #[test]
    fn jsonp_indexes_are_digits() {
        let with = |j: &'static str| EngineQuery {
            jsonp: Some(j.into()),
            ..EngineQuery::default()
        };
        assert_eq!(jsonp_index(&with("3")).unwrap(), Some(3));
        assert_eq!(jsonp_index(&with("0x1")).unwrap(), Some(1));
        assert_eq!(jsonp_index(&with("alert(1)")).unwrap(), Some(1));
        assert!(jsonp_index(&with("abc")).is_err());
        assert_eq!(jsonp_index(&EngineQuery::default()).unwrap(), None);
    }

    #[test]
    fn errors_are_node_json() {
        let response = EngineError::UnknownSid.response(None);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = EngineError::Forbidden.response(Some("nope"));
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
}
