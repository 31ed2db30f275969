//! RFC 6455 frames, server side, without any IO: headers parsed from and
//! written into byte slices, payloads unmasked in place.
//!
//! ```text
//! 0               1               2               3
//! F R R R opcode  M len(7)       [len(16|64)]    [mask(32)]  payload
//! ```
//!
//! No extension is negotiated, so the RSV bits must be clear; a client's
//! frames must be masked; control frames are whole and at most 125 bytes.

/// Frame opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    pub(crate) fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A client frame's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: Opcode,
    pub(crate) mask: [u8; 4],
    /// Payload length.
    pub(crate) len: u64,
    /// Bytes the header takes.
    pub(crate) size: usize,
}

/// A frame no server may accept; the connection is failed with the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    /// 1002: a malformed frame (reserved bits or opcodes, an unmasked
    /// client frame, a fragmented or oversized control frame, a
    /// continuation out of place).
    Protocol(&'static str),
    /// 1009: more than the limit.
    TooBig,
    /// 1007: a text message that is not UTF-8.
    NotUtf8,
}

impl Violation {
    pub(crate) fn close_code(self) -> u16 {
        match self {
            Violation::Protocol(_) => 1002,
            Violation::TooBig => 1009,
            Violation::NotUtf8 => 1007,
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::Protocol(what) => write!(f, "websocket protocol violation: {what}"),
            Violation::TooBig => f.write_str("websocket message over the size limit"),
            Violation::NotUtf8 => f.write_str("websocket text message is not UTF-8"),
        }
    }
}

/// Parses a client frame header at the start of `buf`; `Ok(None)` when
/// more bytes are needed. `max` bounds the payload length.
pub(crate) fn parse_header(buf: &[u8], max: usize) -> Result<Option<Header>, Violation> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    if first & 0x70 != 0 {
        return Err(Violation::Protocol("reserved bits set"));
    }
    let fin = first & 0x80 != 0;
    let opcode = Opcode::from_bits(first & 0x0F).ok_or(Violation::Protocol("reserved opcode"))?;
    if second & 0x80 == 0 {
        return Err(Violation::Protocol("unmasked client frame"));
    }
    let (len, mut size) = match second & 0x7F {
        126 => {
            let Some(bytes) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4)
        }
        127 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut eight = [0u8; 8];
            eight.copy_from_slice(bytes);
            let len = u64::from_be_bytes(eight);
            if len >> 63 != 0 {
                return Err(Violation::Protocol("64-bit length with its top bit set"));
            }
            (len, 10)
        }
        short => (u64::from(short), 2),
    };
    if opcode.is_control() && (!fin || len > 125) {
        return Err(Violation::Protocol("fragmented or oversized control frame"));
    }
    if len > max as u64 {
        return Err(Violation::TooBig);
    }
    let Some(mask) = buf.get(size..size + 4) else {
        return Ok(None);
    };
    let mask = [mask[0], mask[1], mask[2], mask[3]];
    size += 4;
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        len,
        size,
    }))
}

/// Unmasks `payload` in place; `offset` is where it starts in the frame's
/// payload (a payload read in several pieces).
pub(crate) fn unmask(payload: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut key = [0u8; 4];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = mask[(offset + i) % 4];
    }
    let word = u32::from_ne_bytes(key);
    let mut chunks = payload.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let value = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ word;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i];
    }
}

/// The largest server frame header: no mask, a 64-bit length.
pub(crate) const MAX_HEADER: usize = 10;

