// The semantic check of the demo model (issue 15): reads a generated clip of tools/demo_data.py's
// kind — one coloured shape moving over a dark background — and tells which colour it is, which
// shape and which way it moved, so a test can compare a video with its prompt.
//
// How: pixels brighter than the background (max channel > 35 %) are the shape (the background is
// a dark gradient, every shape colour has a channel above 90 %); per frame its area, centroid and
// bounding box. Colour: the mean RGB of the shape's pixels over the clip, scaled to its largest
// channel, nearest of the six prototypes. Direction: the least-squares slope of the centroid over
// time on the axis that moved more; under `min_travel_px` in total is "still". Shape, from medians
// over the frames: the taper (the mean row width of the bounding box's top third over its bottom
// third: ~0.2 for the data set's upward triangle, ~1 for the others) tells a triangle; then the
// extent along the diagonals over that along the axes (√2 for a square, 1 for a circle) tells a
// square from a circle. Both survive the soft edges a video VAE draws (thresholds in the .cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

namespace uspdit::testing {

struct ShapeMotion {
  std::string colour;     // red green blue yellow magenta cyan
  std::string shape;      // circle square triangle
  std::string direction;  // left right up down, or "still"
  double travel_px = 0;   // along `direction`, first frame to last (fitted)
  double taper = 0;       // median width of the box's top third / its bottom third
  double diagonal = 0;    // median extent along the diagonals / along the axes
};

// rgb8: [T, H, W, 3] uint8 (video::read_video_rgb8's layout). nullopt when the shape is missing
// (or too small) in more than half of the frames.
std::optional<ShapeMotion> detect_shape_motion(const at::Tensor& rgb8, double min_travel_px = 6.0);

// (colour, shape, direction) a caption names, as demo_data.caption_parts reads it; empty strings
// for what it does not name.
struct CaptionParts {
  std::string colour, shape, direction;
};
CaptionParts caption_parts(const std::string& caption);

}  // namespace uspdit::testing
