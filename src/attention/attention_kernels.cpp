#include "attention/attention_kernels.h"

#include <ATen/ATen.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "core/error.h"

namespace uspdit::attention {
namespace {

constexpr int64_t round_up(int64_t n, int64_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

bool is_half(at::ScalarType dtype) {
  return dtype == at::kHalf || dtype == at::kBFloat16;
}

std::string describe(const KernelQuery& q) {
  const char* device = q.device == DeviceKind::kCpu    ? "cpu"
                       : q.device == DeviceKind::kCuda ? "cuda"
                       : q.device == DeviceKind::kRocm ? "rocm"
                                                       : "other device";
  std::string s = device;
  if (q.device == DeviceKind::kCuda) s += " sm" + std::to_string(q.sm_major) + std::to_string(q.sm_minor);
  s += ", " + std::string(c10::toString(q.dtype)) + ", B " + std::to_string(q.batch) + ", H " +
       std::to_string(q.heads) + ", D " + std::to_string(q.head_dim) + ", Sq " + std::to_string(q.q_len) +
       ", Sk " + std::to_string(q.k_len) + (q.has_mask ? ", key mask" : "");
  return s;
}

bool on_gpu(const KernelQuery& q) {
  return q.device == DeviceKind::kCuda || q.device == DeviceKind::kRocm;
}

// The compute capability of CUDA device `index` from the driver API (cuDeviceGetAttribute),
// found in the libcuda that libtorch's CUDA backend has already loaded: the CPU build sees no
// CUDA header, and this is a host query, not a device synchronisation. {0, 0} when unknown,
// which leaves only the memory-efficient kernel (every GPU libtorch 2.15 runs on supports it).
std::pair<int, int> cuda_capability(int index) {
  static std::mutex mutex;
  static std::map<int, std::pair<int, int>> known;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = known.find(index); it != known.end()) return it->second;
  std::pair<int, int> capability{0, 0};
  if (void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD)) {
    using GetAttribute = int (*)(int*, int, int);
    auto get = reinterpret_cast<GetAttribute>(dlsym(lib, "cuDeviceGetAttribute"));
    constexpr int kMajor = 75, kMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR/MINOR
    int major = 0, minor = 0;
    if (get && get(&major, kMajor, index) == 0 && get(&minor, kMinor, index) == 0)
      capability = {major, minor};
    dlclose(lib);  // NOLOAD took a reference; the library stays loaded for libtorch
  }
  known[index] = capability;
  return capability;
}

bool rocm_build() {
#if defined(USE_ROCM)
  return true;
#else
  static const bool rocm = at::detail::getCUDAHooks().hasROCM();
  return rocm;
#endif
}

long cudnn_version() {
  static const long version = [] {
    try {
      const auto& hooks = at::detail::getCUDAHooks();
      return hooks.compiledWithCuDNN() ? hooks.versionCuDNN() : 0L;
    } catch (const std::exception&) {
      return 0L;
    }
  }();
  return version;
}

KernelOutput math_kernel(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const at::Tensor& key_valid, double scale) {
  // fp32 whatever the inputs: this is the reference the fused kernels are compared with.
  // Only structured ATen ops (no where, masked_fill or logsumexp, which lack meta kernels), so
  // that the math kernel runs on every device, meta included.
  auto scores = at::matmul(q.to(at::kFloat), k.to(at::kFloat).transpose(-1, -2)).mul_(scale);
  if (key_valid.defined()) {
    // log(1) = 0 keeps a key, log(0) = -inf removes it.
    scores.add_(key_valid.to(at::kFloat).log_().view({q.size(0), 1, 1, k.size(2)}));
  }
  // A row with every key masked has max -inf; shifting it by the lowest finite float instead
  // gives lse -inf (out NaN, which attend_block replaces) rather than NaN from -inf - -inf.
  auto max = scores.amax(-1, /*keepdim=*/true).clamp_min_(std::numeric_limits<float>::lowest());
  auto weights = (scores - max).exp_();
  auto sum = weights.sum(-1, /*keepdim=*/true);
  auto lse = (sum.log() + max).squeeze(-1);
  auto out = at::matmul(weights.div_(sum), v.to(at::kFloat));
  return {out, normalize_lse(lse, LseLayout::kDense, q.size(0), q.size(1), q.size(2))};
}

}  // namespace

