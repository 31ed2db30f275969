//! The wire of node's `@socket.io/redis-adapter` 8 and
//! `@socket.io/redis-emitter` 5: channel names, broadcasts (msgpack),
//! requests and responses (JSON, or msgpack for acknowledged broadcasts).
//! Pure: bytes in, values out; no IO, no clocks.

use std::time::Duration;

use bytes::Bytes;
use rmpv::Value as Pack;
use serde_json::{Map, Value, json};
use tornadio::Args;
use tornadio::adapter::{BroadcastOptions, Packet, SocketInfo};

use crate::value::{to_json, to_pack, to_plain_json};

/// Request types, as numbered by the node adapter.
pub(crate) mod kind {
    pub(crate) const SOCKETS: u64 = 0;
    pub(crate) const ALL_ROOMS: u64 = 1;
    pub(crate) const REMOTE_JOIN: u64 = 2;
    pub(crate) const REMOTE_LEAVE: u64 = 3;
    pub(crate) const REMOTE_DISCONNECT: u64 = 4;
    pub(crate) const REMOTE_FETCH: u64 = 5;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 6;
    pub(crate) const BROADCAST: u64 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub(crate) const BROADCAST_ACK: u64 = 9;
}

/// Socket.IO's EVENT packet type; BINARY_EVENT is accepted too.
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

/// A message that is not what the node adapter sends.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid msgpack: {0}")]
    Msgpack(String),
    #[error("unexpected shape: {0}")]
    Shape(&'static str),
}

/// The channel names of one key prefix (`socket.io` by default).
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    prefix: String,
}

/// What a channel carries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Channel<'a> {
    /// Requests to the servers of a namespace.
    Request(&'a str),
    /// Responses to a server's requests.
    Response,
    /// Something else.
    Other,
}

impl Channels {
    pub(crate) fn new(prefix: &str) -> Channels {
        Channels {
            prefix: prefix.to_owned(),
        }
    }

    /// `prefix#nsp#`: broadcasts to the namespace.
    pub(crate) fn broadcast(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.prefix)
    }

    /// Where a broadcast goes: the room's channel when it names exactly
    /// one room, as node publishes.
    pub(crate) fn broadcast_to(&self, nsp: &str, opts: &BroadcastOptions) -> String {
        match opts.rooms.as_slice() {
            [room] => format!("{}#{nsp}#{room}#", self.prefix),
            _ => self.broadcast(nsp),
        }
    }

    /// The pattern that takes every broadcast channel of a namespace, its
    /// glob characters escaped.
    pub(crate) fn broadcast_pattern(&self, nsp: &str) -> String {
        let mut pattern = String::new();
        for c in self.broadcast(nsp).chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        pattern
    }

    /// `prefix-request#nsp#`: requests; its subscriber count is the number
    /// of servers.
    pub(crate) fn request(&self, nsp: &str) -> String {
        format!("{}-request#{nsp}#", self.prefix)
    }

    /// `prefix-response#nsp#`: responses, where node's servers answer.
    pub(crate) fn response(&self, nsp: &str) -> String {
        format!("{}-response#{nsp}#", self.prefix)
    }

    /// `prefix-response#nsp#uid#`: responses for one server only.
    pub(crate) fn response_for(&self, nsp: &str, uid: &str) -> String {
        format!("{}-response#{nsp}#{uid}#", self.prefix)
    }

    /// What a subscribed channel carries.
    pub(crate) fn classify<'a>(&self, channel: &'a str) -> Channel<'a> {
        let Some(rest) = channel.strip_prefix(self.prefix.as_str()) else {
            return Channel::Other;
        };
        if let Some(nsp) = rest
            .strip_prefix("-request#")
            .and_then(|r| r.strip_suffix('#'))
        {
            return Channel::Request(nsp);
        }
        if rest.starts_with("-response#") {
            return Channel::Response;
        }
        Channel::Other
    }
}

// --- reading ---------------------------------------------------------------

