//! Ping: measure the round trip per transport.
//!
//! The server side of TornadIO's `examples/ping`: the page sends a JSON object
//! carrying its own timestamp, the server adds a `server` field with its own
//! time (milliseconds since the Unix epoch) and sends the object back; the page
//! shows the round-trip time of each message and the running average.
//!
//! ```text
//! cargo run --example ping                # then open http://127.0.0.1:8001/
//! ```

#[path = "../common/mod.rs"]
mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tornadio::{Connection, Message, Router, Socket};

struct Ping;

impl Connection for Ping {
    async fn on_message(&mut self, socket: &Socket, message: Message) {
        let reply = match message {
            Message::Json(Value::Object(mut object)) => {
                object.insert("server".to_owned(), Value::from(now_millis()));
                Message::Json(Value::Object(object))
            }
            // Anything else comes back as it was.
            other => other,
        };
        let _ = socket.send(reply);
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::from_args("ping");
    common::init_logging();

    let app = common::pages(include_str!("index.html")).merge(Router::new(|| Ping));
    common::serve(app, &options).await
}
