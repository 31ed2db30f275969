//! The Socket.IO 0.6 framing, client side: `~m~LEN~m~DATA`, LEN in UTF-16
//! code units (JavaScript `String.length`).
//!
//! Pure functions over `&str`, no IO. The library keeps its own codec
//! crate-private; this one is deliberately independent so the bench checks
//! the wire format from the outside.

use std::fmt;

const MARKER: &str = "~m~";
const HEARTBEAT: &str = "~h~";
const JSON: &str = "~j~";

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `~h~N`: a heartbeat; the client must send the same frame back.
    Heartbeat(String),
    /// `~j~JSON`: a JSON value, kept as its source text.
    Json(String),
    /// Anything else: plain text (the first message of a session is its id).
    Text(String),
}

impl Frame {
    /// Classifies the DATA part of one message.
    pub fn from_data(data: &str) -> Frame {
        if let Some(n) = data.strip_prefix(HEARTBEAT) {
            Frame::Heartbeat(n.to_owned())
        } else if let Some(json) = data.strip_prefix(JSON) {
            Frame::Json(json.to_owned())
        } else {
            Frame::Text(data.to_owned())
        }
    }

    /// The DATA part this frame is carried as.
    pub fn data(&self) -> String {
        match self {
            Frame::Heartbeat(n) => format!("{HEARTBEAT}{n}"),
            Frame::Json(json) => format!("{JSON}{json}"),
            Frame::Text(text) => text.clone(),
        }
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The payload (or the part after a complete message) does not start with `~m~`.
    MissingMarker(usize),
    /// LEN is missing, not decimal, or not followed by `~m~`.
    BadLength(usize),
    /// LEN points past the end of the payload or into the middle of a character.
    Truncated(usize),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::MissingMarker(at) => write!(f, "no ~m~ marker at byte {at}"),
            DecodeError::BadLength(at) => write!(f, "bad length at byte {at}"),
            DecodeError::Truncated(at) => write!(f, "message truncated at byte {at}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Length of `s` in UTF-16 code units, the unit of LEN.
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Appends one framed message carrying `data` to `out`.
pub fn encode_into(out: &mut String, data: &str) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(out, "{MARKER}{}{MARKER}{data}", utf16_len(data));
}

/// Frames one message.
pub fn encode(data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 12);
    encode_into(&mut out, data);
    out
}

/// Frames several messages as one payload (a batch).
pub fn encode_batch<'a>(data: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for d in data {
        encode_into(&mut out, d);
    }
    out
}

/// Splits a payload into the DATA parts of its messages, without copying.
pub fn split(payload: &str) -> Result<Vec<&str>, DecodeError> {
    let mut parts = Vec::new();
    let mut rest = payload;
    let mut at = 0;
    while !rest.is_empty() {
        let after_marker = rest
            .strip_prefix(MARKER)
            .ok_or(DecodeError::MissingMarker(at))?;
        let digits = after_marker
            .find(MARKER)
            .ok_or(DecodeError::BadLength(at))?;
        let len_text = &after_marker[..digits];
        if len_text.is_empty()
            || len_text.len() > 10
            || !len_text.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(DecodeError::BadLength(at));
        }
        let units: usize = len_text.parse().map_err(|_| DecodeError::BadLength(at))?;
        let body = &after_marker[digits + MARKER.len()..];
        let body_at = at + MARKER.len() + digits + MARKER.len();
        let end = byte_offset_of_units(body, units).ok_or(DecodeError::Truncated(body_at))?;
        parts.push(&body[..end]);
        rest = &body[end..];
        at = body_at + end;
    }
    Ok(parts)
}

/// Decodes a payload into frames.
pub fn decode(payload: &str) -> Result<Vec<Frame>, DecodeError> {
    Ok(split(payload)?.into_iter().map(Frame::from_data).collect())
}

/// The byte offset in `s` after `units` UTF-16 code units, if it falls on a
/// character boundary inside `s`.
fn byte_offset_of_units(s: &str, units: usize) -> Option<usize> {
    let mut counted = 0;
    for (offset, c) in s.char_indices() {
        if counted == units {
            return Some(offset);
        }
        if counted > units {
            return None;
        }
        counted += c.len_utf16();
    }
    (counted == units).then_some(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_utf16_units() {
        assert_eq!(encode("abc"), "~m~3~m~abc");
        assert_eq!(encode("é"), "~m~1~m~é");
        assert_eq!(encode("😀"), "~m~2~m~😀");
        assert_eq!(encode(""), "~m~0~m~");
    }

    #[test]
    fn batches_round_trip() {
        let parts = ["sid123", "~h~1", "~j~{\"a\":\"😀é\"}", "plain 😀 text", ""];
        let payload = encode_batch(parts);
        assert_eq!(split(&payload).unwrap(), parts);
        assert_eq!(
            decode(&payload).unwrap()[..3],
            [
                Frame::Text("sid123".into()),
                Frame::Heartbeat("1".into()),
                Frame::Json("{\"a\":\"😀é\"}".into())
            ]
        );
    }

    #[test]
    fn frames_give_back_their_data() {
        for data in ["~h~7", "~j~[1]", "hello"] {
            assert_eq!(Frame::from_data(data).data(), data);
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let cases = [
            ("x", DecodeError::MissingMarker(0)),
            ("~m~", DecodeError::BadLength(0)),
            ("~m~~m~", DecodeError::BadLength(0)),
            ("~m~a~m~x", DecodeError::BadLength(0)),
            ("~m~5~m~abc", DecodeError::Truncated(7)),
            ("~m~99999999999999~m~abc", DecodeError::BadLength(0)),
            ("~m~1~m~😀", DecodeError::Truncated(7)),
            ("~m~1~m~ab", DecodeError::MissingMarker(8)),
        ];
        for (input, want) in cases {
            assert_eq!(split(input), Err(want), "input {input:?}");
        }
        assert_eq!(split(""), Ok(vec![]));
    }
}
