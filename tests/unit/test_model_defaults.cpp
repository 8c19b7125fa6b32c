// A model folder's generate_defaults.json (pipeline/model_defaults.h): read strictly, between the
// reference's defaults and the flags, and said in the start-up log; the frame strip PNG.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "binary_run.h"
#include "core/args.h"
#include "core/device.h"
#include "core/error.h"
#include "pipeline/family_registry.h"
#include "pipeline/model_defaults.h"
#include "pipeline/t2v_job.h"
#include "video/video_writer.h"

namespace uspdit::pipeline {
namespace {

namespace fs = std::filesystem;
const std::string kOriginal = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v/original";

// The tiny Wan fixture (links to its files) plus a generate_defaults.json with `json`.
std::string fixture_with_defaults(const std::string& name, const std::string& json) {
  const auto dir = uspdit::testing::fresh_test_dir(name);
  for (const auto& entry : fs::directory_iterator(kOriginal)) {
    fs::create_symlink(entry.path(), fs::path(dir) / entry.path().filename());
  }
  std::ofstream(fs::path(dir) / kModelDefaultsFile) << json;
  return dir;
}

struct Resolved {
  T2vRequest request;
  T2vSettings settings;
  std::vector<std::string> lines;
  std::string label, output;
  std::vector<std::string> notes;
};

Resolved resolve(const std::string& dir, std::vector<std::string> flags) {
  flags.insert(flags.begin(), {"--prompt", "a red circle moving right"});
  core::Args args("generate", flags);
  auto job = detect_family(dir, "auto").read_t2v_job(args, dir);
  Resolved r;
  job->check_files();
  job->validate();
  job->apply_settings(r.settings, core::host_device());
  r.request = job->request();
  r.lines = job->startup_lines();
  r.label = job->model_label();
  r.output = job->output_path();
  r.notes = job->notes();
  return r;
}

const char* const kDemoDefaults = R"({"name": "demo", "size": "64*32", "frame_num": 9, "sample_steps": 7,
  "sample_shift": 3.0, "sample_guide_scale": 4.5, "sample_solver": "euler", "dtype": "fp32",
  "trained_sizes": ["64*32"], "comment": "for the test"})";

TEST(ModelDefaults, TheFolderSetsWhatNoFlagGives) {
  const auto dir = fixture_with_defaults("defaults_all", kDemoDefaults);
  const auto r = resolve(dir, {});
  EXPECT_EQ(r.request.latent_shape, (std::vector<int64_t>{1, 16, 3, 4, 8}));  // 9 frames, 32 x 64
  EXPECT_EQ(r.request.steps, 7);
  EXPECT_DOUBLE_EQ(r.request.shift, 3.0);
  EXPECT_DOUBLE_EQ(r.request.guidance_scale, 4.5);
  EXPECT_EQ(r.request.solver, sampling::Solver::euler);
  EXPECT_EQ(r.settings.dit_dtype, at::kFloat);
  EXPECT_EQ(r.settings.text_dtype, at::kFloat);
  EXPECT_EQ(r.label, "demo");
  EXPECT_EQ(r.output, "demo_64x32x9_seed0.mp4");
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
  ASSERT_GE(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0],
            "sampling: reference original (folder: original layout), solver euler (folder: "
            "generate_defaults.json), shift 3 (folder: generate_defaults.json), 7 steps (folder: "
            "generate_defaults.json)");
  EXPECT_EQ(r.lines[1],
            "dtypes: text encoder fp32 (folder: generate_defaults.json), DiT fp32 (folder: "
            "generate_defaults.json), VAE fp32 (always), sampler fp32 (always)");
  EXPECT_EQ(r.lines[2], "model defaults: size, frames, guidance from " + dir + "/" + kModelDefaultsFile +
                            " (a flag overrides each)");
}

TEST(ModelDefaults, EveryFlagWinsOverTheFolder) {
  const auto dir = fixture_with_defaults("defaults_flags", kDemoDefaults);
  const auto r =
      resolve(dir, {"--size", "48*16", "--frame_num", "5", "--sample_steps", "2", "--sample_shift", "8",
                    "--sample_guide_scale", "1", "--sample_solver", "unipc", "--dtype", "bf16"});
  EXPECT_EQ(r.request.latent_shape, (std::vector<int64_t>{1, 16, 2, 2, 6}));
  EXPECT_EQ(r.request.steps, 2);
  EXPECT_DOUBLE_EQ(r.request.shift, 8.0);
  EXPECT_FALSE(r.request.guided);
  EXPECT_EQ(r.request.solver, sampling::Solver::unipc);
  EXPECT_EQ(r.settings.dit_dtype, at::kBFloat16);
  // A size the model was not trained at is said, with the model's own list.
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "size 48*16 is not one demo was trained on (64*32); expect lower quality");
  for (const auto& line : r.lines) EXPECT_EQ(line.find("model defaults"), std::string::npos) << line;
  // --width alone replaces the folder's width and keeps its height.
  EXPECT_EQ(resolve(dir, {"--width", "32"}).request.latent_shape, (std::vector<int64_t>{1, 16, 3, 4, 4}));
}

