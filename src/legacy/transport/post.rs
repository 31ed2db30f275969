//! The POST side shared by every HTTP transport: a form with one field,
//! `data`, holding framed messages.

use std::time::Duration;

use axum::body::Body;
use http::{Request, Response, header};
use http_body_util::{BodyExt, Limited};

use crate::DisconnectReason;
use crate::Transport;
use crate::error::Reject;
use crate::legacy::Core;
use crate::protocol::legacy;

/// How long a client may take to send a POST body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Delivers the messages of a POST to session `id` and answers `ok`.
pub(crate) async fn receive(
    core: &Core,
    transport: Transport,
    id: &str,
    request: Request<Body>,
) -> Result<Response<Body>, Reject> {
    let session = core.find(id, transport)?;
    let limit = core.settings.max_body_size;
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit as u64) {
        return Err(Reject::TooLarge);
    }
    let body = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(request.into_body(), limit).collect(),
    )
    .await
    .map_err(|_| Reject::BadRequest("request body too slow".into()))?
    .map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            Reject::TooLarge
        } else {
            Reject::BadRequest("request body cut short".into())
        }
    })?
    .to_bytes();
    let frames = form_data(&body)
        .and_then(|data| decode(transport, &data))
        .map_err(|problem| {
            tracing::warn!(session = %id, %problem, "malformed POST; closing the session");
            session.close(DisconnectReason::ParseError);
            Reject::BadRequest(problem)
        })?;
    if !session.deliver(frames).await {
        return Err(Reject::UnknownSession);
    }
    Ok(super::text_response("text/plain; charset=UTF-8", "ok"))
}

/// The messages of a POST's `data` field.
///
/// jsonp-polling posts an HTML form, and browsers normalise a textarea's
/// line breaks to CRLF, so a message holding `\n` arrives one unit longer
/// per line break than its length says. When a payload does not decode for
/// that reason, the line breaks are put back as the client wrote them.
fn decode(transport: Transport, data: &str) -> Result<Vec<legacy::Frame>, String> {
    match legacy::decode(data) {
        Ok(frames) => Ok(frames),
        Err(error) if transport == Transport::JsonpPolling && data.contains("\r\n") => {
            undo_form_line_breaks(data)
                .and_then(|restored| legacy::decode(&restored).ok())
                .ok_or_else(|| error.to_string())
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Re-frames a payload whose `\n`s a form submit turned into `\r\n`.
///
/// Message by message: the data is taken as sent when its length fits
/// (the message really held `\r\n`, or no line break), else with each
/// `\r\n` counted as the one `\n` the client wrote. A length fits when
/// the next message, or the end, follows it. `None` when neither fits.
fn undo_form_line_breaks(posted: &str) -> Option<String> {
    const MARKER: &str = "~m~";
    let mut restored = String::with_capacity(posted.len());
    let mut rest = posted;
    while !rest.is_empty() {
        let after_marker = rest.strip_prefix(MARKER)?;
        let digits = after_marker.find(|c: char| !c.is_ascii_digit())?;
        let units: usize = after_marker[..digits].parse().ok()?;
        let data = after_marker[digits..].strip_prefix(MARKER)?;
        let fits = |end: usize| data[end..].is_empty() || data[end..].starts_with(MARKER);
        let (end, text) = match take_units(data, units, false).filter(|&end| fits(end)) {
            Some(end) => (end, data[..end].to_owned()),
            None => {
                let end = take_units(data, units, true).filter(|&end| fits(end))?;
                (end, data[..end].replace("\r\n", "\n"))
            }
        };
        restored.push_str(&rest[..rest.len() - data.len()]);
        restored.push_str(&text);
        rest = &data[end..];
    }
    Some(restored)
}

/// The byte offset where `units` UTF-16 units of `data` end, counting each
/// `\r\n` as one unit when `crlf_as_one`; `None` past the end of `data` or
/// through the middle of a character.
fn take_units(data: &str, units: usize, crlf_as_one: bool) -> Option<usize> {
    let mut counted = 0;
    let mut chars = data.char_indices().peekable();
    while counted < units {
        let (_, c) = chars.next()?;
        if crlf_as_one && c == '\r' && chars.peek().is_some_and(|&(_, next)| next == '\n') {
            chars.next();
        }
        counted += c.len_utf16();
    }
    if counted != units {
        return None;
    }
    Some(chars.peek().map_or(data.len(), |&(at, _)| at))
}

/// The `data` field of an `application/x-www-form-urlencoded` body,
/// strictly decoded (invalid percent-encoded UTF-8 is an error).
pub(crate) fn form_data(body: &[u8]) -> Result<String, String> {
    for pair in body.split(|&b| b == b'&') {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        if name == b"data" {
            return String::from_utf8(crate::query::decode_bytes(value))
                .map_err(|_| "form field `data` is not valid UTF-8".to_owned());
        }
    }
    Err("form field `data` is missing".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_data_field() {
        assert_eq!(form_data(b"data=~m~2~m~hi").unwrap(), "~m~2~m~hi");
        assert_eq!(
            form_data(b"x=1&data=a+b%20c%F0%9F%98%80").unwrap(),
            "a b c😀"
        );
        assert_eq!(form_data(b"data=").unwrap(), "");
        assert!(form_data(b"other=1").is_err());
        assert!(form_data(b"data=%FF%FE").is_err());
        assert!(form_data(b"").is_err());
    }

    #[test]
    fn undoes_the_crlf_of_form_posts_on_jsonp_only() {
        let text = |frames: Vec<legacy::Frame>| -> Vec<String> {
            frames
                .into_iter()
                .map(|frame| match frame {
                    legacy::Frame::Text(text) => text,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        // What the client framed, then what a browser form posted.
        let cases: [(&[&str], &str); 5] = [
            (&["a\nb\nc", "d"], "~m~5~m~a\r\nb\r\nc~m~1~m~d"),
            (&["cr\r\nlf", "x\n"], "~m~6~m~cr\r\nlf~m~2~m~x\r\n"),
            (&["\n", "~m~1~m~"], "~m~1~m~\r\n~m~7~m~~m~1~m~"),
            (&["😀\n"], "~m~3~m~😀\r\n"),
            (&["a\r\n"], "~m~3~m~a\r\n"),
        ];
        for (sent, posted) in cases {
            assert_eq!(
                text(decode(Transport::JsonpPolling, posted).unwrap()),
                sent,
                "{posted:?}"
            );
        }
        assert!(decode(Transport::XhrPolling, "~m~5~m~a\r\nb\r\nc").is_err());
        for hopeless in [
            "~m~9~m~a\r\nb",
            "~m~2~m~😀\r\n",
            "~m~1~m~a\r\nb\r\n",
            "x\r\n",
        ] {
            assert!(
                decode(Transport::JsonpPolling, hopeless).is_err(),
                "{hopeless:?}"
            );
        }
    }
}
