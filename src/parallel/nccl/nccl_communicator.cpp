#include "parallel/nccl/nccl_communicator.h"

#include <ATen/ops/zeros.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "parallel/nccl/cuda_check.h"
#include "parallel/stream_transfer.h"
#include "parallel/nccl/nccl_dtype.h"
#include "parallel/transfer_plan.h"
#include "parallel/watchdog.h"

namespace uspdit::parallel {
namespace {

// ncclGroupStart/End around `body`, closing the group if body throws so that NCCL's per-thread
// group depth does not stay raised for the next call.
template <typename Body>
void grouped(ncclComm_t comm, Body&& body) {
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  try {
    body();
  } catch (...) {
    ncclGroupEnd();
    throw;
  }
  check_nccl(ncclGroupEnd(), "ncclGroupEnd", comm);
}

void* element_ptr(const at::Tensor& t, int64_t offset) {
  return static_cast<char*>(t.data_ptr()) + offset * static_cast<int64_t>(t.element_size());
}

int64_t sum(std::span<const int64_t> counts) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  return total;
}

bool all_equal(std::span<const int64_t> counts) {
  for (int64_t c : counts) {
    if (c != counts.front()) return false;
  }
  return true;
}

// The flat element range [offset, offset + count) of a contiguous tensor, as a view.
at::Tensor flat_slice(const at::Tensor& t, int64_t offset, int64_t count) {
  return t.view({-1}).narrow(0, offset, count);
}

// A send_recv_async in flight on the communication stream, `done` recorded after it: the
// held-tensor lifetime rule of parallel/stream_transfer.h on the CUDA/HIP runtime.
struct GpuStreamApi {
  using Event = gpu::Event;
  using Stream = gpu::Stream;
  using Error = gpu::Error;
  static Error wait_event(Stream stream, Event event) { return gpu::stream_wait_event(stream, event); }
  static void destroy_event(Event event) { gpu::event_destroy(event); }
  static void check(Error error, const char* call) { check_cuda(error, call); }
};
using StreamTransfer = StreamOrderedTransfer<GpuStreamApi>;

}  // namespace

NcclCommunicator::NcclCommunicator(ncclComm_t comm, int device, std::shared_ptr<CommStats> stats)
    : Communicator(stats ? std::move(stats) : std::make_shared<CommStats>()), comm_(comm), device_(device) {
  if (comm_ == nullptr) throw std::invalid_argument("NcclCommunicator: null ncclComm_t");
  try {
    DeviceGuard guard(device_);
    check_nccl(ncclCommUserRank(comm_, &rank_), "ncclCommUserRank", comm_);
    check_nccl(ncclCommCount(comm_, &size_), "ncclCommCount", comm_);
    // Pool streams are non-blocking: they do not serialise with the legacy default stream, so
    // transfers overlap with compute wherever it runs. High priority: a transfer's kernels
    // should not wait behind a long compute kernel queue.
    comm_stream_ =
        c10::cuda::getStreamFromPool(/*isHighPriority=*/true, static_cast<c10::DeviceIndex>(device_))
            .stream();
    check_cuda(gpu::event_create(&inputs_ready_), "cudaEventCreateWithFlags");
    barrier_word_ = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(at::kCUDA, device_));
    // A stalled job: the watchdog (watchdog.h) aborts the communicator from its own thread, which
    // frees NCCL's kernels and proxy threads, before it ends the process.
    abort_hook_ = add_abort_hook([comm = comm_] { ncclCommAbort(comm); });
  } catch (...) {
    release();  // the destructor does not run for a constructor that throws
    throw;
  }
}

NcclCommunicator::~NcclCommunicator() {
  release();
}

void NcclCommunicator::release() noexcept {
  // Errors are ignored: this runs in destructors, possibly while unwinding from a CUDA failure.
  if (abort_hook_ != 0) remove_abort_hook(abort_hook_);
  abort_hook_ = 0;
  int previous = -1;
  const bool switched = gpu::get_device(&previous) == gpu::kSuccess && previous != device_ &&
                        gpu::set_device(device_) == gpu::kSuccess;
  if (comm_stream_ != nullptr) gpu::stream_synchronize(comm_stream_);  // transfers still in flight
  if (inputs_ready_ != nullptr) gpu::event_destroy(inputs_ready_);
  if (comm_ != nullptr) ncclCommDestroy(comm_);
  barrier_word_.reset();
  inputs_ready_ = nullptr;
  comm_stream_ = nullptr;  // the pool's, not ours to destroy
  comm_ = nullptr;
  if (switched) gpu::set_device(previous);
}

c10::cuda::CUDAStream NcclCommunicator::compute_stream() const {
  return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_));
}

bool NcclCommunicator::accepts(const at::Tensor& tensor) const {
  const auto device = tensor.device();
  return device.is_cuda() && (!device.has_index() || device.index() == device_);
}

