//! Engine.IO v4 / Socket.IO v5 clients (socket.io-client 3.x and 4.x speak
//! this): [`WsClient`] (websocket) and [`PollingClient`] (HTTP long
//! polling), and the [`codec`] of the few packets they need.
//!
//! Both connect to the namespace `/` (send `40`, wait for `40{"sid":..}`),
//! answer pings (`2` → `3`) themselves, and hand every Engine.IO message
//! packet (`42["message",..]` and the like) to the caller as it came.

pub mod codec;
mod polling;
mod ws;

pub use polling::PollingClient;
pub use ws::WsClient;