const char* attention_kernel_name(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::kCpuFlash:
      return "cpu_flash";
    case AttentionKernel::kCudnn:
      return "cudnn";
    case AttentionKernel::kFlash:
      return "flash";
    case AttentionKernel::kMemEfficient:
      return "mem_efficient";
    case AttentionKernel::kMath:
      return "math";
  }
  return "?";
}

std::optional<AttentionKernel> parse_attention_kernel(std::string_view name) {
  for (auto kernel : {AttentionKernel::kCpuFlash, AttentionKernel::kCudnn, AttentionKernel::kFlash,
                      AttentionKernel::kMemEfficient, AttentionKernel::kMath}) {
    if (name == attention_kernel_name(kernel)) return kernel;
  }
  return std::nullopt;
}

std::string kernel_refusal(AttentionKernel kernel, const KernelQuery& q) {
  const bool half = is_half(q.dtype);
  const std::string dtype = c10::toString(q.dtype);
  const std::string hd = std::to_string(q.head_dim);
  switch (kernel) {
    case AttentionKernel::kMath:
      return "";
    case AttentionKernel::kCpuFlash:
      if (q.device != DeviceKind::kCpu) return "runs on the CPU only";
      if (!half && q.dtype != at::kFloat && q.dtype != at::kDouble)
        return "needs fp64/fp32/bf16/fp16, not " + dtype;
      return "";
    case AttentionKernel::kCudnn: {
      if (q.device != DeviceKind::kCuda) return "needs an NVIDIA GPU";
      if (q.sm_major < 8) return "needs sm80 or newer (compute capability unknown or older)";
      if (!half) return "needs bf16/fp16, not " + dtype;
      // We never hand cuDNN a bias: padded keys are compacted away before it is chosen.
      if (q.has_mask) return "takes no key mask here (padded keys must be compacted away first)";
      if (q.head_dim % 8 != 0) return "needs a head dim divisible by 8, not " + hd;
      // cuDNN takes head dims up to 256 only on sm90/sm10x from 9.23; elsewhere up to 128.
      const bool wide = (q.sm_major == 9 || q.sm_major == 10) && q.cudnn_version >= 92300;
      if (q.head_dim > (wide ? 256 : 128)) {
        return "head dim " + hd + " > " + (wide ? "256" : "128 (256 needs sm90/sm10x and cuDNN >= 9.23)");
      }
      if (q.k_len == 1) return "refuses a single key (Sk == 1)";
      if (q.batch > 65535 || q.heads > 65535) return "takes at most 65535 batch rows and heads";
      return "";
    }
    case AttentionKernel::kFlash:
      if (!on_gpu(q)) return "needs a CUDA or ROCm GPU";
      if (q.device == DeviceKind::kCuda && q.sm_major < 8) {
        return "needs sm80 or newer (compute capability unknown or older)";
      }
      if (!half) return "needs bf16/fp16, not " + dtype;
      if (q.has_mask) return "takes no mask (\"Flash Attention does not support non-null attn_mask\")";
      if (q.head_dim % 8 != 0 || q.head_dim > 256)
        return "needs a head dim divisible by 8 and <= 256, not " + hd;
      return "";
    case AttentionKernel::kMemEfficient:
      if (!on_gpu(q)) return "needs a CUDA or ROCm GPU";
      if (!half && q.dtype != at::kFloat) return "needs fp32/bf16/fp16, not " + dtype;
      if (q.head_dim % (half ? 8 : 4) != 0) {
        return std::string("needs a head dim divisible by ") + (half ? "8" : "4") + ", not " + hd;
      }
      return "";
  }
  return "unknown kernel";
}

AttentionKernel choose_attention_kernel(const KernelQuery& q) {
  auto can = [&](AttentionKernel kernel) { return kernel_refusal(kernel, q).empty(); };
  switch (q.device) {
    case DeviceKind::kCpu:
      return can(AttentionKernel::kCpuFlash) ? AttentionKernel::kCpuFlash : AttentionKernel::kMath;
    case DeviceKind::kOther:
      return AttentionKernel::kMath;
    case DeviceKind::kCuda:
    case DeviceKind::kRocm:
      break;
  }
  // cuDNN first where it is the fastest kernel with an LSE (Hopper, Blackwell datacenter); FA2
  // elsewhere (and on ROCm, through AOTriton or CK); memory-efficient for fp32, key masks, and
  // whatever the other two refuse.
  const bool cudnn_first = q.device == DeviceKind::kCuda && (q.sm_major == 9 || q.sm_major == 10);
  if (cudnn_first && can(AttentionKernel::kCudnn)) return AttentionKernel::kCudnn;
  if (can(AttentionKernel::kFlash)) return AttentionKernel::kFlash;
  if (can(AttentionKernel::kMemEfficient)) return AttentionKernel::kMemEfficient;
  return AttentionKernel::kMath;
}

