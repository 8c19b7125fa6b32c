#include "parallel/bootstrap.h"

#include <mpi.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <stdexcept>
#include <thread>
#include <utility>

namespace uspdit::parallel {
namespace {

class SingleRankBootstrap final : public Bootstrap {
 public:
  std::vector<uint8_t> broadcast(const std::string&, const std::vector<uint8_t>& bytes, int) override {
    return bytes;
  }
  std::vector<std::vector<uint8_t>> all_gather(const std::string&,
                                               const std::vector<uint8_t>& bytes) override {
    return {bytes};
  }
};

class MpiBootstrap final : public Bootstrap {
 public:
  std::vector<uint8_t> broadcast(const std::string&, const std::vector<uint8_t>& bytes, int root) override {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    uint64_t size = bytes.size();
    MPI_Bcast(&size, 1, MPI_UINT64_T, root, MPI_COMM_WORLD);
    std::vector<uint8_t> out = rank == root ? bytes : std::vector<uint8_t>(size);
    MPI_Bcast(out.data(), static_cast<int>(size), MPI_UINT8_T, root, MPI_COMM_WORLD);
    return out;
  }

  std::vector<std::vector<uint8_t>> all_gather(const std::string&,
                                               const std::vector<uint8_t>& bytes) override {
    int size = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int mine = static_cast<int>(bytes.size());
    std::vector<int> counts(size), offsets(size);
    MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int r = 0; r < size; ++r) offsets[r] = std::exchange(total, total + counts[r]);
    std::vector<uint8_t> flat(static_cast<size_t>(total));
    MPI_Allgatherv(bytes.data(), mine, MPI_UINT8_T, flat.data(), counts.data(), offsets.data(), MPI_UINT8_T,
                   MPI_COMM_WORLD);
    std::vector<std::vector<uint8_t>> out;
    for (int r = 0; r < size; ++r)
      out.emplace_back(flat.begin() + offsets[r], flat.begin() + offsets[r] + counts[r]);
    return out;
  }
};

// A libtorch error's message without the C++ backtrace it carries.
std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    const std::string text = c10_error->what_without_backtrace();
    return text.substr(0, text.find('\n'));
  }
  return e.what();
}

int store_port(const LaunchEnv& env, int port_offset) {
  return env.agent_store ? env.master_port : env.master_port + port_offset;
}

class TcpStoreBootstrap final : public Bootstrap {
 public:
  TcpStoreBootstrap(const LaunchEnv& env, int port_offset, std::chrono::milliseconds timeout)
      : rank_(env.rank),
        world_size_(env.world_size),
        serves_store_(!env.agent_store && env.rank == 0),
        timeout_(timeout),
        address_(env.master_addr + ":" + std::to_string(store_port(env, port_offset))) {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(store_port(env, port_offset));
    // The agent's store already listens on MASTER_PORT: a second server there would fail to bind
    // (or, worse, race the agent), so under it every rank is a client.
    opts.isServer = serves_store_;
    if (opts.isServer) opts.numWorkers = env.world_size;
    opts.waitWorkers = false;
    opts.timeout = timeout;
    try {
      auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
      // Our keys stay apart from torchrun's and PyTorch's own under a prefix, and apart from an
      // earlier attempt's (the agent's store survives an elastic restart).
      store_ =
          c10::make_intrusive<c10d::PrefixStore>("uspdit/attempt_" + std::to_string(env.restart_count), tcp);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot reach the rendezvous store at " + address_ + " (" +
                               describe_tcp_store(env, port_offset) + "): " + message_of(e));
    }
  }

  std::vector<uint8_t> broadcast(const std::string& key, const std::vector<uint8_t>& bytes,
                                 int root) override {
    if (rank_ == root) store_->set(key, bytes);
    return get(key, key, root);
  }

  std::vector<std::vector<uint8_t>> all_gather(const std::string& key,
                                               const std::vector<uint8_t>& bytes) override {
    store_->set(key + "/" + std::to_string(rank_), bytes);
    std::vector<std::vector<uint8_t>> out;
    for (int r = 0; r < world_size_; ++r) out.push_back(get(key + "/" + std::to_string(r), key, r));
    // The rank serving the store stays until every rank has read: when it leaves right after
    // (a start-up failure), the store goes with it and a slower peer's reads would fail.
    const std::string read = key + "/read";
    store_->add(read, 1);
    if (serves_store_) {
      const auto deadline = std::chrono::steady_clock::now() + timeout_;
      while (store_->add(read, 0) < world_size_ && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    return out;
  }

 private:
  // Blocks until `from` has set the key, up to the timeout.
  std::vector<uint8_t> get(const std::string& full_key, const std::string& key, int from) {
    try {
      return store_->get(full_key);
    } catch (const std::exception& e) {
      throw std::runtime_error("rendezvous store at " + address_ + ": rank " + std::to_string(from) +
                               " never published '" + key + "': " + message_of(e));
    }
  }

  int rank_;
  int world_size_;
  bool serves_store_;
  std::chrono::milliseconds timeout_;
  std::string address_;
  c10::intrusive_ptr<c10d::Store> store_;
};

}  // namespace

std::unique_ptr<Bootstrap> make_single_rank_bootstrap() {
  return std::make_unique<SingleRankBootstrap>();
}

std::unique_ptr<Bootstrap> make_mpi_bootstrap() {
  return std::make_unique<MpiBootstrap>();
}

std::string describe_tcp_store(const LaunchEnv& env, int port_offset) {
  const std::string address = env.master_addr + ":" + std::to_string(store_port(env, port_offset));
  if (env.agent_store) return "client of torchrun's agent store at " + address;
  return (env.rank == 0 ? "serving a store at " : "client of rank 0's store at ") + address +
         " (MASTER_PORT + " + std::to_string(port_offset) + ")";
}

std::unique_ptr<Bootstrap> make_tcp_store_bootstrap(const LaunchEnv& env, int port_offset,
                                                    std::chrono::milliseconds timeout) {
  return std::make_unique<TcpStoreBootstrap>(env, port_offset, timeout);
}

}  // namespace uspdit::parallel
