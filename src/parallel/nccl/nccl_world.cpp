#include "parallel/nccl/nccl_world.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "parallel/nccl/cuda_check.h"
#include "parallel/nccl/nccl_communicator.h"

namespace uspdit::parallel {
namespace {

// The bootstrap key of the world's unique id (TCPStore keys cannot be overwritten).
constexpr const char* kWorldIdKey = "nccl/world_unique_id";

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
      check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
      bytes.assign(reinterpret_cast<const uint8_t*>(&id), reinterpret_cast<const uint8_t*>(&id) + sizeof(id));
    } catch (...) {
      // An empty id tells the other ranks to fail now instead of waiting out the bootstrap.
      bootstrap.broadcast(kWorldIdKey, {}, 0);
      throw;
    }
  } else {
    device = select_cuda_device(env);
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

}  // namespace uspdit::parallel
