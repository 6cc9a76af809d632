//! `dalif` under `mpirun -np 2` on the embedded digits: Ctrl-C and a killed rank stop the job
//! with messages naming what is saved and which rank died, the run resumes on 2 ranks and
//! then on 1; a sweep's points spread over the ranks, `sweep --point` and `sweep --collect`.
#![cfg(feature = "mpi")]

mod common;

use common::{dalif, tempdir, text};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DALIF: &str = env!("CARGO_BIN_EXE_dalif");
const SMALL: [&str; 6] = ["--epochs", "3", "--steps", "2", "--batch-size", "32"];

fn mpirun(args: &[&str]) -> Command {
    let mut command = Command::new("mpirun");
    command
        .args(["-np", "2", "--oversubscribe", DALIF])
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn epochs_saved(run: &Path) -> usize {
    std::fs::read_to_string(run.join("metrics.jsonl")).map_or(0, |t| t.lines().count())
}

/// Waits until `run` has `n` epochs saved, for at most two minutes.
fn wait_for_epochs(run: &Path, n: usize, job: &mut Child) {
    let start = Instant::now();
    while epochs_saved(run) < n {
        assert!(
            job.try_wait().unwrap().is_none(),
            "the job ended before epoch {n}"
        );
        assert!(start.elapsed() < Duration::from_secs(120), "no epoch {n}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The process of `rank` among those `mpirun` started (OpenMPI names it in the environment).
fn pid_of_rank(mpirun: u32, rank: usize) -> u32 {
    let wanted = format!("OMPI_COMM_WORLD_RANK={rank}");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // The parent is the 4th field of /proc/PID/stat, after the parenthesised name.
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let parent = stat
            .rsplit(") ")
            .next()
            .and_then(|rest| rest.split(' ').nth(1));
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let is_rank = environ.split(|&b| b == 0).any(|v| v == wanted.as_bytes());
        if is_rank && parent == Some(mpirun.to_string().as_str()) {
            return pid;
        }
    }
    panic!("no process of rank {rank} under mpirun {mpirun}");
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn interrupted_and_killed_jobs_resume_on_two_ranks_then_one() {
    let tmp = tempdir("mpi-stops");
    let run = tmp.join("run");
    let run_arg = run.to_str().unwrap();

    // Ctrl-C on mpirun after epoch 1: every rank stops, rank 0 says what is saved.
    let mut job = mpirun(&[&["train", "--out", run_arg][..], &SMALL].concat())
        .spawn()
        .unwrap();
    wait_for_epochs(&run, 1, &mut job);
    signal(job.id(), "-INT");
    let out = job.wait_with_output().unwrap();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("interrupted: epochs 1-"), "{said}");
    assert!(
        said.contains(&format!("dalif train --resume {run_arg}")),
        "{said}"
    );
    let saved = epochs_saved(&run);
    assert!((1..3).contains(&saved), "{saved} epochs saved");
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(log.contains("training data-parallel on 2 ranks"), "{log}");

    // Resumed on 2 ranks; rank 1 killed after the next epoch: mpirun names it.
    let mut job = mpirun(&["train", "--resume", run_arg]).spawn().unwrap();
    wait_for_epochs(&run, saved + 1, &mut job);
    signal(pid_of_rank(job.id(), 1), "-KILL");
    let out = job.wait_with_output().unwrap();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("rank 1") && said.contains("signal 9"),
        "{said}"
    );

    // Finished by one process, from the last checkpoint the job left intact.
    let out = dalif(&["train", "--resume", run_arg]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(epochs_saved(&run), 3);
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(log.contains("taken over"), "the killed job's lock: {log}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_sweep_spreads_its_points_over_the_ranks_and_collects_them() {
    let tmp = tempdir("mpi-sweep");
    let flags = ["--grid", "2", "--epochs", "1", "--steps", "2"];
    let out_dir = tmp.join("sweep");
    let out = mpirun(&[&["sweep", "--out", out_dir.to_str().unwrap()][..], &flags].concat())
        .output()
        .unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    // Points 0 and 2 on rank 0, 1 and 3 on rank 1; the table once, by rank 0.
    assert!(
        said.contains("rank 0] ") && said.contains("rank 1] "),
        "{said}"
    );
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert_eq!(said.matches("written: ").count(), 1, "{said}");

    // --collect writes the table from the trained points, training nothing.
    std::fs::remove_file(out_dir.join("sweep.csv")).unwrap();
    let out = dalif(
        &[
            &["sweep", "--collect", "--out", out_dir.to_str().unwrap()][..],
            &flags,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap(),
        csv
    );

    // One point as a job-array task; --collect names the points still missing.
    let points = tmp.join("points");
    let points_arg = points.to_str().unwrap();
    let out = dalif(&[&["sweep", "--point", "1", "--out", points_arg][..], &flags].concat());
    assert!(out.status.success(), "{}", text(&out));
    assert!(points.join("alpha0.750-beta0.250/metrics.jsonl").exists());
    let out = dalif(&[&["sweep", "--collect", "--out", points_arg][..], &flags].concat());
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("0 (alpha0.250-beta0.250), 2 (") && !said.contains(" 1 ("),
        "{said}"
    );
    let out = dalif(&[&["sweep", "--point", "4", "--out", points_arg][..], &flags].concat());
    assert!(text(&out).contains("points 0-3"), "{}", text(&out));
    std::fs::remove_dir_all(&tmp).unwrap();
}