void NcclCommunicator::check_tensor(const at::Tensor& t, const char* what) const {
  if (!t.is_contiguous()) throw std::invalid_argument(std::string(what) + " must be contiguous");
  if (!accepts(t)) {
    throw std::invalid_argument(std::string(what) + " must be a CUDA tensor on device " +
                                std::to_string(device_) + ", got " + t.device().str());
  }
}

void NcclCommunicator::all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts,
                                    at::Tensor& recv, std::span<const int64_t> recv_counts) {
  check_tensor(send, "all_to_all_v send");
  check_tensor(recv, "all_to_all_v recv");
  if (static_cast<int>(send_counts.size()) != size_ || static_cast<int>(recv_counts.size()) != size_) {
    throw std::invalid_argument("all_to_all_v: counts must have one entry per rank");
  }
  if (send.scalar_type() != recv.scalar_type()) throw std::invalid_argument("all_to_all_v: dtypes differ");
  const auto plan = all_to_all_plan(send_counts, recv_counts);
  // A wrong count would let NCCL write past the buffer and poison the CUDA context; refuse it here.
  if (sum(send_counts) > send.numel() || sum(recv_counts) > recv.numel()) {
    throw std::invalid_argument("all_to_all_v: counts exceed the tensors' sizes");
  }
  if (send_counts[rank_] != recv_counts[rank_]) {
    throw std::invalid_argument("all_to_all_v: own send and recv counts differ");
  }
  const ncclDataType_t type = nccl_dtype(send.scalar_type());
  DeviceGuard guard(device_);
  const gpu::Stream stream = compute_stream().stream();
  grouped(comm_, [&] {
    for (const auto& t : plan) {
      if (t.peer == rank_) continue;
      if (t.send_count > 0) {
        check_nccl(ncclSend(element_ptr(send, t.send_offset), static_cast<size_t>(t.send_count), type, t.peer,
                            comm_, stream),
                   "ncclSend", comm_);
      }
      if (t.recv_count > 0) {
        check_nccl(ncclRecv(element_ptr(recv, t.recv_offset), static_cast<size_t>(t.recv_count), type, t.peer,
                            comm_, stream),
                   "ncclRecv", comm_);
      }
    }
  });
  // The own block is a device copy, on the current stream like the messages above.
  for (const auto& t : plan) {
    if (t.peer != rank_ || t.send_count == 0) continue;
    flat_slice(recv, t.recv_offset, t.recv_count).copy_(flat_slice(send, t.send_offset, t.send_count));
  }
  count_sent(elements_to_others(send_counts, rank_) * static_cast<int64_t>(send.element_size()));
}

void NcclCommunicator::all_gather_v(const at::Tensor& send, at::Tensor& recv,
                                    std::span<const int64_t> counts) {
  check_tensor(send, "all_gather_v send");
  check_tensor(recv, "all_gather_v recv");
  if (static_cast<int>(counts.size()) != size_) {
    throw std::invalid_argument("all_gather_v: counts must have one entry per rank");
  }
  if (send.scalar_type() != recv.scalar_type()) throw std::invalid_argument("all_gather_v: dtypes differ");
  if (send.numel() != counts[rank_]) {
    throw std::invalid_argument("all_gather_v: send has " + std::to_string(send.numel()) +
                                " elements but counts[" + std::to_string(rank_) + "] is " +
                                std::to_string(counts[rank_]));
  }
  const auto plan = all_gather_plan(counts, rank_);
  if (sum(counts) > recv.numel()) throw std::invalid_argument("all_gather_v: counts exceed recv's size");
  const ncclDataType_t type = nccl_dtype(send.scalar_type());
  DeviceGuard guard(device_);
  const gpu::Stream stream = compute_stream().stream();
  if (all_equal(counts)) {
    if (counts[0] == 0) {  // every rank skips alike: nothing to move, but the call still counts
      count_sent(0);
      return;
    }
    // Equal blocks are NCCL's own all-gather, which uses its ring/tree algorithms.
    check_nccl(
        ncclAllGather(send.data_ptr(), recv.data_ptr(), static_cast<size_t>(counts[0]), type, comm_, stream),
        "ncclAllGather", comm_);
  } else {
    grouped(comm_, [&] {
      for (const auto& t : plan) {
        if (t.peer == rank_) continue;
        if (t.send_count > 0) {
          check_nccl(
              ncclSend(send.data_ptr(), static_cast<size_t>(t.send_count), type, t.peer, comm_, stream),
              "ncclSend", comm_);
        }
        if (t.recv_count > 0) {
          check_nccl(ncclRecv(element_ptr(recv, t.recv_offset), static_cast<size_t>(t.recv_count), type,
                              t.peer, comm_, stream),
                     "ncclRecv", comm_);
        }
      }
    });
    const auto own = block_offsets(counts)[rank_];
    if (send.numel() > 0) flat_slice(recv, own, send.numel()).copy_(send.view({-1}));
  }
  count_sent(send.numel() * static_cast<int64_t>(send.element_size()) * (size_ - 1));
}

