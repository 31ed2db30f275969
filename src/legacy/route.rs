//! The 0.6 URL grammar: `/{resource}[{extra_sep}{extra}]/{transport}/...`.

use regex::Regex;

use crate::Transport;

/// The paths one router answers for 0.6 clients.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) resource: String,
    pub(crate) extra_re: Option<String>,
    pub(crate) extra_sep: String,
    path: Regex,
}

/// The parts of a request path after the resource.
pub(crate) struct Route<'p> {
    pub(crate) extra: Option<String>,
    pub(crate) transport: Transport,
    /// The path after the transport: empty, or `/` and its segments
    /// (session id, then the rest), split only when asked for.
    rest: &'p str,
}

impl<'p> Route<'p> {
    /// The session id in the URL; empty when the request opens a session.
    pub(crate) fn session_id(&self) -> &'p str {
        self.segment(0).unwrap_or("")
    }

    /// Segment `index` after the transport (0: the session id).
    pub(crate) fn segment(&self, index: usize) -> Option<&'p str> {
        self.segments().nth(index)
    }

    /// The segments after the transport.
    pub(crate) fn segments(&self) -> impl Iterator<Item = &'p str> + use<'p> {
        self.rest.split('/').skip(1)
    }
}

impl Paths {
    /// # Panics
    /// When `extra_re` is not a valid regular expression: a router is
    /// built once at start-up, from constants.
    pub(crate) fn new(resource: &str, extra_re: Option<&str>, extra_sep: &str) -> Paths {
        let resource = resource.trim_matches('/').to_owned();
        let escaped = regex::escape(&resource);
        let extra = match extra_re {
            Some(re) => format!("{}(?P<extra>{re})", regex::escape(extra_sep)),
            None => String::new(),
        };
        let pattern = format!("^/{escaped}{extra}/(?P<transport>[a-z-]+)(?P<rest>/.*)?$");
        let path =
            Regex::new(&pattern).unwrap_or_else(|e| panic!("invalid extra_re {extra_re:?}: {e}"));
        Paths {
            resource,
            extra_re: extra_re.map(str::to_owned),
            extra_sep: extra_sep.to_owned(),
            path,
        }
    }

    /// The axum path pattern that reaches these paths.
    pub(crate) fn axum_pattern(&self) -> String {
        match (&self.extra_re, self.extra_sep.ends_with('/')) {
            (Some(_), false) => format!("/{}{}{{extra}}/{{*rest}}", self.resource, self.extra_sep),
            _ => format!("/{}/{{*rest}}", self.resource),
        }
    }

    /// Splits a request path into its extra data, transport and the rest.
    #[cfg(test)]
    pub(crate) fn route<'p>(&self, path: &'p str) -> Option<Route<'p>> {
        self.locate(path).map(|located| located.route(path))
    }

    /// What [`route`](Self::route) finds, kept apart from the path: the
    /// regular expression runs once per request, not once per look.
    pub(crate) fn locate(&self, path: &str) -> Option<Located> {
        match self.extra_re {
            None => self.locate_plain(path),
            Some(_) => self.locate_by_pattern(path),
        }
    }

    /// What the pattern finds when there is no extra data, by hand: every
    /// 0.6 request is routed, and the regular expression's search costs
    /// more than the rest of the routing.
    fn locate_plain(&self, path: &str) -> Option<Located> {
        let after = path
            .strip_prefix('/')?
            .strip_prefix(self.resource.as_str())?
            .strip_prefix('/')?;
        let end = after
            .bytes()
            .position(|b| !(b.is_ascii_lowercase() || b == b'-'))
            .unwrap_or(after.len());
        let (name, tail) = after.split_at(end);
        // The pattern's `(/.*)?$`: `.` takes anything but a line feed.
        if name.is_empty() || !(tail.is_empty() || tail.starts_with('/')) || tail.contains('\n') {
            return None;
        }
        let transport = Transport::ALL.into_iter().find(|t| t.as_str() == name)?;
        Some(Located {
            extra: None,
            transport,
            rest: path.len() - tail.len(),
        })
    }

    fn locate_by_pattern(&self, path: &str) -> Option<Located> {
        let captures = self.path.captures(path)?;
        let name = captures.name("transport")?.as_str();
        let transport = Transport::ALL.into_iter().find(|t| t.as_str() == name)?;
        Some(Located {
            extra: captures.name("extra").map(|m| m.as_str().to_owned()),
            transport,
            rest: captures.name("rest").map_or(path.len(), |m| m.start()),
        })
    }
}

