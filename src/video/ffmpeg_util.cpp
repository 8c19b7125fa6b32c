#include "video/ffmpeg_util.h"

#include <cstdarg>
#include <mutex>

#include "core/log.h"

extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
}

namespace uspdit::video::detail {
namespace {

void ffmpeg_log_callback(void* avcl, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_WARNING) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line2(avcl, level, fmt, args, line, sizeof line, &print_prefix);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) log::debug("ffmpeg: " + text);
}

}  // namespace

std::string av_error_text(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

void route_ffmpeg_log() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(ffmpeg_log_callback); });
}

}  // namespace uspdit::video::detail
