// Who started this process and where it sits in the job, read from the launcher's environment.
//
// Recognised launchers: Open MPI's mpirun, MPICH/Hydra (and Intel MPI), Slurm's srun, and
// torchrun (--no-python). Reading is a pure function of the environment so it is unit-tested
// with synthetic environments; the runtime (parallel/runtime.h) turns it into communicators.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace uspdit::parallel {

enum class Launcher { kSingleProcess, kOpenMpi, kMpich, kSlurm, kTorchrun };

const char* launcher_name(Launcher launcher);

// True for launchers whose processes can call MPI_Init and find each other.
bool launcher_provides_mpi(Launcher launcher);

struct LaunchEnv {
  Launcher launcher = Launcher::kSingleProcess;
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  // Node index when the launcher states it (torchrun GROUP_RANK, Slurm SLURM_NODEID); the
  // runtime otherwise derives it from host names.
  std::optional<int> node_rank;
  // torchrun's rendezvous point, used to bootstrap NCCL through a TCPStore.
  std::string master_addr;
  int master_port = 0;
  // torchrun's agent already serves a TCPStore at MASTER_ADDR:MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE=True): every rank connects to it as a client.
  bool agent_store = false;
  // torchrun's TORCHELASTIC_RESTART_COUNT: the agent's store outlives a restart, so each attempt
  // keys its rendezvous apart (a stale NCCL id from the previous attempt would hang the init).
  int restart_count = 0;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment, as an EnvLookup.
EnvLookup process_env();

// Reads the launch environment. Throws UsageError when the variables are inconsistent
// (e.g. RANK >= WORLD_SIZE), naming the variable.
LaunchEnv read_launch_env(const EnvLookup& env);

}  // namespace uspdit::parallel