/// A 0.6 path's parts, without the path.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) extra: Option<String>,
    pub(crate) transport: Transport,
    /// Where the segments after the transport start in the path.
    rest: usize,
}

impl Located {
    /// The route of the path this was found in.
    pub(crate) fn route(self, path: &str) -> Route<'_> {
        let rest = path.get(self.rest..).unwrap_or("");
        Route {
            extra: self.extra,
            transport: self.transport,
            rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        let router = Paths::new("socket.io", None, "");
        let route = router.route("/socket.io/xhr-polling//1700").unwrap();
        assert_eq!(route.transport, Transport::XhrPolling);
        assert_eq!(route.segments().collect::<Vec<_>>(), ["", "1700"]);
        assert_eq!(route.segment(1), Some("1700"));
        assert_eq!(route.segment(2), None);
        assert_eq!(route.session_id(), "");
        let route = router.route("/socket.io/websocket").unwrap();
        assert_eq!(route.transport, Transport::WebSocket);
        assert_eq!(route.segments().count(), 0);
        assert_eq!(route.session_id(), "");
        assert!(router.route("/socket.io/unknown").is_none());
        assert!(router.route("/other/websocket").is_none());
        assert!(router.route("/socket.io").is_none());
    }

    #[test]
    fn captures_extra() {
        let router = Paths::new("chat", Some(r"\d+"), "/");
        let route = router.route("/chat/123/websocket").unwrap();
        assert_eq!(route.extra.as_deref(), Some("123"));
        assert!(router.route("/chat/abc/websocket").is_none());
        assert!(router.route("/chat/websocket").is_none());
        let glued = Paths::new("a/b", Some("[a-z]+"), "");
        let route = glued.route("/a/bxyz/jsonp-polling/sid/1/2").unwrap();
        assert_eq!(route.extra.as_deref(), Some("xyz"));
        assert_eq!(route.segments().collect::<Vec<_>>(), ["sid", "1", "2"]);
    }
}

