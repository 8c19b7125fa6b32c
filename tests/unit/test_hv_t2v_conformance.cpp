// The whole HunyuanVideo text-to-video pipeline on one rank against a transcription of the
// release's algorithm driving diffusers' and transformers' modules (tests/data/hv_t2v,
// tools/make_hv_t2v_fixtures.py): token ids, Llama states and mask after the crop, CLIP pooled,
// noise, latents after each step, the decoded frames (tiled as the release for the original
// layout, one decoder call for the diffusers layout's larger tiles), and the true-CFG branch —
// both checkpoint layouts, fp32, under the original reference (`--schedule original`; the
// diffusers layout's own reference, stock HunyuanVideoPipeline, is test_hv_t2v_diffusers.cpp).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "core/error.h"
#include "device_under_test.h"
#include "hv_t2v_fixture.h"
#include "io/checkpoint.h"
#include "models/clip/clip_tokenizer.h"
#include "models/hunyuan_video/hv_loader.h"
#include "models/llama/llama_tokenizer.h"
#include "parallel/mesh.h"
#include "parallel/self_communicator.h"
#include "pipeline/hv_t2v_family.h"
#include "pipeline/t2v_pipeline.h"

namespace uspdit::pipeline {
namespace {

const std::string& kFixture = testing::kHvT2vFixture;
constexpr auto max_abs = testing::hv_max_abs;
constexpr auto frames01 = testing::hv_frames01;

// The fixture's request (meta.json "request").
HvT2vRequest fixture_request(double cfg_scale) {
  HvT2vRequest r;
  r.prompt = "  A cat walks on the grass, realistic style.\n";
  r.negative_prompt = cfg_scale > 1 ? "low quality, blurry" : "";
  r.height = r.width = 40;
  r.frames = 17;
  r.steps = 2;
  r.seed = 2027;
  r.embedded_cfg_scale = 6.0;
  r.cfg_scale = cfg_scale;
  r.schedule = {sampling::HvScheduleKind::original, 7.0, true, 1000};
  return r;
}

using Fixture = testing::HvT2vFixture;
constexpr auto open_fixture = testing::open_hv_t2v_fixture;

std::unique_ptr<T2vPipeline> make_pipeline(parallel::ProcessMesh& mesh, const Fixture& f,
                                           const HvT2vRequest& request) {
  T2vSettings settings;
  settings.show_progress = false;
  settings.device = settings.text_device = testing::device_under_test();
  settings.vae_tiling = VaeTiling{};  // the release's tiling, sizes from the VAE's config
  return std::make_unique<T2vPipeline>(
      mesh, std::make_unique<HvFamily>(f.files, settings, hv_t2v_options(request, f.load)), settings);
}

class HvT2vConformance : public ::testing::TestWithParam<const char*> {};

TEST_P(HvT2vConformance, EveryStageMatchesTheRelease) {
  const std::string layout = GetParam();
  const auto ref = io::open_checkpoint(kFixture + "/reference.safetensors");
  const auto expect = [&](const std::string& name) { return ref->load(name, at::kFloat); };
  const auto f = open_fixture(layout);
  const auto hv_request = fixture_request(1.0);
  const auto request = to_t2v_request(hv_request, f.dit);

  // Token ids: the template, strip(), padding to 351; CLIP's 77.
  const auto tmpl = hv_prompt_template(true);
  const auto llama_ids = models::llama::LlamaTokenizer::load(f.files.tokenizer)
                             .encode_padded(hv_templated_prompt(hv_request.prompt, tmpl), kHvMaxLength);
  EXPECT_EQ(max_abs(at::tensor(llama_ids.ids).unsqueeze(0), expect("llama_ids")), 0.0);
  EXPECT_EQ(max_abs(at::tensor(llama_ids.mask).unsqueeze(0), expect("llama_mask")), 0.0);
  const auto clip_ids = models::clip::ClipTokenizer::load(f.files.tokenizer_2)
                            .encode_padded(hv_templated_prompt(hv_request.prompt, {"{}", 0}));
  EXPECT_EQ(max_abs(at::tensor(clip_ids.ids).unsqueeze(0), expect("clip_ids")), 0.0);

  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  auto pipe = make_pipeline(mesh, f, hv_request);
  const auto text = pipe->encode_prompts(request);
  EXPECT_FALSE(text.uncond.defined());
  const double states_err = max_abs(text.cond.states, expect("text_states"));
  const double pooled_err = max_abs(text.cond.pooled, expect("pooled"));
  EXPECT_LE(states_err, 1e-4);
  EXPECT_EQ(max_abs(text.cond.mask, expect("text_mask")), 0.0);
  EXPECT_LE(pooled_err, 1e-4);

  const auto noise = pipe->initial_noise(request);
  EXPECT_EQ(max_abs(noise, expect("noise")), 0.0) << "noise must be torch.randn with the seed";
  const double step1_err = max_abs(pipe->denoise(request, text, noise, 1, nullptr), expect("latents_1"));
  const auto latents = pipe->denoise(request, text, noise, request.steps, nullptr);
  const double step2_err = max_abs(latents, expect("latents_2"));
  EXPECT_LE(step1_err, 1e-3);
  EXPECT_LE(step2_err, 1e-3);
  const double video_err = max_abs(frames01(pipe->decode(latents)), expect("video_" + layout));
  EXPECT_LE(video_err, 1e-3);
  // From the reference latents the decode alone is exact to the VAE's tolerance.
  const double decode_err =
      max_abs(frames01(pipe->decode(testing::on_device(expect("latents_2")))), expect("video_" + layout));
  EXPECT_LE(decode_err, 1e-4);
  std::printf(
      "[conformance] hv_t2v %s: text states %.2e, pooled %.2e, latents %.2e / %.2e, frames %.2e, "
      "decode alone %.2e\n",
      layout.c_str(), states_err, pooled_err, step1_err, step2_err, video_err, decode_err);
}

TEST_P(HvT2vConformance, TrueCfgMatchesTheRelease) {
  const std::string layout = GetParam();
  const auto ref = io::open_checkpoint(kFixture + "/reference.safetensors");
  const auto expect = [&](const std::string& name) { return ref->load(name, at::kFloat); };
  const auto f = open_fixture(layout);
  const auto hv_request = fixture_request(3.0);
  const auto request = to_t2v_request(hv_request, f.dit);
  ASSERT_TRUE(request.guided);
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  auto pipe = make_pipeline(mesh, f, hv_request);
  const auto text = pipe->encode_prompts(request);
  EXPECT_LE(max_abs(text.uncond.states, expect("neg_text_states")), 1e-4);
  EXPECT_EQ(max_abs(text.uncond.mask, expect("neg_text_mask")), 0.0);
  EXPECT_LE(max_abs(text.uncond.pooled, expect("neg_pooled")), 1e-4);
  const double err = max_abs(pipe->denoise(request, text, pipe->initial_noise(request), 2, nullptr),
                             expect("latents_cfg_2"));
  EXPECT_LE(err, 1e-3);
  std::printf("[conformance] hv_t2v %s cfg 3: latents %.2e\n", layout.c_str(), err);
}

INSTANTIATE_TEST_SUITE_P(Fixture, HvT2vConformance, ::testing::Values("original", "diffusers"));

TEST(HvT2vFamily, VaeTilingOffIsOneDecoderCall) {
  // --vae-tiling false on the original layout: one decoder call, which is what the diffusers
  // layout's larger tiles amount to for this video (the same weights).
  const auto ref = io::open_checkpoint(kFixture + "/reference.safetensors");
  const auto f = open_fixture("original");
  T2vSettings settings;
  settings.show_progress = false;
  settings.device = settings.text_device = testing::device_under_test();
  parallel::SelfCommunicator self;
  parallel::ProcessMesh mesh(self, {1, 1, 1});
  T2vPipeline pipe(
      mesh, std::make_unique<HvFamily>(f.files, settings, hv_t2v_options(fixture_request(1.0), f.load)),
      settings);
  const auto video = pipe.decode(testing::on_device(ref->load("latents_2", at::kFloat)));
  EXPECT_LE(max_abs(frames01(video), ref->load("video_diffusers", at::kFloat)), 1e-4);
  EXPECT_GT(max_abs(frames01(video), ref->load("video_original", at::kFloat)), 1e-2)
      << "tiles blend differently";
}

TEST(HvT2vFamily, GuidanceFollowsTheDitDtype) {
  // 6.0 cast to bf16 then ×1000 in bf16 is 6016 (6000 is halfway and rounds to even); fp32 keeps 6000.
  const auto f = open_fixture("original");
  T2vSettings settings;
  settings.dit_dtype = at::kBFloat16;
  HvFamily bf16(f.files, settings, hv_t2v_options(fixture_request(1.0), f.load));
  EXPECT_EQ(bf16.guidance(2)[1].item<float>(), 6016.0f);
  settings.dit_dtype = at::kFloat;
  HvFamily fp32(f.files, settings, hv_t2v_options(fixture_request(1.0), f.load));
  EXPECT_EQ(fp32.guidance(1)[0].item<float>(), 6000.0f);
  EXPECT_EQ(fp32.text_len(), 256);
  auto image = fixture_request(1.0);
  image.frames = 1;
  EXPECT_EQ(HvFamily(f.files, settings, hv_t2v_options(image, f.load)).text_len(), 315);
}

TEST(HvT2vFamily, CropStartIsTheTemplatesTokensWithTheBos) {
  // With the real Llama 3 tokenizer, the part of each template before "{}" is crop_start tokens
  // long, <|begin_of_text|> included (95 for videos, 36 for images), so the kept positions start
  // at the prompt's first token.
  const auto tokenizer = models::llama::LlamaTokenizer::load(open_fixture("original").files.tokenizer);
  for (const bool video : {true, false}) {
    const auto tmpl = hv_prompt_template(video);
    const auto ids = tokenizer.encode(tmpl.text.substr(0, tmpl.text.find("{}")));
    EXPECT_EQ(static_cast<int64_t>(ids.size()), tmpl.crop_start) << (video ? "video" : "image");
    EXPECT_EQ(ids.front(), tokenizer.token_id("<|begin_of_text|>"));
    const auto prompted = tokenizer.encode(hv_templated_prompt("A cat", tmpl));
    EXPECT_EQ(tokenizer.decode({prompted.begin() + tmpl.crop_start, prompted.end()}), "A cat<|eot_id|>");
  }
}

TEST(HvT2vFamily, NegativePromptDefaultsToTheReleases) {
  const auto f = open_fixture("original");
  auto r = fixture_request(3.0);
  r.negative_prompt.reset();
  EXPECT_EQ(to_t2v_request(r, f.dit).negative_prompt, std::string(kHvNegativePrompt));
  EXPECT_EQ(to_t2v_request(r, f.dit).latent_shape, (std::vector<int64_t>{1, 4, 5, 5, 5}));
  EXPECT_EQ(hv_templated_prompt(" \t a cat \n", {"[{}]", 0}), "[a cat]");
}

}  // namespace
}  // namespace uspdit::pipeline
