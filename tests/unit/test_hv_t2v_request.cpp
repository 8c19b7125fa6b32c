// HunyuanVideo's generate flags under sample_video.py's names (two-value --video-size, 4n+1
// --video-length, align_to 16 with a note), their checks naming the fix, and the degree check's
// valid choices for the 24 heads.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/args.h"
#include "core/error.h"
#include "parallel/mesh.h"
#include "pipeline/hv_t2v_request.h"

namespace uspdit::pipeline {
namespace {

struct Parsed {
  HvT2vRequest request;
  HvT2vLoadSettings load;
  std::vector<std::string> notes;
};

Parsed parse(const std::vector<std::string>& tokens) {
  core::Args args("generate", tokens);
  Parsed p;
  read_hv_t2v_flags(args, p.request, p.load, p.notes);
  args.finish();
  return p;
}

std::string error_of(const std::function<void()>& work) {
  try {
    work();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(accepted)";
}

#define EXPECT_CONTAINS(text, needle) EXPECT_NE(std::string(text).find(needle), std::string::npos) << (text)

TEST(HvT2vRequest, TheReferenceCommandLine) {
  // scripts/run_sample_video.sh and the ROCm guide's command, in both spellings.
  const auto p = parse({"--video-size",
                        "720",
                        "1280",
                        "--video_length",
                        "129",
                        "--infer-steps",
                        "50",
                        "--prompt",
                        "A cat walks on the grass, realistic style.",
                        "--flow-reverse",
                        "--seed",
                        "42",
                        "--embedded-cfg-scale",
                        "6.0",
                        "--flow-shift",
                        "7.0",
                        "--use-cpu-offload",
                        "--save-path",
                        "./results",
                        "--model-base",
                        "ckpts",
                        "--use-fp8",
                        "--precision",
                        "bf16",
                        "--vae-precision",
                        "fp16",
                        "--text-encoder-precision",
                        "fp16",
                        "--vae-tiling",
                        "--neg-prompt",
                        "blurry",
                        "--cfg-scale",
                        "1.0"});
  EXPECT_EQ(p.request.height, 720);
  EXPECT_EQ(p.request.width, 1280);
  EXPECT_EQ(p.request.frames, 129);
  EXPECT_EQ(p.request.steps, 50);
  EXPECT_EQ(p.request.seed, 42);
  EXPECT_EQ(p.request.embedded_cfg_scale, 6.0);
  EXPECT_EQ(p.request.cfg_scale, 1.0);
  EXPECT_FALSE(p.request.uses_cfg());
  EXPECT_EQ(p.request.negative_prompt, "blurry");
  EXPECT_TRUE(p.request.schedule.reverse);
  EXPECT_EQ(p.request.schedule.shift, 7.0);
  EXPECT_EQ(p.request.schedule.kind, sampling::HvScheduleKind::original);
  EXPECT_EQ(p.request.latent_frames(), 33);
  EXPECT_EQ(p.request.latent_height(), 90);
  EXPECT_EQ(p.request.latent_width(), 160);
  EXPECT_TRUE(p.load.use_cpu_offload);
  EXPECT_TRUE(p.load.use_fp8);
  EXPECT_TRUE(p.load.vae_tiling);
  EXPECT_EQ(p.load.model_base, "ckpts");
  EXPECT_EQ(p.load.save_path, "./results");
  EXPECT_TRUE(p.notes.empty());
  EXPECT_NO_THROW(validate(p.request));
  EXPECT_NO_THROW(validate(p.load));
}

TEST(HvT2vRequest, DefaultsAreSampleVideoPys) {
  const auto p = parse({"--prompt", "a cat"});
  EXPECT_EQ(p.request.height, 720);
  EXPECT_EQ(p.request.width, 1280);
  EXPECT_EQ(p.request.frames, 129);
  EXPECT_EQ(p.request.steps, 50);
  EXPECT_EQ(p.request.embedded_cfg_scale, 6.0);
  EXPECT_EQ(p.request.cfg_scale, 1.0);
  EXPECT_EQ(p.request.schedule.shift, 7.0);
  EXPECT_TRUE(p.request.schedule.reverse);  // on: every official script passes it
  EXPECT_EQ(p.load.precision, "bf16");
  EXPECT_EQ(p.load.vae_precision, "fp16");
  EXPECT_EQ(p.load.text_encoder_precision, "fp16");
  EXPECT_TRUE(p.load.vae_tiling);  // the reference always tiles
  EXPECT_TRUE(p.notes.empty());
  const auto off = parse({"--prompt", "x", "--flow-reverse", "false"});
  EXPECT_FALSE(off.request.schedule.reverse);  // the reference's literal default, with a note
  ASSERT_EQ(off.notes.size(), 1u);
  EXPECT_CONTAINS(off.notes[0], "--flow-reverse");
  EXPECT_EQ(parse({"--prompt", "x", "--vae-tiling", "false", "--flow-reverse"}).load.vae_tiling, false);
  EXPECT_EQ(parse({"--prompt", "x", "--schedule", "diffusers", "--flow-reverse"}).request.schedule.kind,
            sampling::HvScheduleKind::diffusers);
}

TEST(HvT2vRequest, SizesAreRoundedUpTo16WithANote) {
  const auto p = parse({"--prompt", "x", "--flow-reverse", "--video-size", "540", "962"});
  EXPECT_EQ(p.request.height, 544);
  EXPECT_EQ(p.request.width, 976);
  ASSERT_EQ(p.notes.size(), 2u);
  EXPECT_CONTAINS(p.notes[0], "height 540 rounded up to 544");
  EXPECT_CONTAINS(p.notes[1], "width 962 rounded up to 976");
  EXPECT_CONTAINS(p.notes[0], "align_to");
  EXPECT_EQ(align_to(720, 16), 720);
  EXPECT_EQ(align_to(721, 16), 736);
  // xDiT's spelling.
  const auto x = parse({"--prompt", "x", "--height", "480", "--width", "848"});
  EXPECT_EQ(x.request.height, 480);
  EXPECT_EQ(x.request.width, 848);
}

TEST(HvT2vRequest, BadValuesNameTheFix) {
  EXPECT_CONTAINS(error_of([] {
                    parse({"--prompt", "x", "--video-size", "720"});
                  }),
                  "--video-size takes 2 values, HEIGHT WIDTH (e.g. 720 1280), got 1 ('720')");
  EXPECT_CONTAINS(error_of([] { parse({"--prompt", "x", "--video-size", "720", "1280", "3"}); }), "got 3");
  EXPECT_CONTAINS(error_of([] {
                    parse({"--prompt", "x", "--video-size", "720", "wide"});
                  }),
                  "--video-size needs an integer, got 'wide'");
  EXPECT_CONTAINS(error_of([] {
                    parse({"--prompt", "x", "--infer-steps", "5", "0"});
                  }),
                  "--infer-steps takes one value, got 2");
  EXPECT_CONTAINS(error_of([] { parse({"--prompt", "x", "--schedule", "karras"}); }), "original");

  auto ok = parse({"--prompt", "x", "--flow-reverse"}).request;
  const auto refused = [&](HvT2vRequest r, const std::string& needle) {
    EXPECT_CONTAINS(error_of([&] { validate(r); }), needle);
  };
  auto r = ok;
  r.frames = 130;
  refused(r, "--video-length 130: must be 4n+1 (e.g. 129 or 133");
  r = ok;
  r.prompt.clear();
  refused(r, "--prompt");
  r = ok;
  r.steps = 0;
  refused(r, "--infer-steps must be >= 1");
  r = ok;
  r.schedule.shift = 0;
  refused(r, "--flow-shift");
  r = ok;
  r.cfg_scale = 0.5;
  refused(r, "--cfg-scale must be >= 1");
  r = ok;
  r.schedule.kind = sampling::HvScheduleKind::diffusers;
  r.schedule.reverse = false;
  refused(r, "--flow-reverse");
  HvT2vLoadSettings load;
  load.precision = "fp64";
  EXPECT_CONTAINS(error_of([&] { validate(load); }), "--precision fp64: use fp32, fp16 or bf16");
  load = {};
  load.use_fp8 = true;
  load.dit_weight = "ckpts/mp_rank_00_model_states.pt";
  EXPECT_CONTAINS(error_of([&] { validate(load); }), "_fp8.pt");
}

TEST(HvT2vRequest, DegreesListTheValidChoicesFor24Heads) {
  // 16 ranks: Ulysses 16 does not divide 24 heads; the message lists what does.
  const auto msg = error_of([] { parallel::validate_degrees({16, 1, 1}, 16, 24, "HunyuanVideo", true); });
  EXPECT_CONTAINS(msg, "ulysses degree 16 does not divide the 24 attention heads");
  EXPECT_CONTAINS(msg, "Valid for HunyuanVideo (24 heads) on 16 ranks");
  EXPECT_CONTAINS(msg, "U=8 R=2, U=4 R=4, U=2 R=8, U=1 R=16, U=8 R=1 cfg=2");
  EXPECT_NO_THROW(parallel::validate_degrees({24, 1, 1}, 24, 24, "HunyuanVideo", true));
  EXPECT_NO_THROW(parallel::validate_degrees({8, 1, 1}, 8, 24, "HunyuanVideo", true));
}

TEST(HvT2vRequest, FileNameIsSampleVideoPys) {
  EXPECT_EQ(hv_video_file_name("2026-12-05-07:00:00", 42, "  A cat/dog walks.\n"),
            "2026-12-05-07:00:00_seed42_A catdog walks..mp4");
  // prompt.strip()[:100] counts characters: 101 three-byte characters keep 100 of them, whole.
  std::string long_prompt;
  for (int i = 0; i < 101; ++i) long_prompt += "\xe7\x8c\xab";  // 猫
  const auto name = hv_video_file_name("t", 0, long_prompt);
  EXPECT_EQ(name, "t_seed0_" + long_prompt.substr(0, 300) + ".mp4");
}

}  // namespace
}  // namespace uspdit::pipeline