/// Property tests: path matching never panics, whatever the path, and
/// splits every well-formed URL into the parts it was made of.
///
/// Each property runs `PROPTEST_CASES` cases when that variable is set,
/// otherwise its default below (together over 100,000 per run).
#[cfg(test)]
pub(crate) mod proptests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::TestRunner;

    use crate::testing::proptest_config as config;

    /// Routers with every shape of resource and extra data, built once:
    /// compiling their patterns costs more than matching thousands of paths.
    fn routers() -> &'static [Paths] {
        static ROUTERS: std::sync::OnceLock<Vec<Paths>> = std::sync::OnceLock::new();
        ROUTERS.get_or_init(|| {
            vec![
                Paths::new("socket.io", None, ""),
                Paths::new("chat", Some(r"\d+"), "/"),
                Paths::new("a/b", Some("[a-z]+"), ""),
                Paths::new("x.y", Some(".*"), ""),
            ]
        })
    }

    /// Path segments, weighted towards what a router looks at and what a
    /// hostile client tries: traversal, percent junk, NULs, odd Unicode.
    /// One mapped integer rather than a union of strategies: faster.
    fn segment() -> impl Strategy<Value = String> {
        const PIECES: [&str; 28] = [
            "socket.io",
            "chat",
            "a",
            "b",
            "x.y",
            "websocket",
            "flashsocket",
            "xhr-polling",
            "jsonp-polling",
            "htmlfile",
            "xhr-multipart",
            "send",
            "",
            "..",
            ".",
            "%2e%2e",
            "%2F",
            "%00",
            "%ZZ",
            "%",
            "%C3%28",
            "%FF%FE",
            "\0",
            "\n",
            "é",
            "😀",
            "\u{2028}",
            "123",
        ];
        (any::<u32>(), any::<char>()).prop_map(|(x, c)| {
            let (kind, n) = (x % 4, x / 4);
            match kind {
                0 | 1 => PIECES[n as usize % PIECES.len()].to_owned(),
                2 => n.to_string(),
                _ => String::from(c),
            }
        })
    }

    /// A path of up to a dozen segments, with odd separators at times, and
    /// often after a prefix that a router matches, so that hostile tails
    /// reach the transports.
    pub(crate) fn path() -> impl Strategy<Value = String> {
        const PREFIXES: [&str; 13] = [
            "",
            "",
            "/socket.io",
            "/socket.io/1",
            "/socket.io/1/xhr-polling",
            "/chat/1/jsonp-polling",
            "/socket.io/websocket",
            "/socket.io/xhr-polling",
            "/socket.io/jsonp-polling",
            "/socket.io/htmlfile",
            "/chat/12/xhr-multipart",
            "/a/bxyz/flashsocket",
            "/x.y/jsonp-polling",
        ];
        let segments = prop::collection::vec(segment(), 0..12);
        (segments, any::<u8>(), any::<u8>()).prop_map(|(segments, sep, prefix)| {
            let prefix = PREFIXES[usize::from(prefix) % PREFIXES.len()];
            let sep = match sep % 8 {
                0 => "//",
                1 => "\\",
                2 => "/./",
                _ => "/",
            };
            format!("{prefix}/{}", segments.join(sep))
        })
    }

    const ALPHANUMERIC: &[char] = &[
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'x', 'y', 'z', 'A', 'B',
        'Y', 'Z',
    ];

    /// Checks a route against the path it came from.
    fn check(router: &Paths, path: &str) -> Result<(), TestCaseError> {
        if let Some(route) = router.route(path) {
            let name = route.transport.as_str();
            let prefix = format!("/{}", router.resource);
            prop_assert!(path.starts_with(&prefix), "{path:?} matched {prefix}");
            let rest: String = route.segments().map(|s| format!("/{s}")).collect();
            prop_assert!(
                path.ends_with(&format!("/{name}{rest}")),
                "{path:?} gave transport {name} and segments {:?}",
                route.segments().collect::<Vec<_>>()
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config(35_000))]

        #[test]
        fn matching_never_panics_on_segment_soup(path in path()) {
            for router in routers() {
                check(router, &path)?;
            }
        }

        #[test]
        fn the_plain_match_is_the_pattern_s(path in path(), text in any::<String>()) {
            static PLAIN: std::sync::OnceLock<[Paths; 3]> = std::sync::OnceLock::new();
            let plain = PLAIN.get_or_init(|| {
                [
                    Paths::new("socket.io", None, ""),
                    Paths::new("x.y", None, ""),
                    Paths::new("", None, ""),
                ]
            });
            for router in plain {
                for path in [path.clone(), format!("/socket.io/{text}"), text.clone()] {
                    let by_hand = router.locate_plain(&path);
                    let by_pattern = router.locate_by_pattern(&path);
                    prop_assert_eq!(
                        by_hand.as_ref().map(|l| (l.transport, l.rest)),
                        by_pattern.as_ref().map(|l| (l.transport, l.rest)),
                        "{:?}", path
                    );
                }
            }
        }

        #[test]
        fn matching_never_panics_on_any_text(path in any::<String>()) {
            let router = &routers()[0];
            check(router, &path)?;
            check(router, &format!("/socket.io/{path}"))?;
        }

        #[test]
        fn well_formed_urls_split_into_their_parts(
            transport in prop::sample::select(Transport::ALL.to_vec()),
            id in prop::collection::vec(prop::sample::select(ALPHANUMERIC), 0..22),
            rest in prop::collection::vec(0u32..100_000, 0..4),
            extra in 0u32..1_000_000,
        ) {
            let id = String::from_iter(id);
            let rest: Vec<String> = rest.iter().map(u32::to_string).collect();
            let extra = extra.to_string();
            let tail: String = rest.iter().map(|s| format!("/{s}")).collect();
            let router = &routers()[1];
            let path = format!("/chat/{extra}/{transport}/{id}{tail}");
            let route = router.route(&path);
            prop_assert!(route.is_some(), "{} did not match", path);
            let route = route.unwrap();
            prop_assert_eq!(route.transport, transport);
            prop_assert_eq!(route.extra.as_deref(), Some(extra.as_str()));
            prop_assert_eq!(route.session_id(), id.as_str());
            prop_assert_eq!(route.segments().skip(1).collect::<Vec<_>>(), rest);
        }
    }

    /// Paths of up to 100 KB: matching stays linear and never panics.
    #[test]
    fn very_long_paths() {
        let routers = routers();
        let mut runner = TestRunner::new(config(200));
        let strategy = (prop::collection::vec(segment(), 1..8), 1usize..100_000);
        runner
            .run(&strategy, |(segments, len)| {
                let unit = format!("/{}", segments.join("/"));
                let repeated = unit.repeat(len / unit.len().max(1) + 1);
                for prefix in ["", "/socket.io", "/socket.io/xhr-polling"] {
                    let path = format!("{prefix}{repeated}");
                    for router in routers {
                        check(router, &path)?;
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}
