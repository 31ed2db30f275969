//! Application callbacks run under a guard: a panic in one closes its own
//! session, never another's, and never leaves a session half-registered.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

/// Runs an application callback; a panic in it is caught, logged, and
/// reported as `None`.
pub(crate) async fn guarded<T>(callback: &str, future: impl Future<Output = T>) -> Option<T> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(value) => Some(value),
        Err(_) => {
            tracing::error!(
                callback,
                "application callback panicked; closing its session"
            );
            None
        }
    }
}
