// A HunyuanVideo diffusers folder samples as stock HunyuanVideoPipeline does (diffusers 0.42.1,
// unpatched: tests/data/hv_t2v/reference_diffusers.safetensors from tools/make_hv_t2v_fixtures.py):
// the folder's scheduler and shift, the prompt as given, true CFG only with a negative prompt
// ("" included), the 16-frame VAE tiles, rounded frames. Plus how the reference is chosen and
// said (pipeline/hv_reference.h). fp32 throughout, 48x32, 17 frames, 2 steps.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/args.h"
#include "core/error.h"
#include "device_under_test.h"
#include "hv_t2v_fixture.h"
#include "io/checkpoint.h"
#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "pipeline/hv_reference.h"
#include "pipeline/hv_t2v_family.h"
#include "pipeline/t2v_pipeline.h"
#include "video/video_writer.h"

namespace uspdit::pipeline {
namespace {

using testing::hv_frames01;
using testing::hv_max_abs;

struct StockCase {
  const char* name;
  const char* folder;
  double cfg_scale;
  std::optional<std::string> negative_prompt;
};

const StockCase kCases[] = {{"plain", "diffusers", 1.0, std::nullopt},
                            {"cfg", "diffusers", 3.0, "low quality, blurry"},
                            {"cfg_empty_negative", "diffusers", 3.0, ""},
                            {"shift3", "diffusers_shift3", 1.0, std::nullopt}};

// The request as `generate --model-base <folder> --prompt ... --video-size 48 32 ...` reads it:
// no --schedule / --flow-shift, so the folder decides.
HvT2vRequest stock_request(const StockCase& c) {
  HvT2vRequest r;
  r.prompt = "  A cat walks on the grass, realistic style.\n";  // diffusers does not strip it
  r.negative_prompt = c.negative_prompt;
  r.height = 48;
  r.width = 32;
  r.frames = 17;
  r.steps = 2;
  r.seed = 2027;
  r.cfg_scale = c.cfg_scale;
  return r;
}

struct Run {
  at::Tensor latents, video;
  std::vector<std::string> lines;
};

Run run_case(const StockCase& c) {
  auto f = testing::open_hv_t2v_fixture(c.folder);
  auto hv_request = stock_request(c);
  Run run;
  run.lines = apply_hv_reference(hv_request, f.load, f.files.layout);
  validate(hv_request);
  const auto request = to_t2v_request(hv_request, f.dit);
  T2vSettings settings;
  settings.show_progress = false;
  settings.device = settings.text_device = testing::device_under_test();
  settings.vae_tiling = VaeTiling{};  // diffusers' framewise decode is always tiled (HvT2vJob)
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  T2vPipeline pipe(mesh, std::make_unique<HvFamily>(f.files, settings, hv_t2v_options(hv_request, f.load)),
                   settings);
  const auto text = pipe.encode_prompts(request);
  EXPECT_EQ(text.uncond.defined(), c.cfg_scale > 1) << c.name;
  run.latents = pipe.denoise(request, text, pipe.initial_noise(request), request.steps, nullptr);
  run.video = pipe.decode(run.latents);
  return run;
}

TEST(HvT2vDiffusers, EqualsStockHunyuanVideoPipeline) {
  const auto ref = io::open_checkpoint(testing::kHvT2vFixture + "/reference_diffusers.safetensors");
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    const auto run = run_case(c);
    const std::string p = std::string(c.name) + ".";
    const double latents_err = hv_max_abs(run.latents, ref->load(p + "latents", at::kFloat));
    EXPECT_LE(latents_err, 1e-4);
    double video_err = -1;
    if (ref->contains(p + "video")) {
      video_err = hv_max_abs(hv_frames01(run.video), ref->load(p + "video", at::kFloat));
      EXPECT_LE(video_err, 1e-3);
    }
    std::printf("[conformance] hv_t2v stock diffusers %s: latents %.2e, frames %.2e\n", c.name, latents_err,
                video_err);
  }
}

TEST(HvT2vDiffusers, FramesAreRoundedAsThePilOutput) {
  const auto ref = io::open_checkpoint(testing::kHvT2vFixture + "/reference_diffusers.safetensors");
  const auto run = run_case(kCases[0]);
  const auto ours = video::to_rgb8(run.video[0], video::Rounding::kHalfToEven).to(at::kInt);
  const auto theirs = ref->load("plain.frames_u8").to(at::kInt);
  ASSERT_EQ(ours.sizes(), theirs.sizes());
  const auto diff = (ours - theirs).abs();
  // Equal bytes but where a float ~1e-6 away from the reference's sits on a rounding boundary.
  EXPECT_LE(diff.max().item<int>(), 1);
  EXPECT_LE(diff.gt(0).sum().item<int64_t>(), ours.numel() / 1000);
  // Truncation (the release's) would be off by one on about half of them.
  const auto truncated = video::to_rgb8(run.video[0], video::Rounding::kTruncate).to(at::kInt);
  EXPECT_GT((truncated - theirs).abs().gt(0).sum().item<int64_t>(), ours.numel() / 10);
}

HvT2vRequest parsed(std::vector<std::string> tokens, HvT2vLoadSettings& load) {
  core::Args args("generate", tokens);
  HvT2vRequest r;
  std::vector<std::string> notes;
  read_hv_t2v_flags(args, r, load, notes);
  return r;
}

TEST(HvReference, TheFolderDecidesAndTheLogSaysWhy) {
  auto f = testing::open_hv_t2v_fixture("diffusers_shift3");
  auto r = parsed({"--prompt", "x"}, f.load);
  auto lines = apply_hv_reference(r, f.load, f.files.layout);
  EXPECT_EQ(r.schedule.kind, sampling::HvScheduleKind::diffusers);
  EXPECT_EQ(r.schedule.shift, 3.0);
  EXPECT_FALSE(f.load.vae_tiling);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(
      lines[0],
      "sampling: reference diffusers (folder: diffusers layout), solver euler, shift 3 (folder: shift), 50 "
      "steps (default)");
  EXPECT_NE(lines[1].find("16-frame tiles"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("no spatial tiles (diffusers' default)"), std::string::npos) << lines[1];

  // Flags win: --flow-shift, --infer-steps, --vae-tiling; --schedule original is the release's whole
  // reference.
  f = testing::open_hv_t2v_fixture("diffusers_shift3");
  r = parsed({"--prompt", "x", "--flow-shift", "5", "--infer-steps", "3", "--vae-tiling"}, f.load);
  lines = apply_hv_reference(r, f.load, f.files.layout);
  EXPECT_EQ(r.schedule.shift, 5.0);
  EXPECT_TRUE(f.load.vae_tiling);
  EXPECT_EQ(lines[0],
            "sampling: reference diffusers (folder: diffusers layout), solver euler, shift 5 (flag), 3 steps "
            "(flag)");
  f = testing::open_hv_t2v_fixture("diffusers_shift3");
  r = parsed({"--prompt", "x", "--schedule", "original"}, f.load);
  lines = apply_hv_reference(r, f.load, f.files.layout);
  EXPECT_EQ(r.schedule.kind, sampling::HvScheduleKind::original);
  EXPECT_EQ(r.schedule.shift, 7.0);  // sample_video.py's --flow-shift, not the folder's
  EXPECT_TRUE(f.load.vae_tiling);
  EXPECT_EQ(lines[0],
            "sampling: reference original (flag), solver euler, shift 7 (default), 50 steps (default)");
  EXPECT_NE(lines[1].find("truncated"), std::string::npos) << lines[1];

  // The release's folder follows the release.
  f = testing::open_hv_t2v_fixture("original");
  r = parsed({"--prompt", "x"}, f.load);
  lines = apply_hv_reference(r, f.load, f.files.layout);
  EXPECT_EQ(r.schedule.kind, sampling::HvScheduleKind::original);
  EXPECT_EQ(
      lines[0],
      "sampling: reference original (folder: original layout), solver euler, shift 7 (default), 50 steps "
      "(default)");
}

TEST(HvReference, CfgWithoutANegativePromptIsRefusedUnderDiffusers) {
  auto f = testing::open_hv_t2v_fixture("diffusers");
  auto r = parsed({"--prompt", "x", "--cfg-scale", "3"}, f.load);
  (void)apply_hv_reference(r, f.load, f.files.layout);
  try {
    validate(r);
    ADD_FAILURE() << "--cfg-scale 3 without --neg-prompt must be refused under diffusers";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--neg-prompt"), std::string::npos) << e.what();
  }
  r = parsed({"--prompt", "x", "--cfg-scale", "3", "--neg-prompt", ""}, f.load);
  (void)apply_hv_reference(r, f.load, f.files.layout);
  EXPECT_NO_THROW(validate(r));
  EXPECT_EQ(to_t2v_request(r, f.dit).negative_prompt, "");  // encoded as given
  // Under the original reference an empty negative prompt is the release's default one.
  r = parsed({"--prompt", "x", "--cfg-scale", "3", "--schedule", "original"}, f.load);
  (void)apply_hv_reference(r, f.load, f.files.layout);
  EXPECT_NO_THROW(validate(r));
  EXPECT_EQ(to_t2v_request(r, f.dit).negative_prompt, std::string(kHvNegativePrompt));
}

TEST(HvReference, ASchedulerThePipelineDoesNotUseIsRefusedByName) {
  const auto dir = std::filesystem::temp_directory_path() / ("uspdit_hv_sched_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "scheduler");
  std::ofstream(dir / "scheduler" / "scheduler_config.json")
      << R"({"_class_name": "UniPCMultistepScheduler", "flow_shift": 7.0, "use_flow_sigmas": true,
             "prediction_type": "flow_prediction"})";
  HvT2vLoadSettings load;
  load.model_base = dir.string();
  HvT2vRequest r;
  try {
    (void)apply_hv_reference(r, load, "diffusers");
    ADD_FAILURE() << "a UniPC scheduler must be refused";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("FlowMatchEulerDiscreteScheduler"), std::string::npos) << what;
    EXPECT_NE(what.find("--schedule original"), std::string::npos) << what;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace uspdit::pipeline
