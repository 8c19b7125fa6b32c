// `uspdit generate --cache ...` through the binary: on 2 CFG-parallel ranks the log and the bench
// JSON say, per step and branch, computed or reused (both branches, though each group ran one),
// the block passes saved and the residual memory; --help lists the flags; contradictory flags
// are refused on every rank with exit 2.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "binary_run.h"
#include "io/json.h"

namespace {

namespace fs = std::filesystem;
const std::string kFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v/original";
const std::string kTiny = " --prompt \"a cat\" --size 64*48 --frame_num 5 --sample_steps 6 --dtype fp32";

// Output and exit line of every rank of `mpirun -np N uspdit generate ARGS`.
std::string generate(int np, const std::string& args) {
  return uspdit::testing::run_uspdit_ranks(np, "generate " + args).output;
}

constexpr auto count = uspdit::testing::count_of;

TEST(CliCache, TheReportSaysPerStepAndBranchWhatWasReused) {
  const auto dir = fs::path(::testing::TempDir()) / "generate_cache";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto out =
      generate(2, "--ckpt_dir " + kFixture + kTiny + " --use_cfg_parallel --use_magcache --save_file " +
                      (dir / "v.mp4").string() + " --bench_output " + (dir / "results").string());
  ASSERT_EQ(count(out, "exit=0"), 2) << out;
  EXPECT_NE(out.find("cache magcache, threshold 0.12, K 4, retention ratio 0.2"), std::string::npos) << out;
  EXPECT_NE(out.find("cache magcache: cond CRRRRC, uncond CRRRRC"), std::string::npos) << out;
  int reports = 0;
  for (const auto& e : fs::directory_iterator(dir / "results")) {
    ++reports;
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    const auto doc = uspdit::io::Json::parse(text.str(), e.path().string());
    EXPECT_EQ(doc.find("config")->find("cache")->as_string(), "magcache");
    const auto& c = *doc.find("cache");
    EXPECT_EQ(c.find("method")->as_string(), "magcache");
    EXPECT_EQ(c.find("forwards")->as_int(), 12);
    EXPECT_EQ(c.find("forwards_reused")->as_int(), 8);
    EXPECT_EQ(c.find("block_passes")->as_int(), 24);  // the tiny DiT has 2 blocks
    EXPECT_EQ(c.find("block_passes_saved")->as_int(), 16);
    // One [1, 24 tokens, 24] fp32 residual: this rank holds its own branch's only.
    EXPECT_EQ(c.find("residual_bytes_rank0")->as_int(), 24 * 24 * 4);
    const auto& steps = *c.find("steps");
    ASSERT_EQ(steps.size(), 6u);
    EXPECT_EQ(steps.item(0).find("cond")->as_string(), "computed");
    EXPECT_EQ(steps.item(1).find("uncond")->as_string(), "reused");
  }
  EXPECT_EQ(reports, 1);
}

TEST(CliCache, HelpListsTheFlagsAndContradictionsAreRefused) {
  const auto help = generate(1, "--help");
  for (const char* flag :
       {"--cache none|teacache|magcache|fbcache", "--cache-threshold", "--teacache_thresh", "--use_ret_steps",
        "--use_magcache", "--magcache_thresh", "--magcache_K", "--retention_ratio"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  const auto bad = generate(2, "--ckpt_dir " + kFixture + kTiny + " --cache fbcache --teacache_thresh 0.1");
  EXPECT_EQ(count(bad, "exit=2"), 2) << bad;
  EXPECT_NE(bad.find("--teacache_thresh asks for teacache but --cache fbcache was given"), std::string::npos)
      << bad;
}

}  // namespace
