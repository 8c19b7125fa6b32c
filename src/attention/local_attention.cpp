#include "attention/local_attention.h"

#include <ATen/ATen.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/log.h"

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

// x [1, Sk, H, D] without the keys that `valid` [Sk] (CPU bool) marks false: slices of the runs
// of valid keys, concatenated. The runs are known on the host, so nothing travels to the device
// (an index tensor would) and every device has the ops (meta has no index_select). A USP block
// has one or two runs; a mask with very many falls back to index_select.
at::Tensor keep_valid_keys(const at::Tensor& x, const at::Tensor& valid) {
  auto flags = valid.contiguous();
  const bool* f = flags.data_ptr<bool>();
  const int64_t n = flags.numel();
  std::vector<at::Tensor> runs;
  for (int64_t start = 0; start < n;) {
    int64_t end = start;
    while (end < n && f[end] == f[start]) ++end;
    if (f[start]) runs.push_back(x.narrow(1, start, end - start));
    start = end;
  }
  constexpr size_t kMaxRuns = 16;
  if (runs.size() > kMaxRuns) {
    return x.index_select(1, flags.nonzero().squeeze(1).to(x.device(), at::kLong, /*non_blocking=*/true));
  }
  return runs.size() == 1 ? runs[0] : at::cat(runs, 1);
}

// x where `rows` (0 or 1, fp32) is 0, `value` where it is 1 (x's NaN included): at::where from
// ops every device has (meta has no where, masked_fill or logical_not). log(rows) is 0 on the
// rows and -inf elsewhere, so lo = value or -inf and hi = value or +inf; fmin/fmax ignore NaN
// and leave x as it is against +-inf.
at::Tensor fill_rows(const at::Tensor& x, const at::Tensor& rows, float value) {
  auto log_rows = rows.log();
  return at::fmax(at::fmin(x, value - log_rows), value + log_rows);
}

// Logs each kernel the first time this process uses it.
void log_first_use(AttentionKernel kernel, const KernelQuery& query) {
  static std::atomic<unsigned> seen{0};
  const unsigned bit = 1u << static_cast<unsigned>(kernel);
  if (seen.fetch_or(bit) & bit) return;
  log::debug(std::string("attention kernel ") + attention_kernel_name(kernel) +
             " (first call: " + c10::toString(query.dtype) + ", D " + std::to_string(query.head_dim) + ")");
}

}  // namespace

PartialAttention attend_block(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& key_valid, std::optional<double> scale) {
  return attend_block_with(std::nullopt, q, k, v, key_valid, scale);
}

PartialAttention attend_block_with(std::optional<AttentionKernel> kernel, const at::Tensor& q,
                                   const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_valid,
                                   std::optional<double> scale) {
  check_inputs(q, k, v, key_valid);
  const int64_t B = q.size(0), Sq = q.size(1), H = q.size(2), D = q.size(3), Sk = k.size(1);
  auto f32 = q.options().dtype(at::kFloat);
  auto no_keys_result = [&] {
    return PartialAttention{at::zeros({B, H, Sq, D}, f32), at::full({B, H, Sq}, kNoKeysLse, f32)};
  };
  if (Sq == 0 || Sk == 0) return no_keys_result();  // never launch a kernel on an empty block
  const auto forced = kernel ? kernel : kernel_override_from_env();
  at::Tensor keys = k, values = v, valid = key_valid;
  if (valid.defined() && in_host_memory(valid)) {
    // Reading a mask in host memory costs no device synchronisation.
    if (valid.all().item<bool>()) {
      valid = at::Tensor();
    } else if (!valid.any().item<bool>()) {
      return no_keys_result();
    } else if (B == 1 && compact_padded_keys(q, forced)) {
      // The padded keys need not be a suffix: a USP block is [video ; text] with the text
      // padding inside.
      keys = keep_valid_keys(k, valid[0]);
      values = keep_valid_keys(v, valid[0]);
      valid = at::Tensor();
    }
    // non_blocking: from pageable memory the copy is staged at once and the host never waits
    // for the stream (a blocking .to() would synchronise it).
    if (valid.defined()) valid = valid.to(q.device(), at::kBool, /*non_blocking=*/true);
  }
  auto qt = q.transpose(1, 2), kt = keys.transpose(1, 2), vt = values.transpose(1, 2);
  const auto query = query_from(qt, kt, valid);
  const auto chosen = resolve_attention_kernel(query, forced);
  log_first_use(chosen, query);
  auto [out, lse] = run_kernel(chosen, qt, kt, vt, valid, scale);
  if (valid.defined()) {
    // A batch row whose keys are all padding attends to nothing: make that explicit (out 0,
    // lse kNoKeysLse) instead of trusting the kernel's NaN or -inf. Computed on the device.
    auto no_keys = 1.0f - valid.any(1).to(at::kFloat).view({B, 1, 1});
    lse = fill_rows(lse, no_keys, kNoKeysLse);
    out = fill_rows(out, no_keys.unsqueeze(-1), 0.0f);
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
