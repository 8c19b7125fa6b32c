#include "parallel/nccl/nccl_world.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/device_errors.h"
#include "core/error.h"
#include "parallel/nccl/cuda_check.h"
#include "parallel/nccl/nccl_communicator.h"

namespace uspdit::parallel {
namespace {

// The bootstrap key of the world's unique id (under the store's per-attempt prefix).
constexpr const char* kWorldIdKey = "nccl/world_unique_id";

// The NCCL and driver this process actually loaded, against what the build needs: an older
// libnccl found first (a system copy, LD_PRELOAD, an ldconfig entry) loads silently and the
// first call into a missing symbol kills the job mid-run; an old driver fails every kernel.
void check_loaded_versions() {
  int nccl = 0, driver = 0;
  check_nccl(ncclGetVersion(&nccl), "ncclGetVersion");
  check_cuda(gpu::driver_get_version(&driver), "cudaDriverGetVersion");
  // Called once a GPU was found, so a driver is there (0 would mean none: nothing to compare).
  if (driver == 0) driver = gpu::kRuntimeVersion;
  std::vector<core::LibraryVersion> versions = {
      {"NCCL", nccl, NCCL_VERSION_CODE,
       "the build's NCCL is the torch wheel's nvidia/nccl/lib (in this binary's RUNPATH); remove the older "
       "libnccl.so.2 that LD_PRELOAD, LD_LIBRARY_PATH or ldconfig puts first"},
#ifndef USE_ROCM
      {"CUDA driver", driver, (gpu::kRuntimeVersion / 1000) * 1000,
       "update the NVIDIA driver (CUDA 13 needs R580 or newer, CUDA 12 R525 or newer)"},
#endif
  };
  const auto problems = core::version_problems(versions);
  if (problems.empty()) return;
  std::string message = problems.front();
  for (size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i];
  throw UsageError(message);
}

}  // namespace

int select_cuda_device(const LaunchEnv& env) {
  int count = 0;
  check_cuda(gpu::get_device_count(&count), "cudaGetDeviceCount");
  if (count == 0) throw std::runtime_error("cudaGetDeviceCount found no CUDA device on this node");
  const int device = env.local_rank % count;
  check_cuda(gpu::set_device(device), "cudaSetDevice");
  return device;
}

std::unique_ptr<Communicator> make_nccl_world(const LaunchEnv& env, Bootstrap& bootstrap) {
  ncclUniqueId id{};
  std::vector<uint8_t> bytes;
  int device = -1;
  if (env.rank == 0) {
    try {
      device = select_cuda_device(env);
      check_loaded_versions();
      check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
      bytes.assign(reinterpret_cast<const uint8_t*>(&id), reinterpret_cast<const uint8_t*>(&id) + sizeof(id));
    } catch (...) {
      // An empty id tells the other ranks to fail now instead of waiting out the bootstrap.
      bootstrap.broadcast(kWorldIdKey, {}, 0);
      throw;
    }
  } else {
    // Every rank checks its own libraries before the rendezvous (the message is the same on all).
    device = select_cuda_device(env);
    check_loaded_versions();
  }
  bytes = bootstrap.broadcast(kWorldIdKey, bytes, 0);
  if (bytes.size() != sizeof(id)) {
    throw std::runtime_error("NCCL bootstrap: rank 0 sent " + std::to_string(bytes.size()) +
                             " bytes instead of a " + std::to_string(sizeof(id)) +
                             "-byte ncclUniqueId (did rank 0 fail to create it? see its log)");
  }
  std::memcpy(&id, bytes.data(), sizeof(id));
  ncclComm_t comm = nullptr;
  check_nccl(ncclCommInitRank(&comm, env.world_size, id, env.rank), "ncclCommInitRank");
  return std::make_unique<NcclCommunicator>(comm, device);
}

std::string gpu_library_versions() {
  // CUDA versions are major*1000 + minor*10, NCCL's (2.19 on) major*10000 + minor*100 + patch.
  const auto cuda = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  const auto nccl = [](int v) {
    return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
  };
  int loaded = 0, driver = 0;
  const bool nccl_ok = ncclGetVersion(&loaded) == ncclSuccess;
  const bool driver_ok = gpu::driver_get_version(&driver) == gpu::kSuccess && driver > 0;
#ifdef USE_ROCM
  const std::string runtime = "HIP " + std::to_string(gpu::kRuntimeVersion);
#else
  const std::string runtime = "CUDA runtime " + cuda(gpu::kRuntimeVersion);
#endif
  return runtime + " (built), driver " + (driver_ok ? cuda(driver) : std::string("none")) + ", NCCL " +
         (nccl_ok ? nccl(loaded) : std::string("unknown")) + " (loaded; built " + nccl(NCCL_VERSION_CODE) +
         ")";
}

}  // namespace uspdit::parallel
