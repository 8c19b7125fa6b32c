// Reading rank, size, local rank and node from each launcher's environment variables.
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "parallel/bootstrap.h"
#include "parallel/launch_env.h"
#include "parallel/runtime.h"

namespace uspdit::parallel {
namespace {

EnvLookup fake(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(LaunchEnv, NoLauncherIsOneProcess) {
  auto e = read_launch_env(fake({}));
  EXPECT_EQ(e.launcher, Launcher::kSingleProcess);
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world_size, 1);
}

TEST(LaunchEnv, OpenMpi) {
  auto e = read_launch_env(fake({{"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_SIZE", "16"},
                                 {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "8"}}));
  EXPECT_EQ(e.launcher, Launcher::kOpenMpi);
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 16);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 8);
  EXPECT_TRUE(launcher_provides_mpi(e.launcher));
}

TEST(LaunchEnv, Mpich) {
  auto e = read_launch_env(fake({{"PMI_RANK", "3"}, {"PMI_SIZE", "4"}, {"MPI_LOCALRANKID", "1"},
                                 {"MPI_LOCALNRANKS", "2"}}));
  EXPECT_EQ(e.launcher, Launcher::kMpich);
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 2);
}

TEST(LaunchEnv, SlurmWithCompressedTasksPerNode) {
  auto e = read_launch_env(fake({{"SLURM_PROCID", "9"}, {"SLURM_NTASKS", "24"}, {"SLURM_LOCALID", "1"},
                                 {"SLURM_TASKS_PER_NODE", "8(x3)"}, {"SLURM_NODEID", "1"}}));
  EXPECT_EQ(e.launcher, Launcher::kSlurm);
  EXPECT_EQ(e.rank, 9);
  EXPECT_EQ(e.world_size, 24);
  EXPECT_EQ(e.local_world_size, 8);
  EXPECT_EQ(e.node_rank, 1);
}

TEST(LaunchEnv, TorchrunWinsOverTheSlurmAllocationAroundIt) {
  auto e = read_launch_env(fake({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "3"}, {"RANK", "10"},
                                 {"WORLD_SIZE", "24"}, {"LOCAL_RANK", "2"}, {"LOCAL_WORLD_SIZE", "8"},
                                 {"GROUP_RANK", "1"}, {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29475"},
                                 {"TORCHELASTIC_RUN_ID", "x"}}));
  EXPECT_EQ(e.launcher, Launcher::kTorchrun);
  EXPECT_EQ(e.rank, 10);
  EXPECT_EQ(e.world_size, 24);
  EXPECT_EQ(e.local_rank, 2);
  EXPECT_EQ(e.node_rank, 1);
  EXPECT_EQ(e.master_addr, "10.0.0.1");
  EXPECT_EQ(e.master_port, 29475);
  EXPECT_FALSE(launcher_provides_mpi(e.launcher));
}

// torchrun's agent serves the store at MASTER_PORT: ranks must connect as clients there, and
// without it rank 0 serves one beside it.
TEST(LaunchEnv, TorchrunAgentStoreDecidesHowTheRendezvousIsReached) {
  std::map<std::string, std::string> vars = {{"RANK", "1"},          {"WORLD_SIZE", "2"},
                                             {"LOCAL_RANK", "1"},    {"LOCAL_WORLD_SIZE", "2"},
                                             {"MASTER_ADDR", "n0"},  {"MASTER_PORT", "29400"},
                                             {"TORCHELASTIC_RUN_ID", "x"}};
  auto plain = read_launch_env(fake(vars));
  EXPECT_FALSE(plain.agent_store);
  EXPECT_EQ(describe_tcp_store(plain, 1), "client of rank 0's store at n0:29401 (MASTER_PORT + 1)");
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  auto agent = read_launch_env(fake(vars));
  EXPECT_TRUE(agent.agent_store);
  EXPECT_EQ(agent.restart_count, 0);
  vars["TORCHELASTIC_RESTART_COUNT"] = "2";
  EXPECT_EQ(read_launch_env(fake(vars)).restart_count, 2);
  EXPECT_EQ(describe_tcp_store(agent, 1), "client of torchrun's agent store at n0:29400");
  vars["RANK"] = "0";
  vars["LOCAL_RANK"] = "0";
  EXPECT_EQ(describe_tcp_store(read_launch_env(fake(vars)), 1), "client of torchrun's agent store at n0:29400");
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "False";
  EXPECT_EQ(describe_tcp_store(read_launch_env(fake(vars)), 1), "serving a store at n0:29401 (MASTER_PORT + 1)");
}

TEST(LaunchEnv, InconsistentVariablesAreUsageErrors) {
  EXPECT_THROW(read_launch_env(fake({{"OMPI_COMM_WORLD_RANK", "4"}, {"OMPI_COMM_WORLD_SIZE", "4"}})), UsageError);
  EXPECT_THROW(read_launch_env(fake({{"PMI_RANK", "x"}})), UsageError);
  EXPECT_THROW(read_launch_env(fake({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_WORLD_SIZE", "2"}})),
               UsageError);  // torchrun without MASTER_ADDR/PORT
}

TEST(LaunchEnv, CpuTensorsUnderTorchrunAreRefusedWithTheFix) {
  LaunchEnv e;
  e.launcher = Launcher::kTorchrun;
  e.world_size = 4;
  try {
    require_backend_for(DeviceKind::kCpu, e);
    FAIL() << "expected a UsageError";
  } catch (const UsageError& err) {
    EXPECT_NE(std::string(err.what()).find("mpirun -np 4"), std::string::npos) << err.what();
  }
  e.world_size = 1;  // a single torchrun process needs no communication at all
  EXPECT_NO_THROW(require_backend_for(DeviceKind::kCpu, e));
}

TEST(NodeIndices, GroupsByHostInOrderOfFirstRank) {
  EXPECT_EQ(node_indices({"b", "b", "a", "a", "c"}), (std::vector<int>{0, 0, 1, 1, 2}));
}

}  // namespace
}  // namespace uspdit::parallel
