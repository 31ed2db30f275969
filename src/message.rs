//! What a client sends and what [`Socket::send`](crate::Socket::send) accepts.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::legacy;

/// One message from or to a client.
///
/// The 0.6 client sends plain objects JSON-encoded and everything else as
/// text; tornadio decodes the JSON for you.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Text, sent and received as is.
    Text(String),
    /// A JSON value, on the wire as `~j~` followed by its JSON text.
    Json(Value),
}

impl Message {
    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text),
            Message::Json(_) => None,
        }
    }

    /// The JSON value, if this is a JSON message.
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            Message::Json(value) => Some(value),
            Message::Text(_) => None,
        }
    }

    /// Deserialises a JSON message into `T`.
    ///
    /// ```
    /// # use tornadio::Message;
    /// #[derive(serde::Deserialize)]
    /// struct Chat { text: String }
    /// let message = Message::Json(serde_json::json!({"text": "hi"}));
    /// assert_eq!(message.deserialize::<Chat>().unwrap().text, "hi");
    /// ```
    ///
    /// # Errors
    /// When the message is text, or its JSON does not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match self {
            Message::Json(value) => T::deserialize(value),
            Message::Text(text) => Err(serde::de::Error::custom(format!(
                "expected a JSON message, got text {text:?}"
            ))),
        }
    }

    /// The message as a JSON value: text as a string.
    pub fn into_value(self) -> Value {
        match self {
            Message::Text(text) => Value::String(text),
            Message::Json(value) => value,
        }
    }

    /// A JSON string is text; any other value is JSON.
    pub(crate) fn from_value(value: Value) -> Message {
        match value {
            Value::String(text) => Message::Text(text),
            other => Message::Json(other),
        }
    }

    pub(crate) fn encode(&self, out: &mut String) {
        match self {
            Message::Text(text) => legacy::encode_text(out, text),
            Message::Json(value) => legacy::encode_json(out, value),
        }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.to_owned())
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text)
    }
}

impl From<Value> for Message {
    fn from(value: Value) -> Self {
        Message::Json(value)
    }
}

/// What [`Socket::send`](crate::Socket::send) takes: one message, or a
/// batch that goes out in one transport write, one frame per element.
///
/// Text goes as is, a [`serde_json::Value`] as JSON, a `Vec` as a batch
/// (TornadIO's "list of messages"). A JSON array is one JSON message, not a
/// batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A single message.
    One(Message),
    /// Several messages, one frame each, written together.
    Batch(Vec<Message>),
}

impl From<Message> for Outgoing {
    fn from(message: Message) -> Self {
        Outgoing::One(message)
    }
}

impl From<&str> for Outgoing {
    fn from(text: &str) -> Self {
        Outgoing::One(text.into())
    }
}

impl From<String> for Outgoing {
    fn from(text: String) -> Self {
        Outgoing::One(text.into())
    }
}

impl From<&String> for Outgoing {
    fn from(text: &String) -> Self {
        Outgoing::One(text.as_str().into())
    }
}

impl From<Value> for Outgoing {
    fn from(value: Value) -> Self {
        Outgoing::One(value.into())
    }
}

impl<T: Into<Message>> From<Vec<T>> for Outgoing {
    fn from(batch: Vec<T>) -> Self {
        Outgoing::Batch(batch.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(outgoing: impl Into<Outgoing>) -> String {
        let mut out = String::new();
        match outgoing.into() {
            Outgoing::One(message) => message.encode(&mut out),
            Outgoing::Batch(messages) => messages.iter().for_each(|m| m.encode(&mut out)),
        }
        out
    }

    #[test]
    fn send_accepts_text_json_and_batches() {
        assert_eq!(wire("hi"), "~m~2~m~hi");
        assert_eq!(wire(json!({"a": 1})), "~m~10~m~~j~{\"a\":1}");
        assert_eq!(wire(json!([1, 2])), "~m~8~m~~j~[1,2]");
        assert_eq!(
            wire(vec![Message::from("a"), json!({"b": 2}).into()]),
            "~m~1~m~a~m~10~m~~j~{\"b\":2}"
        );
        assert_eq!(wire(vec!["x", "yz"]), "~m~1~m~x~m~2~m~yz");
    }
}
