//! The machine side of a benchmark: CPU pinning, the open-files limit,
//! server child processes and their resident memory.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::{Mode, ServerKind};

/// The core servers run on (and the load generator avoids), when pinning.
pub const SERVER_CPU: usize = 0;
/// The core the load generator runs on, when pinning.
pub const LOADGEN_CPU: usize = 1;

/// Whether this machine has the two cores that pinning needs.
///
/// Counts the cores online, not `available_parallelism`: that one follows
/// this process's own affinity, so once the load generator has pinned
/// itself to one core it would say 1, and the servers it starts would
/// inherit its core instead of getting theirs.
pub fn can_pin() -> bool {
    // SAFETY: sysconf only reads a value of the system.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    online >= 2
}

/// Pins the calling thread (and every thread it starts later) to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write inside it and
    // sched_setaffinity only reads it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises the soft open-files limit to the hard one; returns the new limit.
/// Children inherit it.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write one plain struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// A server running as a child process of the bench; killed on drop.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    kind: ServerKind,
}

impl ServerProcess {
    /// Starts `kind` in `mode` (this same binary's `serve` subcommand, or
    /// the server's own program), pinned to [`SERVER_CPU`] when the machine
    /// has two cores, and waits until it listens.
    pub fn start(kind: ServerKind, mode: Mode) -> io::Result<ServerProcess> {
        ServerProcess::start_with(kind, mode, &[])
    }

    /// The same with `extra` arguments for the server (`--redis URL`).
    pub fn start_with(kind: ServerKind, mode: Mode, extra: &[&str]) -> io::Result<ServerProcess> {
        let (program, args) = kind.invocation(mode)?;
        // BENCH_SERVER_WRAPPER="valgrind --tool=massif" (say) runs the
        // servers under a profiler.
        let wrapper = std::env::var("BENCH_SERVER_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut command = match words.next() {
            Some(wrapper) => {
                let mut command = Command::new(wrapper);
                command.args(words).arg(program);
                command
            }
            None => Command::new(program),
        };
        command.args(args).args(extra);
        if can_pin() {
            if kind.is_external() {
                pin_before_exec(&mut command);
            } else {
                command.args(["--cpu", &SERVER_CPU.to_string()]);
            }
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let addr = match read_address(&mut child) {
            Ok(addr) => addr,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(ServerProcess { child, addr, kind })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's resident memory in bytes (`VmRSS`).
    pub fn rss_bytes(&self) -> io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib * 1024)
            .ok_or_else(|| io::Error::other("no VmRSS in /proc/PID/status"))
    }

    /// How many file descriptors the server holds open (its listening
    /// socket, every connection, the runtime's own).
    pub fn open_fds(&self) -> io::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))?.count())
    }

    /// Which server it is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The process id (for attaching a profiler).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SIGTERM first: the server returns from main, so a profiler
        // wrapping it writes its report; SIGKILL if it does not end soon.
        let grace = if std::env::var_os("BENCH_SERVER_WRAPPER").is_some() {
            Duration::from_secs(60)
        } else {
            Duration::from_secs(3)
        };
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid, which has not been
            // reaped yet (so the pid cannot have been reused).
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Let the kernel tear the sockets down before the next server starts.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Pins the child (every thread it will start included) to [`SERVER_CPU`]
/// between fork and exec: for servers that are programs of their own.
fn pin_before_exec(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only
    // makes the sched_setaffinity system call (async-signal-safe, no
    // allocation, no locks).
    unsafe {
        command.pre_exec(|| pin_to_cpu(SERVER_CPU));
    }
}

fn read_address(child: &mut Child) -> io::Result<SocketAddr> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("server stdout not piped"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    line.trim()
        .strip_prefix("LISTENING ")
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| io::Error::other(format!("server did not start (said {line:?})")))
}

/// CPU time spent so far by the server, by this process and by the whole
/// machine, in clock ticks: two samples tell whether a run had the cores to
/// itself.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    at: Instant,
    server: u64,
    /// The user-space part of `server`: the part the server's own code
    /// spends, beside the kernel's socket work which every server pays.
    server_user: u64,
    own: u64,
    machine: u64,
}

impl CpuSample {
    pub fn take(server: &ServerProcess) -> CpuSample {
        CpuSample::take_all(&[server])
    }

    /// The same with `servers` together as the server.
    pub fn take_all(servers: &[&ServerProcess]) -> CpuSample {
        let (server_user, server_system) = servers
            .iter()
            .filter_map(|server| process_ticks(&format!("/proc/{}/stat", server.pid())))
            .fold((0, 0), |(user, system), (u, s)| (user + u, system + s));
        CpuSample {
            at: Instant::now(),
            server: server_user + server_system,
            server_user,
            own: process_ticks("/proc/self/stat").map_or(0, |(user, system)| user + system),
            machine: machine_busy_ticks().unwrap_or(0),
        }
    }

    /// CPU time (user + system) the server used between `self` and `later`.
    pub fn server_seconds_until(&self, later: &CpuSample) -> f64 {
        later.server.saturating_sub(self.server) as f64 / ticks_per_second()
    }

    /// The user-space part of [`server_seconds_until`](Self::server_seconds_until).
    pub fn server_user_seconds_until(&self, later: &CpuSample) -> f64 {
        later.server_user.saturating_sub(self.server_user) as f64 / ticks_per_second()
    }

    /// `cpu server 98% loadgen 95% others 3%` (100% = one core) between
    /// `self` and a later sample.
    pub fn describe_until(&self, later: &CpuSample) -> String {
        let hz = ticks_per_second();
        let seconds = later.at.duration_since(self.at).as_secs_f64().max(1e-3);
        let percent = |ticks: u64| ticks as f64 / hz / seconds * 100.0;
        let server = later.server.saturating_sub(self.server);
        let own = later.own.saturating_sub(self.own);
        let others = later
            .machine
            .saturating_sub(self.machine)
            .saturating_sub(server + own);
        format!(
            "cpu server {:.0}% loadgen {:.0}% others {:.0}%",
            percent(server),
            percent(own),
            percent(others)
        )
    }
}

/// Clock ticks per second, the unit of `/proc` CPU times.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a constant of the system.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

/// utime and stime of a process, from `/proc/PID/stat`.
fn process_ticks(path: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after "(comm) ": state is the first, utime the 12th, stime the 13th.
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// Non-idle ticks of all cores, from the first line of `/proc/stat`.
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    Some(busy)
}

/// How busy the machine is, in cores (1.0 = one core fully used), measured
/// over `window` while this process idles.
pub async fn machine_load(window: Duration) -> f64 {
    let hz = ticks_per_second();
    let before = machine_busy_ticks().unwrap_or(0);
    tokio::time::sleep(window).await;
    let after = machine_busy_ticks().unwrap_or(0);
    after.saturating_sub(before) as f64 / hz / window.as_secs_f64()
}

/// A `redis-server` of the bench's own on a free port, without persistence,
/// pinned beside the servers; killed on drop.
pub struct RedisProcess {
    child: Child,
    url: String,
}

impl RedisProcess {
    /// Starts Debian's `redis-server` and waits until it answers `PING`.
    pub fn start() -> io::Result<RedisProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if can_pin() {
            pin_before_exec(&mut command);
        }
        let child = command.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("starting redis-server (apt-get install redis-server): {e}"),
            )
        })?;
        let redis = RedisProcess {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(port) {
            if Instant::now() >= deadline {
                return Err(io::Error::other(
                    "redis-server did not answer PING within 10 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(redis)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a Redis on `port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut tcp) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    tcp.write_all(b"PING\r\n").is_ok()
        && tcp.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}
