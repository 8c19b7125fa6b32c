// The one interface through which every tier above parallel/ communicates.
//
// MpiCommunicator moves CPU tensors; NcclCommunicator moves CUDA tensors. Both count the
// bytes they send to other ranks, so benchmarks report measured traffic next to the formula.
// Tensors passed in must be contiguous; counts are in elements of the tensor's dtype.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace uspdit::parallel {

// Bytes this communicator (and the groups split from it) sent to other ranks.
struct CommStats {
  int64_t bytes_sent = 0;
  int64_t calls = 0;
};

// An operation in flight. wait() returns once it completed locally (buffers reusable).
class PendingOp {
 public:
  virtual ~PendingOp() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  // Whether tensors on this device can be passed to this communicator.
  virtual bool accepts(const at::Tensor& tensor) const = 0;
  // The device whose tensors this communicator moves (the CPU for MPI, this rank's GPU for NCCL).
  virtual c10::Device device() const = 0;

  // Rank i sends send[send_offsets(i) .. + send_counts[i]) to rank i and receives
  // recv_counts[i] elements from rank i, placed contiguously in rank order in recv.
  virtual void all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts,
                            at::Tensor& recv, std::span<const int64_t> recv_counts) = 0;
  // Every rank contributes send; recv receives all contributions in rank order,
  // counts[i] elements from rank i.
  virtual void all_gather_v(const at::Tensor& send, at::Tensor& recv,
                            std::span<const int64_t> counts) = 0;
  // Sends `send` to rank dst and receives `recv` from rank src, in the background, so that
  // the caller can compute meanwhile. The caller must not touch either tensor before wait().
  virtual std::unique_ptr<PendingOp> send_recv_async(const at::Tensor& send, int dst,
                                                     at::Tensor& recv, int src) = 0;
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
  virtual void all_reduce_max(at::Tensor& tensor) = 0;
  virtual void all_reduce_sum(at::Tensor& tensor) = 0;
  virtual void barrier() = 0;

  // A communicator over the ranks that pass the same color, ordered by key. Collective.
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;

  // The host channel: small bookkeeping messages on CPU tensors (run agreement, maxima over
  // ranks, report gathers), whatever the data backend. MPI takes them as they are; a backend
  // that moves only device tensors (NCCL) gets a copy staged through device(). Collective, in
  // the same order as the data calls; meant for bytes, not activations.
  void host_broadcast(at::Tensor& tensor, int root);
  void host_all_reduce_max(at::Tensor& tensor);
  void host_all_gather_v(const at::Tensor& send, at::Tensor& recv, std::span<const int64_t> counts);

  const CommStats& stats() const { return *stats_; }
  void reset_stats() { *stats_ = CommStats{}; }

 protected:
  Communicator() : stats_(std::make_shared<CommStats>()) {}
  explicit Communicator(std::shared_ptr<CommStats> shared) : stats_(std::move(shared)) {}
  void count_sent(int64_t bytes) {
    stats_->bytes_sent += bytes;
    stats_->calls += 1;
  }
  // Groups split from a communicator add to the parent's counters: a rank's traffic is one total.
  std::shared_ptr<CommStats> shared_stats() const { return stats_; }
  // It counts into the communicator it wraps: one total per rank, watched or not.
  friend class WatchedCommunicator;

 private:
  std::shared_ptr<CommStats> stats_;
};

// Sum of counts except the caller's own entry: what actually crosses to other ranks.
int64_t elements_to_others(std::span<const int64_t> counts, int self);

}  // namespace uspdit::parallel
