// The mid block's block-causal attention: a token of frame f attends to every token of frames
// 0..f (bidirectional within a frame). The reference builds the full mask
// (prepare_causal_attention_mask: [T·hw, T·hw], 0 / −inf) and runs one masked SDPA; this runs one
// unmasked SDPA per frame against the keys of frames 0..f instead. Same result (the masked terms
// are exactly zero there) without the T²·hw² mask, which for a release tile (17·32·32 tokens)
// is 600 MB in fp16, and the unmasked calls can use the flash kernels.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace uspdit::models::hv_vae {

// q, k, v: [B, heads, frames·hw, D], frame-major. Scale 1/sqrt(D). Returns [B, heads, frames·hw, D].
at::Tensor block_causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  int64_t frames);

// The reference's additive mask built by its loop (for tests): [frames·hw, frames·hw], row i is 0
// up to the end of frame(i) and −inf after.
at::Tensor causal_frame_mask(int64_t frames, int64_t hw, at::ScalarType dtype);

}  // namespace uspdit::models::hv_vae
