//! One packet, `type:id:endpoint[:data]`, read and written.

use std::fmt::Write;

use serde::Deserialize;
use serde_json::Value;

use super::{ErrorAdvice, ErrorReason, MessageId, Packet, Proto1Error, parse_u64};

/// Whether a client may not fire this event on the server.
///
/// 0.9.17's server ignores client events named `disconnect` (its default
/// `blacklist`), since its own `disconnect` event means the socket went
/// away. The spec's longer list (message, connect, open, close, error,
/// retry, reconnect) is not enforced by 0.9.17, and clients do emit
/// `message` events, so only `disconnect` is reserved.
pub(crate) fn is_reserved_event(name: &str) -> bool {
    name == "disconnect"
}

/// The packet types, indexed by their digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Disconnect,
    Connect,
    Heartbeat,
    Message,
    Json,
    Event,
    Ack,
    Error,
    Noop,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::Disconnect,
        Kind::Connect,
        Kind::Heartbeat,
        Kind::Message,
        Kind::Json,
        Kind::Event,
        Kind::Ack,
        Kind::Error,
        Kind::Noop,
    ];

    fn from_field(field: &str) -> Option<Kind> {
        match field.as_bytes() {
            [digit @ b'0'..=b'8'] => Some(Kind::ALL[usize::from(digit - b'0')]),
            _ => None,
        }
    }

    fn digit(self) -> char {
        char::from(b'0' + self as u8)
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Disconnect => "disconnect",
            Kind::Connect => "connect",
            Kind::Heartbeat => "heartbeat",
            Kind::Message => "message",
            Kind::Json => "json",
            Kind::Event => "event",
            Kind::Ack => "ack",
            Kind::Error => "error",
            Kind::Noop => "noop",
        }
    }
}

/// A packet split into its fields, before its data is read.
struct Fields<'a> {
    kind: Kind,
    id: Option<MessageId>,
    endpoint: &'a str,
    /// `None` when there is no third `:`.
    data: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn split(input: &'a str) -> Result<Self, Proto1Error> {
        let (kind, rest) = split_colon(input).ok_or(Proto1Error::BadType)?;
        let kind = Kind::from_field(kind).ok_or(Proto1Error::BadType)?;
        let (id, rest) = split_colon(rest).ok_or(Proto1Error::MissingColon)?;
        let (endpoint, data) = match split_colon(rest) {
            Some((endpoint, data)) => (endpoint, Some(data)),
            None => (rest, None),
        };
        Ok(Fields {
            kind,
            id: parse_id(id)?,
            endpoint,
            data,
        })
    }

    fn no_id(&self) -> Result<(), Proto1Error> {
        match self.id {
            None => Ok(()),
            Some(_) => Err(Proto1Error::UnexpectedId {
                kind: self.kind.name(),
            }),
        }
    }

    /// The endpoint, checked.
    fn endpoint(&self) -> Result<String, Proto1Error> {
        check_endpoint(self.endpoint)?;
        Ok(self.endpoint.to_owned())
    }

    /// No data, or an empty one (`2:::` reads as `2::`).
    fn no_data(&self) -> Result<(), Proto1Error> {
        match self.data {
            None | Some("") => Ok(()),
            Some(_) => Err(Proto1Error::UnexpectedData {
                kind: self.kind.name(),
            }),
        }
    }

    fn required_data(&self) -> Result<&'a str, Proto1Error> {
        self.data.ok_or(Proto1Error::MissingData {
            kind: self.kind.name(),
        })
    }

    /// For packets of the whole session: no id, endpoint or data.
    fn bare(&self, packet: Packet) -> Result<Packet, Proto1Error> {
        self.no_id()?;
        if !self.endpoint.is_empty() {
            return Err(Proto1Error::UnexpectedEndpoint {
                kind: self.kind.name(),
            });
        }
        self.no_data()?;
        Ok(packet)
    }
}

/// `s` split at its first `:`. The fields before the data are a few bytes
/// long: a byte loop finds the colon sooner than a general search sets up.
fn split_colon(s: &str) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == b':')?;
    // A colon is ASCII: both sides are whole characters.
    Some((&s[..at], &s[at + 1..]))
}

