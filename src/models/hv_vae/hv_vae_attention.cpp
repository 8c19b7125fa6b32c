#include "models/hv_vae/hv_vae_attention.h"

#include <ATen/ATen.h>

#include <limits>
#include <vector>

#include "core/error.h"

namespace uspdit::models::hv_vae {

at::Tensor block_causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  int64_t frames) {
  require(q.dim() == 4 && frames >= 1 && q.size(2) % frames == 0,
          "block_causal_attention: q must be [B, heads, frames·hw, D] with frames dividing the sequence");
  const int64_t hw = q.size(2) / frames;
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(frames));
  for (int64_t f = 0; f < frames; ++f) {
    const int64_t visible = (f + 1) * hw;
    out.push_back(at::scaled_dot_product_attention(q.narrow(2, f * hw, hw), k.narrow(2, 0, visible),
                                                   v.narrow(2, 0, visible)));
  }
  return frames == 1 ? out.front() : at::cat(out, 2);
}

at::Tensor causal_frame_mask(int64_t frames, int64_t hw, at::ScalarType dtype) {
  const int64_t n = frames * hw;
  auto mask = at::full({n, n}, -std::numeric_limits<double>::infinity(), at::TensorOptions().dtype(dtype));
  for (int64_t i = 0; i < n; ++i) mask[i].narrow(0, 0, (i / hw + 1) * hw).fill_(0);
  return mask;
}

}  // namespace uspdit::models::hv_vae
