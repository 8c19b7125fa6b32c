#include "parallel/runtime.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "parallel/agreement.h"
#include "parallel/bootstrap.h"
#include "parallel/library_versions.h"
#include "parallel/mpi_communicator.h"
#include "parallel/staged_communicator.h"
#include "parallel/watched_communicator.h"

// The CUDA world comes from uspdit_nccl, a separate static library because only it sees CUDA
// and NCCL headers. The hook is a plain call under USPDIT_HAVE_NCCL: CMake links uspdit_lib and
// uspdit_nccl as a cycle of static libraries (src/CMakeLists.txt), so every program that links
// uspdit_lib gets make_nccl_world with it. No registration at static-init time, which a static
// library would silently drop when nothing else references its object file.
#ifdef USPDIT_HAVE_NCCL
#include "parallel/nccl/nccl_world.h"
#endif

namespace uspdit::parallel {
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

// MPI_Init_thread, then rank, size and node layout from MPI (launchers that state the node
// do not cover every case; host names do).
bool start_mpi(LaunchEnv& launch, NodeInfo& nodes) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  launch.rank = rank;
  launch.world_size = size;
  log::set_rank(rank, size);
  nodes.hostname = this_hostname();
  nodes.node_of_rank = node_indices(gather_hostnames(nodes.hostname, size));
  nodes.node_rank = nodes.node_of_rank[rank];
  nodes.num_nodes = 1 + *std::max_element(nodes.node_of_rank.begin(), nodes.node_of_rank.end());
  if (launch.launcher == Launcher::kSingleProcess && size > 1) {
    // MPI found peers the environment did not describe: the local rank (which picks the GPU)
    // is this rank's position among the ranks on its host.
    launch.local_rank = static_cast<int>(
        std::count(nodes.node_of_rank.begin(), nodes.node_of_rank.begin() + rank, nodes.node_rank));
    launch.local_world_size =
        static_cast<int>(std::count(nodes.node_of_rank.begin(), nodes.node_of_rank.end(), nodes.node_rank));
  }
  return provided >= MPI_THREAD_MULTIPLE;
}

#ifdef USPDIT_HAVE_NCCL
// Node layout under torchrun, without MPI to compare host names: torchrun numbers ranks node
// by node, local_world_size per node, and states the node as GROUP_RANK.
NodeInfo nodes_from_launcher(const LaunchEnv& env) {
  NodeInfo nodes;
  nodes.hostname = this_hostname();
  const int per_node = env.local_world_size;
  nodes.num_nodes = (env.world_size + per_node - 1) / per_node;
  nodes.node_rank = env.node_rank.value_or(env.rank / per_node);
  for (int r = 0; r < env.world_size; ++r) nodes.node_of_rank.push_back(r / per_node);
  return nodes;
}

// One process and no rendezvous point: there is nobody to tell.
// The NCCL unique id travels over MPI when the launcher started MPI, otherwise over the
// torchrun rendezvous connected before (`store`).
std::unique_ptr<Communicator> make_cuda_world(const LaunchEnv& env, bool have_mpi,
                                              std::unique_ptr<Bootstrap> store) {
  // A rank without a usable GPU fails here, before its peers start waiting for it.
  try {
    select_cuda_device(env);
  } catch (const std::runtime_error& e) {
    throw UsageError(std::string("--device cuda, but this rank has no usable GPU (") + e.what() +
                     "); run on GPU nodes, or use --device cpu under mpirun");
  }
  std::unique_ptr<Bootstrap> bootstrap;
  if (have_mpi) {
    bootstrap = make_mpi_bootstrap();
  } else if (store) {
    bootstrap = std::move(store);
  } else {
    bootstrap = make_single_rank_bootstrap();
  }
  return make_nccl_world(env, *bootstrap);
}
#endif

