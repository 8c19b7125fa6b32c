#include "nn/rope3d.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace uspdit::nn {

RopeTable RopeTable::rows(int64_t start, int64_t length) const {
  return {cos.narrow(0, start, length), sin.narrow(0, start, length), rotation.narrow(0, start, length)};
}

std::array<int64_t, 3> wan_rope_split(int64_t head_dim) {
  const int64_t sixth = head_dim / 6;
  return {head_dim - 4 * sixth, 2 * sixth, 2 * sixth};
}

RopeTable make_rope_3d(int64_t frames, int64_t height, int64_t width, std::array<int64_t, 3> axis_dims,
                       double theta, c10::Device device) {
  const std::array<int64_t, 3> extent = {frames, height, width};
  auto f64 = at::TensorOptions().dtype(at::kDouble).device(device);
  std::vector<at::Tensor> angles;  // per axis: [F, H, W, d_axis/2]
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t d = axis_dims[axis];
    if (d % 2 != 0) throw std::invalid_argument("rope: every axis needs an even channel count");
    auto inv_freq = 1.0 / at::pow(theta, at::arange(0, d, 2, f64) / static_cast<double>(d));
    auto pos = at::arange(extent[axis], f64);
    auto a = at::outer(pos, inv_freq);  // [n_axis, d/2]
    std::vector<int64_t> view = {1, 1, 1, d / 2};
    view[axis] = extent[axis];
    angles.push_back(a.view(view).expand({frames, height, width, d / 2}));
  }
  auto all = at::cat(angles, -1).reshape({frames * height * width, -1});
  auto cos = at::cos(all).to(at::kFloat), sin = at::sin(all).to(at::kFloat);
  return {cos, sin, at::complex(cos, sin)};
}

at::Tensor apply_rope_interleaved(const at::Tensor& x, const RopeTable& table) {
  const auto B = x.size(0), S = x.size(1), H = x.size(2), D = x.size(3);
  if (table.cos.size(0) != S || table.cos.size(1) * 2 != D) {
    throw std::invalid_argument("rope: table [" + std::to_string(table.cos.size(0)) + ", " +
                                std::to_string(table.cos.size(1)) + "] does not fit tokens " +
                                std::to_string(S) + " × head_dim " + std::to_string(D));
  }
  // (re + i·im)·(cos + i·sin): the same products and sums as the reference's complex multiply.
  auto pairs = at::view_as_complex(x.to(at::kFloat).contiguous().view({B, S, H, D / 2, 2}));
  auto out = at::view_as_real(pairs * table.rotation.view({1, S, 1, D / 2}));
  return out.view({B, S, H, D}).to(x.scalar_type());
}

}  // namespace uspdit::nn
