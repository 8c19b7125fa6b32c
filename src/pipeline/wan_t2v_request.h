// What `uspdit generate` is asked to make with Wan 2.1: prompt, size, sampling settings. Pure
// data plus the checks that run before anything heavy is loaded, on every rank alike.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cache/cache_config.h"
#include "sampling/scheduler.h"

namespace uspdit::pipeline {

// Wan's default negative prompt (wan/configs/shared_config.py, sample_neg_prompt).
extern const char* const kWanDefaultNegativePrompt;

struct WanT2vRequest {
  std::string task = "t2v-14B";  // t2v-1.3B | t2v-14B: which sizes the model was trained on
  std::string prompt;
  std::string negative_prompt;  // empty: the reference's default (original: Wan's; diffusers: "")
  int64_t width = 1280;
  int64_t height = 720;
  int64_t frames = 81;  // 4n + 1
  int steps = 50;
  double shift = 5.0;
  double guide_scale = 5.0;  // 1 = no classifier-free guidance (the unconditional pass is skipped)
  int64_t seed = 0;
  sampling::Solver solver = sampling::Solver::unipc;
  int64_t text_len = 0;  // tokens per prompt; 0 = the DiT's text_len (512 for Wan 2.1)
  // Whose sampling to reproduce: Wan's generate.py, or diffusers' WanPipeline with the folder's
  // scheduler (its num_train_timesteps and final sigma too).
  sampling::ScheduleReference reference = sampling::ScheduleReference::original;
  int num_train_timesteps = 1000;
  bool final_sigma_zero = true;
  // Step caching, resolved with cache::wan_cache_config (the task's reference numbers).
  cache::CacheConfig cache;

  // generate.py guides unless the scale is 1; WanPipeline only above 1.
  bool uses_cfg() const;
  const std::string& negative() const;
  // The reference's schedule for solver, steps and shift (throws UsageError like validate).
  sampling::FlowSchedule schedule() const;
  // Latent grid [16, (F-1)/4+1, H/8, W/8] without the channel: {T, h, w}.
  int64_t latent_frames() const { return (frames - 1) / 4 + 1; }
  int64_t latent_height() const { return height / 8; }
  int64_t latent_width() const { return width / 8; }
};

// Wan's `--size W*H` (e.g. 1280*720: width 1280, height 720). Throws UsageError.
void parse_wan_size(const std::string& size, int64_t& width, int64_t& height);

// Throws UsageError (one line, naming the flag and the fix) for a request that cannot run:
// empty prompt, frames not 4n+1, sizes not multiples of 16, steps < 1, shift <= 0, ...
void validate(const WanT2vRequest& request);

// "" when the size is one Wan trained `task` on; otherwise a warning to show the user.
std::string untrained_size_warning(const WanT2vRequest& request);
// The same against a model's own list of (width, height) (its generate_defaults.json).
std::string untrained_size_warning(const WanT2vRequest& request, const std::string& model,
                                   const std::vector<std::pair<int64_t, int64_t>>& trained);

}  // namespace uspdit::pipeline
