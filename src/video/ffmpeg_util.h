// What the mp4 writer and reader share about FFmpeg's libraries: error text, and FFmpeg's log
// lines routed to our logger instead of straight onto stderr.
#pragma once

#include <string>

namespace uspdit::video::detail {

// FFmpeg's text for an AVERROR code: "No such file or directory".
std::string av_error_text(int code);

// Routes FFmpeg's warnings and errors to log::debug and drops its informational lines (libx264
// prints several per file). Process-wide; idempotent.
void route_ffmpeg_log();

}  // namespace uspdit::video::detail
