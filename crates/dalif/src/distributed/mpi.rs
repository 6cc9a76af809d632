//! The job's processes through MPI (rsmpi over the system's MPI library, OpenMPI on Debian).

use super::Collective;
use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use std::sync::{Mutex, MutexGuard};

/// The processes of a job launched by `mpirun` / `mpiexec` or Slurm's `srun`: MPI's world.
///
/// Dropping it ends MPI (`MPI_Finalize`); a process joins MPI once, so keep one for the
/// process's life.
pub struct Mpi {
    world: SimpleCommunicator,
    /// Read once: every MPI call goes through `turn`.
    rank: usize,
    size: usize,
    /// One call at a time, from whichever thread (`MPI_THREAD_SERIALIZED`).
    turn: Mutex<()>,
    // Declared last: MPI ends after the communicator is gone.
    _universe: Universe,
}

// SAFETY: MPI was initialised with at least MPI_THREAD_SERIALIZED (`join` checks it), which
// lets any thread call MPI as long as no two calls overlap; every call holds `turn`.
unsafe impl Send for Mpi {}
unsafe impl Sync for Mpi {}

/// Variables the launchers set in the processes they start: OpenMPI's `mpirun`, PMIx (OpenMPI
/// 4+, Slurm's `--mpi=pmix`), PMI-1/2 (MPICH, Slurm's `--mpi=pmi2`).
const LAUNCHER_VARIABLES: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"];

/// Most elements one MPI call takes: its counts are C `int`s.
const MAX_COUNT: usize = 1 << 30;

impl Mpi {
    /// Whether a launcher started this process (then [`Mpi::join`] joins its job).
    pub fn launched() -> bool {
        LAUNCHER_VARIABLES
            .iter()
            .any(|v| std::env::var_os(v).is_some())
    }

    /// Joins the job this process was launched in. Fails when MPI was already initialised
    /// in this process, or cannot be called from more than one thread.
    pub fn join() -> Result<Self, String> {
        let (universe, level) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or("MPI was already initialised in this process")?;
        if level < mpi::Threading::Serialized {
            return Err(format!(
                "the MPI library gives threading level {level:?}; dalif needs Serialized (an \
                 execution stream's thread sums batch statistics)"
            ));
        }
        let world = universe.world();
        Ok(Self {
            rank: world.rank() as usize,
            size: world.size() as usize,
            world,
            turn: Mutex::new(()),
            _universe: universe,
        })
    }

    fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `values` summed element-wise over the ranks, in place, in calls MPI's counts can take.
    fn sum<T: Equivalence + Clone>(&self, values: &mut [T]) {
        let _turn = self.turn();
        for chunk in values.chunks_mut(MAX_COUNT) {
            let send = chunk.to_vec();
            self.world
                .all_reduce_into(&send[..], chunk, SystemOperation::sum());
        }
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn sum_f32(&self, values: &mut [f32]) {
        self.sum(values);
    }

    fn sum_f64(&self, values: &mut [f64]) {
        self.sum(values);
    }

    fn broadcast(&self, bytes: &mut Vec<u8>) {
        let _turn = self.turn();
        let root = self.world.process_at_rank(0);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        bytes.resize(len as usize, 0);
        for chunk in bytes.chunks_mut(MAX_COUNT) {
            root.broadcast_into(chunk);
        }
    }

    fn abort(&self, code: i32) -> ! {
        // Not in turn: another thread may be inside a collective that will never finish.
        self.world.abort(code)
    }
}
