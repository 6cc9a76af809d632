//! The processes this `dalif` runs with: itself alone, or the ranks of an `mpirun` / `srun`
//! job (feature `mpi`), and how a rank ends on an error.

use anyhow::{Result, bail};
use dalif::distributed::{Collective, Solo, launched_size};
use dalif::run::Job;
use std::sync::Arc;

/// Joins the job a launcher started this process in; alone otherwise.
pub fn join() -> Result<Arc<dyn Collective>> {
    #[cfg(feature = "mpi")]
    if dalif::distributed::Mpi::launched() {
        return match dalif::distributed::Mpi::join() {
            Ok(mpi) => Ok(Arc::new(mpi)),
            Err(e) => bail!("MPI could not be started: {e}"),
        };
    }
    if let Some(n @ 2..) = launched_size() {
        #[cfg(feature = "mpi")]
        bail!(
            "a launcher started {n} processes but gave them no MPI connection (PMIx, PMI): \
             with Slurm, launch with `srun --mpi=pmix`"
        );
        #[cfg(not(feature = "mpi"))]
        bail!(
            "a launcher started {n} processes, but this dalif was built without MPI: each would \
             train alone. Rebuild with `cargo install --path crates/dalif-cli --features mpi` \
             (Debian: apt-get install openmpi-bin libopenmpi-dev libclang-dev)"
        );
    }
    Ok(Arc::new(Solo))
}

/// Refuses a command that runs in one process when several were launched.
pub fn single(world: &dyn Collective, command: &str) -> Result<()> {
    if world.size() > 1 {
        bail!(
            "`dalif {command}` runs in one process; launch it without mpirun/srun (train, \
             ablate and sweep use several)"
        );
    }
    Ok(())
}

/// What `f` computes on rank 0 alone, as `encode` writes it, sent to every rank: rank 0 gets
/// `(Some(value), bytes)`, the others `(None, bytes)`; rank 0's error reaches them as a
/// [`Relayed`] one, on every rank.
pub fn from_root<T>(
    world: &dyn Collective,
    f: impl FnOnce() -> Result<T>,
    encode: impl FnOnce(&T) -> Vec<u8>,
) -> Result<(Option<T>, Vec<u8>)> {
    if !world.is_root() {
        return match dalif::distributed::broadcast_result(world, Ok(Vec::new())) {
            Ok(bytes) => Ok((None, bytes)),
            Err(relay) => Err(Relayed(relay).into()),
        };
    }
    let value = f();
    if world.size() == 1 {
        return Ok((Some(value?), Vec::new()));
    }
    let message = value.as_ref().map(encode).map_err(|e| format!("{e:#}"));
    match (value, dalif::distributed::broadcast_result(world, message)) {
        (Ok(value), Ok(bytes)) => Ok((Some(value), bytes)),
        // Every rank has it now: the job ends without an abort.
        (_, Err(message)) => Err(Relayed(message).into()),
        (Err(_), Ok(_)) => unreachable!("rank 0's own error is what it sends"),
    }
}

/// An error every rank knows of (rank 0's, sent to all): printed by rank 0 alone, and the job
/// ends without an abort.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Relayed(pub String);

/// An error of this rank that every rank knows of (it was counted in a collective): printed
/// here, and the job ends without an abort.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Settled(pub anyhow::Error);

/// Trains this rank's share of a series' independent runs (every `size`-th from its rank,
/// [`dalif::distributed::my_jobs`]) with `train`, then waits for every rank to finish its
/// share. Fails on every rank when one failed.
pub fn spread(
    world: &dyn Collective,
    jobs: &[Job],
    mut train: impl FnMut(&Job) -> Result<()>,
) -> Result<()> {
    let mine = dalif::distributed::my_jobs(world, jobs.len()).try_for_each(|k| train(&jobs[k]));
    let mut failed = [f64::from(u8::from(mine.is_err()))];
    world.sum_f64(&mut failed);
    match mine {
        Err(e) if e.is::<crate::training::Interrupted>() => Err(e),
        Err(e) => Err(Settled(e).into()),
        Ok(()) if failed[0] > 0.0 => Err(Relayed(format!(
            "{} of {} ranks could not train their runs (their messages say why); the finished \
             runs are kept, and the same command continues the rest",
            failed[0],
            world.size()
        ))
        .into()),
        Ok(()) => Ok(()),
    }
}

/// `f` on rank 0, then on the other ranks: work that shared files make cheaper the second
/// time (frame caches built once on a shared file system).
pub fn root_first<T>(world: &dyn Collective, f: impl Fn() -> Result<T>) -> Result<T> {
    match from_root(world, &f, |_| Vec::new())? {
        (Some(value), _) => Ok(value),
        (None, _) => f(),
    }
}
