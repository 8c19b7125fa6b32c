#include "core/device.h"

#include <ATen/ATen.h>
#include <ATen/DeviceAccelerator.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/Event.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdlib>

#include "core/error.h"

namespace uspdit::core {
namespace {

bool is_gpu(const c10::Device& device) {
  return device.type() == c10::DeviceType::CUDA;
}

const c10::impl::DeviceGuardImplInterface& guard_impl(const c10::Device& device) {
  return *c10::impl::getDeviceGuardImpl(device.type());
}

}  // namespace

DeviceRequest parse_device_request(const std::string& text) {
  if (text == "auto") return DeviceRequest::kAuto;
  if (text == "cpu") return DeviceRequest::kCpu;
  if (text == "cuda" || text == "gpu") return DeviceRequest::kCuda;
  const bool indexed = text.rfind("cuda:", 0) == 0;
  throw UsageError("--device '" + text + "' is not a device: use auto, cuda or cpu" +
                   (indexed ? " (the GPU index comes from the launcher's local rank: LOCAL_RANK % GPUs; "
                              "choose GPUs with CUDA_VISIBLE_DEVICES)"
                            : ""));
}

const char* device_request_name(DeviceRequest request) {
  switch (request) {
    case DeviceRequest::kAuto:
      return "auto";
    case DeviceRequest::kCpu:
      return "cpu";
    case DeviceRequest::kCuda:
      return "cuda";
  }
  return "?";
}

AcceleratorInfo probe_accelerators() {
  AcceleratorInfo info;
  const auto& hooks = at::detail::getCUDAHooks();
  // The CUDA/ROCm backend registers its device guard when its library loads, with or without a
  // driver; hasCUDA() would also need a GPU.
  info.backend_linked = c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA) || hooks.hasROCM();
  info.count = info.backend_linked ? static_cast<int>(hooks.deviceCount()) : 0;
  info.rocm = hooks.hasROCM();
  return info;
}

c10::Device choose_device(DeviceRequest request, int local_rank, const AcceleratorInfo& gpus) {
  if (request == DeviceRequest::kCpu || (request == DeviceRequest::kAuto && gpus.count == 0)) {
    return c10::Device(c10::DeviceType::CPU);
  }
  if (gpus.count == 0) {
    throw UsageError(
        std::string("--device cuda, but ") +
        (gpus.backend_linked
             ? "no GPU is visible to this process (CUDA_VISIBLE_DEVICES, the driver, or the node)"
             : "this uspdit build has no GPU backend (build it with BUILD_TYPE=cuda scripts/build.sh)") +
        "; run on GPU nodes, or use --device cpu (launched with mpirun or srun)");
  }
  require(local_rank >= 0, "local rank " + std::to_string(local_rank) + " is negative");
  return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(local_rank % gpus.count));
}

std::string device_label(const c10::Device& device) {
  return device.str();
}

void make_current(const c10::Device& device) {
  if (!is_gpu(device)) return;
  // Long videos allocate activations of many sizes; expandable segments let the caching
  // allocator grow one mapping instead of fragmenting fixed blocks (PyTorch's advice for such
  // loads). Read once, at the allocator's first use, which is after this; a user's own setting
  // (either variable) wins.
  if (std::getenv("PYTORCH_CUDA_ALLOC_CONF") == nullptr && std::getenv("PYTORCH_ALLOC_CONF") == nullptr &&
      std::getenv("PYTORCH_HIP_ALLOC_CONF") == nullptr) {
    setenv("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True", /*overwrite=*/0);
  }
  guard_impl(device).setDevice(device);
}

void synchronize(const c10::Device& device) {
  if (is_gpu(device)) guard_impl(device).synchronizeDevice(device.index());
}

// One pinned host buffer and the event after the last copy out of it.
struct DeviceUploader::Buffer {
  at::Tensor bytes;  // pinned uint8, grown to the largest tensor seen
  std::optional<c10::Event> copied;
};

DeviceUploader::DeviceUploader(c10::Device device) : device_(device) {
  if (is_gpu(device_)) {
    buffers_.push_back(std::make_unique<Buffer>());
    buffers_.push_back(std::make_unique<Buffer>());
  }
}

DeviceUploader::~DeviceUploader() {
  try {
    finish();
  } catch (...) {
    // A failed device is reported by the operation that failed, not by this destructor.
  }
}

at::Tensor DeviceUploader::staging(at::IntArrayRef shape, at::ScalarType dtype) {
  if (!is_gpu(device_)) return at::empty(shape, at::TensorOptions().dtype(dtype));
  Buffer& buffer = *buffers_[next_];
  // The copy that last read this buffer must be done before it is overwritten.
  if (buffer.copied) buffer.copied->synchronize();
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  const int64_t bytes = numel * static_cast<int64_t>(c10::elementSize(dtype));
  if (!buffer.bytes.defined() || buffer.bytes.numel() < bytes) {
    buffer.bytes =
        at::empty({std::max<int64_t>(bytes, 1)}, at::TensorOptions().dtype(at::kByte).pinned_memory(true));
  }
  return buffer.bytes.narrow(0, 0, bytes).view(dtype).view(shape);
}

at::Tensor DeviceUploader::upload(const at::Tensor& host) {
  if (device_ == host.device()) return host;
  if (!is_gpu(device_)) return host.to(device_);  // any other device (meta in tests): a plain copy
  Buffer& buffer = *buffers_[next_];
  next_ = (next_ + 1) % buffers_.size();
  at::Tensor out = at::empty(host.sizes(), host.options().device(device_).pinned_memory(false));
  // Asynchronous from pinned memory; the event lets staging() reuse the buffer safely.
  out.copy_(host, /*non_blocking=*/true);
  if (!buffer.copied) buffer.copied.emplace(device_.type());
  buffer.copied->record(guard_impl(device_).getStream(device_));
  return out;
}

void DeviceUploader::finish() {
  for (auto& buffer : buffers_) {
    if (buffer->copied) buffer->copied->synchronize();
  }
}

at::Tensor to_device(const at::Tensor& tensor, const c10::Device& device) {
  if (!tensor.defined() || tensor.device() == device) return tensor;
  return tensor.to(device);
}

at::Tensor to_host(const at::Tensor& tensor) {
  return to_device(tensor, host_device());
}

// libtorch's device-generic allocator statistics (at::accelerator) arrived in 2.9; on an older
// libtorch the figures stay zero rather than the build failing on the machine it meets first.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 9)
#define USPDIT_ACCELERATOR_MEMORY 1
#endif

DeviceMemory device_memory(const c10::Device& device) {
  DeviceMemory m;
  if (!is_gpu(device)) return m;
#ifdef USPDIT_ACCELERATOR_MEMORY
  const auto stats = at::accelerator::getDeviceStats(device.index());
  const auto aggregate = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  m.peak_allocated = stats.allocated_bytes[aggregate].peak;
  m.reserved = stats.reserved_bytes[aggregate].current;
  const auto [free, total] = at::accelerator::getMemoryInfo(device.index());
  m.free = static_cast<int64_t>(free);
  m.total = static_cast<int64_t>(total);
#endif
  return m;
}

void reset_device_peak(const c10::Device& device) {
#ifdef USPDIT_ACCELERATOR_MEMORY
  if (is_gpu(device)) at::accelerator::resetPeakStats(device.index());
#else
  (void)device;
#endif
}

void release_cached_memory(const c10::Device& device) {
#ifdef USPDIT_ACCELERATOR_MEMORY
  if (is_gpu(device)) at::accelerator::emptyCache();
#else
  (void)device;
#endif
}

}  // namespace uspdit::core
