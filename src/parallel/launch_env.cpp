#include "parallel/launch_env.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace uspdit::parallel {
namespace {

std::optional<int> read_int(const EnvLookup& env, const std::string& name) {
  auto value = env(name);
  if (!value || value->empty()) return std::nullopt;
  try {
    size_t used = 0;
    int parsed = std::stoi(*value, &used);
    if (used != value->size()) throw std::invalid_argument(name);
    return parsed;
  } catch (const std::exception&) {
    throw UsageError("environment variable " + name + "='" + *value +
                     "' is not an integer; unset it or fix the launcher command");
  }
}

// Slurm writes tasks per node as e.g. "8(x3),4": the first group is this layout's common case.
std::optional<int> slurm_tasks_per_node(const EnvLookup& env) {
  if (auto n = read_int(env, "SLURM_NTASKS_PER_NODE")) return n;
  auto value = env("SLURM_TASKS_PER_NODE");
  if (!value || value->empty()) return std::nullopt;
  return std::atoi(value->c_str());
}

void check_consistent(const LaunchEnv& e, const char* rank_var, const char* size_var) {
  require(e.world_size >= 1, std::string(size_var) + " must be >= 1");
  require(e.rank >= 0 && e.rank < e.world_size,
          std::string(rank_var) + "=" + std::to_string(e.rank) + " is outside " + size_var + "=" +
              std::to_string(e.world_size));
  require(e.local_world_size >= 1 && e.local_rank >= 0 && e.local_rank < e.local_world_size,
          "local rank " + std::to_string(e.local_rank) + " is outside local world size " +
              std::to_string(e.local_world_size));
}

}  // namespace

const char* launcher_name(Launcher launcher) {
  switch (launcher) {
    case Launcher::kSingleProcess: return "single process";
    case Launcher::kOpenMpi: return "Open MPI mpirun";
    case Launcher::kMpich: return "MPICH/Hydra mpiexec";
    case Launcher::kSlurm: return "Slurm srun";
    case Launcher::kTorchrun: return "torchrun";
  }
  return "unknown";
}

bool launcher_provides_mpi(Launcher launcher) {
  return launcher != Launcher::kTorchrun;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

LaunchEnv read_launch_env(const EnvLookup& env) {
  LaunchEnv e;
  // torchrun first: it may itself run inside a Slurm allocation, whose variables then describe
  // the allocation, not these processes. TORCHELASTIC_RUN_ID is set by torchrun only.
  if (env("TORCHELASTIC_RUN_ID") || (env("RANK") && env("WORLD_SIZE") && env("LOCAL_WORLD_SIZE"))) {
    e.launcher = Launcher::kTorchrun;
    e.rank = read_int(env, "RANK").value_or(0);
    e.world_size = read_int(env, "WORLD_SIZE").value_or(1);
    e.local_rank = read_int(env, "LOCAL_RANK").value_or(0);
    e.local_world_size = read_int(env, "LOCAL_WORLD_SIZE").value_or(1);
    e.node_rank = read_int(env, "GROUP_RANK");
    e.master_addr = env("MASTER_ADDR").value_or("");
    e.master_port = read_int(env, "MASTER_PORT").value_or(0);
    const auto agent_store = env("TORCHELASTIC_USE_AGENT_STORE");
    e.agent_store = agent_store && (*agent_store == "True" || *agent_store == "true" || *agent_store == "1");
    e.restart_count = read_int(env, "TORCHELASTIC_RESTART_COUNT").value_or(0);
    check_consistent(e, "RANK", "WORLD_SIZE");
    // RANK/WORLD_SIZE/LOCAL_WORLD_SIZE without torchrun's own TORCHELASTIC_RUN_ID may be left over
    // in the shell: when an MPI launcher started this process and counts differently, say which.
    if (!env("TORCHELASTIC_RUN_ID")) {
      for (const char* mpi_size : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
        const auto size = read_int(env, mpi_size);
        require(!size || *size == e.world_size,
                std::string("RANK/WORLD_SIZE/LOCAL_WORLD_SIZE (torchrun's, WORLD_SIZE=") +
                    std::to_string(e.world_size) + ") contradict the MPI launcher's " + mpi_size + "=" +
                    std::to_string(size.value_or(0)) +
                    ": unset RANK, WORLD_SIZE and LOCAL_WORLD_SIZE (left over in the shell?) or launch "
                    "with torchrun alone");
      }
    }
    require(e.world_size == 1 || (!e.master_addr.empty() && e.master_port > 0),
            "torchrun launch without MASTER_ADDR/MASTER_PORT; pass --master_addr and --master_port to torchrun");
    return e;
  }
  if (auto rank = read_int(env, "OMPI_COMM_WORLD_RANK")) {
    e.launcher = Launcher::kOpenMpi;
    e.rank = *rank;
    e.world_size = read_int(env, "OMPI_COMM_WORLD_SIZE").value_or(1);
    e.local_rank = read_int(env, "OMPI_COMM_WORLD_LOCAL_RANK").value_or(0);
    e.local_world_size = read_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE").value_or(1);
    check_consistent(e, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE");
    return e;
  }
  if (auto rank = read_int(env, "PMI_RANK")) {
    e.launcher = Launcher::kMpich;
    e.rank = *rank;
    e.world_size = read_int(env, "PMI_SIZE").value_or(1);
    e.local_rank = read_int(env, "MPI_LOCALRANKID").value_or(0);
    e.local_world_size = read_int(env, "MPI_LOCALNRANKS").value_or(1);
    check_consistent(e, "PMI_RANK", "PMI_SIZE");
    return e;
  }
  if (auto rank = read_int(env, "SLURM_PROCID")) {
    e.launcher = Launcher::kSlurm;
    e.rank = *rank;
    e.world_size = read_int(env, "SLURM_NTASKS").value_or(1);
    e.local_rank = read_int(env, "SLURM_LOCALID").value_or(0);
    e.local_world_size = slurm_tasks_per_node(env).value_or(1);
    e.node_rank = read_int(env, "SLURM_NODEID");
    check_consistent(e, "SLURM_PROCID", "SLURM_NTASKS");
    return e;
  }
  return e;
}

}  // namespace uspdit::parallel
