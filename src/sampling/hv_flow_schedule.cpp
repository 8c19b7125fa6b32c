#include "sampling/hv_flow_schedule.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"

namespace uspdit::sampling {

HvScheduleKind parse_hv_schedule(std::string_view name) {
  if (name == "original") return HvScheduleKind::original;
  if (name == "diffusers") return HvScheduleKind::diffusers;
  throw UsageError("--schedule " + std::string(name) +
                   ": choose original (HunyuanVideo's FlowMatchDiscreteScheduler) or diffusers "
                   "(FlowMatchEulerDiscreteScheduler as HunyuanVideoPipeline drives it)");
}

const char* hv_schedule_name(HvScheduleKind kind) {
  return kind == HvScheduleKind::original ? "original" : "diffusers";
}

namespace {

// The shift as the reference writes it on fp32 values: shift·s / (1 + (shift − 1)·s), each
// operation rounded to fp32 (torch tensor ops and float32 numpy alike).
at::Tensor sd3_time_shift(const at::Tensor& s, double shift) {
  return (s * shift) / ((s * (shift - 1.0)) + 1.0);
}

std::vector<double> values_of(const at::Tensor& t) {
  const auto f = t.contiguous();
  const float* p = f.data_ptr<float>();
  return std::vector<double>(p, p + f.numel());
}

// numpy.linspace(1, 0, N+1)[:-1]: k·step + start in float64 (step = −1/N), then cast to fp32.
at::Tensor numpy_linspace_head(int num_steps) {
  auto out = at::empty({num_steps}, at::kFloat);
  float* p = out.data_ptr<float>();
  const double step = (0.0 - 1.0) / num_steps;
  for (int k = 0; k < num_steps; ++k) {
    double s = static_cast<double>(k) * step;
    s += 1.0;
    p[k] = static_cast<float>(s);
  }
  return out;
}

}  // namespace

FlowSchedule hv_flow_schedule(int num_steps, const HvScheduleOptions& o) {
  if (num_steps < 1) throw UsageError("--infer-steps must be at least 1, got " + std::to_string(num_steps));
  if (!(o.shift > 0.0) || !std::isfinite(o.shift)) {
    std::ostringstream msg;
    msg << "--flow-shift must be a positive number (HunyuanVideo: 7.0), got " << o.shift;
    throw UsageError(msg.str());
  }
  if (o.kind == HvScheduleKind::diffusers && !o.reverse) {
    throw UsageError(
        "--schedule diffusers has no flow_reverse=False (its sigmas always run 1 -> 0): "
        "pass --flow-reverse, or use --schedule original");
  }
  const double train = o.num_train_timesteps;
  FlowSchedule schedule;
  if (o.kind == HvScheduleKind::original) {
    auto sigmas = sd3_time_shift(at::linspace(1, 0, num_steps + 1, at::kFloat), o.shift);
    if (!o.reverse) sigmas = 1 - sigmas;
    schedule.sigmas = values_of(sigmas);
    schedule.timesteps = values_of(sigmas.narrow(0, 0, num_steps) * train);
  } else {
    const auto sigmas = sd3_time_shift(numpy_linspace_head(num_steps), o.shift);
    schedule.sigmas = values_of(sigmas);
    schedule.sigmas.push_back(0.0);
    schedule.timesteps = values_of(sigmas * train);
    // The pipeline's `t.expand(B).to(latents.dtype)`: fp32 noise at the first step, latents in the
    // DiT's dtype after it.
    if (o.model_dtype != at::kFloat && num_steps > 1) {
      auto fed = at::tensor(std::vector<double>(schedule.timesteps.begin() + 1, schedule.timesteps.end()),
                            at::TensorOptions().dtype(at::kDouble))
                     .to(at::kFloat)
                     .to(o.model_dtype)
                     .to(at::kFloat);
      const auto rounded = values_of(fed);
      std::copy(rounded.begin(), rounded.end(), schedule.timesteps.begin() + 1);
    }
  }
  return schedule;
}

namespace {

class HvEulerScheduler final : public Scheduler {
 public:
  HvEulerScheduler(int num_steps, const HvScheduleOptions& options)
      : schedule_(hv_flow_schedule(num_steps, options)),
        round_to_(options.kind == HvScheduleKind::diffusers ? options.model_dtype : at::kFloat) {}

  const FlowSchedule& schedule() const override { return schedule_; }

  at::Tensor step(const at::Tensor& model_output, int step_index, const at::Tensor& sample) override {
    const int n = static_cast<int>(schedule_.timesteps.size());
    if (step_index != next_ || step_index >= n) {
      throw std::invalid_argument("hunyuan euler scheduler: step " + std::to_string(step_index) +
                                  " called, expected step " + std::to_string(next_) + " of " +
                                  std::to_string(n) + " (steps run once each, in order)");
    }
    if (!model_output.sizes().equals(sample.sizes()) || (!shape_.empty() && !sample.sizes().equals(shape_))) {
      std::ostringstream msg;
      msg << "hunyuan euler scheduler: model output " << model_output.sizes() << " and sample "
          << sample.sizes() << " must have one shape for the whole trajectory";
      throw std::invalid_argument(msg.str());
    }
    if (shape_.empty()) shape_ = sample.sizes().vec();
    ++next_;
    // dt as the reference: the difference of two fp32 sigmas, in fp32.
    const float dt = static_cast<float>(schedule_.sigmas[static_cast<size_t>(step_index) + 1]) -
                     static_cast<float>(schedule_.sigmas[static_cast<size_t>(step_index)]);
    if (round_to_ == at::kFloat) return sample.to(at::kFloat) + model_output.to(at::kFloat) * dt;
    // diffusers: `dt * model_output` with dt a 0-dim fp32 host tensor stays in the output's dtype;
    // the sum is fp32, then `.to(model_output.dtype)`. Written in the same form, so libtorch
    // takes the same path: on the host, dt on the LEFT is rounded to the output's dtype before
    // the product (checked bit-exact against diffusers); on a GPU a host 0-dim operand is kept in
    // fp32 (PyTorch's CPU-scalar rule), which is what diffusers gets there too.
    const auto delta = at::scalar_tensor(dt, at::kFloat) * model_output.to(round_to_);
    return (sample.to(at::kFloat) + delta).to(round_to_).to(at::kFloat);
  }

 private:
  FlowSchedule schedule_;
  at::ScalarType round_to_;
  int next_ = 0;
  std::vector<int64_t> shape_;
};

}  // namespace

std::unique_ptr<Scheduler> make_hv_euler_scheduler(int num_steps, const HvScheduleOptions& options) {
  return std::make_unique<HvEulerScheduler>(num_steps, options);
}

}  // namespace uspdit::sampling