/// `""` → no id; `12` → a protocol ack; `12+` → a data ack.
fn parse_id(field: &str) -> Result<Option<MessageId>, Proto1Error> {
    if field.is_empty() {
        return Ok(None);
    }
    let (digits, data_ack) = match field.strip_suffix('+') {
        Some(digits) => (digits, true),
        None => (field, false),
    };
    let id = parse_u64(digits).ok_or(Proto1Error::BadId)?;
    Ok(Some(MessageId { id, data_ack }))
}

fn check_endpoint(endpoint: &str) -> Result<(), Proto1Error> {
    if endpoint.is_empty() || endpoint.starts_with('/') {
        Ok(())
    } else {
        Err(Proto1Error::BadEndpoint)
    }
}

/// Decodes one packet.
///
/// Any malformation (see [`Proto1Error`]) is an error; this function never
/// panics, and JSON nesting is bounded by serde_json's recursion limit.
pub(crate) fn decode_packet(input: &str) -> Result<Packet, Proto1Error> {
    let fields = Fields::split(input)?;
    match fields.kind {
        Kind::Disconnect => {
            fields.no_id()?;
            fields.no_data()?;
            Ok(Packet::Disconnect {
                endpoint: fields.endpoint()?,
            })
        }
        Kind::Connect => decode_connect(&fields),
        Kind::Heartbeat => fields.bare(Packet::Heartbeat),
        Kind::Message => Ok(Packet::Message {
            id: fields.id,
            endpoint: fields.endpoint()?,
            data: fields.data.unwrap_or_default().to_owned(),
        }),
        Kind::Json => decode_json(&fields),
        Kind::Event => decode_event(&fields),
        Kind::Ack => decode_ack(&fields),
        Kind::Error => decode_error(&fields),
        Kind::Noop => fields.bare(Packet::Noop),
    }
}

fn decode_connect(fields: &Fields<'_>) -> Result<Packet, Proto1Error> {
    fields.no_id()?;
    let (endpoint, query) = match fields.endpoint.split_once('?') {
        Some((endpoint, query)) => (endpoint, Some(query)),
        None => (fields.endpoint, None),
    };
    check_endpoint(endpoint)?;
    // 0.9.17's parsers read the query from the data (`qs`), with or
    // without its `?`.
    let data_query = fields
        .data
        .filter(|data| !data.is_empty())
        .map(|data| data.strip_prefix('?').unwrap_or(data));
    let query = match (query, data_query) {
        (Some(_), Some(_)) => return Err(Proto1Error::DuplicateQuery),
        (query, data_query) => query.or(data_query),
    };
    Ok(Packet::Connect {
        endpoint: endpoint.to_owned(),
        query: query.map(str::to_owned),
    })
}

fn decode_json(fields: &Fields<'_>) -> Result<Packet, Proto1Error> {
    let data = fields.required_data()?;
    Ok(Packet::Json {
        id: fields.id,
        endpoint: fields.endpoint()?,
        data: serde_json::from_str(data).map_err(|source| Proto1Error::BadJson { source })?,
    })
}

/// An event's data as the clients write it. Other keys are ignored, as the
/// clients ignore them.
#[derive(Deserialize)]
struct EventData {
    name: String,
    #[serde(default)]
    args: Vec<Value>,
}

fn decode_event(fields: &Fields<'_>) -> Result<Packet, Proto1Error> {
    let data = fields.required_data()?;
    let endpoint = fields.endpoint()?;
    let EventData { name, args } =
        serde_json::from_str(data).map_err(|source| Proto1Error::BadEvent { source })?;
    Ok(Packet::Event {
        id: fields.id,
        endpoint,
        name,
        args,
    })
}

