//! `--plot FILE.svg`: GCUPS per engine, grouped by workload, drawn with plotters.

use super::Measurement;
use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// Colours for engines, in order of first appearance.
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xb0, 0x7a, 0xa1),
];

/// The bar an engine belongs to: its first word (`cpu`, `gpu`, `scalar`, `parasail`, `ssw`), so
/// that a peer's different functions per workload share one colour; the table names them.
fn family(engine: &str) -> &str {
    engine.split_whitespace().next().unwrap_or(engine)
}

/// Draws a grouped bar chart of end-to-end GCUPS (log scale: engines differ by orders of
/// magnitude) into an SVG file at `path`.
pub fn plot_svg(measurements: &[Measurement], title: &str, path: &Path) -> Result<()> {
    let fail = |e: String| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    let mut workloads: Vec<&str> = Vec::new();
    let mut engines: Vec<String> = Vec::new();
    for m in measurements {
        if !workloads.contains(&m.workload.as_str()) {
            workloads.push(&m.workload);
        }
        let engine = family(&m.engine).to_string();
        if !engines.contains(&engine) {
            engines.push(engine);
        }
    }
    let (low, high) = measurements
        .iter()
        .map(Measurement::gcups)
        .fold((f64::MAX, 0f64), |(lo, hi), g| (lo.min(g), hi.max(g)));
    // Headroom above the bars for the legend.
    let (low, high) = ((low.max(1e-4) / 2.0), (high.max(1e-3) * 8.0));
    let root = SVGBackend::new(path, (200 + 160 * workloads.len() as u32, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let groups = workloads.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..groups, (low..high).log_scale())
        .map_err(|e| fail(e.to_string()))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(workloads.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            match (x - x.floor() - 0.5).abs() < 1e-9 {
                true => workloads.get(i).map_or(String::new(), |w| w.to_string()),
                false => String::new(),
            }
        })
        .y_desc("GCUPS (end to end)")
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    let width = 0.8 / engines.len().max(1) as f64;
    for (e, engine) in engines.iter().enumerate() {
        let colour = PALETTE[e % PALETTE.len()];
        let bars = measurements
            .iter()
            .filter(|m| family(&m.engine) == engine)
            .filter_map(|m| {
                let w = workloads.iter().position(|w| *w == m.workload)? as f64;
                let x = w + 0.1 + e as f64 * width;
                Some(Rectangle::new(
                    [(x, low), (x + width * 0.9, m.gcups())],
                    colour.filled(),
                ))
            });
        chart
            .draw_series(bars)
            .map_err(|e| fail(e.to_string()))?
            .label(engine.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}
