// Which sampling a Wan run follows and where each setting came from (pipeline/wan_sampling_choice.h),
// diffusers' schedules against the numbers stock diffusers 0.42.1 gives (tests/data/wan_t2v), the
// scheduler-config checks, and `--dtype` reaching the text encoder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/args.h"
#include "core/error.h"
#include "pipeline/family_registry.h"
#include "pipeline/t2v_job.h"
#include "pipeline/wan_sampling_choice.h"
#include "sampling/diffusers_schedule.h"
#include "sampling/diffusers_scheduler_config.h"

namespace uspdit::pipeline {
namespace {

const std::string kFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v";

TEST(WanSamplingChoice, TheFolderDecidesAndTheLogSaysWhere) {
  const auto d = choose_wan_sampling(kFixture + "/diffusers", "diffusers", {});
  EXPECT_EQ(d.log_line(),
            "sampling: reference diffusers (folder: diffusers layout), solver unipc (folder: "
            "UniPCMultistepScheduler), shift 3 (folder: flow_shift), 50 steps (default)");
  const auto e = choose_wan_sampling(kFixture + "/diffusers_euler", "diffusers", {});
  EXPECT_EQ(e.solver, sampling::Solver::euler);
  EXPECT_EQ(e.shift_from, "folder: shift");
  const auto o = choose_wan_sampling(kFixture + "/original", "original", {});
  EXPECT_EQ(
      o.log_line(),
      "sampling: reference original (folder: original layout), solver unipc (default), shift 5 (default), "
      "50 steps (default)");
  WanSamplingFlags flags;
  flags.schedule = "original";
  flags.shift = 8.0;
  flags.steps = 4;
  flags.solver = "dpm++";
  const auto f = choose_wan_sampling(kFixture + "/diffusers", "diffusers", flags);
  EXPECT_EQ(f.log_line(),
            "sampling: reference original (flag), solver dpm++ (flag), shift 8 (flag), 4 steps (flag)");
  // The original reference on a -Diffusers folder: generate.py's defaults, not the folder's; a
  // config diffusers could not be followed with is not read then.
  flags = {};
  flags.schedule = "original";
  EXPECT_EQ(
      choose_wan_sampling(kFixture + "/diffusers", "diffusers", flags).log_line(),
      "sampling: reference original (flag), solver unipc (default), shift 5 (default), 50 steps (default)");
  flags.schedule = "diffusers";
  EXPECT_EQ(choose_wan_sampling(kFixture + "/original", "original", flags).reference,
            sampling::ScheduleReference::diffusers);
  flags.schedule = "wan";
  EXPECT_THROW(choose_wan_sampling(kFixture + "/original", "original", flags), UsageError);
}

TEST(WanSamplingChoice, TheReferenceDecidesNegativePromptAndGuidance) {
  WanT2vRequest r;
  r.guide_scale = 0.5;
  EXPECT_TRUE(r.uses_cfg());  // generate.py guides unless the scale is 1
  EXPECT_EQ(r.negative(), kWanDefaultNegativePrompt);
  r.reference = sampling::ScheduleReference::diffusers;
  EXPECT_FALSE(r.uses_cfg());  // WanPipeline: only above 1
  EXPECT_EQ(r.negative(), "");
  r.negative_prompt = "blurry";
  EXPECT_EQ(r.negative(), "blurry");
}

TEST(DiffusersSchedule, StartsBelowOneAndEndsAboveZero) {
  // UniPC flow sigmas at shift 1: linspace(1, 0.001, 5)[:-1] with the first nudged by 1e-6.
  const auto s = sampling::diffusers_schedule(sampling::Solver::unipc, 4, 1.0);
  ASSERT_EQ(s.sigmas.size(), 5u);
  EXPECT_EQ(s.sigmas[0], static_cast<double>(static_cast<float>(1.0 - 1e-6)));
  EXPECT_EQ(s.timesteps, (std::vector<double>{999, 750, 500, 250}));
  EXPECT_EQ(s.sigmas[4], 0.0);
  // Wan's own: from 0.999 to 0, timesteps truncated below.
  EXPECT_EQ(sampling::wan_flow_schedule(4, 1.0).timesteps, (std::vector<double>{999, 749, 499, 249}));
  const auto sigma_min = sampling::diffusers_schedule(sampling::Solver::unipc, 4, 1.0, 1000, false);
  EXPECT_EQ(sigma_min.sigmas[4], sigma_min.sigmas[3]);
  EXPECT_THROW(sampling::diffusers_schedule(sampling::Solver::dpmpp, 4, 1.0, 1000, false), UsageError);
  EXPECT_THROW(sampling::diffusers_schedule(sampling::Solver::unipc, 0, 1.0), UsageError);
}

std::string write_config(const std::string& name, const std::string& body) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / name;
  std::filesystem::create_directories(dir);
  const auto path = (dir / "scheduler_config.json").string();
  std::ofstream(path) << body;
  return path;
}

void expect_refused(const std::string& body, const std::string& field) {
  const auto path = write_config("sched_" + field, body);
  try {
    sampling::read_diffusers_scheduler_config(path);
    ADD_FAILURE() << "accepted " << body;
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(field), std::string::npos) << msg;
    EXPECT_NE(msg.find("--schedule original"), std::string::npos) << msg;
  }
}

