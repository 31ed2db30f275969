//! The protocol-1 URL grammar:
//!
//! ```text
//! /{resource}/1/                          handshake
//! /{resource}/1/{transport}/{sid}         a transport of session sid
//! /{resource}/1//{sid}/?disconnect=1      the client's unload
//! ```

/// The paths one router answers for protocol-1 clients.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    /// `/{resource}/1/`.
    prefix: String,
}

/// What a protocol-1 path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'p> {
    Handshake,
    /// A request of session `sid`, on transport `transport` (empty in the
    /// client's `?disconnect` request, unchecked otherwise).
    Session {
        transport: &'p str,
        sid: &'p str,
    },
}

impl Paths {
    pub(crate) fn new(resource: &str) -> Paths {
        Paths {
            prefix: format!("/{}/1/", resource.trim_matches('/')),
        }
    }

    /// The axum path patterns that reach these paths.
    pub(crate) fn axum_patterns(&self) -> [String; 2] {
        [self.prefix.clone(), format!("{}{{*rest}}", self.prefix)]
    }

    /// Splits a request path; `None` when it is not a protocol-1 path.
    pub(crate) fn route<'p>(&self, path: &'p str) -> Option<Route<'p>> {
        let rest = path.strip_prefix(self.prefix.as_str())?;
        if rest.is_empty() {
            return Some(Route::Handshake);
        }
        // Bytes, not `split`: every protocol-1 request is routed twice (by
        // the router, then by the transport), and the segments are short.
        let slash = rest.bytes().position(|b| b == b'/')?;
        let (transport, after) = (&rest[..slash], &rest[slash + 1..]);
        let end = after.bytes().position(|b| b == b'/').unwrap_or(after.len());
        let (sid, tail) = after.split_at(end);
        // A trailing `/` is allowed (the `?disconnect` URL has one).
        (!sid.is_empty() && matches!(tail, "" | "/")).then_some(Route::Session { transport, sid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        let paths = Paths::new("socket.io");
        assert_eq!(paths.route("/socket.io/1/"), Some(Route::Handshake));
        assert_eq!(
            paths.route("/socket.io/1/websocket/abc"),
            Some(Route::Session {
                transport: "websocket",
                sid: "abc"
            })
        );
        assert_eq!(
            paths.route("/socket.io/1//abc/"),
            Some(Route::Session {
                transport: "",
                sid: "abc"
            })
        );
        for other in [
            "/socket.io/1",
            "/socket.io/2/",
            "/socket.io/1/websocket",
            "/socket.io/1/websocket/",
            "/socket.io/1/xhr-polling/abc/1/2",
            "/socket.io/1/xhr-polling/abc//",
            "/socket.io/websocket",
            "/other/1/",
        ] {
            assert_eq!(paths.route(other), None, "{other}");
        }
        let nested = Paths::new("/a/b/");
        assert_eq!(nested.route("/a/b/1/"), Some(Route::Handshake));
        assert_eq!(
            nested.axum_patterns(),
            ["/a/b/1/".to_owned(), "/a/b/1/{*rest}".to_owned()]
        );
    }
}