AttentionKernel resolve_attention_kernel(const KernelQuery& query, std::optional<AttentionKernel> forced) {
  if (!forced) return choose_attention_kernel(query);
  if (auto why = kernel_refusal(*forced, query); !why.empty()) {
    throw UsageError(std::string("attention kernel '") + attention_kernel_name(*forced) + "' cannot run " +
                     describe(query) + ": it " + why +
                     " (unset USPDIT_ATTENTION_KERNEL to let uspdit choose)");
  }
  return *forced;
}

std::optional<AttentionKernel> kernel_override_from_env() {
  const char* value = std::getenv("USPDIT_ATTENTION_KERNEL");
  if (!value || !*value) return std::nullopt;
  auto kernel = parse_attention_kernel(value);
  if (!kernel) {
    throw UsageError(std::string("USPDIT_ATTENTION_KERNEL=") + value +
                     ": use cpu_flash, cudnn, flash, mem_efficient or math");
  }
  return kernel;
}

KernelQuery query_from(const at::Tensor& q, const at::Tensor& k, const at::Tensor& mask) {
  KernelQuery query;
  if (q.is_cpu()) {
    query.device = DeviceKind::kCpu;
  } else if (q.is_cuda()) {
    // ROCm tensors are CUDA tensors to ATen (HIP masquerades as CUDA).
    query.device = rocm_build() ? DeviceKind::kRocm : DeviceKind::kCuda;
  } else {
    query.device = DeviceKind::kOther;
  }
  if (query.device == DeviceKind::kCuda) {
    std::tie(query.sm_major, query.sm_minor) = cuda_capability(q.device().index());
    query.cudnn_version = cudnn_version();
  }
  query.dtype = q.scalar_type();
  query.batch = q.size(0);
  query.heads = q.size(1);
  query.q_len = q.size(2);
  query.head_dim = q.size(3);
  query.k_len = k.size(2);
  query.has_mask = mask.defined();
  return query;
}

bool in_host_memory(const at::Tensor& t) {
  return t.is_cpu();
}

bool compact_padded_keys(const at::Tensor& q, std::optional<AttentionKernel> forced) {
  const bool cpu_flash = q.is_cpu() && (!forced || *forced == AttentionKernel::kCpuFlash);
  return !cpu_flash;
}

const char* lse_layout_name(LseLayout layout) {
  switch (layout) {
    case LseLayout::kDense:
      return "dense [B, H, Lq]";
    case LseLayout::kMemEfficient:
      return "memory-efficient [B, H, Lq padded to 32 (CUDA) or Lq (ROCm)]";
    case LseLayout::kCudnn:
      return "cuDNN [B, H, Lq, 1]";
    case LseLayout::kFlashVarlenCuda:
      return "flash varlen CUDA [H, B*Lq]";
    case LseLayout::kRocmVarlen:
      return "ROCm varlen [B, H, max_q >= Lq]";
    case LseLayout::kCpuFlash:
      return "CPU flash [B, H, Lq] (strided, compute dtype)";
  }
  return "?";
}

at::Tensor normalize_lse(const at::Tensor& raw, LseLayout layout, int64_t B, int64_t H, int64_t Lq) {
  auto fail = [&] {
    throw std::invalid_argument(std::string("normalize_lse: LSE of shape ") + c10::str(raw.sizes()) +
                                " does not fit layout " + lse_layout_name(layout) + " for B " +
                                std::to_string(B) + ", H " + std::to_string(H) + ", Lq " +
                                std::to_string(Lq));
  };
  auto is = [&](std::initializer_list<int64_t> shape) { return raw.sizes() == at::IntArrayRef(shape); };
  at::Tensor lse;
  switch (layout) {
    case LseLayout::kDense:
    case LseLayout::kCpuFlash:
      if (!is({B, H, Lq})) fail();
      lse = raw;
      break;
    case LseLayout::kMemEfficient:
      // CUDA pads the rows to a multiple of 32 (the kernel's query block); ROCm does not.
      if (!is({B, H, round_up(Lq, 32)}) && !is({B, H, Lq})) fail();
      lse = raw.narrow(2, 0, Lq);
      break;
    case LseLayout::kCudnn:
      if (!is({B, H, Lq, 1})) fail();
      lse = raw.squeeze(3);
      break;
    case LseLayout::kFlashVarlenCuda:
      // Tokens of the packed batch in order: column b*Lq + i is row i of sequence b.
      if (!is({H, B * Lq})) fail();
      lse = raw.view({H, B, Lq}).transpose(0, 1);
      break;
    case LseLayout::kRocmVarlen:
      if (raw.dim() != 3 || raw.size(0) != B || raw.size(1) != H || raw.size(2) < Lq) fail();
      lse = raw.narrow(2, 0, Lq);
      break;
  }
  return lse.to(at::kFloat).contiguous();
}

