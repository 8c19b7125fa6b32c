#include "pipeline/bench_report.h"

#include <ATen/ATen.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/temporaries.h"
#include "io/json_writer.h"

namespace uspdit::pipeline {
namespace {

constexpr int kFieldsPerStage = 5;  // seconds, peak bytes, bytes sent, device peak, device free

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

std::vector<std::vector<StageRecord>> gather_stage_records(parallel::Communicator& world,
                                                           const RunRecord& mine) {
  const auto n = static_cast<int64_t>(mine.stages.size());
  auto send = at::empty({n * kFieldsPerStage}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = mine.stages[static_cast<size_t>(i)];
    send[i * kFieldsPerStage] = s.seconds;
    send[i * kFieldsPerStage + 1] = static_cast<double>(s.peak_rss_bytes);
    send[i * kFieldsPerStage + 2] = static_cast<double>(s.bytes_sent);
    send[i * kFieldsPerStage + 3] = static_cast<double>(s.peak_device_bytes);
    send[i * kFieldsPerStage + 4] = static_cast<double>(s.device_free_bytes);
  }
  const int size = world.size();
  auto recv = at::empty({size * n * kFieldsPerStage}, at::kDouble);
  std::vector<int64_t> counts(static_cast<size_t>(size), n * kFieldsPerStage);
  world.host_all_gather_v(send, recv, counts);
  const double* v = recv.data_ptr<double>();
  std::vector<std::vector<StageRecord>> out(static_cast<size_t>(size), mine.stages);
  for (int r = 0; r < size; ++r) {
    for (int64_t i = 0; i < n; ++i) {
      auto& s = out[static_cast<size_t>(r)][static_cast<size_t>(i)];
      const double* f = v + (r * n + i) * kFieldsPerStage;
      s.seconds = f[0];
      s.peak_rss_bytes = static_cast<int64_t>(f[1]);
      s.bytes_sent = static_cast<int64_t>(f[2]);
      s.peak_device_bytes = static_cast<int64_t>(f[3]);
      s.device_free_bytes = static_cast<int64_t>(f[4]);
    }
  }
  return out;
}

namespace {

// Step caching of the last measured run: per step and branch computed or reused, the block
// passes saved and the memory the stored residuals hold on rank 0.
void write_cache(io::JsonWriter& w, const cache::CacheRecord& c) {
  w.key("cache").begin_object().key("method").value(c.method);
  if (c.method != "none") {
    w.key("settings").value(c.settings);
    w.key("forwards").value(c.forwards()).key("forwards_reused").value(c.reused());
    w.key("block_passes").value(c.block_passes()).key("block_passes_saved").value(c.block_passes_saved());
    w.key("residual_bytes_rank0").value(c.residual_bytes);
    w.key("steps").begin_array();
    const size_t steps = c.pattern.empty() ? 0 : c.pattern[0].size();
    for (size_t i = 0; i < steps; ++i) {
      w.begin_object().key("step").value(static_cast<int64_t>(i));
      for (size_t b = 0; b < c.pattern.size(); ++b) {
        const char d = c.pattern[b][i];
        w.key(b == 0 ? "cond" : "uncond").value(d == 'C' ? "computed" : d == 'R' ? "reused" : "not run");
      }
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
}

}  // namespace

std::string bench_report_json(const BenchConfig& config, const RunRecord& rank0,
                              const std::vector<std::vector<StageRecord>>& ranks,
                              const std::vector<int>& node_of_rank) {
  io::JsonWriter w;
  w.begin_object().key("config").begin_object();
  for (const auto& [k, v] : config.text) w.key(k).value(v);
  for (const auto& [k, v] : config.numbers) w.key(k).value(v);
  w.end_object();

  // Summary over the measured repeats: what a reader compares first.
  std::vector<double> totals, steps;
  for (size_t rep = 0; rep < rank0.step_seconds.size(); ++rep) {
    const int r = static_cast<int>(rep);
    totals.push_back(rank0.seconds_of("denoise", r) + rank0.seconds_of("decode", r));
    steps.insert(steps.end(), rank0.step_seconds[rep].begin(), rank0.step_seconds[rep].end());
  }
  w.key("summary").begin_object();
  w.key("repeats").value(static_cast<int64_t>(totals.size()));
  w.key("denoise_and_decode_seconds_median").value(median(totals));
  w.key("step_seconds_median").value(median(steps));
  int64_t peak = 0, sent = 0, device_peak = 0;
  for (const auto& rank : ranks) {
    int64_t rank_sent = 0;
    for (const auto& s : rank) {
      peak = std::max(peak, s.peak_rss_bytes);
      device_peak = std::max(device_peak, s.peak_device_bytes);
      rank_sent += s.bytes_sent;
    }
    sent = std::max(sent, rank_sent);
  }
  w.key("peak_rss_bytes_max_rank").value(peak);
  w.key("peak_device_bytes_max_rank").value(device_peak);
  w.key("bytes_sent_max_rank").value(sent);
  w.end_object();

  w.key("step_seconds").begin_array();
  for (const auto& rep : rank0.step_seconds) {
    w.begin_array();
    for (double s : rep) w.value(s);
    w.end_array();
  }
  w.end_array();
  w.key("warmup_step_seconds").begin_array();
  for (double s : rank0.warmup_step_seconds) w.value(s);
  w.end_array();
  write_cache(w, rank0.cache);

  w.key("ranks").begin_array();
  for (size_t r = 0; r < ranks.size(); ++r) {
    w.begin_object().key("rank").value(static_cast<int64_t>(r));
    w.key("node").value(r < node_of_rank.size() ? node_of_rank[r] : 0);
    w.key("stages").begin_array();
    for (const auto& s : ranks[r]) {
      w.begin_object().key("name").value(s.name).key("repeat").value(s.repeat).key("seconds").value(
          s.seconds);
      w.key("peak_rss_bytes").value(s.peak_rss_bytes).key("bytes_sent").value(s.bytes_sent);
      w.key("peak_device_bytes")
          .value(s.peak_device_bytes)
          .key("device_free_bytes")
          .value(s.device_free_bytes);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return w.str();
}

std::string write_bench_report(const std::string& dir, const std::string& stem, const std::string& json) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  require(!ec && fs::is_directory(dir),
          "--bench_output " + dir + ": cannot create the directory (" + ec.message() + ")");
  const fs::path path = fs::path(dir) / (stem + ".json");
  const fs::path tmp = fs::path(dir) / ("." + stem + ".json.tmp");
  // Written whole under a temporary name, synced, then renamed: the report exists only complete.
  const core::TemporaryFile removed_on_signal(tmp.string());
  const std::string text = json + "\n";
  int err = 0;  // the first failing call's errno
  const auto check = [&err](bool ok) {
    if (!ok && err == 0) err = errno != 0 ? errno : EIO;
    return ok && err == 0;
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (check(fd >= 0)) {
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (!check(n > 0)) break;
      done += static_cast<size_t>(n);
    }
    check(err != 0 || ::fsync(fd) == 0);
    check(::close(fd) == 0);
    check(err != 0 || ::rename(tmp.c_str(), path.c_str()) == 0);
  }
  if (err != 0) {
    fs::remove(tmp, ec);
    throw UsageError("--bench_output " + dir + ": cannot write the report " + path.string() + " (" +
                     std::strerror(err) + "); nothing was left under that name");
  }
  return path.string();
}

}  // namespace uspdit::pipeline
