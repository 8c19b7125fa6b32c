#include "shape_motion_detector.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <vector>

namespace uspdit::testing {
namespace {

struct Prototype {
  const char* name;
  std::array<double, 3> rgb;  // tools/demo_data.py COLOURS
};
constexpr Prototype kColours[] = {{"red", {0.92, 0.12, 0.10}},     {"green", {0.15, 0.85, 0.20}},
                                  {"blue", {0.15, 0.35, 0.95}},    {"yellow", {0.95, 0.88, 0.12}},
                                  {"magenta", {0.90, 0.15, 0.85}}, {"cyan", {0.10, 0.88, 0.90}}};
constexpr const char* kShapes[] = {"circle", "square", "triangle"};
constexpr const char* kDirections[] = {"left", "right", "up", "down"};
constexpr double kForeground = 0.35;  // of the largest channel; the background stays under 0.17
constexpr int64_t kMinArea = 10;      // pixels: a shape of radius 6 covers ~110

// Shape thresholds, each halfway between the shapes' values on the demo data drawn exactly and
// blurred by a Gaussian of up to 2 px, both anti-aliased (tools/demo_data.py) and not (the tests):
// a video VAE decodes soft edges, and a measure that holds only for sharp ones — the fill of the
// bounding box (square 1, circle π/4, triangle ½) — reads every soft shape as a circle (a
// triangle's fill reaches 0.70 at 2 px, a square's falls to 0.86, a pixelated circle's reaches
// 0.86 at 1 px). The taper is ~0.2 for the data set's upward triangle (0.20-0.48 at up to 2 px)
// and ~1 for circle and square (>= 0.88); the diagonal/axis extent ratio is √2 for a square
// (>= 1.13 at 2 px) and 1 for a circle (0.96-1.09).
constexpr double kTriangleTaper = 0.7;
constexpr double kSquareDiagonal = 1.11;

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Least-squares slope of v over t.
double slope(const std::vector<double>& t, const std::vector<double>& v) {
  const double n = static_cast<double>(t.size());
  double st = 0, sv = 0, stt = 0, stv = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    st += t[i];
    sv += v[i];
    stt += t[i] * t[i];
    stv += t[i] * v[i];
  }
  const double den = n * stt - st * st;
  return den == 0 ? 0 : (n * stv - st * sv) / den;
}

}  // namespace

std::optional<ShapeMotion> detect_shape_motion(const at::Tensor& rgb8, double min_travel_px) {
  const auto x = rgb8.to(at::kFloat).div(255.0).contiguous();  // [T, H, W, 3]
  const int64_t frames = x.size(0), height = x.size(1), width = x.size(2);
  const auto mask = std::get<0>(x.max(-1)).gt(kForeground);  // [T, H, W]
  const auto ys = at::arange(height, at::kFloat).view({height, 1}).expand({height, width});
  const auto xs = at::arange(width, at::kFloat).view({1, width}).expand({height, width});
  std::vector<double> times, cx, cy, tapers, diagonals;
  at::Tensor colour_sum = at::zeros({3});
  int64_t colour_pixels = 0;
  for (int64_t f = 0; f < frames; ++f) {
    const auto m = mask[f];
    const int64_t area = m.sum().item<int64_t>();
    if (area < kMinArea) continue;
    const auto mf = m.to(at::kFloat);
    times.push_back(static_cast<double>(f));
    cx.push_back((xs * mf).sum().item<double>() / static_cast<double>(area));
    cy.push_back((ys * mf).sum().item<double>() / static_cast<double>(area));
    const auto rows = at::nonzero(m.any(1)), cols = at::nonzero(m.any(0));
    const int64_t top = rows.min().item<int64_t>(), height_px = rows.max().item<int64_t>() - top + 1;
    const int64_t width_px = cols.max().item<int64_t>() - cols.min().item<int64_t>() + 1;
    // Extent along the two diagonals over the extent along the axes.
    const auto extent = [&](const at::Tensor& coordinate) {
      const auto c = coordinate.index({m});
      return (c.max() - c.min()).item<double>() / std::sqrt(2.0) + 1;
    };
    diagonals.push_back((extent(xs + ys) + extent(xs - ys)) / static_cast<double>(height_px + width_px));
    // Mean row width of the box's top third over its bottom third.
    const auto widths = mf.sum(1).slice(0, top, top + height_px);
    const int64_t third = std::max<int64_t>(1, height_px / 3);
    tapers.push_back(widths.slice(0, 0, third).mean().item<double>() /
                     std::max(widths.slice(0, height_px - third).mean().item<double>(), 1e-6));
    colour_sum += x[f].index({m}).sum(0);
    colour_pixels += area;
  }
  if (times.size() * 2 <= static_cast<size_t>(frames)) return std::nullopt;

  ShapeMotion out;
  const auto mean = colour_sum / static_cast<double>(colour_pixels);
  const auto scaled = mean / mean.max().clamp_min(1e-6);
  double best = 1e9;
  for (const auto& p : kColours) {
    const double top = std::max({p.rgb[0], p.rgb[1], p.rgb[2]});
    double d = 0;
    for (int c = 0; c < 3; ++c) d += std::pow(scaled[c].item<double>() - p.rgb[c] / top, 2);
    if (d < best) best = d, out.colour = p.name;
  }
  out.taper = median(tapers);
  out.diagonal = median(diagonals);
  out.shape = out.taper < kTriangleTaper       ? kShapes[2]
              : out.diagonal > kSquareDiagonal ? kShapes[1]
                                               : kShapes[0];
  const double span = static_cast<double>(frames - 1);
  const double dx = slope(times, cx) * span, dy = slope(times, cy) * span;  // y grows downwards
  if (std::abs(dx) >= std::abs(dy)) {
    out.direction = dx >= 0 ? "right" : "left";
    out.travel_px = std::abs(dx);
  } else {
    out.direction = dy >= 0 ? "down" : "up";
    out.travel_px = std::abs(dy);
  }
  if (out.travel_px < min_travel_px) out.direction = "still";
  return out;
}

CaptionParts caption_parts(const std::string& caption) {
  CaptionParts parts;
  std::istringstream words(caption);
  for (std::string w; words >> w;) {
    std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::tolower(c); });
    w.erase(std::remove(w.begin(), w.end(), ','), w.end());
    for (const auto& p : kColours)
      if (parts.colour.empty() && w == p.name) parts.colour = w;
    for (const char* s : kShapes)
      if (parts.shape.empty() && w == s) parts.shape = w;
    for (const char* d : kDirections)
      if (parts.direction.empty() && w == d) parts.direction = w;
  }
  return parts;
}

}  // namespace uspdit::testing
