//! `--compare`: one table over every scenario that ran, a column per server
//! (by role: tornadio, the baseline, socketioxide, node), and tornadio's
//! ratio against each peer that ran beside it.

use std::fmt::Write as _;

use crate::report::{Row, fixed};
use crate::scenario::Scenario;
use crate::server::Protocol;

/// The columns, in this order, when their servers ran.
const ROLES: [&str; 4] = ["tornadio", "baseline", "socketioxide", "node"];

/// One line of the table: a figure of one scenario at one client count.
struct Line<'a> {
    protocol: Protocol,
    scenario: Scenario,
    clients: usize,
    metric: &'static str,
    higher_is_better: bool,
    digits: usize,
    /// The rows of this scenario and client count, one per server.
    rows: Vec<&'a Row>,
    value: fn(&Row) -> Option<f64>,
}

impl Line<'_> {
    fn of(&self, role: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.server.role() == role)
            .and_then(|row| (self.value)(row))
            .filter(|v| v.is_finite())
    }

    /// tornadio against `peer`, higher is better for tornadio.
    fn ratio(&self, peer: &str) -> Option<f64> {
        let (tornadio, peer) = (self.of("tornadio")?, self.of(peer)?);
        Some(if self.higher_is_better {
            tornadio / peer
        } else {
            peer / tornadio
        })
    }
}

/// The comparison table of `rows` (all scenarios and protocols of a run).
pub fn table(rows: &[Row]) -> String {
    let roles: Vec<&str> = ROLES
        .into_iter()
        .filter(|role| rows.iter().any(|row| row.server.role() == *role))
        .collect();
    let peers: Vec<&str> = roles.iter().copied().filter(|r| *r != "tornadio").collect();
    let lines = lines(rows);

    let mut out = String::from(
        "comparison (medians; ratio = tornadio against the peer, higher is better for tornadio)\n",
    );
    let _ = write!(
        out,
        "{:<5} {:<13} {:>7} {:<14}",
        "proto", "scenario", "clients", "metric"
    );
    for role in &roles {
        let _ = write!(out, " {role:>12}");
    }
    for peer in &peers {
        let _ = write!(out, " {:>16}", format!("vs {peer}"));
    }
    out.push('\n');
    for line in &lines {
        let _ = write!(
            out,
            "{:<5} {:<13} {:>7} {:<14}",
            line.protocol.as_str(),
            line.scenario.name(),
            line.clients,
            line.metric
        );
        for role in &roles {
            let _ = write!(out, " {:>12}", fixed(line.of(role), line.digits));
        }
        for peer in &peers {
            let _ = write!(out, " {:>16}", fixed(line.ratio(peer), 2));
        }
        out.push('\n');
    }
    out
}

/// Up to three lines per scenario and client count, in the order they ran:
/// the headline figure, the server's CPU per message where measured, and
/// its user-space part (the kernel's socket work, the rest, is much the same
/// for every server, so this is where the servers' own code differs).
fn lines(rows: &[Row]) -> Vec<Line<'_>> {
    let mut keys: Vec<(Protocol, Scenario, usize)> = Vec::new();
    for row in rows {
        let key = (row.server.protocol(), row.scenario, row.clients);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut lines = Vec::new();
    for (protocol, scenario, clients) in keys {
        let group: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                (r.server.protocol(), r.scenario, r.clients) == (protocol, scenario, clients)
            })
            .collect();
        lines.push(Line {
            protocol,
            scenario,
            clients,
            metric: scenario.unit(),
            higher_is_better: scenario.higher_is_better(),
            digits: if scenario == Scenario::Broadcast {
                1
            } else {
                0
            },
            rows: group.clone(),
            value: |row| Some(row.median.value),
        });
        if group.iter().any(|row| row.median.cpu_us_per_msg.is_some()) {
            lines.push(Line {
                protocol,
                scenario,
                clients,
                metric: "cpu µs/msg",
                higher_is_better: false,
                digits: 2,
                rows: group.clone(),
                value: |row| row.median.cpu_us_per_msg,
            });
        }
        if group.iter().any(|row| row.median.user_us_per_msg.is_some()) {
            lines.push(Line {
                protocol,
                scenario,
                clients,
                metric: "user µs/msg",
                higher_is_better: false,
                digits: 2,
                rows: group,
                value: |row| row.median.user_us_per_msg,
            });
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Measurement;
    use crate::server::ServerKind;

    fn row(scenario: Scenario, server: ServerKind, value: f64, cpu: Option<f64>) -> Row {
        let m = Measurement {
            value,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            cpu_us_per_msg: cpu,
            user_us_per_msg: cpu.map(|cpu| cpu / 4.0),
            note: String::new(),
        };
        Row::new(scenario, server, 200, &[m])
    }

    #[test]
    fn ratios_favour_tornadio_when_higher() {
        let rows = [
            row(Scenario::WsEcho, ServerKind::WsBaseline, 100.0, Some(5.0)),
            row(Scenario::WsEcho, ServerKind::Tornadio, 90.0, Some(10.0)),
            row(Scenario::IdleMemory, ServerKind::WsBaselineV5, 7000.0, None),
            row(Scenario::IdleMemory, ServerKind::Node, 14000.0, None),
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert!(lines[1].contains("tornadio") && lines[1].contains("vs node"));
        assert!(!lines[1].contains("socketioxide"));
        // Throughput: 90/100; CPU: 5/10; no tornadio in v5: no ratio.
        assert!(lines[2].ends_with("0.90                -"), "{}", lines[2]);
        assert!(lines[3].contains("cpu µs/msg") && lines[3].contains(" 0.50 "));
        // The user-space part: 1.25 against 2.50.
        assert!(lines[4].contains("user µs/msg") && lines[4].contains(" 0.50 "));
        assert!(lines[4].contains(" 1.25 ") && lines[4].contains(" 2.50 "));
        assert!(lines[5].starts_with("v5    idle-memory"));
        assert!(lines[5].trim_end().ends_with("-                -"));
    }
}
