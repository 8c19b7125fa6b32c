// Bootstrap channels: how ranks agree on a few bytes (e.g. the NCCL unique id) before a fast
// communicator exists. Under mpirun/srun that is MPI; under torchrun it is libtorch's
// c10d::TCPStore at MASTER_ADDR:MASTER_PORT.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "parallel/launch_env.h"

namespace uspdit::parallel {

class Bootstrap {
 public:
  virtual ~Bootstrap() = default;
  // Root's bytes arrive at every rank; other ranks' input is ignored. `key` names the value
  // (each call must use a new key on stores that cannot overwrite).
  virtual std::vector<uint8_t> broadcast(const std::string& key, const std::vector<uint8_t>& bytes,
                                         int root) = 0;
};

// MPI_COMM_WORLD (MPI must be initialised).
std::unique_ptr<Bootstrap> make_mpi_bootstrap();

// A TCPStore served by rank 0 at env.master_addr:env.master_port (torchrun's own store lives at
// MASTER_PORT, so we use MASTER_PORT + port_offset). Waits at most `timeout` for peers and
// then fails with a message naming the address.
std::unique_ptr<Bootstrap> make_tcp_store_bootstrap(const LaunchEnv& env, int port_offset,
                                                    std::chrono::milliseconds timeout);

}  // namespace uspdit::parallel
