// Reading a video file back through FFmpeg's libraries: what the tests (and `uspdit` users
// checking an output) need to know about a written mp4, and its decoded frames.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace uspdit::video {

struct VideoInfo {
  std::string container;     // FFmpeg's demuxer name, "mov,mp4,m4a,3gp,3g2,mj2" for mp4
  std::string codec;         // "h264"
  std::string pix_fmt;       // "yuv420p"
  int width = 0;
  int height = 0;
  int64_t frames = 0;        // the container's frame count (mp4: sample table); counted when absent
  double fps = 0;            // average frame rate
  double duration_seconds = 0;
  bool faststart = false;    // the index (moov) precedes the media data (mdat)
};

// The first video stream's facts. A missing or unreadable file, or one without video, throws
// UsageError naming the path.
VideoInfo video_info(const std::string& path);

// Every frame of the first video stream decoded to RGB, [T, H, W, 3] uint8, using the colour
// matrix and range the stream is tagged with (BT.601 when untagged, as FFmpeg assumes).
at::Tensor read_video_rgb8(const std::string& path);

}  // namespace uspdit::video
