// HunyuanVideo's flow-matching sampler against the committed fixtures
// (tools/make_hv_scheduler_fixtures.py): the original repository's FlowMatchDiscreteScheduler
// transcribed in torch and diffusers' FlowMatchEulerDiscreteScheduler. Sigmas and timesteps are
// compared as fp32 bit patterns; the Euler trajectories must be identical.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/checkpoint.h"
#include "sampling/hv_flow_schedule.h"

namespace uspdit::sampling {
namespace {

const std::string kData = std::string(USPDIT_SOURCE_DIR) + "/tests/data/sampling/hunyuan/";

uint32_t bits(float f) {
  uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// How many values differ in their fp32 bits (the engine's doubles hold fp32 values exactly).
int bit_mismatches(const std::vector<double>& ours, const at::Tensor& reference) {
  EXPECT_EQ(static_cast<int64_t>(ours.size()), reference.numel());
  if (static_cast<int64_t>(ours.size()) != reference.numel()) return 1 << 20;
  const auto ref = reference.contiguous();
  int bad = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    const float f = static_cast<float>(ours[i]);
    EXPECT_EQ(static_cast<double>(f), ours[i]) << "not an fp32 value at " << i;
    bad += bits(f) != bits(ref.data_ptr<float>()[i]);
  }
  return bad;
}

TEST(HvSchedule, SigmasAndTimestepsAreBitExact) {
  const auto ref = io::open_checkpoint(kData + "schedules.safetensors");
  int checked = 0;
  for (int steps : {1, 2, 30, 50}) {
    for (double shift : {1.0, 7.0, 17.0}) {
      for (const auto kind : {HvScheduleKind::original, HvScheduleKind::diffusers}) {
        for (bool reverse : {false, true}) {
          if (kind == HvScheduleKind::diffusers && !reverse) continue;
          std::ostringstream key;
          key << hv_schedule_name(kind) << ".shift" << shift << "_steps" << steps << "_reverse" << reverse
              << ".";
          SCOPED_TRACE(key.str());
          const auto s = hv_flow_schedule(steps, {kind, shift, reverse, 1000});
          EXPECT_EQ(bit_mismatches(s.sigmas, ref->load(key.str() + "sigmas", at::kFloat)), 0);
          EXPECT_EQ(bit_mismatches(s.timesteps, ref->load(key.str() + "timesteps", at::kFloat)), 0);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 36);
}

TEST(HvSchedule, KnownValuesAndDirection) {
  // shift 7, 50 steps, reverse: t starts at exactly 1000 and ends near 125; σ ends at 0.
  const auto s = hv_flow_schedule(50, {});
  EXPECT_EQ(s.timesteps.front(), 1000.0);
  EXPECT_NEAR(s.timesteps[1], 997.093, 1e-3);
  EXPECT_NEAR(s.timesteps.back(), 125.0, 1e-3);
  EXPECT_EQ(s.sigmas.back(), 0.0);
  // Without reverse σ runs 0 → 1 (the command line's default, which no official script uses).
  const auto forward = hv_flow_schedule(4, {HvScheduleKind::original, 7.0, false, 1000});
  EXPECT_EQ(forward.sigmas.front(), 0.0);
  EXPECT_EQ(forward.sigmas.back(), 1.0);
}

TEST(HvSchedule, BadOptionsNameTheFix) {
  EXPECT_THROW(hv_flow_schedule(0, {}), UsageError);
  EXPECT_THROW(hv_flow_schedule(10, {HvScheduleKind::original, 0.0, true, 1000}), UsageError);
  try {
    hv_flow_schedule(10, {HvScheduleKind::diffusers, 7.0, false, 1000});
    FAIL() << "diffusers without reverse accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--flow-reverse"), std::string::npos) << e.what();
  }
  EXPECT_EQ(parse_hv_schedule("original"), HvScheduleKind::original);
  EXPECT_EQ(parse_hv_schedule("diffusers"), HvScheduleKind::diffusers);
  EXPECT_THROW(parse_hv_schedule("karras"), UsageError);
}

TEST(HvSchedule, EulerTrajectoriesAreExact) {
  const auto ref = io::open_checkpoint(kData + "euler.safetensors");
  struct Case {
    const char* name;
    HvScheduleOptions options;
  };
  for (const auto& c : {Case{"original_shift7_reverse1", {HvScheduleKind::original, 7.0, true, 1000}},
                        Case{"original_shift7_reverse0", {HvScheduleKind::original, 7.0, false, 1000}},
                        Case{"original_shift7_reverse1_fp16", {HvScheduleKind::original, 7.0, true, 1000}},
                        Case{"diffusers_shift7", {HvScheduleKind::diffusers, 7.0, true, 1000}}}) {
    SCOPED_TRACE(c.name);
    const std::string p = std::string(c.name) + ".";
    // Loaded in their stored dtypes (fp16 noise and bf16 outputs in the _fp16 case).
    at::Tensor x = ref->load(p + "x");
    const auto outputs = ref->load(p + "model_outputs");
    const auto samples = ref->load(p + "samples", at::kFloat);
    auto scheduler = make_hv_euler_scheduler(3, c.options);
    for (int i = 0; i < 3; ++i) {
      x = scheduler->step(outputs[i], i, x);
      EXPECT_EQ(x.scalar_type(), at::kFloat);
      EXPECT_TRUE(at::equal(x, samples[i]))
          << "step " << i << ": max |diff| " << (x - samples[i]).abs().max().item<double>();
    }
    EXPECT_THROW(scheduler->step(outputs[0], 3, x), std::invalid_argument);
  }
}

TEST(HvSchedule, DiffusersWithABf16DitRoundsLatentsAndLaterTimesteps) {
  // HunyuanVideoPipeline with a bf16 DiT: each step's result is cast to the output's dtype and
  // the DiT is fed t.to(latents.dtype), so fp32 t at the first step and bf16 t after it.
  const auto ref = io::open_checkpoint(kData + "euler.safetensors");
  const std::string p = "diffusers_shift7_bf16.";
  at::Tensor x = ref->load(p + "x");
  const auto outputs = ref->load(p + "model_outputs");
  const auto samples = ref->load(p + "samples", at::kFloat);
  const auto fed = ref->load(p + "fed_timesteps", at::kFloat);
  const HvScheduleOptions options{HvScheduleKind::diffusers, 7.0, true, 1000, at::kBFloat16};
  auto scheduler = make_hv_euler_scheduler(3, options);
  const auto& timesteps = scheduler->schedule().timesteps;
  ASSERT_EQ(timesteps.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(static_cast<float>(timesteps[static_cast<size_t>(i)]), fed[i].item<float>()) << "step " << i;
    x = scheduler->step(outputs[i], i, x);
    EXPECT_EQ(x.scalar_type(), at::kFloat);
    EXPECT_TRUE(at::equal(x, samples[i]))
        << "step " << i << ": max |diff| " << (x - samples[i]).abs().max().item<double>();
  }
  // The second timestep really is rounded (999.x is not a bf16 value), so the case tests something.
  const auto fp32 = hv_flow_schedule(3, {HvScheduleKind::diffusers, 7.0, true, 1000}).timesteps;
  EXPECT_NE(fp32[1], timesteps[1]);
  EXPECT_EQ(fp32[0], timesteps[0]);
  // The original schedule ignores model_dtype: it keeps fp32 latents and timesteps.
  EXPECT_EQ(hv_flow_schedule(3, {HvScheduleKind::original, 7.0, true, 1000, at::kBFloat16}).timesteps,
            hv_flow_schedule(3, {HvScheduleKind::original, 7.0, true, 1000}).timesteps);
}

}  // namespace
}  // namespace uspdit::sampling
