#include "pipeline/hv_reference.h"

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "sampling/diffusers_scheduler_config.h"

namespace uspdit::pipeline {

std::vector<std::string> apply_hv_reference(HvT2vRequest& r, HvT2vLoadSettings& load,
                                            const std::string& layout) {
  using sampling::HvScheduleKind;
  std::string reference_from = "flag", shift_from = r.shift_given ? "flag" : "default";
  if (!r.schedule_given) {
    r.schedule.kind = layout == "diffusers" ? HvScheduleKind::diffusers : HvScheduleKind::original;
    reference_from = "folder: " + layout + " layout";
  }
  const bool diffusers = r.schedule.kind == HvScheduleKind::diffusers;
  // HunyuanVideoPipeline samples with the folder's scheduler; the release's sample_video.py with
  // its --flow-shift default whatever a folder carries.
  const auto config_path =
      (std::filesystem::path(load.model_base) / "scheduler" / "scheduler_config.json").string();
  if (diffusers && std::filesystem::is_regular_file(config_path)) {
    const auto config = sampling::read_diffusers_scheduler_config(config_path);
    require(config.solver == sampling::Solver::euler,
            config_path + ": " + config.class_name +
                " is not HunyuanVideoPipeline's scheduler; uspdit reproduces FlowMatchEulerDiscreteScheduler "
                "(fix _class_name, or sample as the release does: --schedule original)");
    if (!r.shift_given) {
      r.schedule.shift = config.shift;
      shift_from = "folder: shift";
    }
    r.schedule.num_train_timesteps = config.num_train_timesteps;
  }
  std::string tiles_from = load.vae_tiling_given ? "flag" : "default";
  if (diffusers && !load.vae_tiling_given) {
    load.vae_tiling = false;  // the stock pipeline never calls enable_tiling()
    tiles_from = "diffusers' default";
  }
  std::ostringstream sampling_line;
  sampling_line << "sampling: reference " << sampling::hv_schedule_name(r.schedule.kind) << " ("
                << reference_from << "), solver euler, shift " << r.schedule.shift << " (" << shift_from
                << "), " << r.steps << " steps (" << (r.steps_given ? "flag" : "default") << ")";
  std::string vae_line = "vae: ";
  if (diffusers) {
    vae_line += std::string("16-frame tiles (AutoencoderKLHunyuanVideo's framewise decode), ") +
                (load.vae_tiling ? "256 px spatial tiles" : "no spatial tiles") + " (" + tiles_from +
                "), no autocast; frames rounded to uint8 (diffusers' PIL output)";
  } else {
    vae_line += load.vae_tiling
                    ? "the release's tiles (sample_size / sample_tsize of the VAE config), autocast"
                    : "one decoder call (--vae-tiling false), autocast";
    vae_line += " (" + tiles_from + "); frames truncated to uint8 (sample_video.py)";
  }
  return {sampling_line.str(), vae_line};
}

}  // namespace uspdit::pipeline
