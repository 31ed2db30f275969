//! socketioxide as its documentation serves it on bare hyper (the standalone
//! service, no framework): the server tornadio-bench measures.
//!
//! ```text
//! socketioxide-server echo|broadcast [PORT]     (PORT also from $PORT; 0 = any)
//! ```
//!
//! `echo`: every `message` event goes back to its sender.
//! `broadcast`: every `message` event goes to every socket, the sender
//! included (`io.emit`). Prints `LISTENING <addr>` once bound; ends on SIGTERM.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use socketioxide::SocketIo;
use socketioxide::extract::{Data, SocketRef};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "echo".to_owned());
    let port: u16 = match args.next().or_else(|| std::env::var("PORT").ok()) {
        Some(port) => port.parse()?,
        None => 0,
    };

    let (svc, io) = SocketIo::new_svc();
    match mode.as_str() {
        // Handlers are async closures, as socketioxide requires.
        "echo" => io.ns("/", async |socket: SocketRef| {
            socket.on(
                "message",
                async |socket: SocketRef, Data::<String>(text)| {
                    let _ = socket.emit("message", &text);
                },
            );
        }),
        "broadcast" => io.ns("/", async |socket: SocketRef| {
            socket.on("message", async |io: SocketIo, Data::<String>(text)| {
                let _ = io.emit("message", &text).await;
            });
        }),
        other => return Err(format!("unknown mode {other:?} (echo|broadcast)").into()),
    }

    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "LISTENING {}", listener.local_addr()?)?;
    out.flush()?;
    drop(out);

    let mut terminate = signal(SignalKind::terminate())?;
    loop {
        let tcp = tokio::select! {
            _ = terminate.recv() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                // EMFILE under load is transient: keep serving.
                Err(_) => {
                    tokio::task::yield_now().await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), svc)
                .with_upgrades()
                .await;
        });
    }
}
