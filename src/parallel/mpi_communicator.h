// Communicator over MPI for CPU tensors.
#pragma once

#include <mpi.h>

#include "parallel/communicator.h"
#include "parallel/worker_thread.h"

namespace uspdit::parallel {

class MpiCommunicator final : public Communicator {
 public:
  // Wraps comm (not owned when owned == false, e.g. MPI_COMM_WORLD).
  MpiCommunicator(MPI_Comm comm, bool owned, std::shared_ptr<CommStats> stats = nullptr);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  bool accepts(const at::Tensor& tensor) const override;
  c10::Device device() const override { return c10::Device(c10::DeviceType::CPU); }

  void all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts, at::Tensor& recv,
                    std::span<const int64_t> recv_counts) override;
  void all_gather_v(const at::Tensor& send, at::Tensor& recv,
                    std::span<const int64_t> counts) override;
  std::unique_ptr<PendingOp> send_recv_async(const at::Tensor& send, int dst, at::Tensor& recv,
                                             int src) override;
  void broadcast(at::Tensor& tensor, int root) override;
  void all_reduce_max(at::Tensor& tensor) override;
  void all_reduce_sum(at::Tensor& tensor) override;
  void barrier() override;
  std::unique_ptr<Communicator> split(int color, int key) override;

  MPI_Comm handle() const { return comm_; }

 private:
  MPI_Comm comm_;
  bool owned_;
  int rank_ = 0;
  int size_ = 1;
  // Drives send_recv_async transfers; started on first use so groups that never use it cost nothing.
  std::unique_ptr<WorkerThread> worker_;
};

// Whether MPI was initialised with MPI_THREAD_MULTIPLE, which send_recv_async needs to run
// the transfer on a helper thread (true overlap of communication and compute).
bool mpi_thread_multiple();

}  // namespace uspdit::parallel
