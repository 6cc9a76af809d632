//! Charts: what to draw ([`Chart`], [`Heatmap`]: plain data, always available) and, with the
//! `plot` feature, its rendering as PNG and SVG (`render`, `render_heatmap`: plotters, with a
//! font compiled in so that PNGs render the same on a machine without fonts).

#[cfg(feature = "plot")]
use plotters::coord::Shift;
#[cfg(feature = "plot")]
use plotters::prelude::*;
#[cfg(feature = "plot")]
use plotters::style::text_anchor::{HPos, Pos, VPos};
#[cfg(feature = "plot")]
use std::path::{Path, PathBuf};
#[cfg(feature = "plot")]
use std::sync::Once;

/// DejaVu Sans cut down to Latin-1 and a few symbols (fonttools' pyftsubset); its licence is
/// beside it.
#[cfg(feature = "plot")]
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");
#[cfg(feature = "plot")]
const FAMILY: &str = "dalif-sans";

/// One named series of `(x, y)` points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The legend's label.
    pub name: String,
    /// The points, joined by a line in this order.
    pub points: Vec<(f64, f64)>,
}

/// One chart: a title, axis labels and its series.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// The caption.
    pub title: String,
    /// The x axis's label.
    pub x_label: String,
    /// The y axis's label.
    pub y_label: String,
    /// The lines, each its own colour (a legend when there are several).
    pub series: Vec<Series>,
}

/// A chart that could not be drawn or written.
#[cfg(feature = "plot")]
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot draw the chart: {message}")]
pub struct PlotError {
    /// The file being written.
    pub path: PathBuf,
    /// What failed.
    pub message: String,
}

#[cfg(feature = "plot")]
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the compiled-in font is a valid TrueType file"));
    });
}

/// Something drawn the same on every plotters backend.
#[cfg(feature = "plot")]
trait Figure {
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

#[cfg(feature = "plot")]
impl Figure for [Chart] {
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        draw_all(area, self)
    }
}

#[cfg(feature = "plot")]
impl Figure for Heatmap {
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        draw_heatmap(area, self).map_err(|e| e.to_string())
    }
}

#[cfg(feature = "plot")]
fn finish<DB: DrawingBackend, F: Figure + ?Sized>(
    root: DrawingArea<DB, Shift>,
    figure: &F,
    path: &Path,
) -> Result<(), PlotError> {
    figure
        .draw_on(&root)
        .and_then(|()| root.present().map_err(|e| e.to_string()))
        .map_err(|message| PlotError {
            path: path.to_path_buf(),
            message,
        })
}

/// Draws `figure` into `stem.png` and `stem.svg`; returns both paths.
#[cfg(feature = "plot")]
fn save<F: Figure + ?Sized>(
    stem: &Path,
    figure: &F,
    size: (u32, u32),
) -> Result<[PathBuf; 2], PlotError> {
    register_font();
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    finish(
        BitMapBackend::new(&png, size).into_drawing_area(),
        figure,
        &png,
    )?;
    finish(
        SVGBackend::new(&svg, size).into_drawing_area(),
        figure,
        &svg,
    )?;
    Ok([png, svg])
}

/// Draws `charts` side by side (one row of `panel`-sized panels) into `stem.png` and
/// `stem.svg`; returns both paths.
#[cfg(feature = "plot")]
pub fn render(stem: &Path, charts: &[Chart], panel: (u32, u32)) -> Result<[PathBuf; 2], PlotError> {
    save(
        stem,
        charts,
        (panel.0 * charts.len().max(1) as u32, panel.1),
    )
}

#[cfg(feature = "plot")]
fn draw_all<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    charts: &[Chart],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((1, charts.len().max(1)));
    for (area, chart) in panels.iter().zip(charts) {
        draw(area, chart).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(feature = "plot")]
fn bounds(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) if hi > lo => (lo, hi),
        (true, true) => (lo - 0.5, hi + 0.5),
        _ => (0.0, 1.0),
    }
}

