#include "video/video_reader.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "video/ffmpeg_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace uspdit::video {
using detail::av_error_text;

namespace {

// An opened file and its first video stream; closes in every exit path.
class Demuxer {
 public:
  explicit Demuxer(const std::string& path) : path_(path) {
    detail::route_ffmpeg_log();
    const int opened = avformat_open_input(&fmt_, path.c_str(), nullptr, nullptr);
    if (opened < 0) throw UsageError("cannot read video " + path + ": " + av_error_text(opened) + "; check the path");
    const int found = avformat_find_stream_info(fmt_, nullptr);
    if (found < 0) throw UsageError("cannot read video " + path + ": " + av_error_text(found) + "; is it a video file?");
    stream_index_ = av_find_best_stream(fmt_, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (stream_index_ < 0) throw UsageError("cannot read video " + path + ": it has no video stream");
  }
  ~Demuxer() { avformat_close_input(&fmt_); }
  Demuxer(const Demuxer&) = delete;
  Demuxer& operator=(const Demuxer&) = delete;

  AVFormatContext* fmt() const { return fmt_; }
  AVStream* stream() const { return fmt_->streams[stream_index_]; }
  int stream_index() const { return stream_index_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  AVFormatContext* fmt_ = nullptr;
  int stream_index_ = -1;
};

uint32_t big_endian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Walks the top-level boxes: faststart means 'moov' comes before 'mdat'.
bool moov_before_mdat(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  bool result = false;
  for (int boxes = 0; boxes < 64; ++boxes) {
    unsigned char head[16];
    if (std::fread(head, 1, 8, f) != 8) break;
    uint64_t size = big_endian32(head);
    uint64_t header = 8;
    if (size == 1) {  // 64-bit size follows the type
      if (std::fread(head + 8, 1, 8, f) != 8) break;
      size = (uint64_t{big_endian32(head + 8)} << 32) | big_endian32(head + 12);
      header = 16;
    }
    if (std::memcmp(head + 4, "moov", 4) == 0) {
      result = true;
      break;
    }
    if (std::memcmp(head + 4, "mdat", 4) == 0 || size < header) break;  // size 0: to the end of the file
    if (std::fseek(f, static_cast<long>(size - header), SEEK_CUR) != 0) break;
  }
  std::fclose(f);
  return result;
}

// Decoded frames → packed RGB24, rebuilt when the frame's format or tags change.
class RgbConverter {
 public:
  ~RgbConverter() { sws_freeContext(sws_); }

  void append(const AVFrame* frame, std::vector<uint8_t>& out, const std::string& path) {
    if (!sws_ || frame->width != width_ || frame->height != height_ || frame->format != format_) {
      if (width_ && (frame->width != width_ || frame->height != height_)) {
        throw std::runtime_error("reading " + path + ": the frame size changes mid-stream");
      }
      sws_freeContext(sws_);
      width_ = frame->width;
      height_ = frame->height;
      format_ = frame->format;
      sws_ = sws_getContext(width_, height_, static_cast<AVPixelFormat>(format_), width_, height_, AV_PIX_FMT_RGB24,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
      if (!sws_) throw std::runtime_error("reading " + path + ": swscale cannot convert this pixel format to RGB");
      const int matrix = frame->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
      const int full_range = frame->color_range == AVCOL_RANGE_JPEG ? 1 : 0;
      sws_setColorspaceDetails(sws_, sws_getCoefficients(matrix), full_range, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                               0, 1 << 16, 1 << 16);
    }
    const size_t frame_bytes = static_cast<size_t>(width_) * height_ * 3;
    const size_t offset = out.size();
    out.resize(offset + frame_bytes);
    uint8_t* dst[1] = {out.data() + offset};
    const int dst_stride[1] = {3 * width_};
    sws_scale(sws_, frame->data, frame->linesize, 0, height_, dst, dst_stride);
  }

  int width() const { return width_; }
  int height() const { return height_; }

 private:
  SwsContext* sws_ = nullptr;
  int width_ = 0;
  int height_ = 0;
  int format_ = -1;
};

}  // namespace

VideoInfo video_info(const std::string& path) {
  Demuxer demuxer(path);
  const AVStream* st = demuxer.stream();
  const AVCodecParameters* par = st->codecpar;
  VideoInfo info;
  info.container = demuxer.fmt()->iformat->name;
  info.codec = avcodec_get_name(par->codec_id);
  const char* pix = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
  info.pix_fmt = pix ? pix : "";
  info.width = par->width;
  info.height = par->height;
  const AVRational rate = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
  info.fps = rate.den ? av_q2d(rate) : 0.0;
  if (st->duration != AV_NOPTS_VALUE) {
    info.duration_seconds = static_cast<double>(st->duration) * av_q2d(st->time_base);
  } else if (demuxer.fmt()->duration != AV_NOPTS_VALUE) {
    info.duration_seconds = static_cast<double>(demuxer.fmt()->duration) / AV_TIME_BASE;
  }
  info.frames = st->nb_frames;
  if (info.frames <= 0) {  // containers without a frame count: count the packets
    AVPacket* packet = av_packet_alloc();
    if (!packet) throw std::bad_alloc();
    info.frames = 0;
    while (av_read_frame(demuxer.fmt(), packet) >= 0) {
      if (packet->stream_index == demuxer.stream_index()) ++info.frames;
      av_packet_unref(packet);
    }
    av_packet_free(&packet);
  }
  info.faststart = info.container.find("mp4") != std::string::npos && moov_before_mdat(path);
  return info;
}

at::Tensor read_video_rgb8(const std::string& path) {
  Demuxer demuxer(path);
  const AVCodecParameters* par = demuxer.stream()->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec) throw UsageError("cannot read video " + path + ": no decoder for " + avcodec_get_name(par->codec_id));

  struct Objects {
    AVCodecContext* dec = nullptr;
    AVPacket* packet = nullptr;
    AVFrame* frame = nullptr;
    ~Objects() {
      av_frame_free(&frame);
      av_packet_free(&packet);
      avcodec_free_context(&dec);
    }
  } o;
  o.dec = avcodec_alloc_context3(codec);
  o.packet = av_packet_alloc();
  o.frame = av_frame_alloc();
  if (!o.dec || !o.packet || !o.frame) throw std::bad_alloc();
  auto check = [&](int code, const char* doing) {
    if (code < 0) throw std::runtime_error("reading " + path + ": " + doing + " failed: " + av_error_text(code));
  };
  check(avcodec_parameters_to_context(o.dec, par), "copying the stream parameters");
  check(avcodec_open2(o.dec, codec, nullptr), "opening the decoder");

  std::vector<uint8_t> rgb;
  RgbConverter converter;
  int64_t frames = 0;
  auto receive = [&] {
    for (;;) {
      const int r = avcodec_receive_frame(o.dec, o.frame);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      check(r, "decoding a frame");
      converter.append(o.frame, rgb, path);
      ++frames;
      av_frame_unref(o.frame);
    }
  };
  while (av_read_frame(demuxer.fmt(), o.packet) >= 0) {
    const bool ours = o.packet->stream_index == demuxer.stream_index();
    const int sent = ours ? avcodec_send_packet(o.dec, o.packet) : 0;
    av_packet_unref(o.packet);
    check(sent, "decoding a packet");
    if (ours) receive();
  }
  check(avcodec_send_packet(o.dec, nullptr), "flushing the decoder");
  receive();

  auto out = at::empty({frames, converter.height(), converter.width(), 3}, at::kByte);
  if (!rgb.empty()) std::memcpy(out.data_ptr<uint8_t>(), rgb.data(), rgb.size());
  return out;
}

}  // namespace uspdit::video