std::unique_ptr<PendingOp> NcclCommunicator::send_recv_async(const at::Tensor& send, int dst,
                                                             at::Tensor& recv, int src) {
  check_tensor(send, "send_recv send");
  check_tensor(recv, "send_recv recv");
  if (dst < 0 || dst >= size_ || src < 0 || src >= size_) {
    throw std::invalid_argument("send_recv: peer outside 0.." + std::to_string(size_ - 1));
  }
  if (send.scalar_type() != recv.scalar_type()) throw std::invalid_argument("send_recv: dtypes differ");
  const ncclDataType_t type = nccl_dtype(send.scalar_type());
  DeviceGuard guard(device_);
  const gpu::Stream compute = compute_stream().stream();
  // Created first: once the transfer is enqueued, nothing may fail before the op owns its event
  // and the tensors.
  gpu::Event done = nullptr;
  check_cuda(gpu::event_create(&done), "cudaEventCreateWithFlags");
  auto op = std::make_unique<StreamTransfer>(done, compute, send, recv);  // owns `done` from here
  // The transfer starts after everything already enqueued on the compute stream: the kernels
  // that produce `send`, and earlier users of `recv`'s memory.
  check_cuda(gpu::event_record(inputs_ready_, compute), "cudaEventRecord");
  check_cuda(gpu::stream_wait_event(comm_stream_, inputs_ready_), "cudaStreamWaitEvent");
  // Zero-element sides are skipped; the peer's matching side is zero-element too.
  grouped(comm_, [&] {
    if (send.numel() > 0) {
      check_nccl(ncclSend(send.data_ptr(), static_cast<size_t>(send.numel()), type, dst, comm_, comm_stream_),
                 "ncclSend", comm_);
    }
    if (recv.numel() > 0) {
      check_nccl(ncclRecv(recv.data_ptr(), static_cast<size_t>(recv.numel()), type, src, comm_, comm_stream_),
                 "ncclRecv", comm_);
    }
  });
  check_cuda(gpu::event_record(done, comm_stream_), "cudaEventRecord");
  if (dst != rank_) count_sent(send.numel() * static_cast<int64_t>(send.element_size()));
  return op;
}

void NcclCommunicator::broadcast(at::Tensor& tensor, int root) {
  check_tensor(tensor, "broadcast tensor");
  if (root < 0 || root >= size_) throw std::invalid_argument("broadcast: root outside the group");
  const ncclDataType_t type = nccl_dtype(tensor.scalar_type());
  if (rank_ == root) count_sent(tensor.numel() * static_cast<int64_t>(tensor.element_size()) * (size_ - 1));
  if (tensor.numel() == 0) return;  // same size on every rank, so all skip
  DeviceGuard guard(device_);
  check_nccl(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()), type,
                           root, comm_, compute_stream().stream()),
             "ncclBroadcast", comm_);
}

void NcclCommunicator::all_reduce(at::Tensor& tensor, ncclRedOp_t op, const char* what) {
  check_tensor(tensor, what);
  const ncclDataType_t type = nccl_dtype(tensor.scalar_type());
  if (tensor.numel() == 0) return;  // same size on every rank, so all skip
  DeviceGuard guard(device_);
  check_nccl(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()), type,
                           op, comm_, compute_stream().stream()),
             "ncclAllReduce", comm_);
}

void NcclCommunicator::all_reduce_max(at::Tensor& tensor) {
  all_reduce(tensor, ncclMax, "all_reduce tensor");
}

void NcclCommunicator::all_reduce_sum(at::Tensor& tensor) {
  all_reduce(tensor, ncclSum, "all_reduce tensor");
}

void NcclCommunicator::barrier() {
  DeviceGuard guard(device_);
  const auto stream = compute_stream();
  check_nccl(ncclAllReduce(barrier_word_.data_ptr(), barrier_word_.data_ptr(), 1, ncclInt32, ncclMax, comm_,
                           stream.stream()),
             "ncclAllReduce", comm_);
  stream.synchronize();
  // Failures inside NCCL's kernels or proxy threads (a peer gone, a network error) surface here.
  ncclResult_t async_error = ncclSuccess;
  check_nccl(ncclCommGetAsyncError(comm_, &async_error), "ncclCommGetAsyncError", comm_);
  check_nccl(async_error, "NCCL operation before barrier", comm_);
}

std::unique_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  if (color < 0) throw std::invalid_argument("split: color must be >= 0, got " + std::to_string(color));
  DeviceGuard guard(device_);
  ncclComm_t sub = nullptr;
  check_nccl(ncclCommSplit(comm_, color, key, &sub, nullptr), "ncclCommSplit", comm_);
  return std::make_unique<NcclCommunicator>(sub, device_, shared_stats());
}

}  // namespace uspdit::parallel