#[cfg(feature = "plot")]
fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = bounds(points().map(|p| p.0));
    let (y0, y1) = bounds(points().map(|p| p.1));
    let pad = 0.05 * (y1 - y0);
    let label_style = (FAMILY, 14).into_font();
    let mut ctx = ChartBuilder::on(area)
        .caption(&chart.title, (FAMILY, 20).into_font())
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0 - pad..y1 + pad)?;
    // Layers and epochs are counts: one tick per value, no fractions.
    let whole = points().all(|p| p.0.fract() == 0.0);
    let ticks = if whole { (x1 - x0) as usize + 1 } else { 10 };
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_labels(ticks.min(20))
        .x_label_formatter(&|x| {
            if whole {
                format!("{x:.0}")
            } else {
                format!("{x}")
            }
        })
        .label_style(label_style.clone())
        .axis_desc_style(label_style.clone())
        .draw()?;
    for (i, series) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let line = LineSeries::new(series.points.iter().copied(), color.stroke_width(2));
        ctx.draw_series(line)?
            .label(&series.name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        let dots = series
            .points
            .iter()
            .map(|&p| Circle::new(p, 3, color.filled()));
        ctx.draw_series(dots)?;
    }
    if chart.series.len() > 1 {
        ctx.configure_series_labels()
            .label_font(label_style)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    Ok(())
}

/// Values over a grid of two parameters, as coloured cells with their values written in.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    /// The caption.
    pub title: String,
    /// The x axis's label.
    pub x_label: String,
    /// The y axis's label.
    pub y_label: String,
    /// The grid's x values, one per column.
    pub x: Vec<f64>,
    /// The grid's y values, one per row.
    pub y: Vec<f64>,
    /// `values[j][i]` at `(x[i], y[j])`; NaN: no value (drawn empty).
    pub values: Vec<Vec<f64>>,
}

/// Draws `map` into `stem.png` and `stem.svg`; returns both paths.
#[cfg(feature = "plot")]
pub fn render_heatmap(
    stem: &Path,
    map: &Heatmap,
    size: (u32, u32),
) -> Result<[PathBuf; 2], PlotError> {
    save(stem, map, size)
}

#[cfg(feature = "plot")]
fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    map: &Heatmap,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let (nx, ny) = (map.x.len(), map.y.len());
    let (lo, hi) = bounds(
        map.values
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite()),
    );
    let label_style = (FAMILY, 14).into_font();
    let mut ctx = ChartBuilder::on(area)
        .caption(&map.title, (FAMILY, 20).into_font())
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())?;
    let label = |values: &[f64], v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) if *i < values.len() => format!("{:.2}", values[*i]),
        _ => String::new(),
    };
    ctx.configure_mesh()
        .disable_mesh()
        .x_desc(&map.x_label)
        .y_desc(&map.y_label)
        .x_labels(nx)
        .y_labels(ny)
        .x_label_formatter(&|v| label(&map.x, v))
        .y_label_formatter(&|v| label(&map.y, v))
        .label_style(label_style.clone())
        .axis_desc_style(label_style.clone())
        .draw()?;
    let cells = (0..ny).flat_map(|j| (0..nx).map(move |i| (i, j)));
    let value = |(i, j): (usize, usize)| map.values[j][i];
    ctx.draw_series(
        cells
            .clone()
            .filter(|&c| value(c).is_finite())
            .map(|(i, j)| {
                let color = ViridisRGB.get_color_normalized(value((i, j)), lo, hi);
                let corners = [
                    (SegmentValue::Exact(i), SegmentValue::Exact(j)),
                    (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1)),
                ];
                Rectangle::new(corners, color.filled())
            }),
    )?;
    let centred = TextStyle::from(label_style).pos(Pos::new(HPos::Center, VPos::Center));
    ctx.draw_series(cells.filter(|&c| value(c).is_finite()).map(|(i, j)| {
        let v = value((i, j));
        // Dark text on the light (high) end of the scale, light text on the dark end.
        let color: &'static RGBColor = if (v - lo) / (hi - lo) > 0.6 {
            &BLACK
        } else {
            &WHITE
        };
        Text::new(
            format!("{v:.1}"),
            (SegmentValue::CenterOf(i), SegmentValue::CenterOf(j)),
            centred.clone().color(color),
        )
    }))?;
    Ok(())
}
