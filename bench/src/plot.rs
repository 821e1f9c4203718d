//! Line charts of benchmark results, as SVG files next to their JSON.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// A line chart: one line per series of `(x, y)` points.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// How an x value is written on the axis.
    pub x_format: &'a dyn Fn(f64) -> String,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

impl LineChart<'_> {
    /// Draws the chart into `bench/results/NAME.svg` and returns the path. The y axis starts at 0.
    pub fn write(&self, name: &str) -> Result<PathBuf> {
        let path = crate::results_dir()?.join(format!("{name}.svg"));
        self.draw(&path).map_err(|e| anyhow!("drawing {}: {e}", path.display()))?;
        Ok(path)
    }

    fn draw(&self, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        let points = || self.series.iter().flat_map(|(_, points)| points.iter());
        let (x_min, x_max) = points().fold((f64::MAX, f64::MIN), |(lo, hi), (x, _)| (lo.min(*x), hi.max(*x)));
        let y_max = points().fold(0.0f64, |hi, (_, y)| hi.max(*y));
        let mut xs: Vec<f64> = points().map(|(x, _)| *x).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let (x_min, x_max) = if x_min < x_max { (x_min, x_max) } else { (x_min - 1.0, x_min + 1.0) };
        let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(x_min..x_max, 0.0..(y_max * 1.1).max(1e-9))?;
        chart
            .configure_mesh()
            // A label per point when there are few, so integer axes (workers) are not labelled 1, 1, 2.
            .x_labels(xs.len().min(11))
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_label_formatter(&|x| (self.x_format)(*x))
            .y_label_formatter(&|y| format_number(*y))
            .draw()?;
        for (index, (name, points)) in self.series.iter().enumerate() {
            let color = Palette99::pick(index).to_rgba();
            chart
                .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(points.iter().map(|point| Circle::new(*point, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    }
}

/// A number for an axis: thousands separated, at most one decimal below 10.
pub fn format_number(value: f64) -> String {
    if value.abs() < 10.0 && value.fract() != 0.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0.0 {
        grouped.insert(0, '-');
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(format_number(1_234_567.0), "1,234,567");
        assert_eq!(format_number(999.0), "999");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(-1000.0), "-1,000");
    }
}