TEST(ModelDefaults, AFolderWithoutTheFileKeepsGenerateDotPysDefaults) {
  EXPECT_FALSE(read_model_defaults(kOriginal).present());
  const auto r = resolve(kOriginal, {"--size", "64*48", "--frame_num", "5"});
  EXPECT_EQ(r.request.steps, 50);
  EXPECT_DOUBLE_EQ(r.request.shift, 5.0);
  EXPECT_DOUBLE_EQ(r.request.guidance_scale, 5.0);
  EXPECT_EQ(r.settings.dit_dtype, at::kBFloat16);
  EXPECT_EQ(r.label, "Wan 2.1 t2v-1.3B");
}

TEST(ModelDefaults, ABadFileIsOneErrorNamingTheFileAndTheKey) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"frame_nums": 17})", "unknown key \"frame_nums\""},
      {R"({"size": "64x"})", "\"size\""},
      {R"({"frame_num": 18})", "4n+1"},
      {R"({"sample_steps": 0})", "\"sample_steps\""},
      {R"({"sample_shift": -1})", "\"sample_shift\""},
      {R"({"sample_guide_scale": "high"})", "sample_guide_scale"},
      {R"({"sample_solver": "ddim"})", "unipc, dpm++ or euler"},
      {R"({"dtype": "int8"})", "fp32, bf16 or fp16"},
      {R"({"trained_sizes": "64*64"})", "\"trained_sizes\""},
      {R"([1, 2])", "JSON object"},
      {R"({"size": )", "invalid JSON"},
  };
  int i = 0;
  for (const auto& [json, expected] : bad) {
    const auto dir = uspdit::testing::fresh_test_dir("defaults_bad_" + std::to_string(i++));
    std::ofstream(fs::path(dir) / kModelDefaultsFile) << json;
    try {
      (void)read_model_defaults(dir);
      ADD_FAILURE() << json << " was accepted";
    } catch (const UsageError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(expected), std::string::npos) << json << " -> " << what;
      EXPECT_NE(what.find(kModelDefaultsFile), std::string::npos) << json << " -> " << what;
    }
  }
}

TEST(ModelDefaults, TheDemoModelIsFoundFromTheBinaryOrTheEnvironment) {
  // The shipped model sits at models/demo-shapes-t2v, two levels above build/uspdit.
  const auto found = default_model_dir(USPDIT_BINARY);
  ASSERT_FALSE(found.empty());
  EXPECT_TRUE(fs::equivalent(found, std::string(USPDIT_SOURCE_DIR) + "/models/demo-shapes-t2v"));
  EXPECT_TRUE(read_model_defaults(found).present());
  EXPECT_EQ(default_model_dir("/nonexistent/bin/uspdit"), "");
  setenv("USPDIT_DEFAULT_MODEL", "/some/where", 1);
  EXPECT_EQ(default_model_dir(USPDIT_BINARY), "/some/where");
  unsetenv("USPDIT_DEFAULT_MODEL");
}

TEST(FrameStrip, EveryFourthFrameAndTheLastSideBySide) {
  // 10 frames of 3 x 5, frame i filled with i: the strip holds 0, 4, 8 and 9.
  auto frames = at::arange(10, at::kByte).view({10, 1, 1, 1}).expand({10, 3, 5, 3}).contiguous();
  const auto strip = video::frame_strip(frames, 4);
  ASSERT_EQ(strip.sizes(), (std::vector<int64_t>{3, 4 * 5 + 3 * 2, 3}));
  const int64_t expected[] = {0, 4, 8, 9};
  for (int64_t k = 0; k < 4; ++k) {
    EXPECT_EQ(strip.narrow(1, k * 7, 5).min().item<int>(), expected[k]);
    EXPECT_EQ(strip.narrow(1, k * 7, 5).max().item<int>(), expected[k]);
  }
  EXPECT_EQ(strip.narrow(1, 5, 2).max().item<int>(), 0);  // the gap
  EXPECT_THROW(video::frame_strip(frames, 0), UsageError);
}

}  // namespace
}  // namespace uspdit::pipeline
