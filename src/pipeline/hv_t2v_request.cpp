#include "pipeline/hv_t2v_request.h"

#include <cmath>
#include <utility>

#include "core/dtype.h"
#include "core/error.h"

namespace uspdit::pipeline {

int64_t align_to(int64_t value, int64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

namespace {

int64_t aligned(int64_t value, const std::string& what, const std::string& flag,
                std::vector<std::string>& notes) {
  if (value <= 0) return value;  // validate() names it
  // Rounding up must not overflow; anything this large is refused by the memory estimate anyway.
  require(value <= (int64_t{1} << 30), flag + ": " + what + " " + std::to_string(value) +
                                           " is beyond any video (at most 2^30 pixels a side)");
  const int64_t rounded = align_to(value, 16);
  if (rounded != value) {
    notes.push_back(flag + ": " + what + " " + std::to_string(value) + " rounded up to " +
                    std::to_string(rounded) +
                    " (a multiple of 16: VAE 8x, then 2x2 patches), as sample_video.py's align_to does");
  }
  return rounded;
}

}  // namespace

void read_hv_t2v_flags(core::Args& args, HvT2vRequest& r, HvT2vLoadSettings& load,
                       std::vector<std::string>& notes) {
  r.prompt = args.get_string("prompt", "");
  r.negative_prompt = args.get_any({"neg-prompt", "negative-prompt"});
  // sample_video.py's --video-size H W (nargs='+'; a single value breaks the reference, so it is
  // refused here), or xDiT's --height/--width.
  int64_t height = args.get_int("height", r.height), width = args.get_int("width", r.width);
  if (const auto size = args.get_ints("video-size", 2, "HEIGHT WIDTH (e.g. 720 1280)")) {
    height = (*size)[0];
    width = (*size)[1];
  }
  const std::string size_flag = "--video-size " + std::to_string(height) + " " + std::to_string(width);
  r.height = aligned(height, "height", size_flag, notes);
  r.width = aligned(width, "width", size_flag, notes);
  r.frames = args.get_int_any({"video-length", "num-frames"}, r.frames);
  r.steps_given = args.has("infer-steps") || args.has("num-inference-steps");
  r.steps = static_cast<int>(args.get_int_any({"infer-steps", "num-inference-steps"}, r.steps));
  r.seed = args.get_int("seed", r.seed);
  r.embedded_cfg_scale = args.get_double_any({"embedded-cfg-scale", "guidance-scale"}, r.embedded_cfg_scale);
  r.cfg_scale = args.get_double("cfg-scale", r.cfg_scale);
  r.shift_given = args.has("flow-shift");
  r.schedule.shift = args.get_double("flow-shift", r.schedule.shift);
  // On unless --flow-reverse false: sample_video.py's store_true default is off, but every official
  // script and the README pass it and the model is trained for it (off, the sigmas run 0 -> 1 and
  // the video is noise), so a forgotten flag must not cost a whole run.
  if (args.has("flow-reverse")) r.schedule.reverse = args.flag("flow-reverse");
  r.schedule_given = args.has("schedule");
  r.schedule.kind = sampling::parse_hv_schedule(args.get_string("schedule", "original"));
  if (!r.schedule.reverse) {
    notes.push_back(
        "--flow-reverse false (sample_video.py's literal default): the sigmas run 0 -> 1, which the "
        "model is not trained for, and the video is noise; every official script passes --flow-reverse");
  }
  load.model_base = args.get_string("model-base", load.model_base);
  load.dit_weight = args.get_string("dit-weight", "");
  load.use_fp8 = args.flag("use-fp8");
  load.precision = args.get_string("precision", load.precision);
  load.vae_precision = args.get_string("vae-precision", load.vae_precision);
  load.text_encoder_precision = args.get_string("text-encoder-precision", load.text_encoder_precision);
  load.vae_tiling_given = args.has("vae-tiling");
  if (load.vae_tiling_given) load.vae_tiling = args.flag("vae-tiling");
  load.use_cpu_offload = args.flag("use-cpu-offload");
  load.save_path = args.get_string("save-path", load.save_path);
  load.save_file = args.get_string("save-file", "");
}

std::string hv_video_file_name(const std::string& stamp, int64_t seed, const std::string& prompt) {
  const char* space = " \t\n\r\v\f\x1c\x1d\x1e\x1f";  // str.strip()'s ASCII whitespace
  const auto first = prompt.find_first_not_of(space);
  const std::string stripped =
      first == std::string::npos ? "" : prompt.substr(first, prompt.find_last_not_of(space) - first + 1);
  size_t end = 0;
  for (int chars = 0; end < stripped.size() && chars < 100; ++chars) {
    ++end;
    while (end < stripped.size() && (static_cast<unsigned char>(stripped[end]) & 0xC0) == 0x80) ++end;
  }
  std::string name = stripped.substr(0, end);
  std::erase(name, '/');
  return stamp + "_seed" + std::to_string(seed) + "_" + name + ".mp4";
}

void validate(const HvT2vRequest& r) {
  require(!r.prompt.empty(), "--prompt is empty: say what the video should show");
  require(r.frames >= 1 && (r.frames - 1) % 4 == 0,
          "--video-length " + std::to_string(r.frames) + ": must be 4n+1 (e.g. " +
              std::to_string(r.frames > 1 ? (r.frames - 1) / 4 * 4 + 1 : 1) + " or " +
              std::to_string(((r.frames + 2) / 4) * 4 + 1) +
              "; 129 is the reference's), the VAE compresses time 4x after the first frame");
  require(r.height >= 16 && r.width >= 16,
          "--video-size " + std::to_string(r.height) + " " + std::to_string(r.width) +
              ": height and width must be at least 16 (e.g. --video-size 720 1280, or 544 960)");
  require(r.steps >= 1, "--infer-steps must be >= 1 (the reference: 50)");
  require(r.schedule.shift > 0 && std::isfinite(r.schedule.shift),
          "--flow-shift must be > 0 (the reference: 7.0)");
  require(r.embedded_cfg_scale >= 0 && std::isfinite(r.embedded_cfg_scale),
          "--embedded-cfg-scale must be >= 0 (the reference: 6.0)");
  require(r.cfg_scale >= 1 && std::isfinite(r.cfg_scale),
          "--cfg-scale must be >= 1 (1 = no classifier-free guidance, the reference's default; > 1 adds a "
          "--neg-prompt branch)");
  require(r.seed >= 0, "--seed must be >= 0");
  // HunyuanVideoPipeline runs true CFG only with a negative prompt (`true_cfg_scale > 1 and
  // has_neg_prompt`) and silently drops the scale otherwise: refused rather than ignored.
  require(r.schedule.kind != sampling::HvScheduleKind::diffusers || r.cfg_scale <= 1 || r.negative_prompt,
          "--cfg-scale > 1 under the diffusers reference needs --neg-prompt (HunyuanVideoPipeline runs true "
          "CFG only with a negative prompt; --neg-prompt \"\" for an empty one), or --schedule original for "
          "the release's default negative prompt");
  (void)sampling::hv_flow_schedule(r.steps,
                                   r.schedule);  // the schedule's own refusals (diffusers without reverse)
}

void validate(const HvT2vLoadSettings& load) {
  const std::pair<const char*, const std::string*> precisions[] = {
      {"--precision", &load.precision},
      {"--vae-precision", &load.vae_precision},
      {"--text-encoder-precision", &load.text_encoder_precision}};
  for (const auto& [flag, value] : precisions) {
    try {
      (void)parse_dtype(*value);
    } catch (const UsageError&) {
      throw UsageError(std::string(flag) + " " + *value + ": use fp32, fp16 or bf16");
    }
  }
  require(!load.use_fp8 || load.dit_weight.empty() || load.dit_weight.find("fp8") != std::string::npos,
          "--use-fp8 needs the fp8 weights: --dit-weight should name mp_rank_00_model_states_fp8.pt (its "
          "_fp8_map.pt beside it), or leave --dit-weight out");
}

}  // namespace uspdit::pipeline
