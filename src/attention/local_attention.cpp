#include "attention/local_attention.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/device.h"

namespace uspdit::attention {
namespace {

void check_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& key_valid) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument("attention: " + what + " (q " + c10::str(q.sizes()) + ", k " +
                                c10::str(k.sizes()) + ", v " + c10::str(v.sizes()) + ")");
  };
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) fail("q, k, v must be [B, S, H, D]");
  if (k.sizes() != v.sizes()) fail("k and v differ in shape");
  if (q.size(0) != k.size(0) || q.size(2) != k.size(2) || q.size(3) != k.size(3)) {
    fail("q and k differ in batch, heads or head dim");
  }
  if (key_valid.defined() &&
      (key_valid.dim() != 2 || key_valid.size(0) != k.size(0) || key_valid.size(1) != k.size(1))) {
    fail("key mask must be [B, Sk], got " + c10::str(key_valid.sizes()));
  }
}

// Attention kernel on [B, H, S, D] returning (out, lse [B, H, Sq]). On the CPU: libtorch's
// flash attention, which takes an additive mask. On CUDA: the memory-efficient kernel, which
// also takes a bias and returns the LSE (padded to a multiple of 32 rows, hence the narrow).
// The CUDA branch compiles everywhere but has only run where a GPU exists (not in CI).
std::tuple<at::Tensor, at::Tensor> kernel_with_lse(const at::Tensor& q, const at::Tensor& k,
                                                   const at::Tensor& v, const at::Tensor& mask,
                                                   std::optional<double> scale) {
  const std::optional<at::Tensor> bias = mask.defined() ? std::optional<at::Tensor>(mask) : std::nullopt;
  if (q.device() != core::host_device()) {  // attention_kernels.cpp replaces this choice
    std::optional<at::Tensor> full_bias;
    if (bias) full_bias = bias->expand({q.size(0), q.size(1), q.size(2), k.size(2)});
    auto result = at::_scaled_dot_product_efficient_attention(q, k, v, full_bias, /*compute_log_sumexp=*/true,
                                                              /*dropout_p=*/0.0, /*is_causal=*/false, scale);
    return {std::get<0>(result), std::get<1>(result).narrow(2, 0, q.size(2))};
  }
  return at::_scaled_dot_product_flash_attention_for_cpu(q, k, v, /*dropout_p=*/0.0, /*is_causal=*/false,
                                                         bias, scale);
}

}  // namespace

PartialAttention attend_block(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& key_valid, std::optional<double> scale) {
  check_inputs(q, k, v, key_valid);
  const int64_t B = q.size(0), Sq = q.size(1), H = q.size(2), D = q.size(3), Sk = k.size(1);
  auto f32 = q.options().dtype(at::kFloat);
  if (Sq == 0 || Sk == 0) {
    return {at::zeros({B, H, Sq, D}, f32), at::full({B, H, Sq}, kNoKeysLse, f32)};
  }
  at::Tensor mask;
  if (key_valid.defined() && !key_valid.all().item<bool>()) {
    // Additive mask, broadcast over heads and queries: -inf removes padded keys exactly.
    mask = at::zeros({B, 1, 1, Sk}, q.options());
    mask.masked_fill_(key_valid.logical_not().view({B, 1, 1, Sk}),
                      -std::numeric_limits<float>::infinity());
  }
  auto [out, lse] = kernel_with_lse(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), mask, scale);
  out = out.to(at::kFloat);
  lse = lse.to(at::kFloat);
  if (mask.defined()) {
    // A batch row whose keys are all padding attends to nothing: make that explicit (out 0,
    // lse kNoKeysLse) instead of trusting the kernel's NaN or -inf.
    auto no_keys = key_valid.logical_not().all(1).view({B, 1, 1});
    lse = at::where(no_keys, at::full({}, kNoKeysLse, f32), lse);
    out = at::where(no_keys.unsqueeze(-1), at::zeros({}, f32), out);
  }
  return {out, lse};
}

void AttentionAccumulator::add(PartialAttention block) {
  if (!out_.defined()) {
    out_ = std::move(block.out);
    lse_ = std::move(block.lse);
    return;
  }
  // new_lse = log(exp(lse) + exp(block_lse)); each part is weighted by exp(its lse - new_lse).
  auto new_lse = at::logaddexp(lse_, block.lse);
  auto w_old = (lse_ - new_lse).exp_().unsqueeze(-1);
  auto w_new = (block.lse - new_lse).exp_().unsqueeze(-1);
  out_ = out_ * w_old + block.out * w_new;
  lse_ = std::move(new_lse);
}

at::Tensor AttentionAccumulator::result(at::ScalarType dtype) const {
  if (!out_.defined()) throw std::logic_error("AttentionAccumulator: no block was added");
  return out_.transpose(1, 2).to(dtype).contiguous();
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& key_valid, std::optional<double> scale) {
  AttentionAccumulator acc;
  acc.add(attend_block(q, k, v, key_valid, scale));
  return acc.result(q.scalar_type());
}

}  // namespace uspdit::attention
