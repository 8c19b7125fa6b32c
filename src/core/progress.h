// A progress line for long work on rank 0 (denoising steps, VAE decoding, writing frames):
//
//   denoising  12/50 [====>               ] 3.41 s/step, ETA 2m10s
//
// On a terminal the line is redrawn in place with '\r'. When the stream is not a terminal (CI,
// a log file, `2> run.log`) redrawing would leave hundreds of lines, so a plain line is printed
// only after another ~10 % of the work and a few seconds, plus the final line. A disabled bar
// (every rank but 0) prints nothing. The formatting is pure functions so it can be tested.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace uspdit::core {

// "0s", "41s", "2m10s", "1h02m" (whole seconds, rounded; negative or NaN → "0s").
std::string format_duration(double seconds);

// Seconds per step when a step takes a second or more ("3.41 s/step"), else steps per second
// ("12.5 steps/s"), so the number stays readable either way. "-- s/step" before the first step.
std::string format_rate(int64_t done, double elapsed_seconds);

// One progress line. total <= 0 means unknown: no bar and no ETA, the elapsed time instead.
//   format_progress("denoising", 12, 50, 40.9)  → "denoising  12/50 [====>               ] 3.41 s/step, ETA 2m10s"
//   format_progress("decoding", 7, 0, 3.5)      → "decoding  7 done, 2.00 steps/s, 3s elapsed"
std::string format_progress(const std::string& label, int64_t done, int64_t total, double elapsed_seconds,
                            int bar_width = 20);

// The final line: "denoising  50/50 [====================] 3.41 s/step, total 2m50s".
std::string format_progress_done(const std::string& label, int64_t done, int64_t total, double elapsed_seconds,
                                 int bar_width = 20);

class ProgressBar {
 public:
  // Writes to stderr; terminal mode when stderr is a TTY.
  ProgressBar(std::string label, int64_t total, bool enabled);
  // For tests and callers with their own stream. clock returns seconds (monotonic); empty means
  // a steady clock.
  ProgressBar(std::string label, int64_t total, bool enabled, std::ostream& out, bool terminal,
              std::function<double()> clock = {});
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  ~ProgressBar();

  void advance(int64_t steps = 1);
  // Prints the final line with the total time. Called by the destructor when not called before;
  // if the destructor runs because an exception is unwinding, the line ends with "(stopped)".
  void finish();

  int64_t done() const { return done_; }

 private:
  double now() const;
  void draw_terminal(const std::string& line);

  std::string label_;
  int64_t total_;
  bool enabled_;
  std::ostream* out_;
  bool terminal_;
  std::function<double()> clock_;
  int uncaught_at_start_;
  double start_ = 0;
  int64_t done_ = 0;
  bool finished_ = false;
  double last_print_ = 0;       // clock value of the last line (plain) or redraw (terminal)
  int64_t last_print_done_ = 0;  // done_ at the last plain line
  size_t last_width_ = 0;        // length of the line drawn last on the terminal
};

}  // namespace uspdit::core
