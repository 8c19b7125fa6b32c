// The video writers: to_rgb8 equals the reference's bytes, the mp4 decodes back to what was
// written (checked through libavformat/libavcodec), PNG frames round-trip exactly through libpng,
// and failures leave nothing behind.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "png_read.h"
#include "video/video_reader.h"
#include "video/video_writer.h"

namespace uspdit::video {
namespace {
namespace fs = std::filesystem;
using uspdit::testing::read_png;

class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("uspdit_video_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

// A decoded-looking sample [3, T, H, W] in [-1, 1]: smooth gradients that move every frame,
// the kind of content a VAE produces (no single-pixel noise, which no codec keeps at crf 17).
at::Tensor moving_gradients(int64_t t, int64_t h, int64_t w) {
  auto ts = at::arange(t, at::kFloat).view({t, 1, 1});
  auto ys = at::arange(h, at::kFloat).view({1, h, 1}) / static_cast<double>(h);
  auto xs = at::arange(w, at::kFloat).view({1, 1, w}) / static_cast<double>(w);
  const double two_pi = 2 * M_PI;
  auto r = at::sin((xs + ts * 0.07) * two_pi) * 0.8;
  auto g = at::cos((ys - ts * 0.05) * two_pi) * 0.7;
  auto b = (xs + ys - 1.0) * 0.9 + ts * 0.02;
  return at::stack({r.expand({t, h, w}), g.expand({t, h, w}), b.expand({t, h, w})}, 0).contiguous();
}

TEST(VideoRgb8, ExactBytesOfTheReference) {
  // Expected bytes from torch 2.15 doing what Wan's cache_video does (clamp, make_grid's
  // sub_(-1).div_(2), * 255, .type(uint8)) and torchvision's save_image (+ 0.5, clamp).
  const std::vector<float> x = {-1.0f,         -0.5f,         0.0f,         0.5f,         1.0f,
                                -1.5f,         2.0f,          1e-7f,        -1e-7f,       -0.996078432f,
                                -0.992156863f, -0.988235295f, 0.99000001f,  0.995999992f, 0.996100008f,
                                0.25f,         -0.25f,        0.100000001f, 0.333333343f};
  const std::vector<int> truncated = {0, 63, 127, 191, 255, 0,   255, 127, 127, 0,
                                      0, 1,  253, 254, 254, 159, 95,  140, 170};
  const std::vector<int> nearest = {0, 64, 128, 191, 255, 0,   255, 128, 127, 1,
                                    1, 1,  254, 254, 255, 159, 96,  140, 170};
  const auto n = static_cast<int64_t>(x.size());
  // [3, T=n, 1, 1] with the same value in all three channels.
  auto video = at::tensor(x).view({1, n, 1, 1}).repeat({3, 1, 1, 1});
  const auto input = video.clone();
  auto trunc = to_rgb8(video);
  auto near = to_rgb8(video, Rounding::kNearest);
  EXPECT_TRUE(at::equal(video, input)) << "to_rgb8 changed its input";
  ASSERT_EQ(trunc.sizes(), (at::IntArrayRef{n, 1, 1, 3}));
  ASSERT_EQ(trunc.scalar_type(), at::kByte);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_EQ(trunc[i][0][0][c].item<int>(), truncated[i]) << "x = " << x[i];
      EXPECT_EQ(near[i][0][0][c].item<int>(), nearest[i]) << "x = " << x[i];
    }
  }
}

TEST(VideoRgb8, EqualsTheScalarFormulaOnADenseSweepIncludingHalfBoundaries) {
  // Every k + 0.5 boundary of the byte scale, and its float neighbours, plus a dense sweep.
  std::vector<float> x;
  for (int k = 0; k < 255; ++k) {
    const float at_half = static_cast<float>((k + 0.5) / 255.0 * 2.0 - 1.0);
    x.push_back(std::nextafter(at_half, -2.0f));
    x.push_back(at_half);
    x.push_back(std::nextafter(at_half, 2.0f));
  }
  for (int i = 0; i <= 20000; ++i) x.push_back(-1.2f + 2.4f * static_cast<float>(i) / 20000.0f);
  const auto n = static_cast<int64_t>(x.size());
  auto rgb_trunc = to_rgb8(at::tensor(x).view({1, 1, 1, n}).repeat({3, 1, 1, 1}));
  auto rgb_near = to_rgb8(at::tensor(x).view({1, 1, 1, n}).repeat({3, 1, 1, 1}), Rounding::kNearest);
  const uint8_t* t = rgb_trunc.data_ptr<uint8_t>();
  const uint8_t* r = rgb_near.data_ptr<uint8_t>();
  int64_t mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = ((std::clamp(x[i], -1.0f, 1.0f) + 1.0f) / 2.0f) * 255.0f;
    const auto want_t = static_cast<uint8_t>(v);
    const auto want_r = static_cast<uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f));
    mismatches += (t[3 * i] != want_t) + (r[3 * i] != want_r);
  }
  EXPECT_EQ(mismatches, 0);
  // Rounding differs from truncation on about half of a dense sweep, so the two modes are distinct.
  EXPECT_FALSE(at::equal(rgb_trunc, rgb_near));
}