// Under torchrun the rendezvous is reached first, by every rank, with one line saying how: a
// wrong MASTER_ADDR or a store that is not there fails here, clearly, before any device work.
std::unique_ptr<Bootstrap> torchrun_rendezvous(const LaunchEnv& env) {
  if (env.launcher != Launcher::kTorchrun || env.world_size == 1) return nullptr;
  constexpr int kPortOffset = 1;  // only without the agent store: MASTER_PORT is torchrun's own
  auto store = make_tcp_store_bootstrap(env, kPortOffset, std::chrono::seconds(300));
  log::set_rank(env.rank, env.world_size);
  log::debug("torchrun rank " + std::to_string(env.rank) + "/" + std::to_string(env.world_size) +
             ", local rank " + std::to_string(env.local_rank) + "/" + std::to_string(env.local_world_size) +
             ", node " + std::to_string(env.node_rank.value_or(env.rank / env.local_world_size)) +
             ": rendezvous " + describe_tcp_store(env, kPortOffset));
  return store;
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
        "Launch with `mpirun -np " +
        std::to_string(env.world_size) +
        " build/uspdit ...` (or srun), or run on GPUs (--device cuda) where torchrun bootstraps NCCL");
  }
}

DeviceKind device_kind(const c10::Device& device) {
  return device.is_cpu() ? DeviceKind::kCpu : DeviceKind::kCuda;
}

CommBackend parse_comm_backend(const std::string& text) {
  if (text == "auto") return CommBackend::kAuto;
  if (text == "nccl" || text == "rccl") return CommBackend::kNccl;
  if (text == "host-staged" || text == "host_staged" || text == "mpi") return CommBackend::kHostStaged;
  throw UsageError("--comm '" + text + "' is not a backend: use auto, nccl or host-staged");
}

const char* comm_backend_name(CommBackend backend) {
  switch (backend) {
    case CommBackend::kAuto:
      return "auto";
    case CommBackend::kMpi:
      return "mpi";
    case CommBackend::kNccl:
      return "nccl";
    case CommBackend::kHostStaged:
      return "host-staged";
  }
  return "?";
}

CommBackend resolve_comm_backend(CommBackend asked, DeviceKind device, const LaunchEnv& env, bool nccl_built,
                                 int gpus_on_node) {
  if (device == DeviceKind::kCpu) {
    require(asked != CommBackend::kNccl,
            "--comm nccl moves GPU tensors; with --device cpu use --comm auto (MPI)");
    return asked == CommBackend::kHostStaged ? CommBackend::kHostStaged : CommBackend::kMpi;
  }
  const bool mpi = launcher_provides_mpi(env.launcher);
  const std::string staged_needs_mpi =
      "the host-staged path sends over MPI, which " + std::string(launcher_name(env.launcher)) +
      " does not start: launch with `mpirun -np " + std::to_string(env.world_size) + " ...` (or srun)";
  if (asked == CommBackend::kHostStaged) {
    require(mpi, "--comm host-staged: " + staged_needs_mpi);
    return asked;
  }
  const bool shared_gpu = env.local_world_size > gpus_on_node && env.world_size > 1;
  if (asked == CommBackend::kNccl) {
    require(nccl_built,
            "--comm nccl: this uspdit build has no NCCL communicator; build it with BUILD_TYPE=cuda "
            "scripts/build.sh, or use --comm host-staged under mpirun");
    require(!shared_gpu, "--comm nccl: " + std::to_string(env.local_world_size) +
                             " ranks on this node share " + std::to_string(gpus_on_node) +
                             " GPU(s), which NCCL does not support; run one rank per "
                             "GPU, or use --comm host-staged under mpirun");
    return asked;
  }
  if (nccl_built && !shared_gpu) return CommBackend::kNccl;
  require(mpi, std::string(nccl_built ? "ranks share a GPU (NCCL does not support that)"
                                      : "this build has no NCCL") +
                   ", and " + staged_needs_mpi + "; or run one rank per GPU");
  return CommBackend::kHostStaged;
}

std::unique_ptr<Runtime> Runtime::start(core::DeviceRequest request, CommBackend comm) {
  auto rt = start_unwatched(request, comm);
  rt->watch_collectives();
  return rt;
}

// Every collective of the world and its groups is reported to the watchdog (watchdog.h), which
// runs when there are peers to wait for and --timeout is not 0.
void Runtime::watch_collectives() {
  const double timeout = collective_timeout();
  if (world_->size() > 1 && timeout > 0) watchdog_ = std::make_unique<Watchdog>(*world_, timeout);
  std::vector<int> everyone(static_cast<size_t>(world_->size()));
  for (int r = 0; r < world_->size(); ++r) everyone[static_cast<size_t>(r)] = r;
  world_ = std::make_unique<WatchedCommunicator>(std::move(world_), 0, std::move(everyone));
}

