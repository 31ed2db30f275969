//! The socket.io 0.7–0.9 wire codec ("protocol 1"), without any IO.
//!
//! ```text
//! packet  = TYPE ":" [ID ["+"]] ":" [ENDPOINT] [":" DATA]
//! payload = packet | ("\u{fffd}" LEN "\u{fffd}" packet)+
//! ```
//!
//! `TYPE` is one digit `0`–`8`. `ENDPOINT` is empty (the default namespace)
//! or starts with `/`, and never holds `:`; `DATA` may. A packet without data
//! has no last `:` (`2::`, `0::/chat`).
//!
//! A polling payload carries one packet bare, or several framed. `LEN`
//! counts UTF-16 code units, the way JavaScript's `String.length` does,
//! because the judge of this format is the browser client
//! (`socket.io-client@0.9.17`). Frames are found by length alone: message
//! text may itself hold U+FFFD.
//!
//! The decoder is stricter than that client's regular expression, which
//! reads almost anything as some packet: whatever the real clients send
//! decodes, and anything else is an error the caller can log.
//!
//! `packet.rs` reads and writes one packet, `payload.rs` joins and splits
//! the batches of the polling transports (WebSocket never batches).

use serde_json::Value;

mod packet;
mod payload;
#[cfg(test)]
mod proptests;

pub(crate) use packet::{
    decode_packet, encode_ack, encode_event, encode_json, encode_message, encode_packet,
    is_reserved_event,
};
pub(crate) use payload::{MARK as FRAME_MARK, decode_payload, encode_payload};

/// One socket.io 0.7–0.9 packet.
///
/// Endpoints are `""` for the default namespace `/`, else they start with
/// `/`; they never hold `:`. The encoder trusts these rules (debug builds
/// check them); the decoder enforces them. An endpoint `/` is kept as
/// sent: whether it means `""` is the socket layer's call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Packet {
    /// `0::` closes the whole socket; `0::/ep` leaves one endpoint.
    Disconnect { endpoint: String },
    /// `1::/ep` joins an endpoint (the client asks, the server echoes it);
    /// `1::`, sent by the server, says the socket is open.
    ///
    /// `1::/ep?x=1` carries a query, split off here into `query` without
    /// its `?` (so the endpoint holds no `?`, and the query no `:`).
    /// 0.9.17's parsers read a query from the data instead (`1::/ep:x=1`);
    /// the decoder takes that too.
    Connect {
        endpoint: String,
        query: Option<String>,
    },
    /// `2::`: the server's beat, and the client's answer.
    Heartbeat,
    /// `3:[id]:[ep]:text`. Empty text is sent without data: `3::`.
    Message {
        id: Option<MessageId>,
        endpoint: String,
        data: String,
    },
    /// `4:[id]:[ep]:json`: any JSON value.
    Json {
        id: Option<MessageId>,
        endpoint: String,
        data: Value,
    },
    /// `5:[id]:[ep]:{"name":"ev","args":[...]}`; `args` is left out when
    /// empty. The name may be anything, `disconnect` included: see
    /// [`is_reserved_event`].
    Event {
        id: Option<MessageId>,
        endpoint: String,
        name: String,
        args: Vec<Value>,
    },
    /// `6::[ep]:id` (no arguments) or `6::[ep]:id+[args]`.
    Ack {
        endpoint: String,
        ack_id: u64,
        args: Option<Vec<Value>>,
    },
    /// `7::[ep]:reason[+advice]`; `7::` when neither is given.
    Error {
        endpoint: String,
        reason: Option<ErrorReason>,
        advice: Option<ErrorAdvice>,
    },
    /// `8::`: nothing; closes a long poll that has nothing to say.
    Noop,
}

/// The id of a message, JSON or event packet: `1` asks the protocol layer
/// to ack at once (`6:::1`), `1+` asks the application for an answer
/// (`6:::1+[...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessageId {
    pub(crate) id: u64,
    pub(crate) data_ack: bool,
}

