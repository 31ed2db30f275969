//! The Flash socket policy: what a Flash client asks before it may open a
//! socket (flashsocket), answered on its own port (843) and inline on the
//! HTTP port.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// What a Flash client sends: `<policy-file-request/>` and a NUL byte.
pub(crate) const POLICY_REQUEST: &[u8] = b"<policy-file-request/>\0";

/// Served when no policy file is given: any domain, any port.
pub(crate) const DEFAULT_POLICY: &str = concat!(
    "<?xml version=\"1.0\"?>\n",
    "<!DOCTYPE cross-domain-policy SYSTEM \"http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd\">\n",
    "<cross-domain-policy>\n",
    "  <allow-access-from domain=\"*\" to-ports=\"*\"/>\n",
    "</cross-domain-policy>\n",
);

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the first bytes of a new connection are a policy request. Only
/// peeks: an HTTP request is left untouched for the HTTP server. Waits for
/// those bytes no longer than `patience` (nor than the policy request
/// timeout), so that a silent client is handed to the HTTP server's own
/// header timeout soon enough.
pub(crate) async fn wants_policy(stream: &TcpStream, patience: Duration) -> bool {
    let mut buf = [0u8; 32];
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT.min(patience);
    loop {
        let read = tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await;
        let Ok(Ok(n)) = read else { return false };
        let seen = &buf[..n];
        // The NUL is optional: some clients stop at the closing `>`.
        let without_nul = &POLICY_REQUEST[..POLICY_REQUEST.len() - 1];
        if n == 0 || !(POLICY_REQUEST.starts_with(seen) || seen.starts_with(POLICY_REQUEST)) {
            return false;
        }
        if n >= without_nul.len() {
            return true;
        }
        // A prefix of the request so far: give the rest a moment to arrive.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Answers one policy request on `stream`, then closes it.
pub(crate) async fn answer(mut stream: TcpStream, policy: &[u8]) {
    let mut request = [0u8; 64];
    let mut read = 0;
    let consumed = tokio::time::timeout(REQUEST_TIMEOUT, async {
        while read < POLICY_REQUEST.len() - 1 {
            match stream.read(&mut request[read..]).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => read += n,
            }
        }
        true
    })
    .await;
    if !matches!(consumed, Ok(true))
        || !request[..read].starts_with(&POLICY_REQUEST[..POLICY_REQUEST.len() - 1])
    {
        return;
    }
    // A client that does not read its answer must not hold the connection.
    let answered = tokio::time::timeout(REQUEST_TIMEOUT, async {
        stream.write_all(policy).await?;
        stream.write_all(b"\0").await?;
        stream.shutdown().await
    })
    .await;
    if matches!(answered, Ok(Ok(()))) {
        tracing::debug!("answered a Flash policy request");
    }
}

/// Serves the policy on its own port until `shutdown`.
pub(crate) async fn serve(listener: TcpListener, policy: Arc<[u8]>, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let policy = Arc::clone(&policy);
                tokio::spawn(async move { answer(stream, &policy).await });
            }
            Err(error) => {
                tracing::warn!(%error, "Flash policy server could not accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
