//! The socket layer's side of the adapter seam: a namespace's local
//! operations ([`LocalOps`]), sockets described as node describes them,
//! and [`RemoteSocket`], a socket that may live on another server.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use futures_util::stream::{self, FuturesUnordered};
use serde::Serialize;
use serde_json::{Map, Value};

use super::encode::{Body, Encoded};
use super::namespace::Namespace;
use super::{AckFuture, BroadcastOperator, Socket};
use crate::adapter::{
    AckEvent, BroadcastAcks, BroadcastOptions, LocalOps, Packet, PacketBody, ServerEvent,
    SocketInfo,
};
use crate::error::SendError;

impl From<Packet> for Body {
    fn from(packet: Packet) -> Body {
        match packet.body {
            PacketBody::Event { name, args } => Body::Event { name, args },
            PacketBody::Message(message) => Body::Message(message),
        }
    }
}

impl LocalOps for Namespace {
    fn name(&self) -> &str {
        &self.name
    }

    fn broadcast(&self, packet: Packet, opts: &BroadcastOptions) {
        let body = Body::from(packet);
        let encoded = Encoded::new(&self.name, &body, None);
        for socket in self.select(opts) {
            let _ = socket.deliver(&encoded);
        }
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> BroadcastAcks {
        let body = Body::from(packet);
        let id = self.next_ack_id();
        let encoded = Encoded::new(&self.name, &body, Some(id));
        let waiting = FuturesUnordered::new();
        for socket in self.select(opts) {
            if !socket.protocol().has_events() {
                continue;
            }
            let receiver = socket.expect_ack(id);
            match socket.deliver(&encoded) {
                Ok(()) => waiting.push(AckFuture::waiting(&socket, id, receiver, timeout)),
                Err(_) => socket.forget_ack(id),
            }
        }
        let reached = stream::once(std::future::ready(AckEvent::Reached(waiting.len())));
        let answers =
            waiting.filter_map(|answer| std::future::ready(answer.ok().map(AckEvent::Answer)));
        BroadcastAcks::from_stream(reached.chain(answers))
    }

    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        self.select(opts)
            .iter()
            .map(|socket| {
                SocketInfo::new(
                    socket.id(),
                    socket.rooms(),
                    handshake_json(socket),
                    Value::Object(Map::new()),
                )
            })
            .collect()
    }

    fn socket_ids(&self, opts: &BroadcastOptions) -> Vec<String> {
        self.select(opts)
            .iter()
            .map(|s| s.id().to_owned())
            .collect()
    }

