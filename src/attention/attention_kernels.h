// The attention kernels that return a log-sum-exp, chosen explicitly (never by SDPA's own pick,
// which may choose a kernel without one), and the normalisation of their LSE layouts.
//
// This is the only attention file that looks at the device: everything above it (attend_block,
// Ring, Ulysses, USP, the models) is device-agnostic. The choice is a pure function of plain
// facts so that every rule is unit-tested on the CPU. The kernels' limits and LSE shapes are
// those of libtorch 2.15 (its sdp_utils.cpp checks and meta registrations).
//
// Kernel layout: q [B, H, Sq, D], k and v [B, H, Sk, D].
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <string_view>

namespace uspdit::attention {

enum class AttentionKernel {
  kCpuFlash,      // at::_scaled_dot_product_flash_attention_for_cpu (additive mask)
  kCudnn,         // at::_scaled_dot_product_cudnn_attention (no mask: we never pass a bias)
  kFlash,         // at::_scaled_dot_product_flash_attention (FA2; AOTriton/CK on ROCm; no mask)
  kMemEfficient,  // at::_scaled_dot_product_efficient_attention (aligned additive bias)
  kMath,          // plain ATen ops in fp32: any device (meta included), and the test reference
};

// "cpu_flash", "cudnn", "flash", "mem_efficient", "math": for logs and USPDIT_ATTENTION_KERNEL.
const char* attention_kernel_name(AttentionKernel kernel);
std::optional<AttentionKernel> parse_attention_kernel(std::string_view name);

enum class DeviceKind { kCpu, kCuda, kRocm, kOther };

// Plain facts about one attention call: all the choice depends on.
struct KernelQuery {
  DeviceKind device = DeviceKind::kCpu;
  int sm_major = 0;  // CUDA compute capability; 0 when unknown or not CUDA
  int sm_minor = 0;
  long cudnn_version = 0;  // e.g. 92600 for 9.26.0; 0 when unknown or none
  at::ScalarType dtype = at::kFloat;
  int64_t batch = 1;
  int64_t heads = 1;
  int64_t head_dim = 0;
  int64_t q_len = 0;
  int64_t k_len = 0;
  bool has_mask = false;  // the kernel would have to apply a key mask
};

// Why `kernel` cannot run `query`; empty when it can.
std::string kernel_refusal(AttentionKernel kernel, const KernelQuery& query);

// The fastest kernel that can run `query`: cuDNN on sm90/sm10x, then flash, then memory-efficient (fp32,
// masks, or the others refuse), then math. CPU: libtorch's CPU flash. ROCm: flash (AOTriton/CK), then
// memory-efficient. Any other device: math.
AttentionKernel choose_attention_kernel(const KernelQuery& query);

// `forced` when it can run `query` (a refusal throws UsageError saying why), else the choice.
AttentionKernel resolve_attention_kernel(const KernelQuery& query, std::optional<AttentionKernel> forced);

// USPDIT_ATTENTION_KERNEL (cpu_flash | cudnn | flash | mem_efficient | math), or nullopt when unset.
// An unknown name throws UsageError. Read on every call so that tests can change it.
std::optional<AttentionKernel> kernel_override_from_env();

// The facts of q [B,H,Sq,D] and k [B,H,Sk,D], with a mask or not. The CUDA compute capability
// is looked up once per device (a host call into the driver, never a device synchronisation).
KernelQuery query_from(const at::Tensor& q, const at::Tensor& k, const at::Tensor& mask);

// Whether `t` is in host memory, where reading it costs no device synchronisation.
bool in_host_memory(const at::Tensor& t);

// Whether padded keys (one batch row, mask in host memory) should be removed from K/V rather
// than masked: yes unless the CPU flash kernel runs, which applies its mask at no cost. The
// GPU's fastest kernels take no mask.
bool compact_padded_keys(const at::Tensor& q, std::optional<AttentionKernel> forced);

// Every layout a kernel returns its LSE in (all natural log, scale applied).
enum class LseLayout {
  kDense,            // [B, H, Lq] (flash, ROCm flash)
  kMemEfficient,     // [B, H, ceil(Lq/32)*32] on CUDA, [B, H, Lq] on ROCm
  kCudnn,            // [B, H, Lq, 1]
  kFlashVarlenCuda,  // [H, T], T = B*Lq (equal lengths), token-major as the packed q
  kRocmVarlen,       // [B, H, max_q], max_q >= Lq
  kCpuFlash,         // [B, H, Lq] strided view of BLH memory, in the compute dtype
};
const char* lse_layout_name(LseLayout layout);

// [B, H, Lq] fp32 contiguous from `raw` in `layout`; a shape that does not fit the layout throws
// std::invalid_argument naming the layout and the shapes.
at::Tensor normalize_lse(const at::Tensor& raw, LseLayout layout, int64_t B, int64_t H, int64_t Lq);

// Additive key bias for the memory-efficient kernel from key_valid [B, Sk] (bool): 0 where
// valid, -inf where not, in `dtype`, as [B, H, Lq, Sk]. Its storage is [B, 1, 1, round_up(Sk, 8)]
// narrowed and expanded, so stride(0..2) stay multiples of 8: an [B, 1, 1, Sk] bias with
// Sk % 8 != 0 and B > 1 fails "attn_bias is not correctly aligned (strideB)".
at::Tensor aligned_key_bias(const at::Tensor& key_valid, at::ScalarType dtype, int64_t H, int64_t Lq);

struct KernelOutput {
  at::Tensor out;  // [B, H, Sq, D], fp32
  at::Tensor lse;  // [B, H, Sq], fp32; rows with no valid key are the kernel's (-inf or NaN)
};

// Runs `kernel` on q [B,H,Sq,D], k, v [B,H,Sk,D] with key_valid [B, Sk] bool on q's device
// (undefined: every key valid). Sk must be > 0: FA2 on an empty block returns LSE +inf, which
// the merge would take for a real block. cuDNN and flash take no mask: compact K/V first. scale defaults to
// 1/sqrt(D).
KernelOutput run_kernel(AttentionKernel kernel, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                        const at::Tensor& key_valid, std::optional<double> scale);

}  // namespace uspdit::attention
