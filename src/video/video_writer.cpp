#include "video/video_writer.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <png.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/temporaries.h"
#include "video/ffmpeg_util.h"

#ifndef USPDIT_NO_VIDEO
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}
#endif

namespace uspdit::video {
namespace fs = std::filesystem;
using detail::av_error_text;

namespace {

constexpr std::array<const char*, 10> kX264Presets = {"ultrafast", "superfast", "veryfast", "faster",
                                                      "fast",      "medium",    "slow",     "slower",
                                                      "veryslow",  "placebo"};

void check_rgb8(const at::Tensor& rgb8, const char* what) {
  if (!rgb8.defined() || rgb8.scalar_type() != at::kByte || rgb8.dim() != 4 || rgb8.size(3) != 3 ||
      rgb8.size(0) < 1 || rgb8.size(1) < 1 || rgb8.size(2) < 1) {
    std::ostringstream msg;
    msg << what << ": expected a [T, H, W, 3] uint8 tensor with T, H, W >= 1 (to_rgb8's output), got ";
    if (!rgb8.defined()) {
      msg << "an undefined tensor";
    } else {
      msg << rgb8.scalar_type() << ' ' << rgb8.sizes();
    }
    throw std::invalid_argument(msg.str());
  }
}

// The directory a file goes into must exist and be writable; said up front in one line rather
// than as FFmpeg's or libpng's "Permission denied" after the work.
void check_output_directory(const fs::path& file, const char* what) {
  fs::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  const std::string shown = file.string();
  require(!fs::is_directory(file, ec),
          std::string("cannot write ") + what + " " + shown + ": it is a directory; give a file name");
  if (!fs::exists(dir, ec)) {
    throw UsageError(std::string("cannot write ") + what + " " + shown + ": directory " + dir.string() +
                     " does not exist; create it or choose another output path");
  }
  require(fs::is_directory(dir, ec), std::string("cannot write ") + what + " " + shown + ": " + dir.string() +
                                         " is not a directory; choose another output path");
  require(::access(dir.c_str(), W_OK | X_OK) == 0,
          std::string("cannot write ") + what + " " + shown + ": directory " + dir.string() +
              " is not writable; fix its permissions or choose another "
              "output path");
}

// Unique within the process too: two threads may write next to each other.
std::string temporary_name(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  std::ostringstream s;
  s << target.string() << ".tmp." << ::getpid() << '.' << counter.fetch_add(1);
  return s.str();
}

// Data on disk before the rename, so a crash right after it cannot leave an empty file.
bool fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  return (::close(fd) == 0) && ok;
}

void commit_temporary(const std::string& tmp, const std::string& path) {
  if (!fsync_path(tmp) || std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("failed writing " + path + " (disk full or no permission?)");
  }
}

#ifndef USPDIT_NO_VIDEO
// Odd sizes cannot be 4:2:0 subsampled; one repeated edge row/column is invisible.
at::Tensor pad_to_even(const at::Tensor& frames, const std::string& path) {
  at::Tensor out = frames;
  const int64_t h = frames.size(1), w = frames.size(2);
  if (h % 2) out = at::cat({out, out.narrow(1, h - 1, 1)}, 1);
  if (w % 2) out = at::cat({out, out.narrow(2, w - 1, 1)}, 2);
  if (h % 2 || w % 2) {
    std::ostringstream msg;
    msg << path << ": " << w << "x" << h << " frames padded to " << out.size(2) << "x" << out.size(1)
        << " (H.264 yuv420p needs even sizes)";
    log::warn(msg.str());
  }
  return out.contiguous();
}

// Owns the FFmpeg objects of one encode; frees them in any exit path.
class Mp4Encoder {
 public:
  Mp4Encoder(const std::string& file, int width, int height, const Mp4Options& options)
      : file_(file), width_(width), height_(height) {
    check(avformat_alloc_output_context2(&fmt_, nullptr, "mp4", file.c_str()), "creating the mp4 muxer");
    const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) {
      throw std::runtime_error(
          "this FFmpeg build has no libx264 encoder; install Debian's libavcodec (it links "
          "libx264)");
    }
    enc_ = avcodec_alloc_context3(codec);
    if (!enc_) throw std::bad_alloc();
    enc_->width = width;
    enc_->height = height;
    enc_->pix_fmt = AV_PIX_FMT_YUV420P;
    enc_->time_base = AVRational{1, options.fps};
    enc_->framerate = AVRational{options.fps, 1};
    enc_->sample_aspect_ratio = AVRational{1, 1};
    enc_->thread_count = options.threads;
    // Tagged, so players do not guess the matrix from the frame size.
    enc_->color_range = AVCOL_RANGE_MPEG;
    enc_->colorspace = AVCOL_SPC_BT709;
    enc_->color_primaries = AVCOL_PRI_BT709;
    enc_->color_trc = AVCOL_TRC_BT709;
    if (fmt_->oformat->flags & AVFMT_GLOBALHEADER) enc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary* codec_opts = nullptr;
    av_dict_set(&codec_opts, "preset", options.preset.c_str(), 0);
    av_dict_set_int(&codec_opts, "crf", options.crf, 0);
    const int opened = avcodec_open2(enc_, codec, &codec_opts);
    av_dict_free(&codec_opts);
    check(opened, "opening the libx264 encoder");