/// Any message as JSON with its attachments: `{` first means JSON, else
/// msgpack (whose `bin` values become placeholders).
fn decode_any(bytes: &[u8]) -> Result<(Value, Vec<Bytes>), WireError> {
    if bytes.first() == Some(&b'{') {
        return Ok((serde_json::from_slice(bytes)?, Vec::new()));
    }
    let pack =
        rmpv::decode::read_value(&mut &bytes[..]).map_err(|e| WireError::Msgpack(e.to_string()))?;
    let mut binary = Vec::new();
    let value = to_json(&pack, &mut binary);
    Ok((value, binary))
}

fn string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A list of room names; a missing list is empty.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(string).collect(),
        _ => Vec::new(),
    }
}

/// `{rooms, except}` (flags are read apart).
fn options(value: Option<&Value>) -> BroadcastOptions {
    BroadcastOptions::new()
        .rooms(strings(value.and_then(|v| v.get("rooms"))))
        .except(strings(value.and_then(|v| v.get("except"))))
}

/// A socket.io-parser packet object `{type, data: [event, ...args], nsp}`.
fn packet(value: &Value, binary: &[Bytes]) -> Result<(String, Packet), WireError> {
    let kind = value.get("type").and_then(Value::as_u64);
    if kind != Some(EVENT) && kind != Some(BINARY_EVENT) {
        return Err(WireError::Shape("packet is not an event"));
    }
    let nsp = value
        .get("nsp")
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_owned();
    let Some(Value::Array(data)) = value.get("data") else {
        return Err(WireError::Shape("packet without data"));
    };
    let Some((Value::String(name), args)) = data.split_first() else {
        return Err(WireError::Shape("event without a name"));
    };
    Ok((
        nsp,
        Packet::event(
            name.clone(),
            Args::from_parts(args.to_vec(), binary.to_vec()),
        ),
    ))
}

/// A broadcast from another server or the emitter.
#[derive(Debug)]
pub(crate) struct Broadcast {
    pub(crate) uid: String,
    pub(crate) nsp: String,
    pub(crate) packet: Packet,
    pub(crate) opts: BroadcastOptions,
}

/// `[uid, packet, opts]`, msgpack.
pub(crate) fn decode_broadcast(bytes: &[u8]) -> Result<Broadcast, WireError> {
    let (value, binary) = decode_any(bytes)?;
    let Value::Array(parts) = value else {
        return Err(WireError::Shape("broadcast is not an array"));
    };
    let [uid, packet_value, opts, ..] = parts.as_slice() else {
        return Err(WireError::Shape("broadcast has fewer than 3 parts"));
    };
    let (nsp, packet) = packet(packet_value, &binary)?;
    Ok(Broadcast {
        uid: string(uid).unwrap_or_default(),
        nsp,
        packet,
        opts: options(Some(opts)),
    })
}

/// A request from another server (or the emitter, which sends no uid).
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) uid: Option<String>,
    pub(crate) kind: RequestKind,
}

#[derive(Debug)]
pub(crate) enum RequestKind {
    Sockets {
        request_id: String,
        opts: BroadcastOptions,
    },
    AllRooms {
        request_id: String,
    },
    Join {
        opts: BroadcastOptions,
        rooms: Vec<String>,
    },
    Leave {
        opts: BroadcastOptions,
        rooms: Vec<String>,
    },
    Disconnect {
        opts: BroadcastOptions,
        close: bool,
    },
    /// Old adapters' join, leave or disconnect of one socket by id,
    /// answered with `{requestId}` by the server that has it.
    OneSocket {
        request_id: String,
        kind: u64,
        sid: String,
        room: String,
        close: bool,
    },
    Fetch {
        request_id: String,
        opts: BroadcastOptions,
    },
    ServerSideEmit {
        request_id: Option<String>,
        packet: Packet,
    },
    Broadcast {
        request_id: String,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Option<Duration>,
    },
    Unknown(u64),
}

