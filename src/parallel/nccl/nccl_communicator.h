// Communicator over NCCL (RCCL on ROCm) for GPU tensors.
//
// Streams. Every call runs against libtorch's *current* stream of the communicator's device,
// read at the call (c10::cuda::getCurrentCUDAStream): the stream the caller's kernels run on,
// whatever CUDAStreamGuard is in force. Collectives are enqueued on it, so they complete in
// stream order and later work there sees their result without blocking the host (only
// barrier() waits on the host). send_recv_async instead runs on the communicator's own
// communication stream, after everything already enqueued on the current stream, so compute
// enqueued before wait() overlaps with the transfer; wait() makes the stream that was current at
// the call wait for the transfer (gpu.md §3 pattern).
//
// Allocator safety. libtorch's caching allocator only knows a tensor's allocation stream, so a
// tensor freed while the communication stream still reads or writes it could be handed out
// again too early. The op returned by send_recv_async holds `send` and `recv` until the
// consumer stream has waited for the transfer (in wait() or, failing that, its destructor):
// only then can their memory be reused, and any reuse is ordered after the transfer.
//
// Ordering across ranks is the caller's job. NCCL matches calls by order: every rank of a
// communicator must issue its collectives and send/recv pairs in the same order, and ranks that
// use several communicators (the world and its splits) must use them in the same order too,
// or the job hangs (NCCL docs, "Using multiple NCCL communicators concurrently").
#pragma once

#include <c10/cuda/CUDAStream.h>

#include <memory>

#include "parallel/communicator.h"
#include "parallel/nccl/gpu_runtime.h"
#include "parallel/nccl/nccl_world.h"  // make_nccl_world, the usual way to get one

namespace uspdit::parallel {

class NcclCommunicator final : public Communicator {
 public:
  // Takes ownership of comm, whose ranks live on GPU device `device`.
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
  // A one-word all-reduce, then the host waits for the current stream: on return every rank has
  // reached the barrier and all work enqueued there before it has finished.
  void barrier() override;
  // Groups inherit the device. color must be >= 0.
  std::unique_ptr<Communicator> split(int color, int key) override;

  int device_index() const { return device_; }
  ncclComm_t handle() const { return comm_; }

 private:
  void check_tensor(const at::Tensor& t, const char* what) const;
  void all_reduce(at::Tensor& tensor, ncclRedOp_t op, const char* what);
  // libtorch's current stream on device_, read at each call: the compute stream.
  c10::cuda::CUDAStream compute_stream() const;
  void release() noexcept;

  ncclComm_t comm_;
  int device_;
  int rank_ = 0;
  int size_ = 1;
  // send_recv_async's transfers: a high-priority pool stream taken once, at construction.
  // libtorch hands out its 32 pool streams per priority round-robin, so taking one per call
  // would alias earlier transfers' streams; the pool owns it (never destroyed here).
  gpu::Stream comm_stream_ = nullptr;
  gpu::Event inputs_ready_ = nullptr;  // compute stream -> comm stream ordering, reused per call
  at::Tensor barrier_word_;            // one int32 on device_ for barrier()'s all-reduce
  int abort_hook_ = 0;                 // the watchdog's ncclCommAbort of comm_ (watchdog.h)
};

}  // namespace uspdit::parallel
