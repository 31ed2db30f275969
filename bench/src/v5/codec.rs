//! Engine.IO v4 / Socket.IO v5 text packets, client side: just what the bench
//! sends and reads. Pure functions over `&str`, no IO.
//!
//! An Engine.IO packet is a type digit and its data (`0` open, `1` close,
//! `2` ping, `3` pong, `4` message, `6` noop); a polling payload joins
//! packets with [`SEPARATOR`]. A Socket.IO EVENT to the namespace `/` rides
//! in a message packet as `42["name",ARG]`.

use std::borrow::Cow;

/// Joins the packets of one HTTP long-polling payload (v4).
pub const SEPARATOR: char = '\x1e';

/// The Engine.IO packet types the bench tells apart.
pub mod kind {
    /// `0{...}`: the session's parameters, first packet of a session.
    pub const OPEN: u8 = b'0';
    /// `1`: the server ends the session.
    pub const CLOSE: u8 = b'1';
    /// `2`: the server's heartbeat; answer [`PONG`].
    pub const PING: u8 = b'2';
    /// `3`: the answer to a ping.
    pub const PONG: u8 = b'3';
    /// `4...`: a message; its data is a Socket.IO packet.
    pub const MESSAGE: u8 = b'4';
    /// `6`: nothing (ends a poll).
    pub const NOOP: u8 = b'6';
}

/// The Socket.IO CONNECT to the namespace `/`, no auth payload.
pub const CONNECT: &str = "40";

/// `42["name","data"]`: an Engine.IO message carrying a Socket.IO EVENT to
/// `/` with one string argument.
pub fn event(name: &str, data: &str) -> String {
    let mut out = String::with_capacity(name.len() + data.len() + 10);
    out.push_str("42[");
    push_json_string(&mut out, name);
    out.push(',');
    push_json_string(&mut out, data);
    out.push(']');
    out
}

/// The name and the string argument of `42["name","data"]` (an EVENT to `/`
/// with exactly one string argument, no ack id); `None` for anything else.
/// Borrows from `packet` unless a string has escapes.
pub fn parse_event(packet: &str) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let rest = packet.strip_prefix("42[")?;
    let (name, rest) = read_json_string(rest)?;
    let rest = rest.strip_prefix(',')?;
    let (data, rest) = read_json_string(rest)?;
    (rest == "]").then_some((name, data))
}

/// The `sid` of an open packet `0{"sid":"..",...}` or of a CONNECT reply
/// `40{"sid":".."}`.
pub fn sid(packet: &str) -> Option<Cow<'_, str>> {
    let at = packet.find("\"sid\":")?;
    let rest = packet[at + 6..].trim_start();
    read_json_string(rest).map(|(sid, _)| sid)
}

/// Whether `packet` is the Socket.IO CONNECT reply for `/` (`40{"sid":..}`).
pub fn is_connect_reply(packet: &str) -> bool {
    packet.starts_with("40{")
}

/// Whether `packet` is a Socket.IO CONNECT_ERROR for `/` (`44{...}`).
pub fn is_connect_error(packet: &str) -> bool {
    packet.starts_with("44")
}

/// The packets of a polling payload.
pub fn split_payload(payload: &str) -> impl Iterator<Item = &str> {
    payload.split(SEPARATOR).filter(|packet| !packet.is_empty())
}

/// Appends `s` as a JSON string literal.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escape.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Reads the JSON string literal at the start of `s`; returns its value and
/// what follows it.
fn read_json_string(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let body = s.strip_prefix('"')?;
    let end = body.find(['"', '\\'])?;
    if body.as_bytes()[end] == b'"' {
        return Some((Cow::Borrowed(&body[..end]), &body[end + 1..]));
    }
    let mut value = String::from(&body[..end]);
    let mut chars = body[end..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(value), &body[end + i + 1..])),
            '\\' => {
                let decoded = match chars.next()?.1 {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => read_unicode_escape(&mut chars)?,
                    _ => return None,
                };
                value.push(decoded);
            }
            c if u32::from(c) < 0x20 => return None,
            c => value.push(c),
        }
    }
    None
}

/// The character of `\uXXXX` (the `\u` already read), joining a surrogate
/// pair `\uD83D\uDE00`.
fn read_unicode_escape(chars: &mut std::str::CharIndices<'_>) -> Option<char> {
    let hex4 = |chars: &mut std::str::CharIndices<'_>| {
        (0..4).try_fold(0u32, |n, _| Some(n * 16 + chars.next()?.1.to_digit(16)?))
    };
    let first = hex4(chars)?;
    if (0xD800..0xDC00).contains(&first) {
        if chars.next()?.1 != '\\' || chars.next()?.1 != 'u' {
            return None;
        }
        let second = hex4(chars)?;
        if !(0xDC00..0xE000).contains(&second) {
            return None;
        }
        return char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
    }
    char::from_u32(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_encoded_as_the_js_client_does() {
        let cases = [
            ("message", "hi", r#"42["message","hi"]"#),
            ("message", "", r#"42["message",""]"#),
            ("m", "a\"b\\c\nd\u{1}", r#"42["m","a\"b\\c\nd\u0001"]"#),
            ("m", "é😀", r#"42["m","é😀"]"#),
        ];
        for (name, data, want) in cases {
            assert_eq!(event(name, data), want);
            let (n, d) = parse_event(want).unwrap();
            assert_eq!((n.as_ref(), d.as_ref()), (name, data));
        }
    }

    #[test]
    fn parse_event_reads_escapes_and_borrows_plain_text() {
        let (name, data) = parse_event(r#"42["message","plain"]"#).unwrap();
        assert!(matches!(name, Cow::Borrowed("message")));
        assert!(matches!(data, Cow::Borrowed("plain")));
        let (_, data) = parse_event(r#"42["m","\ud83d\ude00\/\u00e9\t"]"#).unwrap();
        assert_eq!(data, "😀/é\t");
    }

    #[test]
    fn other_packets_are_not_events() {
        for packet in [
            "40",
            r#"40{"sid":"x"}"#,
            r#"42["m",1]"#,
            r#"42["m","a","b"]"#,
            r#"42["m","a"] "#,
            r#"421["m","a"]"#,
            r#"42/chat,["m","a"]"#,
            r#"42["m","\x"]"#,
            r#"42["m","\ud83d"]"#,
            r#"42["m","open"#,
            "2",
        ] {
            assert_eq!(parse_event(packet), None, "{packet:?}");
        }
    }

    #[test]
    fn sids_come_from_open_packets_and_connect_replies() {
        let open = r#"0{"sid":"XOxdtDxAMsWGsuw3AAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(sid(open).as_deref(), Some("XOxdtDxAMsWGsuw3AAAA"));
        assert_eq!(sid(r#"40{"sid": "a-b_c"}"#).as_deref(), Some("a-b_c"));
        assert_eq!(sid("40"), None);
        assert!(is_connect_reply(r#"40{"sid":"x"}"#));
        assert!(!is_connect_reply("40"));
        assert!(is_connect_error(r#"44{"message":"no"}"#));
    }

    #[test]
    fn payloads_split_on_the_record_separator() {
        let packets: Vec<&str> =
            split_payload("2\x1e40{\"sid\":\"x\"}\x1e42[\"m\",\"a\"]").collect();
        assert_eq!(packets, ["2", r#"40{"sid":"x"}"#, r#"42["m","a"]"#]);
        assert_eq!(split_payload("").count(), 0);
    }
}
