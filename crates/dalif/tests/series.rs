//! Series of runs with several seeds: the ablation's folder layout, its reuse of finished
//! runs, and the statistics of its table (per variant over the seeds, and the paired
//! differences of the paper's comparisons) on known metrics.

use burn::tensor::Device;
use dalif::analysis::stats::Verdict;
use dalif::models::learnable_params;
use dalif::neuron::DecayParam;
use dalif::run::{self, Quiet, RunConfig, RunDir, RunError, ablation, seeds};
use dalif::training::EpochMetrics;
use dalif_data::{Subset, digits};
use std::path::{Path, PathBuf};

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dalif-series-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The only place these tests build metrics.
fn epoch(epoch: usize, test_accuracy: f64) -> EpochMetrics {
    EpochMetrics {
        epoch,
        train_loss: 1.0,
        train_accuracy: 0.5,
        test_loss: 1.0,
        test_accuracy,
        lr: 0.1,
        alpha: vec![0.5, 0.5],
        beta: vec![0.5, 0.5],
        firing_rate: vec![0.1, 0.3],
        init_firing_rate: None,
        seconds: 1.5,
        loader_wait_seconds: 0.0,
        neuron: String::new(),
    }
}

fn csv_rows(out: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(out.join("ablation.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

const VARIANTS: [&str; 5] = [
    "lif",
    "plif",
    "dalif",
    "dalif-spatial-only",
    "dalif-temporal-only",
];

#[test]
fn ablation_trains_each_variant_with_each_seed_and_reuses_finished_runs() {
    let out = tempdir("ablation");
    let (train, test) = digits::splits().unwrap();
    let (train, test) = (
        Subset::new(&train, (0..48).collect()),
        Subset::new(&test, (0..32).collect()),
    );
    let mut base = RunConfig::default();
    base.train.epochs = 1;
    base.train.steps = 2;
    base.train.batch_size = 16;
    base.train.seed = 5;
    let device = Device::flex().autodiff();
    let mut calls = Vec::new();
    let ablate = |base: &RunConfig, calls: &mut Vec<(String, u64)>| {
        ablation::run(base, false, 2, &out, |dir, config, name| {
            calls.push((name.to_string(), config.train.seed));
            let network = run::train(dir, config, run::zoo, &train, &test, &device, &mut Quiet)?;
            Ok::<_, RunError>((learnable_params(&network), dir.metrics()?))
        })
    };
    let rows = ablate(&base, &mut calls).unwrap();

    let expected: Vec<(String, u64)> = VARIANTS
        .iter()
        .flat_map(|v| [(v.to_string(), 5), (v.to_string(), 6)])
        .collect();
    assert_eq!(calls, expected);
    for (variant, seed) in &expected {
        let (_, config) = RunDir::open(&out.join(variant).join(format!("seed-{seed}"))).unwrap();
        assert_eq!(config.train.seed, *seed);
        assert_eq!(config.model.neuron.to_string(), *variant);
    }
    let csv = csv_rows(&out);
    let keys: Vec<(String, u64)> = csv
        .iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    assert_eq!(keys, expected);
    // Each seed draws its own weights and batch order.
    let dalif = &rows[2].runs;
    assert_ne!(
        dalif[0].metrics[0].train_loss,
        dalif[1].metrics[0].train_loss
    );
    let md = std::fs::read_to_string(out.join("ablation.md")).unwrap();
    assert!(
        md.contains("seeds 5, 6 (initial weights and batch order)"),
        "{md}"
    );
    assert!(md.contains("| dalif - lif | DA-LIF is more accurate than LIF |"));

    // Run again: every run is finished, so nothing trains and the table is the same.
    let csv_text = std::fs::read_to_string(out.join("ablation.csv")).unwrap();
    let again = ablate(&base, &mut calls).unwrap();
    assert_eq!(again, rows);
    assert_eq!(
        std::fs::read_to_string(out.join("ablation.csv")).unwrap(),
        csv_text
    );
    for (variant, seed) in &expected {
        let dir = RunDir::open(&out.join(variant).join(format!("seed-{seed}"))).unwrap();
        assert_eq!(dir.0.metrics().unwrap().len(), 1, "{variant} seed {seed}");
    }

    // Another recipe in the same folder is refused at its first run, before training.
    let mut other = base.clone();
    other.train.lr = 0.2;
    let n = calls.len();
    match ablate(&other, &mut calls) {
        Err(RunError::OtherRun(path)) => assert_eq!(path, out.join("lif").join("seed-5")),
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.len(), n);
}

#[test]
fn ablation_table_gives_each_variant_over_its_seeds_and_the_paired_differences() {
    let out = tempdir("table");
    // Last-epoch test accuracy per variant and seed (seeds 0, 1, 2); the first epoch is one
    // point better, so the mean best accuracy is the mean plus one.
    let accuracy = |name: &str| match name {
        "lif" => [0.90, 0.88, 0.92],
        "plif" => [0.91, 0.92, 0.94],
        "dalif" => [0.92, 0.91, 0.95],
        "dalif-spatial-only" => [0.94, 0.94, 0.98],
        "dalif-temporal-only" => [0.90, 0.90, 0.92],
        "dalif-sigmoid" => [0.93, 0.90, 0.96],
        _ => unreachable!("{name}"),
    };
    let base = RunConfig::default();
    let train = |base: &RunConfig, n: usize, out: &Path| {
        ablation::run(base, true, n, out, |_dir, config, name| {
            let acc = accuracy(name)[config.train.seed as usize];
            let params = 100 + 4 * VARIANTS.iter().position(|v| *v == name).unwrap_or(5);
            Ok::<_, RunError>((params, vec![epoch(0, acc + 0.01), epoch(1, acc)]))
        })
    };
    let rows = train(&base, 3, &out).unwrap();
    let md = std::fs::read_to_string(out.join("ablation.md")).unwrap();
    assert_eq!(ablation::table(&base, &rows).0, md);

    // lif: 90, 88, 92: mean 90, sd 2, half-width t_{0.975,2} * 2 / sqrt(3) = 4.97.
    assert!(
        md.contains(
            "| lif | lif | fixed | 100 | 3 | 90.00% | 2.00 | [85.03, 94.97] | 91.00% | 0.2000 | 3.0 |"
        ),
        "{md}"
    );
    let comparisons = ablation::comparisons(&rows);
    let pairs: Vec<(&str, &str, Verdict)> = comparisons
        .iter()
        .map(|c| (c.a.as_str(), c.b.as_str(), c.paired.verdict))
        .collect();
    assert_eq!(
        pairs,
        [
            ("dalif", "lif", Verdict::Supported),
            ("dalif", "plif", Verdict::NotResolved),
            ("dalif", "dalif-spatial-only", Verdict::Contradicted),
            ("dalif", "dalif-temporal-only", Verdict::NotResolved),
            ("dalif", "dalif-sigmoid", Verdict::NotResolved),
        ]
    );
    let diffs = &comparisons[0].paired.differences;
    assert!(
        diffs
            .iter()
            .zip([2.0, 3.0, 3.0])
            .all(|(d, e)| (d - e).abs() < 1e-9),
        "{diffs:?}"
    );
    // Differences 2, 3, 3: mean 8/3, sd sqrt(1/3), half-width t_{0.975,2} / 3 = 1.434.
    for line in [
        "| dalif - lif | DA-LIF is more accurate than LIF | +2.67 | [+1.23, +4.10] | supported: the interval lies above 0 |",
        // 1, -1, 1: mean 1/3, sd sqrt(4/3), half-width 2.868.
        "| dalif - plif | DA-LIF is more accurate than PLIF | +0.33 | [-2.54, +3.20] | not resolved by these runs: the interval contains 0 |",
        "| dalif - dalif-spatial-only | learning both decays beats learning alpha alone | -2.67 | [-4.10, -1.23] | contradicted: the interval lies below 0 |",
        // 2, 1, 3: mean 2, sd 1, half-width 2.484.
        "| dalif - dalif-temporal-only | learning both decays beats learning beta alone | +2.00 | [-0.48, +4.48] | not resolved",
        "| dalif - dalif-sigmoid | the tanh parametrisation beats sigmoid | -0.33 | [-3.20, +2.54] | not resolved",
        "These runs support: dalif vs lif. They do not support: dalif vs plif, dalif vs dalif-spatial-only, dalif vs dalif-temporal-only, dalif vs dalif-sigmoid.",
    ] {
        assert!(md.contains(line), "missing {line:?} in\n{md}");
    }
    let csv = std::fs::read_to_string(out.join("ablation.csv")).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "variant,seed,neuron,param,parameters,test_accuracy,best_test_accuracy,mean_firing_rate,firing_rates,train_seconds"
    );
    assert_eq!(csv.lines().count(), 1 + 6 * 3);
    assert!(csv.contains("\nlif,1,lif,tanh,100,0.880000,0.890000,0.200000,0.10000 0.30000,3.00\n"));
    assert!(csv.contains("\ndalif-sigmoid,2,dalif,sigmoid,120,0.960000,"));

    // With the base parametrisation sigmoid, the extra variant is tanh, and the claim keeps
    // its direction: tanh minus sigmoid.
    let mut sigmoid = base.clone();
    sigmoid.model.param = DecayParam::Sigmoid;
    let names: Vec<String> = ablation::variants(&sigmoid, true)
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names[5], "dalif-tanh");

    // One seed: no spread, no interval, no verdict.
    let one = tempdir("one-seed");
    train(&base, 1, &one).unwrap();
    let md = std::fs::read_to_string(one.join("ablation.md")).unwrap();
    assert!(
        md.contains("| lif | lif | fixed | 100 | 1 | 90.00% | - | - | 91.00% |"),
        "{md}"
    );
    assert!(md.contains(
        "| dalif - lif | DA-LIF is more accurate than LIF | +2.00 | - | one seed: no interval |"
    ));
    assert!(md.contains("One seed per variant: no interval"));
    assert!(one.join("lif").join("seed-0").join("config.toml").is_file());

    // No seed at all is refused before anything is written.
    let none = tempdir("no-seed");
    match train(&base, 0, &none) {
        Err(RunError::Config(m)) => assert!(m.contains("at least 1"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(!none.exists());
}

#[test]
fn seeds_refuse_a_folder_that_is_a_run_itself() {
    let out = tempdir("single");
    let config = RunConfig::default();
    RunDir::create(&out, &config).unwrap();
    let result = seeds::train(&config, 2, &out, |_, _| {
        Ok::<_, RunError>((1, vec![epoch(0, 0.5)]))
    });
    match result {
        Err(RunError::Config(m)) => assert!(m.contains("is a run directory itself"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(!out.join("seed-0").exists());
}
