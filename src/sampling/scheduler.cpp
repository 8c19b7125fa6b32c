// The three solvers. Each update is written as the reference writes it (Wan's
// fm_solvers_unipc.py / fm_solvers.py, diffusers' FlowMatchEulerDiscreteScheduler): scalar
// coefficients are fp32 (the reference holds sigmas in a float32 tensor and combines 0-dim
// float32 tensors), tensor operations run in the same order, so rounding matches step by step.
#include "sampling/scheduler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace uspdit::sampling {
namespace {

// The reference evaluates log/exp/expm1 of its coefficients on 0-dim float32 tensors, i.e. with
// ATen's kernels, which differ from libm's logf/expm1f in the last bit for ~15% of the schedule's
// values; through ATen the coefficients are bit-identical (the cost is a few µs per step).
float aten_f32(at::Tensor (*op)(const at::Tensor&), float x) {
  return op(at::scalar_tensor(x, at::kFloat)).item<float>();
}
float log_f32(float x) {
  return aten_f32(at::log, x);
}
float exp_f32(float x) {
  return aten_f32(at::exp, x);
}
float expm1_f32(float x) {
  return aten_f32(at::expm1, x);
}

// log-SNR of a flow level: λ = log(α) − log(σ), α = 1 − σ.
float lambda_of(float sigma) {
  return log_f32(1.0f - sigma) - log_f32(sigma);
}

class FlowScheduler : public Scheduler {
 public:
  FlowScheduler(Solver solver, FlowSchedule schedule) : solver_(solver), schedule_(std::move(schedule)) {
    for (double s : schedule_.sigmas) sigmas_.push_back(static_cast<float>(s));
  }

  const FlowSchedule& schedule() const override { return schedule_; }

  at::Tensor step(const at::Tensor& model_output, int step_index, const at::Tensor& sample) override {
    check_call(model_output, step_index, sample);
    at::Tensor next = update(model_output, step_index, sample);
    ++next_index_;
    return next;
  }

 protected:
  virtual at::Tensor update(const at::Tensor& model_output, int i, const at::Tensor& sample) = 0;

  int num_steps() const { return static_cast<int>(schedule_.timesteps.size()); }
  float sigma(int i) const { return sigmas_[static_cast<size_t>(i)]; }

  // The data prediction of a flow model: x0 = x − σ·v.
  at::Tensor predict_x0(const at::Tensor& model_output, int i, const at::Tensor& sample) const {
    return sample - model_output * sigma(i);
  }

 private:
  void check_call(const at::Tensor& model_output, int step_index, const at::Tensor& sample) {
    std::ostringstream msg;
    msg << solver_name(solver_) << " scheduler: ";
    if (step_index != next_index_ || step_index >= num_steps()) {
      msg << "step " << step_index << " called, expected step " << next_index_ << " of " << num_steps()
          << " (steps run once each, in order)";
      throw std::invalid_argument(msg.str());
    }
    if (model_output.scalar_type() != at::kFloat || sample.scalar_type() != at::kFloat) {
      msg << "model output and sample must be fp32, got " << model_output.scalar_type() << " and "
          << sample.scalar_type();
      throw std::invalid_argument(msg.str());
    }
    if (!model_output.sizes().equals(sample.sizes()) || (!shape_.empty() && !sample.sizes().equals(shape_))) {
      msg << "model output " << model_output.sizes() << " and sample " << sample.sizes()
          << " must have one shape for the whole trajectory";
      throw std::invalid_argument(msg.str());
    }
    if (shape_.empty()) shape_ = sample.sizes().vec();
  }

  Solver solver_;
  FlowSchedule schedule_;
  std::vector<float> sigmas_;
  int next_index_ = 0;
  std::vector<int64_t> shape_;  // the trajectory's shape, fixed by the first step
};

// x_{i+1} = x_i + (σ_{i+1} − σ_i)·v, as FlowMatchEulerDiscreteScheduler.step.
class EulerScheduler final : public FlowScheduler {
 public:
  using FlowScheduler::FlowScheduler;

 private:
  at::Tensor update(const at::Tensor& model_output, int i, const at::Tensor& sample) override {
    const float dt = sigma(i + 1) - sigma(i);
    return sample + model_output * dt;
  }
};

// UniPC (Zhao et al. 2023) on x0 predictions: predictor UniP-bh2 of order ≤ 2 and, from the
// second step on, the corrector UniC refining the previous step's result with the new model
// output before predicting. Orders: 1 on the first step (no history) and on the last
// (lower_order_final), else 2. FlowUniPCMultistepScheduler, solver_order=2, bh2, predict_x0.
class UniPCScheduler final : public FlowScheduler {
 public:
  using FlowScheduler::FlowScheduler;

 private:
  static constexpr int kOrder = 2;

  at::Tensor update(const at::Tensor& model_output, int i, const at::Tensor& sample) override {
    at::Tensor x0 = predict_x0(model_output, i, sample);
    at::Tensor x = (i > 0 && last_sample_.defined()) ? correct(x0, i) : sample;
    prev_x0_ = cur_x0_;
    cur_x0_ = x0;
    order_ = std::min({kOrder, num_steps() - i, warmup_ + 1});
    last_sample_ = x;
    at::Tensor next = predict(x, i);
    warmup_ = std::min(warmup_ + 1, kOrder);
    return next;
  }