fn decode_ack(fields: &Fields<'_>) -> Result<Packet, Proto1Error> {
    fields.no_id()?;
    let data = fields.required_data()?;
    let endpoint = fields.endpoint()?;
    let (ack_id, args) = match data.split_once('+') {
        Some((ack_id, args)) => (ack_id, Some(args)),
        None => (data, None),
    };
    let ack_id = parse_u64(ack_id).ok_or(Proto1Error::BadAckId)?;
    let args = args
        .map(serde_json::from_str)
        .transpose()
        .map_err(|source| Proto1Error::BadAckArgs { source })?;
    Ok(Packet::Ack {
        endpoint,
        ack_id,
        args,
    })
}

fn decode_error(fields: &Fields<'_>) -> Result<Packet, Proto1Error> {
    fields.no_id()?;
    let data = fields.data.unwrap_or_default();
    let (reason, advice) = match data.split_once('+') {
        Some((reason, advice)) => (reason, advice),
        None => (data, ""),
    };
    Ok(Packet::Error {
        endpoint: fields.endpoint()?,
        reason: (!reason.is_empty()).then(|| ErrorReason::from_wire(reason)),
        advice: (!advice.is_empty()).then(|| ErrorAdvice::from_wire(advice)),
    })
}

impl ErrorReason {
    fn from_wire(text: &str) -> Self {
        match text {
            "0" => ErrorReason::TransportNotSupported,
            "1" => ErrorReason::ClientNotHandshaken,
            "2" => ErrorReason::Unauthorized,
            _ => ErrorReason::Text(text.to_owned()),
        }
    }

    fn wire(&self) -> &str {
        match self {
            ErrorReason::TransportNotSupported => "0",
            ErrorReason::ClientNotHandshaken => "1",
            ErrorReason::Unauthorized => "2",
            ErrorReason::Text(text) => {
                debug_assert!(
                    !matches!(text.as_str(), "" | "0" | "1" | "2") && !text.contains('+'),
                    "error reason text {text:?} would read back differently"
                );
                text
            }
        }
    }
}

impl ErrorAdvice {
    fn from_wire(text: &str) -> Self {
        match text {
            "0" => ErrorAdvice::Reconnect,
            _ => ErrorAdvice::Text(text.to_owned()),
        }
    }

    fn wire(&self) -> &str {
        match self {
            ErrorAdvice::Reconnect => "0",
            ErrorAdvice::Text(text) => {
                debug_assert!(
                    !matches!(text.as_str(), "" | "0"),
                    "error advice text {text:?} would read back differently"
                );
                text
            }
        }
    }
}

/// Appends the wire form of `packet` to `out`.
pub(crate) fn encode_packet(packet: &Packet, out: &mut String) {
    match packet {
        Packet::Disconnect { endpoint } => push_head(out, Kind::Disconnect, None, endpoint),
        Packet::Connect { endpoint, query } => {
            push_head(out, Kind::Connect, None, endpoint);
            debug_assert!(
                !endpoint.contains('?'),
                "connect endpoint {endpoint:?} holds `?`"
            );
            if let Some(query) = query {
                debug_assert!(!query.contains(':'), "query {query:?} holds `:`");
                out.push('?');
                out.push_str(query);
            }
        }
        Packet::Heartbeat => out.push_str("2::"),
        Packet::Message { id, endpoint, data } => encode_message(out, *id, endpoint, data),
        Packet::Json { id, endpoint, data } => encode_json(out, *id, endpoint, data),
        Packet::Event {
            id,
            endpoint,
            name,
            args,
        } => encode_event(out, *id, endpoint, name, args),
        Packet::Ack {
            endpoint,
            ack_id,
            args,
        } => encode_ack(out, endpoint, *ack_id, args.as_deref()),
        Packet::Error {
            endpoint,
            reason,
            advice,
        } => push_error(out, endpoint, reason.as_ref(), advice.as_ref()),
        Packet::Noop => out.push_str("8::"),
    }
}

/// Appends a message packet, `3:[id]:[endpoint][:text]`, from borrowed
/// parts (what [`encode_packet`] writes for [`Packet::Message`]).
pub(crate) fn encode_message(out: &mut String, id: Option<MessageId>, endpoint: &str, text: &str) {
    push_head(out, Kind::Message, id, endpoint);
    // As both 0.9.17 parsers do: empty text, no data field.
    if !text.is_empty() {
        out.push(':');
        out.push_str(text);
    }
}

