// The shipped demo model (models/demo-shapes-t2v, issue 15) draws what its prompt says: 24
// prompt/seed pairs through `uspdit generate` — every colour with every direction, the three
// shapes, four phrasings, seeds training never saw — read back from the mp4 by the detector
// (shape_motion_detector.h), on 1 rank, on 2 ranks (Ulysses 2) and CFG-parallel; the model
// folder's defaults (size, frames, steps) apply without flags; and the README's first command
// (scripts/run.sh) makes the strip the README shows.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "binary_run.h"
#include "png_read.h"
#include "shape_motion_detector.h"
#include "video/video_reader.h"

namespace uspdit::testing {
namespace {

namespace fs = std::filesystem;
const std::string kRoot = USPDIT_SOURCE_DIR;
const std::string kModel = kRoot + "/models/demo-shapes-t2v";

// Under the sanitizers (several times slower) every fifth case — cases 0, 5, 10, 15, 20: five
// colours, all four directions, all three shapes (a stride of 3 would keep one shape: case i's
// shape is i mod 3) — so the ASan run still drives the whole pipeline on each mesh; the release
// build runs all 24 and holds the bar.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kCaseStride = 5;
constexpr bool kSanitized = true;
#else
constexpr int kCaseStride = 1;
constexpr bool kSanitized = false;
#endif

struct Case {
  std::string prompt;
  int64_t seed;
};

// Every colour x every direction (24); the shape cycles so each appears 8 times; four phrasings of
// the training captions' kinds; seeds far from the few the training script sampled with.
std::vector<Case> cases() {
  const char* colours[] = {"red", "green", "blue", "yellow", "magenta", "cyan"};
  const char* directions[] = {"right", "left", "up", "down"};
  const char* shapes[] = {"circle", "square", "triangle"};
  const char* forms[] = {"a %s %s moving %s", "one %s %s slides %s", "the %s %s drifting %s",
                         "a %s %s going %s"};
  std::vector<Case> out;
  for (int c = 0; c < 6; ++c) {
    for (int d = 0; d < 4; ++d) {
      const int i = c * 4 + d;
      char prompt[96];
      std::snprintf(prompt, sizeof prompt, forms[i % 4], colours[c], shapes[(c + d) % 3], directions[d]);
      out.push_back({prompt, 7000 + 13 * i});
    }
  }
  return out;
}

struct Score {
  int total = 0, colour_and_direction = 0, shape = 0;
  std::string report;
};

// `ranks` ranks with `mesh` flags; the model's defaults give size, frames, steps and guidance.
// $USPDIT_DEMO_FLAGS is added to every run: the same check for other settings by hand, e.g.
// USPDIT_DEMO_FLAGS="--cache magcache" (bench/caching.md's prompt-fidelity table).
Score score(int ranks, const std::string& mesh, const std::string& name) {
  const auto dir = fresh_test_dir("demo_" + name);
  const char* extra = std::getenv("USPDIT_DEMO_FLAGS");
  Score s;
  const auto all = cases();
  for (size_t i = 0; i < all.size(); i += kCaseStride) {
    const auto& c = all[i];
    const auto file = dir + "/seed" + std::to_string(c.seed) + ".mp4";
    const std::string args = "generate --ckpt_dir " + kModel + " --prompt \"" + c.prompt + "\" --base_seed " +
                             std::to_string(c.seed) + " --save_file " + file + " --no-progress " + mesh +
                             " " + (extra ? extra : "");
    const auto run = ranks == 1 ? run_shell(std::string("OMP_NUM_THREADS=1 " USPDIT_BINARY " ") + args)
                                : run_uspdit_ranks(ranks, args, 120);
    EXPECT_EQ(run.status, 0) << run.output;
    if (run.status != 0) continue;
    ++s.total;
    const auto want = caption_parts(c.prompt);
    const auto seen = detect_shape_motion(video::read_video_rgb8(file));
    std::string got = "nothing";
    if (seen) {
      got = seen->colour + " " + seen->shape + " " + seen->direction;
      s.colour_and_direction += seen->colour == want.colour && seen->direction == want.direction;
      s.shape += seen->shape == want.shape;
    }
    s.report += "  \"" + c.prompt + "\" seed " + std::to_string(c.seed) + ": " + got + "\n";
  }
  return s;
}

// The bar: colour and direction as prompted in ≥ 90 % (22 of 24), shape in ≥ 75 % (18).
// The shipped model reaches 22 and 19 on every mesh (docs/demo_model/README.md has the per-prompt
// table); 1 rank, Ulysses 2 and CFG-parallel sum in different orders and give the same reading, so
// a last-bit difference does not move a case across the detector's thresholds. The sanitizer
// build's subset (cases 0, 5, 10, 15, 20; other code generation) allows one colour miss and three
// shape misses: the release build reads 5/5 and 3/5 there (cases 10 and 20 are among the five
// shape misses), so one more flip would be noise, not a regression the release bar misses.
void expect_agreement(const Score& s) {
  const int n = (24 + kCaseStride - 1) / kCaseStride;
  ASSERT_EQ(s.total, n);
  EXPECT_GE(s.colour_and_direction, n == 24 ? 22 : n - 1) << s.report;
  EXPECT_GE(s.shape, n == 24 ? 18 : n - 3) << s.report;
  std::printf("colour+direction %d/%d, shape %d/%d\n%s", s.colour_and_direction, n, s.shape, n,
              s.report.c_str());
}

TEST(DemoModel, DrawsWhatThePromptSaysOnOneRank) {
  expect_agreement(score(1, "", "r1"));
}

TEST(DemoModel, DrawsWhatThePromptSaysOnTwoRanks) {
  expect_agreement(score(2, "--ulysses_degree 2", "u2"));
}

TEST(DemoModel, DrawsWhatThePromptSaysCfgParallel) {
  expect_agreement(score(2, "--use_cfg_parallel", "cfg2"));
}

TEST(DemoModel, GenerateWithoutCkptDirUsesItAtItsOwnSize) {
  const auto dir = fresh_test_dir("demo_default");
  const auto run = run_shell(std::string("cd ") + dir +
                             " && OMP_NUM_THREADS=1 " USPDIT_BINARY
                             " generate --prompt \"a green square moving up\" --no-progress");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("models/demo-shapes-t2v"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("model defaults: size, frames, guidance from"), std::string::npos) << run.output;
  std::vector<fs::path> videos;
  for (const auto& e : fs::directory_iterator(dir)) videos.push_back(e.path());
  ASSERT_EQ(videos.size(), 1u);
  EXPECT_EQ(videos[0].filename().string(), "demo-shapes-t2v_64x64x17_seed0.mp4");
  const auto info = video::video_info(videos[0].string());
  EXPECT_EQ(info.width, 64);
  EXPECT_EQ(info.height, 64);
  EXPECT_EQ(info.frames, 17);
}

// The README shows docs/demo_strip.png and says `scripts/run.sh` makes it: it does, byte for
// byte, on the kind of CPU docs/demo_strip.txt names (another CPU's vector units may round a
// last bit differently; there the frames must still agree to one 8-bit level on 99.9 % of values).
TEST(DemoModel, TheReadmeCommandMakesTheReadmeStrip) {
  const auto out = fresh_test_dir("demo_run_sh");
  const auto run = run_shell("USPDIT_NO_BUILD=1 USPDIT_BIN=" USPDIT_BINARY " USPDIT_OUT=" + out + " " +
                             kRoot + "/scripts/run.sh");
  ASSERT_EQ(run.status, 0) << run.output;
  int w0 = 0, h0 = 0, w1 = 0, h1 = 0;
  const auto shipped = read_png(kRoot + "/docs/demo_strip.png", &w0, &h0);
  const auto made = read_png(out + "/demo_strip.png", &w1, &h1);
  ASSERT_FALSE(shipped.empty());
  ASSERT_FALSE(made.empty());
  ASSERT_EQ(w0, w1);
  ASSERT_EQ(h0, h1);
  std::ifstream cpuinfo("/proc/cpuinfo"), recorded(kRoot + "/docs/demo_strip.txt");
  std::string line, model, flags, wanted;
  while (std::getline(cpuinfo, line) && (model.empty() || flags.empty())) {
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = line.substr(line.find(':') + 1) + " ";
  }
  // As scripts/run.sh writes it: "<model name>;" and the vector units present.
  model += ";";
  for (const std::string isa : {"avx2", "avx512f", "avx512_bf16", "amx_tile"}) {
    const std::string word = ' ' + isa + ' ';
    if (flags.find(word) != std::string::npos) model += word.substr(0, word.size() - 1);
  }
  while (std::getline(recorded, line)) {
    if (line.rfind("cpu: ", 0) == 0) wanted = line.substr(5);
  }
  size_t differ = 0, far = 0;
  for (size_t i = 0; i < made.size(); ++i) {
    differ += made[i] != shipped[i];
    far += std::abs(int(made[i]) - int(shipped[i])) > 1;
  }
  // (The sanitizer build compiles our code differently; it is held to the other CPU's bar.)
  if (model == wanted && !kSanitized) {
    EXPECT_EQ(differ, 0u) << "scripts/run.sh no longer makes docs/demo_strip.png on " << model
                          << ": regenerate it (docs/demo_strip.txt says how) if the change is meant";
  } else {
    std::printf("this CPU (%s) is not the strip's (%s): %zu of %zu values differ\n", model.c_str(),
                wanted.c_str(), differ, made.size());
    EXPECT_EQ(far, 0u);
    EXPECT_LE(differ, made.size() / 1000);
  }
}

}  // namespace
}  // namespace uspdit::testing
