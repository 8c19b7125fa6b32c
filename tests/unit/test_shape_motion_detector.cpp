// The demo model's semantic check (shape_motion_detector.h) on clips drawn here with known
// labels — every colour, shape and direction, noisy, blurred, and through an H.264 round trip —
// and on what it must not read as a moving shape.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "shape_motion_detector.h"
#include "video/video_reader.h"
#include "video/video_writer.h"

namespace uspdit::testing {
namespace {

const char* const kColourNames[] = {"red", "green", "blue", "yellow", "magenta", "cyan"};
const float kColourRgb[][3] = {{0.92f, 0.12f, 0.10f}, {0.15f, 0.85f, 0.20f}, {0.15f, 0.35f, 0.95f},
                               {0.95f, 0.88f, 0.12f}, {0.90f, 0.15f, 0.85f}, {0.10f, 0.88f, 0.90f}};
const char* const kShapeNames[] = {"circle", "square", "triangle"};
const char* const kDirectionNames[] = {"right", "left", "up", "down"};
const int kDirectionStep[][2] = {{1, 0}, {-1, 0}, {0, -1}, {0, 1}};

// A clip as tools/demo_data.py draws it (equal-area shapes, the dark gradient, straight motion),
// without anti-aliasing, plus Gaussian noise: [T, H, W, 3] uint8.
at::Tensor draw_clip(int colour, int shape, int direction, double radius, double travel, double noise,
                     uint64_t seed) {
  const int64_t T = 17, S = 64;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto clip = at::empty({T, S, S, 3});
  auto p = clip.accessor<float, 4>();
  const auto [dx, dy] = std::pair(kDirectionStep[direction][0], kDirectionStep[direction][1]);
  const double lo = radius + 1, hi = S - radius - 1;
  const double x0 = dx > 0 ? lo + 2 : dx < 0 ? hi - 2 : S / 2.0 + 3;
  const double y0 = dy > 0 ? lo + 2 : dy < 0 ? hi - 2 : S / 2.0 - 4;
  const double side = radius * std::sqrt(4.0 * M_PI / std::sqrt(3.0)), h = side * std::sqrt(3.0) / 2.0;
  for (int64_t f = 0; f < T; ++f) {
    const double a = static_cast<double>(f) / (T - 1);
    const double cx = x0 + dx * travel * a, cy = y0 + dy * travel * a;
    for (int64_t y = 0; y < S; ++y) {
      for (int64_t x = 0; x < S; ++x) {
        const double u = x + 0.5 - cx, v = y + 0.5 - cy;
        bool inside = false;
        if (shape == 0) inside = u * u + v * v <= radius * radius;
        if (shape == 1)
          inside = std::abs(u) <= radius * std::sqrt(M_PI) / 2 && std::abs(v) <= radius * std::sqrt(M_PI) / 2;
        if (shape == 2)
          inside = v >= -2 * h / 3 && v <= h / 3 && std::abs(u) <= (v + 2 * h / 3) / h * side / 2;
        const float g = static_cast<float>(y) / (S - 1);
        const float bg[3] = {0.06f + 0.04f * g, 0.07f + 0.04f * g, 0.10f + 0.06f * g};
        for (int c = 0; c < 3; ++c) p[f][y][x][c] = inside ? kColourRgb[colour][c] : bg[c];
      }
    }
  }
  clip += at::randn(clip.sizes(), gen) * noise;
  return (clip.clamp(0, 1) * 255).round().to(at::kByte);
}

// The clip through a Gaussian blur of `sigma` pixels in each frame (edges replicated): the soft
// edges a small video VAE decodes.
at::Tensor blurred(const at::Tensor& rgb8, double sigma) {
  const int64_t k = static_cast<int64_t>(3 * sigma + 1);
  const auto taps = at::arange(-k, k + 1, at::kFloat);
  auto g = at::exp(-taps * taps / (2 * sigma * sigma));
  g = g / g.sum();
  auto x = rgb8.to(at::kFloat).permute({0, 3, 1, 2});  // [T, 3, H, W]
  const auto sizes = x.sizes().vec();
  x = x.reshape({-1, 1, sizes[2], sizes[3]});
  x = at::pad(x, {k, k, k, k}, "replicate");
  x = at::conv2d(at::conv2d(x, g.view({1, 1, 1, -1})), g.view({1, 1, -1, 1}));
  return x.reshape(sizes).permute({0, 2, 3, 1}).round().clamp(0, 255).to(at::kByte).contiguous();
}

TEST(ShapeMotionDetector, ReadsEveryColourShapeAndDirection) {
  // 24 clips: every colour with every direction, every shape with every direction and colour
  // parity, sizes and travels varying (the demo data's ranges).
  for (int i = 0; i < 24; ++i) {
    const int colour = i % 6, shape = (i + i / 6) % 3, direction = i / 6;
    const double radius = 6.0 + i % 4, travel = 22.0 + 3 * (i % 5);
    const auto clip = draw_clip(colour, shape, direction, radius, travel, 0.04, 100 + i);
    const auto seen = detect_shape_motion(clip);
    SCOPED_TRACE(std::string(kColourNames[colour]) + " " + kShapeNames[shape] + " " +
                 kDirectionNames[direction]);
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->colour, kColourNames[colour]);
    EXPECT_EQ(seen->shape, kShapeNames[shape]) << "taper " << seen->taper << " diagonal " << seen->diagonal;
    EXPECT_EQ(seen->direction, kDirectionNames[direction]);
    EXPECT_NEAR(seen->travel_px, travel, 2.0);
  }
}

// A shape drawn soft is still that shape: a square's blurred corners do not make it a circle, nor
// does a triangle's blurred apex, up to the 2 px the detector's thresholds are set for.
TEST(ShapeMotionDetector, ReadsShapesWithSoftEdges) {
  for (const double sigma : {1.0, 2.0}) {
    for (int i = 0; i < 12; ++i) {
      const int colour = (i + 1) % 6, shape = i % 3, direction = i / 3;
      const double radius = 6.0 + i % 4, travel = 22.0 + 3 * (i % 5);
      const auto clip = blurred(draw_clip(colour, shape, direction, radius, travel, 0.02, 300 + i), sigma);
      const auto seen = detect_shape_motion(clip);
      SCOPED_TRACE(std::string(kColourNames[colour]) + " " + kShapeNames[shape] + " " +
                   kDirectionNames[direction] + ", blur " + std::to_string(sigma) + " px");
      ASSERT_TRUE(seen.has_value());
      EXPECT_EQ(seen->colour, kColourNames[colour]);
      EXPECT_EQ(seen->shape, kShapeNames[shape]) << "taper " << seen->taper << " diagonal " << seen->diagonal;
      EXPECT_EQ(seen->direction, kDirectionNames[direction]);
    }
  }
}

TEST(ShapeMotionDetector, SurvivesAnH264RoundTrip) {
  if (!video::mp4_supported()) GTEST_FAIL() << "this build has no mp4 reader (USPDIT_WITH_VIDEO)";
  const auto path =
      std::filesystem::temp_directory_path() / ("uspdit_detector_" + std::to_string(::getpid()) + ".mp4");
  for (const auto& [colour, shape, direction] : {std::tuple{0, 2, 3}, {2, 0, 1}, {5, 1, 2}, {3, 2, 0}}) {
    video::write_mp4(path.string(), draw_clip(colour, shape, direction, 7.0, 26.0, 0.02, 7));
    const auto seen = detect_shape_motion(video::read_video_rgb8(path.string()));
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(seen->colour, kColourNames[colour]);
    EXPECT_EQ(seen->shape, kShapeNames[shape]) << "taper " << seen->taper << " diagonal " << seen->diagonal;
    EXPECT_EQ(seen->direction, kDirectionNames[direction]);
  }
  std::filesystem::remove(path);
}

TEST(ShapeMotionDetector, NoShapeOrNoMotionIsSaidSo) {
  // The background alone: nothing to read.
  EXPECT_FALSE(detect_shape_motion(draw_clip(0, 0, 0, 7.0, 26.0, 0.02, 1).mul(0)).has_value());
  // A shape that does not move is "still", not a direction picked from noise.
  const auto still = detect_shape_motion(draw_clip(1, 1, 0, 7.0, 0.0, 0.04, 2));
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->direction, "still");
  EXPECT_EQ(still->colour, "green");
}

TEST(ShapeMotionDetector, CaptionPartsReadEveryPhrasing) {
  const auto a = caption_parts("a red circle moving right");
  EXPECT_EQ(a.colour, "red");
  EXPECT_EQ(a.shape, "circle");
  EXPECT_EQ(a.direction, "right");
  const auto b = caption_parts("The Blue square slides up,");
  EXPECT_EQ(b.colour, "blue");
  EXPECT_EQ(b.shape, "square");
  EXPECT_EQ(b.direction, "up");
  EXPECT_EQ(caption_parts("a cat").colour, "");
}

}  // namespace
}  // namespace uspdit::testing
