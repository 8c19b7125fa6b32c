// Transcribed from diffusers 0.42.1's set_timesteps (scheduling_unipc_multistep.py,
// scheduling_dpmsolver_multistep.py, scheduling_flow_match_euler_discrete.py), operation by
// operation: float64 where numpy computes, float32 ATen ops where torch does, so every sigma and
// timestep is bit-identical (tests/data/wan_t2v records them).
#include "sampling/diffusers_schedule.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace uspdit::sampling {
namespace {

// numpy.linspace(start, stop, num)[k]: k·step + start with step = (stop − start)/(num − 1); the
// endpoint is stop itself.
double linspace_at(double start, double stop, int num, int k) {
  if (num == 1) return start;
  if (k == num - 1) return stop;
  const double step = (stop - start) / (num - 1);
  return static_cast<double>(k) * step + start;
}

double shifted(double shift, double sigma) {
  return shift * sigma / (1.0 + (shift - 1.0) * sigma);
}

double f32(double x) {
  return static_cast<double>(static_cast<float>(x));
}

FlowSchedule unipc_schedule(int n, double shift, int train, bool final_zero) {
  FlowSchedule s;
  std::vector<double> sigmas;
  for (int k = 0; k < n; ++k) sigmas.push_back(shifted(shift, linspace_at(1.0, 1.0 / train, n + 1, k)));
  if (std::fabs(sigmas[0] - 1.0) < 1e-6) sigmas[0] -= 1e-6;
  for (double sigma : sigmas) {
    s.timesteps.push_back(static_cast<double>(static_cast<int64_t>(sigma * train)));
    s.sigmas.push_back(f32(sigma));
  }
  s.sigmas.push_back(final_zero ? 0.0 : f32(sigmas.back()));
  return s;
}

FlowSchedule dpmpp_schedule(int n, double shift, int train) {
  FlowSchedule s;
  // flip(...)[:-1] keeps k = N .. 1 of the unflipped array.
  for (int k = n; k >= 1; --k) {
    const double sigma = shifted(shift, 1.0 - linspace_at(1.0, 1.0 / train, n + 1, k));
    s.timesteps.push_back(static_cast<double>(static_cast<int64_t>(sigma * train)));
    s.sigmas.push_back(f32(sigma));
  }
  s.sigmas.push_back(0.0);
  return s;
}

// FlowMatchEulerDiscreteScheduler.__init__'s shifted training sigma for timestep `t`, as torch
// computes it on float32 tensors.
double euler_training_sigma(double shift, int t, int train) {
  const at::Tensor sigma = at::scalar_tensor(static_cast<float>(t), at::kFloat) / train;
  return (shift * sigma / (1 + (shift - 1) * sigma)).item<float>();
}

FlowSchedule euler_schedule(int n, double shift, int train) {
  const double sigma_max = euler_training_sigma(shift, train, train);
  const double sigma_min = euler_training_sigma(shift, 1, train);
  FlowSchedule s;
  for (int k = 0; k < n; ++k) {
    const double t = linspace_at(sigma_max * train, sigma_min * train, n, k);
    const float sigma = static_cast<float>(shifted(shift, t / train));
    s.sigmas.push_back(sigma);
    s.timesteps.push_back(static_cast<double>(sigma * static_cast<float>(train)));
  }
  s.sigmas.push_back(0.0);
  return s;
}

}  // namespace

FlowSchedule diffusers_schedule(Solver solver, int num_steps, double shift, int num_train_timesteps,
                                bool final_sigma_zero) {
  // The same argument checks (and messages) as Wan's schedules.
  (void)wan_flow_schedule(1, shift, num_train_timesteps);
  require(num_steps >= 1, "sampling steps must be at least 1, got " + std::to_string(num_steps));
  require(final_sigma_zero || solver == Solver::unipc,
          "final_sigmas_type \"sigma_min\" is supported for UniPCMultistepScheduler only");
  switch (solver) {
    case Solver::unipc:
      return unipc_schedule(num_steps, shift, num_train_timesteps, final_sigma_zero);
    case Solver::dpmpp:
      return dpmpp_schedule(num_steps, shift, num_train_timesteps);
    case Solver::euler:
      return euler_schedule(num_steps, shift, num_train_timesteps);
  }
  return {};
}

}  // namespace uspdit::sampling
