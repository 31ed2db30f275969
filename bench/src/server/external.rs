//! The servers that are programs of their own: socketioxide (a Cargo project
//! outside the workspace, `bench/socketioxide`) and node socket.io
//! (`bench/node`). Both take `echo|broadcast [PORT]` and print
//! `LISTENING <addr>` like the built-in servers.
//!
//! They are made ready on demand, before the first run that needs them:
//! socketioxide is built with `cargo build --release --locked` into its own
//! target directory (so the library's build, tests and lints never compile
//! it), node's packages are installed with `npm ci` from the committed lock
//! file.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use super::{Mode, ServerKind};

/// `bench/`, where the server projects live.
fn bench_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn socketioxide_dir() -> PathBuf {
    bench_dir().join("socketioxide")
}

fn node_dir() -> PathBuf {
    bench_dir().join("node")
}

/// The program and arguments of an external server; `None` for the
/// servers built into this binary.
pub(super) fn invocation(kind: ServerKind, mode: Mode) -> Option<(OsString, Vec<OsString>)> {
    let mode = OsString::from(mode.as_str());
    match kind {
        ServerKind::Socketioxide => {
            let exe = socketioxide_dir().join("target/release/socketioxide-server");
            Some((exe.into(), vec![mode]))
        }
        ServerKind::Node => {
            let script = node_dir().join("server.js");
            Some(("node".into(), vec![script.into(), mode]))
        }
        _ => None,
    }
}

/// Makes the servers in `kinds` ready to start: builds socketioxide, installs
/// node's packages. Cheap when they already are.
pub fn prepare(kinds: &[ServerKind]) -> io::Result<()> {
    if kinds.contains(&ServerKind::Socketioxide) {
        build_socketioxide()?;
    }
    if kinds.contains(&ServerKind::Node) {
        install_node_packages()?;
    }
    Ok(())
}

fn build_socketioxide() -> io::Result<()> {
    let dir = socketioxide_dir();
    eprintln!(
        "preparing socketioxide: cargo build --release --locked in {}",
        dir.display()
    );
    // `cargo run` tells its child which cargo it is.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        // Its own target directory, whatever CARGO_TARGET_DIR says: the
        // bench starts the binary from there.
        .arg("--target-dir")
        .arg(dir.join("target"))
        .status()
        .map_err(|e| io::Error::other(format!("running cargo to build socketioxide: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "building socketioxide failed ({status})"
        )))
    }
}

fn install_node_packages() -> io::Result<()> {
    let version = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| io::Error::other(format!("node socket.io needs node on the PATH: {e}")))?;
    if !version.status.success() {
        return Err(io::Error::other("`node --version` failed"));
    }
    let dir = node_dir();
    // npm ci leaves node_modules/.package-lock.json behind; newer than the
    // committed lock file means the install is current.
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let locked = modified(&dir.join("package-lock.json"));
    if installed.is_some() && installed >= locked {
        return Ok(());
    }
    eprintln!("preparing node socket.io: npm ci in {}", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .map_err(|e| io::Error::other(format!("running npm ci for node socket.io: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "npm ci in {} failed ({status})",
            dir.display()
        )))
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
