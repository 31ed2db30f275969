//! Socket.IO 0.6 clients: [`WsClient`] (websocket) and [`PollingClient`]
//! (xhr-polling).
//!
//! Errors are `std::io::Error`: a load generator only needs to know that a
//! session broke and why, in words.

mod form;
pub(crate) mod polling;
mod ws;

pub use form::{form_decode, form_encode};
pub use polling::PollingClient;
pub use ws::WsClient;

use std::io;
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// An `io::Error` with kind `Other` and the given text.
pub(crate) fn error(text: impl Into<String>) -> io::Error {
    io::Error::other(text.into())
}

/// The WebSocket every client of the bench speaks over.
pub(crate) type Stream = WebSocketStream<TcpStream>;

/// Opens `ws://{addr}{path}`, Nagle off.
pub(crate) async fn open(addr: SocketAddr, path: &str) -> io::Result<Stream> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let url = format!("ws://{addr}{path}");
    // tungstenite's default 128 KiB read buffer is zero-filled, so
    // resident: 10,000 clients would need 1.3 GB. Messages here are small.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (stream, _response) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .map_err(|e| error(format!("websocket handshake: {e}")))?;
    Ok(stream)
}

/// Sends one text message.
pub(crate) async fn send_text(stream: &mut Stream, text: impl Into<Utf8Bytes>) -> io::Result<()> {
    stream
        .send(Message::text(text))
        .await
        .map_err(|e| error(format!("websocket send: {e}")))
}

/// The next text message, control frames skipped; the server's close is
/// an error.
///
/// Cancel-safe: a message is taken off the connection only when returned.
pub(crate) async fn next_text(stream: &mut Stream) -> io::Result<Utf8Bytes> {
    loop {
        let message = stream
            .next()
            .await
            .ok_or_else(|| error("websocket closed by the server"))?
            .map_err(|e| error(format!("websocket receive: {e}")))?;
        match message {
            Message::Text(text) => return Ok(text),
            Message::Close(frame) => {
                return Err(error(format!("websocket closed by the server: {frame:?}")));
            }
            _ => {}
        }
    }
}

/// Closes the WebSocket politely.
pub(crate) async fn close(mut stream: Stream) -> io::Result<()> {
    stream
        .close(None)
        .await
        .map_err(|e| error(format!("websocket close: {e}")))
}
