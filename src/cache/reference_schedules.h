// The calibrated numbers of the reference TeaCache and MagCache implementations, per model (see
// the .cpp for where each set is published). Selection follows the references: Wan by task
// (1.3B / 14B), HunyuanVideo's MagCache by the video height (544 → the 544p set, else 720p).
#pragma once

#include <vector>

namespace uspdit::cache {

const std::vector<double>& teacache_wan_coefficients(bool is_14b, bool use_ret_steps);
const std::vector<double>& teacache_hunyuan_coefficients();
// 100 values: step-major, cond then uncond.
const std::vector<double>& magcache_wan_ratios(bool is_14b);
// 50 values, one per step.
const std::vector<double>& magcache_hunyuan_ratios(bool is_544p);

}  // namespace uspdit::cache
