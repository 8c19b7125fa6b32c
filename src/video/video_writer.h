// Writing decoded videos: H.264 mp4 through FFmpeg's libraries (libx264), or one PNG per frame.
// Both write atomically: a temporary file in the target directory, renamed over the target
// only once it is complete, so a crash or a full disk never leaves a truncated video behind.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace uspdit::video {

// How float pixels become bytes.
enum class Rounding {
  // uint8((clamp(x, -1, 1) + 1) / 2 * 255): truncation, what Wan 2.1's cache_video
  // (wan/utils/utils.py: make_grid(normalize, value_range=(-1, 1)), then `(t * 255).type(uint8)`)
  // and diffusers' export_to_video (`(frame * 255).astype(np.uint8)`) write into their mp4s.
  kTruncate,
  // clamp((clamp(x, -1, 1) + 1) / 2 * 255 + 0.5, 0, 255) then truncation: torchvision's
  // save_image, which Wan uses for single images (cache_image).
  kNearest,
  // round(clamp(x / 2 + 0.5, 0, 1) * 255), halves to even: diffusers' default PIL output
  // (VideoProcessor.postprocess_video, then numpy_to_pil's `(images * 255).round()`), what
  // HunyuanVideoPipeline's frames hold.
  kHalfToEven,
};

// One decoded sample [3, T, H, W] (any float dtype, any device) in [-1, 1] → [T, H, W, 3]
// uint8 on the CPU. Computed in fp32 in the reference's order of operations, so the bytes equal
// the reference's for the same input. NaN becomes 0.
at::Tensor to_rgb8(const at::Tensor& video, Rounding rounding = Rounding::kTruncate);

struct Mp4Options {
  int fps = 16;                   // Wan 2.1's sample_fps
  int crf = 17;                   // 0 (lossless) .. 51; Wan's cache_video (imageio quality=8) is crf 10
  std::string preset = "medium";  // libx264 preset: ultrafast .. veryslow
  int threads = 0;                // libx264 threads, 0 = its own choice
};

// H.264 (libx264) yuv420p, BT.709 limited range (tagged), constant frame rate, mp4 with the
// index at the front (faststart) so players can start before the whole file arrives.
// rgb8: [T, H, W, 3] uint8. Odd width or height (yuv420p needs even ones) is padded by one
// repeated edge row/column, with a warning. Errors the user can fix (directory missing or not
// writable, bad fps/crf/preset) throw UsageError naming the path and the fix; on any failure
// nothing is left at `path` and the temporary file is removed. FFmpeg's own log lines go to
// log::debug (shown with --verbose).
void write_mp4(const std::string& path, const at::Tensor& rgb8, const Mp4Options& options = {});

// Whether this build has the mp4 writer and reader (FFmpeg; CMake's USPDIT_WITH_VIDEO). Without
// them write_mp4, video_info and read_video_rgb8 throw UsageError; PNG frames always work.
bool mp4_supported();

// dir/frame_00000.png, dir/frame_00001.png, ... (dir created if missing; each file atomic).
// rgb8: [T, H, W, 3] uint8.
void write_png_frames(const std::string& dir, const at::Tensor& rgb8);

// Frames 0, step, 2·step, ... (and the last) side by side with a 2-pixel gap: [H, N·W + gaps, 3]
// uint8, one picture that shows the motion of a short clip (README, model card).
at::Tensor frame_strip(const at::Tensor& rgb8, int64_t step = 4);

// One [H, W, 3] uint8 image as a PNG file, atomically.
void write_png_image(const std::string& path, const at::Tensor& rgb8_image);

// The name of frame i inside write_png_frames' directory: "frame_00042.png".
std::string png_frame_name(int64_t index);

}  // namespace uspdit::video
