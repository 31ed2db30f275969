//! Cross-origin requests: who may connect, and the headers that let a
//! browser hand the answer to the page.

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};

use crate::settings::{OriginPolicy, Settings};

/// What the settings say of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Allowed; answer with this `Access-Control-Allow-Origin`, and with
    /// `Access-Control-Allow-Credentials` when `credentials`.
    Cors {
        allow: HeaderValue,
        credentials: bool,
    },
    /// Allowed, no CORS headers needed (no `Origin`).
    Plain,
    Refused,
}

/// Judges a request by its `Origin` (or, for `<script>` loads that send
/// none, by `Sec-Fetch-Site` and `Referer`).
pub(crate) fn judge(settings: &Settings, headers: &HeaderMap) -> Verdict {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return judge_without_origin(settings, headers);
    };
    let text = origin.to_str().unwrap_or("");
    if text == "null" {
        // Sandboxed frames and `file:` pages: `*`, never credentials.
        let allowed = match &settings.allowed_origins {
            None => true,
            Some(list) => list.iter().any(|o| o == "*" || o == "null"),
        };
        return if allowed {
            Verdict::Cors {
                allow: HeaderValue::from_static("*"),
                credentials: false,
            }
        } else {
            Verdict::Refused
        };
    }
    // A page may always talk to its own server (browsers send `Origin` on
    // same-origin POSTs too), with its cookies.
    if same_origin(text, headers.get(header::HOST)) {
        return Verdict::Cors {
            allow: origin.clone(),
            credentials: true,
        };
    }
    match settings.origin_policy(text) {
        OriginPolicy::Allowed => Verdict::Cors {
            allow: origin.clone(),
            credentials: false,
        },
        OriginPolicy::Credentialed => Verdict::Cors {
            allow: origin.clone(),
            credentials: true,
        },
        OriginPolicy::Refused => Verdict::Refused,
    }
}

/// A request without `Origin`: a non-browser client, a same-origin GET, or
/// a `<script>` load (JSONP). With an allow-list, a browser's cross-site
/// script load is judged by the page that made it.
fn judge_without_origin(settings: &Settings, headers: &HeaderMap) -> Verdict {
    if settings.allowed_origins.is_none() {
        return Verdict::Plain;
    }
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if site != "cross-site" && site != "same-site" {
        return Verdict::Plain;
    }
    let page = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(origin_of_url);
    match page {
        Some(origin) if settings.origin_policy(&origin) != OriginPolicy::Refused => Verdict::Plain,
        _ => Verdict::Refused,
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

fn same_origin(origin: &str, host: Option<&HeaderValue>) -> bool {
    let authority = origin.split_once("://").map(|(_, authority)| authority);
    let host = host.and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Adds the CORS headers a verdict calls for.
pub(crate) fn decorate(response: &mut Response<Body>, verdict: &Verdict) {
    let Verdict::Cors { allow, credentials } = verdict else {
        return;
    };
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow.clone());
    if *credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// The answer to an `OPTIONS` preflight.
pub(crate) fn preflight<B>(request: &Request<B>) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let asked = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("Content-Type"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn credentials_only_for_listed_origins_and_the_server_itself() {
        let any = Settings::default();
        let listed = Settings::default().allowed_origins(["http://a.test"]);
        let from_a = headers(&[("origin", "http://a.test"), ("host", "srv.test")]);
        let from_b = headers(&[("origin", "http://b.test"), ("host", "srv.test")]);
        let same = headers(&[("origin", "http://srv.test"), ("host", "srv.test")]);
        let cors = |allow: &'static str, credentials| Verdict::Cors {
            allow: HeaderValue::from_static(allow),
            credentials,
        };
        assert_eq!(judge(&any, &from_a), cors("http://a.test", false));
        assert_eq!(judge(&listed, &from_a), cors("http://a.test", true));
        assert_eq!(judge(&listed, &from_b), Verdict::Refused);
        assert_eq!(judge(&listed, &same), cors("http://srv.test", true));
        let null = headers(&[("origin", "null")]);
        assert_eq!(judge(&any, &null), cors("*", false));
        assert_eq!(judge(&listed, &null), Verdict::Refused);
    }

    #[test]
    fn script_loads_without_origin_are_judged_by_their_page() {
        let listed = Settings::default().allowed_origins(["http://a.test"]);
        let from = |site: &'static str, referer: &'static str| {
            headers(&[("sec-fetch-site", site), ("referer", referer)])
        };
        assert_eq!(
            judge(&listed, &from("cross-site", "http://a.test/page")),
            Verdict::Plain
        );
        assert_eq!(
            judge(&listed, &from("cross-site", "http://evil.test/")),
            Verdict::Refused
        );
        assert_eq!(
            judge(&listed, &headers(&[("sec-fetch-site", "cross-site")])),
            Verdict::Refused
        );
        assert_eq!(
            judge(&listed, &from("same-origin", "http://x/")),
            Verdict::Plain
        );
        assert_eq!(judge(&listed, &HeaderMap::new()), Verdict::Plain);
        assert_eq!(
            judge(
                &Settings::default(),
                &from("cross-site", "http://evil.test/")
            ),
            Verdict::Plain
        );
    }
}
