// Creating the NCCL world communicator. Declared apart from NcclCommunicator so that callers
// (parallel/runtime.cpp) need neither CUDA nor NCCL headers.
#pragma once

#include <memory>
#include <string>

#include "parallel/bootstrap.h"
#include "parallel/communicator.h"
#include "parallel/launch_env.h"

namespace uspdit::parallel {

// Makes device env.local_rank % device_count current for this process (cudaSetDevice, kept:
// this rank's CUDA work belongs there) and returns it. Throws std::runtime_error when no device
// is usable; calling it before a bootstrap lets a rank without a GPU fail at once instead of
// leaving its peers to wait out the rendezvous.
int select_cuda_device(const LaunchEnv& env);

// Selects the device as above, has rank 0 create the NCCL unique id, spreads it through
// `bootstrap`, and joins the env.world_size ranks with ncclCommInitRank. Collective over all
// ranks. Throws std::runtime_error naming the failing call.
std::unique_ptr<Communicator> make_nccl_world(const LaunchEnv& env, Bootstrap& bootstrap);

// "CUDA runtime 12.8 (built), driver 12.9, NCCL 2.27.3 (loaded; built 2.27.3)" for --version; no
// GPU needed (driver 0: none installed).
std::string gpu_library_versions();

}  // namespace uspdit::parallel
