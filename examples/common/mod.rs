//! What the examples share: command line, logging, the page, the browser
//! client routes (socket.io 0.6, socket.io-client 0.9 and socket.io-client
//! 4), and starting the server.
//!
//! Included by each example with `#[path = "../common/mod.rs"] mod common;`.
//! Each example uses part of it.
#![allow(dead_code)]

use std::io::IsTerminal as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use tornadio::SocketServer;

/// A browser client the pages load, a file of an npm package pinned in
/// `e2e/package.json`. Nothing third-party is in this repository: the file
/// comes from `e2e/node_modules` once `npm ci` ran in `e2e/`, else from
/// jsDelivr, which mirrors npm.
struct BrowserClient {
    /// Where the example serves it: the npm package's name plus `.js`.
    route: &'static str,
    /// The file in the local npm install.
    local: &'static str,
    /// The same file of the same version on jsDelivr.
    cdn: &'static str,
}

/// The original socket.io 0.6 client, `io.Socket`, from the npm package
/// `socket.io@0.6.18`.
const CLIENT_0_6: BrowserClient = BrowserClient {
    route: "/socket.io.js",
    local: "e2e/node_modules/socket.io/support/socket.io-client/socket.io.js",
    cdn: "https://cdn.jsdelivr.net/npm/socket.io@0.6.18/support/socket.io-client/socket.io.js",
};

/// The socket.io 0.7–0.9 client ("protocol 1"), `io.connect`, from the npm
/// package `socket.io-client@0.9.17` (installed as `socket.io-client-v09`).
/// It defines a global `io` too, so a page that loads it beside the others
/// keeps it under another name.
const CLIENT_0_9: BrowserClient = BrowserClient {
    route: "/socket.io-v09.js",
    local: "e2e/node_modules/socket.io-client-v09/dist/socket.io.js",
    cdn: "https://cdn.jsdelivr.net/npm/socket.io-client@0.9.17/dist/socket.io.js",
};

/// The current client, `io()`, from the npm package `socket.io-client@4.8.4`:
/// its browser bundle, which defines the global `io` (the 0.6 client defines
/// one too, so a page that loads both keeps this one under another name).
const CLIENT_CURRENT: BrowserClient = BrowserClient {
    route: "/socket.io-client.js",
    local: "e2e/node_modules/socket.io-client/dist/socket.io.min.js",
    cdn: "https://cdn.jsdelivr.net/npm/socket.io-client@4.8.4/dist/socket.io.min.js",
};

/// Command-line options every example accepts.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--address`: the IP address to listen on (default 0.0.0.0).
    pub address: IpAddr,
    /// `--port`: the HTTP port (default 8001; 0 picks a free one).
    pub port: u16,
    /// `--flash-policy-port`: the Flash policy port (default 843; 0 turns it off).
    pub flash_policy_port: Option<u16>,
    /// The example's own flags, as given (`--name value`).
    pub extra: Vec<(String, String)>,
}

impl Options {
    /// Parses `std::env::args()`, exiting with a usage message on bad input.
    pub fn from_args(name: &str) -> Options {
        Options::from_args_with(name, &[])
    }

    /// As [`from_args`](Self::from_args), also taking the example's own
    /// flags, each `(flag, help)`.
    pub fn from_args_with(name: &str, flags: &[(&str, &str)]) -> Options {
        match Options::parse_with(std::env::args().skip(1), flags) {
            Ok(Some(options)) => options,
            Ok(None) => {
                println!("{}", usage(name, flags));
                std::process::exit(0);
            }
            Err(error) => {
                eprintln!("{name}: {error}\n\n{}", usage(name, flags));
                std::process::exit(2);
            }
        }
    }

    /// The value of one of the example's own flags.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(flag, _)| flag == name)
            .map(|(_, value)| value.as_str())
    }

    /// Parses the arguments after the program name; `Ok(None)` means `--help`.
    #[cfg(test)]
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
        Options::parse_with(args, &[])
    }

    fn parse_with(
        args: impl IntoIterator<Item = String>,
        flags: &[(&str, &str)],
    ) -> Result<Option<Options>, String> {
        let mut options = Options {
            address: IpAddr::from([0, 0, 0, 0]),
            port: 8001,
            flash_policy_port: Some(843),
            extra: Vec::new(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                return Ok(None);
            }
            // Both `--port 8001` and `--port=8001`.
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (arg.clone(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--address" => {
                    let text = value()?;
                    options.address = text
                        .parse()
                        .map_err(|_| format!("--address: not an IP address: {text}"))?;
                }
                "--port" => options.port = parse_port("--port", &value()?)?,
                "--flash-policy-port" => {
                    let port = parse_port("--flash-policy-port", &value()?)?;
                    options.flash_policy_port = (port != 0).then_some(port);
                }
                other if flags.iter().any(|(flag, _)| *flag == other) => {
                    let value = value()?;
                    options.extra.push((other.to_owned(), value));
                }
                _ => return Err(format!("unknown argument: {arg}")),
            }
        }
        Ok(Some(options))
    }
}