pub(crate) fn decode_request(bytes: &[u8]) -> Result<Request, WireError> {
    let (value, binary) = decode_any(bytes)?;
    let uid = value.get("uid").and_then(string);
    let request_id = value.get("requestId").and_then(string);
    let need_id = || {
        request_id
            .clone()
            .ok_or(WireError::Shape("request without requestId"))
    };
    let kind = value
        .get("type")
        .and_then(Value::as_u64)
        .ok_or(WireError::Shape("request without type"))?;
    let opts = value.get("opts");
    let kind = match kind {
        kind::SOCKETS => RequestKind::Sockets {
            request_id: need_id()?,
            opts: BroadcastOptions::new().rooms(strings(value.get("rooms"))),
        },
        kind::ALL_ROOMS => RequestKind::AllRooms {
            request_id: need_id()?,
        },
        kind::REMOTE_JOIN | kind::REMOTE_LEAVE | kind::REMOTE_DISCONNECT if opts.is_none() => {
            RequestKind::OneSocket {
                request_id: need_id()?,
                kind,
                sid: value.get("sid").and_then(string).unwrap_or_default(),
                room: value.get("room").and_then(string).unwrap_or_default(),
                close: value.get("close").and_then(Value::as_bool).unwrap_or(false),
            }
        }
        kind::REMOTE_JOIN => RequestKind::Join {
            opts: options(opts),
            rooms: strings(value.get("rooms")),
        },
        kind::REMOTE_LEAVE => RequestKind::Leave {
            opts: options(opts),
            rooms: strings(value.get("rooms")),
        },
        kind::REMOTE_DISCONNECT => RequestKind::Disconnect {
            opts: options(opts),
            close: value.get("close").and_then(Value::as_bool).unwrap_or(false),
        },
        kind::REMOTE_FETCH => RequestKind::Fetch {
            request_id: need_id()?,
            opts: options(opts),
        },
        kind::SERVER_SIDE_EMIT => {
            let Some(Value::Array(data)) = value.get("data") else {
                return Err(WireError::Shape("server-side emit without data"));
            };
            let Some((Value::String(name), args)) = data.split_first() else {
                return Err(WireError::Shape("server-side emit without a name"));
            };
            RequestKind::ServerSideEmit {
                request_id,
                packet: Packet::event(name.clone(), Args::from_parts(args.to_vec(), binary)),
            }
        }
        kind::BROADCAST => {
            let (_, packet) = packet(value.get("packet").unwrap_or(&Value::Null), &binary)?;
            let timeout = opts
                .and_then(|o| o.get("flags"))
                .and_then(|f| f.get("timeout"))
                .and_then(Value::as_u64)
                .map(Duration::from_millis);
            RequestKind::Broadcast {
                request_id: need_id()?,
                packet,
                opts: options(opts),
                timeout,
            }
        }
        other => RequestKind::Unknown(other),
    };
    Ok(Request { uid, kind })
}

/// A response to one of this server's requests.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) request_id: String,
    pub(crate) kind: ResponseKind,
}

#[derive(Debug)]
pub(crate) enum ResponseKind {
    /// Fetched sockets (or, from old adapters, bare ids).
    Sockets(Vec<SocketInfo>),
    Rooms(Vec<String>),
    /// A server's answer to a server-side event.
    ServerAck(Value),
    /// How many clients a server sent an acknowledged broadcast to.
    ClientCount(usize),
    /// One client's acknowledgement (its first argument).
    ClientAck(Args),
    /// An answer without the expected list: it counts, with nothing in it.
    Bare,
}

