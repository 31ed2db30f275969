//! What the bench prints and writes: the table, the RESULT line, the sweep's
//! CSV and its SVG plot.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use plotters::prelude::*;

use crate::scenario::load::median;
use crate::scenario::{Measurement, Scenario};
use crate::server::ServerKind;

/// The medians of several runs of one scenario against one server.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: Scenario,
    pub server: ServerKind,
    pub clients: usize,
    pub runs: usize,
    pub median: Measurement,
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
                note,
            },
        }
    }
}

/// The table of rows, aligned, as printed on stdout.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<13} {:<14} {:>7} {:>4} {:>12} {:<14} {:>9} {:>9} {:>9}  note",
        "scenario", "server", "clients", "runs", "value", "unit", "p50 ms", "p95 ms", "p99 ms"
    );
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    for row in rows {
        let m = &row.median;
        let _ = writeln!(
            out,
            "{:<13} {:<14} {:>7} {:>4} {:>12.1} {:<14} {:>9} {:>9} {:>9}  {}",
            row.scenario.name(),
            row.server.as_str(),
            row.clients,
            row.runs,
            m.value,
            row.scenario.unit(),
            ms(m.p50_ms),
            ms(m.p95_ms),
            ms(m.p99_ms),
            m.note
        );
    }
    out
}

/// `RESULT scenario=... clients=N tornadio=X baseline=Y ratio=R unit=...`
pub fn result_line(scenario: Scenario, clients: usize, tornadio: f64, baseline: f64) -> String {
    let ratio = scenario.ratio(tornadio, baseline);
    let figure = |v: f64| {
        if scenario == Scenario::Broadcast {
            format!("{v:.1}")
        } else {
            format!("{v:.0}")
        }
    };
    format!(
        "RESULT scenario={} clients={clients} tornadio={} baseline={} ratio={ratio:.2} unit={}",
        scenario.name(),
        figure(tornadio),
        figure(baseline),
        scenario.unit()
    )
}

/// One CSV line per row, with a header.
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from("scenario,server,clients,runs,value,unit,p50_ms,p95_ms,p99_ms\n");
    let ms = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.3}"));
    for row in rows {
        let m = &row.median;
        let _ = writeln!(
            out,
            "{},{},{},{},{:.3},{},{},{},{}",
            row.scenario.name(),
            row.server.as_str(),
            row.clients,
            row.runs,
            m.value,
            row.scenario.unit(),
            ms(m.p50_ms),
            ms(m.p95_ms),
            ms(m.p99_ms)
        );
    }
    out
}

/// Reads back rows written by [`csv`] (to redraw a plot without rerunning).
pub fn parse_csv(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let bad = || format!("line {}: not a bench CSV row: {line:?}", n + 1);
        let fields: Vec<&str> = line.split(',').collect();
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
                note: String::new(),
            },
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
    let max_clients = rows.iter().map(|r| r.clients).max().unwrap_or(1) as f64;
    let max_value = rows
        .iter()
        .map(|r| r.median.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(1.0);

    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    let draw = |e| io::Error::other(format!("drawing {}: {e}", path.display()));
    root.fill(&WHITE).map_err(draw)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{}: {} by client count ({} is better)",
                scenario.name(),
                scenario.unit(),
                if scenario.higher_is_better() {
                    "higher"
                } else {
                    "lower"
                }
            ),
            ("sans-serif", 24),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..max_clients * 1.05, 0.0..max_value * 1.15)
        .map_err(draw)?;
    chart
        .configure_mesh()
        .max_light_lines(1)
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .x_desc("clients")
        .y_desc(scenario.unit())
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(draw)?;

    let servers = [
        (ServerKind::Tornadio, RGBColor(0xd6, 0x27, 0x28)),
        (scenario.baseline(), RGBColor(0x1f, 0x77, 0xb4)),
    ];
    for (server, color) in servers {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.server == server && r.median.value.is_finite())
            .map(|r| (r.clients as f64, r.median.value))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))
            .map_err(draw)?
            .label(server.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3)));
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 5, color.filled())),
            )
            .map_err(draw)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(draw)?;
    root.present().map_err(draw)?;
    Ok(())
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
        assert!(text.ends_with("broadcast,ws-baseline,10,1,4.000,ms,0.400,,0.800\n"));
        let back = parse_csv(&text).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!((back[0].clients, back[0].median.value), (10, 4.0));
        assert_eq!(back[0].median.p95_ms, None);
        assert!(parse_csv("header\nnonsense").is_err());
    }
}