TEST(VideoRgb8, HalfToEvenIsDiffusersPilOutput) {
  // diffusers: round(clamp(x / 2 + 0.5, 0, 1) * 255) in fp32, numpy's round (halves to even).
  std::vector<float> x = {0.0f, -1.0f, 1.0f, -3.0f, 3.0f};
  for (int i = 0; i <= 20000; ++i) x.push_back(-1.2f + 2.4f * static_cast<float>(i) / 20000.0f);
  const auto n = static_cast<int64_t>(x.size());
  const auto rgb = to_rgb8(at::tensor(x).view({1, 1, 1, n}).repeat({3, 1, 1, 1}), Rounding::kHalfToEven);
  const uint8_t* r = rgb.data_ptr<uint8_t>();
  int64_t mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::clamp(x[i] / 2.0f + 0.5f, 0.0f, 1.0f) * 255.0f;
    mismatches += r[3 * i] != static_cast<uint8_t>(std::nearbyint(v));  // FE_TONEAREST: halves to even
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(r[0], 128);  // 0.5 · 255 = 127.5 exactly: to the even 128
  EXPECT_EQ(r[3 * 1], 0);
  EXPECT_EQ(r[3 * 2], 255);
}

TEST(VideoRgb8, LayoutNanAndHalfPrecision) {
  auto video = at::zeros({3, 2, 4, 5});
  video[0].fill_(1.0);   // red channel
  video[2].fill_(-1.0);  // blue channel
  video[1][1][3][4] = std::nan("");
  auto rgb = to_rgb8(video.to(at::kBFloat16));
  ASSERT_EQ(rgb.sizes(), (at::IntArrayRef{2, 4, 5, 3}));
  EXPECT_TRUE(rgb.is_contiguous());
  EXPECT_EQ(rgb[0][0][0][0].item<int>(), 255);
  EXPECT_EQ(rgb[0][0][0][1].item<int>(), 127);
  EXPECT_EQ(rgb[0][0][0][2].item<int>(), 0);
  EXPECT_EQ(rgb[1][3][4][1].item<int>(), 127);  // NaN → 0 → 127
  EXPECT_THROW(to_rgb8(at::zeros({4, 2, 4, 5})), std::invalid_argument);
  EXPECT_THROW(to_rgb8(at::zeros({3, 4, 5})), std::invalid_argument);
}