/// Why an error packet was sent. The 0.9.17 client encodes and decodes
/// the reasons it knows as indexes; TornadIO2 wrote text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorReason {
    /// `0`: transport not supported.
    TransportNotSupported,
    /// `1`: client not handshaken (an unknown or expired sid).
    ClientNotHandshaken,
    /// `2`: unauthorized (refused; on an endpoint: `connect_failed`).
    Unauthorized,
    /// Any other text: not empty, not `0`–`2`, no `+`.
    Text(String),
}

/// What the receiver of an error packet should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorAdvice {
    /// `0`: reconnect (the client disconnects, then reconnects).
    Reconnect,
    /// Any other text: not empty, not `0`.
    Text(String),
}

/// A packet or payload from a peer that is not valid protocol-1 framing.
///
/// The transports answer it as a protocol violation: log it, and close the
/// session or drop the packet as their policy says.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Proto1Error {
    /// The packet does not start with one digit `0`–`8` and a `:`.
    #[error("packet does not start with a type 0-8 and `:`")]
    BadType,
    /// The packet has no `:` after its id field: even `2::` has two.
    #[error("packet has no `:` after its id")]
    MissingColon,
    /// The id field is neither empty nor digits (fitting in 64 bits) with
    /// an optional `+`.
    #[error("packet id is not digits with an optional `+`")]
    BadId,
    /// A packet type that takes no id (only message, JSON and event do)
    /// came with one.
    #[error("{kind} packets take no id")]
    UnexpectedId { kind: &'static str },
    /// A heartbeat or noop, which belong to the whole session, came with an
    /// endpoint.
    #[error("{kind} packets take no endpoint")]
    UnexpectedEndpoint { kind: &'static str },
    /// A non-empty endpoint that does not start with `/`.
    #[error("endpoint does not start with `/`")]
    BadEndpoint,
    /// A disconnect, heartbeat or noop came with data.
    #[error("{kind} packets take no data")]
    UnexpectedData { kind: &'static str },
    /// A JSON, event or ack packet came without the data it must carry.
    #[error("{kind} packets need data")]
    MissingData { kind: &'static str },
    /// A JSON packet's data is not JSON, or nests deeper than the parser's
    /// limit (128).
    #[error("JSON packet data is not JSON: {source}")]
    BadJson { source: serde_json::Error },
    /// An event's data is not a JSON object with a string `name` and, if
    /// present, an array `args` (or nests deeper than 128).
    #[error("event data is not {{\"name\": string, \"args\": array}}: {source}")]
    BadEvent { source: serde_json::Error },
    /// An ack's data does not start with the acked id (digits fitting in 64
    /// bits), or the id is followed by something other than `+`.
    #[error("ack data does not start with an id")]
    BadAckId,
    /// The text after an ack's `+` is not a JSON array (or nests deeper than
    /// 128).
    #[error("ack arguments are not a JSON array: {source}")]
    BadAckArgs { source: serde_json::Error },
    /// A connect packet carried a query both in its endpoint (`/ep?q`) and
    /// as data (`/ep:q`).
    #[error("connect packet has two queries")]
    DuplicateQuery,
    /// In a framed payload, a frame does not start with U+FFFD where the
    /// previous one ended: its length was too short, or trailing junk.
    #[error("expected U+FFFD at byte {offset}")]
    MissingMark { offset: usize },
    /// A frame's length is empty, not decimal digits, or not closed by
    /// U+FFFD.
    #[error("missing or invalid length at byte {offset}")]
    BadLength { offset: usize },
    /// A frame's length has more than ten digits.
    #[error("length too large at byte {offset}")]
    LengthTooLarge { offset: usize },
    /// A frame's length runs past the end of the payload.
    #[error("frame at byte {offset} claims {expected} UTF-16 units, only {available} follow")]
    Truncated {
        offset: usize,
        expected: u64,
        available: usize,
    },
    /// A frame's length ends inside a surrogate pair.
    #[error("length of the frame at byte {offset} splits a character")]
    SplitCharacter { offset: usize },
}

/// Decimal digits only (no sign, no spaces) that fit in a `u64`.
fn parse_u64(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
