//! The job's processes through MPI (rsmpi over the system's MPI library, OpenMPI on Debian).

use super::Collective;
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};

/// The processes of a job launched by `mpirun` / `mpiexec` or Slurm's `srun`: MPI's world.
///
/// Dropping it ends MPI (`MPI_Finalize`); a process joins MPI once, so keep one for the
/// process's life.
pub struct Mpi {
    world: SimpleCommunicator,
    // Declared last: MPI ends after the communicator is gone.
    _universe: Universe,
}

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

    /// Joins the job this process was launched in; `None` when MPI was already initialised
    /// in this process. Threads other than the caller's never call MPI (`MPI_THREAD_FUNNELED`).
    pub fn join() -> Option<Self> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
        Some(Self {
            world: universe.world(),
            _universe: universe,
        })
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn sum_f32(&self, values: &mut [f32]) {
        for chunk in values.chunks_mut(MAX_COUNT) {
            let send = chunk.to_vec();
            self.world
                .all_reduce_into(&send[..], chunk, SystemOperation::sum());
        }
    }

    fn sum_f64(&self, values: &mut [f64]) {
        for chunk in values.chunks_mut(MAX_COUNT) {
            let send = chunk.to_vec();
            self.world
                .all_reduce_into(&send[..], chunk, SystemOperation::sum());
        }
    }

    fn broadcast(&self, bytes: &mut Vec<u8>) {
        let root = self.world.process_at_rank(0);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        bytes.resize(len as usize, 0);
        for chunk in bytes.chunks_mut(MAX_COUNT) {
            root.broadcast_into(chunk);
        }
    }

    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}