    fn rooms(&self) -> Vec<String> {
        self.all_rooms()
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        for socket in self.select(opts) {
            self.join(socket.id(), rooms);
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        for socket in self.select(opts) {
            for room in rooms {
                self.leave(socket.id(), room);
            }
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for socket in self.select(opts) {
            if close {
                socket.close();
            } else {
                socket.disconnect();
            }
        }
    }

    fn server_event(&self, event: ServerEvent) -> bool {
        let Some(handler) = &self.server_events else {
            tracing::debug!(nsp = %self.name, event = event.name(), "server-side event without a handler dropped");
            return false;
        };
        // The handler runs in the adapter's task: a panic must not end it.
        if std::panic::catch_unwind(AssertUnwindSafe(|| handler(event))).is_err() {
            tracing::error!(nsp = %self.name, "server-side event handler panicked");
        }
        true
    }
}

/// A socket's handshake as node's `socket.handshake` gives it, which node
/// servers expect in the answers to their `fetchSockets()`.
pub(crate) fn handshake_json(socket: &Socket) -> Value {
    let handshake = &socket.inner.handshake;
    let mut headers = Map::new();
    for name in handshake.headers.keys() {
        let values: Vec<&str> = handshake
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.insert(name.as_str().to_owned(), Value::from(values.join(", ")));
    }
    let xdomain = handshake.headers.contains_key(http::header::ORIGIN);
    let mut query = Map::new();
    for pair in handshake.uri.query().unwrap_or("").split('&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        query.insert(
            crate::query::decode(key),
            Value::from(crate::query::decode(value)),
        );
    }
    let issued = handshake
        .issued
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let url = handshake
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    serde_json::json!({
        "headers": headers,
        "time": js_date_string(handshake.issued),
        "address": handshake.peer_addr.map(|a| a.ip().to_string()).unwrap_or_default(),
        "xdomain": xdomain,
        "secure": false,
        "issued": issued,
        "url": url,
        "query": query,
        "auth": socket.auth().cloned().unwrap_or_else(|| Value::Object(Map::new())),
    })
}

/// JavaScript's `new Date(t).toString()` in UTC, e.g.
/// `Thu Nov 26 2026 06:51:03 GMT+0000 (Coordinated Universal Time)`.
pub(crate) fn js_date_string(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let (year, month, day) = civil_from_days(days);
    let of_day = secs % 86_400;
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        year,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Year, month (1–12) and day (1–31) of a day counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for days after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A socket found by [`BroadcastOperator::fetch_sockets`]: on this server
/// or another. What it tells comes from when it was fetched; what it does
/// goes through the cluster, as node's `RemoteSocket`.
#[derive(Clone)]
pub struct RemoteSocket {
    info: SocketInfo,
    operator: BroadcastOperator,
    local: Option<Socket>,
}

impl fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("id", &self.info.id)
            .field("rooms", &self.info.rooms)
            .field("local", &self.local.is_some())
            .finish()
    }
}

impl RemoteSocket {
    pub(crate) fn new(ns: &Arc<Namespace>, info: SocketInfo) -> RemoteSocket {
        let local = ns.get(&info.id);
        let mut operator = BroadcastOperator::new(Arc::clone(ns)).to(info.id.clone());
        if local.is_some() {
            // Connected here: nothing to tell the other servers.
            operator = operator.local();
        }
        RemoteSocket {
            info,
            operator,
            local,
        }
    }

    /// The socket's id.
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// The rooms it was in, its id-room included.
    pub fn rooms(&self) -> &[String] {
        &self.info.rooms
    }

    /// Its handshake, as node gives it (`headers`, `address`, `query`,
    /// `auth`, `issued`...).
    pub fn handshake(&self) -> &Value {
        &self.info.handshake
    }

    /// The application's data of the socket (node's `socket.data`).
    pub fn data(&self) -> &Value {
        &self.info.data
    }

    /// The socket, when it is connected to this server.
    pub fn local(&self) -> Option<&Socket> {
        self.local.as_ref()
    }

    /// What was fetched.
    pub fn info(&self) -> &SocketInfo {
        &self.info
    }

    /// Emits an event to the socket, wherever it is.
    ///
    /// # Errors
    /// [`SendError::Json`] when `data` cannot be serialised.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), SendError> {
        self.operator.emit(event, data)
    }

    /// Makes the socket join `room`, wherever it is.
    pub fn join(&self, room: impl Into<String>) {
        self.operator.sockets_join(room);
    }

    /// Makes the socket leave `room`, wherever it is.
    pub fn leave(&self, room: &str) {
        self.operator.sockets_leave(room);
    }

    /// Disconnects the socket from its namespace, wherever it is.
    pub fn disconnect(&self) {
        self.operator.disconnect_sockets();
    }

    /// Closes the socket's whole client connection, wherever it is.
    pub fn close(&self) {
        self.operator.close_sockets();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_javascript_writes_them() {
        let at = |secs| js_date_string(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(
            at(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        // 2024-02-29T23:59:59Z, a Thursday in a leap year.
        assert_eq!(
            at(1_709_251_199),
            "Thu Feb 29 2024 23:59:59 GMT+0000 (Coordinated Universal Time)"
        );
        // 2026-11-26T06:51:03Z.
        assert_eq!(
            at(1_795_675_863),
            "Thu Nov 26 2026 06:51:03 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
