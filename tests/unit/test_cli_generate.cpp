// `uspdit generate` through the binary: a 2-rank run on the tiny fixture writes a playable mp4
// and the benchmark JSON; bad requests are refused on every rank with exit 2 before any weight
// is read, and leave no output file behind.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "binary_run.h"
#include "io/json.h"
#include "video/video_reader.h"
#include "video/video_writer.h"

namespace {

namespace fs = std::filesystem;
const std::string kFixture = std::string(USPDIT_SOURCE_DIR) + "/tests/data/wan_t2v";

// `mpirun -np N uspdit generate ARGS`, each rank's exit line appended.
uspdit::testing::ShellRun run_ranks(int np, const std::string& args) {
  return uspdit::testing::run_uspdit_ranks(np, "generate " + args);
}

constexpr auto count = uspdit::testing::count_of;
constexpr auto fresh_dir = uspdit::testing::fresh_test_dir;

const std::string kTiny =
    " --prompt \"a cat\" --size 64*48 --frame_num 5 --sample_steps 2 --dtype fp32 --text-dtype fp32";

TEST(CliGenerate, TwoRanksWriteTheVideoAndTheBenchReport) {
  if (!uspdit::video::mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  const auto dir = fresh_dir("generate_ok");
  const auto mp4 = dir + "/cat.mp4";
  const auto r =
      run_ranks(2, "--ckpt_dir " + kFixture + "/original" + kTiny + " --ulysses_degree 2 --save_file " + mp4 +
                       " --bench_output " + dir + "/results --warmup_steps 1 --n_repeats 2");
  ASSERT_EQ(count(r.output, "exit=0"), 2) << r.output;
  const auto info = uspdit::video::video_info(mp4);
  EXPECT_EQ(info.frames, 5);
  EXPECT_EQ(info.width, 64);
  EXPECT_EQ(info.height, 48);
  EXPECT_EQ(info.codec, "h264");
  // No temporary files beside the video.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);

  int reports = 0;
  for (const auto& e : fs::directory_iterator(dir + "/results")) {
    ++reports;
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    const auto doc = uspdit::io::Json::parse(text.str(), e.path().string());
    EXPECT_EQ(doc.find("config")->find("ulysses_degree")->as_number(), 2);
    EXPECT_EQ(doc.find("summary")->find("repeats")->as_int(), 2);
    EXPECT_EQ(doc.find("ranks")->size(), 2u);
    EXPECT_EQ(doc.find("step_seconds")->item(1).size(), 2u);
    EXPECT_EQ(doc.find("warmup_step_seconds")->size(), 1u);
    // Ulysses moves bytes every step: both ranks report traffic in the denoise stage.
    for (size_t rank = 0; rank < 2; ++rank) {
      const auto& stages = *doc.find("ranks")->item(rank).find("stages");
      int64_t sent = 0;
      for (size_t i = 0; i < stages.size(); ++i) {
        if (stages.item(i).find("name")->as_string() == "denoise")
          sent += stages.item(i).find("bytes_sent")->as_int();
        EXPECT_GT(stages.item(i).find("peak_rss_bytes")->as_int(), 0);
      }
      EXPECT_GT(sent, 0) << "rank " << rank;
    }
  }
  EXPECT_EQ(reports, 1);
}

TEST(CliGenerate, TiledDecodeWritesTheVideo) {
  if (!uspdit::video::mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  const auto dir = fresh_dir("generate_tiled");
  const auto mp4 = dir + "/tiled.mp4";
  const auto r = run_ranks(2, "--ckpt_dir " + kFixture + "/original" + kTiny +
                                  " --ring_degree 2 --enable_tiling "
                                  "--vae-tile-size 32 --vae-tile-stride 24 --enable_slicing --save_file " +
                                  mp4);
  ASSERT_EQ(count(r.output, "exit=0"), 2) << r.output;
  EXPECT_EQ(uspdit::video::video_info(mp4).frames, 5);
}

// Wan's --offload_model True (Python's spelling): the DiT leaves the device after denoising and a
// second run loads it again; the frames are those of a run without it, on the host-staged path
// (--comm host-staged, what ranks sharing a GPU use) as on plain MPI.
TEST(CliGenerate, OffloadAndHostStagedGiveTheSameFrames) {
  const auto dir = fresh_dir("generate_offload");
  const auto plain =
      run_ranks(2, "--ckpt_dir " + kFixture + "/original" + kTiny + " --ulysses_degree 2 --save_file " + dir +
                       "/a.mp4 --save_frames " + dir + "/a");
  ASSERT_EQ(count(plain.output, "exit=0"), 2) << plain.output;
  const auto offload =
      run_ranks(2, "--ckpt_dir " + kFixture + "/original" + kTiny +
                       " --ulysses_degree 2 --comm host-staged --offload_model True --n_repeats 2 "
                       "--save_file " +
                       dir + "/b.mp4 --save_frames " + dir + "/b");
  ASSERT_EQ(count(offload.output, "exit=0"), 2) << offload.output;
  EXPECT_EQ(count(offload.output, "load_dit:"), 2) << "the DiT is loaded again for the second run\n"
                                                   << offload.output;
  EXPECT_NE(offload.output.find("host-staged"), std::string::npos) << offload.output;
  int frames = 0;
  for (const auto& e : fs::directory_iterator(dir + "/a")) {
    std::ifstream a(e.path(), std::ios::binary),
        b(dir + "/b/" + e.path().filename().string(), std::ios::binary);
    std::stringstream ta, tb;
    ta << a.rdbuf();
    tb << b.rdbuf();
    EXPECT_EQ(ta.str(), tb.str()) << e.path().filename();
    ++frames;
  }
  EXPECT_EQ(frames, 5);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Byte-equal PNG frames in two --save_frames folders (count returned).
int same_frames(const std::string& a, const std::string& b, bool expect_equal) {
  int frames = 0, equal = 0;
  for (const auto& e : fs::directory_iterator(a)) {
    equal += read_file(e.path()) == read_file(b + "/" + e.path().filename().string());
    ++frames;
  }
  EXPECT_EQ(expect_equal, equal == frames) << a << " vs " << b;
  return frames;
}

// A -Diffusers folder samples with its own scheduler config, and the start-up log says so; `--dtype
// fp32` alone is `--dtype fp32 --text-dtype fp32` (the same frames), which a bf16 text encoder is
// not; `--schedule original` samples as generate.py would.
TEST(CliGenerate, TheLogSaysWhichSamplingAndDtypesAndWhy) {
  if (!uspdit::video::mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  const auto dir = fresh_dir("generate_sampling");
  const std::string base = "--ckpt_dir " + kFixture +
                           "/diffusers --prompt \"a cat\" --size 64*48 --frame_num 5 "
                           "--sample_steps 3 --text-len 16 --dtype fp32";
  const auto a = run_ranks(1, base + " --save_file " + dir + "/a.mp4 --save_frames " + dir + "/a");
  ASSERT_EQ(count(a.output, "exit=0"), 1) << a.output;
  EXPECT_EQ(count(a.output,
                  "generate: sampling: reference diffusers (folder: diffusers layout), solver unipc "
                  "(folder: UniPCMultistepScheduler), shift 3 (folder: flow_shift), 3 steps (flag)"),
            1)
      << a.output;
  EXPECT_EQ(
      count(a.output, "generate: dtypes: text encoder fp32 (--dtype), DiT fp32 (--dtype), VAE fp32 (always)"),
      1)
      << a.output;
  const auto b =
      run_ranks(1, base + " --text-dtype fp32 --save_file " + dir + "/b.mp4 --save_frames " + dir + "/b");
  ASSERT_EQ(count(b.output, "exit=0"), 1) << b.output;
  EXPECT_EQ(count(b.output, "text encoder fp32 (--text-dtype)"), 1) << b.output;
  EXPECT_EQ(same_frames(dir + "/a", dir + "/b", true), 5);
  const auto c =
      run_ranks(1, base + " --text-dtype bf16 --save_file " + dir + "/c.mp4 --save_frames " + dir + "/c");
  ASSERT_EQ(count(c.output, "exit=0"), 1) << c.output;
  EXPECT_EQ(count(c.output, "text encoder bf16 (--text-dtype), DiT fp32 (--dtype)"), 1) << c.output;
  same_frames(dir + "/a", dir + "/c", false);
  // The other reference on the same folder: generate.py's defaults, other frames.
  const auto d =
      run_ranks(1, base + " --schedule original --save_file " + dir + "/d.mp4 --save_frames " + dir + "/d");
  ASSERT_EQ(count(d.output, "exit=0"), 1) << d.output;
  EXPECT_EQ(count(d.output,
                  "generate: sampling: reference original (flag), solver unipc (default), shift 5 "
                  "(default), 3 steps (flag)"),
            1)
      << d.output;
  same_frames(dir + "/a", dir + "/d", false);
}

TEST(CliGenerate, HelpShowsTheDefaults) {
  const auto r = run_ranks(1, "--help");
  EXPECT_EQ(count(r.output, "exit=0"), 1) << r.output;
  for (const char* text : {"--schedule diffusers|original", "--sample_steps 50; --sample_guide_scale 5",
                           "--dtype bf16 sets the text encoder", "--text-dtype overrides the text encoder",
                           "an empty negative prompt"}) {
    EXPECT_EQ(count(r.output, text), 1) << text << "\n" << r.output;
  }
}

void expect_refused(int np, const std::string& args, const std::string& message, const std::string& mp4) {
  const auto r = run_ranks(np, args + " --save_file " + mp4);
  EXPECT_EQ(count(r.output, "exit=2"), np) << r.output;
  EXPECT_GE(count(r.output, message), 1) << r.output;
  EXPECT_FALSE(fs::exists(mp4));
}

TEST(CliGenerate, BadRequestsAreRefusedOnEveryRank) {
  if (!uspdit::video::mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  const auto dir = fresh_dir("generate_bad");
  const auto mp4 = dir + "/x.mp4";
  const std::string ckpt = " --ckpt_dir " + kFixture + "/original --prompt \"a cat\" --sample_steps 1";
  expect_refused(2, ckpt + " --size 64*48 --frame_num 6", "4n+1", mp4);
  expect_refused(2, ckpt + " --size 72*48 --frame_num 5", "multiples of 16", mp4);
  expect_refused(2, ckpt + " --size 64*48 --frame_num 5 --ulysses_degree 4", "ulysses", mp4);
  expect_refused(2, ckpt + " --size 64*48 --frame_num 5 --sample_solver ddim", "unipc", mp4);
  expect_refused(2, ckpt + " --size 64*48 --frame_num 5 --guidance_scale five",
                 "--guidance-scale needs a number", mp4);
  expect_refused(2, ckpt + " --height 48 --width 6x --frame_num 5", "--width needs an integer", mp4);
  expect_refused(2, ckpt + " --size 64*48 --frame_num 5 --enable_tiling --vae-tile-size 30", "multiples of 8",
                 mp4);
  expect_refused(1, ckpt + " --size 64*48 --frame_num 5", "does not exist", dir + "/missing/x.mp4");
  // A checkpoint directory without its VAE and text encoder: both named in one line.
  const auto partial = fresh_dir("generate_partial");
  fs::copy_file(kFixture + "/original/config.json", partial + "/config.json");
  expect_refused(2, " --ckpt_dir " + partial + " --prompt x --size 64*48 --frame_num 5", "Wan2.1_VAE.pth",
                 mp4);
  // A truncated VAE file: refused on every rank (before the text encoder and the DiT run).
  const auto broken = fresh_dir("generate_broken_vae");
  fs::copy(kFixture + "/original", broken, fs::copy_options::recursive);
  fs::resize_file(broken + "/Wan2.1_VAE.pth", 1000);
  const auto r = run_ranks(2, " --ckpt_dir " + broken +
                                  " --prompt x --size 64*48 --frame_num 5 --ulysses_degree 2 "
                                  "--save_file " +
                                  mp4);
  EXPECT_EQ(count(r.output, "exit=2"), 2) << r.output;
  EXPECT_GE(count(r.output, "Wan2.1_VAE.pth: truncated or corrupt"), 2) << r.output;
  EXPECT_EQ(count(r.output, "encode_text"), 0) << "the VAE is checked before the text encoder runs\n"
                                               << r.output;
  EXPECT_FALSE(fs::exists(mp4));

  // A truncated DiT file: refused before anything runs.
  fs::copy_file(kFixture + "/original/Wan2.1_VAE.pth", broken + "/Wan2.1_VAE.pth",
                fs::copy_options::overwrite_existing);
  fs::resize_file(broken + "/diffusion_pytorch_model.safetensors", 5000);
  expect_refused(2, " --ckpt_dir " + broken + " --prompt x --size 64*48 --frame_num 5 --ulysses_degree 2",
                 "diffusion_pytorch_model.safetensors", mp4);
}

}  // namespace
