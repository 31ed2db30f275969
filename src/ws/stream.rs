//! A server WebSocket over any byte stream, lean when idle: nothing is
//! buffered between messages. A read lands in a per-thread scratch buffer
//! and is parsed there; only a frame cut by the read's end is kept. Writes
//! go out as one vectored write of headers and the payloads in place.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::frame::{self, MAX_HEADER, Opcode, Violation};

/// Bytes read from the network at once, per thread.
const SCRATCH: usize = 16 * 1024;
/// Frames written in one system call at most.
const BATCH: usize = 256;

thread_local! {
    static SCRATCH_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; SCRATCH].into_boxed_slice());
}

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Text(String),
    Binary(Bytes),
    /// The client closed, with its close code if it gave one (already
    /// answered).
    Close(Option<u16>),
}

/// Why a read failed.
#[derive(Debug)]
pub(crate) enum Error {
    Io(io::Error),
    /// The client broke the protocol (or a limit); the connection must be
    /// failed with the violation's close code.
    Violation(Violation),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(error) => write!(f, "websocket IO error: {error}"),
            Error::Violation(violation) => violation.fmt(f),
        }
    }
}

/// A message to send, its bytes shared or owned.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    Text(super::Text),
    OwnedText(String),
    Binary(Bytes),
}

impl Payload {
    fn frame(&self) -> (Opcode, &[u8]) {
        match self {
            Payload::Text(text) => (Opcode::Text, text.as_bytes()),
            Payload::OwnedText(text) => (Opcode::Text, text.as_bytes()),
            Payload::Binary(data) => (Opcode::Binary, data),
        }
    }
}

