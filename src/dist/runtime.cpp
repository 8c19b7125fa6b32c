#include "dist/runtime.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "dist/mpi_communicator.h"

namespace uspdit::dist {
namespace {

std::string this_hostname() {
  char name[256] = {0};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// All ranks' host names through MPI_Allgather of fixed-size records.
std::vector<std::string> gather_hostnames(const std::string& mine, int world) {
  constexpr int kLen = 256;
  std::vector<char> send(kLen, 0), recv(static_cast<size_t>(kLen) * world, 0);
  std::copy_n(mine.begin(), std::min<size_t>(mine.size(), kLen - 1), send.begin());
  MPI_Allgather(send.data(), kLen, MPI_CHAR, recv.data(), kLen, MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < world; ++r) out.emplace_back(recv.data() + static_cast<size_t>(r) * kLen);
  return out;
}

}  // namespace

std::vector<int> node_indices(const std::vector<std::string>& hostname_of_rank) {
  std::map<std::string, int> index;
  std::vector<int> out;
  for (const auto& host : hostname_of_rank) {
    auto it = index.find(host);
    if (it == index.end()) it = index.emplace(host, static_cast<int>(index.size())).first;
    out.push_back(it->second);
  }
  return out;
}

void require_backend_for(DeviceKind device, const LaunchEnv& env) {
  if (device == DeviceKind::kCpu && !launcher_provides_mpi(env.launcher) && env.world_size > 1) {
    throw UsageError(
        "this job was launched by " + std::string(launcher_name(env.launcher)) + " with " +
        std::to_string(env.world_size) +
        " ranks, but CPU tensors communicate through MPI, which torchrun does not start. "
        "Launch with `mpirun -np " + std::to_string(env.world_size) +
        " build/uspdit ...` (or srun), or run on GPUs (--device cuda) where torchrun bootstraps NCCL");
  }
#ifndef USPDIT_HAVE_NCCL
  if (device == DeviceKind::kCuda) {
    throw UsageError("this uspdit build has no CUDA/NCCL support; rebuild with -DUSPDIT_WITH_NCCL=ON "
                     "on a machine with the CUDA toolkit, or use --device cpu under mpirun");
  }
#endif
}

std::unique_ptr<Runtime> Runtime::start(DeviceKind device) {
  auto env = read_launch_env(process_env());
  require_backend_for(device, env);
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->launch_ = env;
  if (device == DeviceKind::kCuda) {
    // The CUDA path (NCCL world communicator, bootstrapped by MPI or a TCPStore) is built by
    // dist/nccl_communicator.cpp; until the CUDA device layer exists it is not wired here.
    throw UsageError("--device cuda is not wired into the runtime yet; use --device cpu under mpirun");
  }
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  rt->mpi_started_ = true;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  rt->launch_.rank = rank;
  rt->launch_.world_size = size;
  log::set_rank(rank, size);
  if (provided < MPI_THREAD_MULTIPLE) {
    log::info("MPI gives no MPI_THREAD_MULTIPLE: ring transfers will not overlap with compute");
  }
  rt->nodes_.hostname = this_hostname();
  rt->nodes_.node_of_rank = node_indices(gather_hostnames(rt->nodes_.hostname, size));
  rt->nodes_.node_rank = rt->nodes_.node_of_rank[rank];
  rt->nodes_.num_nodes =
      1 + *std::max_element(rt->nodes_.node_of_rank.begin(), rt->nodes_.node_of_rank.end());
  rt->world_ = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, false);
  return rt;
}

Runtime::~Runtime() {
  world_.reset();
  if (mpi_started_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

}  // namespace uspdit::dist
