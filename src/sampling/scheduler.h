// Flow-matching samplers: Wan 2.1's UniPC (its default), DPM-Solver++ 2M, and Euler.
//
// The model predicts the flow v = noise − x0; x_σ = (1 − σ)·x0 + σ·noise. Each step turns the
// model output at schedule().sigmas[i] into the sample at sigmas[i+1]. The arithmetic follows
// the reference (Wan's fm_solvers*.py = diffusers' schedulers) operation by operation, in fp32
// with fp32 coefficients, so trajectories agree with it to the last bits.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "sampling/schedule.h"

namespace uspdit::sampling {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual const FlowSchedule& schedule() const = 0;
  // model_output: the model's flow prediction v for `sample` at step i (i = 0..N-1, called in
  // order, once each); returns the next sample. Tensors fp32, any shape (e.g. [B,16,T,h,w]), the
  // same shape at every step. Multistep solvers keep earlier x0 predictions (a few samples' worth
  // of memory). Throws std::invalid_argument when called out of order or with mismatched tensors.
  virtual at::Tensor step(const at::Tensor& model_output, int step_index, const at::Tensor& sample) = 0;
};

// A fresh scheduler on Wan's schedule for `solver` (schedule_for): unipc = UniPC bh2, order 2,
// predict x0, lower order final; dpmpp = DPM-Solver++ 2M midpoint, lower order final; euler =
// x + (σ_{i+1} − σ_i)·v. Throws UsageError for steps < 1 or shift ≤ 0.
std::unique_ptr<Scheduler> make_scheduler(Solver solver, int num_steps, double shift);

// The same solvers on a given schedule (e.g. diffusers_schedule()): N + 1 sigmas ending the
// trajectory, N timesteps. Throws UsageError for an empty or mismatched schedule.
std::unique_ptr<Scheduler> make_scheduler(Solver solver, FlowSchedule schedule);

}  // namespace uspdit::sampling
