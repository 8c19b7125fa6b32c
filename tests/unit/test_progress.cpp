// ProgressBar: the line's format, and how often it prints on a terminal and into a log.
#include "core/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace uspdit::core {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Progress, Durations) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(-3), "0s");
  EXPECT_EQ(format_duration(std::nan("")), "0s");
  EXPECT_EQ(format_duration(0.4), "0s");
  EXPECT_EQ(format_duration(41.4), "41s");
  EXPECT_EQ(format_duration(59.6), "1m00s");
  EXPECT_EQ(format_duration(130), "2m10s");
  EXPECT_EQ(format_duration(3725), "1h02m");
  EXPECT_EQ(format_duration(26 * 3600 + 5 * 60), "26h05m");
}

TEST(Progress, RateSwitchesBetweenSecondsPerStepAndStepsPerSecond) {
  EXPECT_EQ(format_rate(12, 40.9), "3.41 s/step");
  EXPECT_EQ(format_rate(1, 1.0), "1.00 s/step");
  EXPECT_EQ(format_rate(2, 250), "125 s/step");
  EXPECT_EQ(format_rate(3, 37.0), "12.3 s/step");
  EXPECT_EQ(format_rate(25, 2.0), "12.5 steps/s");
  EXPECT_EQ(format_rate(10, 5.0), "2.00 steps/s");
  EXPECT_EQ(format_rate(0, 5.0), "-- s/step");
  EXPECT_EQ(format_rate(5, 0.0), "-- s/step");
}

TEST(Progress, Lines) {
  EXPECT_EQ(format_progress("denoising", 12, 50, 40.9),
            "denoising  12/50 [====>               ] 3.41 s/step, ETA 2m10s");
  EXPECT_EQ(format_progress("denoising", 0, 50, 0.0), "denoising   0/50 [                    ] -- s/step, ETA --");
  EXPECT_EQ(format_progress("denoising", 50, 50, 100.0),
            "denoising  50/50 [====================] 2.00 s/step, ETA 0s");
  EXPECT_EQ(format_progress("x", 1, 4, 1.0, 8), "x  1/4 [==>     ] 1.00 s/step, ETA 3s");
  EXPECT_EQ(format_progress("decoding", 7, 0, 3.4), "decoding  7 done, 2.06 steps/s, 3s elapsed");
  EXPECT_EQ(format_progress_done("denoising", 50, 50, 170.4),
            "denoising  50/50 [====================] 3.41 s/step, total 2m50s");
  EXPECT_EQ(format_progress_done("decoding", 7, 0, 3.4), "decoding  7 done, 2.06 steps/s, total 3s");
  // More done than announced does not overflow the bar.
  EXPECT_EQ(format_progress("x", 6, 4, 6.0, 4), "x  6/4 [====] 1.00 s/step, ETA 0s");
}

TEST(Progress, PlainStreamPrintsEveryTenPercentAndTheEnd) {
  std::ostringstream out;
  double clock = 0;
  {
    ProgressBar bar("denoising", 50, true, out, false, [&] { return clock; });
    for (int i = 0; i < 50; ++i) {
      clock += 1.0;
      bar.advance();
    }
    bar.finish();
    bar.finish();  // once only
  }
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 10u) << out.str();  // done = 5, 10, ..., 45 and the final line
  EXPECT_EQ(lines[0], "denoising   5/50 [==>                 ] 1.00 s/step, ETA 45s");
  EXPECT_EQ(lines.back(), "denoising  50/50 [====================] 1.00 s/step, total 50s");
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
}

TEST(Progress, PlainStreamStaysQuietWhenStepsAreFast) {
  std::ostringstream out;
  double clock = 0;
  {
    ProgressBar bar("writing", 100, true, out, false, [&] { return clock; });
    for (int i = 0; i < 100; ++i) {
      clock += 0.01;
      bar.advance();
    }
  }  // the destructor finishes
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  EXPECT_EQ(lines[0], "writing  100/100 [====================] 100 steps/s, total 1s");
}

TEST(Progress, PlainStreamWithUnknownTotalPrintsEveryHalfMinute) {
  std::ostringstream out;
  double clock = 0;
  ProgressBar bar("loading", 0, true, out, false, [&] { return clock; });
  for (int i = 0; i < 100; ++i) {
    clock += 1.0;
    bar.advance();
  }
  bar.finish();
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();  // at 30, 60, 90 s and the end
  EXPECT_EQ(lines[0], "loading  30 done, 1.00 s/step, 30s elapsed");
  EXPECT_EQ(lines[3], "loading  100 done, 1.00 s/step, total 1m40s");
}

TEST(Progress, TerminalRedrawsOneLine) {
  std::ostringstream out;
  double clock = 0;
  {
    ProgressBar bar("denoising", 4, true, out, true, [&] { return clock; });
    for (int i = 0; i < 4; ++i) {
      clock += 2.0;
      bar.advance();
    }
  }
  const std::string text = out.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.front(), '\r');
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line only";
  const std::string last = text.substr(text.rfind('\r') + 1);
  EXPECT_EQ(last, "denoising  4/4 [====================] 2.00 s/step, total 8s\n");
  EXPECT_NE(text.find("\rdenoising  2/4 [==========>         ] 2.00 s/step, ETA 4s"), std::string::npos);
}

TEST(Progress, TerminalThrottlesFastRedrawsButDrawsTheLastStep) {
  std::ostringstream out;
  double clock = 0;
  ProgressBar bar("x", 1000, true, out, true, [&] { return clock; });
  for (int i = 0; i < 1000; ++i) {
    clock += 0.001;
    bar.advance();
  }
  const std::string text = out.str();
  const auto redraws = std::count(text.begin(), text.end(), '\r');
  EXPECT_LE(redraws, 12);  // the first draw, one per 0.1 s, and the last step
  EXPECT_NE(text.find("1000/1000"), std::string::npos);
  bar.finish();
}

TEST(Progress, ShorterLineBlanksTheRest) {
  std::ostringstream out;
  double clock = 0;
  ProgressBar bar("x", 100000, true, out, true, [&] { return clock; });
  clock = 200;
  bar.advance();  // "... 200 s/step, ETA 5555h30m"
  const std::string before_finish = out.str();
  bar.finish();   // "... 200 s/step, total 3m20s": one character shorter
  const std::string previous = before_finish.substr(before_finish.rfind('\r') + 1);
  const std::string line = "x       1/100000 [>                   ] 200 s/step, total 3m20s";
  EXPECT_EQ(previous, "x       1/100000 [>                   ] 200 s/step, ETA 5555h30m");
  EXPECT_EQ(out.str().substr(before_finish.size()), "\r" + line + " \n");
}

TEST(Progress, DisabledPrintsNothing) {
  std::ostringstream out;
  {
    ProgressBar bar("denoising", 10, false, out, true);
    for (int i = 0; i < 10; ++i) bar.advance();
    EXPECT_EQ(bar.done(), 10);
    bar.finish();
  }
  {
    ProgressBar bar("denoising", 10, false, out, false);
    bar.advance(3);
  }
  EXPECT_TRUE(out.str().empty());
}

TEST(Progress, UnwindingEndsTheLineAsStopped) {
  std::ostringstream out;
  double clock = 0;
  try {
    ProgressBar bar("denoising", 10, true, out, false, [&] { return clock; });
    clock = 3;
    bar.advance(3);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  EXPECT_EQ(lines[0], "denoising   3/10 [======>             ] 1.00 s/step, ETA 7s (stopped)");
}

}  // namespace
}  // namespace uspdit::core
