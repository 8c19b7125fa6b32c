#include "sampling/hv_flow_schedule.h"

#include <ATen/ATen.h>

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
  }
  return schedule;
}

namespace {

class HvEulerScheduler final : public Scheduler {
 public:
  HvEulerScheduler(int num_steps, const HvScheduleOptions& options)
      : schedule_(hv_flow_schedule(num_steps, options)) {}

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
    return sample.to(at::kFloat) + model_output.to(at::kFloat) * dt;
  }

 private:
  FlowSchedule schedule_;
  int next_ = 0;
  std::vector<int64_t> shape_;
};

}  // namespace

std::unique_ptr<Scheduler> make_hv_euler_scheduler(int num_steps, const HvScheduleOptions& options) {
  return std::make_unique<HvEulerScheduler>(num_steps, options);
}

}  // namespace uspdit::sampling