/// Writes an unmasked, final server frame header for a payload of `len`
/// bytes; returns the header's size.
pub(crate) fn write_header(out: &mut [u8; MAX_HEADER], opcode: Opcode, len: usize) -> usize {
    out[0] = 0x80 | opcode.bits();
    if len < 126 {
        out[1] = len as u8;
        2
    } else if len <= usize::from(u16::MAX) {
        out[1] = 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// A close frame's payload: the code, then a reason.
pub(crate) fn close_payload(code: u16) -> [u8; 2] {
    code.to_be_bytes()
}

/// The code of a received close frame's payload, if it has a valid one.
pub(crate) fn close_code(payload: &[u8]) -> Option<u16> {
    match payload {
        [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame as browsers write it.
    fn client_frame(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut frame = vec![first];
        let len = payload.len();
        if len < 126 {
            frame.push(0x80 | len as u8);
        } else if len <= 65535 {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
        frame.extend_from_slice(&mask);
        let mut masked = payload.to_vec();
        unmask(&mut masked, mask, 0);
        frame.extend_from_slice(&masked);
        frame
    }

    #[test]
    fn parses_and_unmasks_client_frames() {
        for len in [0usize, 1, 5, 125, 126, 200, 65535, 65536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let frame = client_frame(0x81, &payload, [1, 2, 3, 4]);
            let header_size = match len {
                0..=125 => 6,
                126..=65535 => 8,
                _ => 14,
            };
            for cut in 0..header_size {
                assert!(
                    matches!(parse_header(&frame[..cut], 1 << 20), Ok(None)),
                    "{len} {cut}"
                );
            }
            let header = parse_header(&frame, 1 << 20).unwrap().unwrap();
            assert_eq!(
                (header.fin, header.opcode, header.len),
                (true, Opcode::Text, len as u64)
            );
            let mut body = frame[header.size..].to_vec();
            unmask(&mut body, header.mask, 0);
            assert_eq!(body, payload);
        }
    }

    #[test]
    fn unmasking_in_pieces_equals_unmasking_at_once() {
        let data: Vec<u8> = (0..50u8).collect();
        let mask = [9, 8, 7, 6];
        let mut whole = data.clone();
        unmask(&mut whole, mask, 0);
        let mut pieces = data.clone();
        let (a, b) = pieces.split_at_mut(13);
        unmask(a, mask, 0);
        unmask(b, mask, 13);
        assert_eq!(whole, pieces);
    }

    #[test]
    fn refuses_what_a_server_must_refuse() {
        let cases: [(&[u8], Violation); 7] = [
            (
                &[0xC1, 0x80, 0, 0, 0, 0],
                Violation::Protocol("reserved bits set"),
            ),
            (
                &[0x83, 0x80, 0, 0, 0, 0],
                Violation::Protocol("reserved opcode"),
            ),
            (&[0x81, 0x05], Violation::Protocol("unmasked client frame")),
            (
                &[0x09, 0x80, 0, 0, 0, 0],
                Violation::Protocol("fragmented or oversized control frame"),
            ),
            (
                &[0x89, 0xFE, 0, 200, 0, 0, 0, 0],
                Violation::Protocol("fragmented or oversized control frame"),
            ),
            (
                &[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0],
                Violation::Protocol("64-bit length with its top bit set"),
            ),
            (&[0x82, 0xFE, 0x10, 0x00, 1, 2, 3, 4], Violation::TooBig),
        ];
        for (frame, violation) in cases {
            assert_eq!(parse_header(frame, 1024), Err(violation), "{frame:?}");
        }
    }

    #[test]
    fn writes_server_headers() {
        let mut out = [0u8; MAX_HEADER];
        assert_eq!(write_header(&mut out, Opcode::Text, 5), 2);
        assert_eq!(&out[..2], &[0x81, 5]);
        assert_eq!(write_header(&mut out, Opcode::Binary, 300), 4);
        assert_eq!(&out[..4], &[0x82, 126, 1, 44]);
        assert_eq!(write_header(&mut out, Opcode::Close, 70_000), 10);
        assert_eq!(&out[..10], &[0x88, 127, 0, 0, 0, 0, 0, 1, 17, 112]);
        assert_eq!(close_code(&close_payload(1009)), Some(1009));
        assert_eq!(close_code(&[3]), None);
    }
}

/// Property tests: header parsing never panics on arbitrary bytes, and
/// every frame a client may write parses back to what it carried.
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::testing::proptest_config as config;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(config(20_000))]

        #[test]
        fn parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..24), max in 0usize..100_000) {
            let _ = parse_header(&bytes, max);
        }

        #[test]
        fn frames_round_trip(
            payload in prop::collection::vec(any::<u8>(), 0..300),
            mask in any::<[u8; 4]>(),
            binary in any::<bool>(),
        ) {
            let opcode = if binary { Opcode::Binary } else { Opcode::Text };
            let mut out = [0u8; MAX_HEADER];
            let size = write_header(&mut out, opcode, payload.len());
            // A server header with the mask bit and key added is a client's.
            let mut frame = out[..size].to_vec();
            frame[1] |= 0x80;
            frame.extend_from_slice(&mask);
            let mut masked = payload.clone();
            unmask(&mut masked, mask, 0);
            frame.extend_from_slice(&masked);
            let header = parse_header(&frame, 1 << 20).unwrap().unwrap();
            prop_assert_eq!(header.opcode, opcode);
            prop_assert_eq!(header.len, payload.len() as u64);
            let mut body = frame[header.size..].to_vec();
            unmask(&mut body, header.mask, 0);
            prop_assert_eq!(body, payload);
        }
    }
}
