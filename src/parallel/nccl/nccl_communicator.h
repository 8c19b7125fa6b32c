// Communicator over NCCL for CUDA tensors.
//
// Ordering. Collectives are enqueued on the compute stream, the stream the caller's kernels run
// on: they complete in stream order, so later work on that stream sees their result and the
// host is not blocked (only barrier() waits on the host). send_recv_async instead runs on a
// stream of its own, after everything already enqueued on the compute stream, so compute
// enqueued before wait() overlaps with the transfer; wait() makes the compute stream wait for
// the transfer's completion event.
//
// The compute stream defaults to the legacy default stream (cudaStream_t 0), where libtorch
// launches unless told otherwise; set_compute_stream() names another one (e.g. torch's current
// stream) without this library linking libtorch's CUDA parts.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include "parallel/communicator.h"
#include "parallel/nccl/nccl_world.h"  // make_nccl_world, the usual way to get one

namespace uspdit::parallel {

class NcclCommunicator final : public Communicator {
 public:
  // Takes ownership of comm, whose ranks live on CUDA device `device`.
  NcclCommunicator(ncclComm_t comm, int device, std::shared_ptr<CommStats> stats = nullptr);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  bool accepts(const at::Tensor& tensor) const override;
  c10::Device device() const override { return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(device_)); }

  void all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts, at::Tensor& recv,
                    std::span<const int64_t> recv_counts) override;
  void all_gather_v(const at::Tensor& send, at::Tensor& recv, std::span<const int64_t> counts) override;
  std::unique_ptr<PendingOp> send_recv_async(const at::Tensor& send, int dst, at::Tensor& recv,
                                             int src) override;
  void broadcast(at::Tensor& tensor, int root) override;
  void all_reduce_max(at::Tensor& tensor) override;
  void all_reduce_sum(at::Tensor& tensor) override;
  // A one-word all-reduce, then the host waits for the compute stream: on return every rank has
  // reached the barrier and all work enqueued before it has finished.
  void barrier() override;
  // Groups inherit the device and the compute stream. color must be >= 0.
  std::unique_ptr<Communicator> split(int color, int key) override;

  void set_compute_stream(cudaStream_t stream) { compute_stream_ = stream; }
  cudaStream_t compute_stream() const { return compute_stream_; }
  int device_index() const { return device_; }
  ncclComm_t handle() const { return comm_; }

 private:
  void check_tensor(const at::Tensor& t, const char* what) const;
  void all_reduce(at::Tensor& tensor, ncclRedOp_t op, const char* what);
  void release() noexcept;

  ncclComm_t comm_;
  int device_;
  int rank_ = 0;
  int size_ = 1;
  cudaStream_t compute_stream_ = nullptr;
  cudaStream_t comm_stream_ = nullptr;  // send_recv_async's transfers
  cudaEvent_t inputs_ready_ = nullptr;  // compute stream -> comm stream ordering, reused per call
  int* barrier_word_ = nullptr;         // device memory for barrier()'s all-reduce
};

}  // namespace uspdit::parallel
