//! What the bench prints and writes: the table, the RESULT line, the sweep's
//! CSV and its SVG plot.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use plotters::prelude::*;

use crate::scenario::load::median;
use crate::scenario::{Measurement, Scenario};
use crate::server::{Protocol, ServerKind};

/// The medians of several runs of one scenario against one server.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: Scenario,
    pub server: ServerKind,
    pub clients: usize,
    pub runs: usize,
    pub median: Measurement,
    /// Each run's figures in the order they ran (none when read back from
    /// a CSV).
    pub each: Vec<Measurement>,
}

impl Row {
    pub fn new(
        scenario: Scenario,
        server: ServerKind,
        clients: usize,
        runs: &[Measurement],
    ) -> Row {
        let field = |get: fn(&Measurement) -> Option<f64>| {
            let values: Vec<f64> = runs.iter().filter_map(get).collect();
            median(&values)
        };
        let value = field(|m| Some(m.value)).unwrap_or(f64::NAN);
        // The note of the run closest to the median value speaks for them all.
        let note = runs
            .iter()
            .min_by(|a, b| (a.value - value).abs().total_cmp(&(b.value - value).abs()))
            .map(|m| m.note.clone())
            .unwrap_or_default();
        Row {
            scenario,
            server,
            clients,
            runs: runs.len(),
            median: Measurement {
                value,
                p50_ms: field(|m| m.p50_ms),
                p95_ms: field(|m| m.p95_ms),
                p99_ms: field(|m| m.p99_ms),
                cpu_us_per_msg: field(|m| m.cpu_us_per_msg),
                user_us_per_msg: field(|m| m.user_us_per_msg),
                note,
            },
            each: runs.to_vec(),
        }
    }
}

/// The table of rows, aligned, as printed on stdout.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<5} {:<13} {:<16} {:>7} {:>4} {:>12} {:<14} {:>9} {:>9} {:>9} {:>10} {:>11}  note",
        "proto",
        "scenario",
        "server",
        "clients",
        "runs",
        "value",
        "unit",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "cpu µs/msg",
        "user µs/msg"
    );
    for row in rows {
        let m = &row.median;
        let _ = writeln!(
            out,
            "{:<5} {:<13} {:<16} {:>7} {:>4} {:>12.1} {:<14} {:>9} {:>9} {:>9} {:>10} {:>11}  {}",
            row.server.protocol().as_str(),
            row.scenario.name(),
            row.server.as_str(),
            row.clients,
            row.runs,
            m.value,
            row.scenario.unit(),
            fixed(m.p50_ms, 2),
            fixed(m.p95_ms, 2),
            fixed(m.p99_ms, 2),
            fixed(m.cpu_us_per_msg, 2),
            fixed(m.user_us_per_msg, 2),
            m.note
        );
    }
    out
}

