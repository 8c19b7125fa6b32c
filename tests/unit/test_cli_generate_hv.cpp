// `uspdit generate` on a HunyuanVideo release (sample_video.py's flags), the tiny whole pipeline
// of tests/data/hv_t2v: an mp4 under the reference's file name, PNG frames and the benchmark
// report; bad files (fp8 weights without their map, a text encoder of the wrong width, a
// truncated VAE, a missing text_encoder_2) and bad values are refused with exit 2 on every rank,
// naming the file or flag and the fix, before any weight is read.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "binary_run.h"
#include "video/video_reader.h"

namespace {

namespace fs = std::filesystem;
const std::string kFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/hv_t2v";

// `mpirun -np N uspdit generate ARGS`, each rank's exit line appended.
uspdit::testing::ShellRun run_ranks(int np, const std::string& args) {
  return uspdit::testing::run_uspdit_ranks(np, "generate " + args);
}

constexpr auto count = uspdit::testing::count_of;

// The tiny whole pipeline (tests/data/hv_t2v) copied as the release's ckpts/ (symlinked
// tokenizers copied as files), or in the diffusers layout.
std::string make_release(const std::string& name, const std::string& layout = "original") {
  const fs::path root = fs::path(::testing::TempDir()) / name;
  fs::remove_all(root);
  fs::copy(kFixture + "/" + layout, root, fs::copy_options::recursive);
  fs::create_directories(root / "results");
  return root.string();
}

const std::string kFlags =
    " --video-length 17 --infer-steps 2 --prompt \"a cat\" --seed 42 --precision fp32 --vae-precision fp32 "
    "--text-encoder-precision fp32";

std::vector<fs::path> files_in(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == extension) out.push_back(e.path());
  }
  return out;
}

TEST(CliGenerateHunyuan, WritesTheVideoUnderTheReferencesName) {
  for (const std::string layout : {"original", "diffusers"}) {
    const auto ckpts = make_release("hv_release_ok_" + layout, layout);
    const auto r = run_ranks(2, "--model-base " + ckpts + kFlags +
                                    " --ulysses-degree 2 --ring-degree 1 --no-progress --save-path " + ckpts +
                                    "/results --video-size 36 40 --save-frames " + ckpts +
                                    "/frames --bench-output " + ckpts + "/bench");
    EXPECT_EQ(count(r.output, "exit=0"), 2) << r.output;
    // The rounding of 36 to 48 is said before the run.
    EXPECT_GE(count(r.output, "height 36 rounded up to 48"), 1) << r.output;
    const auto videos = files_in(ckpts + "/results", ".mp4");
    ASSERT_EQ(videos.size(), 1u) << r.output;
    // sample_video.py's name: {%Y-%m-%d-%H:%M:%S}_seed{seed}_{prompt[:100]}.mp4
    const std::string name = videos[0].filename().string();
    EXPECT_NE(name.find("_seed42_a cat.mp4"), std::string::npos) << name;
    const auto info = uspdit::video::video_info(videos[0].string());
    EXPECT_EQ(info.frames, 17);
    EXPECT_EQ(info.width, 48);  // 40 rounded up to 48 too
    EXPECT_EQ(info.height, 48);
    EXPECT_NEAR(info.fps, 24.0, 1e-6);  // sample_video.py's imageio fps
    EXPECT_EQ(uspdit::video::read_video_rgb8(videos[0].string()).size(0), 17);
    EXPECT_EQ(files_in(ckpts + "/frames", ".png").size(), 17u);
    EXPECT_EQ(files_in(ckpts + "/bench", ".json").size(), 1u) << r.output;
  }
}

TEST(CliGenerateHunyuan, BadFilesAreRefusedOnEveryRankNamingTheFile) {
  const auto ckpts = make_release("hv_release_bad_files");
  const auto refused = [&](const std::string& args, const std::string& message) {
    const auto r = run_ranks(
        2, "--model-base " + ckpts + kFlags + " --video-size 40 40 --save-path " + ckpts + "/results" + args);
    EXPECT_EQ(count(r.output, "exit=2"), 2) << r.output;
    EXPECT_GE(count(r.output, message), 1) << r.output;
    EXPECT_EQ(count(r.output, "encode_text"), 0) << "refused after the work began: " << r.output;
    EXPECT_TRUE(fs::is_empty(ckpts + "/results"));
  };
  // An fp8 DiT without its scale map.
  const fs::path transformers = fs::path(ckpts) / "hunyuan-video-t2v-720p" / "transformers";
  fs::copy_file(transformers / "mp_rank_00_model_states.pt", transformers / "mp_rank_00_model_states_fp8.pt");
  refused(" --use-fp8", "mp_rank_00_model_states_fp8_map.pt is missing: download it beside the weights");
  // A text encoder of the wrong width (another model's config).
  const fs::path llama_config = fs::path(ckpts) / "text_encoder" / "config.json";
  const fs::path saved = fs::path(ckpts) / "llama_config.json";
  fs::copy_file(llama_config, saved);
  {
    std::ifstream in(saved);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find("\"hidden_size\": 4");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 16, "\"hidden_size\": 8");
    std::ofstream(llama_config) << text;
  }
  refused("", "text_encoder/config.json is 8 wide, but the DiT expects text_states_dim 4");
  fs::copy_file(saved, llama_config, fs::copy_options::overwrite_existing);
  // A tokenizer.json that is not one.
  const fs::path tokenizer = fs::path(ckpts) / "text_encoder" / "tokenizer.json";
  fs::rename(tokenizer, fs::path(ckpts) / "tokenizer.json.saved");
  std::ofstream(tokenizer) << "{ not json";
  refused("", "tokenizer.json");
  fs::remove(tokenizer);
  fs::rename(fs::path(ckpts) / "tokenizer.json.saved", tokenizer);
  // A truncated VAE download.
  const fs::path vae = fs::path(ckpts) / "hunyuan-video-t2v-720p" / "vae" / "pytorch_model.pt";
  fs::resize_file(vae, fs::file_size(vae) / 2);
  refused("", "pytorch_model.pt");
  // No text_encoder_2 at all.
  fs::remove_all(fs::path(ckpts) / "text_encoder_2");
  refused("", "text_encoder_2 (CLIP-L text encoder)");
}

TEST(CliGenerateHunyuan, BadValuesAreRefusedWithTheFix) {
  const auto ckpts = make_release("hv_release_bad");
  const auto refused = [&](int np, const std::string& args, const std::string& message) {
    const auto r = run_ranks(np, "--model-base " + ckpts + args);
    EXPECT_EQ(count(r.output, "exit=2"), np) << r.output;
    EXPECT_GE(count(r.output, message), 1) << r.output;
  };
  refused(2, " --prompt x --video-size 64 64 --video-length 130",
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
