// Process start-up for a distributed run: read the launcher, start MPI where it exists, learn
// which node each rank is on, and hand out the world communicator for the run's device.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "core/device.h"
#include "parallel/communicator.h"
#include "parallel/launch_env.h"
#include "parallel/watchdog.h"

namespace uspdit::parallel {

// Which data backend a device needs: MPI for host tensors, NCCL for GPU tensors.
enum class DeviceKind { kCpu, kCuda };
DeviceKind device_kind(const c10::Device& device);

// How tensors travel between ranks (--comm). kMpi: host tensors over MPI. kNccl: GPU tensors
// over NCCL. kHostStaged: GPU tensors copied through host memory and sent over MPI (no NCCL, or
// several ranks sharing a GPU, which NCCL does not support).
enum class CommBackend { kAuto, kMpi, kNccl, kHostStaged };
CommBackend parse_comm_backend(const std::string& text);  // auto|nccl|host-staged; UsageError otherwise
const char* comm_backend_name(CommBackend backend);

// The backend a run uses (never kAuto), a pure function (unit-tested): host tensors go over MPI
// (host-staged when asked, which tests the staging path on CPUs); GPU tensors over NCCL unless
// host-staged is asked for, the build has no NCCL, or this node has more ranks than GPUs. Throws
// UsageError naming the fix when the choice cannot work under this launcher.
CommBackend resolve_comm_backend(CommBackend asked, DeviceKind device, const LaunchEnv& env, bool nccl_built,
                                 int gpus_on_node);

struct NodeInfo {
  int node_rank = 0;   // index of this rank's node, 0..num_nodes-1, in order of first rank
  int num_nodes = 1;
  std::string hostname;
  std::vector<int> node_of_rank;  // node index of every rank
};

class Runtime {
 public:
  // Makes the run's device decision (core::choose_device with this rank's local rank) and starts
  // the communicators for it. Throws UsageError when no such device exists or the launch cannot
  // carry its tensors (e.g. CPU tensors under torchrun, which gives no MPI), saying what to do.
  // With peers, starts the collective watchdog (collective_timeout(), watchdog.h).
  static std::unique_ptr<Runtime> start(core::DeviceRequest request, CommBackend comm = CommBackend::kAuto);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const LaunchEnv& launch() const { return launch_; }
  const NodeInfo& nodes() const { return nodes_; }
  Communicator& world() { return *world_; }
  // This rank's device: every stage's tensors live there.
  const c10::Device& device() const { return device_; }
  int rank() const { return launch_.rank; }
  int world_size() const { return launch_.world_size; }

 private:
  Runtime() = default;
  static std::unique_ptr<Runtime> start_unwatched(core::DeviceRequest request, CommBackend comm);
  void watch_collectives();
  LaunchEnv launch_;
  NodeInfo nodes_;
  c10::Device device_ = core::host_device();
  bool mpi_started_ = false;
  std::unique_ptr<Communicator> world_;
  std::unique_ptr<Watchdog> watchdog_;
};

// Check, before starting anything, that `device` tensors have a backend under this launcher.
// Throws UsageError naming the fix.
void require_backend_for(DeviceKind device, const LaunchEnv& env);

// Groups ranks by host name: node index of every rank, in order of first appearance.
std::vector<int> node_indices(const std::vector<std::string>& hostname_of_rank);

}  // namespace uspdit::parallel