at::Tensor aligned_key_bias(const at::Tensor& key_valid, at::ScalarType dtype, int64_t H, int64_t Lq) {
  const int64_t B = key_valid.size(0), Sk = key_valid.size(1);
  auto storage = at::zeros({B, 1, 1, round_up(Sk, 8)}, key_valid.options().dtype(dtype));
  auto bias = storage.narrow(3, 0, Sk);
  bias.masked_fill_(key_valid.logical_not().view({B, 1, 1, Sk}), -std::numeric_limits<float>::infinity());
  return bias.expand({B, H, Lq, Sk});
}

KernelOutput run_kernel(AttentionKernel kernel, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                        const at::Tensor& key_valid, std::optional<double> scale) {
  const int64_t B = q.size(0), H = q.size(1), Sq = q.size(2), Sk = k.size(2);
  if (Sk == 0) throw std::invalid_argument("run_kernel: empty K/V block (the caller must skip it)");
  const bool masked = key_valid.defined();
  if (masked && (kernel == AttentionKernel::kCudnn || kernel == AttentionKernel::kFlash)) {
    throw std::invalid_argument(std::string("run_kernel: ") + attention_kernel_name(kernel) +
                                " takes no key mask: compact K/V first");
  }
  auto finish = [&](const at::Tensor& out, const at::Tensor& lse, LseLayout layout) {
    return KernelOutput{out.to(at::kFloat), normalize_lse(lse, layout, B, H, Sq)};
  };
  switch (kernel) {
    case AttentionKernel::kCpuFlash: {
      std::optional<at::Tensor> mask;
      if (masked) {
        // Additive mask broadcast over heads and queries: -inf removes padded keys exactly.
        mask = at::zeros({B, 1, 1, Sk}, q.options());
        mask->masked_fill_(key_valid.logical_not().view({B, 1, 1, Sk}),
                           -std::numeric_limits<float>::infinity());
      }
      auto [out, lse] = at::_scaled_dot_product_flash_attention_for_cpu(q, k, v, /*dropout_p=*/0.0,
                                                                        /*is_causal=*/false, mask, scale);
      return finish(out, lse, LseLayout::kCpuFlash);
    }
    case AttentionKernel::kCudnn: {
      auto result =
          at::_scaled_dot_product_cudnn_attention(q, k, v, /*attn_bias=*/std::nullopt,
                                                  /*compute_log_sumexp=*/true, /*dropout_p=*/0.0,
                                                  /*is_causal=*/false, /*return_debug_mask=*/false, scale);
      const auto& lse = std::get<1>(result);
      // [B, H, Lq, 1] in libtorch 2.15; accept the plain [B, H, Lq] other releases return.
      return finish(std::get<0>(result), lse, lse.dim() == 4 ? LseLayout::kCudnn : LseLayout::kDense);
    }
    case AttentionKernel::kFlash: {
      auto result = at::_scaled_dot_product_flash_attention(q, k, v, /*dropout_p=*/0.0, /*is_causal=*/false,
                                                            /*return_debug_mask=*/false, scale);
      return finish(std::get<0>(result), std::get<1>(result), LseLayout::kDense);
    }
    case AttentionKernel::kMemEfficient: {
      std::optional<at::Tensor> bias;
      if (masked) bias = aligned_key_bias(key_valid, q.scalar_type(), H, Sq);
      auto result =
          at::_scaled_dot_product_efficient_attention(q, k, v, bias, /*compute_log_sumexp=*/true,
                                                      /*dropout_p=*/0.0, /*is_causal=*/false, scale);
      return finish(std::get<0>(result), std::get<1>(result), LseLayout::kMemEfficient);
    }
    case AttentionKernel::kMath:
      return math_kernel(q, k, v, key_valid, scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(3)))));
  }
  throw std::logic_error("run_kernel: unknown kernel");
}

}  // namespace uspdit::attention
