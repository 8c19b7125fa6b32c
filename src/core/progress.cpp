#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>

namespace uspdit::core {
namespace {

// A plain (non-terminal) line needs both: another tenth of the work and this many seconds.
constexpr double kPlainMinSeconds = 5.0;
constexpr double kPlainFraction = 0.1;
// Unknown total on a plain stream: a line at most this often.
constexpr double kPlainUnknownSeconds = 30.0;
// Terminal redraws at most this often; faster steps would only flicker.
constexpr double kTerminalMinSeconds = 0.1;

// Three significant digits: "3.41", "12.3", "125".
std::string three_digits(double v) {
  char buf[32];
  if (v < 9.995) {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  } else if (v < 99.95) {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}

std::string counter(int64_t done, int64_t total) {
  std::ostringstream s;
  const std::string total_str = std::to_string(total);
  std::string done_str = std::to_string(done);
  if (done_str.size() < total_str.size()) done_str.insert(0, total_str.size() - done_str.size(), ' ');
  s << done_str << '/' << total_str;
  return s.str();
}

std::string bar(int64_t done, int64_t total, int width) {
  width = std::max(width, 1);
  const int64_t clamped = std::clamp<int64_t>(done, 0, total);
  const int filled = static_cast<int>(clamped * width / total);
  std::string s = "[";
  s.append(static_cast<size_t>(filled), '=');
  if (filled < width) {
    s += clamped > 0 ? '>' : ' ';
    s.append(static_cast<size_t>(width - filled - 1), ' ');
  }
  s += ']';
  return s;
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string format_duration(double seconds) {
  if (!(seconds > 0)) return "0s";  // also NaN
  const long long total = std::llround(seconds);
  const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", h, m);
  } else if (m > 0) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", s);
  }
  return buf;
}

std::string format_rate(int64_t done, double elapsed_seconds) {
  if (done <= 0 || !(elapsed_seconds > 0)) return "-- s/step";
  const double per_step = elapsed_seconds / static_cast<double>(done);
  if (per_step >= 1.0) return three_digits(per_step) + " s/step";
  return three_digits(1.0 / per_step) + " steps/s";
}

std::string format_progress(const std::string& label, int64_t done, int64_t total, double elapsed_seconds,
                            int bar_width) {
  std::ostringstream s;
  s << label << "  ";
  if (total <= 0) {
    s << done << " done, " << format_rate(done, elapsed_seconds) << ", " << format_duration(elapsed_seconds)
      << " elapsed";
    return s.str();
  }
  s << counter(done, total) << ' ' << bar(done, total, bar_width) << ' ' << format_rate(done, elapsed_seconds)
    << ", ETA ";
  if (done <= 0 || !(elapsed_seconds > 0)) {
    s << "--";
  } else {
    const double remaining = static_cast<double>(std::max<int64_t>(total - done, 0));
    s << format_duration(remaining * elapsed_seconds / static_cast<double>(done));
  }
  return s.str();
}

std::string format_progress_done(const std::string& label, int64_t done, int64_t total, double elapsed_seconds,
                                 int bar_width) {
  std::ostringstream s;
  s << label << "  ";
  if (total <= 0) {
    s << done << " done,";
  } else {
    s << counter(done, total) << ' ' << bar(done, total, bar_width);
  }
  s << ' ' << format_rate(done, elapsed_seconds) << ", total " << format_duration(elapsed_seconds);
  return s.str();
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled)
    : ProgressBar(std::move(label), total, enabled, std::cerr, ::isatty(STDERR_FILENO) == 1) {}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled, std::ostream& out, bool terminal,
                         std::function<double()> clock)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      out_(&out),
      terminal_(terminal),
      clock_(std::move(clock)),
      uncaught_at_start_(std::uncaught_exceptions()) {
  if (!enabled_) return;
  start_ = now();
  last_print_ = start_;
  if (terminal_) draw_terminal(format_progress(label_, 0, total_, 0.0));
}

ProgressBar::~ProgressBar() {
  if (finished_ || !enabled_) return;
  try {
    if (std::uncaught_exceptions() > uncaught_at_start_) {
      // Unwinding: no "total" line as if the work were complete; end the redrawn line cleanly.
      const std::string line = format_progress(label_, done_, total_, now() - start_) + " (stopped)";
      if (terminal_) {
        draw_terminal(line);
        *out_ << '\n';
      } else {
        *out_ << line << '\n';
      }
      out_->flush();
      finished_ = true;
    } else {
      finish();
    }
  } catch (...) {
    // A destructor must not throw; a lost progress line is harmless.
  }
}

double ProgressBar::now() const { return clock_ ? clock_() : steady_seconds(); }

void ProgressBar::draw_terminal(const std::string& line) {
  *out_ << '\r' << line;
  // Blank whatever the previous, longer line left behind.
  if (line.size() < last_width_) *out_ << std::string(last_width_ - line.size(), ' ');
  last_width_ = line.size();
  out_->flush();
}

void ProgressBar::advance(int64_t steps) {
  if (finished_) return;
  done_ += steps;
  if (!enabled_) return;
  const double t = now();
  const double elapsed = t - start_;
  if (terminal_) {
    if (t - last_print_ < kTerminalMinSeconds && !(total_ > 0 && done_ >= total_)) return;
    draw_terminal(format_progress(label_, done_, total_, elapsed));
    last_print_ = t;
    return;
  }
  if (t - last_print_ < kPlainMinSeconds) return;
  if (total_ > 0) {
    if (done_ >= total_) return;  // finish() prints the last line
    if (static_cast<double>(done_ - last_print_done_) < kPlainFraction * static_cast<double>(total_)) return;
  } else if (t - last_print_ < kPlainUnknownSeconds) {
    return;
  }
  *out_ << format_progress(label_, done_, total_, elapsed) << '\n';
  out_->flush();
  last_print_ = t;
  last_print_done_ = done_;
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  const std::string line = format_progress_done(label_, done_, total_, now() - start_);
  if (terminal_) {
    draw_terminal(line);
    *out_ << '\n';
  } else {
    *out_ << line << '\n';
  }
  out_->flush();
}

}  // namespace uspdit::core