pub(crate) fn decode_response(bytes: &[u8]) -> Result<Response, WireError> {
    let (value, binary) = decode_any(bytes)?;
    let request_id = value
        .get("requestId")
        .and_then(string)
        .ok_or(WireError::Shape("response without requestId"))?;
    let kind = match value.get("type").and_then(Value::as_u64) {
        Some(kind::SERVER_SIDE_EMIT) => {
            ResponseKind::ServerAck(value.get("data").cloned().unwrap_or(Value::Null))
        }
        Some(kind::BROADCAST_CLIENT_COUNT) => ResponseKind::ClientCount(
            value
                .get("clientCount")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0),
        ),
        Some(kind::BROADCAST_ACK) => {
            let values = match value.get("packet") {
                Some(arg) => vec![arg.clone()],
                None => Vec::new(),
            };
            ResponseKind::ClientAck(Args::from_parts(values, binary))
        }
        _ => match (value.get("sockets"), value.get("rooms")) {
            (Some(Value::Array(sockets)), _) => {
                ResponseKind::Sockets(sockets.iter().filter_map(socket_info).collect())
            }
            (_, Some(Value::Array(_))) => ResponseKind::Rooms(strings(value.get("rooms"))),
            _ => ResponseKind::Bare,
        },
    };
    Ok(Response { request_id, kind })
}

fn socket_info(value: &Value) -> Option<SocketInfo> {
    if let Some(id) = value.as_str() {
        return Some(SocketInfo::new(id, Vec::new(), Value::Null, Value::Null));
    }
    Some(SocketInfo::new(
        value.get("id").and_then(string)?,
        strings(value.get("rooms")),
        value.get("handshake").cloned().unwrap_or(Value::Null),
        value.get("data").cloned().unwrap_or(Value::Null),
    ))
}

// --- writing ---------------------------------------------------------------

fn pack_bytes(value: &Pack) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