/// A server-side WebSocket on `S`.
pub(crate) struct Ws<S> {
    io: S,
    max_message: usize,
    /// Read bytes not yet parsed: a frame the last read cut short.
    pending: Vec<u8>,
    /// A fragmented message being assembled: its opcode and payload.
    assembling: Option<(Opcode, Vec<u8>)>,
    /// Control frames (pongs, the close answer) still to write.
    out: Vec<u8>,
    /// The close handshake happened (either side): no more data frames.
    closed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Ws<S> {
    pub(crate) fn new(io: S, max_message: usize) -> Ws<S> {
        Ws {
            io,
            max_message,
            pending: Vec::new(),
            assembling: None,
            out: Vec::new(),
            closed: false,
        }
    }

    /// The next message; `None` once the connection ended without a close
    /// frame (or after one was reported). Cancel-safe.
    pub(crate) async fn next(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        // Pongs owed go out first, as far as the socket takes them now.
        if let Poll::Ready(Err(error)) = self.poll_write_out(cx) {
            return Poll::Ready(Some(Err(Error::Io(error))));
        }
        loop {
            if !self.pending.is_empty() {
                let mut pending = std::mem::take(&mut self.pending);
                let parsed = self.parse(&mut pending);
                match parsed {
                    Ok(Parsed {
                        used,
                        message,
                        need,
                    }) => {
                        pending.drain(..used);
                        pending.reserve(need.saturating_sub(pending.len()));
                        self.pending = pending;
                        if let Some(message) = message {
                            self.release_idle();
                            let _ = self.poll_write_out(cx);
                            return Poll::Ready(Some(Ok(message)));
                        }
                    }
                    Err(violation) => return Poll::Ready(Some(Err(Error::Violation(violation)))),
                }
            }
            if self.closed {
                return Poll::Ready(None);
            }
            match ready!(self.poll_read_more(cx)) {
                Ok(Some(message)) => {
                    let _ = self.poll_write_out(cx);
                    return Poll::Ready(Some(Ok(message)));
                }
                Ok(None) => {}
                Err(ReadEnd::Eof) => return Poll::Ready(None),
                Err(ReadEnd::Failed(error)) => return Poll::Ready(Some(Err(error))),
            }
        }
    }

    /// One read: into the scratch buffer when nothing is pending (parsed
    /// there, the rest kept), else onto the pending bytes.
    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, ReadEnd>> {
        if self.pending.is_empty() {
            SCRATCH_BUFFER.with_borrow_mut(|scratch| {
                let mut buf = ReadBuf::new(scratch);
                ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))
                    .map_err(|e| ReadEnd::Failed(Error::Io(e)))?;
                let read = buf.filled().len();
                if read == 0 {
                    return Poll::Ready(Err(ReadEnd::Eof));
                }
                let input = &mut scratch[..read];
                let Parsed {
                    used,
                    message,
                    need,
                } = self
                    .parse(input)
                    .map_err(|v| ReadEnd::Failed(Error::Violation(v)))?;
                let rest = &input[used..];
                self.pending.reserve(need.max(rest.len()));
                self.pending.extend_from_slice(rest);
                if message.is_some() {
                    self.release_idle();
                }
                Poll::Ready(Ok(message))
            })
        } else {
            let start = self.pending.len();
            self.pending.resize(start + SCRATCH, 0);
            let mut buf = ReadBuf::new(&mut self.pending[start..]);
            let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
            let read = buf.filled().len();
            self.pending.truncate(start + read);
            match polled {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => Poll::Ready(Err(ReadEnd::Failed(Error::Io(e)))),
                Poll::Ready(Ok(())) if read == 0 => Poll::Ready(Err(ReadEnd::Eof)),
                Poll::Ready(Ok(())) => Poll::Ready(Ok(None)),
            }
        }
    }

    /// Frees the buffers an idle connection does not need.
    fn release_idle(&mut self) {
        if self.pending.is_empty() && self.pending.capacity() > 0 {
            self.pending = Vec::new();
        }
    }

    /// Parses whole frames from `input`, unmasking in place: the bytes
    /// used, the first message completed, and the size of a frame cut
    /// short (to make room for it once, not read by read).
    fn parse(&mut self, input: &mut [u8]) -> Result<Parsed, Violation> {
        let mut at = 0;
        loop {
            let Some(header) = frame::parse_header(&input[at..], self.max_message)? else {
                return Ok(Parsed {
                    used: at,
                    message: None,
                    need: 0,
                });
            };
            let len = header.len as usize;
            let end = at + header.size + len;
            if end > input.len() {
                return Ok(Parsed {
                    used: at,
                    message: None,
                    need: end - at,
                });
            }
            let payload = &mut input[at + header.size..end];
            frame::unmask(payload, header.mask, 0);
            at = end;
            if let Some(message) = self.on_frame(header, payload)? {
                return Ok(Parsed {
                    used: at,
                    message: Some(message),
                    need: 0,
                });
            }
        }
    }

    /// Handles one unmasked frame: a whole message, a fragment, or control.
    fn on_frame(
        &mut self,
        header: frame::Header,
        payload: &[u8],
    ) -> Result<Option<Message>, Violation> {
        match header.opcode {
            Opcode::Ping => {
                self.queue(Opcode::Pong, payload);
                Ok(None)
            }
            Opcode::Pong => Ok(None),
            Opcode::Close => {
                let code = frame::close_code(payload);
                if !self.closed {
                    self.closed = true;
                    self.queue(Opcode::Close, &frame::close_payload(code.unwrap_or(1000)));
                }
                Ok(Some(Message::Close(code)))
            }
            Opcode::Text | Opcode::Binary if self.assembling.is_some() => {
                Err(Violation::Protocol("a new message inside a fragmented one"))
            }
            Opcode::Text | Opcode::Binary if header.fin => {
                message(header.opcode, payload.to_vec()).map(Some)
            }
            Opcode::Text | Opcode::Binary => {
                self.assembling = Some((header.opcode, payload.to_vec()));
                Ok(None)
            }
            Opcode::Continuation => {
                let Some((opcode, mut data)) = self.assembling.take() else {
                    return Err(Violation::Protocol("a continuation without a message"));
                };
                if data.len() + payload.len() > self.max_message {
                    return Err(Violation::TooBig);
                }
                data.extend_from_slice(payload);
                if header.fin {
                    message(opcode, data).map(Some)
                } else {
                    self.assembling = Some((opcode, data));
                    Ok(None)
                }
            }
        }
    }

    /// Queues a control frame for the next write.
    fn queue(&mut self, opcode: Opcode, payload: &[u8]) {
        let mut header = [0u8; MAX_HEADER];
        let size = frame::write_header(&mut header, opcode, payload.len());
        self.out.extend_from_slice(&header[..size]);
        self.out.extend_from_slice(payload);
    }

    /// Writes queued control frames, as far as the socket takes them.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let written = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.drain(..written);
        }
        if self.out.capacity() > 0 {
            self.out = Vec::new();
        }
        Poll::Ready(Ok(()))
    }

    /// Writes frames, each final and unmasked, in as few system calls as
    /// the socket allows: small batches are gathered in the per-thread
    /// scratch buffer and written at once (what the socket does not take
    /// now waits in the connection's own buffer), large ones go out as one
    /// vectored write of headers and payloads in place. Not cancel-safe: a
    /// write interrupted half-way leaves the stream unusable, and must be
    /// followed by dropping it.
    pub(crate) async fn send_frames<'a, I>(&mut self, frames: I) -> io::Result<()>
    where
        I: IntoIterator<Item = (Opcode, &'a [u8])> + Clone,
    {
        poll_fn(|cx| self.poll_write_out(cx)).await?;
        let total: usize = frames
            .clone()
            .into_iter()
            .map(|(_, payload)| payload.len() + MAX_HEADER)
            .sum();
        if total <= SCRATCH {
            self.write_gathered(frames, total);
            poll_fn(|cx| self.poll_write_out(cx)).await?;
        } else {
            let frames: Vec<(Opcode, &[u8])> = frames.into_iter().collect();
            self.write_vectored(&frames).await?;
        }
        poll_fn(|cx| Pin::new(&mut self.io).poll_flush(cx)).await
    }

    /// Gathers frames into the scratch buffer and writes what the socket
    /// takes without waiting; the rest goes to `out`.
    fn write_gathered<'a, I>(&mut self, frames: I, total: usize)
    where
        I: IntoIterator<Item = (Opcode, &'a [u8])>,
    {
        SCRATCH_BUFFER.with_borrow_mut(|scratch| {
            let mut len = 0;
            for (opcode, payload) in frames {
                let mut header = [0u8; MAX_HEADER];
                let size = frame::write_header(&mut header, opcode, payload.len());
                scratch[len..len + size].copy_from_slice(&header[..size]);
                len += size;
                scratch[len..len + payload.len()].copy_from_slice(payload);
                len += payload.len();
            }
            debug_assert!(len <= total);
            let gathered = &scratch[..len];
            let written = if self.out.is_empty() {
                let waker = std::task::Waker::noop();
                let mut cx = Context::from_waker(waker);
                match Pin::new(&mut self.io).poll_write(&mut cx, gathered) {
                    Poll::Ready(Ok(written)) => written,
                    // A failed write shows again on the next one.
                    _ => 0,
                }
            } else {
                0
            };
            self.out.extend_from_slice(&gathered[written..]);
        });
    }

    /// One vectored write of headers and payloads in place, retried until
    /// all went out.
    async fn write_vectored(&mut self, frames: &[(Opcode, &[u8])]) -> io::Result<()> {
        for batch in frames.chunks(BATCH) {
            // On the heap: this future lives in a session's task, whose size
            // every idle connection pays.
            let mut headers = vec![0u8; batch.len() * MAX_HEADER];
            let mut sizes = Vec::with_capacity(batch.len());
            for (i, (opcode, payload)) in batch.iter().enumerate() {
                let mut header = [0u8; MAX_HEADER];
                let size = frame::write_header(&mut header, *opcode, payload.len());
                headers[i * MAX_HEADER..i * MAX_HEADER + size].copy_from_slice(&header[..size]);
                sizes.push(size);
            }
            let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(batch.len() * 2);
            for (i, (_, payload)) in batch.iter().enumerate() {
                slices.push(IoSlice::new(
                    &headers[i * MAX_HEADER..i * MAX_HEADER + sizes[i]],
                ));
                if !payload.is_empty() {
                    slices.push(IoSlice::new(payload));
                }
            }
            let mut remaining: &mut [IoSlice<'_>] = &mut slices;
            while !remaining.is_empty() {
                let written =
                    poll_fn(|cx| Pin::new(&mut self.io).poll_write_vectored(cx, remaining)).await?;
                if written == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                IoSlice::advance_slices(&mut remaining, written);
            }
        }
        Ok(())
    }

    /// [`send_frames`](Self::send_frames) of a slice.
    pub(crate) async fn send_all(&mut self, frames: &[(Opcode, &[u8])]) -> io::Result<()> {
        self.send_frames(frames.iter().copied()).await
    }

    /// Sends messages, in as few system calls as the socket allows.
    pub(crate) async fn send(&mut self, payloads: &[Payload]) -> io::Result<()> {
        self.send_frames(payloads.iter().map(Payload::frame)).await
    }

    /// Sends a close frame with `code` (unless the client closed first) and
    /// ends the stream.
    pub(crate) async fn close(&mut self, code: u16) -> io::Result<()> {
        if !self.closed {
            self.closed = true;
            let payload = frame::close_payload(code);
            self.send_all(&[(Opcode::Close, &payload)]).await?;
        } else {
            poll_fn(|cx| self.poll_write_out(cx)).await?;
        }
        poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await
    }
}

/// What one parse gave.
struct Parsed {
    used: usize,
    message: Option<Message>,
    /// Bytes of a frame started but not whole yet.
    need: usize,
}

/// How reading ended.
enum ReadEnd {
    Eof,
    Failed(Error),
}

/// A whole message from its opcode and unmasked payload.
fn message(opcode: Opcode, payload: Vec<u8>) -> Result<Message, Violation> {
    match opcode {
        Opcode::Text => String::from_utf8(payload)
            .map(Message::Text)
            .map_err(|_| Violation::NotUtf8),
        _ => Ok(Message::Binary(Bytes::from(payload))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x11, 0x22, 0x33, 0x44];
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
        frame::unmask(&mut masked, mask, 0);
        frame.extend_from_slice(&masked);
        frame
    }

    fn pair(max: usize) -> (Ws<DuplexStream>, DuplexStream) {
        let (server, client) = tokio::io::duplex(1 << 20);
        (Ws::new(server, max), client)
    }

    #[tokio::test]
    async fn reads_messages_whole_split_and_fragmented() {
        let (mut ws, mut client) = pair(1 << 20);
        // Two messages in one write, then one written a byte at a time.
        let mut bytes = client_frame(0x81, "héllo".as_bytes());
        bytes.extend(client_frame(0x82, &[1, 2, 3]));
        client.write_all(&bytes).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Text("héllo".into())
        );
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Binary(Bytes::from_static(&[1, 2, 3]))
        );
        let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let frame = client_frame(0x82, &big);
        let writer = tokio::spawn(async move {
            for chunk in frame.chunks(1000) {
                client.write_all(chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Binary(Bytes::from(big))
        );
        let mut client = writer.await.unwrap();
        // A fragmented text with a ping in the middle: the ping is answered.
        let mut bytes = client_frame(0x01, b"par");
        bytes.extend(client_frame(0x89, b"p"));
        bytes.extend(client_frame(0x80, b"ts"));
        client.write_all(&bytes).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Text("parts".into())
        );
        let mut pong = [0u8; 3];
        client.read_exact(&mut pong).await.unwrap();
        assert_eq!(pong, [0x8A, 1, b'p']);
        assert!(
            ws.pending.capacity() == 0,
            "an idle connection keeps no read buffer"
        );
        // The close handshake.
        client
            .write_all(&client_frame(0x88, &1000u16.to_be_bytes()))
            .await
            .unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Close(Some(1000))
        );
        assert!(ws.next().await.is_none());
    }

    #[tokio::test]
    async fn refuses_violations_and_oversized_messages() {
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (client_frame(0x81, &[0xFF, 0xFE]), 1007),
            (client_frame(0x80, b"x"), 1002),
            (
                {
                    let mut b = client_frame(0x01, b"a");
                    b.extend(client_frame(0x81, b"b"));
                    b
                },
                1002,
            ),
            (client_frame(0x82, &[0; 200]), 1009),
            (
                {
                    let mut b = client_frame(0x02, &[0; 60]);
                    b.extend(client_frame(0x80, &[0; 60]));
                    b
                },
                1009,
            ),
            (vec![0x81, 0x03, b'a', b'b', b'c'], 1002),
        ];
        for (bytes, code) in cases {
            let (mut ws, mut client) = pair(100);
            client.write_all(&bytes).await.unwrap();
            match ws.next().await {
                Some(Err(Error::Violation(v))) => assert_eq!(v.close_code(), code, "{bytes:?}"),
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn writes_frames_in_one_go_and_closes() {
        let (mut ws, mut client) = pair(1 << 20);
        let big = vec![7u8; 300];
        ws.send_all(&[(Opcode::Text, b"4hi"), (Opcode::Binary, &big)])
            .await
            .unwrap();
        let mut head = [0u8; 5];
        client.read_exact(&mut head).await.unwrap();
        assert_eq!(head, [0x81, 3, b'4', b'h', b'i']);
        let mut second = vec![0u8; 4 + 300];
        client.read_exact(&mut second).await.unwrap();
        assert_eq!(&second[..4], &[0x82, 126, 1, 44]);
        assert!(second[4..].iter().all(|&b| b == 7));
        ws.close(1009).await.unwrap();
        let mut close = [0u8; 4];
        client.read_exact(&mut close).await.unwrap();
        assert_eq!(close, [0x88, 2, 0x03, 0xF1]);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn an_abrupt_end_is_the_end() {
        let (mut ws, client) = pair(1 << 20);
        drop(client);
        assert!(ws.next().await.is_none());
    }
}
