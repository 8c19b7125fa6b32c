#include "pipeline/wan_t2v_request.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "sampling/diffusers_schedule.h"

namespace uspdit::pipeline {

const char* const kWanDefaultNegativePrompt =
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG"
    "压缩残留，"
    "丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，"
    "静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走";

bool WanT2vRequest::uses_cfg() const {
  return reference == sampling::ScheduleReference::diffusers ? guide_scale > 1.0 : guide_scale != 1.0;
}

const std::string& WanT2vRequest::negative() const {
  // WanPipeline.encode_prompt: `negative_prompt or ""`; generate.py: sample_neg_prompt.
  static const std::string wan_default = kWanDefaultNegativePrompt, diffusers_default;
  if (!negative_prompt.empty()) return negative_prompt;
  return reference == sampling::ScheduleReference::diffusers ? diffusers_default : wan_default;
}

sampling::FlowSchedule WanT2vRequest::schedule() const {
  if (reference == sampling::ScheduleReference::diffusers) {
    return sampling::diffusers_schedule(solver, steps, shift, num_train_timesteps, final_sigma_zero);
  }
  return sampling::schedule_for(solver, steps, shift, num_train_timesteps);
}

void parse_wan_size(const std::string& size, int64_t& width, int64_t& height) {
  const auto star = size.find_first_of("*x");
  const auto fail = [&] {
    throw UsageError("--size " + size + ": expected WIDTH*HEIGHT as Wan writes it, e.g. 832*480 or 1280*720");
  };
  if (star == std::string::npos) fail();
  try {
    size_t used_w = 0, used_h = 0;
    const std::string w = size.substr(0, star), h = size.substr(star + 1);
    width = std::stoll(w, &used_w);
    height = std::stoll(h, &used_h);
    if (used_w != w.size() || used_h != h.size()) fail();
  } catch (const std::logic_error&) {
    fail();
  }
}

void validate(const WanT2vRequest& r) {
  require(r.task == "t2v-1.3B" || r.task == "t2v-14B",
          "--task " + r.task + ": this build generates t2v-1.3B or t2v-14B (text to video)");
  require(!r.prompt.empty(), "--prompt is empty: say what the video should show");
  require(r.frames >= 1 && (r.frames - 1) % 4 == 0,
          "--frame_num/--num_frames " + std::to_string(r.frames) +
              ": must be 4n+1 (1, 5, ..., 81), the VAE compresses time 4x after the first frame");
  require(r.width >= 16 && r.height >= 16 && r.width % 16 == 0 && r.height % 16 == 0,
          "size " + std::to_string(r.width) + "x" + std::to_string(r.height) +
              ": width and height must be positive multiples of 16 (VAE 8x, then 2x2 patches), e.g. 832*480");
  require(r.steps >= 1, "--sample_steps/--num_inference_steps must be >= 1");
  require(r.shift > 0 && std::isfinite(r.shift),
          "--sample_shift must be > 0 and finite (Wan: 5.0; 8-12 suggested for 1.3B)");
  require(r.guide_scale >= 0 && std::isfinite(r.guide_scale),
          "--sample_guide_scale/--guidance_scale must be >= 0 and finite (Wan: 5.0)");
  require(r.seed >= 0, "--base_seed/--seed must be >= 0");
  require(r.text_len >= 0, "--text-len must be >= 0 (0: the model's own, 512)");
}

std::string untrained_size_warning(const WanT2vRequest& r) {
  const bool small = (r.width == 832 && r.height == 480) || (r.width == 480 && r.height == 832);
  const bool large = (r.width == 1280 && r.height == 720) || (r.width == 720 && r.height == 1280);
  if (small || (large && r.task == "t2v-14B")) return "";
  return "size " + std::to_string(r.width) + "*" + std::to_string(r.height) + " is not one " + r.task +
         " was trained on (" +
         (r.task == "t2v-14B" ? "1280*720, 720*1280, 832*480, 480*832" : "832*480, 480*832") +
         "); expect lower quality";
}

std::string untrained_size_warning(const WanT2vRequest& r, const std::string& model,
                                   const std::vector<std::pair<int64_t, int64_t>>& trained) {
  std::string list;
  for (const auto& [w, h] : trained) {
    if (w == r.width && h == r.height) return "";
    list += (list.empty() ? "" : ", ") + std::to_string(w) + "*" + std::to_string(h);
  }
  return "size " + std::to_string(r.width) + "*" + std::to_string(r.height) + " is not one " + model +
         " was trained on (" + list + "); expect lower quality";
}

}  // namespace uspdit::pipeline