fn json_bytes(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// The packet object node's servers read: `{type: 2, data, nsp}`.
fn packet_pack(nsp: &str, packet: &Packet) -> Pack {
    let args = packet.args();
    let mut data = Vec::with_capacity(1 + args.len());
    data.push(Pack::from(packet.name()));
    data.extend(args.values().iter().map(|v| to_pack(v, args.binary())));
    Pack::Map(vec![
        (Pack::from("type"), Pack::from(EVENT)),
        (Pack::from("data"), Pack::Array(data)),
        (Pack::from("nsp"), Pack::from(nsp)),
    ])
}

fn strings_pack(items: &[String]) -> Pack {
    Pack::Array(items.iter().map(|s| Pack::from(s.as_str())).collect())
}

fn options_pack(opts: &BroadcastOptions, flags: Vec<(Pack, Pack)>) -> Pack {
    Pack::Map(vec![
        (Pack::from("rooms"), strings_pack(&opts.rooms)),
        (Pack::from("except"), strings_pack(&opts.except)),
        (Pack::from("flags"), Pack::Map(flags)),
    ])
}

fn options_json(opts: &BroadcastOptions) -> Value {
    json!({"rooms": opts.rooms, "except": opts.except})
}

/// `[uid, packet, opts]`, as node's adapter publishes a broadcast.
pub(crate) fn broadcast(uid: &str, nsp: &str, packet: &Packet, opts: &BroadcastOptions) -> Vec<u8> {
    pack_bytes(&Pack::Array(vec![
        Pack::from(uid),
        packet_pack(nsp, packet),
        options_pack(opts, Vec::new()),
    ]))
}

/// An acknowledged broadcast (msgpack): every server answers with its
/// client count, then each client's acknowledgement.
pub(crate) fn broadcast_request(
    uid: &str,
    request_id: &str,
    nsp: &str,
    packet: &Packet,
    opts: &BroadcastOptions,
    timeout: Duration,
) -> Vec<u8> {
    let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    pack_bytes(&Pack::Map(vec![
        (Pack::from("uid"), Pack::from(uid)),
        (Pack::from("requestId"), Pack::from(request_id)),
        (Pack::from("type"), Pack::from(kind::BROADCAST)),
        (Pack::from("packet"), packet_pack(nsp, packet)),
        (
            Pack::from("opts"),
            options_pack(opts, vec![(Pack::from("timeout"), Pack::from(millis))]),
        ),
    ]))
}

pub(crate) fn fetch_request(uid: &str, request_id: &str, opts: &BroadcastOptions) -> Vec<u8> {
    json_bytes(&json!({
        "uid": uid, "requestId": request_id, "type": kind::REMOTE_FETCH, "opts": options_json(opts),
    }))
}

pub(crate) fn all_rooms_request(uid: &str, request_id: &str) -> Vec<u8> {
    json_bytes(&json!({"uid": uid, "requestId": request_id, "type": kind::ALL_ROOMS}))
}

/// REMOTE_JOIN or REMOTE_LEAVE of the selected sockets.
pub(crate) fn rooms_request(
    uid: &str,
    kind: u64,
    opts: &BroadcastOptions,
    rooms: &[String],
) -> Vec<u8> {
    json_bytes(&json!({"uid": uid, "type": kind, "opts": options_json(opts), "rooms": rooms}))
}

pub(crate) fn disconnect_request(uid: &str, opts: &BroadcastOptions, close: bool) -> Vec<u8> {
    json_bytes(&json!({
        "uid": uid, "type": kind::REMOTE_DISCONNECT, "opts": options_json(opts), "close": close,
    }))
}

/// A server-side event (JSON: binary arguments as node's Buffer JSON).
pub(crate) fn server_side_emit_request(
    uid: &str,
    request_id: Option<&str>,
    packet: &Packet,
) -> Vec<u8> {
    let args = packet.args();
    let mut data = vec![Value::from(packet.name())];
    data.extend(
        args.values()
            .iter()
            .map(|v| to_plain_json(v, args.binary())),
    );
    let mut request = Map::new();
    request.insert("uid".into(), Value::from(uid));
    if let Some(id) = request_id {
        request.insert("requestId".into(), Value::from(id));
    }
    request.insert("type".into(), Value::from(kind::SERVER_SIDE_EMIT));
    request.insert("data".into(), Value::Array(data));
    json_bytes(&Value::Object(request))
}

pub(crate) fn sockets_response(request_id: &str, sockets: &[SocketInfo]) -> Vec<u8> {
    let sockets: Vec<Value> = sockets
        .iter()
        .map(|s| json!({"id": s.id, "handshake": s.handshake, "rooms": s.rooms, "data": s.data}))
        .collect();
    json_bytes(&json!({"requestId": request_id, "sockets": sockets}))
}

pub(crate) fn ids_response(request_id: &str, ids: &[String]) -> Vec<u8> {
    json_bytes(&json!({"requestId": request_id, "sockets": ids}))
}

pub(crate) fn rooms_response(request_id: &str, rooms: &[String]) -> Vec<u8> {
    json_bytes(&json!({"requestId": request_id, "rooms": rooms}))
}

pub(crate) fn bare_response(request_id: &str) -> Vec<u8> {
    json_bytes(&json!({"requestId": request_id}))
}

pub(crate) fn server_ack_response(request_id: &str, data: &Value) -> Vec<u8> {
    json_bytes(&json!({"type": kind::SERVER_SIDE_EMIT, "requestId": request_id, "data": data}))
}

pub(crate) fn client_count_response(request_id: &str, count: usize) -> Vec<u8> {
    json_bytes(&json!({
        "type": kind::BROADCAST_CLIENT_COUNT, "requestId": request_id, "clientCount": count,
    }))
}

/// One client's acknowledgement (msgpack): its first argument only, as
/// node passes it on; none leaves `packet` out, as `undefined` is.
pub(crate) fn client_ack_response(request_id: &str, args: &Args) -> Vec<u8> {
    let mut map = vec![
        (Pack::from("type"), Pack::from(kind::BROADCAST_ACK)),
        (Pack::from("requestId"), Pack::from(request_id)),
    ];
    if let Some(first) = args.values().first() {
        map.push((Pack::from("packet"), to_pack(first, args.binary())));
    }
    pack_bytes(&Pack::Map(map))
}

#[cfg(test)]
mod tests;
