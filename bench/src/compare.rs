//! `--compare`: one table over every scenario that ran, a column per server
//! (by role: tornadio, the baseline, socketioxide, node), and tornadio's
//! ratio against each peer that ran beside it, with the lowest and highest
//! of the runs' own ratios.

use std::fmt::Write as _;

use crate::report::{Row, fixed};
use crate::scenario::{Measurement, Scenario};
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
    value: fn(&Measurement) -> Option<f64>,
}

impl Line<'_> {
    fn row(&self, role: &str) -> Option<&Row> {
        self.rows
            .iter()
            .copied()
            .find(|row| row.server.role() == role)
    }

    fn figure(&self, measurement: &Measurement) -> Option<f64> {
        (self.value)(measurement).filter(|v| v.is_finite())
    }

    fn of(&self, role: &str) -> Option<f64> {
        self.figure(&self.row(role)?.median)
    }

    /// tornadio's figure against a peer's, higher is better for tornadio.
    fn against(&self, tornadio: f64, peer: f64) -> f64 {
        if self.higher_is_better {
            tornadio / peer
        } else {
            peer / tornadio
        }
    }

    /// tornadio against `peer`, from the medians.
    fn ratio(&self, peer: &str) -> Option<f64> {
        Some(self.against(self.of("tornadio")?, self.of(peer)?))
    }

    /// The lowest and highest of the runs' own ratios against `peer`, when
    /// there were several. The servers take their turns within a run, so
    /// the figures of one run were taken minutes apart at most: the spread
    /// of these says how far the machine's drift reaches into the medians.
    fn run_range(&self, peer: &str) -> Option<(f64, f64)> {
        let (ours, theirs) = (&self.row("tornadio")?.each, &self.row(peer)?.each);
        let ratios: Vec<f64> = ours
            .iter()
            .zip(theirs)
            .filter_map(|(ours, theirs)| {
                Some(self.against(self.figure(ours)?, self.figure(theirs)?))
            })
            .filter(|ratio| ratio.is_finite())
            .collect();
        if ratios.len() < 2 {
            return None;
        }
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((low, high))
    }

    /// A ratio cell: `1.03`, or `1.03 (0.92-1.05)` with the runs' range.
    fn cell(&self, peer: &str) -> String {
        let Some(ratio) = self.ratio(peer) else {
            return "-".to_owned();
        };
        match self.run_range(peer) {
            Some((low, high)) => format!("{ratio:.2} ({low:.2}-{high:.2})"),
            None => format!("{ratio:.2}"),
        }
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
        "comparison (medians; ratio = tornadio against the peer, higher is better for tornadio;\n\
         in brackets the lowest and highest ratio within one run, when there were several)\n",
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
        let _ = write!(out, " {:>20}", format!("vs {peer}"));
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
            let _ = write!(out, " {:>20}", line.cell(peer));
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
            value: |m| Some(m.value),
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
                value: |m| m.cpu_us_per_msg,
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
                value: |m| m.user_us_per_msg,
            });
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerKind;

    fn measurement(value: f64, cpu: Option<f64>) -> Measurement {
        Measurement {
            value,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            cpu_us_per_msg: cpu,
            user_us_per_msg: cpu.map(|cpu| cpu / 4.0),
            note: String::new(),
        }
    }

    fn row(scenario: Scenario, server: ServerKind, value: f64, cpu: Option<f64>) -> Row {
        Row::new(scenario, server, 200, &[measurement(value, cpu)])
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
        assert_eq!(lines.len(), 7, "{text}");
        assert!(lines[2].contains("tornadio") && lines[2].contains("vs node"));
        assert!(!lines[2].contains("socketioxide"));
        // Throughput: 90/100; CPU: 5/10; no tornadio in v5: no ratio. One
        // run: no range.
        let cells =
            |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_owned).collect() };
        assert_eq!(cells(lines[3]).last().map(String::as_str), Some("-"));
        assert!(lines[3].contains(" 0.90 ") && !lines[3].contains('('));
        assert!(lines[4].contains("cpu µs/msg") && lines[4].contains(" 0.50 "));
        // The user-space part: 1.25 against 2.50.
        assert!(lines[5].contains("user µs/msg") && lines[5].contains(" 0.50 "));
        assert!(lines[5].contains(" 1.25 ") && lines[5].contains(" 2.50 "));
        assert!(lines[6].starts_with("v5    idle-memory"));
        assert!(cells(lines[6]).ends_with(&["-".to_owned(), "-".to_owned()]));
    }

    #[test]
    fn several_runs_show_the_range_of_their_own_ratios() {
        // Run by run, tornadio against the baseline: 110/100, 90/100,
        // 120/100 in messages; CPU 10/8, 10/10, 10/12.5.
        let tornadio = [
            measurement(110.0, Some(8.0)),
            measurement(90.0, Some(10.0)),
            measurement(120.0, Some(12.5)),
        ];
        let baseline = [
            measurement(100.0, Some(10.0)),
            measurement(100.0, Some(10.0)),
            measurement(100.0, Some(10.0)),
        ];
        let rows = [
            Row::new(Scenario::WsEcho, ServerKind::WsBaseline, 200, &baseline),
            Row::new(Scenario::WsEcho, ServerKind::Tornadio, 200, &tornadio),
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        // Medians: 110 against 100, 10 against 10.
        assert!(lines[3].ends_with("1.10 (0.90-1.20)"), "{text}");
        assert!(lines[4].ends_with("1.00 (0.80-1.25)"), "{text}");
    }
}
