// `uspdit generate` on a HunyuanVideo release (sample_video.py's flags): every check runs on
// every rank — files, request, degrees, output — and then the run is refused, honestly, with
// exit 2, because the HunyuanVideo text-to-video pipeline does not exist yet. Bad values are
// refused with the fix named.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;
const std::string kTiny = std::string(USPDIT_SOURCE_DIR) + "/tests/data/hunyuan/tiny/original";

struct Run {
  std::string output;
};

Run run_ranks(int np, const std::string& args) {
  const std::string cmd =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 timeout 300 "
      "mpirun --oversubscribe --bind-to none -np " +
      std::to_string(np) + " sh -c '" USPDIT_BINARY " generate " + args +
      "; echo \"rank=$OMPI_COMM_WORLD_RANK exit=$?\"' 2>&1";
  Run r;
  FILE* pipe = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  while (pipe && fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  if (pipe) pclose(pipe);
  return r;
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// The release's ckpts/ as its download instructions leave it (the tiny DiT; the other parts'
// folders, which nothing reads before the refusal).
std::string make_release(const std::string& name) {
  const fs::path root = fs::path(::testing::TempDir()) / name;
  fs::remove_all(root);
  const fs::path transformers = root / "hunyuan-video-t2v-720p" / "transformers";
  fs::create_directories(transformers);
  fs::copy_file(kTiny + "/mp_rank_00_model_states.pt", transformers / "mp_rank_00_model_states.pt");
  fs::copy_file(kTiny + "/config.json", transformers / "config.json");
  for (const char* part : {"hunyuan-video-t2v-720p/vae", "text_encoder", "text_encoder_2"}) {
    fs::create_directories(root / part);
  }
  fs::create_directories(root / "results");
  return root.string();
}

const std::string kFlags =
    " --video-length 9 --infer-steps 2 --prompt \"a cat\" --flow-reverse "
    "--seed 42";

TEST(CliGenerateHunyuan, AllChecksPassThenNotAvailableYet) {
  const auto ckpts = make_release("hv_release_ok");
  const auto r =
      run_ranks(2, "--model-base " + ckpts + kFlags + " --ulysses-degree 2 --ring-degree 1 --save-path " +
                       ckpts + "/results --video-size 60 64");
  EXPECT_EQ(count(r.output, "exit=2"), 2) << r.output;
  EXPECT_GE(count(r.output, "HunyuanVideo text-to-video is not available yet"), 2) << r.output;
  EXPECT_GE(count(r.output, "uspdit forward"), 1) << r.output;
  // The rounding of 60 to 64 is said before the refusal.
  EXPECT_GE(count(r.output, "height 60 rounded up to 64"), 1) << r.output;
  EXPECT_TRUE(fs::is_empty(ckpts + "/results"));
}

TEST(CliGenerateHunyuan, BadValuesAreRefusedWithTheFix) {
  const auto ckpts = make_release("hv_release_bad");
  const auto refused = [&](int np, const std::string& args, const std::string& message) {
    const auto r = run_ranks(np, "--model-base " + ckpts + args);
    EXPECT_EQ(count(r.output, "exit=2"), np) << r.output;
    EXPECT_GE(count(r.output, message), 1) << r.output;
    EXPECT_EQ(count(r.output, "not available yet"), 0) << r.output;
  };
  refused(2, kFlags + " --video-size 64 64 --video-length 130",
          "--video-length 130: must be 4n+1 (e.g. 129 or 133");
  refused(2, " --video-size 720 --video-length 9 --prompt x", "--video-size takes 2 values, HEIGHT WIDTH");
  // The tiny DiT has 2 heads: Ulysses 4 cannot divide them; the valid choices are listed.
  refused(4, kFlags + " --video-size 64 64 --ulysses-degree 4",
          "Valid for HunyuanVideo (2 heads) on 4 ranks");
  refused(2, kFlags + " --video-size 64 64 --use-cfg-parallel", "--cfg-scale > 1");
  refused(1, kFlags + " --video-size 64 64 --frame_num 9",
          "unknown flag --frame-num");  // Wan's name is not HunyuanVideo's
  fs::remove_all(ckpts + "/text_encoder_2");
  refused(2, kFlags + " --video-size 64 64", "text_encoder_2 (CLIP-L text encoder)");
}

}  // namespace
