// Which training-free step cache a run uses and its knobs, resolved to numbers: what the DiT
// loop's StepCache (step_cache.h) needs, independent of the model family.
//
// The three methods skip a DiT forward's block stack on some steps and add a residual stored on
// the last computed step instead:
//   teacache  TeaCache: accumulates a polynomially rescaled relative L1 change of an indicator
//             (Wan: the timestep embedding; HunyuanVideo: the modulated input of the first block)
//             and computes when the sum reaches the threshold.
//   magcache  MagCache: a precomputed per-step magnitude-ratio schedule; no data is read.
//   fbcache   First-Block Cache (diffusers): block 0 always runs; its residual's relative L1
//             change against the last computed step decides whether the other blocks run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace uspdit::cache {

enum class CacheMethod { none, teacache, magcache, fbcache };

std::string_view cache_method_name(CacheMethod method);
// "none" | "teacache" | "magcache" | "fbcache"; UsageError naming the flag otherwise.
CacheMethod parse_cache_method(const std::string& text);

// What a TeaCache indicator is read from (the reference's choice per family and flag).
enum class TeaIndicator {
  timestep_embedding,   // Wan, --use_ret_steps off: e = time_embedding(sinusoid(t)), [B, dim]
  timestep_projection,  // Wan, --use_ret_steps on: e0 = time_projection(e), [B, 6, dim]
  first_block_input,    // HunyuanVideo: the modulated image tokens entering double block 0 (sharded)
};

struct CacheConfig {
  CacheMethod method = CacheMethod::none;
  // teacache: the accumulated rescaled distance that forces a compute; magcache: the accumulated
  // error bound; fbcache: the first-block residual distance above which the blocks run.
  double threshold = 0.0;

  // ---- teacache
  TeaIndicator indicator = TeaIndicator::timestep_embedding;
  std::vector<double> coefficients;  // rescaling polynomial, highest power first (np.poly1d)
  int first_steps = 1;               // always computed at the start
  int last_steps = 1;                // always computed at the end

  // ---- magcache
  int max_skips = 0;             // K: consecutive skips at most
  double retention_ratio = 0.2;  // no skipping for the first int(calls · ratio) calls
  // One ratio per call of the reference's loop: interleaved cond/uncond (calls_per_step 2, Wan) or
  // one per step (calls_per_step 1, HunyuanVideo); already interpolated to the run's steps.
  std::vector<double> mag_ratios;
  int calls_per_step = 1;
  bool inclusive_threshold = false;  // HunyuanVideo's reference skips at err <= thresh, Wan's at <

  bool enabled() const { return method != CacheMethod::none; }
  std::string describe() const;  // one line for the start-up log
};

// The reference's nearest interpolation of a per-step schedule to `length` steps
// (MagCache's nearest_interp: index round(i · (n−1)/(length−1)), half to even as numpy rounds).
std::vector<double> nearest_interp(const std::vector<double>& values, int length);

}  // namespace uspdit::cache
