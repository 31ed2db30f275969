//! Why a cluster-wide operation did not complete.

use std::time::Duration;

use serde_json::Value;

/// A cluster-wide operation (fetching sockets, listing rooms, counting
/// servers) did not complete. Operations that only send (broadcasts,
/// joins) never fail: what cannot be published is logged and dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// Some servers did not answer in time; the others' answers are lost
    /// with it. A server that left the cluster is not waited for.
    #[error("{answered} of {expected} servers answered within {timeout:?}")]
    Timeout {
        /// The servers that answered.
        answered: usize,
        /// The servers asked (this one excluded).
        expected: usize,
        /// How long the request waited.
        timeout: Duration,
    },
    /// The cluster cannot be reached now (its broker is down); the adapter
    /// reconnects by itself.
    #[error("the cluster is unreachable: {0}")]
    Unavailable(String),
    /// What was to be sent could not be encoded (JSON serialisation, or
    /// the adapter's wire format).
    #[error("cannot encode the request: {0}")]
    Encode(String),
}

/// A server-side event with acknowledgement did not get every server's
/// answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("not every server acknowledged ({} answers came)", .responses.len())]
#[non_exhaustive]
pub struct ServerAckError {
    /// What went wrong.
    #[source]
    pub error: AdapterError,
    /// The answers that did come, one per server.
    pub responses: Vec<Value>,
}

impl ServerAckError {
    /// An error, with the answers that came before it.
    pub fn new(error: AdapterError, responses: Vec<Value>) -> ServerAckError {
        ServerAckError { error, responses }
    }
}
