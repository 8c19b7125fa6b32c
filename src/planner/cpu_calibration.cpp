#include "planner/cpu_calibration.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace uspdit::planner {
namespace {

namespace fs = std::filesystem;

fs::path cache_file() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "uspdit" / "cpu_rates";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "uspdit" / "cpu_rates";
  return {};
}

// FLOP/s of `work` (which does `flops`), repeated for about `seconds` after one warm-up call.
template <typename Work>
double rate(double flops, double seconds, Work&& work) {
  work();
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  int calls = 0;
  double elapsed = 0;
  do {
    work();
    ++calls;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < seconds);
  return flops * calls / elapsed;
}

}  // namespace

CpuRates calibrate_cpu(int dtype_bytes, bool force) {
  const int threads = at::get_num_threads();
  const std::string key = std::to_string(threads) + " " + std::to_string(dtype_bytes);
  const fs::path file = cache_file();
  if (!force && !file.empty()) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      int t = 0, b = 0;
      CpuRates r;
      if (fields >> t >> b >> r.gemm_flops >> r.attention_flops >> r.elementwise_per_s && t == threads &&
          b == dtype_bytes) {
        r.from_cache = true;
        return r;
      }
    }
  }
  const auto dtype = dtype_bytes == 2 ? at::kBFloat16 : at::kFloat;
  const auto opts = at::TensorOptions().dtype(dtype);
  CpuRates r;
  {
    // A DiT block's projection: 1024 tokens of a 1536-wide model into 1536 outputs.
    const int64_t n = 1024, k = 1536, m = 1536;
    const auto a = at::randn({n, k}, opts), w = at::randn({k, m}, opts);
    r.gemm_flops = rate(2.0 * n * k * m, 1.0, [&] { (void)at::matmul(a, w); });
  }
  {
    // One attention call: 2 heads of 128 over 2048 tokens (FLOPs: 4 L² D per head).
    const int64_t heads = 2, len = 2048, dim = 128;
    const auto q = at::randn({1, heads, len, dim}, opts), k = at::randn({1, heads, len, dim}, opts),
               v = at::randn({1, heads, len, dim}, opts);
    r.attention_flops =
        rate(4.0 * heads * len * len * dim, 1.0, [&] { (void)at::scaled_dot_product_attention(q, k, v); });
  }
  {
    // A block's non-GEMM work on 1024 tokens of 1536: layer norm, modulation, the cast to the run
    // dtype and back, GELU, the gated residual; each op's output counted once.
    const int64_t n = 1024, d = 1536;
    const auto x = at::randn({n, d}), scale = at::randn({d}), shift = at::randn({d});
    const double elements = 8.0 * n * d;
    r.elementwise_per_s = rate(elements, 0.5, [&] {
      auto y = at::layer_norm(x, {d});
      y = y * (scale + 1) + shift;
      auto h = at::gelu(y.to(dtype), "tanh");
      (void)(x + h.to(at::kFloat) * scale);
    });
  }
  if (!file.empty()) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::app);
    out << threads << " " << dtype_bytes << " " << r.gemm_flops << " " << r.attention_flops << " "
        << r.elementwise_per_s << "\n";
  }
  return r;
}

HardwareProfile cpu_profile(const CpuRates& rates) {
  HardwareProfile p;
  p.name = "cpu";
  p.description =
      "this machine's CPU (" + std::to_string(at::get_num_threads()) + " threads per rank, measured)";
  p.peak_flops = rates.gemm_flops;
  p.achieved_fraction = 1.0;
  p.gemm_flops = rates.gemm_flops;
  p.attention_flops = rates.attention_flops;
  p.elementwise_per_s = rates.elementwise_per_s;
  p.memory_bytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  // MPI over shared memory moves a few GB/s per rank; 10 GbE between nodes.
  p.intra_node_bytes_per_s = 4e9;
  p.inter_node_bytes_per_s = 1.25e9;
  p.source = "measured by uspdit plan --calibrate";
  p.link_efficiency = 1.0;  // the figures above are estimates of what MPI reaches, not peaks
  return p;
}

}  // namespace uspdit::planner