/// Appends a JSON packet, `4:[id]:[endpoint]:json`, from borrowed parts.
pub(crate) fn encode_json(out: &mut String, id: Option<MessageId>, endpoint: &str, data: &Value) {
    push_head(out, Kind::Json, id, endpoint);
    // Writing into a String cannot fail.
    let _ = write!(out, ":{data}");
}

/// Appends an event packet, `5:[id]:[endpoint]:{"name":...,"args":[...]}`,
/// from borrowed parts: a broadcast encodes its arguments once, uncopied.
pub(crate) fn encode_event(
    out: &mut String,
    id: Option<MessageId>,
    endpoint: &str,
    name: &str,
    args: &[Value],
) {
    push_head(out, Kind::Event, id, endpoint);
    push_event(out, name, args);
}

/// Appends an ack packet, `6::[endpoint]:id[+[args]]`, from borrowed parts.
pub(crate) fn encode_ack(out: &mut String, endpoint: &str, ack_id: u64, args: Option<&[Value]>) {
    push_head(out, Kind::Ack, None, endpoint);
    let _ = write!(out, ":{ack_id}");
    if let Some(args) = args {
        out.push('+');
        push_array(out, args);
    }
}

/// Appends `type:id:endpoint`.
fn push_head(out: &mut String, kind: Kind, id: Option<MessageId>, endpoint: &str) {
    debug_assert!(
        check_endpoint(endpoint).is_ok() && !endpoint.contains(':'),
        "endpoint {endpoint:?} is neither empty nor `/...` without `:`"
    );
    out.push(kind.digit());
    out.push(':');
    if let Some(MessageId { id, data_ack }) = id {
        let _ = write!(out, "{id}");
        if data_ack {
            out.push('+');
        }
    }
    out.push(':');
    out.push_str(endpoint);
}

/// Appends `:{"name":...}`, with `"args"` only when there are some.
fn push_event(out: &mut String, name: &str, args: &[Value]) {
    // The copy of the name buys serde_json's string escaping.
    let _ = write!(out, ":{{\"name\":{}", Value::from(name));
    if !args.is_empty() {
        out.push_str(",\"args\":");
        push_array(out, args);
    }
    out.push('}');
}

/// Appends `values` as a JSON array.
fn push_array(out: &mut String, values: &[Value]) {
    out.push('[');
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(out, "{value}");
    }
    out.push(']');
}