fn parse_port(flag: &str, text: &str) -> Result<u16, String> {
    text.parse()
        .map_err(|_| format!("{flag}: not a port number: {text}"))
}

fn usage(name: &str, flags: &[(&str, &str)]) -> String {
    let own: String = flags
        .iter()
        .map(|(flag, help)| format!("{flag:<26} {help}\n"))
        .collect();
    format!(
        "usage: cargo run --example {name} -- [OPTIONS]\n\
         \n\
         --address IP               address to listen on (default 0.0.0.0)\n\
         --port PORT                HTTP port (default 8001, 0 picks a free port)\n\
         --flash-policy-port PORT   Flash policy server port (default 843, 0 turns it off)\n\
         {own}\
         \n\
         Set RUST_LOG (e.g. RUST_LOG=tornadio=trace) to see more."
    )
}

/// The `--redis URL` flag of the examples that can run as a cluster.
pub const REDIS_FLAG: (&str, &str) = (
    "--redis",
    "share rooms and broadcasts with every process on this Redis (key prefix socket.io), e.g. redis://127.0.0.1:6379",
);

/// With `--redis URL`, `router` shares its namespaces through Redis (key
/// prefix `socket.io`, as node's adapter), once subscribed (or after 10 s
/// of trying, reconnecting in the background).
pub async fn with_redis(
    router: tornadio::Router,
    options: &Options,
) -> Result<tornadio::Router, Box<dyn std::error::Error>> {
    let Some(url) = options.flag("--redis") else {
        return Ok(router);
    };
    let adapter = tornadio_redis::RedisAdapter::new(url)?.prefix("socket.io");
    let router = router.adapter(adapter.clone());
    let ready = tokio::time::timeout(std::time::Duration::from_secs(10), adapter.ready());
    if ready.await.is_err() {
        tracing::warn!(
            url,
            "Redis is not reachable yet; serving, and reconnecting meanwhile"
        );
    }
    tracing::info!(
        url,
        uid = adapter.uid(),
        "sharing rooms and broadcasts through Redis"
    );
    Ok(router)
}

/// Logs to stderr, `info` by default, `RUST_LOG` to change it.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tornadio=debug"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The routes every example serves besides Socket.IO: its page at `/`, the
/// shared stylesheet at `/style.css`, and the browser clients:
/// `/socket.io.js` (0.6), `/socket.io-v09.js` (socket.io-client 0.9) and
/// `/socket.io-client.js` (socket.io-client 4).
pub fn pages(html: &'static str) -> axum::Router {
    axum::Router::new()
        .route("/", get(move || async move { Html(html) }))
        .route("/style.css", get(stylesheet))
        .route(CLIENT_0_6.route, get(|| client_js(&CLIENT_0_6)))
        .route(CLIENT_0_9.route, get(|| client_js(&CLIENT_0_9)))
        .route(CLIENT_CURRENT.route, get(|| client_js(&CLIENT_CURRENT)))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
}

/// A browser client from the local npm install, or a redirect to the same
/// file on jsDelivr when there is none.
async fn client_js(client: &'static BrowserClient) -> Response {
    let candidates = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(client.local),
        PathBuf::from(client.local),
    ];
    let found = tokio::task::spawn_blocking(move || {
        candidates.iter().find_map(|path| std::fs::read(path).ok())
    })
    .await
    .ok()
    .flatten();
    match found {
        Some(body) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    "application/javascript; charset=utf-8",
                ),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        None => {
            tracing::info!(
                "no local copy of {} (run `npm ci` in e2e/); redirecting to {}",
                client.local,
                client.cdn
            );
            Redirect::temporary(client.cdn).into_response()
        }
    }
}

/// Binds, prints `Listening on http://ADDR:PORT/` on stdout (the real port, so
/// `--port 0` works), then serves until Ctrl-C or SIGTERM.
pub async fn serve(app: axum::Router, options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let server = SocketServer::new(app)
        .address(options.address)
        .port(options.port)
        .flash_policy_port(options.flash_policy_port)
        .bind()
        .await?;
    let addr: SocketAddr = server.local_addr();
    // One line on stdout, flushed: scripts and the browser tests wait for it.
    println!("Listening on http://{addr}/");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    if addr.ip().is_unspecified() {
        tracing::info!("open http://127.0.0.1:{}/ in a browser", addr.port());
    }
    server.run_until(shutdown_signal()).await?;
    Ok(())
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {error}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: closing every session"),
        () = terminate => tracing::info!("SIGTERM: closing every session"),
    }
}

#[cfg(test)]
mod tests {
    use super::Options;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        Options::parse(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        let options = parse(&[]).unwrap().unwrap();
        assert_eq!(options.port, 8001);
        assert_eq!(options.flash_policy_port, Some(843));
        let options = parse(&[
            "--port",
            "0",
            "--flash-policy-port=0",
            "--address",
            "127.0.0.1",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(options.port, 0);
        assert_eq!(options.flash_policy_port, None);
        assert_eq!(options.address.to_string(), "127.0.0.1");
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
