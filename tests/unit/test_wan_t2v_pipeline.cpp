// The whole Wan 2.1 text-to-video pipeline on one rank against diffusers' WanPipeline
// (tests/data/wan_t2v, tools/make_wan_t2v_fixtures.py): schedule, prompt embeddings, noise,
// latents, decoded video. A -Diffusers folder against stock diffusers 0.42.1 (its own scheduler
// config), an original folder against Wan's generate.py schedule.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/error.h"

#include "device_under_test.h"
#include "io/checkpoint.h"
#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "pipeline/wan_sampling_choice.h"
#include "pipeline/wan_t2v.h"
#include "pipeline/wan_t2v_files.h"

namespace uspdit::pipeline {
namespace {

const std::string kFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v";

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e9;
  return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

WanT2vRequest fixture_request(sampling::Solver solver, double guidance) {
  WanT2vRequest r;
  r.task = "t2v-1.3B";
  r.prompt = "A cat walks on the grass, realistic style. 一只猫在草地上散步";
  r.width = 64;
  r.height = 48;
  r.frames = 5;
  r.steps = 2;
  r.shift = 5.0;
  r.seed = 42;
  r.solver = solver;
  r.guide_scale = guidance;
  r.text_len = 16;  // WanPipeline's max_sequence_length in the fixture (the diffusers config has none)
  return r;
}

// A reference case of tools/make_wan_t2v_fixtures.py: an original folder sampled as Wan's
// generate.py does (solver given as the flag), or a -Diffusers folder whose own scheduler config
// decides solver and shift, sampled as stock diffusers does.
struct Case {
  const char* name;
  const char* folder;
  const char* solver_flag;  // nullptr: the folder's
  double guidance;
  const char* negative;  // nullptr: none given (the reference's default)
  int steps;
};

WanT2vRequest case_request(const Case& c, const std::string& layout) {
  auto r = fixture_request(sampling::Solver::unipc, c.guidance);
  WanSamplingFlags flags;
  flags.steps = c.steps;
  if (c.solver_flag != nullptr) flags.solver = c.solver_flag;
  choose_wan_sampling(kFixture + "/" + c.folder, layout, flags).apply(r);
  if (c.negative != nullptr) r.negative_prompt = c.negative;
  return r;
}

class WanT2vConformance : public ::testing::TestWithParam<Case> {};

TEST_P(WanT2vConformance, EveryStageMatchesItsReference) {
  const auto c = GetParam();
  const auto ref = io::open_checkpoint(kFixture + "/reference.safetensors");
  const auto expect = [&](const std::string& name) {
    return ref->load(std::string(c.name) + "." + name, at::kFloat);
  };
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  WanT2vSettings settings;
  settings.show_progress = false;
  settings.device = settings.text_device = testing::device_under_test();
  const auto files = locate_wan_t2v_files(kFixture + "/" + c.folder);
  WanT2vPipeline pipe(mesh, files, settings);
  const auto request = case_request(c, files.layout);

  // The schedule is the reference's to the last bit.
  const auto schedule = request.schedule();
  const auto sigmas = ref->load(std::string(c.name) + ".sigmas", at::kDouble);
  const auto timesteps = ref->load(std::string(c.name) + ".timesteps", at::kDouble);
  EXPECT_TRUE(at::equal(at::tensor(schedule.sigmas, at::kDouble), sigmas)) << sigmas;
  EXPECT_TRUE(at::equal(at::tensor(schedule.timesteps, at::kDouble), timesteps)) << timesteps;

  const auto text = pipe.encode_prompts(request);
  EXPECT_LE(max_abs(text.cond.states, expect("prompt_embeds")), 1e-4);
  if (request.uses_cfg()) {
    EXPECT_LE(max_abs(text.uncond.states, expect("negative_prompt_embeds")), 1e-4);
  } else {
    EXPECT_FALSE(text.uncond.defined());
  }
  const auto noise = pipe.initial_noise(request);
  EXPECT_EQ(max_abs(noise, expect("noise")), 0.0) << "noise must be torch.randn with the seed";
  const auto latents = pipe.denoise(request, text, noise, request.steps, nullptr);
  const double latent_err = max_abs(latents, expect("latents"));
  EXPECT_LE(latent_err, 1e-3);
  const auto video = pipe.decode(latents);
  const double video_err = max_abs(video, expect("video"));
  EXPECT_LE(video_err, 1e-3);
  std::printf("[conformance] %s %s: text %.2e, latents %.2e, video %.2e\n", c.name, c.folder,
              max_abs(text.cond.states, expect("prompt_embeds")), latent_err, video_err);
  // And from the reference latents the decode alone is exact to the VAE's tolerance.
  EXPECT_LE(max_abs(pipe.decode(testing::on_device(expect("latents"))), expect("video")), 1e-4);
}

constexpr const char* kNegative = "blurry, static, low quality";  // the fixture's NEGATIVE

INSTANTIATE_TEST_SUITE_P(
    Fixture, WanT2vConformance,
    ::testing::Values(
        // Original folder: Wan's generate.py schedule, Wan's default negative prompt.
        Case{"unipc", "original", "unipc", 5.0, nullptr, 2},
        Case{"euler_noguide", "original", "euler", 1.0, nullptr, 2},
        Case{"dpmpp", "original", "dpm++", 4.0, nullptr, 2},
        // -Diffusers folders: stock diffusers with the folder's scheduler (shift 3 or 7 set only
        // there; DPM-Solver++ and flow Euler folders), negative prompt given or diffusers' "".
        Case{"d3_neg", "diffusers", nullptr, 5.0, kNegative, 3},
        Case{"d3_noneg", "diffusers", nullptr, 5.0, nullptr, 3},
        Case{"d3_noguide", "diffusers", nullptr, 1.0, nullptr, 3},
        Case{"d7_noneg", "diffusers_shift7", nullptr, 4.0, nullptr, 3},
        Case{"d7_noguide", "diffusers_shift7", nullptr, 1.0, nullptr, 3},
        Case{"ddpm_noneg", "diffusers_dpm", nullptr, 4.0, nullptr, 3},
        Case{"deuler_neg", "diffusers_euler", nullptr, 5.0, kNegative, 3},
        // UniPC whose last step ends at sigma_min rather than 0.
        Case{"dsmin_noguide", "diffusers_sigma_min", nullptr, 1.0, nullptr, 3}),
    [](const auto& param_info) {
      return std::string(param_info.param.name) + "_" + param_info.param.folder;
    });

TEST(WanT2vPipeline, GenerateRecordsEveryStage) {
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  WanT2vSettings settings;
  settings.show_progress = false;
  settings.warmup_steps = 1;
  settings.n_repeats = 2;
  WanT2vPipeline pipe(mesh, locate_wan_t2v_files(kFixture + "/original"), settings);
  const auto video = pipe.generate(fixture_request(sampling::Solver::unipc, 5.0));
  EXPECT_EQ(video.sizes(), (at::IntArrayRef{3, 5, 48, 64}));
  const auto ref = io::open_checkpoint(kFixture + "/reference.safetensors");
  EXPECT_LE(max_abs(video, ref->load("unipc.video", at::kFloat)[0]), 1e-3);
  const auto& rec = pipe.record();
  ASSERT_EQ(rec.step_seconds.size(), 2u);
  EXPECT_EQ(rec.step_seconds[1].size(), 2u);
  EXPECT_EQ(rec.warmup_step_seconds.size(), 1u);
  for (const char* stage : {"encode_text", "load_dit", "warmup", "load_vae"}) {
    EXPECT_GT(rec.seconds_of(stage, 0), 0.0) << stage;
  }
  EXPECT_GT(rec.seconds_of("denoise", 1), 0.0);
  EXPECT_GT(rec.seconds_of("decode", 1), 0.0);
}

TEST(WanT2vFiles, MissingPartsAreListedTogether) {
  const auto dir = ::testing::TempDir() + "/wan_t2v_partial";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kFixture + "/original/config.json", dir + "/config.json",
                             std::filesystem::copy_options::overwrite_existing);
  try {
    locate_wan_t2v_files(dir);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("models_t5_umt5-xxl-enc-bf16.pth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Wan2.1_VAE.pth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("google/umt5-xxl"), std::string::npos) << msg;
  }
}

TEST(WanT2vRequest, BadRequestsNameTheFix) {
  const auto refused = [](WanT2vRequest r, const std::string& needle) {
    try {
      validate(r);
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto ok = fixture_request(sampling::Solver::unipc, 5.0);
  EXPECT_NO_THROW(validate(ok));
  auto r = ok;
  r.frames = 6;
  refused(r, "4n+1");
  r = ok;
  r.width = 72;
  refused(r, "multiples of 16");
  r = ok;
  r.prompt.clear();
  refused(r, "--prompt");
  r = ok;
  r.steps = 0;
  refused(r, "must be >= 1");
  int64_t w = 0, h = 0;
  parse_wan_size("1280*720", w, h);
  EXPECT_EQ(w, 1280);
  EXPECT_EQ(h, 720);
  EXPECT_THROW(parse_wan_size("1280by720", w, h), UsageError);
  EXPECT_THROW(parse_wan_size("1280*", w, h), UsageError);
}

}  // namespace
}  // namespace uspdit::pipeline