fn push_error(
    out: &mut String,
    endpoint: &str,
    reason: Option<&ErrorReason>,
    advice: Option<&ErrorAdvice>,
) {
    push_head(out, Kind::Error, None, endpoint);
    if reason.is_none() && advice.is_none() {
        return;
    }
    out.push(':');
    if let Some(reason) = reason {
        out.push_str(reason.wire());
    }
    if let Some(advice) = advice {
        out.push('+');
        out.push_str(advice.wire());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encoded(packet: &Packet) -> String {
        let mut out = String::new();
        encode_packet(packet, &mut out);
        out
    }

    fn id(id: u64, data_ack: bool) -> Option<MessageId> {
        Some(MessageId { id, data_ack })
    }

    fn message(id: Option<MessageId>, endpoint: &str, data: &str) -> Packet {
        Packet::Message {
            id,
            endpoint: endpoint.into(),
            data: data.into(),
        }
    }

    fn event(id: Option<MessageId>, endpoint: &str, name: &str, args: Vec<Value>) -> Packet {
        Packet::Event {
            id,
            endpoint: endpoint.into(),
            name: name.into(),
            args,
        }
    }

    fn ack(endpoint: &str, ack_id: u64, args: Option<Vec<Value>>) -> Packet {
        Packet::Ack {
            endpoint: endpoint.into(),
            ack_id,
            args,
        }
    }

    fn error(endpoint: &str, reason: Option<ErrorReason>, advice: Option<ErrorAdvice>) -> Packet {
        Packet::Error {
            endpoint: endpoint.into(),
            reason,
            advice,
        }
    }

    fn connect(endpoint: &str, query: Option<&str>) -> Packet {
        Packet::Connect {
            endpoint: endpoint.into(),
            query: query.map(Into::into),
        }
    }

    /// Wire forms that encode and decode to each other exactly.
    fn canonical() -> Vec<(&'static str, Packet)> {
        use ErrorAdvice::Reconnect;
        use ErrorReason::*;
        let disconnect = |endpoint: &str| Packet::Disconnect {
            endpoint: endpoint.into(),
        };
        let text = |s: &str| Some(Text(s.into()));
        vec![
            ("0::", disconnect("")),
            ("0::/chat", disconnect("/chat")),
            ("1::", connect("", None)),
            ("1::/chat", connect("/chat", None)),
            ("1::/chat?x=1&y=%3A", connect("/chat", Some("x=1&y=%3A"))),
            ("1::/chat?", connect("/chat", Some(""))),
            ("1::?x=1", connect("", Some("x=1"))),
            ("2::", Packet::Heartbeat),
            ("3:::hi", message(None, "", "hi")),
            ("3::", message(None, "", "")),
            ("3::/chat", message(None, "/chat", "")),
            ("3:1::x", message(id(1, false), "", "x")),
            (
                "3:7+:/chat:a:b::c:",
                message(id(7, true), "/chat", "a:b::c:"),
            ),
            ("3:::héllo 😀 𝄞", message(None, "", "héllo 😀 𝄞")),
            (
                "3:::\u{fffd}5\u{fffd}2::",
                message(None, "", "\u{fffd}5\u{fffd}2::"),
            ),
            ("3:::[object Object]", message(None, "", "[object Object]")),
            (
                "3:18446744073709551615+::x",
                message(id(u64::MAX, true), "", "x"),
            ),
            (
                "4:1+::{\"a\":1}",
                Packet::Json {
                    id: id(1, true),
                    endpoint: String::new(),
                    data: json!({"a": 1}),
                },
            ),
            (
                "4::/chat:[1,null,true,\"é:😀\"]",
                Packet::Json {
                    id: None,
                    endpoint: "/chat".into(),
                    data: json!([1, null, true, "é:😀"]),
                },
            ),
            (
                "5:::{\"name\":\"ev\",\"args\":[1]}",
                event(None, "", "ev", vec![json!(1)]),
            ),
            ("5:::{\"name\":\"ev\"}", event(None, "", "ev", vec![])),
            (
                "5:1+::{\"name\":\"a:b\",\"args\":[{\"k\":\"v:w\"},\"\u{fffd}\"]}",
                event(
                    id(1, true),
                    "",
                    "a:b",
                    vec![json!({"k": "v:w"}), json!("\u{fffd}")],
                ),
            ),
            (
                "5:2:/chat:{\"name\":\"say \\\"hi\\\"\\n\"}",
                event(id(2, false), "/chat", "say \"hi\"\n", vec![]),
            ),
            (
                "5:::{\"name\":\"disconnect\"}",
                event(None, "", "disconnect", vec![]),
            ),
            ("6:::1", ack("", 1, None)),
            ("6:::4+[\"x\"]", ack("", 4, Some(vec![json!("x")]))),
            ("6:::1+[]", ack("", 1, Some(vec![]))),
            (
                "6::/custom:1+[1,{\"a\":[]}]",
                ack("/custom", 1, Some(vec![json!(1), json!({"a": []})])),
            ),
            (
                "7:::1+0",
                error("", Some(ClientNotHandshaken), Some(Reconnect)),
            ),
            ("7::/chat:2", error("/chat", Some(Unauthorized), None)),
            ("7:::0", error("", Some(TransportNotSupported), None)),
            ("7:::+0", error("", None, Some(Reconnect))),
            ("7::", error("", None, None)),
            ("7:::3", error("", text("3"), None)),
            (
                "7:::-1+-1",
                error("", text("-1"), Some(ErrorAdvice::Text("-1".into()))),
            ),
            (
                "7::/ep:client not handshaken+reconnect",
                error(
                    "/ep",
                    text("client not handshaken"),
                    Some(ErrorAdvice::Text("reconnect".into())),
                ),
            ),
            ("8::", Packet::Noop),
        ]
    }

    #[test]
    fn encodes_table() {
        for (wire, packet) in canonical() {
            assert_eq!(encoded(&packet), wire, "encoding {packet:?}");
        }
    }

    #[test]
    fn decodes_table() {
        for (wire, packet) in canonical() {
            assert_eq!(decode_packet(wire).unwrap(), packet, "decoding {wire:?}");
        }
    }

    /// Other forms a peer may send, read as the 0.9.17 parsers read them.
    #[test]
    fn decodes_lenient_forms() {
        let cases = [
            (
                "0:::",
                Packet::Disconnect {
                    endpoint: String::new(),
                },
            ),
            ("2:::", Packet::Heartbeat),
            ("8:::", Packet::Noop),
            ("1:::", connect("", None)),
            ("1::/chat:x=1", connect("/chat", Some("x=1"))),
            ("1::/chat:?x=1:2", connect("/chat", Some("x=1:2"))),
            ("3:::", message(None, "", "")),
            ("3:01::x", message(id(1, false), "", "x")),
            (
                "4:::  1 ",
                Packet::Json {
                    id: None,
                    endpoint: String::new(),
                    data: json!(1),
                },
            ),
            (
                "5:::{\"args\":[1],\"name\":\"ev\"}",
                event(None, "", "ev", vec![json!(1)]),
            ),
            (
                "5:::{\"name\":\"ev\",\"args\":[]}",
                event(None, "", "ev", vec![]),
            ),
            (
                "5:::{ \"name\" : \"ev\", \"extra\": {\"x\": 1} }",
                event(None, "", "ev", vec![]),
            ),
            ("6:::01", ack("", 1, None)),
            ("6:::2+ [ 1 ] ", ack("", 2, Some(vec![json!(1)]))),
            ("7:::", error("", None, None)),
            ("7:::+", error("", None, None)),
            (
                "7:::1+a+b",
                error(
                    "",
                    Some(ErrorReason::ClientNotHandshaken),
                    Some(ErrorAdvice::Text("a+b".into())),
                ),
            ),
        ];
        for (wire, packet) in cases {
            assert_eq!(decode_packet(wire).unwrap(), packet, "decoding {wire:?}");
        }
    }

    #[test]
    fn rejects_malformed_packets() {
        let cases = [
            // Type and separators.
            "",
            "3",
            "3:",
            "9::",
            "a::",
            "33::",
            ":::",
            "-1::",
            " 3::",
            "\u{fffd}::",
            "٣::",
            "3;::",
            // Ids.
            "3:x::hi",
            "3:+::hi",
            "3:1++::hi",
            "3:1+2::hi",
            "3: 1::hi",
            "3:-1::hi",
            "3:18446744073709551616::hi",
            "3:99999999999999999999999::hi",
            "0:1::",
            "1:1::/chat",
            "2:1::",
            "6:1::1",
            "6:1+::1",
            "7:1::",
            "8:1::",
            // Endpoints.
            "2::/chat",
            "8::/chat",
            "2::x",
            "3::chat:hi",
            "0::chat",
            "1::chat",
            "1::chat?x=1",
            "4::?x:1",
            "6::x:1",
            // Data where none belongs, two queries.
            "2:::x",
            "0:::x",
            "0::/chat:x",
            "8:::x",
            "1::/chat?x:y",
            // JSON.
            "4::",
            "4::/chat",
            "4:::",
            "4:::{a}",
            "4:::[1,",
            "4:::1 2",
            "4:::'a'",
            "4:::undefined",
            // Events.
            "5::",
            "5:::",
            "5:::[]",
            "5:::\"ev\"",
            "5:::{}",
            "5:::{\"name\":1}",
            "5:::{\"name\":null}",
            "5:::{\"name\":[\"ev\"]}",
            "5:::{\"args\":[]}",
            "5:::{\"name\":\"ev\",\"args\":1}",
            "5:::{\"name\":\"ev\",\"args\":null}",
            "5:::{\"name\":\"ev\",\"args\":{}}",
            "5:::{\"name\":\"ev\",\"args\":\"a\"}",
            "5:::{\"name\":\"ev\"",
            "5:::{\"name\":\"ev\"}x",
            "5:::{\"name\":\"a\",\"name\":\"b\"}",
            // Acks.
            "6::",
            "6:::",
            "6::/chat",
            "6:::x",
            "6:::+[1]",
            "6:::1+",
            "6:::1+{}",
            "6:::1+1",
            "6:::1+null",
            "6:::1x",
            "6:::1 ",
            "6::: 1",
            "6:::-1",
            "6:::18446744073709551616",
            "6:::1+[1",
            "6:::1+[1]]",
        ];
        for wire in cases {
            let result = decode_packet(wire);
            assert!(result.is_err(), "{wire:?} must not decode: {result:?}");
        }
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert!(matches!(decode_packet("9::"), Err(Proto1Error::BadType)));
        assert!(matches!(decode_packet("3"), Err(Proto1Error::BadType)));
        assert!(matches!(
            decode_packet("3:"),
            Err(Proto1Error::MissingColon)
        ));
        assert!(matches!(decode_packet("3:+::"), Err(Proto1Error::BadId)));
        assert!(matches!(
            decode_packet("2:1::"),
            Err(Proto1Error::UnexpectedId { kind: "heartbeat" })
        ));
        assert!(matches!(
            decode_packet("8::/a"),
            Err(Proto1Error::UnexpectedEndpoint { kind: "noop" })
        ));
        assert!(matches!(
            decode_packet("3::a:x"),
            Err(Proto1Error::BadEndpoint)
        ));
        assert!(matches!(
            decode_packet("0:::x"),
            Err(Proto1Error::UnexpectedData { kind: "disconnect" })
        ));
        assert!(matches!(
            decode_packet("4::"),
            Err(Proto1Error::MissingData { kind: "json" })
        ));
        assert!(matches!(
            decode_packet("4:::{"),
            Err(Proto1Error::BadJson { .. })
        ));
        assert!(matches!(
            decode_packet("5:::{\"name\":2}"),
            Err(Proto1Error::BadEvent { .. })
        ));
        assert!(matches!(decode_packet("6:::x"), Err(Proto1Error::BadAckId)));
        assert!(matches!(
            decode_packet("6:::1+{}"),
            Err(Proto1Error::BadAckArgs { .. })
        ));
        assert!(matches!(
            decode_packet("1::/a?b:c"),
            Err(Proto1Error::DuplicateQuery)
        ));
    }

    /// serde_json stops at 128 levels, so a hostile payload costs neither
    /// the stack nor the time to build a deep value.
    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        let deep_closed = format!("{deep}{}", "]".repeat(100_000));
        let wires = [
            format!("5:::{{\"name\":\"ev\",\"args\":{deep}"),
            format!("5:::{{\"name\":\"ev\",\"args\":{deep_closed}}}"),
            format!(
                "5:::{{\"name\":\"ev\",\"args\":[{}1",
                "{\"a\":".repeat(100_000)
            ),
            format!("5:::{deep_closed}"),
            format!("4:::{deep_closed}"),
            format!("6:::1+{deep_closed}"),
        ];
        for wire in &wires {
            assert!(decode_packet(wire).is_err(), "{}…", &wire[..30]);
        }
        // Nesting the clients really send still decodes.
        let fine = format!(
            "5:::{{\"name\":\"ev\",\"args\":{}{}}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(decode_packet(&fine).is_ok());
    }

    #[test]
    fn reserves_only_disconnect() {
        assert!(is_reserved_event("disconnect"));
        for name in [
            "message",
            "connect",
            "error",
            "Disconnect",
            "disconnect ",
            "",
        ] {
            assert!(!is_reserved_event(name), "{name:?}");
        }
    }
}
