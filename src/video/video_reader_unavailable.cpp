// The mp4 reader of a build without FFmpeg (CMake USPDIT_WITH_VIDEO=OFF, or AUTO where its -dev
// packages are absent): every call says why there is none.
#include "core/error.h"
#include "video/video_reader.h"

namespace uspdit::video {
namespace {

[[noreturn]] void unavailable(const std::string& path) {
  throw UsageError("cannot read " + path + ": this uspdit is built without FFmpeg (CMake USPDIT_WITH_VIDEO)");
}

}  // namespace

VideoInfo video_info(const std::string& path) {
  unavailable(path);
}

at::Tensor read_video_rgb8(const std::string& path) {
  unavailable(path);
}

}  // namespace uspdit::video
