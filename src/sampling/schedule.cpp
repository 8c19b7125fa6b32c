#include "sampling/schedule.h"

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "core/error.h"

namespace uspdit::sampling {

Solver parse_solver(std::string_view name) {
  if (name == "unipc") return Solver::unipc;
  if (name == "euler") return Solver::euler;
  if (name == "dpm++" || name == "dpmpp") return Solver::dpmpp;
  std::ostringstream msg;
  msg << "unknown sampling solver '" << name << "': choose unipc (Wan's default), euler or dpm++";
  throw UsageError(msg.str());
}

const char* solver_name(Solver solver) {
  switch (solver) {
    case Solver::unipc:
      return "unipc";
    case Solver::euler:
      return "euler";
    case Solver::dpmpp:
      return "dpm++";
  }
  return "?";
}

ScheduleReference parse_schedule_reference(std::string_view name) {
  if (name == "original") return ScheduleReference::original;
  if (name == "diffusers") return ScheduleReference::diffusers;
  throw UsageError("--schedule " + std::string(name) +
                   ": choose diffusers (as diffusers' pipeline samples a -Diffusers folder) or original "
                   "(as the model's own release script does)");
}

const char* schedule_reference_name(ScheduleReference reference) {
  return reference == ScheduleReference::diffusers ? "diffusers" : "original";
}

namespace {

void check_arguments(int num_steps, double shift, int num_train_timesteps) {
  if (num_steps < 1) {
    std::ostringstream msg;
    msg << "sampling steps must be at least 1, got " << num_steps;
    throw UsageError(msg.str());
  }
  if (!(shift > 0.0) || !std::isfinite(shift)) {
    std::ostringstream msg;
    msg << "sampling shift must be a positive number (Wan uses 5.0; 3.0 for 480p), got " << shift;
    throw UsageError(msg.str());
  }
  if (num_train_timesteps < 2) {
    std::ostringstream msg;
    msg << "num_train_timesteps must be at least 2, got " << num_train_timesteps;
    throw UsageError(msg.str());
  }
}

// numpy.linspace(start, 0, N+1)[:N], which evaluates k·step + start with step = −start/N; the
// same operations in the same order give the same float64 values.
FlowSchedule shifted_schedule(double start, int num_steps, double shift, int num_train_timesteps) {
  FlowSchedule schedule;
  const double step = (0.0 - start) / num_steps;
  for (int k = 0; k < num_steps; ++k) {
    double sigma = static_cast<double>(k) * step;
    sigma += start;
    const double shifted = (shift * sigma) / (1.0 + (shift - 1.0) * sigma);
    schedule.sigmas.push_back(static_cast<double>(static_cast<float>(shifted)));
    schedule.timesteps.push_back(static_cast<double>(static_cast<int64_t>(shifted * num_train_timesteps)));
  }
  schedule.sigmas.push_back(0.0);
  return schedule;
}

}  // namespace

FlowSchedule wan_flow_schedule(int num_steps, double shift, int num_train_timesteps) {
  check_arguments(num_steps, shift, num_train_timesteps);
  // The first training sigma, which Wan's scheduler holds in a float32 tensor.
  const double sigma_max = static_cast<float>(1.0 - 1.0 / num_train_timesteps);
  return shifted_schedule(sigma_max, num_steps, shift, num_train_timesteps);
}

FlowSchedule wan_dpmpp_schedule(int num_steps, double shift, int num_train_timesteps) {
  check_arguments(num_steps, shift, num_train_timesteps);
  return shifted_schedule(1.0, num_steps, shift, num_train_timesteps);
}

FlowSchedule schedule_for(Solver solver, int num_steps, double shift, int num_train_timesteps) {
  return solver == Solver::dpmpp ? wan_dpmpp_schedule(num_steps, shift, num_train_timesteps)
                                 : wan_flow_schedule(num_steps, shift, num_train_timesteps);
}

}  // namespace uspdit::sampling
