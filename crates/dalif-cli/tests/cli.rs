//! The `dalif` binary end to end on the embedded digits: train, eval, resume after Ctrl-C,
//! ablate, several seeds, and the errors (exit code 2, nothing overwritten).

mod common;

use common::{dalif, tempdir, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The metrics without the wall-clock times.
fn numbers(run: &Path) -> Vec<serde_json::Value> {
    metrics(run)
        .into_iter()
        .map(|mut m| {
            let m_object = m.as_object_mut().unwrap();
            m_object.remove("seconds");
            m_object.remove("loader_wait_seconds");
            m
        })
        .collect()
}

const SMALL: [&str; 6] = ["--epochs", "2", "--steps", "2", "--batch-size", "32"];

#[test]
fn train_writes_a_run_directory_that_eval_reads() {
    let tmp = tempdir("train");
    let run = tmp.join("run");
    let out = dalif(&[&["train", "--out", run.to_str().unwrap()][..], &SMALL].concat());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("test accuracy:"), "{}", text(&out));
    for file in [
        "config.toml",
        "metrics.jsonl",
        "log.txt",
        "checkpoints/last",
        "checkpoints/best",
    ] {
        assert!(run.join(file).is_file(), "{file} is missing");
    }
    let m = metrics(&run);
    assert_eq!(m.len(), 2);
    for key in ["alpha", "beta", "firing_rate"] {
        assert_eq!(m[1][key].as_array().unwrap().len(), 4, "{key} of 4 layers");
    }
    assert!(m[1]["test_accuracy"].as_f64().unwrap() > 0.5, "{:?}", m[1]);

    let out = dalif(&["eval", run.to_str().unwrap(), "--checkpoint", "last"]);
    assert!(out.status.success(), "{}", text(&out));
    let acc = m[1]["test_accuracy"].as_f64().unwrap() * 100.0;
    assert!(
        text(&out).contains(&format!("accuracy {acc:.2}%")),
        "{}",
        text(&out)
    );

    // Weights exported as safetensors evaluate exactly as the checkpoint they came from:
    // same loss, accuracy, decays and firing rates.
    let weights = tmp.join("weights.safetensors");
    let out = dalif(&[
        "export",
        run.to_str().unwrap(),
        weights.to_str().unwrap(),
        "--format",
        "safetensors",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let report = |args: &[&str], json: &str| {
        let path = tmp.join(json);
        let out = dalif(&[args, &["--json", path.to_str().unwrap()]].concat());
        assert!(out.status.success(), "{}", text(&out));
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let v = v.as_object_mut().unwrap();
        v.remove("weights");
        v.remove("epochs_done");
        serde_json::Value::Object(v.clone())
    };
    assert_eq!(
        report(&["eval", run.to_str().unwrap()], "checkpoint.json"),
        report(
            &["eval", "--weights", weights.to_str().unwrap()],
            "weights.json"
        )
    );
    // A file that is not safetensors, or not from dalif, is refused by name.
    std::fs::write(tmp.join("bad.safetensors"), b"not safetensors").unwrap();
    let out = dalif(&[
        "eval",
        "--weights",
        tmp.join("bad.safetensors").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bad.safetensors"), "{}", text(&out));
    // cifar-small pools by maximum, which NIR has no primitive for: exported as the OR of the
    // window (tests/nir.rs checks the file with the `nir` package). A time step NIR cannot
    // use is refused, leaving no file.
    let nir = tmp.join("x.nir");
    let export = |dt: &str| {
        dalif(&[
            "export",
            run.to_str().unwrap(),
            nir.to_str().unwrap(),
            "--format",
            "nir",
            "--dt",
            dt,
        ])
    };
    let out = export("0");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("dt of 0"), "{}", text(&out));
    assert!(!nir.exists());
    let out = export("1e-4");
    assert!(out.status.success(), "{}", text(&out));
    assert!(nir.is_file());

    // Errors: exit code 2, one message, nothing overwritten.
    let config = std::fs::read(run.join("config.toml")).unwrap();
    let out = dalif(&["train", "--out", run.to_str().unwrap(), "--epochs", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    assert_eq!(std::fs::read(run.join("config.toml")).unwrap(), config);
    for (args, says) in [
        (
            vec!["train", "--model", "resnet50"],
            "unknown model 'resnet50'",
        ),
        (vec!["train", "--preset", "mnist"], "unknown preset 'mnist'"),
        (vec!["train", "--data", "svhn"], "unknown data set 'svhn'"),
        (vec!["train", "--neuron", "izhikevich"], "izhikevich"),
        (
            vec!["train", "--normalize", "0,0,0,1,1,1"],
            "applies to the RGB image data sets",
        ),
        (
            vec!["train", "--cifar10dvs-split", "tebn"],
            "applies to cifar10dvs, not digits",
        ),
        (
            vec!["train", "--data", "cifar10"],
            "give it with --data-root",
        ),
        (
            vec!["train", "--auto-augment"],
            "AutoAugment works on the RGB images",
        ),
        (
            vec!["eval", "--weights", "w.safetensors", "--checkpoint", "last"],
            "cannot be used with",
        ),
        (
            vec!["train", "--mixup=-1"],
            "alphas must be finite and at least 0",
        ),
        (
            vec!["eval", tmp.to_str().unwrap()],
            "not a dalif run directory",
        ),
        (
            vec!["train", "--resume", tmp.to_str().unwrap()],
            "not a dalif run directory",
        ),
    ] {
        let out = dalif(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    let last = std::fs::read_to_string(run.join("checkpoints/last")).unwrap();
    let weights = run.join("checkpoints").join(last.trim()).join("model.bpk");
    std::fs::write(&weights, b"not a burnpack file").unwrap();
    let out = dalif(&["eval", run.to_str().unwrap(), "--checkpoint", "last"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("model.bpk"), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn ctrl_c_keeps_the_last_epoch_and_resume_finishes_the_run_exactly() {
    let tmp = tempdir("resume");
    let straight = straight_run(&tmp);
    let run = tmp.join("interrupted");
    let child = spawn_train(&run);
    wait_for("no epoch finished", || {
        run.join("checkpoints/last").exists()
    });
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait_with_output().unwrap().status;
    let done = metrics(&run).len();
    // The signal goes out as soon as the first of three epochs is saved: a run that finished
    // anyway did not see it, and this test would check nothing.
    assert!(
        !status.success(),
        "the run ended before SIGINT took effect ({done} epochs)"
    );
    assert_eq!(status.code(), Some(130));
    assert!((1..3).contains(&done), "{done} epochs saved");
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(log.contains("stopped on request"), "{log}");
    resume_and_compare(&run, &straight);
}

#[test]
fn ablate_trains_every_variant_and_writes_the_table() {
    let tmp = tempdir("ablate");
    let out_dir = tmp.join("ablation");
    let args = [
        "ablate",
        "--epochs",
        "1",
        "--steps",
        "2",
        "--batch-size",
        "32",
        "--compare-param",
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let out = dalif(&args);
    assert!(out.status.success(), "{}", text(&out));
    let csv = std::fs::read_to_string(out_dir.join("ablation.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        names,
        [
            "lif",
            "plif",
            "dalif",
            "dalif-spatial-only",
            "dalif-temporal-only",
            "dalif-sigmoid"
        ]
    );
    assert!(rows.iter().all(|r| r[1] == "0"), "one seed, the default 0");
    let params = |name: &str| -> usize {
        rows.iter().find(|r| r[0] == name).unwrap()[4]
            .parse()
            .unwrap()
    };
    // cifar_small has 4 spiking layers: DA-LIF adds 2 each, PLIF and one-sided DA-LIF 1.
    assert_eq!(params("dalif"), params("lif") + 8);
    assert_eq!(params("plif"), params("lif") + 4);
    assert_eq!(params("dalif-spatial-only"), params("lif") + 4);
    for r in &rows {
        let acc: f64 = r[5].parse().unwrap();
        let rate: f64 = r[7].parse().unwrap();
        assert!(
            (0.0..=1.0).contains(&acc) && rate > 0.0 && rate < 1.0,
            "{r:?}"
        );
    }
    for name in names {
        assert!(out_dir.join(name).join("seed-0/config.toml").is_file());
    }
    let md = std::fs::read_to_string(out_dir.join("ablation.md")).unwrap();
    assert!(md.contains("| dalif | dalif | tanh |"), "{md}");
    assert!(
        md.contains("| dalif - dalif-sigmoid | the tanh parametrisation beats sigmoid |"),
        "{md}"
    );
    assert!(md.contains("One seed per variant"), "{md}");

    // Run again: every variant is already trained, so the table comes back the same.
    let again = dalif(&args);
    assert!(again.status.success(), "{}", text(&again));
    let csv_again = std::fs::read_to_string(out_dir.join("ablation.csv")).unwrap();
    assert_eq!(csv_again, csv);
}

#[test]
fn train_with_seeds_trains_a_run_per_seed_and_a_rerun_continues_them() {
    let tmp = tempdir("seeds");
    let out_dir = tmp.join("seeds");
    let args = [
        &["train", "--seeds", "2", "--seed", "7", "--out"][..],
        &[out_dir.to_str().unwrap()],
        &["--epochs", "1", "--steps", "2", "--batch-size", "32"],
    ]
    .concat();
    let out = dalif(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("| 2 | "), "{}", text(&out));
    for seed in ["seed-7", "seed-8"] {
        assert_eq!(metrics(&out_dir.join(seed)).len(), 1, "{seed}");
    }
    let csv = std::fs::read_to_string(out_dir.join("seeds.csv")).unwrap();
    let seeds: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(seeds, ["7", "8"]);
    let md = std::fs::read_to_string(out_dir.join("seeds.md")).unwrap();
    assert!(md.contains("seeds 7, 8"), "{md}");

    // The same command again reuses both finished runs.
    let again = dalif(&args);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("seeds.csv")).unwrap(),
        csv
    );
    assert_eq!(metrics(&out_dir.join("seed-7")).len(), 1);

    let zero = dalif(&[
        "train",
        "--seeds",
        "0",
        "--out",
        tmp.join("zero").to_str().unwrap(),
    ]);
    assert_eq!(zero.status.code(), Some(2), "{}", text(&zero));
    assert!(text(&zero).contains("at least 1"), "{}", text(&zero));
    assert!(!tmp.join("zero").exists());
    let resume = dalif(&[
        "train",
        "--seeds",
        "2",
        "--resume",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(resume.status.code(), Some(2), "{}", text(&resume));
    assert!(
        text(&resume).contains("cannot be used with"),
        "{}",
        text(&resume)
    );
}

#[test]
fn trains_on_the_synthetic_event_set_out_of_the_box_and_caches_its_frames() {
    let tmp = tempdir("synthetic");
    let cache = tmp.join("cache");
    let train = |out: &str| {
        Command::new(env!("CARGO_BIN_EXE_dalif"))
            .env("DALIF_CACHE_DIR", &cache)
            .args([
                "train",
                "--data",
                "synthetic-events",
                "--epochs",
                "2",
                "--steps",
                "4",
            ])
            .args([
                "--batch-size",
                "16",
                "--out",
                tmp.join(out).to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let out = train("first");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("[4, 2, 16, 16], 4 classes"),
        "{}",
        text(&out)
    );
    let m = metrics(&tmp.join("first"));
    assert!(m[1]["test_accuracy"].as_f64().unwrap() > 0.5, "{:?}", m[1]);
    // The recordings are AEDAT 3.1 files; the frames of both splits are cached.
    let frames: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains("-T4-number-16x16")
        })
        .collect();
    assert_eq!(frames.len(), 2, "{frames:?}");
    let counts: usize = frames
        .iter()
        .map(|d| std::fs::read_dir(d).unwrap().count())
        .sum();
    assert_eq!(counts, 384 + 96);
    let stamp = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let one = std::fs::read_dir(&frames[0])
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let before = stamp(&one);
    // A second run reads the cache instead of the events.
    let out = train("second");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stamp(&one), before);
    assert_eq!(numbers(&tmp.join("first")), numbers(&tmp.join("second")));
}

/// A miniature CIFAR10-DVS release: 10 class folders of 10 AEDAT 2.0 recordings, two events
/// each; recording i lasts i milliseconds.
fn mini_cifar10_dvs(root: &Path) {
    let names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    for (k, name) in names.iter().enumerate() {
        std::fs::create_dir_all(root.join(name)).unwrap();
        for i in 0..10u32 {
            // A header line, then big-endian (address, timestamp) events; the address puts
            // each class's events at its own pixels.
            let mut bytes = b"#!AER-DAT2.0\r\n".to_vec();
            for (a, t) in [
                (0x1415u32 + (k as u32) * 0x202, 1000u32),
                (0x0101, 1000 + 1000 * i),
            ] {
                bytes.extend(a.to_be_bytes());
                bytes.extend(t.to_be_bytes());
            }
            std::fs::write(
                root.join(name).join(format!("cifar10_{name}_{i}.aedat")),
                bytes,
            )
            .unwrap();
        }
    }
}

/// Every file under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            let meta = std::fs::metadata(&path).unwrap();
            out.push((path, meta.len(), meta.modified().unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn trains_on_an_event_data_set_folder_without_touching_it() {
    let tmp = tempdir("cifar10dvs");
    let root = tmp.join("CIFAR10-DVS");
    mini_cifar10_dvs(&root);
    let before = snapshot(&root);
    let cache = tmp.join("cache");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dalif"))
            .env("DALIF_CACHE_DIR", &cache)
            .args(args)
            .output()
            .unwrap()
    };
    let data = [
        "--data",
        "cifar10dvs",
        "--data-root",
        tmp.to_str().unwrap(),
        "--frame-size",
        "16x16",
        "--steps",
        "2",
    ];
    let out = run(&[&["data", "cache"][..], &data].concat());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("90 train and 10 test samples, [2, 2, 16, 16]"),
        "{}",
        text(&out)
    );
    let tebn = run(&[&["data", "cache", "--cifar10dvs-split", "tebn"][..], &data].concat());
    assert!(tebn.status.success(), "{}", text(&tebn));
    assert!(
        text(&tebn).contains("0 train and 100 test samples"),
        "{}",
        text(&tebn)
    );
    let out_dir = tmp.join("run");
    let train = [
        &["train"][..],
        &data,
        &[
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--flip",
            "--roll",
            "2",
        ],
        &["--out", out_dir.to_str().unwrap()],
    ]
    .concat();
    let out = run(&train);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(metrics(&out_dir).len(), 1);
    assert_eq!(snapshot(&root), before, "the data set folder is as it was");
}

#[test]
fn data_inspect_says_what_a_folder_holds() {
    let root = tempdir("inspect");
    mini_cifar10_dvs(&root);
    let out = dalif(&["data", "inspect", root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains(": cifar10dvs"), "{said}");
    assert!(
        said.contains("train: 90 samples; per class: 9 9 9"),
        "{said}"
    );
    assert!(said.contains("test: 10 samples"), "{said}");
    assert!(said.contains("events min 2 / median 2 / max 2"), "{said}");
    assert!(
        said.contains("duration min 0.000 / median 0.005 / max 0.009 s"),
        "{said}"
    );

    // An empty recording and one whose timestamps go backwards are named, and training on
    // them warns once.
    std::fs::write(
        root.join("truck/cifar10_truck_10.aedat"),
        b"#!AER-DAT2.0\r\n",
    )
    .unwrap();
    let mut backwards = b"#!AER-DAT2.0\r\n".to_vec();
    for (a, t) in [(0x1415u32, 5000u32), (0x0101, 1000)] {
        backwards.extend(a.to_be_bytes());
        backwards.extend(t.to_be_bytes());
    }
    std::fs::write(root.join("bird/cifar10_bird_3.aedat"), backwards).unwrap();
    let out = dalif(&["data", "inspect", root.to_str().unwrap()]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("warning: 1 of 101 samples read have no events")
            && said.contains("cifar10_truck_10.aedat"),
        "{said}"
    );
    assert!(
        said.contains("timestamps go backwards") && said.contains("cifar10_bird_3.aedat"),
        "{said}"
    );
    let cache = tempdir("inspect-cache");
    let out = Command::new(env!("CARGO_BIN_EXE_dalif"))
        .env("DALIF_CACHE_DIR", &cache)
        .args(["data", "cache", "--data", "cifar10dvs", "--steps", "2"])
        .args(["--split-by", "time", "--data-root", root.to_str().unwrap()])
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert_eq!(said.matches("warning:").count(), 2, "{said}");
    assert!(
        said.contains("recordings without any event") && said.contains("cifar10_truck_10"),
        "{said}"
    );
    assert!(said.contains("sorted by time"), "{said}");

    let out = dalif(&[
        "data",
        "inspect",
        tempdir("inspect-empty").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not a data set folder"),
        "{}",
        text(&out)
    );
}

#[test]
fn analyze_reports_decays_rates_operations_energy_and_charts() {
    let tmp = tempdir("analyze");
    let run = tmp.join("run");
    let out = dalif(&[&["train", "--out", run.to_str().unwrap()][..], &SMALL].concat());
    assert!(out.status.success(), "{}", text(&out));
    let out = dalif(&["analyze", run.to_str().unwrap(), "--limit", "100"]);
    assert!(out.status.success(), "{}", text(&out));
    let dir = run.join("analysis");
    let md = std::fs::read_to_string(dir.join("analysis.md")).unwrap();
    assert!(
        md.contains("Evaluated on 100 test samples at T = 2"),
        "{md}"
    );
    // cifar-small: 4 spiking layers, DA-LIF's 2 decays each over LIF.
    assert!(
        md.contains("| overhead | +8 (4 spiking layers, +2.00 per layer) |"),
        "{md}"
    );
    let layers = std::fs::read_to_string(dir.join("layers.csv")).unwrap();
    assert_eq!(layers.lines().count(), 1 + 4, "{layers}");
    // The first convolution reads the image (MACs, once: static input); the other three and
    // the classifier read spikes (SOPs). E = 4.6 MACs + 0.9 SOPs.
    let ops = std::fs::read_to_string(dir.join("operations.csv")).unwrap();
    let rows: Vec<Vec<&str>> = ops
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 5, "{ops}");
    let num = |s: &str| s.parse::<f64>().unwrap();
    assert_eq!((rows[0][3], num(rows[0][5])), ("real", num(rows[0][2])));
    for row in &rows {
        let (macs, sops, energy) = (num(row[5]), num(row[6]), num(row[7]));
        assert!((energy - (4.6 * macs + 0.9 * sops)).abs() <= 1e-9 * energy.max(1.0));
    }
    for row in &rows[1..] {
        let want = num(row[4]) * 2.0 * num(row[2]);
        assert_eq!(row[3], "spikes");
        assert!(
            (num(row[6]) - want).abs() <= 1e-9 * want.max(1.0),
            "{row:?}"
        );
    }
    for stem in [
        "decays",
        "firing_rates",
        "decay_trajectories",
        "training_curves",
    ] {
        let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 2000,
            "{stem}.png"
        );
        let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("<polyline"),
            "{stem}.svg"
        );
    }
    // Other energy models; a bad one is refused.
    let elsewhere = tmp.join("int8");
    let args = ["analyze", run.to_str().unwrap(), "--energy", "45nm-int8"];
    let out = dalif(&[&args[..], &["--out", elsewhere.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", text(&out));
    let md = std::fs::read_to_string(elsewhere.join("analysis.md")).unwrap();
    assert!(md.contains("E = 0.23 pJ x MACs + 0.03 pJ x SOPs"), "{md}");
    let out = dalif(&["analyze", run.to_str().unwrap(), "--energy", "3nm"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown energy preset '3nm'"),
        "{}",
        text(&out)
    );
}

#[test]
fn sweep_maps_accuracy_over_frozen_decays_and_reuses_finished_points() {
    let tmp = tempdir("sweep");
    let out_dir = tmp.join("sweep");
    let args = [
        "sweep",
        "--grid",
        "2",
        "--epochs",
        "2",
        "--steps",
        "2",
        "--batch-size",
        "16",
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let out = dalif(&args);
    assert!(out.status.success(), "{}", text(&out));
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    for stem in ["sweep.png", "sweep.svg", "sweep.md"] {
        assert!(out_dir.join(stem).is_file(), "{stem}");
    }
    // Frozen means frozen: every epoch of a point logs its alpha and beta.
    let point = out_dir.join("alpha0.250-beta0.750");
    for m in metrics(&point) {
        for (key, value) in [("alpha", 0.25), ("beta", 0.75)] {
            for v in m[key].as_array().unwrap() {
                assert!((v.as_f64().unwrap() - value).abs() < 1e-6, "{key} {v}");
            }
        }
    }
    // Finished points are reused: the same table, and no epoch trained again.
    let log = std::fs::read_to_string(point.join("log.txt")).unwrap();
    let again = dalif(&args);
    assert!(again.status.success(), "{}", text(&again));
    let epochs = |log: &str| {
        log.lines()
            .filter(|l| l.contains("epoch") && l.contains("done"))
            .count()
    };
    let log_again = std::fs::read_to_string(point.join("log.txt")).unwrap();
    assert_eq!(epochs(&log_again), epochs(&log), "{log_again}");
    assert_eq!(
        std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap(),
        csv
    );
    let out = dalif(&[
        "sweep",
        "--neuron",
        "lif",
        "--out",
        tmp.join("x").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("freezes DA-LIF's decays"),
        "{}",
        text(&out)
    );
}

/// The flags of the runs the tests below interrupt: three epochs of a few seconds.
const STOPPABLE: [&str; 8] = [
    "--epochs",
    "3",
    "--steps",
    "2",
    "--batch-size",
    "96",
    "--seed",
    "7",
];

fn spawn_train(run: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dalif"))
        .args([&["train", "--out", run.to_str().unwrap()][..], &STOPPABLE].concat())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(120), "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The weights of the run's last checkpoint, exported, by tensor name: the checkpoint files
/// hold parameter ids drawn anew by every process, and the export's header lists the tensors
/// in no fixed order.
fn last_weights(run: &Path) -> std::collections::BTreeMap<String, (serde_json::Value, Vec<u8>)> {
    let file = run.with_extension("safetensors");
    let out = dalif(&[
        "export",
        run.to_str().unwrap(),
        file.to_str().unwrap(),
        "--format",
        "safetensors",
        "--checkpoint",
        "last",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let bytes = std::fs::read(file).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    header
        .into_iter()
        .map(|(name, mut tensor)| {
            let range = tensor.as_object_mut().unwrap().remove("data_offsets");
            let (start, end) = match range {
                Some(r) => (r[0].as_u64().unwrap(), r[1].as_u64().unwrap()),
                None => (0, 0), // the metadata
            };
            (name, (tensor, data[start as usize..end as usize].to_vec()))
        })
        .collect()
}

/// An uninterrupted run with [`STOPPABLE`] to compare with.
fn straight_run(tmp: &Path) -> PathBuf {
    let straight = tmp.join("straight");
    let out = dalif(
        &[
            &["train", "--out", straight.to_str().unwrap()][..],
            &STOPPABLE,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out));
    straight
}

/// Resumes `run` to its end and checks that it equals the uninterrupted `straight`: the same
/// metrics and, bit for bit, the same weights. Returns what the resume printed.
fn resume_and_compare(run: &Path, straight: &Path) -> std::process::Output {
    let out = dalif(&["train", "--resume", run.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(numbers(run), numbers(straight));
    assert!(
        last_weights(run) == last_weights(straight),
        "the same weights, bit for bit"
    );
    out
}

/// The checkpoint `last` names.
fn last_checkpoint(run: &Path) -> String {
    let name = std::fs::read_to_string(run.join("checkpoints/last")).unwrap();
    name.trim().to_string()
}

#[cfg(unix)]
#[test]
fn a_second_process_on_a_run_is_refused_and_a_killed_ones_lock_taken_over() {
    let tmp = tempdir("lock");
    let straight = straight_run(&tmp);
    let run = tmp.join("run");
    let mut first = spawn_train(&run);
    let lock = run.join("lock");
    wait_for("the run took no lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|t| !t.trim().is_empty())
    });
    let out = dalif(&["train", "--resume", run.to_str().unwrap()]);
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run ended too early for this test"
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let says = format!("is being trained by another process (pid {})", first.id());
    assert!(text(&out).contains(&says), "{}", text(&out));
    assert!(text(&out).contains(run.to_str().unwrap()), "{}", text(&out));

    first.kill().unwrap(); // SIGKILL: the lock file keeps its pid
    first.wait().unwrap();
    let out = resume_and_compare(&run, &straight);
    let took = format!(
        "process {} held the run and ended without releasing it",
        first.id()
    );
    assert!(text(&out).contains(&took), "{}", text(&out));
}

/// A tmpfs (or a read-only bind mount) for the disk-full and read-only tests, unmounted when
/// dropped. `None` when this process may not mount (not root, or a sandbox without the
/// capability): those tests then say so and check nothing.
struct Mount(PathBuf);

impl Mount {
    fn new(point: &Path, args: &[&str]) -> Option<Self> {
        std::fs::create_dir_all(point).unwrap();
        let status = Command::new("mount")
            .args(args)
            .arg(point)
            .stderr(Stdio::null())
            .status();
        matches!(status, Ok(s) if s.success()).then(|| Mount(point.to_path_buf()))
    }

    fn tmpfs(point: &Path, options: &str) -> Option<Self> {
        Self::new(point, &["-t", "tmpfs", "-o", options, "tmpfs"])
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn skip(test: &str) {
    eprintln!("SKIPPED {test}: `mount` is not permitted here (needs root and CAP_SYS_ADMIN)");
}

fn no_temporaries(run: &Path) -> bool {
    [run.to_path_buf(), run.join("checkpoints")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .all(|e| !e.unwrap().file_name().to_string_lossy().contains(".tmp-"))
}

#[cfg(unix)]
#[test]
fn a_full_disk_stops_the_run_keeps_the_last_epoch_and_resume_finishes_it() {
    let tmp = tempdir("disk-full");
    let Some(mount) = Mount::tmpfs(&tmp.join("disk"), "size=16m") else {
        return skip("a_full_disk_stops_the_run_keeps_the_last_epoch_and_resume_finishes_it");
    };
    let straight = straight_run(&tmp);
    let checkpoint: u64 = std::fs::read_dir(straight.join("checkpoints/epoch-0003"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len().next_multiple_of(4096))
        .sum();
    // Fill the disk, then free one checkpoint and a half (and the small files' pages): room
    // for the first epoch's checkpoint, not for the second one beside it.
    let filler = mount.0.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let chunk = vec![1u8; 1 << 16];
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    let full = std::fs::metadata(&filler).unwrap().len();
    file.set_len(full - checkpoint * 3 / 2 - 16 * 4096).unwrap();
    drop(file);

    let run = mount.0.join("run");
    let out = dalif(&[&["train", "--out", run.to_str().unwrap()][..], &STOPPABLE].concat());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for says in [
        "cannot save epoch 2",
        "No space left on device",
        run.to_str().unwrap(),
        "epoch 1 stays saved",
        "dalif train --resume",
    ] {
        assert!(text(&out).contains(says), "{says}: {}", text(&out));
    }
    assert_eq!(last_checkpoint(&run), "epoch-0001");
    assert!(
        no_temporaries(&run),
        "the half-written checkpoint is removed, freeing its space"
    );

    std::fs::remove_file(&filler).unwrap();
    resume_and_compare(&run, &straight);
}

#[cfg(unix)]
#[test]
fn a_read_only_folder_stops_the_run_clearly_and_resume_finishes_it() {
    let tmp = tempdir("read-only");
    let Some(read_only) = Mount::tmpfs(&tmp.join("ro"), "size=1m,ro") else {
        return skip("a_read_only_folder_stops_the_run_clearly_and_resume_finishes_it");
    };
    // A new run in a read-only folder: refused before training, naming the folder.
    let inside = read_only.0.join("run");
    let out = dalif(&[&["train", "--out", inside.to_str().unwrap()][..], &SMALL].concat());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("Read-only file system"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains(inside.to_str().unwrap()),
        "{}",
        text(&out)
    );

    // A run whose folder turns read-only after its first epoch (a bind mount of the folder
    // onto itself, made read-only: what the process has open stays writable, every new
    // write fails).
    let straight = straight_run(&tmp);
    let run = tmp.join("run");
    let child = spawn_train(&run);
    wait_for("no epoch finished", || {
        run.join("checkpoints/last").exists()
    });
    let bind = Mount::new(&run, &["--bind", run.to_str().unwrap()]).unwrap();
    let status = Command::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(&run)
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for says in [
        "cannot save epoch 2",
        "Read-only file system",
        run.to_str().unwrap(),
        "dalif train --resume",
    ] {
        assert!(text(&out).contains(says), "{says}: {}", text(&out));
    }
    assert_eq!(
        last_checkpoint(&run),
        "epoch-0001",
        "the first epoch stays saved"
    );
    let out = dalif(&["train", "--resume", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("Read-only file system"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains(run.to_str().unwrap()), "{}", text(&out));

    drop(bind);
    resume_and_compare(&run, &straight);
}

#[test]
fn devices_are_named_and_a_missing_one_says_how_to_get_it() {
    let out = dalif(&["train", "--device", "gpu"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cuda:N") && text(&out).contains("wgpu:cpu"),
        "{}",
        text(&out)
    );
    // This test binary is built without the cuda feature.
    let out = dalif(&["eval", "runs/none", "--device", "cuda:1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--features cuda"), "{}", text(&out));
    // --checkpointing belongs to training, not to evaluation.
    let out = dalif(&["eval", "runs/none", "--checkpointing"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn bench_train_times_training_steps_with_and_without_checkpointing() {
    let tmp = tempdir("bench-train");
    for (flag, name) in [(None, "plain.json"), (Some("--checkpointing"), "ckpt.json")] {
        let json = tmp.join(name);
        let mut args = vec![
            "bench",
            "train",
            "--model",
            "cifar-small",
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--input",
            "2x16x16",
            "--rounds",
            "2",
            "--warmup",
            "1",
            "--json",
        ];
        args.push(json.to_str().unwrap());
        args.extend(flag);
        let out = dalif(&args);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("samples/s"), "{}", text(&out));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(report["timings"]["times_ms"].as_array().unwrap().len(), 2);
        assert_eq!(report["checkpointing"], flag.is_some());
        assert!(report["peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
        assert!(report["forward_kept_bytes"].as_u64().is_some(), "{report}");
        assert_eq!(report["input"], serde_json::json!([2, 16, 16]));
    }
    // A workload sets the model, T and the batch; the options change parts of it.
    let json = tmp.join("r.json");
    let out = dalif(&[
        "bench",
        "train",
        "--workload",
        "r",
        "--batch-size",
        "2",
        "--input",
        "3x8x8",
        "--rounds",
        "1",
        "--warmup",
        "0",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["model"], "resnet19");
    assert_eq!(
        (report["steps"].as_u64(), report["batch_size"].as_u64()),
        (Some(4), Some(2))
    );
    let out = dalif(&["bench", "train", "--input", "3x32"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("CxHxW"), "{}", text(&out));
}
