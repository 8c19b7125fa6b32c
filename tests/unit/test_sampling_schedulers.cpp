// The samplers against Wan 2.1's own schedulers on the committed fixtures
// (tools/make_scheduler_fixtures.py: diffusers schedulers driven to reproduce Wan, checked
// identical to Wan's fm_solvers*.py): schedules, and every step of seeded trajectories.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"
#include "sampling/diffusers_schedule.h"
#include "sampling/scheduler.h"

namespace uspdit::sampling {
namespace {

const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/sampling/";

std::string case_prefix(double shift, int steps) {
  std::ostringstream s;
  s << "shift" << shift << "_steps" << steps << ".";
  return s.str();
}

at::Tensor as_tensor(const std::vector<double>& values) {
  return at::tensor(values, at::kDouble);
}

TEST(Sampling, ParseSolver) {
  EXPECT_EQ(parse_solver("unipc"), Solver::unipc);
  EXPECT_EQ(parse_solver("euler"), Solver::euler);
  EXPECT_EQ(parse_solver("dpm++"), Solver::dpmpp);
  EXPECT_EQ(parse_solver("dpmpp"), Solver::dpmpp);
  EXPECT_STREQ(solver_name(Solver::dpmpp), "dpm++");
  try {
    parse_solver("ddim");
    FAIL() << "ddim accepted";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'ddim'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unipc"), std::string::npos) << msg;
    EXPECT_NE(msg.find("euler"), std::string::npos) << msg;
    EXPECT_NE(msg.find("dpm++"), std::string::npos) << msg;
  }
  EXPECT_THROW(parse_solver(""), UsageError);
  EXPECT_THROW(parse_solver("UniPC"), UsageError);
}

TEST(Sampling, BadArgumentsRejected) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (Solver solver : {Solver::unipc, Solver::euler, Solver::dpmpp}) {
    EXPECT_THROW(make_scheduler(solver, 0, 5.0), UsageError);
    EXPECT_THROW(make_scheduler(solver, -3, 5.0), UsageError);
    EXPECT_THROW(make_scheduler(solver, 10, 0.0), UsageError);
    EXPECT_THROW(make_scheduler(solver, 10, -1.0), UsageError);
    EXPECT_THROW(make_scheduler(solver, 10, nan), UsageError);
    EXPECT_THROW(make_scheduler(solver, 10, inf), UsageError);
    EXPECT_NO_THROW(make_scheduler(solver, 1, 0.5));
  }
  EXPECT_THROW(wan_flow_schedule(5, 5.0, 1), UsageError);
  EXPECT_THROW(wan_dpmpp_schedule(0, 5.0), UsageError);
}

TEST(Sampling, MisuseOfStepThrows) {
  auto sched = make_scheduler(Solver::unipc, 3, 5.0);
  const at::Tensor x = at::randn({1, 4, 2, 4, 4});
  EXPECT_THROW(sched->step(x, 1, x), std::invalid_argument);                  // out of order
  EXPECT_THROW(sched->step(x.to(at::kDouble), 0, x), std::invalid_argument);  // not fp32
  EXPECT_THROW(sched->step(x, 0, at::randn({1, 4, 2, 4, 2})), std::invalid_argument);
  at::Tensor y = sched->step(x, 0, x);
  EXPECT_THROW(sched->step(at::randn({2, 4}), 1, at::randn({2, 4})), std::invalid_argument);  // new shape
  y = sched->step(x, 1, y);
  y = sched->step(x, 2, y);
  EXPECT_THROW(sched->step(x, 3, y), std::invalid_argument);  // past the end
}

// Wan's schedules for many step counts and shifts (incl. 1000 steps, shift < 1).
TEST(Sampling, SchedulesMatchWan) {
  auto fixture = io::open_checkpoint(kData + "schedules.safetensors");
  int checked = 0;
  for (const char* family : {"unipc", "dpmpp"}) {
    for (double shift : {5.0, 3.0, 8.0, 1.0, 0.5, 12.0}) {
      for (int steps : {1, 3, 4, 7, 10, 20, 25, 30, 40, 49, 100, 250, 1000}) {
        const std::string prefix = std::string(family) + "." + case_prefix(shift, steps);
        const FlowSchedule s = std::string(family) == "dpmpp" ? wan_dpmpp_schedule(steps, shift)
                                                              : wan_flow_schedule(steps, shift);
        ASSERT_EQ(s.sigmas.size(), static_cast<size_t>(steps + 1)) << prefix;
        ASSERT_EQ(s.timesteps.size(), static_cast<size_t>(steps)) << prefix;
        EXPECT_EQ(s.sigmas.back(), 0.0) << prefix;
        const at::Tensor sigmas = fixture->load(prefix + "sigmas", at::kDouble);
        const at::Tensor timesteps = fixture->load(prefix + "timesteps", at::kDouble);
        EXPECT_LE((as_tensor(s.sigmas) - sigmas).abs().max().item<double>(), 1e-6) << prefix;
        // Integers: any difference would be a different model input.
        EXPECT_TRUE(at::equal(as_tensor(s.timesteps), timesteps)) << prefix;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 2 * 6 * 13);
}

// Stock diffusers' set_timesteps(N) for a -Diffusers folder's three scheduler classes, bit for
// bit (sigmas and timesteps) over the same step counts and shifts.
TEST(Sampling, SchedulesMatchStockDiffusers) {
  auto fixture = io::open_checkpoint(kData + "diffusers_schedules.safetensors");
  int checked = 0;
  for (Solver solver : {Solver::unipc, Solver::euler, Solver::dpmpp}) {
    const std::string family = solver == Solver::dpmpp ? "dpmpp" : solver_name(solver);
    for (double shift : {5.0, 3.0, 8.0, 1.0, 0.5, 12.0}) {
      for (int steps : {1, 3, 4, 7, 10, 20, 25, 30, 40, 49, 100, 250, 1000}) {
        const std::string prefix = family + "." + case_prefix(shift, steps);
        const FlowSchedule s = diffusers_schedule(solver, steps, shift);
        EXPECT_TRUE(at::equal(as_tensor(s.sigmas), fixture->load(prefix + "sigmas", at::kDouble))) << prefix;
        EXPECT_TRUE(at::equal(as_tensor(s.timesteps), fixture->load(prefix + "timesteps", at::kDouble)))
            << prefix;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 3 * 6 * 13);
}

TEST(Sampling, WanDefaultsSpotValues) {
  // Hand-checkable anchors: Wan's UniPC starts at σ = s·0.999/(1 + (s−1)·0.999) (timestep 999),
  // dpm++ at exactly σ = 1 (timestep 1000); both end at σ = 0.
  const FlowSchedule u = wan_flow_schedule(50, 5.0);
  EXPECT_NEAR(u.sigmas[0], 5.0 * 0.999 / (1.0 + 4.0 * 0.999), 1e-7);
  EXPECT_EQ(u.timesteps[0], 999.0);
  const FlowSchedule d = wan_dpmpp_schedule(50, 5.0);
  EXPECT_EQ(d.sigmas[0], 1.0);
  EXPECT_EQ(d.timesteps[0], 1000.0);
  EXPECT_EQ(make_scheduler(Solver::dpmpp, 50, 5.0)->schedule().timesteps[0], 1000.0);
  EXPECT_EQ(make_scheduler(Solver::euler, 50, 5.0)->schedule().timesteps, u.timesteps);
}

// Every step's sample of a seeded trajectory (random initial noise, per-step model outputs)
// against the reference, for each solver, shift and step count.
TEST(Sampling, TrajectoriesMatchReference) {
  for (const char* name : {"unipc", "euler", "dpmpp"}) {
    const Solver solver = parse_solver(name);
    auto fixture = io::open_checkpoint(kData + name + ".safetensors");
    double worst = 0.0;
    for (double shift : {5.0, 3.0, 8.0}) {
      for (int steps : {1, 2, 5, 50}) {
        const std::string prefix = case_prefix(shift, steps);
        auto sched = make_scheduler(solver, steps, shift);
        const FlowSchedule& s = sched->schedule();
        EXPECT_LE(
            (as_tensor(s.sigmas) - fixture->load(prefix + "sigmas", at::kDouble)).abs().max().item<double>(),
            1e-6)
            << name << " " << prefix;
        EXPECT_TRUE(at::equal(as_tensor(s.timesteps), fixture->load(prefix + "timesteps", at::kDouble)))
            << name << " " << prefix;
        const at::Tensor outputs = fixture->load(prefix + "model_outputs", at::kFloat);
        const at::Tensor expected = fixture->load(prefix + "samples", at::kFloat);
        at::Tensor x = fixture->load(prefix + "x", at::kFloat);
        for (int i = 0; i < steps; ++i) {
          x = sched->step(outputs[i], i, x);
          const double err = (x - expected[i]).abs().max().item<double>();
          worst = std::max(worst, err);
          EXPECT_LE(err, 1e-6) << name << " " << prefix << " step " << i;
        }
      }
    }
    std::printf("%s: max abs error over all steps of 12 trajectories: %.3g\n", name, worst);
  }
}

// A perfect model on a straight path (v = noise − x0 everywhere) is integrated exactly by every
// solver: the last sample is x0. Independent of the fixtures.
TEST(Sampling, ExactVelocityReachesData) {
  const at::Tensor noise = at::randn({2, 3, 5});
  const at::Tensor data = 0.5 * at::randn({2, 3, 5});
  for (Solver solver : {Solver::unipc, Solver::euler, Solver::dpmpp}) {
    for (int steps : {1, 4, 30}) {
      auto sched = make_scheduler(solver, steps, 5.0);
      const double sigma0 = sched->schedule().sigmas[0];
      at::Tensor x = (1.0 - sigma0) * data + sigma0 * noise;
      for (int i = 0; i < steps; ++i) x = sched->step(noise - data, i, x);
      EXPECT_LE((x - data).abs().max().item<double>(), 1e-5) << solver_name(solver) << " " << steps;
    }
  }
}

}  // namespace
}  // namespace uspdit::sampling