std::unique_ptr<Runtime> Runtime::start_unwatched(core::DeviceRequest request, CommBackend comm) {
  auto env = read_launch_env(process_env());
  // Under torchrun the agent's store is reached first; it carries the start-up agreement below
  // (and the NCCL id). Host tensors still never travel through it.
  auto rendezvous = torchrun_rendezvous(env);
#ifdef USPDIT_HAVE_NCCL
  constexpr bool kNcclBuilt = true;
#else
  constexpr bool kNcclBuilt = false;
#endif
  // Decided before anything starts, from what this process sees: a rank without the GPU it was
  // asked for fails with its own line instead of in a collective. Under torchrun every rank
  // waits for the others' decisions first, since the agent stops all workers when one exits.
  core::AcceleratorInfo gpus;
  DeviceKind device = DeviceKind::kCpu;
  CommBackend backend = CommBackend::kMpi;
  auto decide = [&] {
    gpus = core::probe_accelerators();
    device = device_kind(core::choose_device(request, env.local_rank, gpus));
    require_backend_for(device, env);
    backend = resolve_comm_backend(comm, device, env, kNcclBuilt, gpus.count);
  };
  if (rendezvous) {
    run_agreed(*rendezvous, "start", decide);
  } else {
    decide();
  }
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->launch_ = env;
  // CPU tensors always go through MPI (require_backend_for refused torchrun above); CUDA tensors
  // use MPI only to bootstrap NCCL and to learn the node layout, when the launcher provides it.
  const bool use_mpi = device == DeviceKind::kCpu || launcher_provides_mpi(env.launcher);
  if (use_mpi) {
    const bool thread_multiple = start_mpi(rt->launch_, rt->nodes_);
    rt->mpi_started_ = true;
    if (device == DeviceKind::kCpu && !thread_multiple) {
      log::info("MPI gives no MPI_THREAD_MULTIPLE: ring transfers will not overlap with compute");
    }
  }
  // The local rank may only now be known (MPI found peers the environment did not describe).
  rt->device_ = core::choose_device(request, rt->launch_.local_rank, gpus);
  core::make_current(rt->device_);
  if (backend == CommBackend::kMpi) {
    rt->world_ = std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, false);
    return rt;
  }
  if (backend == CommBackend::kHostStaged) {
    log::info("communication: " + std::string(comm_backend_name(backend)) +
              " (device tensors through host memory over MPI)");
    rt->world_ = std::make_unique<StagedCommunicator>(
        std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, false), rt->device_);
    return rt;
  }
#ifdef USPDIT_HAVE_NCCL
  if (!use_mpi) {
    log::set_rank(env.rank, env.world_size);
    rt->nodes_ = nodes_from_launcher(env);
  }
  rt->world_ = make_cuda_world(rt->launch_, use_mpi, std::move(rendezvous));
  return rt;
#else
  throw UsageError(
      "--device cuda: this uspdit build has no NCCL communicator for GPU tensors; build it with "
      "BUILD_TYPE=cuda scripts/build.sh, or use --device cpu under mpirun");
#endif
}

Runtime::~Runtime() {
  watchdog_.reset();  // before the communicators it watches
  world_.reset();
  if (mpi_started_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
}

std::vector<std::string> communication_library_versions() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int length = 0;
  MPI_Get_library_version(text, &length);  // allowed before MPI_Init
  std::string mpi(text, static_cast<size_t>(std::max(length, 0)));
  mpi = mpi.substr(0, mpi.find_first_of("\n\r"));
  // Open MPI: "Open MPI v4.1.4, package: Debian OpenMPI, ident: ..."; MPICH: "MPICH Version: 4.0 ...".
  std::vector<std::string> lines = {"MPI: " + mpi.substr(0, mpi.find(", package"))};
#ifdef USPDIT_HAVE_NCCL
  lines.push_back(gpu_library_versions());
#else
  lines.push_back("CUDA/NCCL: not in this build (BUILD_TYPE=cuda scripts/build.sh builds them)");
#endif
  return lines;
}

}  // namespace uspdit::parallel
