//! Engine.IO liveness as a small state machine: no timers of its own, it
//! says when it next needs attention and what to do then.
//!
//! * v4: the server pings every `interval`; a pong must follow within
//!   `timeout`, and the next ping goes out `interval` after the pong.
//! * v3: the client pings; the server answers, and closes the session when
//!   no ping came for `interval + timeout`.

use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::engine::Version;

/// What the session must do when the deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beat {
    /// Nothing yet (the deadline moved).
    Wait,
    /// Send a ping (v4).
    SendPing,
    /// The client is gone: close with `ping timeout`.
    TimedOut,
}

#[derive(Debug)]
pub(crate) struct Heartbeat {
    version: Version,
    interval: Duration,
    timeout: Duration,
    /// v4: when the next ping goes out, if none is awaiting its pong.
    next_ping: Option<Instant>,
    /// When the session times out unless the client shows life.
    deadline: Instant,
}

/// `now + d`, or far in the future when that overflows.
pub(crate) fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

impl Heartbeat {
    pub(crate) fn new(
        version: Version,
        interval: Duration,
        timeout: Duration,
        now: Instant,
    ) -> Self {
        match version {
            Version::V4 => Heartbeat {
                version,
                interval,
                timeout,
                next_ping: Some(later(now, interval)),
                deadline: later(later(now, interval), timeout),
            },
            Version::V3 => Heartbeat {
                version,
                interval,
                timeout,
                next_ping: None,
                deadline: later(later(now, interval), timeout),
            },
        }
    }

    /// When [`on_deadline`](Self::on_deadline) must next be called.
    pub(crate) fn next_deadline(&self) -> Instant {
        match self.next_ping {
            Some(ping) => ping.min(self.deadline),
            None => self.deadline,
        }
    }

    /// The deadline passed (or is near): what to do.
    pub(crate) fn on_deadline(&mut self, now: Instant) -> Beat {
        if now >= self.deadline {
            return Beat::TimedOut;
        }
        match self.next_ping {
            Some(ping) if now >= ping => {
                self.next_ping = None;
                self.deadline = later(now, self.timeout);
                Beat::SendPing
            }
            _ => Beat::Wait,
        }
    }

    /// A pong arrived (v4): the next ping is due `interval` from now.
    /// Returns `false` when a pong is out of place (a v3 client never pongs).
    pub(crate) fn on_pong(&mut self, now: Instant) -> bool {
        if self.version == Version::V3 {
            return false;
        }
        if self.next_ping.is_none() {
            let ping = later(now, self.interval);
            self.next_ping = Some(ping);
            self.deadline = later(ping, self.timeout);
        }
        true
    }

    /// A ping arrived (v3): the client is alive. Returns `false` when a
    /// ping is out of place (v4 clients never ping).
    pub(crate) fn on_ping(&mut self, now: Instant) -> bool {
        if self.version == Version::V4 {
            return false;
        }
        self.deadline = later(later(now, self.interval), self.timeout);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn v4_pings_then_waits_for_the_pong() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(Version::V4, 300 * MS, 200 * MS, t0);
        assert_eq!(hb.next_deadline(), t0 + 300 * MS);
        assert_eq!(hb.on_deadline(t0 + 100 * MS), Beat::Wait);
        assert_eq!(hb.on_deadline(t0 + 300 * MS), Beat::SendPing);
        assert_eq!(hb.next_deadline(), t0 + 500 * MS);
        assert!(hb.on_pong(t0 + 350 * MS));
        assert_eq!(hb.next_deadline(), t0 + 650 * MS);
        assert_eq!(hb.on_deadline(t0 + 650 * MS), Beat::SendPing);
        assert_eq!(hb.on_deadline(t0 + 850 * MS), Beat::TimedOut);
        assert!(!hb.on_ping(t0));
    }

    #[test]
    fn v4_extra_pongs_do_not_postpone_the_ping() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(Version::V4, 300 * MS, 200 * MS, t0);
        assert!(hb.on_pong(t0 + 100 * MS));
        assert_eq!(hb.next_deadline(), t0 + 300 * MS);
    }

    #[test]
    fn v3_waits_for_client_pings() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(Version::V3, 300 * MS, 200 * MS, t0);
        assert_eq!(hb.next_deadline(), t0 + 500 * MS);
        assert!(hb.on_ping(t0 + 400 * MS));
        assert_eq!(hb.next_deadline(), t0 + 900 * MS);
        assert_eq!(hb.on_deadline(t0 + 899 * MS), Beat::Wait);
        assert_eq!(hb.on_deadline(t0 + 900 * MS), Beat::TimedOut);
        assert!(!hb.on_pong(t0));
    }

    #[test]
    fn huge_settings_do_not_overflow() {
        let t0 = Instant::now();
        let mut hb = Heartbeat::new(Version::V4, Duration::MAX, Duration::MAX, t0);
        assert!(hb.next_deadline() > t0);
        assert_eq!(hb.on_deadline(t0), Beat::Wait);
        assert!(hb.on_pong(t0));
    }
}