    stream_ = avformat_new_stream(fmt_, nullptr);
    if (!stream_) throw std::bad_alloc();
    stream_->time_base = enc_->time_base;
    stream_->avg_frame_rate = enc_->framerate;
    stream_->r_frame_rate = enc_->framerate;
    check(avcodec_parameters_from_context(stream_->codecpar, enc_), "copying the stream parameters");

    const int io = avio_open(&fmt_->pb, file.c_str(), AVIO_FLAG_WRITE);
    if (io < 0) {
      throw UsageError("cannot create " + file + ": " + av_error_text(io) +
                       "; check that its directory is writable and the disk has room");
    }
    AVDictionary* mux_opts = nullptr;
    av_dict_set(&mux_opts, "movflags", "+faststart", 0);
    const int header = avformat_write_header(fmt_, &mux_opts);
    av_dict_free(&mux_opts);
    check(header, "writing the mp4 header");

    frame_ = av_frame_alloc();
    packet_ = av_packet_alloc();
    if (!frame_ || !packet_) throw std::bad_alloc();
    frame_->format = AV_PIX_FMT_YUV420P;
    frame_->width = width;
    frame_->height = height;
    check(av_frame_get_buffer(frame_, 0), "allocating a frame");

    sws_ = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, AV_PIX_FMT_YUV420P,
                          SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr);
    if (!sws_) throw std::runtime_error("swscale cannot convert RGB24 to yuv420p at this size");
    // Full-range RGB in, limited-range BT.709 YUV out, matching the tags above.
    const int* bt709 = sws_getCoefficients(SWS_CS_ITU709);
    check(sws_setColorspaceDetails(sws_, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16),
          "setting the colour matrix");
  }

  ~Mp4Encoder() {
    sws_freeContext(sws_);
    av_packet_free(&packet_);
    av_frame_free(&frame_);
    avcodec_free_context(&enc_);
    if (fmt_) {
      if (fmt_->pb) avio_closep(&fmt_->pb);
      avformat_free_context(fmt_);
    }
  }
  Mp4Encoder(const Mp4Encoder&) = delete;
  Mp4Encoder& operator=(const Mp4Encoder&) = delete;

  void add(const uint8_t* rgb, int64_t pts) {
    check(av_frame_make_writable(frame_), "making a frame writable");
    const uint8_t* src[1] = {rgb};
    const int src_stride[1] = {3 * width_};
    sws_scale(sws_, src, src_stride, 0, height_, frame_->data, frame_->linesize);
    frame_->pts = pts;
    check(avcodec_send_frame(enc_, frame_), "encoding a frame");
    drain();
  }

  void finish() {
    check(avcodec_send_frame(enc_, nullptr), "flushing the encoder");
    drain();
    check(av_write_trailer(fmt_), "writing the mp4 index");
    // A failed write (disk full) is remembered in the I/O context, not always returned above.
    check(fmt_->pb->error, "writing the file");
    check(avio_closep(&fmt_->pb), "closing the file");
  }

 private:
  void check(int code, const char* doing) const {
    if (code < 0)
      throw std::runtime_error("writing " + file_ + ": " + doing + " failed: " + av_error_text(code));
  }

  void drain() {
    for (;;) {
      const int r = avcodec_receive_packet(enc_, packet_);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      check(r, "encoding a frame");
      av_packet_rescale_ts(packet_, enc_->time_base, stream_->time_base);
      packet_->stream_index = stream_->index;
      check(av_interleaved_write_frame(fmt_, packet_), "writing a packet");
    }
  }

  std::string file_;
  int width_;
  int height_;
  AVFormatContext* fmt_ = nullptr;
  AVCodecContext* enc_ = nullptr;
  AVStream* stream_ = nullptr;
  AVFrame* frame_ = nullptr;
  AVPacket* packet_ = nullptr;
  SwsContext* sws_ = nullptr;
};