TEST(DiffusersSchedulerConfig, FieldsThatChangeTheNumbersAreHonouredOrRefused) {
  const std::string unipc =
      R"({"_class_name": "UniPCMultistepScheduler", "prediction_type": "flow_prediction", "use_flow_sigmas": true,)";
  const auto ok = sampling::read_diffusers_scheduler_config(
      write_config("sched_ok", unipc + R"( "flow_shift": 7.5, "lambda_min_clipped": -Infinity})"));
  EXPECT_EQ(ok.shift, 7.5);
  EXPECT_EQ(ok.solver, sampling::Solver::unipc);
  expect_refused(unipc + R"( "solver_order": 3})", "solver_order");
  expect_refused(unipc + R"( "solver_type": "bh1"})", "solver_type");
  expect_refused(unipc + R"( "predict_x0": false})", "predict_x0");
  expect_refused(unipc + R"( "use_karras_sigmas": true})", "use_karras_sigmas");
  expect_refused(unipc + R"( "disable_corrector": [0]})", "disable_corrector");
  expect_refused(R"({"_class_name": "UniPCMultistepScheduler", "use_flow_sigmas": true})", "prediction_type");
  expect_refused(R"({"_class_name": "DPMSolverMultistepScheduler", "prediction_type": "flow_prediction",
                     "use_flow_sigmas": true, "algorithm_type": "sde-dpmsolver++"})",
                 "algorithm_type");
  expect_refused(R"({"_class_name": "FlowMatchEulerDiscreteScheduler", "use_dynamic_shifting": true})",
                 "use_dynamic_shifting");
  EXPECT_THROW(sampling::read_diffusers_scheduler_config(
                   write_config("sched_ddim", R"({"_class_name": "DDIMScheduler"})")),
               UsageError);
}

// `--dtype fp32` alone sets the text encoder too: the same settings (so the same run) as with
// `--text-dtype fp32`; `--text-dtype` still overrides it; the start-up lines name each stage's dtype.
T2vSettings settings_of(const std::vector<std::string>& tokens, std::vector<std::string>* lines = nullptr) {
  core::Args args("generate", tokens);
  auto job = detect_family(kFixture + "/original", "auto").read_t2v_job(args, kFixture + "/original");
  T2vSettings settings;
  job->check_files();
  job->validate();
  job->apply_settings(settings, core::host_device());  // after check_files, as generate does
  if (lines != nullptr) *lines = job->startup_lines();
  return settings;
}

TEST(WanT2vJob, DtypeReachesEveryStageUnlessItsOwnFlagSays) {
  const std::vector<std::string> base = {"--prompt", "a cat", "--size", "64*48", "--frame_num", "5"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), base.begin(), base.end());
    return extra;
  };
  std::vector<std::string> lines;
  const auto fp32 = settings_of(with({"--dtype", "fp32"}), &lines);
  const auto both = settings_of(with({"--dtype", "fp32", "--text-dtype", "fp32"}));
  EXPECT_EQ(fp32.text_dtype, at::kFloat);
  EXPECT_EQ(fp32.dit_dtype, at::kFloat);
  EXPECT_EQ(fp32.text_dtype, both.text_dtype);
  EXPECT_EQ(fp32.dit_dtype, both.dit_dtype);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(
      lines[1],
      "dtypes: text encoder fp32 (--dtype), DiT fp32 (--dtype), VAE fp32 (always), sampler fp32 (always)");
  const auto mixed = settings_of(with({"--dtype", "fp32", "--text-dtype", "bf16"}));
  EXPECT_EQ(mixed.text_dtype, at::kBFloat16);
  const auto defaults = settings_of(base, &lines);
  EXPECT_EQ(defaults.text_dtype, at::kBFloat16);
  EXPECT_EQ(
      lines[1],
      "dtypes: text encoder bf16 (default), DiT bf16 (default), VAE fp32 (always), sampler fp32 (always)");
}

}  // namespace
}  // namespace uspdit::pipeline
