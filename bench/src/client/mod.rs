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

/// An `io::Error` with kind `Other` and the given text.
pub(crate) fn error(text: impl Into<String>) -> io::Error {
    io::Error::other(text.into())
}