/// `v` with `digits` decimals, `-` for none.
pub fn fixed(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// The headline figure of `scenario` as RESULT lines print it.
fn figure(scenario: Scenario, v: f64) -> String {
    if scenario == Scenario::Broadcast {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// One run's figures, as printed when it ends:
/// `run 2 v5 ws-echo node: 8827.0 msg/s  p50 22.67 ms  p99 48.22 ms  cpu 72.47 µs/msg (user 30.12)  (note)`.
pub fn run_line(scenario: Scenario, server: ServerKind, run: usize, m: &Measurement) -> String {
    let mut line = format!(
        "run {run} {} {} {}: {:.1} {}",
        server.protocol().as_str(),
        scenario.name(),
        server.as_str(),
        m.value,
        scenario.unit()
    );
    for (label, value) in [("p50", m.p50_ms), ("p95", m.p95_ms), ("p99", m.p99_ms)] {
        if let Some(value) = value {
            let _ = write!(line, "  {label} {value:.2} ms");
        }
    }
    if let Some(cpu) = m.cpu_us_per_msg {
        let _ = write!(line, "  cpu {cpu:.2} µs/msg");
    }
    if let Some(user) = m.user_us_per_msg {
        let _ = write!(line, " (user {user:.2})");
    }
    // The note says how busy the machine was, which decides whether a run
    // counts.
    let _ = write!(line, "  ({})", m.note);
    line
}

/// `RESULT protocol=v5 scenario=ws-echo clients=200 server=node value=X
/// unit=msg/s p50_ms=.. p99_ms=.. cpu_us_per_msg=.. user_us_per_msg=..`: one per server and
/// client count (figures it has none of are left out).
pub fn server_result_line(row: &Row) -> String {
    let m = &row.median;
    let mut line = format!(
        "RESULT protocol={} scenario={} clients={} server={} value={} unit={}",
        row.server.protocol().as_str(),
        row.scenario.name(),
        row.clients,
        row.server.as_str(),
        figure(row.scenario, m.value),
        row.scenario.unit()
    );
    let extras = [
        ("p50_ms", m.p50_ms, 2),
        ("p95_ms", m.p95_ms, 2),
        ("p99_ms", m.p99_ms, 2),
        ("cpu_us_per_msg", m.cpu_us_per_msg, 2),
        ("user_us_per_msg", m.user_us_per_msg, 2),
    ];
    for (key, value, digits) in extras {
        if let Some(value) = value.filter(|v| v.is_finite()) {
            let _ = write!(line, " {key}={value:.digits$}");
        }
    }
    line
}

/// `RESULT scenario=... clients=N tornadio=X baseline=Y ratio=R unit=...`
pub fn result_line(scenario: Scenario, clients: usize, tornadio: f64, baseline: f64) -> String {
    let ratio = scenario.ratio(tornadio, baseline);
    format!(
        "RESULT scenario={} clients={clients} tornadio={} baseline={} ratio={ratio:.2} unit={}",
        scenario.name(),
        figure(scenario, tornadio),
        figure(scenario, baseline),
        scenario.unit()
    )
}

/// One CSV line per row, with a header.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "scenario,server,clients,runs,value,unit,p50_ms,p95_ms,p99_ms,cpu_us_per_msg\n",
    );
    let ms = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.3}"));
    for row in rows {
        let m = &row.median;
        let _ = writeln!(
            out,
            "{},{},{},{},{:.3},{},{},{},{},{}",
            row.scenario.name(),
            row.server.as_str(),
            row.clients,
            row.runs,
            m.value,
            row.scenario.unit(),
            ms(m.p50_ms),
            ms(m.p95_ms),
            ms(m.p99_ms),
            ms(m.cpu_us_per_msg)
        );
    }
    out
}

/// Reads back rows written by [`csv`] (to redraw a plot without rerunning),
/// with or without the `cpu_us_per_msg` column older sweeps lack.
pub fn parse_csv(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let bad = || format!("line {}: not a bench CSV row: {line:?}", n + 1);
        let fields: Vec<&str> = line.split(',').collect();
        let (cpu, fields) = match fields[..] {
            [ref first @ .., cpu] if first.len() == 9 => (cpu, first),
            _ => ("", &fields[..]),
        };
        let [scenario, server, clients, runs, value, _unit, p50, p95, p99] = fields[..] else {
            return Err(bad());
        };
        let ms = |field: &str| field.parse::<f64>().ok();
        rows.push(Row {
            scenario: Scenario::parse(scenario).ok_or_else(bad)?,
            server: ServerKind::parse(server).ok_or_else(bad)?,
            clients: clients.parse().map_err(|_| bad())?,
            runs: runs.parse().map_err(|_| bad())?,
            median: Measurement {
                value: value.parse().map_err(|_| bad())?,
                p50_ms: ms(p50),
                p95_ms: ms(p95),
                p99_ms: ms(p99),
                cpu_us_per_msg: ms(cpu),
                user_us_per_msg: None,
                note: String::new(),
            },
            each: Vec::new(),
        });
    }
    Ok(rows)
}

/// Draws the headline figure against client count, one line per server.
pub fn plot(rows: &[Row], path: &Path) -> io::Result<()> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let scenario = first.scenario;
    let mut servers: Vec<ServerKind> = rows.iter().map(|r| r.server).collect();
    servers.sort();
    servers.dedup();
    let lines = servers
        .into_iter()
        .map(|server| Line {
            label: server.as_str().to_owned(),
            color: color(server),
            points: rows
                .iter()
                .filter(|r| r.server == server && r.median.value.is_finite())
                .map(|r| (r.clients as f64, r.median.value))
                .collect(),
        })
        .collect();
    let chart = Chart {
        caption: format!(
            "{}{}: {} by client count ({} is better)",
            scenario.name(),
            match first.server.protocol() {
                Protocol::Legacy => "",
                Protocol::Proto1 => " (Socket.IO 0.9)",
                Protocol::V5 => " (Socket.IO v5)",
            },
            scenario.unit(),
            if scenario.higher_is_better() {
                "higher"
            } else {
                "lower"
            }
        ),
        x_desc: "clients",
        y_desc: scenario.unit(),
        legend: SeriesLabelPosition::LowerRight,
        lines,
    };
    chart.draw(path)
}

