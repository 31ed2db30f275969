//! tornadio on the current protocol (Engine.IO v4 / Socket.IO v5), the
//! server the v5 scenarios compare with socketioxide, node socket.io and
//! the bare baselines.
//!
//! One router serves every client generation, so this is the same server as
//! the 0.6 scenarios' ([`super::tornadio`]): its `Connection` types echo a
//! message to its sender, or broadcast it to every socket; a current
//! client's `message` event reaches `on_message`, and `send` answers it with
//! a `message` event.

use std::io;

use super::Mode;

/// Whether tornadio speaks the current protocol, so the v5 scenarios run it.
pub const AVAILABLE: bool = true;

pub async fn serve(
    mode: Mode,
    redis: Option<String>,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    super::tornadio::serve(mode, redis, stop).await
}
