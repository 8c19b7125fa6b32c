#include "pipeline/wan_sampling_choice.h"

#include <filesystem>
#include <sstream>

#include "sampling/diffusers_scheduler_config.h"

namespace uspdit::pipeline {

std::string WanSamplingChoice::log_line() const {
  std::ostringstream line;
  line << "sampling: reference " << sampling::schedule_reference_name(reference) << " (" << reference_from
       << "), solver " << sampling::solver_name(solver) << " (" << solver_from << "), shift " << shift << " ("
       << shift_from << "), " << steps << " steps (" << steps_from << ")";
  return line.str();
}

void WanSamplingChoice::apply(WanT2vRequest& request) const {
  request.reference = reference;
  request.solver = solver;
  request.shift = shift;
  request.steps = steps;
  request.num_train_timesteps = num_train_timesteps;
  request.final_sigma_zero = final_sigma_zero;
}

WanSamplingChoice choose_wan_sampling(const std::string& ckpt_dir, const std::string& layout,
                                      const WanSamplingFlags& flags, const ModelDefaults& defaults) {
  WanSamplingChoice c;
  if (flags.schedule) {
    c.reference = sampling::parse_schedule_reference(*flags.schedule);
    c.reference_from = "flag";
  } else {
    c.reference = layout == "diffusers" ? sampling::ScheduleReference::diffusers
                                        : sampling::ScheduleReference::original;
    c.reference_from = "folder: " + layout + " layout";
  }
  c.solver_from = c.shift_from = c.steps_from = "default";
  // The folder's scheduler is what diffusers samples a -Diffusers folder with; Wan's generate.py
  // has its own defaults (unipc, shift 5) whatever the folder carries.
  const auto config_path = (std::filesystem::path(ckpt_dir) / "scheduler" / "scheduler_config.json").string();
  if (c.reference == sampling::ScheduleReference::diffusers &&
      std::filesystem::is_regular_file(config_path)) {
    const auto config = sampling::read_diffusers_scheduler_config(config_path);
    c.solver = config.solver;
    c.solver_from = "folder: " + config.class_name;
    c.shift = config.shift;
    c.shift_from =
        std::string("folder: ") + (config.solver == sampling::Solver::euler ? "shift" : "flow_shift");
    c.num_train_timesteps = config.num_train_timesteps;
    c.final_sigma_zero = config.final_sigma_zero;
  }
  // The model's own defaults: what it was trained to sample with.
  if (defaults.solver) {
    c.solver = sampling::parse_solver(*defaults.solver);
    c.solver_from = defaults.source();
  }
  if (defaults.shift) c.shift = *defaults.shift, c.shift_from = defaults.source();
  if (defaults.steps) c.steps = *defaults.steps, c.steps_from = defaults.source();
  if (flags.solver) {
    c.solver = sampling::parse_solver(*flags.solver);
    c.solver_from = "flag";
  }
  if (flags.shift) {
    c.shift = *flags.shift;
    c.shift_from = "flag";
  }
  if (flags.steps) {
    c.steps = *flags.steps;
    c.steps_from = "flag";
  }
  return c;
}

}  // namespace uspdit::pipeline