#endif  // USPDIT_NO_VIDEO

// Writes with `write(tmp)`, then renames over `path`; the temporary never survives a failure.
template <typename Write>
void write_atomically(const std::string& path, Write&& write) {
  const std::string tmp = temporary_name(path);
  const core::TemporaryFile removed_on_signal(tmp);  // a SIGTERM or the watchdog mid-write
  try {
    write(tmp);
    commit_temporary(tmp, path);
  } catch (const UsageError&) {
    std::remove(tmp.c_str());
    throw;
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    // Named by the final path (the temporary is gone): a full disk reads as one clear line.
    throw std::runtime_error("cannot write " + path + ", nothing was left under that name: " + e.what());
  }
}

void write_png(const std::string& file, const uint8_t* rgb, int width, int height) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGB;
  // The simplified API reports errors through `image.message` instead of longjmp, which would
  // skip C++ destructors.
  const int ok = png_image_write_to_file(&image, file.c_str(), 0, rgb, 3 * width, nullptr);
  if (!ok) {
    const std::string why = image.message;
    png_image_free(&image);
    throw std::runtime_error("writing " + file + " failed: " + why);
  }
}

}  // namespace

at::Tensor to_rgb8(const at::Tensor& video, Rounding rounding) {
  if (!video.defined() || video.dim() != 4 || video.size(0) != 3 ||
      !at::isFloatingType(video.scalar_type())) {
    std::ostringstream msg;
    msg << "to_rgb8: expected a decoded video [3, T, H, W] of floats in [-1, 1], got ";
    if (!video.defined()) {
      msg << "an undefined tensor";
    } else {
      msg << video.scalar_type() << ' ' << video.sizes();
    }
    throw std::invalid_argument(msg.str());
  }
  // The reference's steps in its order, in fp32: clamp, (x - (-1)) / 2, * 255, then cast.
  // nan_to_num copies, so the in-place steps after it never touch the caller's tensor.
  at::Tensor x = core::to_host(video).to(at::kFloat).nan_to_num(0.0);
  if (rounding == Rounding::kHalfToEven) {
    // diffusers' order: x / 2 + 0.5, clamp to [0, 1], * 255, round (numpy: halves to even).
    x.div_(2.0).add_(0.5).clamp_(0.0, 1.0).mul_(255.0).round_();
    return x.to(at::kByte).permute({1, 2, 3, 0}).contiguous();
  }
  x.clamp_(-1.0, 1.0).add_(1.0).div_(2.0).mul_(255.0);
  if (rounding == Rounding::kNearest) x.add_(0.5).clamp_(0.0, 255.0);
  // Casting non-negative floats to uint8 truncates, like torch's `.type(torch.uint8)`.
  return x.to(at::kByte).permute({1, 2, 3, 0}).contiguous();
}

void write_mp4(const std::string& path, const at::Tensor& rgb8, const Mp4Options& options) {
  check_rgb8(rgb8, "write_mp4");
  require(options.fps >= 1 && options.fps <= 1000,
          "cannot write " + path + ": fps " + std::to_string(options.fps) + " is out of range; use 1..1000");
  require(options.crf >= 0 && options.crf <= 51,
          "cannot write " + path + ": crf " + std::to_string(options.crf) +
              " is out of range; use 0 (lossless) .. 51 (worst), 17 is visually lossless");
  bool known_preset = false;
  for (const char* p : kX264Presets) known_preset = known_preset || options.preset == p;
  require(known_preset,
          "cannot write " + path + ": unknown x264 preset '" + options.preset +
              "'; use one of ultrafast superfast veryfast faster fast medium slow slower veryslow");
  require(options.threads >= 0, "cannot write " + path + ": threads must be >= 0 (0 = automatic)");
  check_output_directory(path, "video");
#ifdef USPDIT_NO_VIDEO
  throw UsageError(
      "cannot write " + path +
      ": this uspdit is built without FFmpeg (CMake USPDIT_WITH_VIDEO); write PNG frames instead "
      "(--save_frames DIR)");
#else
  detail::route_ffmpeg_log();

  const at::Tensor frames = pad_to_even(core::to_host(rgb8).contiguous(), path);
  const int64_t t = frames.size(0);
  const int height = static_cast<int>(frames.size(1));
  const int width = static_cast<int>(frames.size(2));
  const int64_t frame_bytes = static_cast<int64_t>(height) * width * 3;
  const uint8_t* data = frames.data_ptr<uint8_t>();
  write_atomically(path, [&](const std::string& tmp) {
    Mp4Encoder encoder(tmp, width, height, options);
    for (int64_t i = 0; i < t; ++i) encoder.add(data + i * frame_bytes, i);
    encoder.finish();
  });
#endif
}