/// One line of a [`Chart`]: its points joined, each marked with a dot.
pub struct Line {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

/// A line chart of the bench's plots, drawn as SVG: axes from 0 to a little
/// past the largest point.
pub struct Chart {
    pub caption: String,
    pub x_desc: &'static str,
    pub y_desc: &'static str,
    pub legend: SeriesLabelPosition,
    pub lines: Vec<Line>,
}

impl Chart {
    pub fn draw(self, path: &Path) -> io::Result<()> {
        let points = || self.lines.iter().flat_map(|line| line.points.iter());
        let max_x = points().map(|p| p.0).fold(0.0, f64::max).max(0.1);
        let max_y = points().map(|p| p.1).fold(0.0, f64::max).max(1.0);
        let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
        let draw = |e| io::Error::other(format!("drawing {}: {e}", path.display()));
        root.fill(&WHITE).map_err(draw)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.caption, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..max_x * 1.05, 0.0..max_y * 1.15)
            .map_err(draw)?;
        chart
            .configure_mesh()
            .max_light_lines(1)
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(draw)?;
        for line in self.lines {
            let color = line.color;
            chart
                .draw_series(LineSeries::new(
                    line.points.iter().copied(),
                    color.stroke_width(3),
                ))
                .map_err(draw)?
                .label(line.label)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3))
                });
            chart
                .draw_series(
                    line.points
                        .into_iter()
                        .map(|p| Circle::new(p, 4, color.filled())),
                )
                .map_err(draw)?;
        }
        chart
            .configure_series_labels()
            .position(self.legend)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(draw)?;
        root.present().map_err(draw)?;
        Ok(())
    }
}

/// Each server's line colour: tornadio red, the baseline blue, as before;
/// socketioxide orange, node green.
fn color(server: ServerKind) -> RGBColor {
    match server.role() {
        "tornadio" => RGBColor(0xd6, 0x27, 0x28),
        "baseline" => RGBColor(0x1f, 0x77, 0xb4),
        "socketioxide" => RGBColor(0xff, 0x7f, 0x0e),
        _ => RGBColor(0x2c, 0xa0, 0x2c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(value: f64) -> Measurement {
        Measurement {
            value,
            p50_ms: Some(value / 10.0),
            p95_ms: None,
            p99_ms: Some(value / 5.0),
            cpu_us_per_msg: Some(value * 2.0),
            user_us_per_msg: Some(value),
            note: format!("v{value}"),
        }
    }

    #[test]
    fn rows_take_medians() {
        let runs = [measurement(3.0), measurement(1.0), measurement(2.0)];
        let row = Row::new(Scenario::WsEcho, ServerKind::Tornadio, 200, &runs);
        assert_eq!(row.median.value, 2.0);
        assert_eq!(row.median.p50_ms, Some(0.2));
        assert_eq!(row.median.p95_ms, None);
        assert_eq!(row.median.note, "v2");
    }

    #[test]
    fn ratios_are_higher_when_better() {
        assert_eq!(
            result_line(Scenario::WsEcho, 200, 90.0, 100.0),
            "RESULT scenario=ws-echo clients=200 tornadio=90 baseline=100 ratio=0.90 unit=msg/s"
        );
        assert_eq!(
            result_line(Scenario::IdleMemory, 10, 200.0, 100.0),
            "RESULT scenario=idle-memory clients=10 tornadio=200 baseline=100 ratio=0.50 unit=bytes/session"
        );
    }

    #[test]
    fn csv_has_a_header_and_a_line_per_row() {
        let rows = [Row::new(
            Scenario::Broadcast,
            ServerKind::WsBaseline,
            10,
            &[measurement(4.0)],
        )];
        let text = csv(&rows);
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with("broadcast,ws-baseline,10,1,4.000,ms,0.400,,0.800,8.000\n"));
        let back = parse_csv(&text).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!((back[0].clients, back[0].median.value), (10, 4.0));
        assert_eq!(back[0].median.p95_ms, None);
        assert_eq!(back[0].median.cpu_us_per_msg, Some(8.0));
        assert!(parse_csv("header\nnonsense").is_err());
        // Sweeps written before the CPU column still read.
        let old = "h\nws-echo,tornadio,10,3,78147.000,msg/s,0.1,,0.2\n";
        assert_eq!(parse_csv(old).unwrap()[0].median.cpu_us_per_msg, None);
    }

    #[test]
    fn server_result_lines_carry_every_figure_they_have() {
        let row = Row::new(
            Scenario::WsEcho,
            ServerKind::Node,
            200,
            &[measurement(100.0)],
        );
        assert_eq!(
            server_result_line(&row),
            "RESULT protocol=v5 scenario=ws-echo clients=200 server=node value=100 unit=msg/s \
             p50_ms=10.00 p99_ms=20.00 cpu_us_per_msg=200.00 user_us_per_msg=100.00"
        );
    }
}
