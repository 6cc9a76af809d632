//! `dalif data inspect` and `dalif data cache`.

use crate::config_args::ConfigArgs;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use dalif_data::layouts::Cifar10DvsSplit;
use dalif_data::{DatasetKind, EventFormat, EventLayout, EventSource};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

// Parsed once per process: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Data {
    /// Say what a downloaded data set folder holds: its kind, samples per split and class,
    /// sample size, and for event data the events and durations of its recordings.
    Inspect(InspectArgs),
    /// Integrate and cache the event frames of a data set ahead of training (same flags as
    /// `train`: --data, --data-root, --steps, --frame-size, --split-by, or a --preset).
    Cache(CacheArgs),
}

#[derive(Args)]
pub struct InspectArgs {
    /// The data set's folder (or CIFAR's .tar.gz).
    path: PathBuf,
    /// Recordings read for the event statistics (spread over the whole set).
    #[arg(long, default_value_t = 200)]
    max_recordings: usize,
}

#[derive(Args)]
pub struct CacheArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn run(command: Data) -> Result<()> {
    match command {
        Data::Inspect(args) => inspect(&args.path, args.max_recordings),
        Data::Cache(args) => {
            let config = args.config.resolve()?;
            let (train, test) = crate::training::open_data(&config)?;
            println!(
                "{}: frames of {} train and {} test samples, {:?} each, cached under {}",
                config.data.name,
                train.len(),
                test.len(),
                train.sample_shape(),
                dalif_data::cache::default_root().display()
            );
            Ok(())
        }
    }
}

fn per_class(labels: impl Iterator<Item = usize>, classes: usize) -> String {
    let mut counts = vec![0usize; classes];
    for l in labels {
        counts[l] += 1;
    }
    counts
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `data inspect` reads of one sample.
struct SampleStats {
    events: usize,
    /// From its first event's timestamp to its last one's, in microseconds.
    span: u64,
    /// Whether its recording's timestamps never go backwards.
    ordered: bool,
}

fn inspect(path: &Path, max_recordings: usize) -> Result<()> {
    let Some(kind) = DatasetKind::detect(path) else {
        let known: Vec<&str> = (DatasetKind::ALL.iter())
            .filter(|k| k.info().detect.is_some())
            .map(|k| k.info().about)
            .collect();
        bail!(
            "{}: not a data set folder dalif knows ({})",
            path.display(),
            known.join(", ")
        );
    };
    println!("{}: {kind}", path.display());
    match kind.event_layout() {
        Some(layout) => inspect_events(path, layout, max_recordings),
        None => inspect_images(kind, path),
    }
}

fn inspect_images(kind: DatasetKind, path: &Path) -> Result<()> {
    let (train, test) = kind.open_images(Some(path), None)?;
    for (split, set) in [("train", train), ("test", test)] {
        let labels = (0..set.len())
            .map(|i| set.get(i).map(|s| s.label))
            .collect::<Result<Vec<_>, _>>()?;
        println!(
            "{split}: {} images of {:?}, {} classes; per class: {}",
            set.len(),
            set.sample_shape(),
            set.num_classes(),
            per_class(labels.into_iter(), set.num_classes())
        );
    }
    Ok(())
}

fn inspect_events(path: &Path, layout: &EventLayout, max_recordings: usize) -> Result<()> {
    let (format, sensor, classes) = (layout.format, layout.sensor, layout.classes);
    println!(
        "sensor {}x{}, {classes} classes, read as {format:?}",
        sensor[0], sensor[1]
    );
    let split = Cifar10DvsSplit::default();
    let splits = [
        ("train", layout.sources(path, true, split)?),
        ("test", layout.sources(path, false, split)?),
    ];
    for (split, sources) in &splits {
        let labels = sources.iter().map(|s| s.label);
        println!(
            "{split}: {} samples; per class: {}",
            sources.len(),
            per_class(labels, classes)
        );
    }
    let all: Vec<&EventSource> = splits.iter().flat_map(|(_, s)| s).collect();
    let step = all.len().div_ceil(max_recordings.max(1)).max(1);
    let picked: Vec<&EventSource> = all.iter().step_by(step).copied().collect();
    let stats = picked
        .par_iter()
        .map(|s| {
            let recording = EventFormat::read(format, &s.file)?;
            let ordered = recording.is_time_ordered();
            let e = s.events(&recording);
            let span = match (e.t.first(), e.t.last()) {
                (Some(a), Some(b)) => b.saturating_sub(*a),
                _ => 0,
            };
            Ok(SampleStats {
                events: e.len(),
                span,
                ordered,
            })
        })
        .collect::<Result<Vec<_>, dalif_data::DataError>>()?;
    // Samples that train on zero frames, and recordings only a split by number reads in
    // file order: named, since neither shows in the totals.
    let samples_where = |hit: fn(&SampleStats) -> bool| -> Vec<&EventSource> {
        (picked.iter().zip(&stats))
            .filter(|(_, s)| hit(s))
            .map(|(p, _)| *p)
            .collect()
    };
    for (what, hits) in [
        (
            "have no events (their frames are zero)",
            samples_where(|s| s.events == 0),
        ),
        (
            "come from recordings whose timestamps go backwards (split by time sorts them)",
            samples_where(|s| !s.ordered),
        ),
    ] {
        if let Some(first) = hits.first() {
            println!(
                "warning: {} of {} samples read {what}; the first: {first}",
                hits.len(),
                picked.len(),
            );
        }
    }
    let (mut n, mut d): (Vec<usize>, Vec<u64>) = stats.iter().map(|s| (s.events, s.span)).unzip();
    n.sort_unstable();
    d.sort_unstable();
    if !n.is_empty() {
        let mid = n.len() / 2;
        println!(
            "{} of {} samples read: events min {} / median {} / max {}; duration min {:.3} / median {:.3} / max {:.3} s",
            n.len(),
            all.len(),
            n[0],
            n[mid],
            n[n.len() - 1],
            d[0] as f64 / 1e6,
            d[mid] as f64 / 1e6,
            d[d.len() - 1] as f64 / 1e6
        );
    }
    Ok(())
}