bool mp4_supported() {
#ifdef USPDIT_NO_VIDEO
  return false;
#else
  return true;
#endif
}

std::string png_frame_name(int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "frame_%05lld.png", static_cast<long long>(index));
  return buf;
}

void write_png_frames(const std::string& dir, const at::Tensor& rgb8) {
  check_rgb8(rgb8, "write_png_frames");
  const fs::path root(dir);
  std::error_code ec;
  bool created = false;
  if (!fs::is_directory(root, ec)) {
    require(!fs::exists(root, ec), "cannot write frames into " + dir + ": it is a file; give a directory");
    fs::create_directories(root, ec);
    require(!ec,
            "cannot create directory " + dir + ": " + ec.message() + "; create it or choose another path");
    created = true;
  }
  const at::Tensor frames = core::to_host(rgb8).contiguous();
  const int height = static_cast<int>(frames.size(1));
  const int width = static_cast<int>(frames.size(2));
  const int64_t frame_bytes = static_cast<int64_t>(height) * width * 3;
  const uint8_t* data = frames.data_ptr<uint8_t>();
  int64_t written = 0;
  try {
    for (int64_t i = 0; i < frames.size(0); ++i) {
      const fs::path file = root / png_frame_name(i);
      if (i == 0) check_output_directory(file, "frame");
      write_atomically(file.string(), [&](const std::string& tmp) {
        write_png(tmp, data + i * frame_bytes, width, height);
      });
      written = i + 1;
    }
  } catch (...) {
    // Half a sequence looks like a finished shorter one; take back what this call wrote.
    for (int64_t i = 0; i < written; ++i) fs::remove(root / png_frame_name(i), ec);
    if (created) fs::remove(root, ec);  // only if empty
    throw;
  }
}

at::Tensor frame_strip(const at::Tensor& rgb8, int64_t step) {
  check_rgb8(rgb8, "frame_strip");
  require(step >= 1, "frame_strip: the step between frames must be >= 1");
  const at::Tensor frames = core::to_host(rgb8);
  std::vector<int64_t> picked;
  for (int64_t i = 0; i < frames.size(0); i += step) picked.push_back(i);
  if (picked.back() != frames.size(0) - 1) picked.push_back(frames.size(0) - 1);
  constexpr int64_t kGap = 2;  // pixels of black between frames
  const int64_t h = frames.size(1), w = frames.size(2), n = static_cast<int64_t>(picked.size());
  at::Tensor strip = at::zeros({h, n * w + (n - 1) * kGap, 3}, frames.options());
  for (int64_t k = 0; k < n; ++k) strip.narrow(1, k * (w + kGap), w).copy_(frames[picked[k]]);
  return strip;
}

void write_png_image(const std::string& path, const at::Tensor& rgb8_image) {
  require(rgb8_image.defined() && rgb8_image.dim() == 3 && rgb8_image.size(2) == 3 &&
              rgb8_image.scalar_type() == at::kByte,
          "write_png_image: expected [H, W, 3] uint8");
  check_output_directory(path, "picture");
  const at::Tensor image = core::to_host(rgb8_image).contiguous();
  write_atomically(path, [&](const std::string& tmp) {
    write_png(tmp, image.data_ptr<uint8_t>(), static_cast<int>(image.size(1)),
              static_cast<int>(image.size(0)));
  });
}

}  // namespace uspdit::video
