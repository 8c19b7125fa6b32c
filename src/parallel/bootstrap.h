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
  // Every rank's bytes, in rank order, at every rank (its own included). `key` as above.
  virtual std::vector<std::vector<uint8_t>> all_gather(const std::string& key,
                                                       const std::vector<uint8_t>& bytes) = 0;
};

// A job of one rank: every value is this rank's own.
std::unique_ptr<Bootstrap> make_single_rank_bootstrap();

// MPI_COMM_WORLD (MPI must be initialised).
std::unique_ptr<Bootstrap> make_mpi_bootstrap();

// A TCPStore rendezvous. Under torchrun's agent store (env.agent_store) every rank is a client
// of the store the agent serves at MASTER_ADDR:MASTER_PORT, under the key prefix
// "uspdit/attempt_<TORCHELASTIC_RESTART_COUNT>/";
// otherwise rank 0 serves one at MASTER_PORT + port_offset (MASTER_PORT being the launcher's).
// Waits at most `timeout` for the store and for peers, then fails with a message naming the
// address.
std::unique_ptr<Bootstrap> make_tcp_store_bootstrap(const LaunchEnv& env, int port_offset,
                                                    std::chrono::milliseconds timeout);

// "client of torchrun's agent store at host:port" / "rank 0 serves a store at host:port": how a
// launch's rendezvous will be reached, for the log line every rank prints.
std::string describe_tcp_store(const LaunchEnv& env, int port_offset);

}  // namespace uspdit::parallel
