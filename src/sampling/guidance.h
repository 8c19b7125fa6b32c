// Classifier-free guidance as Wan 2.1 combines its two model outputs (wan/text2video.py).
#pragma once

#include <ATen/core/Tensor.h>

namespace uspdit::sampling {

// uncond + scale·(cond − uncond), in the inputs' dtype with `scale` as an fp32 coefficient, in
// the reference's order of operations (bit-identical to Wan and diffusers' WanPipeline).
// cond and uncond: the same shape and dtype (std::invalid_argument otherwise); a scale that is
// not finite is a UsageError. Wan's default scale is 5.0; scale 1 gives cond up to rounding, but
// Wan still evaluates both branches, so skipping uncond is the caller's choice.
at::Tensor classifier_free_guidance(const at::Tensor& cond, const at::Tensor& uncond, double scale);

}  // namespace uspdit::sampling
