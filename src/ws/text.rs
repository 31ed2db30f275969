//! [`Text`]: UTF-8 text that is cheap to clone, what a text frame and an
//! encoded packet are: a broadcast shares one.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Shared or static UTF-8 text. A `String` is shared without copying it.
#[derive(Clone)]
pub(crate) enum Text {
    Static(&'static str),
    Shared(Arc<String>),
}

impl Text {
    pub(crate) const fn from_static(text: &'static str) -> Text {
        Text::Static(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::Static(text) => text,
            Text::Shared(text) => text,
        }
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::Static("")
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::Shared(Arc::new(text))
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::Shared(Arc::new(text.to_owned()))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