  // UniP from σ_i to σ_{i+1} with the x0 history (cur_x0_ = at σ_i, prev_x0_ = at σ_{i−1}).
  at::Tensor predict(const at::Tensor& x, int i) const {
    const float sigma_t = sigma(i + 1), sigma_s0 = sigma(i);
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_s0 = lambda_of(sigma_s0);
    const float h = lambda_of(sigma_t) - lambda_s0;
    const float hh = -h;
    const float h_phi_1 = expm1_f32(hh);
    const float b_h = expm1_f32(hh);  // bh2
    at::Tensor x_t = x * (sigma_t / sigma_s0) - cur_x0_ * (alpha_t * h_phi_1);
    if (order_ == 2) {
      const float rk = (lambda_of(sigma(i - 1)) - lambda_s0) / h;
      at::Tensor d1 = (prev_x0_ - cur_x0_) / rk;
      at::Tensor pred_res = d1 * 0.5f;  // order 2 uses ρ = 0.5 instead of solving
      x_t = x_t - pred_res * (alpha_t * b_h);
    }
    return x_t;
  }

  // UniC: redo the step σ_{i−1} → σ_i (taken from last_sample_ with order_) using model_t, the
  // x0 prediction at σ_i.
  at::Tensor correct(const at::Tensor& model_t, int i) const {
    const float sigma_t = sigma(i), sigma_s0 = sigma(i - 1);
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_s0 = lambda_of(sigma_s0);
    const float h = lambda_of(sigma_t) - lambda_s0;
    const float hh = -h;
    const float h_phi_1 = expm1_f32(hh);
    const float b_h = expm1_f32(hh);  // bh2
    float h_phi_k = h_phi_1 / hh - 1.0f;
    const float b0 = h_phi_k / b_h;
    h_phi_k = h_phi_k / hh - 0.5f;
    const float b1 = (h_phi_k * 2.0f) / b_h;
    const at::Tensor& m0 = cur_x0_;
    at::Tensor x_t = last_sample_ * (sigma_t / sigma_s0) - m0 * (alpha_t * h_phi_1);
    at::Tensor d1_t = model_t - m0;
    at::Tensor corr;
    if (order_ == 1) {
      corr = d1_t * 0.5f;
    } else {
      const float rk = (lambda_of(sigma(i - 2)) - lambda_s0) / h;
      at::Tensor d1 = (prev_x0_ - m0) / rk;
      // ρ solves [[1, 1], [rk, 1]]·ρ = b. Through the same LAPACK call as the reference: a
      // hand-written 2×2 solve differs from it in the last bit of ρ.
      const at::Tensor r = at::tensor({1.0f, 1.0f, rk, 1.0f}).view({2, 2});
      const at::Tensor rho = at::linalg_solve(r, at::tensor({b0, b1}));
      const float rho0 = rho[0].item<float>(), rho1 = rho[1].item<float>();
      corr = d1 * rho0 + d1_t * rho1;
    }
    return x_t - corr * (alpha_t * b_h);
  }

  int order_ = 0;   // the order of the last predictor step, which the next corrector uses
  int warmup_ = 0;  // steps taken, capped at kOrder: how much history exists
  at::Tensor last_sample_, cur_x0_, prev_x0_;
};

// DPM-Solver++ 2M (Lu et al. 2022), midpoint variant, on x0 predictions: first order on the first
// step and on the last (σ = 0), second order in between. FlowDPMSolverMultistepScheduler.
class DpmppScheduler final : public FlowScheduler {
 public:
  using FlowScheduler::FlowScheduler;

 private:
  at::Tensor update(const at::Tensor& model_output, int i, const at::Tensor& sample) override {
    at::Tensor x0 = predict_x0(model_output, i, sample);
    prev_x0_ = cur_x0_;
    cur_x0_ = x0;
    const float sigma_t = sigma(i + 1), sigma_s0 = sigma(i);
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_s0 = lambda_of(sigma_s0);
    const float h = lambda_of(sigma_t) - lambda_s0;
    // Wan's dpm++ schedule starts at σ = 1: λ = −inf there, h = +inf, and the coefficients below
    // take their limits (exp(−h) = 0; on the next step r0 = inf makes D1 = 0), as in the reference.
    const float coef = alpha_t * (exp_f32(-h) - 1.0f);
    at::Tensor x_t = sample * (sigma_t / sigma_s0) - x0 * coef;
    const bool first_order = i == 0 || i == num_steps() - 1;
    if (!first_order) {
      const float h_0 = lambda_s0 - lambda_of(sigma(i - 1));
      const float r0 = h_0 / h;
      at::Tensor d1 = (cur_x0_ - prev_x0_) * (1.0f / r0);
      x_t = x_t - d1 * (0.5f * coef);
    }
    return x_t;
  }

  at::Tensor cur_x0_, prev_x0_;
};

}  // namespace

std::unique_ptr<Scheduler> make_scheduler(Solver solver, int num_steps, double shift) {
  return make_scheduler(solver, schedule_for(solver, num_steps, shift));
}

std::unique_ptr<Scheduler> make_scheduler(Solver solver, FlowSchedule schedule) {
  require(!schedule.timesteps.empty() && schedule.sigmas.size() == schedule.timesteps.size() + 1,
          "a sampling schedule needs N >= 1 timesteps and N + 1 sigmas");
  switch (solver) {
    case Solver::unipc:
      return std::make_unique<UniPCScheduler>(solver, std::move(schedule));
    case Solver::euler:
      return std::make_unique<EulerScheduler>(solver, std::move(schedule));
    case Solver::dpmpp:
      return std::make_unique<DpmppScheduler>(solver, std::move(schedule));
  }
  throw std::invalid_argument("make_scheduler: unknown solver");
}

}  // namespace uspdit::sampling
