// 3-D rotary position embedding over (frame, height, width) token grids, as Wan 2.1 and
// HunyuanVideo use it: the head dimension is split into three parts, each rotated by its own
// axis position; frequencies 1/theta^(2i/d_axis); pairs of adjacent channels are rotated
// (interleaved layout, i.e. a complex multiply on (x[2i], x[2i+1])).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <array>

namespace uspdit::nn {

struct RopeTable {
  at::Tensor cos;  // [S, D/2] fp32, one row per token in t-h-w order
  at::Tensor sin;
  // cos + i·sin as complex64 [S, D/2]: the rotation is then one complex multiply per pair,
  // ~15x faster on the CPU than forming both halves and stacking them.
  at::Tensor rotation;

  // Tokens [start, start + length): the rows a sequence-parallel rank needs.
  RopeTable rows(int64_t start, int64_t length) const;
};

// axis_dims: channels per axis (t, h, w), summing to head_dim, each even. Built in float64 on
// `device` (the activations' device), then held in fp32/complex64.
RopeTable make_rope_3d(int64_t frames, int64_t height, int64_t width, std::array<int64_t, 3> axis_dims,
                       double theta, c10::Device device);

// Wan's split of a head dimension d: t = d − 4·(d/6), h = w = 2·(d/6).
std::array<int64_t, 3> wan_rope_split(int64_t head_dim);

// Rotates x [B, S, H, D] (any float dtype) by the table, in fp32; returns x's dtype.
at::Tensor apply_rope_interleaved(const at::Tensor& x, const RopeTable& table);

}  // namespace uspdit::nn