TEST(VideoMp4, RoundTripsThroughLibavcodec) {
  if (!mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  TempDir dir("mp4");
  const auto path = (dir.path() / "out.mp4").string();
  auto rgb = to_rgb8(moving_gradients(9, 48, 64));
  write_mp4(path, rgb);

  const VideoInfo info = video_info(path);
  EXPECT_EQ(info.codec, "h264");
  EXPECT_EQ(info.pix_fmt, "yuv420p");
  EXPECT_NE(info.container.find("mp4"), std::string::npos) << info.container;
  EXPECT_EQ(info.width, 64);
  EXPECT_EQ(info.height, 48);
  EXPECT_EQ(info.frames, 9);
  EXPECT_DOUBLE_EQ(info.fps, 16.0);
  EXPECT_NEAR(info.duration_seconds, 9.0 / 16.0, 1e-3);
  EXPECT_TRUE(info.faststart);

  auto back = read_video_rgb8(path);
  ASSERT_EQ(back.sizes(), rgb.sizes());
  auto diff = (back.to(at::kFloat) - rgb.to(at::kFloat)).abs();
  const double mean_err = diff.mean().item<double>();
  const double frame0_err = diff[0].mean().item<double>();
  // Measured with libx264 crf 17 medium on these 64x48 frames: 1.54 mean (R 1.79, G 1.08, B 1.75),
  // 1.57 on the first frame. The colour conversion and 4:2:0 chroma alone (crf 0) give 0.49; on
  // 832x480 frames of the same gradients crf 17 gives 0.63. Decoding with the BT.601 matrix
  // instead of the tagged BT.709 gives 7.5 (FFmpeg 9's command-line tool on a 416x240 file; with
  // the tag honoured it matched our decoder's bytes exactly). Wrong frame order gives > 10.
  EXPECT_LT(mean_err, 2.5) << "mean abs error";
  EXPECT_LT(frame0_err, 2.5);
  // The frames are in order: frame 1 is closer to input frame 1 than to input frame 0.
  const double shifted = (back[1].to(at::kFloat) - rgb[0].to(at::kFloat)).abs().mean().item<double>();
  EXPECT_GT(shifted, 10.0);

  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.mp4"}) << "a temporary file was left behind";
}

TEST(VideoMp4, OptionsReachTheFile) {
  if (!mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  TempDir dir("mp4opt");
  const auto path = (dir.path() / "out.mp4").string();
  auto rgb = to_rgb8(moving_gradients(5, 32, 32));
  write_mp4(path, rgb, {.fps = 24, .crf = 0, .preset = "ultrafast", .threads = 1});
  const VideoInfo info = video_info(path);
  EXPECT_DOUBLE_EQ(info.fps, 24.0);
  EXPECT_EQ(info.frames, 5);
  // crf 0 is lossless in YUV: only the colour conversion's rounding remains.
  auto back = read_video_rgb8(path);
  const double err = (back.to(at::kFloat) - rgb.to(at::kFloat)).abs().mean().item<double>();
  EXPECT_LT(err, 1.0);
  // Overwriting an existing file replaces it atomically; a single frame is a valid video.
  write_mp4(path, rgb.narrow(0, 0, 1), {.fps = 24, .crf = 0, .preset = "ultrafast", .threads = 1});
  EXPECT_EQ(video_info(path).frames, 1);
  EXPECT_EQ(read_video_rgb8(path).size(0), 1);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.mp4"});
}

TEST(VideoMp4, OddSizesArePaddedByTheEdge) {
  if (!mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  TempDir dir("mp4odd");
  const auto path = (dir.path() / "odd.mp4").string();
  auto rgb = to_rgb8(moving_gradients(3, 31, 45));
  write_mp4(path, rgb, {.fps = 16, .crf = 10, .preset = "ultrafast"});
  const VideoInfo info = video_info(path);
  EXPECT_EQ(info.width, 46);
  EXPECT_EQ(info.height, 32);
  auto back = read_video_rgb8(path).narrow(1, 0, 31).narrow(2, 0, 45);
  EXPECT_LT((back.to(at::kFloat) - rgb.to(at::kFloat)).abs().mean().item<double>(), 2.0);
}

TEST(VideoMp4, UserErrorsNameThePathAndLeaveNothing) {
  if (!mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  TempDir dir("mp4err");
  auto rgb = to_rgb8(moving_gradients(2, 16, 16));
  const auto missing = (dir.path() / "no_such_dir" / "out.mp4").string();
  try {
    write_mp4(missing, rgb);
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(missing), std::string::npos) << msg;
    EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
  EXPECT_FALSE(fs::exists(dir.path() / "no_such_dir"));

  const auto path = (dir.path() / "out.mp4").string();
  EXPECT_THROW(write_mp4(path, rgb, {.crf = 52}), UsageError);
  EXPECT_THROW(write_mp4(path, rgb, {.fps = 0}), UsageError);
  EXPECT_THROW(write_mp4(path, rgb, {.preset = "fastest"}), UsageError);
  EXPECT_THROW(write_mp4(dir.path().string(), rgb), UsageError);  // a directory, not a file
  EXPECT_THROW(write_mp4(path, rgb.to(at::kFloat)), std::invalid_argument);
  EXPECT_THROW(write_mp4(path, rgb.narrow(3, 0, 2)), std::invalid_argument);
  EXPECT_TRUE(dir.entries().empty()) << "left behind: " << dir.entries().front();

  EXPECT_THROW(video_info(path), UsageError);  // nothing was written
  EXPECT_THROW(read_video_rgb8(missing), UsageError);
}

// A write failing half-way (here: the file size limit, as a full disk would) removes the
// temporary and leaves no file at the path.
TEST(VideoMp4, AFailedWriteLeavesNothing) {
  if (!mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  TempDir dir("mp4full");
  const auto path = (dir.path() / "big.mp4").string();
  const auto png_dir = dir.path() / "frames";
  auto rgb = to_rgb8(moving_gradients(9, 48, 64));
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto* previous_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG from write() instead of a signal
  rlimit small = saved;
  small.rlim_cur = 4000;  // bytes
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool mp4_threw = false, png_threw = false;
  try {
    write_mp4(path, rgb, {.crf = 0, .preset = "ultrafast"});
  } catch (const std::exception&) {
    mp4_threw = true;
  }
  try {
    // Two smooth frames fit (< 2 KB each); the third, noise, needs ~9 KB and fails.
    auto frames = rgb.narrow(0, 0, 3).clone();
    frames[2] = at::randint(0, 256, {48, 64, 3}, at::kByte);
    write_png_frames(png_dir.string(), frames);
  } catch (const std::exception&) {
    png_threw = true;
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  EXPECT_TRUE(mp4_threw);
  EXPECT_TRUE(png_threw);
  // The frames directory the call created is gone again: no partial sequence, no temporary.
  EXPECT_TRUE(dir.entries().empty()) << "left behind: " << dir.entries().front();
}

TEST(VideoMp4, NotAVideoIsAUsageError) {
  if (!mp4_supported()) GTEST_SKIP() << "built without FFmpeg (USPDIT_WITH_VIDEO)";
  TempDir dir("mp4junk");
  const auto path = (dir.path() / "junk.mp4").string();
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not a video file, only text that happens to end in .mp4\n", f);
  std::fclose(f);
  EXPECT_THROW(video_info(path), UsageError);
}

TEST(VideoPng, FramesRoundTripExactly) {
  TempDir dir("png");
  const auto frames_dir = dir.path() / "nested" / "frames";  // created by the writer
  auto rgb = to_rgb8(moving_gradients(3, 12, 17));
  rgb[1][5][7][2] = 0;  // a sharp single pixel survives a lossless format
  write_png_frames(frames_dir.string(), rgb);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(frames_dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"frame_00000.png", "frame_00001.png", "frame_00002.png"}));
  for (int64_t i = 0; i < 3; ++i) {
    int w = 0, h = 0;
    auto pixels = read_png((frames_dir / png_frame_name(i)).string(), &w, &h);
    ASSERT_EQ(w, 17);
    ASSERT_EQ(h, 12);
    auto want = rgb[i].contiguous();
    ASSERT_EQ(pixels.size(), static_cast<size_t>(want.numel()));
    EXPECT_TRUE(std::equal(pixels.begin(), pixels.end(), want.data_ptr<uint8_t>())) << "frame " << i;
  }
}

TEST(VideoPng, ADirectoryThatIsAFileIsAUsageError) {
  TempDir dir("pngerr");
  const auto file = dir.path() / "taken";
  FILE* f = std::fopen(file.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_THROW(write_png_frames(file.string(), to_rgb8(moving_gradients(1, 4, 4))), UsageError);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"taken"});
}

}  // namespace
}  // namespace uspdit::video
