// What `uspdit generate` is asked to make with HunyuanVideo, under the names of the reference's
// sample_video.py (hyvideo/config.py) with its defaults, plus the checks that run on every rank
// before anything loads. One deliberate difference: --flow-reverse is on unless
// `--flow-reverse false` (the reference's command line defaults it off, every official script
// passes it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache/cache_config.h"
#include "core/args.h"
#include "sampling/hv_flow_schedule.h"

namespace uspdit::pipeline {

struct HvT2vRequest {
  std::string prompt;                          // --prompt
  std::optional<std::string> negative_prompt;  // --neg-prompt (read only with --cfg-scale > 1)
  int64_t height = 720;                        // --video-size H W, rounded up to multiples of 16 (align_to)
  int64_t width = 1280;
  int64_t frames = 129;             // --video-length, 4n+1
  int steps = 50;                   // --infer-steps
  int64_t seed = 0;                 // --seed (the reference draws a random one when absent; we use 0)
  double embedded_cfg_scale = 6.0;  // --embedded-cfg-scale: the guidance-distilled DiT's input
  double cfg_scale = 1.0;           // --cfg-scale: true CFG when > 1 (a second, negative branch)
  // --flow-shift, --flow-reverse (on by default: see read_hv_t2v_flags), --schedule
  sampling::HvScheduleOptions schedule{sampling::HvScheduleKind::original, 7.0, true, 1000};
  // Which of these the command line gave: where it did not, the checkpoint's layout decides
  // (apply_hv_reference, hv_reference.h).
  bool schedule_given = false, shift_given = false, steps_given = false;
  // Step caching, resolved with cache::hunyuan_cache_config (the reference's numbers).
  cache::CacheConfig cache;

  bool uses_cfg() const { return cfg_scale > 1.0; }
  // Latent grid [16, (F-1)/4+1, H/8, W/8] without the channel: {T, h, w}.
  int64_t latent_frames() const { return (frames - 1) / 4 + 1; }
  int64_t latent_height() const { return height / 8; }
  int64_t latent_width() const { return width / 8; }
};

// How the run loads HunyuanVideo (sample_video.py's names and defaults).
struct HvT2vLoadSettings {
  std::string model_base = "ckpts";             // --model-base: the release's ckpts/ (or a diffusers folder)
  std::string dit_weight;                       // --dit-weight; empty: found under model_base
  bool use_fp8 = false;                         // --use-fp8: mp_rank_00_model_states_fp8.pt (+ _fp8_map.pt)
  std::string precision = "bf16";               // --precision: the DiT
  std::string vae_precision = "fp16";           // --vae-precision
  std::string text_encoder_precision = "fp16";  // --text-encoder-precision (both encoders)
  // --vae-tiling: the release always tiles; --vae-tiling false for the exact decode. Under the
  // diffusers reference: spatial tiles only when given (pipe.vae.enable_tiling()).
  bool vae_tiling = true;
  bool vae_tiling_given = false;
  bool use_cpu_offload = false;  // --use-cpu-offload
  std::string save_path =
      "./results";        // --save-path: a directory (the file is named as the reference names it)
  std::string save_file;  // --save-file: an exact .mp4 path instead
};

// The reference's align_to: `value` rounded up to a multiple of `alignment`.
int64_t align_to(int64_t value, int64_t alignment);

// Reads the HunyuanVideo generate flags. Sizes that are not multiples of 16 are rounded up as
// the reference does; each rounding is added to `notes` ("--video-size 720 1270: width rounded up
// to 1280 ..."). Throws UsageError for a malformed flag (e.g. a single --video-size value).
void read_hv_t2v_flags(core::Args& args, HvT2vRequest& request, HvT2vLoadSettings& load,
                       std::vector<std::string>& notes);

// sample_video.py's file name: {stamp}_seed{seed}_{prompt.strip()[:100] without '/'}.mp4, the
// 100 counted in characters (UTF-8 code points), as Python slices a str.
std::string hv_video_file_name(const std::string& stamp, int64_t seed, const std::string& prompt);

// Throws UsageError (one line, naming the flag and the fix) for a request that cannot run:
// empty prompt, --video-length not 4n+1, steps < 1, shift <= 0, scales out of range, ...
void validate(const HvT2vRequest& request);
void validate(const HvT2vLoadSettings& load);

}  // namespace uspdit::pipeline
