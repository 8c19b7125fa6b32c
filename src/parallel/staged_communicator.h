// A communicator for device tensors over a host communicator (MPI): every call copies its device
// tensors into host buffers, runs the host collective, and copies the results back.
//
// What it is for: jobs without NCCL (or with NCCL broken on a cluster), and several ranks
// sharing one GPU, which NCCL does not support ("not supported and may lead to hangs") but
// tests and small machines need. It is slower than NCCL by two PCIe copies per call and a host
// synchronisation; `uspdit check` measures it like any other backend. On the CPU the copies are
// real host-to-host copies, so CPU tests exercise exactly the path a GPU run takes.
#pragma once

#include <functional>
#include <memory>

#include "parallel/communicator.h"

namespace uspdit::parallel {

class StagedCommunicator final : public Communicator {
 public:
  // host: moves CPU tensors (e.g. MpiCommunicator); device: where the caller's tensors live.
  StagedCommunicator(std::unique_ptr<Communicator> host, c10::Device device);

  int rank() const override { return host_->rank(); }
  int size() const override { return host_->size(); }
  std::string backend() const override { return host_->backend() + "+host-staged"; }
  bool accepts(const at::Tensor& tensor) const override;
  c10::Device device() const override { return device_; }

  void all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts, at::Tensor& recv,
                    std::span<const int64_t> recv_counts) override;
  void all_gather_v(const at::Tensor& send, at::Tensor& recv, std::span<const int64_t> counts) override;
  // The host transfer runs in the background like the host communicator's; wait() copies the
  // received block to the device. Both tensors are held until then.
  std::unique_ptr<PendingOp> send_recv_async(const at::Tensor& send, int dst, at::Tensor& recv,
                                             int src) override;
  void broadcast(at::Tensor& tensor, int root) override;
  void all_reduce_max(at::Tensor& tensor) override;
  void all_reduce_sum(at::Tensor& tensor) override;
  void barrier() override { host_->barrier(); }
  std::unique_ptr<Communicator> split(int color, int key) override;

 private:
  StagedCommunicator(std::unique_ptr<Communicator> host, c10::Device device,
                     std::shared_ptr<CommStats> stats);
  // Counts what the host communicator sent during one call as this one's (one total per rank).
  void account(int64_t before_bytes);
  // The host copy of `tensor` goes through `op` (an in-place host collective) and back.
  void in_place_on_host(at::Tensor& tensor, const std::function<void(at::Tensor&)>& op);
  std::unique_ptr<Communicator> host_;
  c10::Device device_;
};

}  // namespace uspdit::parallel
